"""Check both storage adapters against real stores: a SQLite file and a dynalite server."""

from __future__ import annotations

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from ask_sdk_core.attributes_manager import AttributesManager
from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.audioplayer import PlaybackStoppedRequest
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.user import User

from skill.storage import (
    SCHEMA_VERSION,
    SQLITE_FILE_NAME,
    CorruptRecordError,
    DynamoAdapter,
    SQLiteAdapter,
    StorageError,
    StorageUnavailableError,
    make_adapter,
)
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)

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


def union_of_events(stored: dict | None, incoming: dict) -> dict:
    events = set((stored or {}).get("events", [])) | set(incoming.get("events", []))
    return {**(stored or {}), **incoming, "events": sorted(events)}


def envelope_for(user_id: str) -> RequestEnvelope:
    """Build an AudioPlayer event envelope: no session, only context.System.user."""
    return RequestEnvelope(
        version="1.0",
        context=Context(system=SystemState(user=User(user_id=user_id))),
        request=PlaybackStoppedRequest(
            request_id="amzn1.echo-api.request.test",
            timestamp=datetime(2025, 1, 1),
            locale="en-US",
            token="neck|0|run-1",
            offset_in_milliseconds=1234,
        ),
    )


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

    def open(self, merge: Callable | None = None, *, stress: bool = False, **options: Any) -> Adapter:
        """Open another adapter (its own connections) on the same store.

        ``stress`` is for tests that pile many writers onto one user, far beyond what one
        Alexa user produces: DynamoDB then gets enough conflict retries that the test checks
        lost updates, not the retry bound (which has its own test).
        """
        if self.kind == "sqlite":
            return SQLiteAdapter(self.data_dir / SQLITE_FILE_NAME, merge=merge, **options)
        if stress:
            options.setdefault("max_attempts", 100)
        return DynamoAdapter(
            self.table_name,
            endpoint_url=self.endpoint_url,
            merge=merge,
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
            Item={"id": {"S": user_id}, "attributes": {"S": "not a map"}, "rev": {"N": "1"}},
        )
        return self.raw_record(user_id)

    def raw_record(self, user_id: str) -> Any:
        if self.kind == "sqlite":
            with sqlite3.connect(self.data_dir / SQLITE_FILE_NAME) as conn:
                return conn.execute("SELECT doc, rev FROM users WHERE user_id = ?", (user_id,)).fetchone()
        item = (
            self._client()
            .get_item(TableName=self.table_name, Key={"id": {"S": user_id}}, ConsistentRead=True)
            .get("Item")
        )
        return None if item is None else {k: v for k, v in item.items() if k != "updated_at"}

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
    assert adapter.get_attributes(envelope_for("nobody")) == {}


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


def test_request_envelopes_read_save_and_delete_the_document_of_their_user(store: Store) -> None:
    adapter = store.open()
    adapter.save_attributes(envelope_for("amzn1.ask.account.A"), {"track": 1, "offset": 0.5})
    adapter.save_attributes(envelope_for("amzn1.ask.account.B"), {"track": 7})
    assert adapter.get_attributes(envelope_for("amzn1.ask.account.A")) == {
        "track": 1,
        "offset": 0.5,
    }
    assert adapter.get("amzn1.ask.account.B") == {"track": 7}
    adapter.delete_attributes(envelope_for("amzn1.ask.account.A"))
    assert adapter.get_attributes(envelope_for("amzn1.ask.account.A")) == {}
    assert adapter.get("amzn1.ask.account.B") == {"track": 7}


def test_the_sdk_attributes_manager_loads_and_saves_through_the_adapter(store: Store) -> None:
    adapter = store.open()
    adapter.update("amzn1.ask.account.A", lambda _: {"track": 2, "ratio": 0.25})
    manager = AttributesManager(envelope_for("amzn1.ask.account.A"), persistence_adapter=adapter)
    attributes = manager.persistent_attributes
    assert_plain_json(attributes)
    assert attributes == {"track": 2, "ratio": 0.25}
    attributes["track"] = 3
    manager.save_persistent_attributes()
    assert adapter.get("amzn1.ask.account.A") == {"track": 3, "ratio": 0.25}


