"""The local engine's state: one SQLite database (WAL) plus files, under one folder.

Workspace layout (``<path>`` is what ``LocalEngine(path)`` was given)::

    <path>/state.sqlite3        resources, ledger of deleted ones, events, records, S3 index (WAL)
    <path>/artifacts/datasets/  imported data, one parquet snapshot per dataset
    <path>/artifacts/models/    trained models (``Model.save`` folders)
    <path>/s3/<bucket>/<key>    S3 twin objects, readable as plain files
    <path>/owners/<token>.lock  one lock file per open engine (liveness of its jobs)

Guarantees:

* Every change of state is a transaction (``BEGIN IMMEDIATE``), so two threads or
  two processes using one workspace serialize their writes; every thread has its
  own connection, and a busy database is waited for (30 s) rather than failed. An
  exception at any line (Ctrl-C included) rolls the transaction back: no connection
  is left inside one.
* Files are written under a temporary name carrying the writer's owner token and
  renamed into place before the transaction that records them commits, so a
  process killed at any point leaves either the old state or the new one; stray
  temporaries of dead owners are swept when a workspace is opened.
* Each open engine holds an exclusive lock on ``owners/<token>.lock`` for its
  lifetime; the kernel drops the lock when the process dies, even on SIGKILL. A row
  in a transitional status whose owner's lock is free was left by a dead process,
  and is recovered by the next engine (see ``personakit.local.control``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

import attrs

__all__ = ["DB_FILE", "TRANSITIONAL", "Owner", "Resource", "Store", "is_workspace"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = "1"
#: The database file of a workspace, under its folder.
DB_FILE = "state.sqlite3"
BUSY_TIMEOUT_S = 30.0

#: Statuses a resource passes through on its way somewhere (background work pending).
TRANSITIONAL: frozenset[str] = frozenset(
    {
        "CREATE PENDING",
        "CREATE IN_PROGRESS",
        "CREATE STOPPING",
        "DELETE PENDING",
        "DELETE IN_PROGRESS",
        "STOP PENDING",
        "STOP IN_PROGRESS",
        "START PENDING",
        "START IN_PROGRESS",
    }
)

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    arn TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT,
    sub_status TEXT,
    parent TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status_since REAL NOT NULL,
    body TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    failure_reason TEXT,
    owner TEXT,
    owner_pid INTEGER,
    owner_started REAL
);
CREATE INDEX IF NOT EXISTS resources_kind_parent ON resources (kind, parent);
CREATE INDEX IF NOT EXISTS resources_kind_created ON resources (kind, created);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset_group TEXT NOT NULL,
    tracker TEXT,
    user_id TEXT,
    session_id TEXT NOT NULL,
    item_id TEXT,
    event_type TEXT NOT NULL,
    event_value REAL,
    sent_at REAL NOT NULL,
    properties TEXT,
    recommendation_id TEXT,
    impression TEXT,
    event_id TEXT,
    received REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS events_group_user ON events (dataset_group, user_id);
CREATE INDEX IF NOT EXISTS events_group_session ON events (dataset_group, session_id);
CREATE TABLE IF NOT EXISTS records (
    dataset TEXT NOT NULL,
    record_id TEXT NOT NULL,
    properties TEXT NOT NULL,
    received REAL NOT NULL,
    PRIMARY KEY (dataset, record_id)
);
CREATE TABLE IF NOT EXISTS ledger (
    arn TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    deleted REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS s3_buckets (
    name TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS s3_objects (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    last_modified REAL NOT NULL,
    content_type TEXT,
    sse TEXT,
    kms_key TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID;
"""


