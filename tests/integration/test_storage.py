"""Check both storage adapters against real stores: a SQLite file and a dynalite server.

The profile document (a generic JSON document per user), the device, run and month records
with their merge rules, the first-touch split of old documents, the SQLite journal, schema
and full-disk behaviour, and the DynamoDB layout.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest

from skill.core import progress
from skill.core.player import Activity, PlaybackState
from skill.storage import (
    SQLITE_FILE_NAME,
    CorruptRecordError,
    StorageError,
    StorageUnavailableError,
    make_adapter,
)
from skill.storage.dynamo_client import DynamoClient, ServiceError
from skill.storage.dynamodb import DynamoAdapter
from skill.storage.records import Changes, RunWrite, Snapshot
from skill.storage.sigv4 import Credentials
from skill.storage.sqlite import SCHEMA_VERSION, SQLiteAdapter
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)
from tests.together import at_once

Adapter = SQLiteAdapter | DynamoAdapter

NESTED_DOC = {
    "routine": "neck-and-shoulders",
    "track": 3,
    "offset_ms": 123_456,
    "big": 12_345_678_901_234_567,
    "negative": -42,
    "ratio": 0.1,
    "tiny": -2.5e-7,
    "small": 6.02214076e-23,
    "flags": [True, False, None],
    "nested": {"sides": ["left", "right"], "scores": [1, 2.5, -3], "deeper": {"x": {"y": [[]]}}},
    "text": "Schulter – Nacken 💆 ñ 日本語",
    "empty_text": "",
    "empty_list": [],
    "empty_map": {},
}


def increment(doc: dict) -> dict:
    return {**doc, "count": doc.get("count", 0) + 1}


def assert_same_json(actual: Any, expected: Any, where: str = "$") -> None:
    """Check equality including types, so 0.1 never comes back as Decimal('0.1')."""
    assert type(actual) is type(expected), f"{where}: {actual!r} is not {expected!r}"
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            assert_same_json(actual[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same_json(a, e, f"{where}[{index}]")
    else:
        assert actual == expected, where


def assert_plain_json(value: Any, where: str = "$") -> None:
    assert not isinstance(value, Decimal), f"{where} is a Decimal"
    assert value is None or isinstance(value, str | bool | int | float | list | dict), where
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str)
            assert_plain_json(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_plain_json(item, f"{where}[{index}]")


# --- the two stores ---------------------------------------------------------------------------


@dataclass
class Store:
    """One empty store plus the ways the tests reach into it from outside the adapter."""

    kind: str
    data_dir: Path
    table_name: str
    endpoint_url: str | None

    def open(self, *, stress: bool = False, **options: Any) -> Adapter:
        """Open another adapter (its own connections) on the same store.

        ``stress`` is for tests that pile many writers onto one user, far beyond what one
        Alexa user produces: DynamoDB then gets enough conflict retries that the test checks
        lost updates, not the retry bound (which has its own test).
        """
        if self.kind == "sqlite":
            return SQLiteAdapter(self.data_dir / SQLITE_FILE_NAME, **options)
        if stress:
            options.setdefault("max_attempts", 100)
        return DynamoAdapter(
            self.table_name,
            endpoint_url=self.endpoint_url,
            create_table=True,
            **options,
        )

    def write_unreadable_record(self, user_id: str) -> Any:
        """Store a record for user_id that no adapter can decode; return its raw form."""
        if self.kind == "sqlite":
            with sqlite3.connect(self.data_dir / SQLITE_FILE_NAME) as conn:
                conn.execute(
                    "INSERT INTO users (user_id, doc, rev, updated_at) VALUES (?, ?, 1, '')",
                    (user_id, '{"routine": "neck", '),
                )
            return self.raw_record(user_id)
        self._client().put_item(
            TableName=self.table_name,
            Item={"id": {"S": user_id}, "sk": {"S": "profile"}, "attributes": {"S": "not a map"},
                  "rev": {"N": "1"}},
        )
        return self.raw_record(user_id)

    def raw_record(self, user_id: str) -> Any:
        if self.kind == "sqlite":
            with sqlite3.connect(self.data_dir / SQLITE_FILE_NAME) as conn:
                return conn.execute("SELECT doc, rev FROM users WHERE user_id = ?", (user_id,)).fetchone()
        item = (
            self._client()
            .get_item(TableName=self.table_name, Key={"id": {"S": user_id}, "sk": {"S": "profile"}},
                      ConsistentRead=True)
            .get("Item")
        )
        return None if item is None else {k: v for k, v in item.items() if k != "updated_at"}

    def items(self, user_id: str) -> list[dict[str, Any]]:
        """Return every raw DynamoDB item of the user."""
        return self._client().query(
            TableName=self.table_name, KeyConditionExpression="id = :u",
            ExpressionAttributeValues={":u": {"S": user_id}}, ConsistentRead=True)["Items"]

    def _client(self) -> Any:
        return boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        ).client("dynamodb", endpoint_url=self.endpoint_url)


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    endpoint = request.getfixturevalue("dynalite_endpoint") if request.param == "dynamodb" else None
    return Store(
        kind=request.param,
        data_dir=tmp_path,
        table_name=f"trigger-coach-{uuid.uuid4().hex[:12]}",
        endpoint_url=endpoint,
    )


@pytest.fixture
def dynamo_store(dynalite_endpoint: str, tmp_path: Path) -> Store:  # noqa: F811
    return Store("dynamodb", tmp_path, f"trigger-coach-{uuid.uuid4().hex[:12]}", dynalite_endpoint)


# --- behaviour both adapters share ------------------------------------------------------------


def test_a_nested_document_with_ints_floats_and_unicode_round_trips_exactly(store: Store) -> None:
    adapter = store.open()
    written = adapter.update("user-a", lambda _: NESTED_DOC)
    assert_same_json(written, NESTED_DOC)
    assert_same_json(adapter.get("user-a"), NESTED_DOC)
    assert_same_json(store.open().get("user-a"), NESTED_DOC)


def test_integral_floats_come_back_equal_in_value(store: Store) -> None:
    # DynamoDB keeps numbers as decimals without a type, so 2.0 may come back as the int 2.
    # Python compares ints and floats exactly, so the values must stay exactly equal.
    adapter = store.open()
    adapter.update("user-a", lambda _: {"two": 2.0, "large": 6.02214076e23, "zero": -0.0})
    assert adapter.get("user-a") == {"two": 2, "large": 6.02214076e23, "zero": 0}


def test_a_user_with_no_document_reads_as_an_empty_dict(store: Store) -> None:
    adapter = store.open()
    assert adapter.get("nobody") == {}
    assert adapter.profile("nobody") == {}
    snapshot = adapter.load("nobody", "device-1")
    assert (snapshot.profile, snapshot.devices) == ({}, {})


def test_delete_removes_only_that_users_document_and_repeating_it_is_harmless(
    store: Store,
) -> None:
    adapter = store.open()
    adapter.update("user-a", lambda _: {"track": 1})
    adapter.update("user-b", lambda _: {"track": 2})
    adapter.delete("user-a")
    adapter.delete("user-a")
    assert adapter.get("user-a") == {}
    assert adapter.get("user-b") == {"track": 2}
    assert store.raw_record("user-a") is None


def test_update_passes_an_empty_dict_for_a_new_user_and_returns_what_it_wrote(
    store: Store,
) -> None:
    adapter = store.open()
    seen: list[dict] = []
    written = adapter.update("user-a", lambda doc: seen.append(doc) or {**doc, "count": 1})
    assert seen == [{}]
    assert written == {"count": 1} == adapter.get("user-a")


def test_many_threads_incrementing_one_user_lose_no_update(store: Store) -> None:
    adapter = store.open(stress=True)
    threads, per_thread = 8, 25
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(per_thread):
                adapter.update("busy-user", increment)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    assert adapter.get("busy-user") == {"count": threads * per_thread}


def test_two_adapters_on_one_store_in_threads_lose_no_update(store: Store) -> None:
    first, second = store.open(stress=True), store.open(stress=True)
    per_thread = 30
    workers = [
        threading.Thread(target=lambda a=a: [a.update("shared", increment) for _ in range(per_thread)])
        for a in (first, second, first, second)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert first.get("shared") == second.get("shared") == {"count": 4 * per_thread}


CHILD = """
import sys
from pathlib import Path
from skill.storage import make_adapter