def test_an_envelope_without_a_user_id_is_refused_with_a_sentence(store: Store) -> None:
    adapter = store.open()
    with pytest.raises(ValueError, match="user id must be a non-empty string"):
        adapter.get_attributes(envelope_for(""))


def test_save_replaces_the_stored_document_when_no_merge_is_given(store: Store) -> None:
    adapter = store.open()
    adapter.save_attributes(envelope_for("user-a"), {"track": 1, "offset": 10})
    adapter.save_attributes(envelope_for("user-a"), {"track": 2})
    assert adapter.get("user-a") == {"track": 2}


def test_the_merge_function_receives_the_stored_document_or_none(store: Store) -> None:
    calls: list[tuple[dict | None, dict]] = []

    def recording_merge(stored: dict | None, incoming: dict) -> dict:
        calls.append((stored, incoming))
        return union_of_events(stored, incoming)

    adapter = store.open(merge=recording_merge)
    adapter.save_attributes(envelope_for("user-a"), {"events": ["started"]})
    adapter.save_attributes(envelope_for("user-a"), {"events": ["paused"]})
    assert calls == [
        (None, {"events": ["started"]}),
        ({"events": ["started"]}, {"events": ["paused"]}),
    ]
    assert adapter.get("user-a") == {"events": ["paused", "started"]}


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


def test_concurrent_envelope_saves_are_all_merged_into_the_stored_document(store: Store) -> None:
    adapter = store.open(merge=union_of_events, stress=True)
    threads, per_thread = 6, 15

    def work(worker: int) -> None:
        for n in range(per_thread):
            adapter.save_attributes(envelope_for("busy-user"), {"events": [f"{worker}-{n}"]})

    workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    events = adapter.get("busy-user")["events"]
    assert len(events) == threads * per_thread
    assert set(events) == {f"{w}-{n}" for w in range(threads) for n in range(per_thread)}


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
        adapter.save_attributes(envelope_for("broken-user"), {"track": 2})
    with pytest.raises(CorruptRecordError):
        adapter.get_attributes(envelope_for("broken-user"))
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
        adapter.save_attributes(envelope_for("user-a"), document)
    assert adapter.get("user-a") == {"track": 1}


def test_a_merge_that_returns_no_dict_is_refused_with_a_sentence(store: Store) -> None:
    adapter = store.open(merge=lambda stored, incoming: None)
    with pytest.raises(TypeError, match="must be a dict, got NoneType"):
        adapter.save_attributes(envelope_for("user-a"), {"track": 1})
    assert adapter.get("user-a") == {}


def test_no_decimal_ever_comes_out_of_any_read_path(store: Store) -> None:
    adapter = store.open()
    written = adapter.update("user-a", lambda _: NESTED_DOC)
    adapter.save_attributes(envelope_for("user-b"), {"offset": 1.5, "list": [0.25, 3]})
    for value in (
        written,
        adapter.get("user-a"),
        adapter.get_attributes(envelope_for("user-b")),
        adapter.update("user-b", lambda doc: doc),
        AttributesManager(envelope_for("user-b"), adapter).persistent_attributes,
    ):
        assert_plain_json(value)
    assert adapter.get("user-b") == {"offset": 1.5, "list": [0.25, 3]}


# --- SQLite -----------------------------------------------------------------------------------


