"""Keep users' records in one SQLite file (WAL mode), safe across threads and processes.

Tables: `users` (the profile document of each user), `devices` (one playback record per
user and device), `runs` (one record per run, indexed by user and start), `months`
(folded months) and `persons` (the person keys each account has, for `delete_account`).
A save is one transaction under SQLite's write lock (`BEGIN IMMEDIATE`):
every record it touches is read, merged with the injected `Rules` and written, so writers
queue up instead of overwriting each other, and a run record is written only if the merge
changed it. Threads of one process first queue on one in-process lock per database file, so
they never contend inside SQLite, whose busy handler sleeps in steps of up to 100 ms; other
processes still queue on SQLite's lock. The threads of one adapter share its connection, one
statement or transaction at a time: its page cache then stays valid from request to request
(SQLite empties a connection's cache whenever another connection has written), which with a
connection per thread made every read and write of a busy server cost about twice as much CPU.
What SQLite costs a busy server is thread switches, not SQL: with the store in memory the
server's CPU per request is the hello-world baseline's, while one thread spends only about
0.05 ms per request here. Fewer GIL releases (a third fewer statements, rows and columns)
changed neither the switches nor the CPU; a second connection for reads, or one per thread,
added switches. It grows with the worker threads: `bench/bench_http.py --threads 1` gives
about 0.8 of the hello-world skill's throughput, 8 threads about 0.63, while in one thread a
request takes 0.29 ms of app time against hello-world's 0.23. A lock around the whole
dispatch, a read connection per thread and a (process-local, so unsafe) cache of loads each
left 8 threads far from one.

Nothing lost: a save the database refuses (locked past the busy timeout, disk full) goes
into a journal, a file of `JOURNAL_BYTES` reserved when the adapter opens, so appending to
it needs no new disk space. The next request replays it before it reads; the merge rules are
idempotent, so replaying twice, or after the save went through after all, changes nothing.
The WAL is checkpointed every `WAL_PAGES_ROOMY` pages (SQLite's default) while the disk has
`ROOMY_BYTES` free, and every `WAL_PAGES` pages once it has less, truncated to `WAL_LIMIT`
bytes, so a nearly full disk keeps taking writes with kilobytes free while a roomy one does
not pay a checkpoint (and its fsyncs) every few saves. Free space is looked up (one statvfs)
before every write. On "disk full" the adapter checkpoints and tries once more before it
journals.
"""

from __future__ import annotations

import fcntl
import json
import logging
import mmap
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from skill.storage import JOURNAL_FILE_NAME, CorruptRecordError, StorageUnavailableError
from skill.storage.records import (
    Changes,
    Document,
    Rules,
    RunWrite,
    Snapshot,
    progress_rules,
    require_document,
    require_user_id,
    runs_kept_open,
    whole_view,
)

logger = logging.getLogger("trigger_coach.storage")
T = TypeVar("T")

JOURNAL_BYTES = 256 * 1024  # a few hundred failed saves; reserved up front
RETRY_BUDGET = 2.0  # seconds a save that ends a run keeps retrying before it is journaled
REPLAY_WAIT = 0.05  # seconds a replay of the journal waits for the write lock (each request tries)
WAL_PAGES = 16  # on a nearly full disk, checkpoint after this many pages (64 KB with 4 KB pages)
WAL_PAGES_ROOMY = 1000  # with room to spare, SQLite's default: a checkpoint per 4 MB of WAL
ROOMY_BYTES = 64 * 1024 * 1024  # free disk space below which the WAL is kept to WAL_PAGES
SPACE_CHECK_SECONDS = 1.0  # how long a "roomy" look at the free space is trusted
WAL_LIMIT = 64 * 1024  # and truncate the WAL back to this size after each checkpoint

# One write lock per database file, shared by every adapter of this process. Threads queue on
# it and are woken the moment the writer before them commits; without it they contend inside
# SQLite, whose busy handler sleeps in steps of up to 100 ms. Other processes still queue on
# SQLite's own lock (BEGIN IMMEDIATE), taken only while this one is held.
_WRITE_LOCKS: dict[str, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    """Return this process's write lock of the database file at ``path``."""
    key = os.path.realpath(path)
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())

