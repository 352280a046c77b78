"""patentpool's command line: parse, call the core, render. No rules live here.

Heavy libraries (SQLAlchemy, rich, pandas, cryptography) are imported inside the commands that use them,
so `patentpool --help` and `verify-statement` start fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

import click

from patentpool import values

if TYPE_CHECKING:
    from patentpool.documents import Request
    from patentpool.service import Batch, PoolService
    from patentpool.state import PoolState
    from patentpool.witness import CosignResult

VERSION = "0.1.0"
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 110}


@dataclass
class Settings:
    db: str
    key: Path
    verbose: bool


class Fail(Exception):
    """An error already phrased for the user."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    """What is printed as one `Error:` line: each package's root error (every error it raises for the user
    subclasses it), the CLI's own, and the operating system's (a file that cannot be read or written)."""
    from ledger.errors import LedgerError
    from licenses.errors import LicenseError
    from patentpool.errors import PoolError

    return (Fail, LedgerError, LicenseError, PoolError, OSError)


class HelpGroup(click.Group):
    """Lists each command with its whole first paragraph, wrapped: click's default cuts it at about 45
    characters or at the first full stop (as in "art. 50"), mid-sentence."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            text = command.short_help or (command.help or "").split("\n\n")[0]
            rows.append((name, " ".join(text.split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class Main(HelpGroup):
    group_class = HelpGroup

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except Exception as exc:
            verbose = ctx.params.get("verbose") or os.environ.get("PATENTPOOL_VERBOSE")
            if verbose or not isinstance(exc, _expected_errors()):
                if verbose:
                    raise
                click.echo(
                    f"Error: {type(exc).__name__}: {exc} (run with --verbose for the traceback)", err=True
                )
                sys.exit(1)
            _print_error(exc)
            sys.exit(1)


def printable(text: str) -> str:
    """`text` with control characters (NUL, ESC, CR, a newline inside a message, C1 and bidi controls) spelled
    as escapes: an error quotes what the user's file holds, and raw control bytes would reach the terminal
    (or split one error into several lines)."""
    import unicodedata

    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200d":
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _print_error(exc: BaseException) -> None:
    from patentpool.imports import ImportFailed

    if isinstance(exc, ImportFailed):
        # One `Error:` line per problem (spec 9); the summary is not another problem, so it has no prefix.
        if len(exc.errors) <= 1 and not exc.more:
            text = printable(str(exc.errors[0] if exc.errors else exc))
            click.echo(f"Error: {text}; nothing was written", err=True)
            return
        for error in exc.errors:
            click.echo(f"Error: {printable(str(error))}", err=True)
        more = " (and more; stopped listing)" if exc.more else ""
        click.echo(f"{len(exc.errors)} problems{more}: nothing was written", err=True)
        return
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.filename}: {exc.strerror}"
    click.echo(f"Error: {printable(text.splitlines()[0])}", err=True)


def fail(message: str) -> NoReturn:
    raise Fail(message)


@click.group(cls=Main, context_settings=CONTEXT)
@click.option(
    "--db",
    envvar="PATENTPOOL_DB",
    default="sqlite:///patentpool.db",
    show_default=True,
    help="Database URL (SQLite file or postgresql://...). Env: PATENTPOOL_DB.",
)
@click.option(
    "--key",
    "key_path",
    envvar="PATENTPOOL_KEY",
    default="patentpool.key",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Signing key file. Env: PATENTPOOL_KEY.",
)
@click.option("--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(VERSION, prog_name="patentpool")
@click.pass_context
def main(ctx: click.Context, db: str, key_path: Path, verbose: bool) -> None:
    """patentpool: a patent pool's books as a signed, append-only, verifiable ledger."""
    ctx.obj = Settings(check_db_url(db), key_path, verbose)


def check_db_url(db: str) -> str:
    """A database URL, or the one-line error that says which URL a bare path means (spec 9)."""
    import re

    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", db):
        fail(f"--db: not a database URL; did you mean sqlite:///{db}?")
    return db


# --- helpers ---------------------------------------------------------------------------------------------
def service(ctx: click.Context) -> PoolService:
    from patentpool.service import PoolService

    settings: Settings = ctx.find_root().obj
    return PoolService(settings.db, settings.key)


def _set_force(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta["patentpool.force"] = True


def force_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """--force: replace an existing output file (never the database or a key file: patentpool.outputs).
    The command's output files (`output`, `bundle`) are checked before it runs, so a command that appends
    entries does not append them and then find its output refused."""
    import functools

    @functools.wraps(f)
    def checked(*args: Any, **kwargs: Any) -> Any:
        from patentpool.outputs import check_target, use_guard

        guard = output_guard()
        for name in ("output", "bundle"):
            if isinstance(kwargs.get(name), Path):
                check_target(kwargs[name], guard)
        with use_guard(guard):  # for writers in the pool's code (documents)
            return f(*args, **kwargs)

    return click.option(
        "--force",
        is_flag=True,
        expose_value=False,
        callback=_set_force,
        help="Replace an existing output file (never the database or a key file).",
    )(checked)


def output_guard() -> Any:
    """What this command's outputs must not overwrite (patentpool.outputs.Guard)."""
    from patentpool.outputs import guard_for

    ctx = click.get_current_context()
    settings: Settings = ctx.find_root().obj
    return guard_for(
        settings.db,
        [settings.key, os.environ.get("PATENTPOOL_ROOT_KEY")],
        bool(ctx.meta.get("patentpool.force")),
    )


def formats(default: str, extra: tuple[str, ...] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """-f/--format table|json|csv|xlsx, -o FILE and --force, the options of every read command (spec 7, 10);
    `extra` formats for the commands that have them (html and pdf for statements and invoices, spec 10)."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        f = force_option(f)
        f = click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write to FILE instead of stdout.",
        )(f)
        return click.option(
            "-f",
            "--format",
            "fmt",
            type=click.Choice(["table", "json", "csv", "xlsx", *extra]),
            help=f"Output format (default: {default}); xlsx needs -o FILE.",
        )(f)

    return decorate


format_option = formats("table on a terminal, else json (also with -o)")
document_option = formats(
    "table on a terminal, else json; html or pdf for an -o FILE.html or .pdf", ("html", "pdf")
)
year_option = click.option(
    "--year",
    type=click.IntRange(1900, 9999),
    default=None,
    help="Every allocated period of YEAR, instead of --period.",
)


def period_or_year(period: str | None, year: int | None, fmt: str | None, output: Path | None) -> str | None:
    """Exactly one of --period and --year; the format (-o x.pdf means pdf), and pdf only to a file."""
    from patentpool.documents import format_for

    if (period is None) == (year is None):
        raise click.UsageError("give --period P or --year YYYY (one of them)")
    fmt = format_for(fmt, output)
    if fmt == "pdf" and output is None:
        raise click.UsageError("-f pdf writes a file: give -o FILE")
    return fmt


def document_request(
    party: str,
    period: str | None,
    year: int | None,
    program: str | None,
    bundle: Path | None,
    since: Path | None,
    fmt: str | None,
    output: Path | None,
) -> Request:
    """`statement` and `invoice` options, checked."""
    from patentpool.documents import Request

    fmt = period_or_year(period, year, fmt, output)
    if year is not None and bundle is not None:
        raise click.UsageError("--bundle is for one --period (a bundle proves one allocation)")
    per = period_arg(period) if year is None and period is not None else None
    return Request(party, per, year, program, bundle, since, fmt, output)


def period_document(ctx: click.Context, word: str, asked: Request) -> dict[str, Any] | None:
    """A statement or invoice (`word`): written here as a document, or its data for `show`."""
    from patentpool.documents import period_document as document

    return document(service(ctx), word, asked, output_guard(), say)


@contextmanager
def open_output(path: Path | None) -> Iterator[TextIO]:
    from patentpool import outputs

    if path is None:
        yield sys.stdout
        return
    with outputs.open_output(path, output_guard()) as handle:
        yield handle  # type: ignore[misc]  # a text handle (binary=False)


def show(fmt: str | None, path: Path | None, data: Any, **kw: Any) -> None:
    from patentpool import render

    resolved = fmt or render.default_format(path is not None)
    if callable(kw.get("rows")):  # rows made only for a format that shows them (a large statement's lines)
        kw["rows"] = None if resolved == "json" else kw["rows"]()
    if fmt == "xlsx":
        try:
            with xlsx_output(path) as target:
                render.emit_xlsx(data, target, **kw)
        except render.TooManyRows as exc:
            fail(str(exc))
        return
    with open_output(path) as out:
        render.emit(data, resolved, out, **kw)


@contextmanager
def xlsx_output(path: Path | None) -> Iterator[Any]:
    """Where -f xlsx writes: the -o file, or stdout when it is piped; a workbook is binary, so it is never
    written to a terminal."""
    if path is not None:
        from patentpool import outputs

        # Through the same guard as every output: never over the database or a key, --force to replace.
        with outputs.open_output(path, output_guard(), binary=True) as handle:
            yield handle
        return
    if sys.stdout.isatty():
        fail("-f xlsx writes a binary workbook: give -o FILE (or pipe it)")
    import io

    buffer = io.BytesIO()
    yield buffer
    sys.stdout.buffer.write(buffer.getvalue())
    sys.stdout.buffer.flush()


def show_or_raw(fmt: str | None, path: Path | None, raw: str, data: dict[str, Any], title: str) -> None:
    """For `checkpoint` and `key show`: without -f, the text users keep as a file (the signed note, the
    verifier key string), exactly, on a terminal too; with -f, the fields as the other read commands do."""
    from patentpool import views

    if fmt is None:
        with open_output(path) as out:
            out.write(raw)
        return
    show(fmt, path, data, rows=views.field_rows(data), columns=views.FIELD_COLUMNS, title=title)


class Count(click.ParamType[int]):
    """A seq or tree size on the command line: a whole number up to 2^63 - 1, the largest the databases
    store. A longer number is refused here, with its first digits only, rather than overflow in a query."""

    name = "integer"

    def __init__(self, minimum: int) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        text = str(value).strip()
        if text.isascii() and text.isdigit() and len(text) <= 19 and self.minimum <= int(text) < 2**63:
            return int(text)
        shown = text if len(text) <= 24 else text[:20] + "..."
        self.fail(f"{shown!r} is not a whole number from {self.minimum} to 2^63-1", param, ctx)


SEQ = Count(1)
SIZE = Count(0)


def say(text: str) -> None:
    click.echo(text, err=True)


@contextmanager
def writing(ctx: click.Context, what: str = "replaying ledger") -> Iterator[Batch]:
    from patentpool import render

    svc = service(ctx)
    svc.key()  # ask for the passphrase before any progress bar is drawn
    with render.progress(what, None) as tick, svc.write(tick) as batch:
        yield batch
    if batch.entries:
        first, last = batch.entries[0].seq, batch.entries[-1].seq
        if first == last:
            say(f"appended 1 entry (seq {first}); checkpoint signed")
        else:
            say(f"appended {len(batch.entries)} entries (seq {first}-{last}); checkpoint signed")


@contextmanager
def reading(ctx: click.Context) -> Iterator[tuple[PoolState, Any]]:
    """The state of the whole ledger, replayed, and its reader (statements and invoices read only what they
    need: patentpool.documents)."""
    from patentpool import render

    with render.progress("replaying ledger", None) as tick, service(ctx).read(tick) as (state, reader):
        yield state, reader


def import_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """--dry-run, --encoding and --sheet: the options of every import (spec 8)."""
    f = click.option(
        "--sheet", default=None, help="The sheet of an .xlsx file to read (default: the first)."
    )(f)
    f = click.option(
        "--encoding",
        default=None,
        help="The text encoding of a CSV that is not UTF-8, e.g. gb18030 or cp1252.",
    )(f)
    return click.option("--dry-run", is_flag=True, help="Check the whole file; append nothing.")(f)


def run_import(
    ctx: click.Context,
    file: Path,
    what: str,
    importer: Callable[..., Any],
    dry_run: bool = False,
    encoding: str | None = None,
    sheet: str | None = None,
) -> None:
    """One import: validated in full, appended as one batch with a progress bar (or, dry, only checked
    against the ledger as it is), summarised."""
    from patentpool import render
    from patentpool.imports import DryRun
    from patentpool.sheets import ReadOptions, check_encoding

    options = ReadOptions(None if encoding is None else check_encoding(encoding), sheet)
    if dry_run:
        with reading(ctx) as (state, _reader), render.progress(f"checking {file.name}", None) as tick:
            result = importer(DryRun(state), file, tick, options=options)
    else:
        with writing(ctx) as batch, render.progress(f"importing {file.name}", None) as tick:
            result = importer(batch, file, tick, options=options)
    say(result.summary(what))
    for note in result.notes:
        say(note)


def period_arg(value: str) -> Any:
    from patentpool.periods import Period

    return Period.parse(value)


def _kind_import(group: click.Group, name: str, kind: str, help_text: str) -> None:
    """Register `GROUP NAME FILE`: one file kind of patentpool.import_kinds, with the import options."""

    def command(ctx: click.Context, file: Path, **opts: Any) -> None:
        from patentpool import import_kinds

        what, importer = import_kinds.named_importer(kind)
        run_import(ctx, file, what, importer, **opts)

    command.__doc__ = help_text
    file_arg = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    group.command(name)(file_arg(import_options(click.pass_context(command))))


def append(ctx: click.Context, kind: str, body: dict[str, Any]) -> None:
    """Append one entry, signed, and say so."""
    with writing(ctx) as batch:
        batch.add(kind, body)


def add_per_patent(
    ctx: click.Context,
    number: str,
    country: str | None,
    kind: str,
    body: Callable[[PoolState, tuple[str, str]], dict[str, Any]],
) -> None:
    """Append one `kind` entry per patent the number names: in `country`, or in every country it is entered
    for (`body`: of the state and the patent's (number, country))."""
    from patentpool.patent_lookup import patent_keys

    with writing(ctx) as batch:
        for key in patent_keys(batch.state, number, country):
            batch.add(kind, body(batch.state, key))


def _list_command(group: click.Group, help_text: str, rows: str, columns: str, title: str) -> None:
    """Register `GROUP list`: the rows `patentpool.views.<rows>` makes of the replayed state, with the
    columns `views.<columns>` (named, so that views is imported only when the command runs)."""

    def command(ctx: click.Context, fmt: str | None, output: Path | None) -> None:
        from patentpool import views

        with reading(ctx) as (state, _reader):
            found = getattr(views, rows)(state)
        show(fmt, output, found, columns=getattr(views, columns), title=title)

    command.__doc__ = help_text
    group.command("list")(format_option(click.pass_context(command)))


# --- init and keys ---------------------------------------------------------------------------------------
@main.command()
@click.option("--name", required=True, help="The pool's name.")
@click.option("--origin", required=True, help="The pool's log origin, e.g. pool.example/xr.")
@click.option("--currency", required=True, help="Default currency (ISO 4217).")
@click.option("--admin-fee", default="0", show_default=True, help="Default admin fee, percent of gross.")
@click.pass_context
def init(ctx: click.Context, name: str, origin: str, currency: str, admin_fee: str) -> None:
    """Create the database and the genesis entry (generating the key file if there is none)."""
    from patentpool.genesis import create_pool

    settings: Settings = ctx.obj
    click.echo(str(create_pool(settings.db, settings.key, origin, name, currency, admin_fee, say)))


@main.group()
def key() -> None:
    """Pool keys: show the verifier key, add or revoke admin and auditor keys."""


@key.command("show")
@formats("the verifier key string")
@click.pass_context
def key_show(ctx: click.Context, fmt: str | None, output: Path | None) -> None:
    """Print the verifier key string of the key file (give it to members)."""
    from patentpool import views

    settings: Settings = ctx.find_root().obj
    show_or_raw(fmt, output, *views.key_file_view(settings.key))


@key.command("add")
@click.option("--vkey", required=True, help="Verifier key string name+id+key.")
@click.option("--role", type=click.Choice(["admin", "auditor"]), required=True)
@click.pass_context
def key_add(ctx: click.Context, vkey: str, role: str) -> None:
    """Authorise another key (root key only)."""
    from patentpool import bodies

    append(ctx, "key.add", bodies.key_add(vkey, role))


@key.command("revoke")
@click.argument("keyid")
@click.option("--reason", default=None)
@click.pass_context
def key_revoke(ctx: click.Context, keyid: str, reason: str | None) -> None:
    """Revoke a key from the next entry on (root key only); KEYID is origin+id or the bare 8-hex id."""
    from ledger.keyring import key_ref
    from patentpool import bodies

    with writing(ctx) as batch:
        batch.add("key.revoke", bodies.key_revoke(key_ref(batch.appender.ring.keys, keyid), reason))


@key.command("generate-witness")
@click.argument("name")
@click.option(
    "--key",
    "witness_key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The new witness key file (refuses to overwrite one).",
)
def key_generate_witness(name: str, witness_key: Path) -> None:
    """Make a witness's (or auditor's) cosigner key NAME, e.g. witness.example/w1; prints its verifier key.

    A cosigner key is not a pool key: it signs C2SP cosignatures of checkpoints it verified (`cosign`).
    Give its verifier key to the pool and to the members who rely on it."""
    from ledger.cosignature import Cosigner, save_cosigner
    from ledger.keys import is_valid_key_name, passphrase_from_env_or_prompt

    if not is_valid_key_name(name):
        fail(f"name: {name!r} is not a key name (no spaces or '+'), e.g. witness.example/w1")
    cosigner = Cosigner.generate(name)
    save_cosigner(witness_key, cosigner, passphrase_from_env_or_prompt(confirm=True))
    say(f"generated witness key {cosigner.verifier().keyid_string} in {witness_key} (mode 0600)")
    click.echo(str(cosigner.verifier()))


# --- members and programs --------------------------------------------------------------------------------
@main.group()
def member() -> None:
    """Member companies: licensors, licensees, or both."""


@member.command("add")
@click.argument("member_id")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(values.ROLES), required=True)
@click.pass_context
def member_add(ctx: click.Context, member_id: str, name: str, role: str) -> None:
    """Register a member."""
    from patentpool import bodies

    body = bodies.member(member_id, name, role)
    append(ctx, "member.add", body)


@member.command("update")
@click.argument("member_id")
@click.option("--name", default=None)
@click.option("--role", type=click.Choice(values.ROLES), default=None)
@click.pass_context
def member_update(ctx: click.Context, member_id: str, name: str | None, role: str | None) -> None:
    """Change a member's name or role."""
    from patentpool import bodies

    body = bodies.member_update(member_id, name, role)
    with writing(ctx) as batch:
        bodies.check_member_changes(batch.state, body)
        batch.add("member.update", body)


@member.command("retire")
@click.argument("member_id")
@click.option("--effective", required=True, help="The first day the member is retired.")
@click.option("--reason", default=None)
@click.pass_context
def member_retire(ctx: click.Context, member_id: str, effective: str, reason: str | None) -> None:
    """Record that a member leaves the pool (once it owns no patent and holds no running licence)."""
    from patentpool import bodies

    body = bodies.member_retire(member_id, effective, reason)
    append(ctx, "member.retire", body)


_kind_import(member, "import", "members", "Import members from CSV or xlsx (id,name,role).")


_list_command(member, "List members.", "member_rows", "MEMBER_COLUMNS", "Members")


@main.group()
def program() -> None:
    """Licensing programs: rate schedules, caps, admin fee, period length."""


@program.command("add")
@click.argument("name")
@click.option("--currency", required=True)
@click.option("--tiers", required=True, help='Marginal tiers, e.g. "1000:0,5000:0.20,*:0.10".')
@click.option("--annual-cap", default=None, help="Annual cap per licensee.")
@click.option("--admin-fee", default=None, help="Percent of gross (default: the pool's).")
@click.option("--period", type=click.Choice(values.PERIOD_LENGTHS), default="quarter", show_default=True)
@click.pass_context
def program_add(
    ctx: click.Context,
    name: str,
    currency: str,
    tiers: str,
    annual_cap: str | None,
    admin_fee: str | None,
    period: str,
) -> None:
    """Add a licensing program."""
    from patentpool import bodies

    with writing(ctx) as batch:
        fee = bodies.program_admin_fee(batch.state, admin_fee)
        batch.add("program.add", bodies.program(name, currency, tiers, annual_cap, fee, period))


@program.command("amend")
@click.argument("name")
@click.option("--from-period", required=True, help="The first period the new terms apply to, e.g. 2026Q1.")
@click.option("--tiers", default=None, help="New marginal tiers (default: keep).")
@click.option("--annual-cap", default=None, help="New annual cap per licensee, or none (default: keep).")
@click.option("--admin-fee", default=None, help="New admin fee, percent of gross (default: keep).")
@click.option("--reason", default=None)
@click.pass_context
def program_amend(
    ctx: click.Context,
    name: str,
    from_period: str,
    tiers: str | None,
    annual_cap: str | None,
    admin_fee: str | None,
    reason: str | None,
) -> None:
    """Change a program's schedule, cap or admin fee from a period on (earlier periods keep theirs)."""
    from patentpool import corrections

    why = corrections.reason_text(reason, required=False)
    with writing(ctx) as batch:
        body = corrections.program_amend_body(
            batch.state, name, from_period, tiers, annual_cap, admin_fee, why
        )
        batch.add("program.amend", body)


_list_command(program, "List programs.", "program_rows", "PROGRAM_COLUMNS", "Programs")


# --- patents ---------------------------------------------------------------------------------------------
@main.group()
def patent() -> None:
    """Patents: add, import, list, show history, status and transfers."""


@patent.command("add")
@click.argument("number")
@click.option("--owner", default=None, help="The sole owner (a licensor member).")
@click.option(
    "--owners", default=None, help="Co-owners with parts, e.g. A:60,B:40 (only their ratio matters)."
)
@click.option("--country", required=True, help="Country where it is in force (EP: once per country).")
@click.option("--type", "type_", type=click.Choice(["invention", "utility", "design"]), required=True)
@click.option("--filed", required=True)
@click.option("--granted", default=None)
@click.option("--expires", default=None, help="Explicit expiry (first day no longer in force).")
@click.option("--program", "program_", default=None)
@click.option("--title", default=None)
@click.option("--weight", default=None)
@click.pass_context
def patent_add(
    ctx: click.Context,
    number: str,
    owner: str | None,
    owners: str | None,
    country: str,
    type_: str,
    filed: str,
    granted: str | None,
    expires: str | None,
    program_: str | None,
    title: str | None,
    weight: str | None,
) -> None:
    """Add one patent (one owner, or co-owners with parts)."""
    from patentpool import bodies

    if (owner is None) == (owners is None):
        raise click.UsageError("give --owner ID or --owners A:60,B:40 (one of them)")
    body = bodies.patent(
        number,
        owner if owner is not None else owners or "",
        country,
        type_,
        filed,
        granted,
        expires,
        program_,
        title,
        weight,
    )
    append(ctx, "patent.add", body)


_kind_import(
    patent,
    "import",
    "patents",
    "Import patents from CSV or xlsx.\n\n"
    "Columns: number,owner (or owners),country,type,filed,granted,expires,program,title,weight.",
)


@patent.command("list")
@click.option("--program", "program_", default=None)
@click.option("--owner", default=None)
@click.option("--on", "on_date", default=None, help="Owner and status on this date (default today).")
@click.option("--search", default=None, help="Only patents whose title (or number) has every word of TEXT.")
@format_option
@click.pass_context
def patent_list(
    ctx: click.Context,
    program_: str | None,
    owner: str | None,
    on_date: str | None,
    search: str | None,
    fmt: str | None,
    output: Path | None,
) -> None:
    """List patents with title, owner and status on a date."""
    from patentpool import patent_lookup, views

    with reading(ctx) as (state, reader):
        names = patent_lookup.titles(reader, state.voided)
        rows = views.patent_rows(state, program_, owner, on_date, names)
    rows = views.search_patents(rows, search)
    show(fmt, output, rows, columns=views.PATENT_COLUMNS, title="Patents")


@patent.command("show")
@click.argument("number")
@click.option("--on", "on_date", default=None, help="Owners, parts and status on this date (default today).")
@format_option
@click.pass_context
def patent_show(
    ctx: click.Context, number: str, on_date: str | None, fmt: str | None, output: Path | None
) -> None:
    """A patent's title, full history from the ledger, with seqs, and its owners with their parts on a date
    (the kind code may be left out when one patent of the pool has the number)."""
    from patentpool import fields, patent_lookup, views

    day = fields.parse_date(on_date, "on") if on_date else None
    with reading(ctx) as (state, reader):
        found = patent_lookup.find_number(state, number)
        data = views.titled(
            views.patent_history(state, reader, found, day),
            found,
            patent_lookup.titles(reader, state.voided, found),
        )
    show(
        fmt,
        output,
        data,
        rows=data["history"],
        columns=views.PATENT_HISTORY_COLUMNS,
        title=f"{data['number']}: history",
        first=(f"{data['number']} today", data["countries"]),
    )


@patent.command("status")
@click.argument("number")
@click.argument("status", type=click.Choice(values.STATUSES))
@click.option("--effective", required=True)
@click.option("--country", default=None, help="Only this country (default: every country of the number).")
@click.pass_context
def patent_status(ctx: click.Context, number: str, status: str, effective: str, country: str | None) -> None:
    """Record that a patent stopped counting."""
    from patentpool import bodies, fields

    day = fields.parse_date(effective, "effective").isoformat()
    add_per_patent(
        ctx, number, country, "patent.status", lambda _s, key: bodies.patent_status(key, status, day)
    )


@patent.command("transfer")
@click.argument("number")
@click.option("--to", "to", required=True)
@click.option("--effective", required=True)
@click.option("--country", default=None)
@click.pass_context
def patent_transfer(ctx: click.Context, number: str, to: str, effective: str, country: str | None) -> None:
    """Record a change of owner."""
    from patentpool import bodies, fields

    day = fields.parse_date(effective, "effective")
    add_per_patent(ctx, number, country, "patent.transfer", partial(bodies.patent_transfer, to=to, day=day))


@patent.command("amend")
@click.argument("number")
@click.option("--country", default=None, help="Only this country (default: every country of the number).")
@click.option("--filed", default=None)
@click.option("--granted", default=None, help="A date, or none.")
@click.option("--expires", default=None, help="Explicit expiry (default: recomputed from the term).")
@click.option("--type", "type_", type=click.Choice(["invention", "utility", "design"]), default=None)
@click.option("--title", default=None)
@click.option("--weight", default=None)
@click.option("--program", "program_", default=None, help="A program, or none.")
@click.option(
    "--owners",
    "owners_",
    default=None,
    help="The owners it was added with, corrected: a member, or co-owners with parts (A:60,B:40).",
)
@click.option("--reason", default=None, help="Why the recorded facts were wrong (required).")
@click.pass_context
def patent_amend(
    ctx: click.Context,
    number: str,
    country: str | None,
    filed: str | None,
    granted: str | None,
    expires: str | None,
    type_: str | None,
    title: str | None,
    weight: str | None,
    program_: str | None,
    owners_: str | None,
    reason: str | None,
) -> None:
    """Correct facts of a patent that were wrong from the start (replay uses them for every date)."""
    from patentpool import corrections

    why = corrections.reason_text(reason, required=True)
    assert why is not None
    options = corrections.amended_facts(
        {
            "filed": filed,
            "granted": granted,
            "expires": expires,
            "type": type_,
            "title": title,
            "weight": weight,
            "program": program_,
            "owners": owners_,
        }
    )
    amend = partial(corrections.patent_amend_body, options=options, reason=why)
    add_per_patent(ctx, number, country, "patent.amend", amend)


@patent.command("owners")
@click.argument("number")
@click.option(
    "--owners", "owners_", required=True, help="Owners with parts from the date on, e.g. A:60,B:40."
)
@click.option("--effective", required=True)
@click.option("--country", default=None, help="Without it: every country the number is entered for.")
@click.pass_context
def patent_owners(ctx: click.Context, number: str, owners_: str, effective: str, country: str | None) -> None:
    """Record the owners of a patent and their parts from a date on (spec 6a)."""
    from patentpool import bodies

    def body(_state: PoolState, key: tuple[str, str]) -> dict[str, Any]:
        return bodies.patent_owners(key[0], key[1], owners_, effective)

    add_per_patent(ctx, number, country, "patent.owners", body)


# --- licences --------------------------------------------------------------------------------------------
@main.group()
def openlicense() -> None:
    """Open licences (China Patent Law art. 50-52): declare, take, withdraw."""


@openlicense.command("declare")
@click.argument("number")
@click.option("--fee", required=True, help='"0.10/unit", "3%" or "5000/year".')
@click.option("--currency", required=True)
@click.option("--from", "start", required=True)
@click.option("--to", "end", required=True)
@click.option("--evaluation-report", default=None, help="Required for utility models and designs.")
@click.option("--country", default=None)
@click.pass_context
def openlicense_declare(
    ctx: click.Context,
    number: str,
    fee: str,
    currency: str,
    start: str,
    end: str,
    evaluation_report: str | None,
    country: str | None,
) -> None:
    """Publish an open-licence declaration."""
    from patentpool import bodies

    # The spelling `openlicense import-declarations` gives a row: blanks (a stray CR of a shell loop over a
    # CRLF file among them) are no evaluation report, rather than a missing one.
    terms = bodies.declaration(fee, currency, start, end, evaluation_report)
    add_per_patent(ctx, number, country, "openlicense.declare", lambda _s, key: bodies.on_patent(key, terms))


@openlicense.command("take")
@click.argument("number")
@click.option("--licensee", required=True)
@click.option("--notice-date", required=True)
@click.option("--country", default=None)
@click.pass_context
def openlicense_take(
    ctx: click.Context, number: str, licensee: str, notice_date: str, country: str | None
) -> None:
    """Record a licensee taking an open licence by written notice."""
    from patentpool import bodies, fields

    day = fields.parse_date(notice_date, "notice_date").isoformat()
    take = partial(bodies.openlicense_take, licensee=licensee, notice_date=day)
    add_per_patent(ctx, number, country, "openlicense.take", take)


@openlicense.command("withdraw")
@click.argument("number")
@click.option("--effective", required=True)
@click.option("--country", default=None)
@click.pass_context
def openlicense_withdraw(ctx: click.Context, number: str, effective: str, country: str | None) -> None:
    """Publish a withdrawal (licences already taken continue)."""
    from patentpool import bodies, fields

    day = fields.parse_date(effective, "effective").isoformat()
    withdraw = partial(bodies.openlicense_withdraw, effective=day)
    add_per_patent(ctx, number, country, "openlicense.withdraw", withdraw)


_list_command(
    openlicense,
    "List open-licence declarations and takes.",
    "openlicense_rows",
    "OPENLICENSE_COLUMNS",
    "Open licences",
)


@main.group()
def crosslicense() -> None:
    """Cross-licences between members."""


@crosslicense.command("add")
@click.option("--members", required=True, help="A,C,...")
@click.option("--patents", default="all", show_default=True, help="all or N1,N2,...")
@click.option("--territory", default="all", show_default=True, help="all or CC,CC,...")
@click.option("--from", "start", required=True)
@click.option("--to", "end", default=None)
@click.option(
    "--terms",
    type=click.Choice(values.CROSS_LICENSE_TERMS),
    default="royalty-free",
    show_default=True,
)
@click.pass_context
def crosslicense_add(
    ctx: click.Context, members: str, patents: str, territory: str, start: str, end: str | None, terms: str
) -> None:
    """Record a cross-licence."""
    from patentpool import bodies

    body = bodies.crosslicense_options(members, patents, territory, start, end, terms)
    append(ctx, "crosslicense.add", body)


@crosslicense.command("end")
@click.argument("seq", type=int)
@click.option("--to", "end", required=True, help="The last day the cross-licence covers.")
@click.option("--reason", default=None)
@click.pass_context
def crosslicense_end(ctx: click.Context, seq: int, end: str, reason: str | None) -> None:
    """End the cross-licence recorded at SEQ."""
    from patentpool import bodies

    body = bodies.crosslicense_end(seq, end, reason)
    append(ctx, "crosslicense.end", body)


_list_command(
    crosslicense, "List cross-licences.", "crosslicense_rows", "CROSSLICENSE_COLUMNS", "Cross-licences"
)


@main.group()
def license() -> None:
    """Pool licences and direct (bilateral) licences."""


@license.command("grant")
@click.option("--licensee", required=True)
@click.option("--program", "program_", required=True)
@click.option("--from", "start", required=True)
@click.pass_context
def license_grant(ctx: click.Context, licensee: str, program_: str, start: str) -> None:
    """Grant a pool licence of a program to a licensee."""
    from patentpool import bodies

    body = bodies.license_grant(licensee, program_, start)
    append(ctx, "license.grant", body)


@license.command("end")
@click.option("--licensee", required=True)
@click.option("--program", "program_", required=True)
@click.option("--to", "end", required=True, help="The last day the licence covers.")
@click.option("--reason", default=None)
@click.pass_context
def license_end(ctx: click.Context, licensee: str, program_: str, end: str, reason: str | None) -> None:
    """End a pool licence: reports for periods starting after the end are refused."""
    from patentpool import bodies

    body = bodies.license_end(licensee, program_, end, reason)
    append(ctx, "license.end", body)


@license.command("direct")
@click.argument("number")
@click.option("--licensee", required=True)
@click.option("--from", "start", required=True)
@click.option("--to", "end", default=None)
@click.option("--exclusive", is_flag=True)
@click.option("--territory", default=None, help="CC,CC,... (default: all)")
@click.option("--country", default=None)
@click.option("--licensor", default=None, help="Of a co-owned patent: the co-owner granting it.")
@click.pass_context
def license_direct(
    ctx: click.Context,
    number: str,
    licensee: str,
    start: str,
    end: str | None,
    exclusive: bool,
    territory: str | None,
    country: str | None,
    licensor: str | None,
) -> None:
    """Record a bilateral licence of one patent from its owner (so the pool does not charge twice)."""
    from patentpool import bodies, fields

    terms = bodies.DirectTerms(
        licensee, licensor, fields.parse_date(start, "from"), end, exclusive, territory
    )
    add_per_patent(ctx, number, country, "license.direct", partial(bodies.license_direct, terms=terms))


_list_command(license, "List pool and direct licences.", "license_rows", "LICENSE_COLUMNS", "Licences")


# --- reports, payments -----------------------------------------------------------------------------------
@main.group()
def report() -> None:
    """Licensees' usage reports."""


@report.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--correct", is_flag=True, help="Supersede already reported lines that differ.")
@import_options
@click.pass_context
def report_import(
    ctx: click.Context, file: Path, correct: bool, dry_run: bool, encoding: str | None, sheet: str | None
) -> None:
    """Import report lines from CSV or xlsx."""
    from patentpool import imports

    def importer(batch: Any, path: Path, tick: Any, options: Any) -> Any:
        return imports.import_reports(batch, path, correct, tick, options=options)

    run_import(ctx, file, "report", importer, dry_run, encoding, sheet)


@report.command("list")
@click.option("--period", default=None)
@click.option("--licensee", default=None)
@format_option
@click.pass_context
def report_list(
    ctx: click.Context, period: str | None, licensee: str | None, fmt: str | None, output: Path | None
) -> None:
    """List current report lines."""
    from patentpool import views

    with reading(ctx) as (state, _reader):
        rows = views.report_rows(state, period, licensee)
    show(fmt, output, rows, columns=views.REPORT_COLUMNS, title="Report lines")


@main.group()
def payment() -> None:
    """Payments received from licensees."""


@payment.command("add")
@click.option("--licensee", required=True)
@click.option("--amount", required=True)
@click.option("--date", "day", required=True)
@click.option("--ref", "reference", required=True)
@click.option("--currency", default=None, help="Default: the licensee's program currency.")
@click.pass_context
def payment_add(
    ctx: click.Context, licensee: str, amount: str, day: str, reference: str, currency: str | None
) -> None:
    """Record one payment."""
    from patentpool import bodies

    with writing(ctx) as batch:
        money = bodies.payment_currency(batch.state, licensee, currency)
        batch.add("payment.add", bodies.payment(licensee, day, amount, money, reference))


_kind_import(
    payment,
    "import",
    "payments",
    "Import payments from CSV or xlsx (licensee,date,amount,currency,reference).",
)


_list_command(payment, "List payments.", "payment_rows", "PAYMENT_COLUMNS", "Payments")


# --- allocation and books --------------------------------------------------------------------------------
@main.command()
@click.option("--program", "program_", required=True)
@click.option("--period", required=True)
@click.option("--dry-run", is_flag=True, help="Show what would be allocated or adjusted; append nothing.")
@format_option
@click.pass_context
def allocate(
    ctx: click.Context, program_: str, period: str, dry_run: bool, fmt: str | None, output: Path | None
) -> None:
    """Allocate a program's period, then re-run every later allocated period of the program (spec 6 rule 13);
    a period whose figures did not change gets nothing appended."""
    from patentpool import staleness, views

    per = period_arg(period)
    with writing(ctx) as batch:
        steps = staleness.run(batch.state, program_, per, None if dry_run else batch.add_ref)
    for step in steps:
        say(("would be " if dry_run and step.kind else "") + staleness.describe(step, program_))
    if dry_run:
        say("dry run: nothing appended")
    result = steps[0].result
    show(fmt, output, result, rows=views.allocation_rows(result), title=f"Allocation {program_} {per}")


@main.command()
@click.option("--licensee", required=True)
@click.option("--period", default=None, help="A period like 2025Q1 (or give --year).")
@year_option
@click.option("--program", "program_", default=None)
@click.option(
    "--bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write an invoice bundle that the licensee can verify offline.",
)
@click.option(
    "--since",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --bundle: an older checkpoint file to prove consistency from.",
)
@document_option
@click.pass_context
def invoice(
    ctx: click.Context,
    licensee: str,
    period: str | None,
    year: int | None,
    program_: str | None,
    bundle: Path | None,
    since: Path | None,
    fmt: str | None,
    output: Path | None,
) -> None:
    """A licensee's invoice for a period (or a year), as data or as a document (-f html|pdf)."""
    from patentpool import views

    asked = document_request(licensee, period, year, program_, bundle, since, fmt, output)
    data = period_document(ctx, "invoice", asked)
    if data is not None:
        show(
            asked.fmt,
            output,
            data,
            rows=lambda: views.invoice_rows(data),
            title=f"Invoice {licensee} {period}",
        )


@main.command()
@click.option("--member", "member_id", required=True)
@click.option("--period", default=None, help="A period like 2025Q1 (or give --year).")
@year_option
@click.option("--program", "program_", default=None)
@click.option(
    "--bundle",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a statement bundle that the member can verify offline.",
)
@click.option(
    "--since",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="With --bundle: an older checkpoint file to prove consistency from.",
)
@click.option(
    "--by",
    type=click.Choice(["line", "patent"]),
    default="line",
    show_default=True,
    help="Table and CSV rows: one per licensee and country, or one per patent (rule 6b).",
)
@document_option
@click.pass_context
def statement(
    ctx: click.Context,
    member_id: str,
    period: str | None,
    year: int | None,
    program_: str | None,
    bundle: Path | None,
    since: Path | None,
    by: str,
    fmt: str | None,
    output: Path | None,
) -> None:
    """A member's royalty statement for a period (or a year), as data or as a document (-f html|pdf)."""
    from patentpool import views

    asked = document_request(member_id, period, year, program_, bundle, since, fmt, output)
    data = period_document(ctx, "statement", asked)
    if data is not None:
        rows = views.statement_patent_rows if by == "patent" else views.statement_rows
        show(asked.fmt, output, data, rows=lambda: rows(data), title=f"Statement {member_id} {asked.period}")


@main.command()
@click.option("--period", required=True)
@click.option("--program", "program_", default=None)
@click.option(
    "--as-of",
    default=None,
    help="The position on this date (default today): later payments and payouts are left out.",
)
@format_option
@click.pass_context
def reconcile(
    ctx: click.Context,
    period: str,
    program_: str | None,
    as_of: str | None,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Money in against money owed, money out against money allocated; checks the invariants."""
    from datetime import date

    from patentpool import books, fields, views

    day = fields.parse_date(as_of, "as-of") if as_of else date.today()
    with reading(ctx) as (state, _reader):  # every fact: stale allocations are looked for (rule 13)
        data = books.reconcile(state, period_arg(period), program_, day)
    show(fmt, output, data, rows=views.reconcile_rows(data), title=f"Reconciliation {period}")
    for problem in data["problems"]:
        say(f"Error: invariant broken: {problem}")
    if data["problems"]:
        sys.exit(1)


@main.command()
@click.option("--period", required=True)
@click.option("--program", "program_", default=None)
@click.option("--date", "day", default=None, help="Payout date (default today).")
@click.option("--dry-run", is_flag=True, help="Show the payouts and append nothing.")
@format_option
@click.pass_context
def distribute(
    ctx: click.Context,
    period: str,
    program_: str | None,
    day: str | None,
    dry_run: bool,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Pay each member its collected net less what it was paid (cash basis, spec 6 rule 12)."""
    from datetime import date

    from patentpool import cash, fields, staleness, views

    when = fields.parse_date(day, "date") if day else date.today()
    per = period_arg(period)
    with writing(ctx) as batch:
        staleness.refuse_stale(batch.state, per, program_, earlier=True)
        result, payouts = cash.record_distribution(batch, program_, per, when, dry_run)
    if dry_run:
        say(f"dry run: {payouts} payout(s) would be recorded; nothing appended")
    elif not payouts:
        say("nothing to distribute: every member has been paid what was collected")
    show(fmt, output, result, rows=views.distribution_rows(result), title=f"Distribution {per}")


# --- the ledger ------------------------------------------------------------------------------------------
@main.command()
@click.argument("seqs", nargs=-1, required=True)
@click.option("--reason", default=None, help="Why the entries were wrong (required).")
@click.pass_context
def void(ctx: click.Context, seqs: tuple[str, ...], reason: str | None) -> None:
    """Void entries (SEQ or FIRST-LAST, several allowed) as one entry.void: replay treats them as never
    made from then on; they stay in the log, marked void. Voiding an entry.void un-voids what it named."""
    from patentpool import corrections, voids

    why = corrections.reason_text(reason, required=True)
    ranges = voids.parse_args(seqs)
    append(ctx, "entry.void", voids.body(ranges, why))
    say(f"voided {voids.text(ranges)}")


def _entry_kind(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    from patentpool.rules import KINDS

    if value is not None and value not in KINDS:
        raise click.BadParameter(f"unknown entry kind {value!r} (kinds: {', '.join(sorted(KINDS))})")
    return value


@main.command()
@click.option(
    "--kind", default=None, callback=_entry_kind, help="Only entries of this kind (e.g. patent.add)."
)
@click.option("--since", type=SEQ, default=1, help="From this seq.")
@format_option
@click.pass_context
def log(ctx: click.Context, kind: str | None, since: int, fmt: str | None, output: Path | None) -> None:
    """List ledger entries."""
    import shutil
    import tempfile

    from ledger.log import Ledger
    from patentpool import render, views

    settings: Settings = ctx.find_root().obj
    fmt = fmt or render.default_format(output is not None)
    if fmt == "xlsx":
        with Ledger.open(settings.db).reader() as reader:
            rows = views.log_rows(reader, since, kind)
        show(fmt, output, rows, columns=views.LOG_COLUMNS, title="Ledger")
        return
    # Entries stream one at a time (a pool's ledger can hold millions, some of tens of megabytes) into a
    # spool that reaches the output only once the read has been checked against the signed root.
    color = output is None and render.use_color(sys.stdout)
    with tempfile.SpooledTemporaryFile(16 << 20, "w+", encoding="utf-8", newline="") as spool:
        with Ledger.open(settings.db).reader() as reader:
            views.write_log(reader, spool, fmt, since, kind, color)  # type: ignore[arg-type]  # a text spool
        spool.seek(0)
        with open_output(output) as out:
            shutil.copyfileobj(spool, out)


@main.command()
@click.option("-f", "--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@force_option
@click.pass_context
def export(ctx: click.Context, fmt: str, output: Path | None) -> None:
    """Export the ledger: one entry per line, exactly its canonical bytes."""
    from ledger.log import Ledger

    settings: Settings = ctx.find_root().obj
    count = 0
    with Ledger.open(settings.db).reader() as reader, output_binary(output) as out:
        for _seq, raw in reader.raw_entries():
            out.write(raw + b"\n")
            count += 1
        note = reader.checkpoint().note
    say(f"exported {count} entries; latest checkpoint:\n{note}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help="The signed checkpoint of the export (as `export` prints it): the entries must be its tree.",
)
@click.pass_context
def load(ctx: click.Context, file: Path, checkpoint_file: Path) -> None:
    """Restore an exported ledger into an empty database (root key needed to sign its checkpoint)."""
    from patentpool.inputs import read_text
    from patentpool.service import load_signing_key, open_ledger

    settings: Settings = ctx.find_root().obj
    key = load_signing_key(settings.key)
    note = read_text(checkpoint_file, "--checkpoint")
    with file.open("rb") as handle:
        rows = (line.rstrip(b"\n") for line in handle if line.strip())
        count = open_ledger(settings.db).restore(rows, key, note)
    say(f"restored {count} entries from {file}, the tree of checkpoint {count}; checkpoint signed")


@contextmanager
def output_binary(path: Path | None) -> Iterator[Any]:
    from patentpool import outputs

    if path is None:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    # Written beside the target and renamed only once the whole export was read and checked, so a refused
    # export (a ledger changed outside patentpool) leaves no file that looks like one.
    with outputs.open_output(path, output_guard(), binary=True) as handle:
        yield handle


@main.command()
@click.option(
    "--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Processes for signature checks."
)
@click.option(
    "--from-export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Verify an exported JSONL file instead of the database (needs --checkpoint).",
)
@click.option(
    "--checkpoint",
    "checkpoint_files",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    multiple=True,
    help="A checkpoint someone kept (repeatable): the ledger must contain it, else a fork or rollback is "
    "reported. With --from-export the first is the one the export must match.",
)
@format_option
@click.pass_context
def verify(
    ctx: click.Context,
    jobs: int,
    export_file: Path | None,
    checkpoint_files: tuple[Path, ...],
    fmt: str | None,
    output: Path | None,
) -> None:
    """Re-check everything: canonical form, chain, signatures, keys, Merkle root, pool rules, allocations."""
    from patentpool import render, verification, views
    from patentpool.inputs import read_text

    settings: Settings = ctx.find_root().obj
    if export_file is not None and not checkpoint_files:
        raise click.UsageError(
            "--from-export needs --checkpoint: the signed checkpoint the export must match"
        )
    kept = [(str(path), read_text(path, "--checkpoint")) for path in checkpoint_files]
    with render.progress("verifying", None) as tick:
        if export_file is not None:
            data = verification.verify_export(
                export_file, kept[0][1], jobs, tick, checkpoint_name=kept[0][0], kept=kept[1:]
            )
        else:
            data = verification.verify_database(settings.db, jobs, tick, kept)
    rows = views.verification_rows(data)
    show(fmt, output, data, rows=rows, columns=views.VERIFY_COLUMNS, title="Verification")
    for problem in data["problems"]:
        say(f"Error: {problem}")
    if data["problems"]:
        sys.exit(1)


@main.group(invoke_without_command=True)
@click.option("--size", type=SEQ, default=None, help="The checkpoint of this tree size (default latest).")
@click.option(
    "--cosigned", is_flag=True, help="With the witnesses' cosignature lines the pool keeps for it (C2SP)."
)
@formats("the signed note")
@click.pass_context
def checkpoint(
    ctx: click.Context, size: int | None, cosigned: bool, fmt: str | None, output: Path | None
) -> None:
    """Print the latest signed checkpoint (keep it: it proves what the ledger was)."""
    if ctx.invoked_subcommand is not None:
        return
    from ledger.log import Ledger
    from patentpool import views

    settings: Settings = ctx.find_root().obj
    with Ledger.open(settings.db).reader() as reader:
        note, data, tree_size = views.checkpoint_view(reader, size, cosigned)
    show_or_raw(fmt, output, note, data, f"Checkpoint {tree_size}")


@checkpoint.command("add-cosignature")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    help="The witness's verifier key string (or a file holding it); repeat for several witnesses. "
    "Needed the first time a witness cosigns; after that its recorded key is used.",
)
@click.pass_context
def checkpoint_add_cosignature(ctx: click.Context, file: Path, witnesses: tuple[str, ...]) -> None:
    """Keep a witness's cosignature of one of the pool's checkpoints (FILE: the note `cosign` printed).

    Bundles then carry it, so that members can require it (`verify-statement --witness`)."""
    import time

    from ledger.cosignature import CosignerKey
    from ledger.cosigned import add_cosignatures
    from ledger.store import Store

    settings: Settings = ctx.find_root().obj
    keys = [CosignerKey.parse(_key_text(text)) for text in witnesses]
    note = file.read_text(encoding="utf-8")
    signed, added, ignored = add_cosignatures(Store(settings.db), note, keys, int(time.time()))
    for item in added:
        c = item.cosignature
        state = "stored" if item.new else "already stored"
        say(f"{state}: cosignature by {c.keyid_string} of checkpoint {signed.size} at {c.time}")
    if ignored:
        say(f"ignored {ignored} signature line(s) by keys not given with --witness")


def _key_text(text: str) -> str:
    """A verifier key string, or the name of a file holding one."""
    path = Path(text)
    return path.read_text(encoding="utf-8").strip() if "+" not in text and path.is_file() else text.strip()


@main.command()
@click.argument(
    "checkpoint_file", metavar="CHECKPOINT", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--key",
    "witness_key",
    envvar="PATENTPOOL_WITNESS_KEY",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The witness's cosigner key file (`key generate-witness`). Env: PATENTPOOL_WITNESS_KEY.",
)
@click.option(
    "--export",
    "export_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="The pool's export (`export -o FILE`) to verify up to CHECKPOINT.",
)
@click.option(
    "--db", "db_url", default=None, help="Or a database to verify (e.g. a copy loaded from an export)."
)
@click.option(
    "--state",
    "state_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The witness's state directory (default: beside the key file, KEY.state).",
)
@click.option("--vkey", default=None, help="The pool's verifier key you expect (pinned at the first cosign).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--force", is_flag=True, help="Replace an existing output file (never a key or the database).")
def cosign(
    checkpoint_file: Path,
    witness_key: Path,
    export_file: Path | None,
    db_url: str | None,
    state_dir: Path | None,
    vkey: str | None,
    jobs: int,
    output: Path | None,
    force: bool,
) -> None:
    """As a witness or auditor: verify the ledger up to CHECKPOINT and cosign it (C2SP tlog-cosignature).

    The whole ledger is replayed (signatures, chain, Merkle root, pool rules, allocations); CHECKPOINT must
    extend the last checkpoint this witness cosigned for the pool. Prints the checkpoint with the cosignature
    added, for the pool's `checkpoint add-cosignature`."""
    import time

    from ledger.cosignature import load_cosigner
    from ledger.keys import passphrase_from_env_or_prompt
    from patentpool import render, witness

    if (export_file is None) == (db_url is None):
        raise click.UsageError("give the ledger to verify: --export FILE or --db URL (one of them)")
    if db_url is not None and "://" not in db_url:
        fail(f"--db: {db_url!r} is not a database URL; did you mean sqlite:///{Path(db_url).resolve()}?")
    from patentpool import outputs

    settings: Settings = click.get_current_context().find_root().obj
    guard = outputs.guard_for(db_url or settings.db, [witness_key, settings.key], force)
    if output is not None:  # refused before anything is verified, signed or recorded
        outputs.check_target(output, guard)
    cosigner = load_cosigner(witness_key, passphrase_from_env_or_prompt(confirm=False))
    state = state_dir or witness.default_state_dir(witness_key)
    note = checkpoint_file.read_text(encoding="utf-8")
    with render.progress("verifying", None) as tick:
        result = witness.cosign_checkpoint(
            note,
            cosigner,
            state,
            export=export_file,
            db=db_url,
            pool_vkey=_key_text(vkey) if vkey else None,
            jobs=jobs,
            tick=tick,
            now=int(time.time()),
            checkpoint_name=str(checkpoint_file),
        )
    _say_cosigned(result, state)
    if output is None:
        sys.stdout.write(result.note)
        return
    with outputs.open_output(output, guard) as out:
        out.write(result.note)


def _say_cosigned(result: CosignResult, state: Path) -> None:
    """What `cosign` did, on stderr."""
    if result.previous is None:
        say(f"first cosignature for {result.checkpoint.origin}: pinned the pool key {result.pool_key}")
    else:
        say(f"checkpoint {result.checkpoint.size} extends checkpoint {result.previous}, cosigned before")
    cosig = result.cosignature
    say(
        f"verified {result.entries} entries ({result.allocations} allocation(s) recomputed); cosigned "
        f"checkpoint {result.checkpoint.size} as {cosig.keyid_string} at {cosig.time}; state in {state}"
    )


@main.group()
def prove() -> None:
    """RFC 9162 inclusion and consistency proofs against signed checkpoints."""


@prove.command("inclusion")
@click.argument("seq", type=SIZE)
@click.option("--size", type=SEQ, default=None, help="Tree size of a signed checkpoint (default latest).")
@format_option
@click.pass_context
def prove_inclusion(
    ctx: click.Context, seq: int, size: int | None, fmt: str | None, output: Path | None
) -> None:
    """Inclusion proof of entry SEQ."""
    from ledger.log import Ledger
    from patentpool import views

    settings: Settings = ctx.find_root().obj
    with Ledger.open(settings.db).reader() as reader:
        data = reader.inclusion(seq, size)
    show(
        fmt, output, data, rows=views.field_rows(data), columns=views.FIELD_COLUMNS, title=f"Inclusion {seq}"
    )


@prove.command("consistency")
@click.argument("old", type=SIZE)
@click.argument("new", type=SIZE)
@format_option
@click.pass_context
def prove_consistency(ctx: click.Context, old: int, new: int, fmt: str | None, output: Path | None) -> None:
    """Consistency proof from tree size OLD to NEW, both sizes of signed checkpoints."""
    from ledger.log import Ledger
    from patentpool import views

    settings: Settings = ctx.find_root().obj
    with Ledger.open(settings.db).reader() as reader:
        data = views.consistency(reader, old, new)
    title = f"Consistency {old} to {new}"
    show(fmt, output, data, rows=views.field_rows(data), columns=views.FIELD_COLUMNS, title=title)


@main.command("verify-statement")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--vkey", required=True, help="The pool's verifier key string (or a file holding it).")
@click.option(
    "--since",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A checkpoint you kept earlier: the bundle must prove the ledger only grew since.",
)
@click.option("--member", default=None, help="The member whose statement this must be.")
@click.option("--licensee", default=None, help="The licensee whose invoice this must be.")
@click.option("--period", default=None, help="The period it must be for.")
@click.option(
    "--witness",
    "witnesses",
    multiple=True,
    help="Require a cosignature by this witness (verifier key string or file) of a checkpoint that holds "
    "the allocation; repeat for several.",
)
@click.option(
    "--document",
    "document_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the verified statement or invoice as JSON (a statement's lines recomputed from your "
    "part), only if it verified.",
)
def verify_statement(
    bundle: Path,
    vkey: str,
    since: Path | None,
    member: str | None,
    licensee: str | None,
    period: str | None,
    witnesses: tuple[str, ...],
    document_path: Path | None,
) -> None:
    """Verify a member's statement bundle or a licensee's invoice bundle offline, with the pool's public key
    alone; prints what it checked and what only an auditor can check."""
    from patentpool import bundles, inputs
    from patentpool.inputs import read_text

    key_text = inputs.key_text(vkey, "--vkey")
    expect = bundles.Expect(member=member, licensee=licensee, period=period)
    verdict = bundles.verify_bundle_file(
        bundle,
        key_text,
        read_text(since, "--since") if since else None,
        expect,
        [_key_text(w) for w in witnesses],
    )
    for line in verdict.lines:
        click.echo(line)
    if not verdict.ok:
        for problem in verdict.problems:
            click.echo(f"Error: {problem}", err=True)
        sys.exit(1)
    if document_path is not None:
        show("json", document_path, verdict.document)


@main.command()
@click.argument(
    "bundles", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--vkey", required=True, help="The pool's verifier key string (or a file holding it).")
@click.option(
    "--inventors",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV or .xlsx: patent,country,inventor,share,rate (kept by the member, never sent to the pool).",
)
@click.option(
    "--encoding", default="utf-8", show_default=True, help="Of a CSV inventors file (e.g. gb18030)."
)
@document_option
def awards(
    bundles: tuple[Path, ...],
    vkey: str,
    inventors: Path,
    encoding: str,
    fmt: str | None,
    output: Path | None,
) -> None:
    """Inventor awards from statement bundles, offline: each bundle verified first (spec section 11)."""
    from patentpool import awards as awards_module
    from patentpool import awards_document, documents, inputs

    key_text = inputs.key_text(vkey, "--vkey")
    data = awards_module.from_bundles(list(bundles), key_text, inventors, encoding)
    first = ("Awards per inventor", awards_module.inventor_rows(data))
    rows = awards_module.patent_rows(data)
    title = f"Inventor awards {data['member']} {', '.join(data['periods'])}"
    fmt = documents.format_for(fmt, output)
    if fmt in documents.DOCUMENT_FORMATS:
        documents.write_html(awards_document.render_html(data), fmt, output)
    else:
        show(fmt, output, data, rows=rows, columns=awards_module.PATENT_COLUMNS, title=title, first=first)
    for warning in data["warnings"]:
        say(f"Warning: {warning}")


@main.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Upgrade an existing ledger's schema to this version's (Alembic migrations; entries are untouched)."""
    from ledger.store import Store

    settings: Settings = ctx.find_root().obj
    store = Store(settings.db)
    if not store.exists():
        fail(f"no pool ledger in {store.display_url}: run `patentpool init` first")
    store.migrate()
    say(f"{store.display_url}: schema at the current revision")


@main.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path | None) -> None:
    """Build a sample pool in a new SQLite file and walk it: allocate, statement, verify."""
    from patentpool import demo as demo_module

    sys.exit(demo_module.run(directory))


# --- bulk imports of every other fact (spec 8; columns in docs/imports.md) ---------------------------------
_kind_import(
    openlicense,
    "import-declarations",
    "declarations",
    "Import open-licence declarations (number,country,fee,currency,from,to,evaluation_report).",
)
_kind_import(
    openlicense, "import-takes", "takes", "Import open-licence takes (number,country,licensee,notice_date)."
)
_kind_import(license, "import-grants", "grants", "Import pool licences (licensee,program,from).")
_kind_import(
    license,
    "import-direct",
    "directs",
    "Import direct licences (number,country,licensee,from,to,exclusive,territory).",
)
_kind_import(
    crosslicense,
    "import",
    "crosslicenses",
    "Import cross-licences (members,patents,territory,from,to,terms).",
)
_kind_import(
    patent, "import-statuses", "statuses", "Import patent statuses (number,country,status,effective)."
)
_kind_import(
    patent, "import-transfers", "transfers", "Import patent transfers (number,country,to,effective)."
)
_kind_import(
    patent, "import-owners", "owners", "Import co-owners and their parts (number,country,owners,effective)."
)


if __name__ == "__main__":
    main()