def test_the_sqlite_file_runs_in_wal_mode(tmp_path: Path) -> None:
    SQLiteAdapter(tmp_path / "db.sqlite3")
    with sqlite3.connect(tmp_path / "db.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_migrating_an_empty_file_creates_schema_version_1_and_reopening_changes_nothing(
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
    assert SCHEMA_VERSION == 1
    assert versions == [(1,)]
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
        conn.execute("INSERT INTO schema_version VALUES (2, 'later')")
    with pytest.raises(StorageUnavailableError, match="schema version 2, newer than the 1"):
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
            adapter.save_attributes(envelope_for("user-a"), {"count": 9})
        assert time.monotonic() - started < 2
        assert adapter.get("user-a") == {"count": 1}  # WAL readers do not wait for writers
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert adapter.update("user-a", increment) == {"count": 2}


# --- DynamoDB ---------------------------------------------------------------------------------


def test_items_written_by_the_stock_sdk_adapter_are_read_and_updated(dynamo_store: Store) -> None:
    adapter = dynamo_store.open()
    # skill.storage imported the SDK adapter module already (it needs a region to import).
    from ask_sdk_dynamodb.adapter import DynamoDbAdapter

    stock = DynamoDbAdapter(
        dynamo_store.table_name,
        dynamodb_resource=boto3.session.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
        ).resource("dynamodb", endpoint_url=dynamo_store.endpoint_url),
    )
    stock.save_attributes(envelope_for("old-user"), {"track": Decimal(4), "ratio": Decimal("0.5")})
    assert_same_json(adapter.get_attributes(envelope_for("old-user")), {"track": 4, "ratio": 0.5})
    assert adapter.update("old-user", increment) == {"track": 4, "ratio": 0.5, "count": 1}
    assert adapter.update("old-user", increment)["count"] == 2
    assert stock.get_attributes(envelope_for("old-user"))["count"] == Decimal(2)


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


def test_an_invalid_table_name_is_refused_when_creating_it(dynalite_endpoint: str) -> None:  # noqa: F811
    with pytest.raises(StorageUnavailableError, match="Could not create DynamoDB table 'ab'"):
        DynamoAdapter("ab", endpoint_url=dynalite_endpoint, create_table=True)


def test_an_unreachable_dynamodb_raises_storage_unavailable() -> None:
    with socket.socket() as probe:  # a loopback port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    adapter = DynamoAdapter("trigger-coach", endpoint_url=f"http://127.0.0.1:{port}")
    with pytest.raises(StorageUnavailableError, match="is unreachable"):
        adapter.get("user-a")
    with pytest.raises(StorageUnavailableError, match="is unreachable"):
        adapter.save_attributes(envelope_for("user-a"), {"track": 1})


# --- the factory ------------------------------------------------------------------------------


def test_make_adapter_puts_the_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    adapter = make_adapter("sqlite", data_dir=tmp_path / "var", table_name="unused", endpoint_url=None)
    assert isinstance(adapter, SQLiteAdapter)
    adapter.update("user-a", increment)
    assert (tmp_path / "var" / "trigger-coach.sqlite3").is_file()


def test_make_adapter_builds_a_dynamodb_adapter_that_creates_a_local_table(
    dynalite_endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    adapter = make_adapter(
        "dynamodb",
        data_dir=tmp_path,
        table_name=f"trigger-coach-{uuid.uuid4().hex[:12]}",
        endpoint_url=dynalite_endpoint,
        merge=union_of_events,
    )
    assert isinstance(adapter, DynamoAdapter)
    adapter.save_attributes(envelope_for("user-a"), {"events": ["a"]})
    adapter.save_attributes(envelope_for("user-a"), {"events": ["b"]})
    assert adapter.get("user-a") == {"events": ["a", "b"]}


def test_make_adapter_rejects_an_unknown_kind_naming_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"Unknown storage kind 'redis'; use one of 'sqlite', 'dynamodb'\."):
        make_adapter("redis", data_dir=tmp_path, table_name="t", endpoint_url=None)


def test_every_storage_error_is_an_sdk_persistence_exception() -> None:
    from ask_sdk_core.exceptions import PersistenceException

    assert issubclass(StorageUnavailableError, StorageError)
    assert issubclass(CorruptRecordError, StorageError)
    assert issubclass(StorageError, PersistenceException)