# Forward migrations: entry N-1 brings the schema to version N. Never edit a released entry;
# append a new one.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE users ("
        " user_id TEXT PRIMARY KEY,"
        " doc TEXT NOT NULL,"
        " rev INTEGER NOT NULL,"
        " updated_at TEXT NOT NULL)",
    ),
    (
        "CREATE TABLE devices ("
        " user_id TEXT NOT NULL, device_id TEXT NOT NULL, doc TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, PRIMARY KEY (user_id, device_id)) WITHOUT ROWID",
        "CREATE TABLE runs ("
        " user_id TEXT NOT NULL, run_id TEXT NOT NULL, started_at TEXT NOT NULL,"
        " device_id TEXT, epoch INTEGER NOT NULL, open INTEGER NOT NULL, doc TEXT NOT NULL,"
        " updated_at TEXT NOT NULL, PRIMARY KEY (user_id, run_id))",
        "CREATE INDEX runs_by_start ON runs (user_id, epoch, started_at)",
        "CREATE INDEX runs_open ON runs (user_id, device_id) WHERE open = 1",
        "CREATE TABLE months ("
        " user_id TEXT NOT NULL, month TEXT NOT NULL, epoch INTEGER NOT NULL, doc TEXT NOT NULL,"
        " PRIMARY KEY (user_id, month)) WITHOUT ROWID",
    ),
    (
        "CREATE TABLE persons ("
        " user_id TEXT NOT NULL, person TEXT NOT NULL, PRIMARY KEY (user_id, person)) WITHOUT ROWID",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)

_UPSERT_USER = (
    "INSERT INTO users (user_id, doc, rev, updated_at) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET doc = excluded.doc, rev = users.rev + 1, updated_at = excluded.updated_at"
)
_UPSERT_DEVICE = (
    "INSERT INTO devices (user_id, device_id, doc, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user_id, device_id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at"
)
_UPSERT_RUN = (
    "INSERT INTO runs (user_id, run_id, started_at, device_id, epoch, open, doc, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, run_id) DO UPDATE SET "
    "started_at = excluded.started_at, device_id = COALESCE(excluded.device_id, runs.device_id), "
    "epoch = excluded.epoch, open = excluded.open, doc = excluded.doc, updated_at = excluded.updated_at"
)
_UPDATE_RUN_DOC = "UPDATE runs SET doc = ?, updated_at = ? WHERE user_id = ? AND run_id = ?"
# What a request loads, in one statement (one read transaction): the owner's profile (the row
# without a device) and every device record of the account.
_LOAD = (
    "SELECT NULL, doc FROM users WHERE user_id = ?1 "
    "UNION ALL SELECT device_id, doc FROM devices WHERE user_id = ?2"
)
_ADD_PERSON = "INSERT OR IGNORE INTO persons (user_id, person) VALUES (?, ?)"
_TABLES = ("users", "devices", "runs", "months")  # the tables a user's records live in
_UPSERT_MONTH = (
    "INSERT INTO months (user_id, month, epoch, doc) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user_id, month) DO UPDATE SET epoch = excluded.epoch, doc = excluded.doc"
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _encode(doc: Document) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)  # one decoder, not one per read


def _decode(user_id: str, text: object) -> Document:
    try:
        if not isinstance(text, str):
            raise ValueError(f"expected JSON text, found {type(text).__name__}")
        doc = _DECODER.decode(text)
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, found {type(doc).__name__}")
    except ValueError as error:
        logger.error("Unreadable document for user %r: %s", user_id, error)
        raise CorruptRecordError(user_id, str(error)) from error
    return doc


class Journal:
    """Keep failed saves in a preallocated append-only file until the database takes them.

    The file is `size` bytes of zeros, reserved when it is opened; entries are JSON lines
    written over the zeros from the front and synced to disk, so an append needs no new disk
    space. A line torn by a crash (no newline) is ignored. An advisory lock on the file keeps
    processes sharing it from overwriting each other's entries.
    """

    def __init__(self, path: Path, size: int = JOURNAL_BYTES) -> None:
        self.path, self.size = path, size
        self._lock = threading.Lock()
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.posix_fallocate(self._fd, 0, size)
        # Every request asks `pending`; a shared read-only map of the first page answers it
        # without a system call, and sees other processes' appends as they land.
        self._head = mmap.mmap(self._fd, 1, mmap.MAP_SHARED, mmap.PROT_READ)

    def pending(self) -> bool:
        """Return whether any entry waits to be replayed (one byte of the mapped file)."""
        return self._head[0] != 0

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _used(self) -> bytes:
        data = os.pread(self._fd, self.size, 0)
        end = data.find(b"\0")
        data = data if end < 0 else data[:end]
        return data[: data.rfind(b"\n") + 1]  # drop a torn last line

    def append(self, entry: Document, room: int | None = None) -> bool:
        """Add one entry durably; return False if the reserved space (or the first ``room`` bytes of it) is used up."""
        line = (json.dumps(entry, ensure_ascii=True, separators=(",", ":")) + "\n").encode()
        with self._locked():
            used = self._used()
            if len(used) + len(line) > (self.size if room is None else min(room, self.size)):
                return False
            os.pwrite(self._fd, line, len(used))
            os.fsync(self._fd)
        return True

    def replay(self, apply: Callable[[Document], None]) -> int:
        """Apply every entry in order, then clear them; return how many were applied.

        An entry that fails stops the replay and everything stays for the next try (the
        rules are idempotent, so entries applied before it are harmless to apply again).
        """
        with self._locked():
            used = self._used()
            entries = []
            for line in used.splitlines():
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    logger.error("Skipping an unreadable journal line in %s: %r", self.path, line[:120])
            for entry in entries:
                apply(entry)
            whole = os.pread(self._fd, self.size, 0).find(b"\0")
            os.pwrite(self._fd, b"\0" * (self.size if whole < 0 else whole), 0)
            os.fsync(self._fd)
        return len(entries)

    def close(self) -> None:
        """Close the file."""
        self._head.close()
        os.close(self._fd)


