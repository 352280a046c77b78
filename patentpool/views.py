"""Rows for the tables and CSVs of the read commands, from the state and the allocation JSON."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from ledger.entry import Entry
from ledger.keys import VerifierKey
from ledger.log import Reader
from ledger.store import StoredCheckpoint
from patentpool import owners, voids
from patentpool.errors import PoolError
from patentpool.fields import FieldError, parse_date
from patentpool.state import Patent, PoolState

PROGRAM_COLUMNS = ["name", "currency", "tiers", "annual_cap", "admin_fee", "period", "seq"]
PATENT_COLUMNS = [
    "number",
    "country",
    "title",
    "owner",
    "type",
    "program",
    "filed",
    "granted",
    "expires",
    "weight",
    "status",
    "seq",
]
OPENLICENSE_COLUMNS = [
    "seq",
    "number",
    "country",
    "fee",
    "currency",
    "from",
    "to",
    "evaluation_report",
    "withdrawn",
    "taken_by",
]
LICENSE_COLUMNS = ["seq", "type", "licensee", "what", "from", "to", "exclusive"]
REPORT_COLUMNS = [
    "seq",
    "licensee",
    "program",
    "period",
    "manufacture_country",
    "sale_country",
    "units",
    "net_sales",
    "supersedes",
]


def patent_rows(
    state: PoolState,
    program: str | None,
    owner: str | None,
    on: str | None,
    titles: dict[tuple[str, str], str | None] | None = None,
) -> list[dict[str, Any]]:
    day = parse_date(on, "on") if on else date.today()
    rows = []
    for patent in state.patents.values():
        found = patent.owners_on(day)
        if (program and patent.program != program) or (owner and owner not in owners.members(found)):
            continue
        stopped = patent.stopped_on(day)
        if stopped:
            status = f"{stopped[1]} {stopped[0]}"
        elif patent.expires <= day:
            status = f"expired {patent.expires}"
        elif patent.granted is None or patent.granted > day:
            status = "pending"
        else:
            status = "in force"
        rows.append(
            {
                "number": patent.number,
                "country": patent.country,
                "title": (titles or {}).get(patent.key),
                "owner": owners.show(found),
                "type": patent.type,
                "program": patent.program,
                "filed": patent.filed.isoformat(),
                "granted": patent.granted.isoformat() if patent.granted else None,
                "expires": patent.expires.isoformat(),
                "weight": str(patent.weight),
                "status": status,
                "seq": patent.ref[0],
            }
        )
    return rows


HISTORY_KINDS = [
    "patent.add",
    "patent.amend",
    "patent.status",
    "patent.transfer",
    "patent.owners",
    "openlicense.declare",
    "openlicense.take",
    "openlicense.withdraw",
    "license.direct",
    "crosslicense.add",
]


def patent_history(state: PoolState, reader: Reader, number: str, on: date | None = None) -> dict[str, Any]:
    """Every entry that concerns the number, in ledger order, read from the ledger itself (also a patent
    whose entries are all void: its history says so)."""
    countries = state.patents.countries(number)
    # Every member that ever owned it: a cross-licence of a later owner covers it too.
    holders = {owner for c in countries for owner in _owners(state.patents[(number, c)])}
    voided = voids.effective(
        {e.seq: voids.body_ranges(e.body.get("seqs")) for e in reader.entries(kinds=["entry.void"])}
    )
    history, amendments = _history_rows(reader.entries(kinds=HISTORY_KINDS), number, holders, voided)
    if not countries and not any(row["country"] != "*" for row in history):
        raise FieldError("number", f"unknown patent {number}")
    today = on or date.today()
    return {
        "number": number,
        "countries": [
            {
                "country": c,
                "owner": owners.show(state.patents[(number, c)].owners_on(today)),
                "expires": state.patents[(number, c)].expires.isoformat(),
                "on": today.isoformat(),
                "counting_today": state.patents[(number, c)].counts_on(today),
            }
            for c in countries
        ],
        "history": history,
        "amendments": amendments,
    }


def _history_rows(
    entries: Iterable[Entry], number: str, holders: set[str], voided: Mapping[int, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The history rows (and the amendments) of the entries that name the number or cover it by a
    cross-licence of one of its `holders`."""
    history: list[dict[str, Any]] = []
    amendments: list[dict[str, Any]] = []
    for entry in entries:
        b = entry.body
        void = f"voided by seq {voided[entry.seq]}" if entry.seq in voided else ""
        if entry.kind == "crosslicense.add":
            patents = b["patents"]
            if (patents != "all" and number not in patents) or not holders & set(b["members"]):
                continue
            event = _cross_licence_event(b)
            history.append(
                {"seq": entry.seq, "time": entry.time, "country": "*", "event": event, "void": void}
            )
            continue
        if b.get("number") != number:
            continue
        history.append(
            {
                "seq": entry.seq,
                "time": entry.time,
                "country": b.get("country"),
                "event": _event(entry),
                "void": void,
            }
        )
        if entry.kind == "patent.amend":
            changed = {k: v for k, v in b.items() if k not in ("number", "country", "reason")}
            amendments.append(
                {"seq": entry.seq, "country": b["country"], **changed, "reason": b["reason"], "void": void}
            )
    return history, amendments


