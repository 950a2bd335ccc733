"""Keep one JSON document per Alexa user: SQLite by default, DynamoDB at scale.

Both adapters are ask-sdk ``AbstractPersistenceAdapter`` implementations keyed by
``context.System.user.userId``. Every save is an atomic read-merge-write for that user, so
requests and AudioPlayer events that arrive together never lose each other's changes. The
storage does not know what the document means: the skill passes a pure ``merge`` function
(stored document or None, incoming document → document to write); by default the incoming
document replaces the stored one. Documents hold plain JSON types only, in and out.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException
from ask_sdk_dynamodb.partition_keygen import user_id_partition_keygen

if TYPE_CHECKING:
    from ask_sdk_model import RequestEnvelope
    from botocore.client import BaseClient

logger = logging.getLogger("trigger_coach.storage")

Document = dict[str, Any]
Merge = Callable[[Document | None, Document], Document]
Change = Callable[[Document | None], Document]

ADAPTER_KINDS = ("sqlite", "dynamodb")
SQLITE_FILE_NAME = "trigger-coach.sqlite3"


class StorageError(PersistenceException):
    """Signal that a user's document could not be read or written."""


class StorageUnavailableError(StorageError):
    """Signal that the store cannot be reached, opened, locked or written right now."""


class CorruptRecordError(StorageError):
    """Signal that the stored document of one user cannot be decoded; it is left untouched."""

    def __init__(self, user_id: str, detail: str) -> None:
        self.user_id = user_id
        super().__init__(
            f"The stored document of user {user_id!r} is unreadable ({detail}). It was left "
            f"as it is; inspect it, then call delete({user_id!r}) to let that user start afresh."
        )


def replace_stored(stored: Document | None, incoming: Document) -> Document:
    """Return the incoming document: the default merge, last writer wins."""
    return incoming


# --- shared rules ---------------------------------------------------------------------------


def _require_user_id(user_id: object) -> str:
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(
            f"A user id must be a non-empty string, got {user_id!r}; pass context.System.user.userId from the request."
        )
    return user_id


def _user_id_of(request_envelope: RequestEnvelope) -> str:
    return _require_user_id(user_id_partition_keygen(request_envelope))


def _require_document(doc: object, user_id: str) -> Document:
    """Check that ``doc`` is a dict of plain JSON values, so both stores round-trip it exactly."""
    if not isinstance(doc, dict):
        raise TypeError(
            f"The document for user {user_id!r} must be a dict, got {type(doc).__name__}; "
            "return a JSON object from merge or update functions."
        )
    _require_plain_json(doc, "$", user_id)
    return doc


def _require_plain_json(value: object, where: str, user_id: str) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(
                f"The value {value!r} at {where} in the document of user {user_id!r} is not a "
                "finite number, which JSON cannot hold; store null or a string instead."
            )
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _require_plain_json(item, f"{where}[{index}]", user_id)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"The key {key!r} at {where} in the document of user {user_id!r} is not a "
                    "string; JSON object keys must be strings, so convert it with str()."
                )
            _require_plain_json(item, f"{where}.{key}", user_id)
        return
    raise TypeError(
        f"The value at {where} in the document of user {user_id!r} is a "
        f"{type(value).__name__} ({value!r}), which is not a plain JSON type; convert it to "
        "a str, int, float, bool, None, list or dict before saving."
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


# --- SQLite ---------------------------------------------------------------------------------

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
)
SCHEMA_VERSION = len(_MIGRATIONS)

_UPSERT = (
    "INSERT INTO users (user_id, doc, rev, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user_id) DO UPDATE "
    "SET doc = excluded.doc, rev = excluded.rev, updated_at = excluded.updated_at"
)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _decode(user_id: str, text: object) -> Document:
    try:
        if not isinstance(text, str):
            raise ValueError(f"expected JSON text, found {type(text).__name__}")
        doc = json.loads(text, parse_constant=_reject_constant)
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, found {type(doc).__name__}")
    except ValueError as error:
        logger.error("Unreadable document for user %r: %s", user_id, error)
        raise CorruptRecordError(user_id, str(error)) from error
    return doc