kind, data_dir, table_name, endpoint_url, user_id, count = sys.argv[1:]
adapter = make_adapter(
    kind, data_dir=Path(data_dir), table_name=table_name, endpoint_url=endpoint_url or None
)
for _ in range(int(count)):
    adapter.update(user_id, lambda doc: {**doc, "count": doc.get("count", 0) + 1})
"""


def test_two_processes_and_this_one_writing_one_user_lose_no_update(store: Store) -> None:
    adapter = store.open()
    adapter.update("shared", lambda _: {"count": 0})
    per_writer = 40
    args = [store.kind, str(store.data_dir), store.table_name, store.endpoint_url or "", "shared"]
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, *args, str(per_writer)], stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for _ in range(per_writer):
        adapter.update("shared", increment)
    for child in children:
        _, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, stderr.decode()
    assert adapter.get("shared") == {"count": 3 * per_writer}


def test_a_corrupt_record_raises_on_read_and_is_never_overwritten(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = store.open()
    adapter.update("healthy-user", lambda _: {"track": 1})
    raw = store.write_unreadable_record("broken-user")

    with (
        caplog.at_level(logging.ERROR, logger="trigger_coach.storage"),
        pytest.raises(CorruptRecordError, match="broken-user") as raised,
    ):
        adapter.get("broken-user")
    assert raised.value.user_id == "broken-user"
    assert "delete('broken-user')" in str(raised.value)
    assert any("broken-user" in record.getMessage() for record in caplog.records)

    with pytest.raises(CorruptRecordError):
        adapter.update("broken-user", lambda _: {"track": 2})
    with pytest.raises(CorruptRecordError):
        adapter.load("broken-user", "device-1")
    assert store.raw_record("broken-user") == raw

    assert adapter.get("healthy-user") == {"track": 1}
    adapter.update("healthy-user", increment)
    adapter.delete("broken-user")
    assert adapter.update("broken-user", lambda _: {"track": 3}) == {"track": 3}


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        ({"when": datetime(2025, 1, 1)}, r"\$\.when .* is a datetime"),
        ({"offset": math.nan}, "not a finite number"),
        ({"sides": ("left", "right")}, r"\$\.sides .* is a tuple"),
        ({"by_track": {1: "done"}}, r"key 1 at \$\.by_track .* is not a string"),
        ({"tags": {"a"}}, "is a set"),
    ],
)
def test_documents_that_are_not_plain_json_are_refused_before_anything_is_written(
    store: Store, document: dict, complaint: str
) -> None:
    adapter = store.open()
    adapter.update("user-a", lambda _: {"track": 1})
    with pytest.raises((TypeError, ValueError), match=complaint):
        adapter.update("user-a", lambda _: document)
    with pytest.raises((TypeError, ValueError), match=complaint):
        adapter.save(
            "user-a", Changes("device-1", datetime.now(UTC), devices={"device-1": document}))
    assert adapter.get("user-a") == {"track": 1}


def test_no_decimal_ever_comes_out_of_any_read_path(store: Store) -> None:
    adapter = store.open()
    written = adapter.update("user-a", lambda _: NESTED_DOC)
    adapter.update("user-b", lambda _: {"offset": 1.5, "list": [0.25, 3]})
    adapter.save("user-b", Changes("device-1", datetime.now(UTC), devices={"device-1": {"seq": 2, "x": 0.5}},
                                   runs=[RunWrite(run_record("r1"), "device-1")]))
    snapshot = adapter.load("user-b", "device-1")
    for value in (
        written,
        adapter.get("user-a"),
        adapter.update("user-b", lambda doc: doc),
        snapshot.profile,
        snapshot.devices,
        adapter.runs_since("user-b", "", 0),
        adapter.get("user-b"),
    ):
        assert_plain_json(value)
    whole = adapter.get("user-b")
    assert (whole["offset"], whole["list"], whole["playback"]) == (1.5, [0.25, 3], {"seq": 2, "x": 0.5})


# --- SQLite -----------------------------------------------------------------------------------


def test_the_sqlite_file_runs_in_wal_mode(tmp_path: Path) -> None:
    SQLiteAdapter(tmp_path / "db.sqlite3")
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrating_an_empty_file_creates_every_schema_version_and_reopening_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "db.sqlite3"
    path.touch()
    SQLiteAdapter(path).update("user-a", lambda _: {"track": 1})

    def schema() -> tuple[list, list, int]:
        with sqlite3.connect(path) as conn:
            versions = conn.execute("SELECT version FROM schema_version").fetchall()
            columns = conn.execute("PRAGMA table_info(users)").fetchall()
            cookie = conn.execute("PRAGMA schema_version").fetchone()[0]
        return versions, columns, cookie

    versions, columns, cookie = schema()
    assert SCHEMA_VERSION == 3
    assert versions == [(1,), (2,), (3,)]
    assert [(name, kind, notnull, pk) for _, name, kind, notnull, _, pk in columns] == [
        ("user_id", "TEXT", 0, 1),
        ("doc", "TEXT", 1, 0),
        ("rev", "INTEGER", 1, 0),
        ("updated_at", "TEXT", 1, 0),
    ]
    reopened = SQLiteAdapter(path)
    assert schema() == (versions, columns, cookie)
    assert reopened.get("user-a") == {"track": 1}


def test_a_database_from_a_newer_schema_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    SQLiteAdapter(path)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?, 'later')", (SCHEMA_VERSION + 1,))
    with pytest.raises(StorageUnavailableError,
                       match=f"schema version {SCHEMA_VERSION + 1}, newer than the {SCHEMA_VERSION}"):
        SQLiteAdapter(path)


def test_a_file_that_is_not_a_database_raises_storage_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not sqlite, it is a grocery list" * 100)
    with pytest.raises(StorageUnavailableError, match="not a database"):
        SQLiteAdapter(path)


def test_the_revision_counts_every_write(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path)
    for _ in range(3):
        adapter.update("user-a", increment)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT rev FROM users").fetchone() == (3,)


def _unwritable_locations(tmp_path: Path) -> list[Path]:
    (tmp_path / "a-file").write_text("not a directory")
    locations = [tmp_path / "a-file" / "data" / "db.sqlite3"]
    if Path("/proc/self").is_dir():  # no one, not even root, may create files there
        locations.append(Path("/proc/self/db.sqlite3"))
    return locations


def test_a_directory_that_cannot_be_written_raises_storage_unavailable(tmp_path: Path) -> None:
    for path in _unwritable_locations(tmp_path):
        with pytest.raises(StorageUnavailableError, match="Could not open the database") as raised:
            SQLiteAdapter(path)
        assert str(path) in str(raised.value)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root ignores directory permissions; the /proc case covers unwritable paths",
)
def test_a_read_only_directory_raises_storage_unavailable(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(StorageUnavailableError):
            SQLiteAdapter(locked / "db.sqlite3")
    finally:
        locked.chmod(0o700)


def test_a_database_locked_past_the_busy_timeout_raises_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path, busy_timeout=0.05)
    adapter.update("user-a", lambda _: {"count": 1})
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match=r"stayed locked .* 0\.05 s"):
            adapter.update("user-a", increment)
        with pytest.raises(StorageUnavailableError, match="locked"):
            adapter.delete("user-a")
        assert time.monotonic() - started < 2
        assert adapter.get("user-a") == {"count": 1}  # WAL readers do not wait for writers
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert adapter.update("user-a", increment) == {"count": 2}


# --- DynamoDB ---------------------------------------------------------------------------------


def test_a_conflicting_write_makes_dynamodb_reread_and_remerge(dynamo_store: Store) -> None:
    adapter, rival = dynamo_store.open(), dynamo_store.open()
    adapter.update("user-a", lambda _: {"count": 0})
    calls: list[dict] = []

    def increment_while_a_rival_writes_once(doc: dict) -> dict:
        calls.append(doc)
        if len(calls) == 1:
            rival.update("user-a", lambda d: {**d, "rival": True})
        return increment(doc)

    assert adapter.update("user-a", increment_while_a_rival_writes_once) == {
        "count": 1,
        "rival": True,
    }
    assert calls == [{"count": 0}, {"count": 0, "rival": True}]
    assert dynamo_store.raw_record("user-a")["rev"] == {"N": "3"}


def test_dynamodb_gives_up_after_max_attempts_of_conflicts_with_a_sentence(
    dynamo_store: Store,
) -> None:
    adapter, rival = dynamo_store.open(max_attempts=2), dynamo_store.open()
    adapter.update("user-a", lambda _: {"count": 0})

    def always_raced(doc: dict) -> dict:
        rival.update("user-a", increment)
        return {"count": -1}

    with pytest.raises(StorageUnavailableError, match="changed it 2 times in a row"):
        adapter.update("user-a", always_raced)
    assert adapter.get("user-a") == {"count": 2}


def test_numbers_beyond_dynamodb_limits_are_refused_with_a_sentence(dynamo_store: Store) -> None:
    adapter = dynamo_store.open()
    with pytest.raises(ValueError, match=r"1e-300 at \$\.tiny .* does not fit DynamoDB"):
        adapter.update("user-a", lambda _: {"tiny": 1e-300})
    with pytest.raises(ValueError, match="does not fit DynamoDB"):
        adapter.update("user-a", lambda _: {"huge": 10**40})
    assert adapter.get("user-a") == {}


def test_a_missing_dynamodb_table_raises_storage_unavailable_naming_it(
    dynalite_endpoint: str,  # noqa: F811
) -> None:
    adapter = DynamoAdapter("no-such-table", endpoint_url=dynalite_endpoint)
    with pytest.raises(StorageUnavailableError, match="'no-such-table' does not exist"):
        adapter.get("user-a")
    with pytest.raises(StorageUnavailableError, match="create_table=True"):
        adapter.update("user-a", increment)
    with pytest.raises(StorageUnavailableError, match="sort key 'sk'"):
        adapter.load("user-a", "device-1")


def test_an_invalid_table_name_is_refused_when_creating_it(dynalite_endpoint: str) -> None:  # noqa: F811
    adapter = DynamoAdapter("ab", endpoint_url=dynalite_endpoint, create_table=True)
    with pytest.raises(StorageError, match="'ab'"):
        adapter.load("user-a", "device-1")


def test_a_missing_table_is_created_by_the_first_request_that_needs_it_and_that_request_is_answered(
    dynalite_endpoint: str,  # noqa: F811
) -> None:
    table = f"lazy-{uuid.uuid4().hex[:8]}"
    client = DynamoClient(dynalite_endpoint, "us-east-1", lambda: Credentials("local", "local"))
    adapter = DynamoAdapter(table, endpoint_url=dynalite_endpoint, create_table=True)
    with pytest.raises(ServiceError) as caught:  # building the adapter asked nothing of the server
        client.call("DescribeTable", {"TableName": table})
    assert caught.value.code == "ResourceNotFoundException"
    assert adapter.load("user-a", "device-1") == Snapshot({}, {})
    assert adapter.update("user-a", increment) == {"count": 1}
    described = client.call("DescribeTable", {"TableName": table})["Table"]
    assert described["TableStatus"] == "ACTIVE"
    assert [key["AttributeName"] for key in described["KeySchema"]] == ["id", "sk"]
    assert DynamoAdapter(table, endpoint_url=dynalite_endpoint, create_table=True).profile("user-a") == {"count": 1}


def test_an_unreachable_dynamodb_raises_storage_unavailable() -> None:
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = DynamoAdapter("trigger-coach", endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(StorageUnavailableError, match="is unreachable"):
        adapter.get("user-a")
    with pytest.raises(StorageUnavailableError, match="is unreachable"):
        adapter.save("user-a", Changes("device-1", datetime.now(UTC), profile={"track": 1}))


# --- the factory ------------------------------------------------------------------------------


def test_make_adapter_puts_the_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    adapter = make_adapter("sqlite", data_dir=tmp_path / "var", table_name="unused", endpoint_url=None)
    assert isinstance(adapter, SQLiteAdapter)
    adapter.update("user-a", increment)
    assert (tmp_path / "var" / "trigger-coach.sqlite3").is_file()


def test_make_adapter_rejects_an_unknown_kind_naming_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Unknown storage kind 'redis'; use one of 'sqlite', 'dynamodb'\."):
        make_adapter("redis", data_dir=tmp_path, table_name="t", endpoint_url=None)


def test_every_storage_error_is_an_sdk_persistence_exception() -> None:
    from ask_sdk_core.exceptions import PersistenceException

    assert issubclass(StorageUnavailableError, StorageError)
    assert issubclass(CorruptRecordError, StorageError)
    assert issubclass(StorageError, PersistenceException)


# --- the records: devices, runs, months, the split of old documents ---------------------------

NOW = datetime(2026, 11, 18, 19, 0, tzinfo=UTC)


def run_record(run_id: str, started: datetime = NOW, outcome: str = "in_progress", tracks: int = 0,
               seconds: int = 0) -> dict:
    stamp = progress._iso(started)
    return progress.RunRecord(
        run_id=run_id, routine_id="calves", area="calves", started_at=stamp, updated_at=stamp,
        ended_at=None if outcome == "in_progress" else stamp, seconds_guided=seconds,
        tracks_completed=tracks, tracks_skipped=0, track_count=15, outcome=outcome,
    ).to_dict()


def device(run_id: str | None, seq: int, activity: str = "playing") -> dict:
    token = f"calves|{run_id}|0|{seq}" if run_id else None
    state = PlaybackState(routine_id="calves" if run_id else None, run_id=run_id, activity=Activity(activity),
                          token=token, seq=seq) if run_id else PlaybackState(seq=seq)
    return state.to_dict()


def start_changes(device_id: str, run_id: str, seq: int, moment: datetime = NOW) -> Changes:
    return Changes(device_id, moment, devices={device_id: device(run_id, seq)},
                   runs=[RunWrite(run_record(run_id, moment), device_id)], started=True)


def runs_by_id(adapter: Adapter, user: str = "user-a") -> dict[str, dict]:
    return {r["run_id"]: r for r in adapter.runs_since(user, "", 0)}


def test_each_device_keeps_its_own_playback_record_and_an_older_write_never_rolls_it_back(store: Store) -> None:
    adapter = store.open()
    for name, seq in (("kitchen", 5), ("bedroom", 9), ("office", 2), ("hall", 7)):
        adapter.save("user-a", Changes(name, NOW, devices={name: device(f"run-{name}", seq)}))
    adapter.save("user-a", Changes("kitchen", NOW, devices={"kitchen": device("stale-run", 4)}))
    devices = store.open().load("user-a", "kitchen").devices
    assert {name: (d["run_id"], d["seq"]) for name, d in devices.items()} == {
        "kitchen": ("run-kitchen", 5), "bedroom": ("run-bedroom", 9), "office": ("run-office", 2),
        "hall": ("run-hall", 7)}
    adapter.save("user-a", Changes("kitchen", NOW, devices={"kitchen": device("run-kitchen", 5, "paused")}))
    assert adapter.load("user-a", "kitchen").devices["kitchen"]["activity"] == "paused", "an equal seq is newer"


def test_a_run_record_is_joined_with_the_stored_copy_and_written_only_when_it_changed(store: Store) -> None:
    adapter = store.open()
    adapter.save("user-a", Changes("d1", NOW, runs=[RunWrite(run_record("r1", tracks=4, seconds=200), "d1")]))
    adapter.save("user-a", Changes("d1", NOW, runs=[RunWrite(run_record("r1", tracks=2, seconds=300), "d1")]))
    joined = runs_by_id(adapter)["r1"]
    assert (joined["tracks_completed"], joined["seconds_guided"]) == (4, 300)

    def version() -> Any:
        if store.kind == "sqlite":
            with closing(sqlite3.connect(store.data_dir / SQLITE_FILE_NAME)) as db:
                return db.execute("SELECT updated_at FROM runs WHERE run_id = 'r1'").fetchone()
        return [i["rev"] for i in store.items("user-a") if i["sk"]["S"].startswith("run#")]

    before = version()
    time.sleep(0.01)
    adapter.save("user-a", Changes("d1", NOW, runs=[RunWrite(run_record("r1", tracks=3, seconds=100), "d1")]))
    assert version() == before, "a write that changes nothing is not written"
    done = run_record("r1", outcome="completed", tracks=15, seconds=540)
    adapter.save("user-a", Changes("d1", NOW, runs=[RunWrite(done, "d1")]))
    assert runs_by_id(adapter)["r1"]["outcome"] == "completed"


def test_a_start_ends_every_other_in_progress_run_of_that_device_and_only_of_that_device(store: Store) -> None:
    adapter = store.open()
    adapter.save("user-a", start_changes("kitchen", "old-1", 10))
    adapter.save("user-a", Changes("kitchen", NOW, runs=[RunWrite(run_record("old-2"), "kitchen")]))
    adapter.save("user-a", start_changes("bedroom", "elsewhere", 11))
    adapter.save("user-a", start_changes("kitchen", "new", 20, NOW + timedelta(minutes=1)))
    outcomes = {run_id: r["outcome"] for run_id, r in runs_by_id(adapter).items()}
    assert outcomes == {"old-1": "stopped_early", "old-2": "stopped_early", "elsewhere": "in_progress",
                        "new": "in_progress"}


def test_thirty_simultaneous_start_pairs_on_one_device_leave_no_orphan_run(store: Store) -> None:
    adapter = store.open(stress=True)
    other = store.open(stress=True)
    for pair in range(30):
        moment = NOW + timedelta(minutes=pair)

        def begin(n: int, pair: int = pair, moment: datetime = moment) -> None:
            (adapter, other)[n].save("user-a", start_changes("echo", f"p{pair}-{n}", 1000 + pair * 2 + n, moment))

        at_once(begin, range(2))
    current = adapter.load("user-a", "echo").devices["echo"]["run_id"]
    still_open = sorted(run_id for run_id, r in runs_by_id(adapter).items() if r["outcome"] == "in_progress")
    assert still_open == [current], "every run but the device's own was ended"
    assert len(runs_by_id(adapter)) == 60


def test_runs_since_reads_only_the_window_and_a_forget_hides_older_epochs(store: Store) -> None:
    adapter = store.open()
    for day in range(10):
        moment = NOW - timedelta(days=day)
        adapter.save("user-a", Changes("d", moment, runs=[RunWrite(run_record(f"r{day}", moment, "completed"), "d")]))
    since = progress._iso(NOW - timedelta(days=3, hours=1))
    assert sorted(r["run_id"] for r in adapter.runs_since("user-a", since, 0)) == ["r0", "r1", "r2", "r3"]
    adapter.update("user-a", lambda doc: {**doc, "epoch": 1, "layout": progress.LAYOUT})
    adapter.save("user-a", Changes("d", NOW, epoch=0, runs=[RunWrite(run_record("late", NOW, "completed"), "d")]))
    assert adapter.runs_since("user-a", "", 1) == []
    adapter.delete_history("user-a", 1)
    assert adapter.runs_since("user-a", "", 0) == []


def legacy_document(days: int = 100) -> dict:
    """Return an old whole-history document: daily runs, two folded months, a paused run."""
    runs = {}
    for day in range(days, 0, -1):
        moment = NOW - timedelta(days=day, hours=day % 5)
        outcome = ("completed", "stopped_early", "completed", "abandoned")[day % 4]
        record = run_record(f"legacy-{day}", moment, outcome, 15 if outcome == "completed" else 3,
                            540 if outcome == "completed" else 20 + day)
        runs[record["run_id"]] = record
    paused = run_record("paused-run", NOW - timedelta(hours=1), tracks=4, seconds=200)
    runs["paused-run"] = paused
    playback = PlaybackState(routine_id="calves", run_id="paused-run", index=4, offset_ms=5000,
                             activity=Activity.PAUSED, token="calves|paused-run|4|9", seq=9,
                             completed=frozenset(range(4))).to_dict()
    totals = {"2025-01": {"sessions": 9, "seconds": 4860, "completed": 8, "stopped_early": 1, "abandoned": 0,
                          "areas": {"calves": 9}},
              "2025-02": {"sessions": 3, "seconds": 1000, "completed": 3, "stopped_early": 0, "abandoned": 0,
                          "areas": {"neck": 3}}}
    return {"v": 1, "epoch": 0, "playback": playback, "last_routine": "calves", "briefed_epoch": 0,
            "runs": runs, "totals": totals}


def put_legacy(store: Store, user_id: str, doc: dict) -> Adapter:
    """Store an old document where the previous version kept it; return an adapter that migrates it."""
    if store.kind == "sqlite":
        adapter = store.open()
        with closing(sqlite3.connect(store.data_dir / SQLITE_FILE_NAME)) as db, db:
            db.execute("INSERT INTO users (user_id, doc, rev, updated_at) VALUES (?, ?, 3, 'then')",
                       (user_id, json.dumps(doc)))
        return adapter
    legacy = f"{store.table_name}-old"
    client = store._client()
    client.create_table(TableName=legacy, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    while client.describe_table(TableName=legacy)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)
    from skill.storage.dynamo_client import marshal

    client.put_item(TableName=legacy, Item={"id": {"S": user_id}, "attributes": marshal(doc)})
    return store.open(legacy_table=legacy)


def test_an_old_document_is_split_on_first_touch_and_summarises_exactly_as_before(store: Store) -> None:
    doc = legacy_document()
    adapter = put_legacy(store, "old-user", doc)
    snapshot = adapter.load("old-user", "kitchen")
    assert snapshot.profile == {"v": 1, "epoch": 0, "last_routine": "calves", "briefed_epoch": 0,
                                "layout": progress.LAYOUT}
    assert snapshot.devices["kitchen"]["run_id"] == "paused-run"
    now = NOW.astimezone(ZoneInfo("America/New_York"))
    view = {"v": 1, "epoch": 0, "runs": {r["run_id"]: r for r in adapter.runs_since("old-user", "", 0)},
            "totals": adapter.months("old-user", 0)}
    assert view["runs"] == doc["runs"] and view["totals"] == doc["totals"]
    windowed = {"v": 1, "epoch": 0, "totals": adapter.months("old-user", 0), "runs": {
        r["run_id"]: r for r in adapter.runs_since("old-user", progress.window_start(now), 0)}}
    assert len(windowed["runs"]) < len(doc["runs"]), "the window reads less than everything"
    for period in progress.PERIODS:
        before = progress.summarize(doc, now, period, True)
        assert progress.summarize(view, now, period, True) == before
        assert progress.summarize(windowed, now, period, True, playing=frozenset({"paused-run"})) == before
    again = store.open(**({"legacy_table": adapter.legacy_table} if store.kind == "dynamodb" else {}))
    assert again.load("old-user", "bedroom").devices == snapshot.devices, "splitting twice changes nothing"
    assert_plain_json(adapter.get("old-user"))


def test_a_document_that_cannot_be_split_is_reported_and_left_as_it_was(store: Store) -> None:
    doc = {**legacy_document(3), "playback": {"activity": "dancing"}}
    adapter = put_legacy(store, "odd-user", doc)
    with pytest.raises(CorruptRecordError, match="odd-user"):
        adapter.load("odd-user", "kitchen")
    assert adapter.runs_since("odd-user", "", 0) == []


# --- SQLite: journal, full disk, WAL ----------------------------------------------------------


def test_a_save_the_locked_database_refuses_is_journaled_and_the_next_read_replays_it(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path, busy_timeout=0.05, retry_budget=0.2)
    adapter.save("user-a", start_changes("d", "r1", 5))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        done = Changes("d", NOW, devices={"d": device("r1", 6, "finished")},
                       runs=[RunWrite(run_record("r1", outcome="completed", tracks=15, seconds=540), "d")])
        assert adapter.save("user-a", done) == "journaled"
        assert adapter.journal.pending()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    reopened = SQLiteAdapter(path)  # another process would see the same journal
    assert reopened.load("user-a", "d").devices["d"]["activity"] == "finished"
    assert runs_by_id(reopened)["r1"]["outcome"] == "completed"
    assert not adapter.journal.pending()
    assert reopened.replay() == 0


def test_replaying_the_journal_waits_only_briefly_for_a_locked_database(tmp_path: Path, caplog) -> None:
    # Every request replays while entries wait: with the busy timeout (5 s) here as well as in
    # its own save, each event took 10 s while another writer held the lock (hostile review).
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path)
    assert adapter.journal.append({"user_id": "user-a", "changes": start_changes("d", "r1", 5).to_json()})
    statements: list[str] = []
    adapter._connection().set_trace_callback(statements.append)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        assert adapter.load("user-a", "d").devices == {}, "read as it is (WAL), the entry still waiting"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    begin = statements.index("BEGIN IMMEDIATE")
    assert statements[begin - 1] == "PRAGMA busy_timeout = 50" and "PRAGMA busy_timeout = 5000" in statements[begin:]
    assert adapter.journal.pending() and "locked by another writer for more than 0.05 s" in caplog.text
    assert adapter.load("user-a", "d").devices["d"]["seq"] == 5 and not adapter.journal.pending()


def test_a_save_while_older_ones_wait_in_the_journal_goes_behind_them(tmp_path: Path) -> None:
    # The replay waits 50 ms, a save its busy timeout: a save written straight past a waiting
    # entry would have that older entry replayed over it (profiles: the last write wins).
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path)
    quick = SQLiteAdapter(path, busy_timeout=0.01, retry_budget=0)  # another worker, same journal
    adapter.save("user-a", Changes("d", NOW, profile={"epoch": 0, "layout": progress.LAYOUT}))
    held, release = threading.Event(), threading.Event()

    def writer() -> None:  # another process in the middle of a long write
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        held.set()
        release.wait(30)
        blocker.execute("ROLLBACK")
        blocker.close()

    thread = threading.Thread(target=writer)
    thread.start()
    held.wait(30)
    try:
        older = Changes("d", NOW, profile={"epoch": 0, "layout": progress.LAYOUT, "last_routine": "calves"})
        assert quick.save("user-a", older) == "journaled"
        timer = threading.Timer(0.5, release.set)  # the writer commits while the next save waits
        timer.start()
        newer = Changes("d", NOW, profile={"epoch": 0, "layout": progress.LAYOUT, "last_routine": "feet"})
        assert adapter.save("user-a", newer) == "journaled", "behind the older one, not past it"
    finally:
        release.set()
        thread.join(30)
    assert adapter.load("user-a", "d").profile["last_routine"] == "feet"
    assert not adapter.journal.pending()


def test_a_journal_entry_the_database_cannot_take_is_dropped_and_the_rest_replayed(tmp_path: Path, caplog) -> None:
    adapter = SQLiteAdapter(tmp_path / "db.sqlite3")
    poison = Changes("d", NOW, runs=[RunWrite(run_record("r\ud800"), "d")])  # no UTF-8 for a lone surrogate
    assert adapter.journal.append({"user_id": "user-a", "changes": poison.to_json()})
    assert adapter.journal.append({"user_id": "user-b", "changes": start_changes("d", "r2", 5).to_json()})
    assert adapter.load("user-b", "d").devices["d"]["seq"] == 5, "the entry after it was replayed"
    assert not adapter.journal.pending() and runs_by_id(adapter, "user-a") == {}
    assert "Dropping a journal entry of user 'user-a' that the database cannot take" in caplog.text


def test_a_journal_line_torn_by_a_crash_is_ignored_and_the_rest_replayed(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path)
    entry = {"user_id": "user-a", "changes": start_changes("d", "r1", 5).to_json()}
    torn = json.dumps(entry).encode() + b"\n" + json.dumps(entry).encode()[:40]
    os.pwrite(os.open(adapter.journal.path, os.O_RDWR), torn, 0)
    assert adapter.replay() == 1
    assert list(runs_by_id(adapter)) == ["r1"]
    assert adapter.journal.append(entry) and adapter.replay() == 1, "the torn tail was cleared"


def test_the_journal_is_reserved_up_front_and_says_when_it_is_full(tmp_path: Path) -> None:
    adapter = SQLiteAdapter(tmp_path / "db.sqlite3", journal_bytes=4096)
    assert adapter.journal.path.stat().st_size == 4096, "the space is taken while there is some"
    entry = {"user_id": "user-a", "changes": start_changes("d", "r1", 5).to_json()}
    written = 0
    while adapter.journal.append(entry):
        written += 1
    assert written >= 3 and adapter.journal.path.stat().st_size == 4096


def test_saves_that_only_move_a_run_along_leave_half_the_journal_for_starts_and_ends(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path, busy_timeout=0.01, retry_budget=0, journal_bytes=16384)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        along = Changes("d", NOW, devices={"d": device("r1", 6, "playing")},
                        runs=[RunWrite(run_record("r1", tracks=3, seconds=100), "d")])
        journaled = 0
        with pytest.raises(StorageUnavailableError):
            while adapter.save("user-a", along) == "journaled":
                journaled += 1
        assert journaled >= 2 and len(adapter.journal._used()) <= 16384 // 2
        paused = Changes("d", NOW, devices={"d": device("r1", 7, "paused")},  # as big as the refused ones
                         runs=[RunWrite(run_record("r1", tracks=3, seconds=110), "d")])
        assert adapter.save("user-a", paused) == "journaled", "no later token says where it was paused"
        done = Changes("d", NOW, devices={"d": device("r1", 8, "finished")},
                       runs=[RunWrite(run_record("r1", outcome="completed", tracks=15, seconds=540), "d")])
        assert adapter.save("user-a", done) == "journaled", "an end still has room"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert runs_by_id(adapter)["r1"]["outcome"] == "completed"


def test_a_full_database_checkpoints_journals_and_loses_nothing_once_there_is_room(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path, retry_budget=0)
    adapter.save("user-a", start_changes("d", "r0", 1))
    conn = adapter._connection()  # the "disk": SQLite's own page limit makes every write fail with SQLITE_FULL
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    big = [RunWrite(run_record(f"r{n}", NOW + timedelta(minutes=n)), "d") for n in range(1, 60)]
    assert adapter.save("user-a", Changes("d", NOW, runs=big)) == "journaled"
    conn.execute("PRAGMA max_page_count = 1000000")
    assert len(runs_by_id(adapter)) == 60


def test_writers_of_one_file_in_one_process_queue_on_one_lock_and_a_long_wait_is_journaled(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    first = SQLiteAdapter(path)
    second = SQLiteAdapter(tmp_path / "." / "db.sqlite3", busy_timeout=0.05, retry_budget=0)
    assert first._write_lock is second._write_lock, "one lock per database file, however it is named"
    with first._write_lock:  # another thread of this process is in the middle of a save
        assert second.save("user-a", start_changes("d", "r1", 5)) == "journaled"
    assert second.load("user-a", "d").devices["d"]["seq"] == 5, "the next read replays the journal"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for k in range(20):
                assert first.save("user-b", Changes("d", NOW, runs=[
                    RunWrite(run_record(f"t{n}-{k}", NOW + timedelta(seconds=n * 100 + k)), "d")])) == "saved"
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(runs_by_id(first, "user-b")) == 160


def _write_runs(adapter: SQLiteAdapter, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        adapter.save("user-a", Changes("d", NOW, devices={"d": device("r", n)},
                                       runs=[RunWrite(run_record(f"r{n}", NOW + timedelta(seconds=n)), "d")]))


def test_on_a_nearly_full_disk_the_wal_stays_kilobytes_small_however_many_writes_there_are(
        tmp_path: Path) -> None:
    from skill.storage.sqlite import WAL_LIMIT

    path = tmp_path / "db.sqlite3"
    _write_runs(SQLiteAdapter(path, roomy_bytes=1 << 62), 400)  # every disk is "nearly full" here
    wal = path.with_name(path.name + "-wal")
    assert wal.stat().st_size <= WAL_LIMIT + 32 * 4096, wal.stat().st_size


def test_on_a_roomy_disk_the_wal_checkpoints_rarely_and_shrinks_once_the_disk_fills(tmp_path: Path) -> None:
    from skill.storage.sqlite import WAL_LIMIT, WAL_PAGES_ROOMY

    path = tmp_path / "db.sqlite3"
    adapter = SQLiteAdapter(path, roomy_bytes=0, space_check_seconds=0)  # every disk has room here
    _write_runs(adapter, 400)
    wal = path.with_name(path.name + "-wal")
    roomy_size = wal.stat().st_size
    assert WAL_LIMIT + 32 * 4096 < roomy_size <= (WAL_PAGES_ROOMY + 32) * 4096, roomy_size
    adapter.roomy_bytes = 1 << 62  # the disk is now "nearly full": the next write shrinks the WAL
    _write_runs(adapter, 1, start=400)
    assert wal.stat().st_size <= WAL_LIMIT + 32 * 4096, wal.stat().st_size
    assert len(runs_by_id(adapter, "user-a")) == 401


# --- DynamoDB layout ---------------------------------------------------------------------------


def test_dynamodb_keeps_one_item_per_record_under_the_users_partition(dynamo_store: Store) -> None:
    adapter = dynamo_store.open()
    adapter.update("user-a", lambda _: {"epoch": 0, "layout": progress.LAYOUT})
    adapter.save("user-a", start_changes("echo-1", "r1", 5))
    adapter.put_months("user-a", {"2025-01": {"sessions": 1}}, 0)
    keys = sorted(item["sk"]["S"] for item in dynamo_store.items("user-a"))
    assert keys == ["device#echo-1", "month#2025-01", "profile", f"run#{progress._iso(NOW)}#r1"]
    item = next(i for i in dynamo_store.items("user-a") if i["sk"]["S"].startswith("run#"))
    assert (item["run_id"], item["device"], item["open"]) == ({"S": "r1"}, {"S": "echo-1"}, {"BOOL": True})
    adapter.delete("user-a")
    assert dynamo_store.items("user-a") == []


def test_months_older_than_the_kept_history_fold_into_month_records_one_per_call(store: Store) -> None:
    adapter = store.open()
    adapter.update("user-a", lambda _: {"epoch": 0, "layout": progress.LAYOUT})
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    old = [run_record(f"old-{n}", datetime(2025, 6, 2 + n, 8, 0, tzinfo=UTC), "completed", 15, 540) for n in range(3)]
    older = [run_record("older", datetime(2025, 5, 20, 8, 0, tzinfo=UTC), "stopped_early", 3, 100)]
    recent = [run_record("recent", datetime(2026, 11, 17, 8, 0, tzinfo=UTC), "completed", 15, 540)]
    adapter.save("user-a", Changes("d", now, runs=[RunWrite(r, "d") for r in old + older + recent]))
    whole = adapter.get("user-a")
    before = [progress.summarize(whole, now, p, True) for p in progress.PERIODS]

    def bucket(runs: list[dict]) -> dict:
        return progress.fold_month(runs, now)

    cutoff = progress.fold_before(now)
    assert adapter.fold("user-a", cutoff, 0, bucket) == "2025-05"
    assert adapter.fold("user-a", cutoff, 0, bucket) == "2025-06"
    assert adapter.fold("user-a", cutoff, 0, bucket) is None
    assert sorted(runs_by_id(adapter)) == ["recent"]
    months = adapter.months("user-a", 0)
    assert (months["2025-06"]["sessions"], months["2025-05"]["sessions"]) == (3, 1)
    assert [progress.summarize(adapter.get("user-a"), now, p, True) for p in progress.PERIODS] == before


def test_a_run_stored_under_two_starts_folds_into_its_month_once(store: Store) -> None:
    # DynamoDB keys runs by their start; a run once written with two starts is two items.
    adapter = store.open()
    adapter.update("user-a", lambda _: {"epoch": 0, "layout": progress.LAYOUT})
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
    for minute in (0, 1):
        adapter.save("user-a", Changes("d", now, runs=[RunWrite(
            run_record("twice", datetime(2025, 6, 2, 8, minute, tzinfo=UTC), "completed", 15, 540), "d")]))
    folded = adapter.fold("user-a", progress.fold_before(now), 0, lambda runs: progress.fold_month(runs, now))
    assert folded == "2025-06"
    assert adapter.months("user-a", 0)["2025-06"]["sessions"] == 1