def _cross_licence_event(b: Mapping[str, Any]) -> str:
    """A cross-licence's line in a patent's history: members, terms, territory, dates."""
    return (
        f"cross-licence {','.join(b['members'])} ({b['terms']}), territory "
        f"{b['territory'] if b['territory'] == 'all' else ','.join(b['territory'])}, "
        f"from {b['from']}" + (f" to {b['to']}" if b.get("to") else "")
    )


def _owners(patent: Patent) -> set[str]:
    spelled = [patent.owner] + [owner for _day, owner, _ref in patent.transfers]
    return {name for text in spelled for name in owners.members(owners.read(text))}


def _event(entry: Entry) -> str:
    b = entry.body
    if entry.kind == "patent.add":
        who = f"owner {b['owner']}" if "owner" in b else f"owners {_parts(b['owners'])}"
        parts = [f"added: {who}", str(b["type"]), f"filed {b['filed']}"]
        parts += [f"granted {b['granted']}"] if b.get("granted") else ["not granted"]
        parts += [f"expires {b['expires']}"]
        parts += [f"program {b['program']}"] if b.get("program") else ["in no program"]
        parts += [f"weight {b['weight']}"]
        return ", ".join(parts)
    if entry.kind == "patent.amend":
        order = ("filed", "granted", "expires", "type", "title", "weight", "program", "owner")
        said = [f"{k} {'none' if b[k] is None else b[k]}" for k in order if k in b]
        said += [f"owners {_parts(b['owners'])}"] if "owners" in b else []
        facts = ", ".join(said)
        return f"amended: {facts} (reason: {b['reason']})"
    if entry.kind == "patent.status":
        return f"{b['status']} from {b['effective']}"
    if entry.kind == "patent.transfer":
        return f"transferred {b['from']} -> {b['to']} from {b['effective']}"
    if entry.kind == "patent.owners":
        return f"owners {_parts(b['owners'])} from {b['effective']}"
    if entry.kind == "openlicense.declare":
        return f"open licence declared: {b['fee']} {b['currency']}, {b['from']}..{b['to']}"
    if entry.kind == "openlicense.take":
        return f"open licence taken by {b['licensee']} (notice {b['notice_date']})"
    if entry.kind == "openlicense.withdraw":
        return f"open licence withdrawn from {b['effective']}"
    if entry.kind == "license.direct":
        excl = "exclusive" if b["exclusive"] else "non-exclusive"
        return f"direct {excl} licence {b['licensor']} -> {b['licensee']} from {b['from']}"
    return entry.kind


