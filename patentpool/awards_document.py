"""Inventor awards as a document (spec sections 10 and 11): one self-contained HTML page (no network needed
to view it), and the same page as PDF by WeasyPrint (documents.write_html), for a tech-transfer office."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from patentpool.awards import INVENTOR_COLUMNS, PATENT_COLUMNS, inventor_rows, patent_rows

_CSS = """
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2em; color: #1a1a1a; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } tr.total td { font-weight: bold; }
.warn { color: #8a4b00; } .small { font-size: 0.8em; color: #555; }
@page { size: A4; margin: 1.5cm; }
"""
_NUMERIC = {"net", "rate", "patent_award", "share", "award"}


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{escape(c.replace('_', ' '))}</th>" for c in columns)
    body = []
    for row in rows:
        total = row.get("period") == "total" or row.get("patent") == "total"
        texts = [(c, "" if row.get(c) is None else str(row[c])) for c in columns]
        cells = "".join(f'<td class="{"n" if c in _NUMERIC else ""}">{escape(t)}</td>' for c, t in texts)
        body.append(f'<tr class="{"total" if total else ""}">{cells}</tr>')
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(data: Mapping[str, Any]) -> str:
    """The awards of one member over the periods of its verified bundles, per inventor and per patent."""
    periods = ", ".join(data["periods"])
    warnings = "".join(f'<li class="warn">{escape(w)}</li>' for w in data["warnings"])
    checked = "".join(
        f"<li>{escape(b['file'])}: {escape(b['period'])}, checkpoint size {b['checkpoint']['size']}, root "
        f"<code>{escape(b['checkpoint']['root'])}</code></li>"
        for b in data["bundles"]
    )
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Inventor awards '
        f"{escape(data['member'])} {escape(periods)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Inventor awards: {escape(data['member'])}</h1>"
        f"<p>Periods {escape(periods)}, amounts in {escape(data['currency'])}. Each award is the patent's "
        "net licence income times the rate, rounded half-up, split over its inventors by their shares.</p>"
        f"<h2>Per inventor</h2>{_table(inventor_rows(data), INVENTOR_COLUMNS)}"
        f"<h2>Per patent</h2>{_table(patent_rows(data), PATENT_COLUMNS)}"
        + (f"<h2>Warnings</h2><ul>{warnings}</ul>" if warnings else "")
        + f'<h2>Verified</h2><ul class="small">{checked}</ul>'
        '<p class="small">Every statement bundle was verified offline with the pool\'s key before any award '
        "was computed; inventors' names stay in this document and the member's file, never in the ledger.</p>"
        "</body></html>"
    )
