"""The import file kinds for the facts an administrator enters in bulk besides members, patents, reports and
payments (spec 8): open-licence declarations and takes, pool and direct licences, cross-licences, patent
statuses, transfers and owners.

Each kind turns one row into the entries the matching single command would append (a blank `country` means
every country the number is entered for, as the command's missing `--country` does); each entry goes through
the kind's one validator in rules.py, so a file and the command obey the same rules. A row whose facts are
already recorded appends nothing (it is counted as skipped), so an overlapping file can be imported again;
the same row twice in one file is an error. All or nothing, `--dry-run`, CSV or xlsx: as the other imports.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patentpool import bodies, fields, owners, values
from patentpool.fields import FieldError
from patentpool.imports import PLAIN, ImportResult, Sink, Tick, begin, each_row, sink_for
from patentpool.patent_lookup import patent_keys
from patentpool.sheets import Columns, ReadOptions
from patentpool.state import PoolState

Planned = list[tuple[str, dict[str, Any]]]  # (entry kind, body) for each entry a row makes


@dataclass(frozen=True)
class FileKind:
    name: str  # as the summary says it: "open-licence declaration"
    columns: Columns  # (required, optional)
    plan: Callable[[PoolState, dict[str, str]], Planned]  # [] when every fact of the row is recorded


def import_file(
    kind: FileKind, batch: Sink, path: Path, tick: Tick = None, *, options: ReadOptions = PLAIN
) -> ImportResult:
    begun = begin(batch, path, options)
    if isinstance(begun, ImportResult):
        return begun
    result, errors = begun
    seen: dict[str, int] = {}
    first_column = kind.columns[0][0]
    for line, row in each_row(path, kind.columns, result, errors, tick, options):
        try:
            # Before planning: once a row is applied, its twin would look like a recorded fact and be
            # skipped, hiding a row pasted twice.
            fingerprint = json.dumps(row, sort_keys=True)
            if fingerprint in seen:
                raise FieldError(first_column, f"the same as line {seen[fingerprint]} of this file")
            seen[fingerprint] = line
            planned = kind.plan(batch.state, row)
            if not planned:
                result.skipped += 1
                continue
            for entry_kind, body in planned:
                result.add(sink_for(batch, errors), entry_kind, {**body, "source": result.sha256})
        except FieldError as exc:
            errors.add(line, exc)
    errors.raise_if_any()
    return result


# --- open licences ---------------------------------------------------------------------------------------
def _declarations(state: PoolState, row: dict[str, str]) -> Planned:
    terms = bodies.declaration(
        row["fee"], row["currency"], row["from"], row["to"], row.get("evaluation_report")
    )
    planned: Planned = []
    for key in patent_keys(state, row["number"], row.get("country")):
        recorded = any(
            (d.fee.canonical(), d.currency, d.start.isoformat(), d.end.isoformat(), d.evaluation_report)
            == (terms["fee"], terms["currency"], terms["from"], terms["to"], terms["evaluation_report"])
            for d in state.declarations.get(key, [])
        )
        if not recorded:
            planned.append(("openlicense.declare", {"number": key[0], "country": key[1], **terms}))
    return planned


def _takes(state: PoolState, row: dict[str, str]) -> Planned:
    licensee = fields.identifier(row["licensee"], "licensee")
    notice = fields.parse_date(row["notice_date"], "notice_date").isoformat()
    planned: Planned = []
    for key in patent_keys(state, row["number"], row.get("country")):
        decl = state.current_declaration(key)
        if decl is None:
            raise FieldError("number", f"{key[0]} in {key[1]} has no open licence declaration")
        taken = [t for t in state.takes if t.declaration_seq == decl.seq and t.licensee == licensee]
        if taken and taken[0].notice_date.isoformat() == notice:
            continue
        body = {"number": key[0], "country": key[1], "licensee": licensee, "notice_date": notice}
        planned.append(("openlicense.take", {**body, "declaration": decl.seq}))
    return planned


# --- pool, direct and cross-licences ---------------------------------------------------------------------
def _grants(state: PoolState, row: dict[str, str]) -> Planned:
    body = {
        "licensee": fields.identifier(row["licensee"], "licensee"),
        "program": fields.identifier(row["program"], "program"),
        "from": fields.parse_date(row["from"], "from").isoformat(),
    }
    held = state.grants.get((body["licensee"], body["program"]))
    if held is not None and held.start.isoformat() == body["from"]:
        return []
    return [("license.grant", body)]


def _directs(state: PoolState, row: dict[str, str]) -> Planned:
    start = fields.parse_date(row["from"], "from")
    end = fields.optional_date(row.get("to"), "to")
    licensee = fields.identifier(row["licensee"], "licensee")
    exclusive = bodies.flag(row.get("exclusive"), "exclusive")
    territory_text = row.get("territory")
    territory = bodies.countries_or_all(
        None if bodies.blank(territory_text) else str(territory_text).replace(";", ","), "territory"
    )
    planned: Planned = []
    for key in patent_keys(state, row["number"], row.get("country")):
        recorded = any(
            (d.patent, d.licensee, d.start, d.end, d.exclusive) == (key, licensee, start, end, exclusive)
            and (sorted(d.territory) if d.territory is not None else "all") == territory
            for d in state.directs
        )
        if recorded:
            continue
        body = {
            "number": key[0],
            "country": key[1],
            "licensee": licensee,
            "licensor": state.patents[key].owner_on(start),
            "from": start.isoformat(),
            "to": None if end is None else end.isoformat(),
            "exclusive": exclusive,
            "territory": territory,
        }
        planned.append(("license.direct", body))
    return planned


def _crosslicenses(state: PoolState, row: dict[str, str]) -> Planned:
    body = bodies.crosslicense(
        row["members"], row.get("patents"), row.get("territory"), row["from"], row.get("to"), row.get("terms")
    )
    for c in state.crosslicenses:
        spelled = {
            "members": sorted(c.members),
            "patents": "all" if c.patents is None else sorted(c.patents),
            "territory": "all" if c.territory is None else sorted(c.territory),
            "from": c.start.isoformat(),
            "to": None if c.end is None else c.end.isoformat(),
            "terms": c.terms,
        }
        if spelled == {**body, "members": sorted(body["members"])}:
            return []
    return [("crosslicense.add", body)]


# --- patent statuses, transfers, owners ------------------------------------------------------------------
def _statuses(state: PoolState, row: dict[str, str]) -> Planned:
    status = row["status"].strip().lower()
    if status not in values.STATUSES:
        raise FieldError("status", f"{row['status']!r} is not one of {', '.join(values.STATUSES)}")
    day = fields.parse_date(row["effective"], "effective")
    planned: Planned = []
    for key in patent_keys(state, row["number"], row.get("country")):
        if state.patents[key].stopped_on(day) == (day, status):
            continue
        body = {"number": key[0], "country": key[1], "status": status, "effective": day.isoformat()}
        planned.append(("patent.status", body))
    return planned


def _transfers(state: PoolState, row: dict[str, str]) -> Planned:
    to = fields.identifier(row["to"], "to")
    day = fields.parse_date(row["effective"], "effective")
    planned: Planned = []
    for key in patent_keys(state, row["number"], row.get("country")):
        patent = state.patents[key]
        if any(effective == day and owner == to for effective, owner, _ref in patent.transfers):
            continue
        body = {
            "number": key[0],
            "country": key[1],
            "from": patent.owner_on(day),
            "to": to,
            "effective": day.isoformat(),
        }
        planned.append(("patent.transfer", body))
    return planned


def _owners(state: PoolState, row: dict[str, str]) -> Planned:
    planned: Planned = []
    for key in patent_keys(state, row["number"], row.get("country")):
        body = bodies.patent_owners(key[0], key[1], row["owners"], row["effective"])
        spelled = owners.spell(owners.from_body(body["owners"], 1))
        changes = state.patents[key].transfers  # transfers and owners changes, as the state keeps them
        if any(day.isoformat() == body["effective"] and who == spelled for day, who, _ref in changes):
            continue
        planned.append(("patent.owners", body))
    return planned


KINDS: dict[str, FileKind] = {
    "declarations": FileKind(
        "open-licence declaration",
        (("number", "fee", "currency", "from", "to"), ("country", "evaluation_report")),
        _declarations,
    ),
    "takes": FileKind("open-licence take", (("number", "licensee", "notice_date"), ("country",)), _takes),
    "grants": FileKind("pool licence", (("licensee", "program", "from"), ()), _grants),
    "directs": FileKind(
        "direct licence",
        (("number", "licensee", "from"), ("country", "to", "exclusive", "territory")),
        _directs,
    ),
    "crosslicenses": FileKind(
        "cross-licence",
        (("members", "from"), ("patents", "territory", "to", "terms")),
        _crosslicenses,
    ),
    "statuses": FileKind("patent status", (("number", "status", "effective"), ("country",)), _statuses),
    "transfers": FileKind("patent transfer", (("number", "to", "effective"), ("country",)), _transfers),
    "owners": FileKind("patent owners", (("number", "owners", "effective"), ("country",)), _owners),
}


def importer(name: str) -> Callable[..., ImportResult]:
    """The import function of a file kind, with the signature the CLI's run_import calls."""
    kind = KINDS[name]

    def run(batch: Sink, path: Path, tick: Tick = None, *, options: ReadOptions = PLAIN) -> ImportResult:
        return import_file(kind, batch, path, tick, options=options)

    return run


def named_importer(kind: str) -> tuple[str, Callable[..., ImportResult]]:
    """What an import's summary calls a row's fact, and the import function, of every file kind the CLI
    imports (members, patents and payments have their own modules; report lines take `--correct`)."""
    from patentpool import imports

    own = {
        "members": ("member", imports.import_members),
        "patents": ("patent", imports.import_patents),
        "payments": ("payment", imports.import_payments),
    }
    if kind in own:
        return own[kind]
    return KINDS[kind].name, importer(kind)