def _parts(pairs: list[list[str]]) -> str:
    return ",".join(f"{name}:{part}" for name, part in pairs)


def openlicense_rows(state: PoolState) -> list[dict[str, Any]]:
    rows = []
    for key, decls in state.declarations.items():
        for decl in decls:
            takers = [f"{t.licensee} ({t.notice_date})" for t in state.takes if t.declaration_seq == decl.seq]
            rows.append(
                {
                    "seq": decl.seq,
                    "number": key[0],
                    "country": key[1],
                    "fee": decl.fee.canonical(),
                    "currency": decl.currency,
                    "from": decl.start.isoformat(),
                    "to": decl.end.isoformat(),
                    "evaluation_report": decl.evaluation_report,
                    "withdrawn": decl.withdrawn.isoformat() if decl.withdrawn else None,
                    "taken_by": takers,
                }
            )
    return rows


def license_rows(state: PoolState) -> list[dict[str, Any]]:
    rows = [
        {
            "seq": g.seq,
            "type": "pool",
            "licensee": g.licensee,
            "what": g.program,
            "from": g.start.isoformat(),
            "to": g.end.isoformat() if g.end else None,
            "exclusive": False,
        }
        for g in state.grants.values()
    ]
    rows += [
        {
            "seq": d.seq,
            "type": "direct",
            "licensee": d.licensee,
            "what": f"{d.patent[0]} ({d.patent[1]}) from {d.licensor}",
            "from": d.start.isoformat(),
            "to": d.end.isoformat() if d.end else None,
            "exclusive": d.exclusive,
        }
        for d in state.directs
    ]
    return sorted(rows, key=lambda r: r["seq"])


def report_rows(state: PoolState, period: str | None, licensee: str | None) -> list[dict[str, Any]]:
    return [
        {
            "seq": r.ref[0],
            "licensee": r.licensee,
            "program": r.program,
            "period": r.period,
            "manufacture_country": r.manufacture,
            "sale_country": r.sale,
            "units": r.units,
            "net_sales": str(r.net_sales),
            "supersedes": r.supersedes,
        }
        for r in state.reports.values()
        if (period is None or r.period == period.upper()) and (licensee is None or r.licensee == licensee)
    ]


# Tables and CSVs of figures mark each row in a first column `row`: `line` (one party's or one item's
# figures), `total` (a sum of the lines above it), `memo` (an open-licence fee paid directly, never pool
# money), `check` (reconcile's invariants). A spreadsheet summing a column filters on row = line, so totals
# are never counted twice (docs/imports.md).
def allocation_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"row": "line", "party": m, "role": "member", **{k: f[k] for k in ("gross", "admin_fee", "net")}}
        for m, f in result["members"].items()
    ]
    rows += [
        {"row": "line", "party": lic, "role": "licensee", **{k: f[k] for k in ("royalty", "credit", "due")}}
        for lic, f in result["invoices"].items()
    ]
    rows.append(
        {
            "row": "total",
            "party": "total",
            "role": "",
            "gross": result["total"],
            "admin_fee": result["admin_fee"],
        }
    )
    for row in rows:
        row["currency"] = result["currency"]
    for fee in result["open_license_fees"]:
        # Due from licensee to patentee directly, maybe in another currency: never in the pool's columns.
        rows.append(
            {
                "row": "memo",
                "party": fee["licensee"],
                "role": f"open licence memo: {fee['patent']} -> {fee['owner']}",
                "memo": fee["amount"],
                "currency": fee["currency"],
            }
        )
    return [{k: r.get(k, "") for k in ALLOCATION_COLUMNS} for r in rows]


ALLOCATION_COLUMNS = (
    "row", "party", "role", "royalty", "credit", "due", "gross", "admin_fee", "net", "memo", "currency"
)  # fmt: skip


INVOICE_COLUMNS = ("row", "item", "amount", "currency", "due_date")


