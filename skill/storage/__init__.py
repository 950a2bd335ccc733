"""Keep each user's records: SQLite by default, DynamoDB at scale.

The parts: `records` (what a user's records are, the injected merge rules both stores apply,
plain-JSON checks), `sqlite` (one file, plus a preallocated journal for saves the database
refused), `dynamodb` (one table: partition key the user, sort key the record). This module
holds the errors both raise and `make_adapter`, the factory the skill is wired with.

Why not ask-sdk's `AbstractPersistenceAdapter`: it loads and saves one document per user,
which is exactly the design that made every event rewrite the whole history. The handlers
reach storage only through `skill.alexa.user`, which loads a snapshot once per request and
saves one `Changes` in the response interceptor, so they stay as thin as with the SDK's.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ask_sdk_core.exceptions import PersistenceException

if TYPE_CHECKING:
    from skill.storage.dynamodb import DynamoAdapter
    from skill.storage.records import Rules
    from skill.storage.sqlite import SQLiteAdapter

ADAPTER_KINDS = ("sqlite", "dynamodb")
SQLITE_FILE_NAME = "trigger-coach.sqlite3"
JOURNAL_FILE_NAME = "trigger-coach.journal"


class StorageError(PersistenceException):
    """Signal that a user's records could not be read or written."""


class StorageUnavailableError(StorageError):
    """Signal that the store cannot be reached, opened, locked or written right now."""


class CorruptRecordError(StorageError):
    """Signal that a stored record of one user cannot be decoded; it is left untouched."""

    def __init__(self, user_id: str, detail: str) -> None:
        self.user_id = user_id
        super().__init__(
            f"The stored document of user {user_id!r} is unreadable ({detail}). It was left "
            f"as it is; inspect it, then call delete({user_id!r}) to let that user start afresh."
        )


def make_adapter(
    kind: str,
    *,
    data_dir: Path,
    table_name: str,
    endpoint_url: str | None,
    rules: Rules | None = None,
    region: str = "us-east-1",
    legacy_table: str | None = None,
) -> SQLiteAdapter | DynamoAdapter:
    """Build the storage adapter named by ``kind``: "sqlite" or "dynamodb".

    SQLite keeps ``data_dir/trigger-coach.sqlite3`` and its journal beside it. DynamoDB uses
    ``table_name``; with an ``endpoint_url`` (a local server such as dynalite) the table is
    created by the first operation that finds it missing, while against AWS it must already
    exist. ``legacy_table`` names a table of the old one-document-per-user layout to migrate
    users from on first touch.
    """
    if kind == "sqlite":
        from skill.storage.sqlite import SQLiteAdapter

        return SQLiteAdapter(Path(data_dir) / SQLITE_FILE_NAME, rules)
    if kind == "dynamodb":
        from skill.storage.dynamodb import DynamoAdapter

        return DynamoAdapter(
            table_name, endpoint_url=endpoint_url, region=region, rules=rules,
            create_table=endpoint_url is not None, legacy_table=legacy_table,
        )
    raise ValueError(f"Unknown storage kind {kind!r}; use one of {', '.join(repr(k) for k in ADAPTER_KINDS)}.")


def __getattr__(name: str) -> object:
    # The adapters import lazily: a Lambda bundle using DynamoDB never loads sqlite3 code
    # paths it does not need, and `from skill.storage import SQLiteAdapter` still works.
    if name == "SQLiteAdapter":
        from skill.storage.sqlite import SQLiteAdapter

        return SQLiteAdapter
    if name == "DynamoAdapter":
        from skill.storage.dynamodb import DynamoAdapter

        return DynamoAdapter
    if name == "SCHEMA_VERSION":
        from skill.storage.sqlite import SCHEMA_VERSION

        return SCHEMA_VERSION
    raise AttributeError(f"module 'skill.storage' has no attribute {name!r}")
