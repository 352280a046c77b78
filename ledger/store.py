"""Storage of the ledger through SQLAlchemy: SQLite (embedded default) or PostgreSQL (several writers).

Writers are serialised: SQLite takes `BEGIN IMMEDIATE` (the write lock up front, so two writers never both
read the same head), PostgreSQL a transaction-scoped advisory lock. Everything one command appends goes in
one transaction, so a crash leaves all of it or none of it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    LargeBinary,
    Table,
    create_engine,
    event,
    func,
    insert,
    literal,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from ledger import merkle
from ledger.errors import LedgerError
from ledger.schema import SCHEMA_REVISION, checkpoints, cosignatures, entries, nodes

# Any constant works: it only has to be the same for every writer of one database.
ADVISORY_LOCK_ID = 0x7061_7465_6E74  # "patent"
# Bytes read in one query: an allocation entry (tens of MB) comes alone, and on PostgreSQL the driver holds
# its bytes twice over (the hex text of the wire format, then the decoded bytes) until the page is read.
PAGE_BYTES = 8 << 20
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreError(LedgerError):
    """The database is missing, at another schema version, or unreachable."""


def normalise_url(url: str) -> str:
    # Users write the URL their other tools take; SQLAlchemy needs the psycopg 3 driver named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_events(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module so BEGIN is ours to spell.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Connection) -> None:
        writer = conn.get_execution_options().get("ledger_writer", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        # NullPool: a CLI process opens one connection; no pooled connection outlives a fork.
        engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 60})
        _sqlite_events(engine)
        return engine
    return create_engine(url, poolclass=NullPool)


@dataclass(frozen=True)
class Head:
    size: int
    hash: bytes | None
    time: str | None


@dataclass(frozen=True)
class StoredCheckpoint:
    size: int
    root: bytes
    note: str
    created: str


# Bytes of an entry that SQLite keeps within its page (no overflow pages): searched there by instr().
SMALL_ROW = 3000


class Store:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        try:
            self.engine = make_engine(self.url)
        except ArgumentError as exc:  # an unknown scheme (NoSuchModuleError) or a malformed URL
            raise StoreError(
                f"--db: {url.split('://', 1)[0]}:// is not a database this tool stores a ledger in "
                "(use sqlite:///PATH or postgresql://USER@HOST/DB)"
            ) from exc
        self.dialect = self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    # --- schema -----------------------------------------------------------------------------------------
    def exists(self) -> bool:
        path = sqlite_path(self.url)
        if path is not None and not path.exists():
            return False
        try:
            with self.engine.connect() as conn:
                return self._revision(conn) is not None
        except DatabaseError as exc:  # also SQLite's "file is not a database" (a damaged or foreign file)
            raise StoreError(f"cannot open database {self.display_url}: {exc.orig}") from exc

    @property
    def display_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def _revision(self, conn: Connection) -> str | None:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except (OperationalError, ProgrammingError):
            conn.rollback()
            return None
        return None if row is None else str(row[0])

    def migrate(self) -> None:
        """Create or upgrade the schema to the current Alembic head (migrations also create the triggers)."""
        from alembic import command
        from alembic.config import Config

        path = sqlite_path(self.url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()

    def check_schema(self, conn: Connection) -> None:
        revision = self._revision(conn)
        if revision is None:
            raise StoreError(f"no pool ledger in {self.display_url}: run `patentpool init` first")
        if revision != SCHEMA_REVISION:
            raise StoreError(
                f"database schema is at revision {revision}, this version of patentpool needs "
                f"{SCHEMA_REVISION}: run `patentpool upgrade` (entries are untouched)"
            )

    # --- transactions -----------------------------------------------------------------------------------
    @contextmanager
    def reader(self) -> Iterator[Connection]:
        if sqlite_path(self.url) is not None and not self.exists():
            raise StoreError(f"no pool ledger in {self.display_url}: run `patentpool init` first")
        try:
            with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    # One snapshot for the whole read, so a long verify sees one consistent ledger.
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    self.check_schema(conn)
                    yield conn
        except DatabaseError as exc:
            raise StoreError(f"database error on {self.display_url}: {_first_line(exc.orig)}") from exc

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(ledger_writer=True)
                with conn.begin():
                    if self.dialect == "postgresql":
                        conn.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_ID)))
                    yield conn
        except DatabaseError as exc:  # also a refusal by the append-only triggers
            raise StoreError(f"database error on {self.display_url}: {_first_line(exc.orig)}") from exc

    # --- reads ------------------------------------------------------------------------------------------
    def head(self, conn: Connection) -> Head:
        row = conn.execute(
            select(entries.c.seq, entries.c.hash, entries.c.time).order_by(entries.c.seq.desc()).limit(1)
        ).first()
        if row is None:
            return Head(0, None, None)
        return Head(int(row.seq), bytes(row.hash), str(row.time))

    def count(self, conn: Connection) -> int:
        return int(conn.execute(select(func.count()).select_from(entries)).scalar_one())

    def latest_checkpoint(self, conn: Connection) -> StoredCheckpoint | None:
        row = conn.execute(select(checkpoints).order_by(checkpoints.c.size.desc()).limit(1)).first()
        return None if row is None else _checkpoint(row)

    def checkpoint_at(self, conn: Connection, size: int) -> StoredCheckpoint | None:
        row = conn.execute(select(checkpoints).where(checkpoints.c.size == size)).first()
        return None if row is None else _checkpoint(row)

    def all_checkpoints(self, conn: Connection) -> list[StoredCheckpoint]:
        return [_checkpoint(r) for r in conn.execute(select(checkpoints).order_by(checkpoints.c.size))]

    def raw_entry(self, conn: Connection, seq: int) -> bytes | None:
        row = conn.execute(select(entries.c.raw).where(entries.c.seq == seq)).first()
        return None if row is None else bytes(row.raw)

    def seqs_of(self, conn: Connection, kinds: Sequence[str], until: int) -> list[tuple[int, str]]:
        """(seq, kind) of the entries of `kinds` up to `until`, in seq order, from the kind index alone."""
        query = (
            select(entries.c.seq, entries.c.kind)
            .where(entries.c.kind.in_(list(kinds)), entries.c.seq <= until)
            .order_by(entries.c.seq)
        )
        return [(int(seq), str(kind)) for seq, kind in conn.execute(query)]

    def raw_entries(self, conn: Connection, seqs: Sequence[int]) -> dict[int, bytes]:
        """The stored bytes of `seqs` (those the table holds). Wanted seqs mostly come in runs (a program's
        patents, a quarter's reports): a run is read as a range, the scattered rest by IN lists."""
        out: dict[int, bytes] = {}
        singles: list[int] = []
        ranges: list[tuple[int, int]] = []
        for first, last in _runs(sorted(set(seqs))):
            if last - first + 1 >= RUN_AS_RANGE:
                ranges.append((first, last))
            else:
                singles.extend(range(first, last + 1))
        # Spelled directly, as the node reads are: a bundle's thousands of scattered seqs would otherwise
        # pass through SQLAlchemy's expanding parameters and per-row result processing.
        head = f"SELECT seq, raw FROM {entries.name} WHERE "
        queries: list[tuple[str, tuple[Any, ...]]] = []
        if self.dialect == "sqlite":
            for i in range(0, len(singles), 1000):
                chunk = singles[i : i + 1000]
                queries.append((head + f"seq IN ({','.join('?' * len(chunk))})", tuple(chunk)))
            between = "seq BETWEEN ? AND ?"
        else:
            if singles:
                queries.append((head + "seq = ANY(%s)", (singles,)))
            between = "seq BETWEEN %s AND %s"
        for i in range(0, len(ranges), 100):
            chunk_ranges = ranges[i : i + 100]
            terms = " OR ".join([between] * len(chunk_ranges))
            queries.append((head + terms, tuple(v for pair in chunk_ranges for v in pair)))
        for query, params in queries:
            for seq, raw in conn.exec_driver_sql(query, params):
                out[int(seq)] = bytes(raw)
        return out

    def iter_raw(
        self,
        conn: Connection,
        since: int = 1,
        until: int | None = None,
        kinds: Sequence[str] | None = None,
        batch: int = 5000,
    ) -> Iterator[tuple[int, bytes]]:
        """Stream entries in seq order, never the whole table in memory."""
        for seq, _kind, raw in self.iter_entries(conn, since, until, kinds, batch):
            yield seq, raw

    def iter_entries(
        self,
        conn: Connection,
        since: int = 1,
        until: int | None = None,
        kinds: Sequence[str] | None = None,
        batch: int = 5000,
        needles: Mapping[str, bytes] | None = None,
        columns: bool = False,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream (seq, kind, raw) in seq order by keyset pages (with `columns`, (seq, kind, raw, prev,
        hash, author, time): the index columns too, read with the page's sizes at little cost).

        Each page first reads sizes, then the bytes in slices of at most PAGE_BYTES, so a few very large
        entries (allocations) never fill memory. On PostgreSQL a row of a kind in `needles` is read only if
        the database finds that kind's needle in its bytes (a skipped allocation body never leaves the
        server); callers check the needle on the bytes they get either way."""
        after = since - 1
        kind_filter = self._kind_filter(conn, kinds, since, until) if kinds else None
        while True:
            heads = self._entry_heads(conn, after, until, kind_filter, batch, columns)
            wanted = [(int(head[0]), str(head[1]), int(head[2])) for head in heads]
            extra: dict[int, tuple[Any, ...]] = {int(h[0]): tuple(h[3:]) for h in heads} if columns else {}
            if needles:
                wanted = self._with_needles(conn, wanted, needles)
            for chunk in _byte_slices(wanted):
                where: ColumnElement[bool]
                if kinds or needles:
                    where = entries.c.seq.in_([c[0] for c in chunk])
                else:  # every row of the range: a range scan is cheaper than a list of seqs
                    where = (entries.c.seq >= chunk[0][0]) & (entries.c.seq <= chunk[-1][0])
                raws = {
                    int(s): bytes(r)
                    for s, r in conn.execute(select(entries.c.seq, entries.c.raw).where(where))
                }
                for seq, kind, _n in chunk:
                    if columns:
                        yield (seq, kind, raws[seq], *extra[seq])
                    else:
                        yield seq, kind, raws[seq]
            if len(heads) < batch:
                return
            after = int(heads[-1][0])

    def _entry_heads(
        self,
        conn: Connection,
        after: int,
        until: int | None,
        kind_filter: ColumnElement[bool] | None,
        batch: int,
        columns: bool,
    ) -> Sequence[Sequence[Any]]:
        """One keyset page of (seq, kind, size[, prev, hash, author, time]) after seq `after`."""
        query = select(entries.c.seq, entries.c.kind, func.length(entries.c.raw))
        if columns:
            query = query.add_columns(entries.c.prev, entries.c.hash, entries.c.author, entries.c.time)
        if after > 0:
            # Not on the first page: with a kinds filter, PostgreSQL would AND a bitmap of the whole
            # primary key (`seq > 0`, every row) with the kind index's few rows (cost: bench/README.md).
            query = query.where(entries.c.seq > after)
        if until is not None:
            query = query.where(entries.c.seq <= until)
        if kind_filter is not None:
            query = query.where(kind_filter)
        return conn.execute(query.order_by(entries.c.seq).limit(batch)).all()

    def _kind_filter(
        self, conn: Connection, kinds: Sequence[str], since: int, until: int | None
    ) -> ColumnElement[bool]:
        """The kinds condition of a keyset page. SQLite keeps no statistics and always pages through the kind
        index, sorting every matching row after the page's start by seq for each page: for a kind that is
        most of the ledger (`patent.add` in a large pool) that is a sort of most of the table per page. When
        the kinds hold more than one row in eight of the range, the condition is spelled so that SQLite
        cannot use the kind index (`kind || ''`) and walks the primary key in seq order instead; sparse kinds
        keep the index (a walk would pass over the whole range to find them). Figures: bench/README.md.
        PostgreSQL's planner makes this choice itself from its statistics."""
        plain = entries.c.kind.in_(list(kinds))
        if self.dialect != "sqlite":
            return plain
        span = select(func.count()).where(plain, entries.c.seq >= since)
        last = select(func.max(entries.c.seq))
        if until is not None:
            span = span.where(entries.c.seq <= until)
        matching = int(conn.execute(span).scalar_one())
        top = until if until is not None else int(conn.execute(last).scalar() or 0)
        if matching * 8 > max(top - since + 1, 0):
            return entries.c.kind.concat("").in_(list(kinds))
        return plain

    def iter_columns(
        self, conn: Connection, batch: int = 5000
    ) -> Iterator[tuple[int, bytes, bytes, str, str, str]]:
        """Stream every entry's side columns (seq, prev, hash, kind, author, time) in seq order: `verify`
        compares them with the entry's bytes, since the kind index chooses what partial replays read and
        the head's hash is what the next entry chains to."""
        cols = (
            entries.c.seq,
            entries.c.prev,
            entries.c.hash,
            entries.c.kind,
            entries.c.author,
            entries.c.time,
        )
        after = 0
        while True:
            page = conn.execute(
                select(*cols).where(entries.c.seq > after).order_by(entries.c.seq).limit(batch)
            )
            rows = [(int(a), bytes(b), bytes(c), str(d), str(e), str(f)) for a, b, c, d, e, f in page]
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def trigger_problems(self, conn: Connection) -> list[str]:
        """What is wrong with the append-only triggers (ledger.triggers): missing, disabled or changed.
        They only stop mistakes, but one gone means someone with database access took it away."""
        from ledger import triggers

        wanted = triggers.expected(self.dialect)
        problems = []
        if self.dialect == "sqlite":
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
            present = {str(name): str(sql) for name, sql in rows}
            for name, sql in wanted.items():
                if name not in present:
                    problems.append(f"the append-only trigger {name} is missing")
                elif not triggers.same_sql(present[name], sql):
                    problems.append(f"the append-only trigger {name} was changed")
        else:
            query = text(
                "SELECT tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
                "('ledger_entries'::regclass, 'ledger_checkpoints'::regclass, "
                "'ledger_cosignatures'::regclass)"
            )
            present = {str(name): str(enabled) for name, enabled in conn.execute(query)}
            for name in wanted:
                if name not in present:
                    problems.append(f"the append-only trigger {name} is missing")
                elif present[name] == "D":
                    problems.append(f"the append-only trigger {name} is disabled")
        if problems:
            problems = [
                f"{'; '.join(problems)}: the ledger's tables accept edits and deletions, so the database was "
                "changed outside patentpool (restore the triggers with the migrations)"
            ]
        return problems

    def checkpoint_sizes(self, conn: Connection) -> list[int]:
        return [
            int(size) for (size,) in conn.execute(select(checkpoints.c.size).order_by(checkpoints.c.size))
        ]

    def iter_nodes(self, conn: Connection, batch: int = 20000) -> Iterator[tuple[int, int, bytes]]:
        """Stream every stored node (level, idx, hash) in (level, idx) order, a keyset page at a time."""
        levels = sorted(int(level) for (level,) in conn.execute(select(nodes.c.level).distinct()))
        for level in levels:
            after = -1
            while True:
                query = (
                    select(nodes.c.idx, nodes.c.hash)
                    .where(nodes.c.level == level, nodes.c.idx > after)
                    .order_by(nodes.c.idx)
                    .limit(batch)
                )
                page = [(int(idx), bytes(h)) for idx, h in conn.execute(query)]
                for idx, h in page:
                    yield level, idx, h
                if len(page) < batch:
                    break
                after = page[-1][0]

    def node_page(self, conn: Connection, level: int, start: int, count: int) -> dict[int, bytes]:
        """Stored nodes of one level with index in [start, start + count)."""
        query = select(nodes.c.idx, nodes.c.hash).where(
            nodes.c.level == level, nodes.c.idx >= start, nodes.c.idx < start + count
        )
        return {int(idx): bytes(h) for idx, h in conn.execute(query)}

    def nodes_beyond(self, conn: Connection, size: int) -> int:
        """How many stored nodes lie outside the tree of `size` leaves (a level holds indices below
        size >> level): counted level by level, so a missing node cannot hide an extra one."""
        levels = [int(level) for (level,) in conn.execute(select(nodes.c.level).distinct())]
        total = 0
        for level in levels:
            query = select(func.count()).where(nodes.c.level == level, nodes.c.idx >= size >> level)
            total += int(conn.execute(query).scalar_one())
        return total

    def _with_needles(
        self, conn: Connection, rows: list[tuple[int, str, int]], needles: Mapping[str, bytes]
    ) -> list[tuple[int, str, int]]:
        # PostgreSQL finds a needle in its (compressed, out-of-line) values faster than it ships them
        # (bench/README.md). SQLite ships its bytes faster than instr() reads overflow pages, so there only
        # rows that fit in a page are searched by the database (many small payments or members, of which a
        # party's read wants one); the caller's check on the bytes does the rest (see
        # `patentpool.service.replay`).
        searched = [
            row for row in rows if row[1] in needles and (self.dialect != "sqlite" or row[2] <= SMALL_ROW)
        ]
        found: set[int] = set()
        for kind, needle in needles.items():
            seqs = [seq for seq, k, _n in searched if k == kind]
            for i in range(0, len(seqs), 1000):
                query = select(entries.c.seq).where(
                    entries.c.seq.in_(seqs[i : i + 1000]), self._holds(needle)
                )
                found.update(int(seq) for (seq,) in conn.execute(query))
        skipped = {row[0] for row in searched} - found
        return [row for row in rows if row[0] not in skipped]

    def seqs_after(
        self,
        conn: Connection,
        since: int,
        kinds: Sequence[str],
        needle: bytes | None = None,
        limit: int | None = None,
        subjects: Sequence[str] | None = None,
    ) -> list[int]:
        """Seqs after `since` of `kinds` (whose bytes hold `needle`, if given), found by the database from the
        kind index: a caller asking whether anything of a kind was appended reads no entry's bytes. With
        `limit`, at most that many of them, not necessarily the first (an existence check). With
        `subjects`, only entries of those subjects, or of no known subject whose bytes hold `needle`: the
        (kind, subject, seq) index answers for every entry stored with its subject."""
        query = select(entries.c.seq).where(entries.c.seq > since, entries.c.kind.in_(list(kinds)))
        if subjects is None:
            if needle is not None:
                query = query.where(self._holds(needle))
            return self._seqs(conn, query, limit)
        named = self._seqs(conn, query.where(entries.c.subject.in_(list(subjects))), limit)
        unknown = query.where(entries.c.subject.is_(None))
        if needle is not None:
            unknown = unknown.where(self._holds(needle))
        return sorted({*named, *self._seqs(conn, unknown, limit)})[:limit]

    def _holds(self, needle: bytes) -> Any:
        found = (
            func.instr(entries.c.raw, literal(needle, LargeBinary))
            if self.dialect == "sqlite"
            else func.position(literal(needle, LargeBinary).op("IN")(entries.c.raw))
        )
        return found > 0

    @staticmethod
    def _seqs(conn: Connection, query: Any, limit: int | None) -> list[int]:
        # With a limit (a caller asking whether any exists) the rows come in no order: ORDER BY seq LIMIT 1
        # makes PostgreSQL walk the primary key from `since` through every later row when none matches
        # (bench/README.md), where the kind index answers at once.
        if limit is not None:
            return sorted(int(seq) for (seq,) in conn.execute(query.limit(limit)))
        return [int(seq) for (seq,) in conn.execute(query.order_by(entries.c.seq))]

    def subjects_of(self, conn: Connection, kind: str) -> list[str]:
        """The distinct subjects stored with entries of `kind` (from the index alone)."""
        query = select(entries.c.subject).where(entries.c.kind == kind, entries.c.subject.is_not(None))
        return sorted({str(subject) for (subject,) in conn.execute(query.distinct())})

    def subjects(self, conn: Connection) -> Iterator[tuple[int, str]]:
        """(seq, subject) of every entry stored with a subject, in seq order (for `verify`, and for a writer's
        replay, which appends on the same connection: so read in keyset pages, no cursor left open)."""
        after = 0
        while True:
            query = (
                select(entries.c.seq, entries.c.subject)
                .where(entries.c.subject.is_not(None), entries.c.seq > after)
                .order_by(entries.c.seq)
                .limit(10_000)
            )
            page = conn.execute(query).all()
            for seq, subject in page:
                yield int(seq), str(subject)
            if len(page) < 10_000:
                return
            after = int(page[-1][0])

    def nodes(self, conn: Connection) -> DbNodes:
        return DbNodes(conn)

    # --- writes -----------------------------------------------------------------------------------------
    def insert_entries(
        self, conn: Connection, rows: Sequence[tuple[int, bytes, bytes, str, str, str, bytes, str | None]]
    ) -> None:
        """Rows of (seq, prev, hash, kind, author, time, raw, subject), in seq order."""
        columns = ("seq", "prev", "hash", "kind", "author", "time", "raw", "subject")
        self._executemany(conn, entries, columns, rows, 2000)

    def insert_nodes(self, conn: Connection, new: Sequence[tuple[int, int, bytes]]) -> None:
        """Rows of (level, idx, hash)."""
        self._executemany(conn, nodes, ("level", "idx", "hash"), new, 5000)

    @staticmethod
    def _executemany(
        conn: Connection, table: Table, columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]], chunk: int
    ) -> None:
        # Straight to the driver's executemany: the values are already the driver's types (int, str, bytes),
        # and SQLAlchemy's per-value bind processing was a large share of a bulk import (bench/README.md).
        # Chunks bound the memory of one round trip.
        if conn.dialect.name == "postgresql":
            # COPY streams the rows in one protocol exchange rather than a round trip per batch; the
            # BEFORE INSERT trigger still checks every row, and the transaction is the command's.
            driver = conn.connection.driver_connection
            import psycopg

            sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
            try:
                with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                    for row in rows:
                        copy.write_row(row)
            except psycopg.Error as exc:  # not wrapped by SQLAlchemy on this path
                raise StoreError(f"the database refused the new rows of {table.name}: {exc}") from exc
            return
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[conn.dialect.paramstyle]
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
        for i in range(0, len(rows), chunk):
            conn.exec_driver_sql(sql, list(rows[i : i + chunk]))

    def insert_checkpoint(self, conn: Connection, cp: StoredCheckpoint) -> None:
        conn.execute(insert(checkpoints).values(size=cp.size, root=cp.root, note=cp.note, created=cp.created))

    # --- cosignatures -----------------------------------------------------------------------------------
    def insert_cosignature(self, conn: Connection, cosig: StoredCosignature) -> None:
        values = {f: getattr(cosig, f) for f in ("size", "cosigner", "timestamp", "vkey", "line", "created")}
        conn.execute(insert(cosignatures).values(**values))

    def cosignatures(self, conn: Connection, until: int | None = None) -> list[StoredCosignature]:
        """Stored cosignatures (of checkpoints up to size `until`), by size, cosigner and time."""
        query = select(cosignatures)
        if until is not None:
            query = query.where(cosignatures.c.size <= until)
        order = (cosignatures.c.size, cosignatures.c.cosigner, cosignatures.c.timestamp)
        return [
            StoredCosignature(
                int(r.size), str(r.cosigner), int(r.timestamp), str(r.vkey), str(r.line), str(r.created)
            )
            for r in conn.execute(query.order_by(*order))
        ]