def invoice_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"row": "line", "item": k, "amount": data[k], "currency": data["currency"]}
        for k in ("royalty", "credit")
    ]
    # What is owed, and by when (spec 6 rule 12: 30 days after the period's last day).
    rows.append(
        {
            "row": "total",
            "item": "due",
            "amount": data["due"],
            "currency": data["currency"],
            "due_date": data.get("due_date", ""),
        }
    )
    rows += [
        {
            "row": "memo",
            "item": f"open licence {f['patent']} (memo, pay {f['owner']} directly)",
            "amount": f["amount"],
            "currency": f["currency"],
        }
        for f in data["open_license_fees"]
    ]
    return [{k: r.get(k, "") for k in INVOICE_COLUMNS} for r in rows]


STATEMENT_COLUMNS = ("row", "program", "licensee", "country", "patents", "gross", "memo", "currency")


def statement_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{"row": "line", **line} for line in data["lines"]]
    rows.append({"row": "total", "licensee": "gross", "gross": data["gross"]})
    rows.append({"row": "total", "licensee": "admin fee", "gross": data["admin_fee"]})
    rows.append({"row": "total", "licensee": "net", "gross": data["net"]})
    for row in rows:
        row["currency"] = data["currency"]
    for paid in data.get("distributions", []):
        # What the pool paid the member (cash basis, rule 12): after the totals, never summed into them.
        rows.append(
            {
                "row": "payout",
                "licensee": f"paid {paid['date']}",
                "patents": f"distribution {paid['reference']}",
                "gross": paid["amount"],
                "currency": data["currency"],
            }
        )
    for fee in data["open_license_fees"]:
        # Paid by the licensee directly, maybe in another currency: never in the pool's gross column.
        rows.append(
            {
                "row": "memo",
                "program": "memo",
                "licensee": fee["licensee"],
                "patents": f"open licence {fee['patent']}",
                "memo": fee["amount"],
                "currency": fee["currency"],
            }
        )
    return [{k: r.get(k, "") for k in STATEMENT_COLUMNS} for r in rows]


def statement_patent_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """A statement by patent (spec 6 rule 6b): what each patent earned, its part of the fee, its net."""
    return [
        {
            **{k: p[k] for k in ("patent", "country", "gross", "admin_fee", "net")},
            "currency": data["currency"],
        }
        for p in data["patents"]
    ]


RECONCILE_COLUMNS = ("row", "party", "role", "program", "owed", "settled", "balance", "days_late")


def reconcile_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    # `role` tells the two rows of a member that is also a licensee apart (books.reconcile names it).
    rows = [
        {
            "row": "line",
            "party": r["licensee"],
            "role": r["role"],
            "program": r["program"],
            "owed": r["invoiced"],
            "settled": r["paid"],
            "balance": r["balance"],
            "days_late": r["days_late"],
        }
        for r in data["licensees"]
    ]
    rows += [
        {
            "row": "line",
            "party": r["member"],
            "role": r["role"],
            "program": r["program"],
            "owed": r["allocated"],
            "settled": r["distributed"],
            "balance": r["balance"],
            "days_late": "",
        }
        for r in data["members"]
    ]
    rows.append({"row": "check", "party": "invariants", "owed": data["invariants"]})
    return [{k: r.get(k, "") for k in RECONCILE_COLUMNS} for r in rows]


LOG_COLUMNS = ["seq", "time", "kind", "author", "summary", "void"]