class SQLiteAdapter:
    """Persist users' records in one SQLite file; see the module docstring.

    Its threads share one connection, opened on first use, and take turns with it (`_use`): a
    transaction holds it from BEGIN to COMMIT, so no other thread's read ever sees, or joins,
    a transaction under way. ``synchronous=NORMAL`` keeps every commit atomic; a power cut may
    forget the last commits, never half of one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        rules: Rules | None = None,
        *,
        busy_timeout: float = 5.0,
        journal_path: str | os.PathLike[str] | None = None,
        journal_bytes: int = JOURNAL_BYTES,
        retry_budget: float = RETRY_BUDGET,
        roomy_bytes: int = ROOMY_BYTES,
        space_check_seconds: float = SPACE_CHECK_SECONDS,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.roomy_bytes, self.space_check_seconds = roomy_bytes, space_check_seconds
        self._space = (WAL_PAGES, 0.0)  # the last look at the free space: interval, when
        self.retry_budget = retry_budget
        self.rules = rules or progress_rules()
        # The connection, the process that opened it (it must not cross a fork) and its
        # checkpoint interval; `_use` guards them. Re-entrant: a transaction's work reads too.
        self._conn: sqlite3.Connection | None = None
        self._conn_pid = 0
        self._conn_file: tuple[int, int] | None = None  # (device, inode) of the file it has open
        self._wal_pages = WAL_PAGES
        self._conn_lock = threading.RLock()
        self._held = _Held(self)
        self._write_lock = _write_lock(self.path)
        self._migrate()
        journal = Path(journal_path) if journal_path else self.path.with_name(JOURNAL_FILE_NAME)
        with self._errors("open the journal"):
            self.journal = Journal(journal, journal_bytes)

    # Reading.

    def load(self, user_id: str, device_id: str, owner: str | None = None) -> Snapshot:
        """Return the profile of ``owner`` (default: the user) and the user's device records.

        A profile in the old whole-history format is split into records on this first touch
        (its playback state goes to ``device_id``, the device the user is using now).
        """
        require_user_id(user_id)
        self.replay()
        key = owner or user_id
        with self._errors(f"read the records of user {key!r}"), self._use() as conn:
            rows = conn.execute(_LOAD, (key, user_id)).fetchall()
        profile, devices = {}, {}
        for device, doc in rows:
            if device is None:
                profile = _decode(key, doc)
                if not self.rules.is_split(profile):
                    with self._errors(f"read the records of user {key!r}"):
                        return self._split_and_load(user_id, device_id, key)
            else:
                devices[device] = _decode(user_id, doc)
        return Snapshot(profile, devices)

    def _split_and_load(self, user_id: str, device_id: str, key: str) -> Snapshot:
        """Split an old whole-history profile of ``key`` (see `load`), then read the device records."""
        profile = self._split(key, device_id)
        with self._use() as conn:
            rows = conn.execute("SELECT device_id, doc FROM devices WHERE user_id = ?", (user_id,)).fetchall()
        return Snapshot(profile, {device: _decode(user_id, doc) for device, doc in rows})

    def runs_since(self, user_id: str, since: str, epoch: int) -> list[Document]:
        """Return the user's run records of this epoch that started at or after ``since``."""
        require_user_id(user_id)
        self.replay()
        with self._errors(f"read the runs of user {user_id!r}"), self._use() as conn:
            rows = conn.execute(
                "SELECT doc FROM runs WHERE user_id = ? AND epoch = ? AND started_at >= ? ORDER BY started_at",
                (user_id, epoch, since),
            ).fetchall()
        return [_decode(user_id, doc) for (doc,) in rows]

    def months(self, user_id: str, epoch: int) -> dict[str, Document]:
        """Return the user's folded months of this epoch, by month."""
        with self._errors(f"read the months of user {user_id!r}"), self._use() as conn:
            rows = conn.execute(
                "SELECT month, doc FROM months WHERE user_id = ? AND epoch = ?", (user_id, epoch)).fetchall()
        return {month: _decode(user_id, doc) for month, doc in rows}

    def profile(self, user_id: str) -> Document:
        """Return the stored profile document of ``user_id``, or {} when there is none."""
        require_user_id(user_id)
        with self._errors(f"read the document of user {user_id!r}"), self._use() as conn:
            row = conn.execute("SELECT doc FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return {} if row is None else _decode(user_id, row[0])

    def get(self, user_id: str) -> Document:
        """Return all of a user's records as one document (see `records.whole_view`); for tools and tests."""
        profile = self.profile(user_id)
        if profile and not self.rules.is_split(profile):
            return profile  # not split yet: it is the old whole document
        epoch = profile.get("epoch", 0) if isinstance(profile.get("epoch", 0), int) else 0
        with self._errors(f"read the records of user {user_id!r}"), self._use() as conn:
            devices = {d: _decode(user_id, doc) for d, doc in conn.execute(
                "SELECT device_id, doc FROM devices WHERE user_id = ?", (user_id,)).fetchall()}
        return whole_view(profile, devices, self.runs_since(user_id, "", epoch), self.months(user_id, epoch),
                          self.rules)

    # Writing.

    def save(self, user_id: str, changes: Changes) -> str:
        """Write one request's changes in one transaction; return "saved" or "journaled".

        When the database refuses the write, a save that ends a run is retried, with jitter,
        for up to ``retry_budget`` seconds (Alexa does not resend events; its 8 s cover it);
        then the changes go into the journal (replayed by the next request) and "journaled" is
        returned. Only if the journal is full as well does it raise StorageUnavailableError.

        While older saves wait in the journal, a save goes behind them, in order. A save that
        only moves a run along (no run starts or ends, nothing paused or stopped, the profile
        unchanged) may fill only the first half of the journal: the next event's token proves that progress
        again (`skill.core.player.catch_up`), so on a long outage the rest stays for the starts
        and ends of runs, which nothing else records. Without this, a full disk filled the
        journal with the forty-odd saves of each routine and lost the runs completed after
        the seventh.
        """
        require_user_id(user_id)
        ends_run = any(not self.rules.is_open(write.record) for write in changes.runs)
        self.replay()
        if self.journal.pending():
            # Older saves still wait (the replay found the database busy): this one goes
            # behind them, or they would be replayed over it later.
            failure = StorageUnavailableError(
                f"Older saves in {self.journal.path} wait for the database; this one goes behind them.")
        else:
            failure = self._write_retried(user_id, changes, ends_run)
            if failure is None:
                return "saved"
        # A pause, a stop or a move (a device record not playing) is kept too: no later token
        # says where a run was paused.
        keep = (ends_run or changes.started or changes.profile is not None
                or any(device.get("activity") != "playing" for device in changes.devices.values()))
        room = None if keep else self.journal.size // 2
        if self.journal.append({"user_id": user_id, "changes": changes.to_json()}, room):
            logger.warning("Saved the changes of user %r to the journal %s: %s", user_id, self.journal.path, failure)
            return "journaled"
        raise failure

    def _write_retried(self, user_id: str, changes: Changes, ends_run: bool) -> StorageUnavailableError | None:
        """Write the changes; retry one that ends a run for up to ``retry_budget`` s. Return the failure, if any."""
        deadline = time.monotonic() + (self.retry_budget if ends_run else 0.0)
        attempt = 0
        while True:
            try:
                self._write(user_id, changes)
                return None
            except StorageUnavailableError as error:
                attempt += 1
                pause = random.uniform(0.02, min(0.5, 0.05 * 2**attempt))
                if time.monotonic() + pause >= deadline:
                    return error
                logger.warning("Retrying the save of user %r, which ends a run: %s", user_id, error)
                time.sleep(pause)

    def replay(self) -> int:
        """Write the journaled saves into the database, if there are any; return how many.

        Every request calls this while entries wait, so it waits for the database's write
        lock only `REPLAY_WAIT` seconds: while another writer holds it, each request would
        otherwise spend its busy timeout here before its own save. An entry the database
        refuses for a reason other than being unavailable (a value it cannot hold) is
        dropped, logged, so it cannot hold back every later entry.
        """
        if not self.journal.pending():
            return 0

        def apply(entry: Document) -> None:
            try:
                user_id, changes = str(entry["user_id"]), Changes.from_json(entry["changes"])
            except (KeyError, TypeError, ValueError) as error:
                logger.error("Dropping an unreadable journal entry in %s: %s", self.journal.path, error)
                return
            try:
                self._write(user_id, changes, wait=REPLAY_WAIT)
            except StorageUnavailableError:
                raise
            except (ValueError, sqlite3.Error) as error:  # UnicodeEncodeError, CorruptRecordError, ...
                logger.error("Dropping a journal entry of user %r that the database cannot take: %s",
                             user_id[:80], error)

        try:
            count = self.journal.replay(apply)
        except StorageUnavailableError as error:
            logger.warning("The journal %s waits for the database: %s", self.journal.path, error)
            return 0
        logger.info("Replayed %d journaled save(s) from %s.", count, self.journal.path)
        return count

    def update(self, user_id: str, fn: Callable[[Document], Document], account: str | None = None) -> Document:
        """Apply ``fn`` to the stored profile ({} if none) atomically and return the result.

        ``account``: the account ``user_id`` is a person of, which is noted for `delete_account`.
        """
        require_user_id(user_id)
        def work(conn: sqlite3.Connection) -> Document:
            row = conn.execute("SELECT doc FROM users WHERE user_id = ?", (user_id,)).fetchone()
            doc = require_document(fn({} if row is None else _decode(user_id, row[0])), user_id)
            conn.execute(_UPSERT_USER, (user_id, _encode(doc), _now()))
            if account is not None:
                conn.execute(_ADD_PERSON, (account, user_id))
            return doc

        return self._atomic(f"save the document of user {user_id!r}", work)

    def put_months(self, user_id: str, months: dict[str, Document], epoch: int) -> None:
        """Join folded months into storage (a month already stored is kept whole)."""
        self._atomic(f"save the months of user {user_id!r}",
                     lambda conn: self._put_months(conn, user_id, months, epoch))

    def fold(self, user_id: str, before: str, epoch: int, bucket: Callable[[list[Document]], Document]) -> str | None:
        """Fold the oldest month of runs started before ``before`` into a month record.

        One month per call, in one transaction: the runs of that month are replaced by
        ``bucket(runs)`` (a month already stored is kept whole: it counted them already).
        Return the month folded, or None when nothing is that old. Costs one indexed lookup
        when there is nothing to fold.
        """
        def work(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT started_at FROM runs WHERE user_id = ? AND epoch = ? AND started_at < ? "
                "ORDER BY started_at LIMIT 1", (user_id, epoch, before)).fetchone()
            if row is None:
                return None
            month = row[0][:7]
            low, high = f"{month}-", f"{month}-\uffff"
            runs = [_decode(user_id, doc) for (doc,) in conn.execute(
                "SELECT doc FROM runs WHERE user_id = ? AND epoch = ? AND started_at >= ? AND started_at < ?",
                (user_id, epoch, low, high))]
            self._put_months(conn, user_id, {month: bucket(runs)}, epoch)
            conn.execute("DELETE FROM runs WHERE user_id = ? AND epoch = ? AND started_at >= ? AND started_at < ?",
                         (user_id, epoch, low, high))
            return month

        with self._errors(f"read the oldest run of user {user_id!r}"), self._use() as conn:
            old = conn.execute(
                "SELECT 1 FROM runs WHERE user_id = ? AND epoch = ? AND started_at < ? LIMIT 1",
                (user_id, epoch, before)).fetchone()
        if old is None:
            return None  # the common case, decided without the write lock
        return self._atomic(f"fold the history of user {user_id!r}", work)

    def delete_history(self, user_id: str, before_epoch: int) -> None:
        """Delete the runs and months of epochs before ``before_epoch`` (after a forget)."""
        def work(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM runs WHERE user_id = ? AND epoch < ?", (user_id, before_epoch))
            conn.execute("DELETE FROM months WHERE user_id = ? AND epoch < ?", (user_id, before_epoch))

        self._atomic(f"forget the history of user {user_id!r}", work)

    def delete(self, user_id: str) -> None:
        """Delete every record of ``user_id``; deleting a missing one does nothing."""
        require_user_id(user_id)
        def work(conn: sqlite3.Connection) -> None:
            for table in _TABLES:
                conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))  # fixed table names

        self._atomic(f"delete the document of user {user_id!r}", work)

    def delete_account(self, user_id: str) -> int:
        """Delete everything stored for an account and each of its persons; return how many rows.

        Journaled saves are written first (so none of that user is left in the journal to
        come back later), then every row of the account and of its persons goes in one
        transaction. An account we never saw deletes nothing.
        """
        require_user_id(user_id)
        self.replay()

        def work(conn: sqlite3.Connection) -> int:
            keys = [user_id, *(p for (p,) in conn.execute("SELECT person FROM persons WHERE user_id = ?", (user_id,)))]
            deleted = 0
            for key in keys:
                for table in _TABLES:
                    deleted += conn.execute(f"DELETE FROM {table} WHERE user_id = ?", (key,)).rowcount  # fixed names
            return deleted + conn.execute("DELETE FROM persons WHERE user_id = ?", (user_id,)).rowcount

        return self._atomic(f"delete every record of user {user_id!r}", work)

    # Internals.

    def _write(self, user_id: str, changes: Changes, wait: float | None = None) -> None:
        rules, now = self.rules, _now()
        owner = changes.owner or user_id  # whose profile and runs these are; devices are the account's

        def work(conn: sqlite3.Connection) -> None:
            if changes.owner is not None and changes.new_owner:
                conn.execute(_ADD_PERSON, (user_id, changes.owner))
            if changes.profile is not None:
                row = conn.execute("SELECT doc FROM users WHERE user_id = ?", (owner,)).fetchone()
                stored = None if row is None else _decode(owner, row[0])
                doc = require_document(rules.profile(stored, changes.profile), owner)
                if doc != stored:
                    conn.execute(_UPSERT_USER, (owner, _encode(doc), now))
            for device_id, incoming in changes.devices.items():
                self._put_device(conn, user_id, device_id, incoming, now)
            for write in changes.runs:
                self._put_run(conn, owner, write, changes.epoch, now)
            if changes.started:
                self._close_others(conn, user_id, owner, changes.device_id, changes.now, now)

        self._atomic(f"save the records of user {user_id!r}", work, wait)

    def _put_device(self, conn: sqlite3.Connection, user_id: str, device_id: str, incoming: Document,
                    now: str) -> None:
        row = conn.execute("SELECT doc FROM devices WHERE user_id = ? AND device_id = ?",
                           (user_id, device_id)).fetchone()
        stored = None if row is None else _decode(user_id, row[0])
        keep = self.rules.device(stored, {**incoming, "updated_at": now})
        if keep is not stored:
            conn.execute(_UPSERT_DEVICE, (user_id, device_id, _encode(require_document(keep, user_id)), now))

    def _put_run(self, conn: sqlite3.Connection, user_id: str, write: RunWrite, epoch: int, now: str) -> None:
        record = require_document(write.record, user_id)
        row = conn.execute("SELECT doc, epoch, started_at, open, device_id FROM runs WHERE user_id = ? AND run_id = ?",
                           (user_id, record.get("run_id"))).fetchone()
        if row is not None and row[1] > epoch:
            return  # begun before "forget my history": it stays forgotten
        stored = None if row is None or row[1] < epoch else _decode(user_id, row[0])
        joined = record if stored is None else require_document(self.rules.run(stored, record), user_id)
        if joined == stored:
            return  # a record is written only when its run changed
        started, is_open = str(joined.get("started_at")), int(self.rules.is_open(joined))
        if stored is not None and (row[2], row[3]) == (started, is_open) and write.device_id in (None, row[4]):
            # Only the document changed (a run under way): leave the indexed columns, and so
            # both indexes, untouched.
            conn.execute(_UPDATE_RUN_DOC, (_encode(joined), now, user_id, joined["run_id"]))
            return
        conn.execute(_UPSERT_RUN, (
            user_id, joined["run_id"], started, write.device_id, epoch, is_open, _encode(joined), now,
        ))

    def _close_others(self, conn: sqlite3.Connection, user_id: str, owner: str, device_id: str,
                      moment: datetime, now: str) -> None:
        """End every in-progress run of ``owner`` on the device except the ones device records now play.

        That is the one this device's record plays, and any another device of the account
        plays or has paused (`runs_kept_open`).
        """
        records = {device: _decode(user_id, doc) for device, doc in conn.execute(
            "SELECT device_id, doc FROM devices WHERE user_id = ?", (user_id,))}
        keep = runs_kept_open(records, device_id)
        rows = conn.execute("SELECT run_id, doc FROM runs WHERE user_id = ? AND device_id = ? AND open = 1",
                            (owner, device_id)).fetchall()
        for run_id, doc in (row for row in rows if row[0] not in keep):
            closed = self.rules.close_run(_decode(owner, doc), moment)
            conn.execute("UPDATE runs SET doc = ?, open = ?, updated_at = ? WHERE user_id = ? AND run_id = ?",
                         (_encode(closed), int(self.rules.is_open(closed)), now, owner, run_id))

    def _put_months(self, conn: sqlite3.Connection, user_id: str, months: dict[str, Document], epoch: int) -> None:
        for month, bucket in months.items():
            row = conn.execute("SELECT doc, epoch FROM months WHERE user_id = ? AND month = ?",
                               (user_id, month)).fetchone()
            stored = None if row is None or row[1] != epoch else _decode(user_id, row[0])
            doc = bucket if stored is None else self.rules.month(stored, bucket)
            if doc != stored:
                conn.execute(_UPSERT_MONTH, (user_id, month, epoch, _encode(require_document(doc, user_id))))

    def _split(self, user_id: str, device_id: str) -> Document:
        """Split an old whole-history document into records, in one transaction."""
        def work(conn: sqlite3.Connection) -> tuple[Document, int, int]:
            row = conn.execute("SELECT doc FROM users WHERE user_id = ?", (user_id,)).fetchone()
            doc = _decode(user_id, row[0])
            if self.rules.is_split(doc):
                return doc, 0, 0  # another request split it meanwhile
            try:
                profile, playback, runs, months = self.rules.split(doc)
            except ValueError as error:
                logger.error("Cannot split the document of user %r: %s", user_id, error)
                raise CorruptRecordError(user_id, str(error)) from None
            epoch = profile.get("epoch", 0)
            now = _now()
            playing = playback.get("run_id") if playback else None
            for run in runs.values():
                if isinstance(run, dict) and isinstance(run.get("run_id"), str):
                    owner = device_id if run["run_id"] == playing else None
                    self._put_run(conn, user_id, RunWrite(run, owner), epoch, now)
            self._put_months(conn, user_id, months, epoch)
            if playback:
                self._put_device(conn, user_id, device_id, playback, now)
            conn.execute(_UPSERT_USER, (user_id, _encode(require_document(profile, user_id)), now))
            return profile, len(runs), len(months)

        profile, runs, months = self._atomic(f"split the document of user {user_id!r}", work)
        if runs or months:
            logger.info("Split the document of user %r into %d run and %d month records.", user_id, runs, months)
        return profile

    def _atomic(self, action: str, work: Callable[[sqlite3.Connection], T], wait: float | None = None) -> T:
        """Run ``work`` in one write transaction; on a full disk, checkpoint and run it once more.

        ``wait``: how long to wait for the write lock (in this process and in SQLite), if not
        the busy timeout.
        """
        patience = self.busy_timeout if wait is None else min(wait, self.busy_timeout)
        for attempt in (1, 2):
            if not self._write_lock.acquire(timeout=patience):
                raise StorageUnavailableError(self._busy(action, patience))
            try:
                with self._errors(action, patience), self._use() as conn:
                    self._fit_wal(conn)
                    if patience != self.busy_timeout:
                        conn.execute(f"PRAGMA busy_timeout = {int(patience * 1000)}")
                    try:
                        conn.execute("BEGIN IMMEDIATE")
                        try:
                            result = work(conn)
                            conn.execute("COMMIT")
                        except BaseException:
                            if conn.in_transaction:
                                conn.execute("ROLLBACK")
                            raise
                    finally:
                        if patience != self.busy_timeout:
                            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                return result
            except _DiskFull:
                if attempt == 2:
                    raise StorageUnavailableError(
                        f"Could not {action}: the disk of SQLite database '{self.path}' is full. "
                        "Nothing was written; free some disk space.") from None
                self._checkpoint()
            finally:
                self._write_lock.release()
        raise AssertionError("unreachable")

    def _free_space_pages(self) -> int:
        """Return the checkpoint interval the free space of the database's disk allows.

        The free space is looked up at most every ``space_check_seconds`` (a statvfs costs about
        as much as a small write), and always while it is short.
        """
        now = time.monotonic()
        pages, checked_at = self._space
        if pages == WAL_PAGES_ROOMY and now - checked_at < self.space_check_seconds:
            return pages
        try:
            stat = os.statvfs(self.path.parent)
        except OSError:
            pages = WAL_PAGES
        else:
            pages = WAL_PAGES_ROOMY if stat.f_bavail * stat.f_frsize >= self.roomy_bytes else WAL_PAGES
        self._space = (pages, now)
        return pages

    def _fit_wal(self, conn: sqlite3.Connection) -> None:
        """Set this connection's checkpoint interval for the disk's free space; shrink a big WAL."""
        pages = self._free_space_pages()
        if pages == self._wal_pages:
            return
        conn.execute(f"PRAGMA wal_autocheckpoint = {pages}")
        if pages < self._wal_pages:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._wal_pages = pages

    def _checkpoint(self) -> None:
        """Fold the WAL back into the database and truncate it, to free its disk space."""
        try:
            with self._use() as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            logger.warning("Could not checkpoint %s: %s", self.path, error)

    def _use(self) -> _Held:
        """Return the context that holds the adapter's connection for one statement or one
        transaction (and opens it if needed).

        Take it after the write lock, never before (`_atomic`), and call nothing that takes
        the write lock while holding it.
        """
        return self._held

    def _connection(self) -> sqlite3.Connection:
        """Return the adapter's connection (call with `_conn_lock` held: see `_use`).

        It is opened again when the file at the path is no longer the one it has open (the
        folder was moved or replaced): SQLite must never go on writing a file that others
        open under a different name, and a path that no longer holds a database is reported
        as storage that is down.
        """
        conn = self._conn
        try:
            stat = os.stat(self.path)
            identity = (stat.st_dev, stat.st_ino)
        except OSError:
            identity = None
        # A connection must not cross a fork either; a child process opens its own.
        if conn is None or self._conn_pid != os.getpid() or identity is None or identity != self._conn_file:
            self._conn = None
            if conn is not None and self._conn_pid == os.getpid():
                conn.close()
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
            stat = os.stat(self.path)
            self._conn, self._conn_pid, self._wal_pages = conn, os.getpid(), WAL_PAGES
            self._conn_file = (stat.st_dev, stat.st_ino)
        return conn

    def _forget_connection(self) -> None:
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _errors(self, action: str, waited: float | None = None) -> _Errors:
        """Return a context that turns SQLite's and the system's errors into StorageUnavailableError."""
        return _Errors(self, action, waited)

    def _failed(self, error: BaseException, action: str, waited: float | None = None) -> None:
        """Raise the storage error `error` (raised while trying to `action`) stands for, if any."""
        if isinstance(error, sqlite3.ProgrammingError | sqlite3.InterfaceError):
            return  # our mistake, not the storage's: it goes up as it is
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", 0) & 0xFF
            if code == sqlite3.SQLITE_FULL:
                raise _DiskFull from error
            # A connection that failed may be in a bad state; the next call opens a fresh one.
            self._forget_connection()
            raise StorageUnavailableError(self._explain(error, action, waited)) from error
        if isinstance(error, OSError):
            raise StorageUnavailableError(
                f"Could not {action} in SQLite database '{self.path}' ({error}); "
                "check that its directory exists and is writable."
            ) from error

    def _explain(self, error: sqlite3.Error, action: str, waited: float | None = None) -> str:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return self._busy(action, waited)
        return (
            f"Could not {action} in SQLite database '{self.path}' ({error}). Nothing was "
            "written; check that the file is a SQLite database and that its directory exists, "
            "is writable and has free space."
        )

    def _busy(self, action: str, waited: float | None = None) -> str:
        return (
            f"Could not {action}: SQLite database '{self.path}' stayed locked by another "
            f"writer for more than {self.busy_timeout if waited is None else waited:g} s. Nothing was written; retry, "
            "or raise busy_timeout if this happens under normal load."
        )

    def _migrate(self) -> None:
        with self._errors("open the database"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._errors("open the database"), self._use() as conn:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                logger.warning(
                    "SQLite database %s runs in journal mode %r, not WAL; readers will wait for writers.",
                    self.path, mode,
                )
            if self._schema_version(conn) == SCHEMA_VERSION:
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated meanwhile.
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
                )
                current = self._schema_version(conn)
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS[version - 1]:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, _now()))
                    logger.info("Migrated %s to schema version %d.", self.path, version)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _schema_version(self, conn: sqlite3.Connection) -> int:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
        if exists is None:
            return 0
        version = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageUnavailableError(
                f"SQLite database '{self.path}' has schema version {version}, newer than the "
                f"{SCHEMA_VERSION} this Trigger Coach knows; upgrade Trigger Coach or point it "
                "at another file."
            )
        return version