class SQLiteAdapter(AbstractPersistenceAdapter):
    """Persist documents in one SQLite file (WAL mode), safe across threads and processes.

    Each thread uses its own connection, opened on first use. A save holds SQLite's write lock
    (``BEGIN IMMEDIATE``) from the read through the merge to the write, so writers to the same
    file queue up instead of overwriting each other. ``synchronous=NORMAL`` keeps every commit
    atomic; a power cut may forget the last commits, never half of one.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        merge: Merge | None = None,
        *,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._merge = merge or replace_stored
        self._local = threading.local()
        self._migrate()

    # The ask-sdk interface.

    def get_attributes(self, request_envelope: RequestEnvelope) -> Document:
        """Return the document of the envelope's user, or {} when there is none."""
        return self.get(_user_id_of(request_envelope))

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: Document) -> None:
        """Merge ``attributes`` into the envelope's user's stored document atomically."""
        user_id = _user_id_of(request_envelope)
        # The merged result is checked for plain JSON before it is written; no need to walk
        # the incoming document twice.
        self._read_modify_write(user_id, lambda stored: self._merge(stored, attributes))

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        """Delete the document of the envelope's user."""
        self.delete(_user_id_of(request_envelope))

    # By user id, for work outside a request.

    def get(self, user_id: str) -> Document:
        """Return the stored document of ``user_id``, or {} when there is none."""
        _require_user_id(user_id)
        with self._errors(f"read the document of user {user_id!r}"):
            row = self._connection().execute("SELECT doc FROM users WHERE user_id = ?", (user_id,)).fetchone()
        return {} if row is None else _decode(user_id, row[0])

    def update(self, user_id: str, fn: Callable[[Document], Document]) -> Document:
        """Apply ``fn`` to the stored document ({} if none) atomically and return the result."""
        _require_user_id(user_id)
        return self._read_modify_write(user_id, lambda stored: fn({} if stored is None else stored))

    def delete(self, user_id: str) -> None:
        """Delete the stored document of ``user_id``; deleting a missing one does nothing."""
        _require_user_id(user_id)
        with self._errors(f"delete the document of user {user_id!r}"):
            self._connection().execute("DELETE FROM users WHERE user_id = ?", (user_id,))

    # Internals.

    def _read_modify_write(self, user_id: str, change: Change) -> Document:
        with self._errors(f"save the document of user {user_id!r}"):
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT doc, rev FROM users WHERE user_id = ?", (user_id,)).fetchone()
                stored = None if row is None else _decode(user_id, row[0])
                doc = _require_document(change(stored), user_id)
                text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                rev = 1 if row is None else row[1] + 1
                conn.execute(_UPSERT, (user_id, text, rev, _now()))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        return doc

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        # A connection must not cross a fork; a child process opens its own.
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _forget_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise
        except sqlite3.Error as error:
            # A connection that failed may be in a bad state; the next call opens a fresh one.
            self._forget_connection()
            raise StorageUnavailableError(self._explain(error, action)) from error
        except OSError as error:
            raise StorageUnavailableError(
                f"Could not {action} in SQLite database '{self.path}' ({error}); "
                "check that its directory exists and is writable."
            ) from error

    def _explain(self, error: sqlite3.Error, action: str) -> str:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            return (
                f"Could not {action}: SQLite database '{self.path}' stayed locked by another "
                f"writer for more than {self.busy_timeout:g} s. Nothing was written; retry, "
                "or raise busy_timeout if this happens under normal load."
            )
        return (
            f"Could not {action} in SQLite database '{self.path}' ({error}). Nothing was "
            "written; check that the file is a SQLite database and that its directory exists, "
            "is writable and has free space."
        )

    def _migrate(self) -> None:
        with self._errors("open the database"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connection()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                logger.warning(
                    "SQLite database %s runs in journal mode %r, not WAL; readers will wait for writers.",
                    self.path,
                    mode,
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
                    conn.execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                        (version, _now()),
                    )
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


# --- DynamoDB -------------------------------------------------------------------------------

_CONFLICT = "ConditionalCheckFailedException"
_BACKOFF_BASE, _BACKOFF_CAP = 0.02, 0.25  # seconds; tuned with 8 writers on one user
_import_lock = threading.Lock()


class _Conflict(Exception):
    """Signal that a conditional put lost the race to another writer."""


def _sdk_dynamodb_adapter_class(region: str) -> type:
    """Import ask-sdk's ``DynamoDbAdapter`` even on a machine with no AWS region configured."""
    from botocore.exceptions import NoRegionError

    try:
        from ask_sdk_dynamodb.adapter import DynamoDbAdapter
    except NoRegionError:
        # The module evaluates boto3.resource("dynamodb") as a default argument at import time,
        # which fails where no region is configured (CI, a laptop). Lend it one for the import.
        with _import_lock:
            previous = os.environ.get("AWS_DEFAULT_REGION")
            os.environ["AWS_DEFAULT_REGION"] = region
            try:
                from ask_sdk_dynamodb.adapter import DynamoDbAdapter
            finally:
                if previous is None:
                    del os.environ["AWS_DEFAULT_REGION"]
                else:
                    os.environ["AWS_DEFAULT_REGION"] = previous
    return DynamoDbAdapter


def _is_loopback(endpoint_url: str) -> bool:
    return urlsplit(endpoint_url).hostname in ("localhost", "127.0.0.1", "::1")


def _to_dynamo(value: Any, where: str, user_id: str) -> Any:
    """Return ``value`` with numbers as Decimals for boto3, checked against DynamoDB limits."""
    from boto3.dynamodb.types import DYNAMODB_CONTEXT

    if isinstance(value, dict):
        return {key: _to_dynamo(item, f"{where}.{key}", user_id) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(item, f"{where}[{i}]", user_id) for i, item in enumerate(value)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e38:
            # It reads back as an int, which must equal the float exactly, not its short repr.
            value = int(value)
        # repr() is the shortest text that reads back as the same float.
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        try:
            return DYNAMODB_CONTEXT.create_decimal(number)
        except DecimalException:
            raise ValueError(
                f"The number {value!r} at {where} in the document of user {user_id!r} does not "
                "fit DynamoDB (38 significant digits, magnitudes 1e-130 to 1e126); round or "
                "scale it, or store it as a string."
            ) from None
    return value


def _from_dynamo(value: Any) -> Any:
    """Return ``value`` with DynamoDB's Decimals turned back into ints and floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _from_dynamo(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(item) for item in value]
    if value is None or isinstance(value, str | bool):
        return value
    raise ValueError(f"found a DynamoDB {type(value).__name__}, which is not a JSON type")


class DynamoAdapter(AbstractPersistenceAdapter):
    """Persist documents in a DynamoDB table laid out like ask-sdk's ``DynamoDbAdapter``.

    Items are ``{id: userId, attributes: document, rev: N, updated_at: ISO time}``. It wraps
    the official adapter, which owns the table conventions and table creation, and adds
    optimistic concurrency: a save reads the item, merges, and puts it on condition that the
    revision is still the one it read; on a conflict it re-reads and re-merges, up to
    ``max_attempts`` times.
    """

    def __init__(
        self,
        table_name: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        merge: Merge | None = None,
        create_table: bool = False,
        max_attempts: int = 16,
    ) -> None:
        import boto3
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
        from botocore.config import Config

        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}.")
        self.table_name = table_name
        self.endpoint_url = endpoint_url
        self.max_attempts = max_attempts
        self._merge = merge or replace_stored
        self._serializer, self._deserializer = TypeSerializer(), TypeDeserializer()

        session = boto3.session.Session(region_name=region)
        if endpoint_url and _is_loopback(endpoint_url) and session.get_credentials() is None:
            # Local DynamoDB-compatible servers (dynalite, DynamoDB Local) accept any key, but
            # botocore still needs one to sign requests.
            session = boto3.session.Session(
                aws_access_key_id="local", aws_secret_access_key="local", region_name=region
            )
        # Alexa waits 8 s for the whole response: fail over to StorageUnavailableError well
        # before that rather than hang on an unreachable endpoint.
        config = Config(
            connect_timeout=1,
            read_timeout=2,
            retries={"mode": "standard", "total_max_attempts": 2},
            max_pool_connections=32,
        )
        # Requests go through a plain client: it is thread-safe, unlike boto3 resources, and
        # takes DynamoDB-typed values as they are (a resource's client re-serializes them).
        self._client: BaseClient = session.client("dynamodb", endpoint_url=endpoint_url, config=config)
        resource = session.resource("dynamodb", endpoint_url=endpoint_url, config=config)
        try:
            self._sdk = _sdk_dynamodb_adapter_class(region)(
                table_name,
                create_table=create_table,
                partition_keygen=user_id_partition_keygen,
                dynamodb_resource=resource,
            )
        except PersistenceException as error:
            raise StorageUnavailableError(
                f"Could not create DynamoDB table {table_name!r}{self._at()} ({error}); check "
                "the table name (3-255 characters), the endpoint and the credentials."
            ) from error
        self._key = self._sdk.partition_key_name
        self._attributes = self._sdk.attribute_name
        if create_table:
            self._wait_until_active()

    # The ask-sdk interface.

    def get_attributes(self, request_envelope: RequestEnvelope) -> Document:
        """Return the document of the envelope's user, or {} when there is none."""
        return self.get(self._user_id_of(request_envelope))

    def save_attributes(self, request_envelope: RequestEnvelope, attributes: Document) -> None:
        """Merge ``attributes`` into the envelope's user's stored document atomically."""
        user_id = self._user_id_of(request_envelope)
        _require_document(attributes, user_id)
        self._read_modify_write(user_id, lambda stored: self._merge(stored, attributes))

    def delete_attributes(self, request_envelope: RequestEnvelope) -> None:
        """Delete the document of the envelope's user."""
        self.delete(self._user_id_of(request_envelope))

    # By user id, for work outside a request.

    def get(self, user_id: str) -> Document:
        """Return the stored document of ``user_id``, or {} when there is none."""
        _require_user_id(user_id)
        doc, _ = self._read(user_id)
        return {} if doc is None else doc

    def update(self, user_id: str, fn: Callable[[Document], Document]) -> Document:
        """Apply ``fn`` to the stored document ({} if none) atomically and return the result.

        ``fn`` may run more than once when other writers interfere, so it must be pure.
        """
        _require_user_id(user_id)
        return self._read_modify_write(user_id, lambda stored: fn({} if stored is None else stored))

    def delete(self, user_id: str) -> None:
        """Delete the stored document of ``user_id``; deleting a missing one does nothing."""
        _require_user_id(user_id)
        self._call(
            f"delete the document of user {user_id!r}",
            self._client.delete_item,
            TableName=self.table_name,
            Key={self._key: {"S": user_id}},
        )

    # Internals.

    def _user_id_of(self, request_envelope: RequestEnvelope) -> str:
        return _require_user_id(self._sdk.partition_keygen(request_envelope))

    def _read(self, user_id: str) -> tuple[Document | None, dict[str, str] | None]:
        """Return the stored document and its raw revision; (None, None) when there is none."""
        response = self._call(
            f"read the document of user {user_id!r}",
            self._client.get_item,
            TableName=self.table_name,
            Key={self._key: {"S": user_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None:
            return None, None
        try:
            attributes = item.get(self._attributes)
            if attributes is None or "M" not in attributes:
                raise ValueError(f"its {self._attributes!r} attribute is missing or not a map")
            doc = _from_dynamo(self._deserializer.deserialize(attributes))
            rev = item.get("rev")
            if rev is not None and "N" not in rev:
                raise ValueError("its 'rev' attribute is not a number")
        except ValueError as error:
            logger.error("Unreadable document for user %r: %s", user_id, error)
            raise CorruptRecordError(user_id, str(error)) from error
        return doc, rev

    def _read_modify_write(self, user_id: str, change: Change) -> Document:
        for attempt in range(self.max_attempts):
            stored, rev = self._read(user_id)
            doc = _require_document(change(stored), user_id)
            item = {
                self._key: {"S": user_id},
                self._attributes: self._serializer.serialize(_to_dynamo(doc, "$", user_id)),
                "rev": {"N": str(int(rev["N"]) + 1 if rev else 1)},
                "updated_at": {"S": _now()},
            }
            try:
                self._call(
                    f"save the document of user {user_id!r}",
                    self._client.put_item,
                    TableName=self.table_name,
                    Item=item,
                    **self._unchanged_since_read(stored is not None, rev),
                )
                return doc
            except _Conflict:
                logger.debug("Write conflict for user %r on attempt %d.", user_id, attempt + 1)
                # Full jitter keeps competing writers from retrying in lockstep.
                time.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
        logger.warning("Gave up saving user %r after %d conflicts.", user_id, self.max_attempts)
        raise StorageUnavailableError(
            f"Could not save the document of user {user_id!r} in DynamoDB table "
            f"{self.table_name!r}: other writers changed it {self.max_attempts} times in a row. "
            "Nothing was written by this call; retry it, or raise max_attempts if the user's "
            "document is this busy on purpose."
        )

    def _unchanged_since_read(self, existed: bool, rev: dict[str, str] | None) -> dict[str, Any]:
        """Return put_item arguments that make the put fail if the item changed since read."""
        if not existed:
            return {
                "ConditionExpression": "attribute_not_exists(#id)",
                "ExpressionAttributeNames": {"#id": self._key},
            }
        if rev is None:
            # Written by the stock ask-sdk adapter, which keeps no revision.
            return {
                "ConditionExpression": "attribute_exists(#id) AND attribute_not_exists(#rev)",
                "ExpressionAttributeNames": {"#id": self._key, "#rev": "rev"},
            }
        return {
            "ConditionExpression": "#rev = :expected",
            "ExpressionAttributeNames": {"#rev": "rev"},
            "ExpressionAttributeValues": {":expected": rev},
        }

    def _call(self, action: str, operation: Callable[..., dict], **kwargs: Any) -> dict:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return operation(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            message = error.response.get("Error", {}).get("Message", "")
            if code == _CONFLICT:
                raise _Conflict from error
            if code == "ResourceNotFoundException":
                raise StorageUnavailableError(
                    f"Could not {action}: DynamoDB table {self.table_name!r} does not exist"
                    f"{self._at()} or is still being created. Create it with partition key "
                    "'id' (string), or pass create_table=True."
                ) from error
            if code == "ValidationException":
                raise StorageError(
                    f"DynamoDB refused to {action} in table {self.table_name!r}: {message} "
                    "Keep documents under 400 KB and within DynamoDB's limits."
                ) from error
            raise StorageUnavailableError(
                f"DynamoDB refused to {action} in table {self.table_name!r} ({code}: "
                f"{message}); check the credentials, their permissions and the throughput."
            ) from error
        except BotoCoreError as error:
            raise StorageUnavailableError(
                f"Could not {action}: DynamoDB{self._at()} is unreachable ({error}); check "
                "endpoint_url, the network and the AWS credentials."
            ) from error

    def _wait_until_active(self, timeout: float = 30.0) -> None:
        # boto3's table_exists waiter polls every 20 s; new tables are usually ready in under 1 s.
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            table = self._call("describe the table", self._client.describe_table, TableName=self.table_name)["Table"]
            if table["TableStatus"] == "ACTIVE":
                return
            if time.monotonic() > deadline:
                raise StorageUnavailableError(
                    f"DynamoDB table {self.table_name!r}{self._at()} was still "
                    f"{table['TableStatus']} after {timeout:g} s; wait and retry."
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.5)

    def _at(self) -> str:
        return f" at {self.endpoint_url}" if self.endpoint_url else ""


# --- factory --------------------------------------------------------------------------------


def make_adapter(
    kind: str,
    *,
    data_dir: Path,
    table_name: str,
    endpoint_url: str | None,
    merge: Merge | None = None,
    region: str = "us-east-1",
) -> SQLiteAdapter | DynamoAdapter:
    """Build the storage adapter named by ``kind``: "sqlite" or "dynamodb".

    SQLite keeps ``data_dir/trigger-coach.sqlite3``. DynamoDB uses ``table_name``; with an
    ``endpoint_url`` (a local server such as dynalite) the table is created when missing,
    while against AWS it must already exist.
    """
    if kind == "sqlite":
        return SQLiteAdapter(Path(data_dir) / SQLITE_FILE_NAME, merge=merge)
    if kind == "dynamodb":
        return DynamoAdapter(
            table_name,
            endpoint_url=endpoint_url,
            region=region,
            merge=merge,
            create_table=endpoint_url is not None,
        )
    raise ValueError(f"Unknown storage kind {kind!r}; use one of {', '.join(repr(k) for k in ADAPTER_KINDS)}.")