def _spelled(value: str | int) -> str:
    # As JSON spells it (true/false), not as Python's str() does (True/False).
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def log_row(
    entry: Entry, limit: int | None = None, voided: Mapping[int, int] | None = None
) -> dict[str, Any]:
    """One entry of `log` as a row: its top-level text and number fields as the summary, cut to `limit`
    characters (a table) with the cut marked; `void` names the entry.void that voids it (`voided`)."""
    summary = ", ".join(
        f"{k}={_spelled(v)}" for k, v in entry.body.items() if isinstance(v, str | int) and k != "source"
    )
    if entry.kind == "entry.void" and isinstance(entry.body.get("seqs"), list):
        summary = f"seqs={voids.text(voids.body_ranges(entry.body['seqs']))}, {summary}"
    if limit is not None and len(summary) > limit:
        summary = summary[: limit - 1] + "…"
    return {
        "seq": entry.seq,
        "time": entry.time,
        "kind": entry.kind,
        "author": entry.author.rsplit("+", 1)[-1],
        "summary": summary,
        "void": f"voided by seq {voided[entry.seq]}" if voided and entry.seq in voided else "",
    }


FIELD_COLUMNS = ["field", "value"]


def field_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The table and CSV of a command whose output is one object (a proof, a checkpoint, a key): a row per
    field, and a row per item of a list (`proof[0]`, `proof[1]`, ...) so that each hash is a cell of its own
    rather than one long cell of hashes joined by commas."""
    rows: list[dict[str, Any]] = []
    for name, value in data.items():
        if isinstance(value, list) and value:
            rows += [{"field": f"{name}[{i}]", "value": item} for i, item in enumerate(value)]
        else:
            rows.append({"field": name, "value": value})
    return rows


def checkpoint_json(origin: str, checkpoint: StoredCheckpoint) -> dict[str, Any]:
    return {
        "origin": origin,
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode(),
        "note": checkpoint.note,
    }


def key_json(vkey: VerifierKey) -> dict[str, Any]:
    return {"name": vkey.name, "key_id": vkey.key_id.hex(), "author": vkey.keyid_string, "vkey": str(vkey)}


def distribution_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """A `distribute` result as table rows, one per member."""
    return [
        {"member": member, **figures, "currency": result["currency"], "date": result["date"]}
        for member, figures in result["members"].items()
    ]


# --- the list commands' rows -------------------------------------------------------------------------------
MEMBER_COLUMNS = ["id", "name", "role", "seq", "retired"]


def member_rows(state: PoolState) -> list[dict[str, Any]]:
    return [
        {
            "id": m.id,
            "name": m.name,
            "role": m.role,
            "seq": m.ref[0],
            "retired": state.retired[m.id][0].isoformat() if m.id in state.retired else None,
        }
        for m in state.members.values()
    ]


def program_rows(state: PoolState) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "currency": p.currency,
            "tiers": p.schedule.tiers.canonical(),
            "annual_cap": p.schedule.cap_text(),
            "admin_fee": str(p.admin_fee),
            "period": p.period,
            "seq": p.ref[0],
        }
        for p in state.programs.values()
    ]


def search_patents(rows: list[dict[str, Any]], search: str | None) -> list[dict[str, Any]]:
    """`patent list --search`: the rows whose title or number has every word of the search."""
    from patentpool import patent_lookup

    if search is None:
        return rows
    return [r for r in rows if patent_lookup.matches(r["title"], r["number"], search)]


PATENT_HISTORY_COLUMNS = ["seq", "time", "country", "event", "void"]


def titled(data: dict[str, Any], number: str, names: Mapping[tuple[str, str], str | None]) -> dict[str, Any]:
    """`patent show`'s data with each country's title (`names`: patent_lookup.titles)."""
    for row in data["countries"]:
        row["title"] = names.get((number, row["country"]))
    return data


CROSSLICENSE_COLUMNS = ["seq", "members", "patents", "territory", "from", "to", "terms"]


def crosslicense_rows(state: PoolState) -> list[dict[str, Any]]:
    return [
        {
            "seq": c.seq,
            "members": sorted(c.members),
            "patents": "all" if c.patents is None else sorted(c.patents),
            "territory": "all" if c.territory is None else sorted(c.territory),
            "from": c.start.isoformat(),
            "to": c.end.isoformat() if c.end else None,
            "terms": c.terms,
        }
        for c in state.crosslicenses
    ]


PAYMENT_COLUMNS = ["seq", "licensee", "date", "amount", "currency", "reference"]


def payment_rows(state: PoolState) -> list[dict[str, Any]]:
    return [
        {
            "seq": p.ref[0],
            "licensee": p.licensee,
            "date": p.date.isoformat(),
            "amount": str(p.amount),
            "currency": p.currency,
            "reference": p.reference,
        }
        for p in state.payments
    ]


VERIFY_COLUMNS = ["check", "result"]


def verification_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"check": k, "result": v} for k, v in data.items() if k != "problems"]


# --- keys and checkpoints ----------------------------------------------------------------------------------
def key_file_view(path: Path) -> tuple[str, dict[str, Any], str]:
    """`key show`: the verifier key string as kept (raw), its fields, the title; a witness's key file shows
    its cosigner (type 0x04) verifier key."""
    from ledger.cosignature import COSIGNER_PURPOSE, CosignerKey
    from ledger.keys import read_purpose, read_verifier

    if not path.exists():
        raise PoolError(f"no key file at {path}")
    vkey = read_verifier(path)
    if read_purpose(path) != COSIGNER_PURPOSE:
        return f"{vkey}\n", key_json(vkey), "Key"
    wkey = CosignerKey.from_public(vkey.name, vkey.public)
    data = {"name": wkey.name, "key_id": wkey.key_id.hex(), "vkey": str(wkey), "type": "cosigner"}
    return f"{wkey}\n", data, "Witness key"


def checkpoint_view(reader: Reader, size: int | None, cosigned: bool) -> tuple[str, dict[str, Any], int]:
    """`checkpoint`: the signed note (with the witnesses' cosignature lines the pool keeps, if `cosigned`),
    its fields and its tree size."""
    cp = reader.checkpoint(size)
    data = checkpoint_json(reader.origin, cp)
    note = cp.note
    if cosigned:
        lines = [c.line for c in reader.store.cosignatures(reader.conn, until=cp.size) if c.size == cp.size]
        note += "".join(f"{line}\n" for line in lines)
        data["note"] = note
    return note, data, cp.size


def consistency(reader: Reader, old: int, new: int) -> dict[str, Any]:
    """`prove consistency`: from a signed size only. As for inclusion: a proof from a size the pool never
    signed proves nothing to a member, who holds only signed checkpoints. Size 0 is never signed, and
    ledger.merkle.verify_consistency (like the RFC 9162 reference verifier) rejects a proof from the empty
    tree anyway."""
    reader.checkpoint(old)
    return reader.consistency(old, new)


# --- the ledger's entries (`log`) --------------------------------------------------------------------------
def log_rows(reader: Reader, since: int, kind: str | None) -> list[dict[str, Any]]:
    """`log -f xlsx`: every listed entry as a row."""
    return [log_row(entry) for _raw, entry in reader.listed(since=since, kinds=[kind] if kind else None)]


def write_log(reader: Reader, out: TextIO, fmt: str, since: int, kind: str | None, color: bool) -> None:
    """`log` as json (each entry exactly as stored: its canonical JSON), csv or a table, streamed to `out`."""
    from patentpool import render
    from patentpool.service import VOID_KINDS, void_entries

    voided = voids.effective(void_entries(reader.signed_rows(kinds=VOID_KINDS)))
    listed = reader.listed(since=since, kinds=[kind] if kind else None)
    if fmt == "json":
        render.write_json_array(out, (raw.decode("utf-8") for raw, _entry in listed))
    elif fmt == "csv":
        render.write_csv(out, (log_row(entry, voided=voided) for _raw, entry in listed), LOG_COLUMNS)
    else:
        rows = [log_row(entry, limit=100, voided=voided) for _raw, entry in listed]
        out.write(render.to_table(rows, LOG_COLUMNS, "Ledger", color))