class _DiskFull(Exception):
    """Signal that SQLite reported a full disk (the caller checkpoints and retries once)."""


# Both contexts below run for every statement of every request: classes, not generators
# (`contextlib.contextmanager` costs a generator and a wrapper object each time).

class _Errors:
    """Turn the errors raised inside the block into the storage errors they stand for."""

    __slots__ = ("action", "adapter", "waited")

    def __init__(self, adapter: SQLiteAdapter, action: str, waited: float | None = None) -> None:
        self.adapter, self.action, self.waited = adapter, action, waited

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> bool:
        if error is not None:
            self.adapter._failed(error, self.action, self.waited)
        return False


class _Held:
    """Hold an adapter's connection (its re-entrant lock) for the block; give the connection."""

    __slots__ = ("adapter",)

    def __init__(self, adapter: SQLiteAdapter) -> None:
        self.adapter = adapter

    def __enter__(self) -> sqlite3.Connection:
        lock = self.adapter._conn_lock
        lock.acquire()
        try:
            return self.adapter._connection()
        except BaseException:
            lock.release()
            raise

    def __exit__(self, kind: object, error: BaseException | None, trace: object) -> bool:
        self.adapter._conn_lock.release()
        return False


__all__ = ["JOURNAL_BYTES", "SCHEMA_VERSION", "Journal", "SQLiteAdapter"]