@dataclass(frozen=True)
class StoredCosignature:
    """A witness's cosignature line of the checkpoint of `size`, as stored (checked before it was)."""

    size: int
    cosigner: str  # <name>+<8 hex key id>
    timestamp: int
    vkey: str
    line: str
    created: str


def _first_line(error: BaseException | None) -> str:
    return str(error).strip().split("\n", 1)[0]


def _checkpoint(row: Any) -> StoredCheckpoint:
    return StoredCheckpoint(int(row.size), bytes(row.root), str(row.note), str(row.created))


class DbNodes:
    """A merkle.NodeSource over the nodes table: one query per batch of nodes."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get_nodes(self, wanted: Sequence[merkle.Node]) -> dict[merkle.Node, bytes]:
        out: dict[merkle.Node, bytes] = {}
        keys = sorted(set(wanted))
        by_level: dict[int, list[int]] = {}
        for level, idx in keys:
            by_level.setdefault(level, []).append(idx)
        if self.conn.dialect.name != "sqlite":
            # One query, each level's indices as one array parameter (`idx = ANY(...)`, an index probe per
            # value): a short statement of the same shape whatever the count, where a list of row values
            # was a long text to send and parse for every proof.
            terms = " OR ".join(["(level = %s AND idx = ANY(%s))"] * len(by_level))
            params = tuple(value for level, idxs in by_level.items() for value in (level, idxs))
            query = f"SELECT level, idx, hash FROM {nodes.name} WHERE {terms}"
            for level, idx, h in self.conn.exec_driver_sql(query, params):
                out[(int(level), int(idx))] = bytes(h)
        else:
            # One query for every level (SQLite probes the (level, idx) key once per value of each OR term),
            # per 5,000 nodes, spelled directly: a proof of a few leaves asks for nodes on every level, and
            # compiling a statement of a new shape would cost more than running it.
            batch: list[tuple[int, list[int]]] = []
            count = 0
            for level, idxs in by_level.items():
                for i in range(0, len(idxs), 5000):
                    batch.append((level, idxs[i : i + 5000]))
                    count += len(batch[-1][1])
                    if count >= 5000:
                        self._read_nodes(batch, out)
                        batch, count = [], 0
            if batch:
                self._read_nodes(batch, out)
        missing = [n for n in keys if n not in out]
        if missing:
            raise StoreError(f"Merkle node table is missing {len(missing)} node(s), e.g. {missing[0]}")
        return out

    def _read_nodes(self, batch: list[tuple[int, list[int]]], out: dict[merkle.Node, bytes]) -> None:
        terms = " OR ".join(f"(level = ? AND idx IN ({','.join('?' * len(idxs))}))" for _level, idxs in batch)
        params = tuple(value for level, idxs in batch for value in (level, *idxs))
        query = f"SELECT level, idx, hash FROM {nodes.name} WHERE {terms}"
        for level, idx, h in self.conn.exec_driver_sql(query, params):
            out[(int(level), int(idx))] = bytes(h)


# A run of at least this many wanted seqs is read as one range (beside the IN lists).
RUN_AS_RANGE = 16


def _runs(ordered: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive values in an ascending sequence."""
    start = 0
    for i in range(1, len(ordered) + 1):
        if i == len(ordered) or ordered[i] != ordered[i - 1] + 1:
            yield ordered[start], ordered[i - 1]
            start = i


def _byte_slices(wanted: Sequence[tuple[int, str, int]]) -> Iterator[Sequence[tuple[int, str, int]]]:
    """A page's (seq, kind, size) heads in runs of at most PAGE_BYTES (a larger entry alone), so a few
    very large entries never fill memory."""
    start = 0
    while start < len(wanted):
        end, size = start, 0
        while end < len(wanted) and (end == start or size + wanted[end][2] <= PAGE_BYTES):
            size += wanted[end][2]
            end += 1
        yield wanted[start:end]
        start = end