def is_workspace(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder a local engine has used (it holds the database)."""
    return (Path(path).expanduser() / DB_FILE).is_file()


# --------------------------------------------------------------------------- owners


class Owner:
    """One open engine: a token, its pid and start time, and the lock proving it is alive."""

    def __init__(self, root: Path) -> None:
        self.token = uuid.uuid4().hex[:16]
        self.pid = os.getpid()
        self.started = time.time()
        self.folder = root / "owners"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / f"{self.token}.lock"
        self._fh: IO[bytes] | None = self.path.open("a+b")
        if not _try_lock(self._fh):  # pragma: no cover - a fresh random name
            raise RuntimeError(f"could not lock {self.path}")
        self._fh.write(json.dumps({"pid": self.pid, "started": self.started}).encode())
        self._fh.flush()

    def release(self) -> None:
        """Give up the lock: jobs still marked as ours are now recoverable by others."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        with suppress(OSError):
            self.path.unlink()
        _unlock(fh)
        fh.close()

    @staticmethod
    def alive(root: Path, token: str | None) -> bool:
        """Whether the engine with ``token`` still holds its lock (its process lives)."""
        if not token:
            return False
        path = root / "owners" / f"{token}.lock"
        if not path.exists():
            return False
        try:
            fh = path.open("a+b")
        except OSError:
            return False
        try:
            if _try_lock(fh):
                _unlock(fh)
                return False
            return True
        finally:
            fh.close()

    @staticmethod
    def sweep(root: Path) -> None:
        """Remove lock files of dead owners."""
        folder = root / "owners"
        if not folder.is_dir():
            return
        for path in folder.glob("*.lock"):
            if not Owner.alive(root, path.stem):
                with suppress(OSError):
                    path.unlink()


def _try_lock(fh: IO[bytes]) -> bool:
    try:
        import fcntl  # POSIX only: imported where it is used
    except ImportError:  # pragma: no cover - Windows
        import msvcrt  # Windows only

        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(fh: IO[bytes]) -> None:
    try:
        import fcntl  # POSIX only: imported where it is used
    except ImportError:  # pragma: no cover - Windows
        import msvcrt  # Windows only

        with suppress(OSError):
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    with suppress(OSError):
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# --------------------------------------------------------------------------- resources


def _json_dict(value: str | None) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(value) if value else {}
    return out


def _json_list(value: str | None) -> list[dict[str, str]]:
    out: list[dict[str, str]] = json.loads(value) if value else []
    return out


@attrs.define
class Resource:
    """One row of ``resources``: a Personalize resource of any kind."""

    arn: str
    kind: str
    name: str
    status: str | None
    parent: str | None
    created: float
    updated: float
    status_since: float
    body: dict[str, Any] = attrs.field(factory=dict)
    tags: list[dict[str, str]] = attrs.field(factory=list)
    failure_reason: str | None = None
    sub_status: str | None = None
    owner: str | None = None
    owner_pid: int | None = None
    owner_started: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Resource:
        return cls(
            arn=row["arn"],
            kind=row["kind"],
            name=row["name"],
            status=row["status"],
            parent=row["parent"],
            created=row["created"],
            updated=row["updated"],
            status_since=row["status_since"],
            body=_json_dict(row["body"]),
            tags=_json_list(row["tags"]),
            failure_reason=row["failure_reason"],
            sub_status=row["sub_status"],
            owner=row["owner"],
            owner_pid=row["owner_pid"],
            owner_started=row["owner_started"],
        )

    def values(self) -> dict[str, Any]:
        return {
            "arn": self.arn,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "parent": self.parent,
            "created": self.created,
            "updated": self.updated,
            "status_since": self.status_since,
            "body": json.dumps(self.body),
            "tags": json.dumps(self.tags),
            "failure_reason": self.failure_reason,
            "sub_status": self.sub_status,
            "owner": self.owner,
            "owner_pid": self.owner_pid,
            "owner_started": self.owner_started,
        }


_COLUMNS = (
    "arn",
    "kind",
    "name",
    "status",
    "parent",
    "created",
    "updated",
    "status_since",
    "body",
    "tags",
    "failure_reason",
    "sub_status",
    "owner",
    "owner_pid",
    "owner_started",
)


class _Connection(sqlite3.Connection):
    """A connection the store holds weakly: it closes when the thread that opened it ends.

    ``personakit serve`` answers each client connection on a thread of its own, so a
    store that kept every thread's connection would hold two more open files per
    client (the AWS CLI opens one per command) until it ran out of them.
    """


class Store:
    """SQLite (WAL) + files under one workspace folder; see the module docstring."""

    def __init__(self, root: Path | str, owner: Owner | None = None) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.db_path = self.root / DB_FILE
        self.artifacts = self.root / "artifacts"
        self.s3_root = self.root / "s3"
        for folder in (self.artifacts, self.s3_root):
            folder.mkdir(parents=True, exist_ok=True)
        self.owner = owner or Owner(self.root)
        self._local = threading.local()
        self._conns: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._conns_lock = threading.Lock()
        self._closed = False
        conn = self.conn()
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":  # pragma: no cover - e.g. a network filesystem
            logger.warning("SQLite refused WAL mode (%s) for %s", mode, self.db_path)
        self._create_tables()

    # ------------------------------------------------------------------ connections
    def _create_tables(self) -> None:
        # executescript would commit implicitly: run each statement in one transaction
        with self.tx() as c:
            for statement in _DDL.split(";"):
                if statement.strip():
                    c.execute(statement)
            c.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        if self._closed:
            raise RuntimeError(f"the local engine store at {self.root} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.db_path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
                factory=_Connection,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            self._local.depth = 0
            with self._conns_lock:
                self._conns.add(conn)
        return conn

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one."""
        conn = self.conn()
        depth: int = self._local.depth
        if depth:
            self._local.depth = depth + 1
            try:
                yield conn
            finally:
                self._local.depth = depth
            return
        if conn.in_transaction:  # left open by an interrupt at a bad moment: start clean
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            yield conn
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs seeing one consistent state."""
        conn = self.conn()
        if self._local.depth:
            yield conn
            return
        conn.execute("BEGIN")
        self._local.depth = 1
        try:
            yield conn
        finally:
            self._local.depth = 0
            with suppress(sqlite3.Error):
                conn.execute("COMMIT")

    def close(self) -> None:
        """Close every connection and release the owner lock."""
        if self._closed:
            return
        self._closed = True
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with suppress(sqlite3.Error):
                conn.close()
        self.owner.release()

    @property
    def closed(self) -> bool:
        return self._closed

    # ------------------------------------------------------------------ resources
    def get(self, arn: str) -> Resource | None:
        row = self.conn().execute("SELECT * FROM resources WHERE arn = ?", (arn,)).fetchone()
        return Resource.from_row(row) if row is not None else None

    def insert(self, res: Resource) -> None:
        """Insert a new resource; ``sqlite3.IntegrityError`` if the ARN exists."""
        values = res.values()
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self.tx() as c:
            c.execute(
                f"INSERT INTO resources ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
                [values[k] for k in _COLUMNS],
            )

    def save(self, res: Resource) -> None:
        """Write every column of ``res`` back (inside the caller's transaction, if any)."""
        values = res.values()
        sets = ", ".join(f"{k} = ?" for k in _COLUMNS if k != "arn")
        with self.tx() as c:
            c.execute(
                f"UPDATE resources SET {sets} WHERE arn = ?",
                [values[k] for k in _COLUMNS if k != "arn"] + [res.arn],
            )

    def delete(self, arn: str) -> None:
        """Delete ``arn``, keeping its lifetime and body in ``ledger`` (what a run used)."""
        with self.tx() as c:
            c.execute(
                "INSERT OR REPLACE INTO ledger (arn, kind, name, created, deleted, body) "
                "SELECT arn, kind, name, created, ?, body FROM resources WHERE arn = ?",
                (time.time(), arn),
            )
            c.execute("DELETE FROM resources WHERE arn = ?", (arn,))

    def find(
        self,
        kind: str | None = None,
        *,
        parent: str | None = None,
        statuses: Collection[str] | None = None,
    ) -> list[Resource]:
        """Resources of ``kind`` (under ``parent``, in ``statuses``), newest first."""
        clauses: list[str] = []
        values: list[Any] = []
        if kind is not None:
            clauses.append("kind = ?")
            values.append(kind)
        if parent is not None:
            clauses.append("parent = ?")
            values.append(parent)
        if statuses is not None:
            statuses = list(statuses)
            clauses.append(f"status IN ({', '.join('?' for _ in statuses)})")
            values.extend(statuses)
        sql = "SELECT * FROM resources"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY created DESC, rowid"
        return [Resource.from_row(r) for r in self.conn().execute(sql, values).fetchall()]

    def count(self, kind: str, *, statuses: Collection[str]) -> int:
        """How many resources of ``kind`` are in ``statuses``."""
        return len(self.find(kind, statuses=statuses))

    def transitional(self) -> list[Resource]:
        """Rows with background work pending (status or latest update in a transitional state)."""
        marks = ", ".join("?" for _ in TRANSITIONAL)
        rows = self.conn().execute(
            f"SELECT * FROM resources WHERE status IN ({marks}) OR sub_status IN ({marks})",
            [*TRANSITIONAL, *TRANSITIONAL],
        )
        return [Resource.from_row(r) for r in rows.fetchall()]

    # ------------------------------------------------------------------ events (PutEvents)
    def add_events(self, rows: Iterable[Mapping[str, Any]]) -> None:
        cols = (
            "dataset_group",
            "tracker",
            "user_id",
            "session_id",
            "item_id",
            "event_type",
            "event_value",
            "sent_at",
            "properties",
            "recommendation_id",
            "impression",
            "event_id",
            "received",
        )
        with self.tx() as c:
            c.executemany(
                f"INSERT INTO events ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
                [[row.get(k) for k in cols] for row in rows],
            )

    def events(
        self,
        group: str,
        *,
        after: int = 0,
        upto: int | None = None,
        user: str | None = None,
    ) -> list[sqlite3.Row]:
        """Recorded events of a dataset group (``after`` < id <= ``upto``), oldest first.

        With ``user``: that user's events, and anonymous events whose session id is
        ``user`` (Personalize accepts a session id as ``userId`` for anonymous users).
        """
        sql = "SELECT * FROM events WHERE dataset_group = ? AND id > ?"
        args: list[Any] = [group, after]
        if upto is not None:
            sql += " AND id <= ?"
            args.append(upto)
        if user is not None:
            sql += " AND (user_id = ? OR (user_id IS NULL AND session_id = ?))"
            args.extend([user, user])
        sql += " ORDER BY sent_at, id"
        return self.conn().execute(sql, args).fetchall()

    def last_event_id(self, group: str) -> int:
        row = (
            self.conn()
            .execute("SELECT MAX(id) FROM events WHERE dataset_group = ?", (group,))
            .fetchone()
        )
        return int(row[0] or 0)

    def event_items(self, group: str, *, upto: int | None = None) -> list[str]:
        """The distinct item ids of a dataset group's recorded events (``id <= upto``)."""
        sql = "SELECT DISTINCT item_id FROM events WHERE dataset_group = ? AND item_id IS NOT NULL"
        args: list[Any] = [group]
        if upto is not None:
            sql += " AND id <= ?"
            args.append(upto)
        return [str(row[0]) for row in self.conn().execute(sql, args) if row[0]]

    def event_items_after(
        self, group: str, after: int, *, upto: int | None = None
    ) -> tuple[set[str], int]:
        """The item ids of the events with ``after < id <= upto``, and the last such id
        (``after`` if there is none): what arrived since ``after``, read by id range."""
        # +dataset_group: walk the id range, not the (dataset_group, user_id) index
        sql = "SELECT MAX(id), item_id FROM events WHERE id > ? AND +dataset_group = ?"
        args: list[Any] = [after, group]
        if upto is not None:
            sql += " AND id <= ?"
            args.append(upto)
        sql += " GROUP BY item_id"
        rows = self.conn().execute(sql, args).fetchall()
        last = max((int(row[0]) for row in rows), default=after)
        return {str(row[1]) for row in rows if row[1]}, last

    # ------------------------------------------------------------------ records (PutItems/Users)
    def upsert_records(self, dataset: str, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        now = time.time()
        with self.tx() as c:
            c.executemany(
                "INSERT INTO records (dataset, record_id, properties, received) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (dataset, record_id) DO UPDATE SET properties = excluded.properties,"
                " received = excluded.received",
                [(dataset, rid, json.dumps(dict(props)), now) for rid, props in rows],
            )

    def records(self, dataset: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self.conn().execute(
            "SELECT record_id, properties FROM records WHERE dataset = ? ORDER BY received, rowid",
            (dataset,),
        )
        return [(r[0], json.loads(r[1])) for r in rows.fetchall()]

    # ------------------------------------------------------------------ files
    def tmp_path(self, final: Path) -> Path:
        """A temporary sibling of ``final`` owned by this engine (swept if we die)."""
        return final.with_name(f".{final.name}.tmp-{self.owner.token}-{uuid.uuid4().hex[:8]}")

    def write_bytes(self, final: Path, data: bytes) -> None:
        """Write ``data`` to ``final`` atomically (temporary file, fsync, rename)."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.tmp_path(final)
        try:
            with tmp.open("wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        finally:
            with suppress(OSError):
                tmp.unlink()

    def sweep_temporaries(self) -> None:
        """Remove temporary files and folders left by owners that are no longer alive."""
        alive: dict[str, bool] = {}
        for base in (self.artifacts, self.s3_root):
            for path in base.rglob(".*.tmp-*"):
                token = path.name.rsplit(".tmp-", 1)[-1].split("-", 1)[0]
                if token not in alive:
                    alive[token] = token == self.owner.token or Owner.alive(self.root, token)
                if alive[token]:
                    continue
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with suppress(OSError):
                        path.unlink()
