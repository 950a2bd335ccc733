"""Keep users' records in one DynamoDB table: partition key the user, sort key the record.

Items (`id` = userId, `sk` = what it is), each ``{attributes: record, rev: N, updated_at}``:

- ``profile``: the profile document;
- ``device#<deviceId>``: that device's playback record;
- ``run#<started_at>#<runId>``: one run (plus ``run_id``, ``device``, ``epoch``, ``open``),
  so a summary reads its window with one range query on the sort key;
- ``month#<YYYY-MM>``: a folded month (plus ``epoch``);
- ``person#<sha256 of the key>``: in an account's partition, one of its persons (``person``:
  the partition key of that person's profile, runs and months), for `delete_account`.

Every write is read, merge (the injected `Rules`), then a put on condition that the item's
revision is still the one read; a lost race re-reads and re-merges. The merges are
idempotent, so a whole save that failed part-way (throttled, unreachable) is simply run again,
with full jitter, until `SAVE_BUDGET` seconds are used; Alexa waits 8 s for the whole reply.
A small event writes its device item and, when its run changed, that run's item: a few
hundred bytes, at any history length. Numbers come back as int or float, never Decimal.

The wire is `skill.storage.dynamo_client` (no boto3 or botocore on the request path).
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from skill.storage import CorruptRecordError, StorageError, StorageUnavailableError
from skill.storage.dynamo_client import (
    DynamoClient,
    MalformedReply,
    ServiceError,
    TransportError,
    marshal,
    unmarshal,
)
from skill.storage.records import (
    Changes,
    Document,
    Rules,
    RunWrite,
    Snapshot,
    progress_rules,
    require_document,
    require_user_id,
    run_key,
    runs_kept_open,
    whole_view,
)
from skill.storage.sigv4 import NoCredentialsError, credential_source

logger = logging.getLogger("trigger_coach.storage")

_CONFLICT = "ConditionalCheckFailedException"
_BACKOFF_BASE, _BACKOFF_CAP = 0.02, 0.25  # seconds; tuned with 8 writers on one user
SAVE_BUDGET = 5.0  # seconds a save that ends a run may keep retrying; the reply is due within 8 s
QUICK_BUDGET = 0.5  # any other save: playback goes on from the token whatever happens
OPEN_RUNS_LOOKBACK = timedelta(days=2)  # older in-progress runs are counted abandoned anyway
PROFILE = "profile"


class _Conflict(Exception):
    """Signal that a conditional put lost the race to another writer."""


def _is_loopback(endpoint_url: str) -> bool:
    return urlsplit(endpoint_url).hostname in ("localhost", "127.0.0.1", "::1")


_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def regional_endpoint(region: str) -> str:
    """Return DynamoDB's public endpoint in ``region`` (China's regions have their own domain)."""
    if not _REGION.match(region):
        raise ValueError(f"{region!r} is not an AWS region name; set TRIGGER_COACH_AWS_REGION to one such as "
                         "'eu-west-1', or TRIGGER_COACH_DYNAMODB_ENDPOINT to a server's URL.")
    return f"https://dynamodb.{region}.amazonaws.com" + (".cn" if region.startswith("cn-") else "")


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class DynamoAdapter:
    """Persist users' records in one DynamoDB table; see the module docstring."""

    def __init__(
        self,
        table_name: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        rules: Rules | None = None,
        create_table: bool = False,
        max_attempts: int = 16,
        save_budget: float = SAVE_BUDGET,
        quick_budget: float = QUICK_BUDGET,
        legacy_table: str | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}.")
        self.table_name = table_name
        self.endpoint_url = endpoint_url
        self.max_attempts = max_attempts
        self.save_budget = save_budget
        self.quick_budget = quick_budget
        self.legacy_table = legacy_table
        self.rules = rules or progress_rules()
        endpoint = endpoint_url or regional_endpoint(region)
        local = endpoint_url is not None and _is_loopback(endpoint_url)
        # Connect within 1 s and finish each call within 3 s, retries included, rather than hang
        # on an unreachable endpoint; our own save loop retries within its budget.
        self._client = DynamoClient(endpoint, region, credential_source(local=local))
        # Created on first need, not here: a deployed table exists (the SAM template makes it),
        # so a cold start spends no round trip asking, and a local server still gets one.
        self.create_table = create_table

    # Reading.

    def load(self, user_id: str, device_id: str, owner: str | None = None) -> Snapshot:
        """Return the profile of ``owner`` (default: the user) and the user's device records.

        An old whole-history document (a profile not of the split layout, or the user's item
        in ``legacy_table``) is split into records on this first touch; its playback state
        goes to ``device_id``.
        """
        require_user_id(user_id)
        key = owner or user_id
        profile, _ = self._read(key, PROFILE)
        if profile is None and self.legacy_table and owner is None:
            profile = self._legacy(user_id)
        if profile is not None and not self.rules.is_split(profile):
            profile = self._split(key, device_id, profile)
        devices = {item["sk"]["S"][len("device#"):]: doc for item, doc in self._query(user_id, "device#", "device$")}
        return Snapshot(profile or {}, devices)

    def runs_since(self, user_id: str, since: str, epoch: int) -> list[Document]:
        """Return the user's run records of this epoch that started at or after ``since``."""
        require_user_id(user_id)
        by_id: dict[str, Document] = {}
        for item, doc in self._query(user_id, f"run#{since}", "run$"):
            if self._number(item, "epoch") != epoch:
                continue
            run_id = doc.get("run_id")
            by_id[run_id] = self.rules.run(by_id[run_id], doc) if run_id in by_id else doc
        return list(by_id.values())

    def months(self, user_id: str, epoch: int) -> dict[str, Document]:
        """Return the user's folded months of this epoch, by month."""
        return {
            item["sk"]["S"][len("month#"):]: doc for item, doc in self._query(user_id, "month#", "month$")
            if self._number(item, "epoch") == epoch
        }

    def profile(self, user_id: str) -> Document:
        """Return the stored profile document of ``user_id``, or {} when there is none."""
        require_user_id(user_id)
        return self._read(user_id, PROFILE)[0] or {}

    def get(self, user_id: str) -> Document:
        """Return all of a user's records as one document (see `records.whole_view`); for tools and tests."""
        profile = self.profile(user_id)
        if profile and not self.rules.is_split(profile):
            return profile
        epoch = profile.get("epoch", 0) if isinstance(profile.get("epoch", 0), int) else 0
        devices = {item["sk"]["S"][len("device#"):]: doc for item, doc in self._query(user_id, "device#", "device$")}
        return whole_view(profile, devices, self.runs_since(user_id, "", epoch), self.months(user_id, epoch),
                          self.rules)

    # Writing.

    def save(self, user_id: str, changes: Changes) -> str:
        """Write one request's changes, retrying with jitter within a budget; return "saved".

        A save that ends a run (Alexa does not resend events) retries for ``save_budget``
        seconds, any other for ``quick_budget``.

        Raise StorageUnavailableError once the budget is used up: some items may have been
        written, which is harmless, as every write is an idempotent merge.
        """
        require_user_id(user_id)
        ends_run = any(not self.rules.is_open(write.record) for write in changes.runs)
        deadline = time.monotonic() + (self.save_budget if ends_run else self.quick_budget)
        attempt = 0
        while True:
            try:
                self._write(user_id, changes)
                return "saved"
            except StorageUnavailableError as error:
                attempt += 1
                pause = random.uniform(0, min(1.0, 0.05 * 2**attempt))
                if time.monotonic() + pause >= deadline:
                    raise
                logger.warning("Retrying the save of user %r (attempt %d): %s", user_id, attempt + 1, error)
                time.sleep(pause)

    def update(self, user_id: str, fn: Callable[[Document], Document], account: str | None = None) -> Document:
        """Apply ``fn`` to the stored profile ({} if none) atomically and return the result.

        ``fn`` may run more than once when other writers interfere, so it must be pure.
        ``account``: the account ``user_id`` is a person of, which is noted for `delete_account`.
        """
        require_user_id(user_id)
        if account is not None:
            self._add_person(account, user_id)
        return self._merge_item(user_id, PROFILE, lambda stored: fn({} if stored is None else stored))

    def put_months(self, user_id: str, months: dict[str, Document], epoch: int) -> None:
        """Join folded months into storage (a month already stored is kept whole)."""
        for month, bucket in months.items():
            self._merge_item(user_id, f"month#{month}", lambda stored, b=bucket: b if stored is None
                             else self.rules.month(stored, b), extra={"epoch": {"N": str(epoch)}})

    def fold(self, user_id: str, before: str, epoch: int, bucket: Callable[[list[Document]], Document]) -> str | None:
        """Fold the oldest month of runs started before ``before`` into a month record.

        One month per call: the month record is written first, then that month's run items
        are deleted; cut short in between, the next call finds the month stored (kept whole)
        and finishes deleting. Return the month folded, or None when nothing is that old.
        """
        page = self._call(
            f"read the oldest run of user {user_id!r}", "Query", TableName=self.table_name,
            KeyConditionExpression="id = :id AND sk BETWEEN :low AND :high", ConsistentRead=True, Limit=1,
            ExpressionAttributeValues={":id": {"S": user_id}, ":low": {"S": "run#"}, ":high": {"S": f"run#{before}"}},
        )
        if not page.get("Items"):
            return None
        month = page["Items"][0]["sk"]["S"][len("run#"):][:7]
        items = self._query(user_id, f"run#{month}-", f"run#{month}-\uffff")
        runs: dict[Any, Document] = {}  # by run id: a run stored under two starts is one run
        for item, doc in items:
            if self._number(item, "epoch") == epoch:
                key = doc.get("run_id")
                runs[key] = doc if key not in runs else self.rules.run(runs[key], doc)
        self.put_months(user_id, {month: bucket(list(runs.values()))}, epoch)
        for item, _ in items:
            self._delete_item(user_id, item["sk"]["S"])
        return month

    def delete_history(self, user_id: str, before_epoch: int) -> None:
        """Delete the runs and months of epochs before ``before_epoch`` (after a forget)."""
        for low, high in (("run#", "run$"), ("month#", "month$")):
            for item, _ in self._query(user_id, low, high):
                if self._number(item, "epoch") < before_epoch:
                    self._delete_item(user_id, item["sk"]["S"])

    def delete(self, user_id: str) -> int:
        """Delete every record of ``user_id`` and return how many; deleting a missing one does nothing."""
        require_user_id(user_id)
        items = self._query(user_id, "0", "~", decode=False)
        for item, _ in items:
            self._delete_item(user_id, item["sk"]["S"])
        return len(items)

    def delete_account(self, user_id: str) -> int:
        """Delete everything stored for an account and each of its persons; return how many items.

        The persons go first and the account's own items (with the list of its persons) last,
        so a deletion cut short is finished by the next one. An account we never saw deletes
        nothing.
        """
        require_user_id(user_id)
        persons = [item["person"]["S"] for item, _ in self._query(user_id, "person#", "person$", decode=False)
                   if "S" in item.get("person", {})]
        return sum(self.delete(person) for person in persons) + self.delete(user_id)

    def _add_person(self, account: str, owner: str) -> None:
        """Note that ``owner`` is a person of ``account`` (one small put; idempotent)."""
        sk = "person#" + hashlib.sha256(owner.encode("utf-8")).hexdigest()
        self._call(f"note a person of user {account!r}", "PutItem", TableName=self.table_name,
                   Item={"id": {"S": account}, "sk": {"S": sk}, "person": {"S": owner}})

    # Internals: the save.

    def _write(self, user_id: str, changes: Changes) -> None:
        owner = changes.owner or user_id  # whose profile and runs these are; devices are the account's
        if changes.owner is not None and changes.new_owner and (changes.profile is not None or changes.runs):
            self._add_person(user_id, changes.owner)  # first, so no record of a person is left unlisted
        if changes.profile is not None:
            self._merge_item(owner, PROFILE, lambda stored: self.rules.profile(stored, changes.profile))
        for device_id, incoming in changes.devices.items():
            doc = {**incoming, "updated_at": _stamp()}
            self._merge_item(user_id, f"device#{device_id}", lambda stored, d=doc: self.rules.device(stored, d))
        for write in changes.runs:
            self._put_run(owner, write, changes.epoch)
        if changes.started:
            self._close_others(user_id, owner, changes.device_id, changes.now, changes.epoch)

    def _put_run(self, user_id: str, write: RunWrite, epoch: int) -> None:
        record = require_document(write.record, user_id)
        extra = {"run_id": {"S": str(record.get("run_id"))}, "epoch": {"N": str(epoch)},
                 "open": {"BOOL": False}}
        if write.device_id:
            extra["device"] = {"S": write.device_id}

        def merge(stored: Document | None, item: dict[str, Any]) -> Document | None:
            if stored is not None:
                stored_epoch = self._number(item, "epoch")
                if stored_epoch > epoch:
                    return None  # begun before "forget my history": it stays forgotten
                if stored_epoch == epoch:
                    return self.rules.run(stored, record)
            return record

        def finish(doc: Document, item: dict[str, Any]) -> dict[str, Any]:
            out = {**extra, "open": {"BOOL": self.rules.is_open(doc)}}
            if "device" in item and "device" not in out:
                out["device"] = item["device"]  # a write from no device leaves the run where it plays
            return out

        self._merge_item(user_id, run_key(record), merge, with_item=True, extra_of=finish)

    def _close_others(self, user_id: str, owner: str, device_id: str, moment: datetime, epoch: int) -> None:
        """End every in-progress run of ``owner`` on the device except the ones device records now play
        (`runs_kept_open`: this device's, and those another device of the account has taken over)."""
        records = {item["sk"]["S"][len("device#"):]: doc for item, doc in self._query(user_id, "device#", "device$")}
        keep = runs_kept_open(records, device_id)
        since = (moment - OPEN_RUNS_LOOKBACK).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for item, doc in self._query(owner, f"run#{since}", "run$"):
            if (item.get("device", {}).get("S") != device_id or not item.get("open", {}).get("BOOL")
                    or doc.get("run_id") in keep):
                continue
            closed = self.rules.close_run(doc, moment)
            self._put_run(owner, RunWrite(closed, device_id), self._number(item, "epoch") or epoch)

    def _merge_item(
        self, user_id: str, sk: str, merge: Callable[..., Document | None], *, with_item: bool = False,
        extra: dict[str, Any] | None = None,
        extra_of: Callable[[Document, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> Document:
        """Read one item, merge, and put it on condition nobody wrote it meanwhile."""
        for attempt in range(self.max_attempts):
            stored, item = self._read(user_id, sk)
            new = merge(stored, item or {}) if with_item else merge(stored)
            if new is None or new == stored:
                return stored if new is None else new  # nothing changed: write nothing
            require_document(new, user_id)
            rev = int(item["rev"]["N"]) if item and "rev" in item else 0
            body = {
                "id": {"S": user_id}, "sk": {"S": sk},
                "attributes": marshal(new, owner=f" in the document of user {user_id!r}"),
                "rev": {"N": str(rev + 1)}, "updated_at": {"S": _stamp()},
                **(extra or {}), **(extra_of(new, item or {}) if extra_of else {}),
            }
            condition = (
                {"ConditionExpression": "attribute_not_exists(sk)"} if item is None else
                {"ConditionExpression": "#rev = :rev", "ExpressionAttributeNames": {"#rev": "rev"},
                 "ExpressionAttributeValues": {":rev": {"N": str(rev)}}} if "rev" in item else
                {"ConditionExpression": "attribute_not_exists(#rev)", "ExpressionAttributeNames": {"#rev": "rev"}}
            )
            try:
                self._call(f"save the record {sk!r} of user {user_id!r}", "PutItem",
                           TableName=self.table_name, Item=body, **condition)
                return new
            except _Conflict:
                logger.debug("Write conflict on %s/%s, attempt %d.", user_id, sk, attempt + 1)
                # Full jitter keeps competing writers from retrying in lockstep.
                time.sleep(random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2**attempt)))
        logger.warning("Gave up saving %s/%s after %d conflicts.", user_id, sk, self.max_attempts)
        raise StorageUnavailableError(
            f"Could not save the document of user {user_id!r} in DynamoDB table "
            f"{self.table_name!r}: other writers changed it {self.max_attempts} times in a row. "
            "Nothing was written by this call; retry it, or raise max_attempts if the user's "
            "document is this busy on purpose."
        )

    # Internals: migration.

    def _legacy(self, user_id: str) -> Document | None:
        """Return the user's document from the old one-item-per-user table, if any."""
        response = self._call(f"read the old document of user {user_id!r}", "GetItem",
                              TableName=self.legacy_table, Key={"id": {"S": user_id}}, ConsistentRead=True)
        item = response.get("Item")
        if item is None:
            return None
        return self._decode(user_id, item)

    def _split(self, user_id: str, device_id: str, doc: Document) -> Document:
        """Split an old whole-history document into records; the profile is written last.

        Each record is an idempotent merge, so two requests splitting at once, or a split cut
        short, leave the same records as one split that ran to its end.
        """
        try:
            profile, playback, runs, months = self.rules.split(doc)
        except ValueError as error:
            logger.error("Cannot split the document of user %r: %s", user_id, error)
            raise CorruptRecordError(user_id, str(error)) from None
        epoch = profile.get("epoch", 0)
        playing = playback.get("run_id") if playback else None
        for run in runs.values():
            if isinstance(run, dict) and isinstance(run.get("run_id"), str) and isinstance(run.get("started_at"), str):
                self._put_run(user_id, RunWrite(run, device_id if run["run_id"] == playing else None), epoch)
        self.put_months(user_id, months, epoch)
        if playback:
            doc_ = {**playback, "updated_at": _stamp()}
            self._merge_item(user_id, f"device#{device_id}", lambda stored: self.rules.device(stored, doc_))
        self._merge_item(user_id, PROFILE, lambda stored: stored if stored and self.rules.is_split(stored)
                         else profile)
        logger.info("Split the document of user %r into %d run and %d month records.", user_id, len(runs),
                    len(months))
        return profile

    # Internals: items.

    def _decode(self, user_id: str, item: dict[str, Any]) -> Document:
        try:
            attributes = item.get("attributes")
            if attributes is None or "M" not in attributes:
                raise ValueError("its 'attributes' attribute is missing or not a map")
            doc = unmarshal(attributes)
            rev = item.get("rev")
            if rev is not None and "N" not in rev:
                raise ValueError("its 'rev' attribute is not a number")
        except ValueError as error:
            logger.error("Unreadable document for user %r: %s", user_id, error)
            raise CorruptRecordError(user_id, str(error)) from error
        return doc

    @staticmethod
    def _number(item: dict[str, Any], name: str) -> int:
        value = item.get(name, {}).get("N")
        return int(value) if value is not None else 0

    def _read(self, user_id: str, sk: str) -> tuple[Document | None, dict[str, Any] | None]:
        response = self._call(f"read the document of user {user_id!r}", "GetItem",
                              TableName=self.table_name, Key={"id": {"S": user_id}, "sk": {"S": sk}},
                              ConsistentRead=True)
        item = response.get("Item")
        return (None, None) if item is None else (self._decode(user_id, item), item)

    def _query(self, user_id: str, low: str, high: str, *, decode: bool = True) -> list[tuple[dict, Any]]:
        """Return the user's items whose sort key lies in [low, high], with their records."""
        out: list[tuple[dict, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._call(
                f"read the records of user {user_id!r}", "Query", TableName=self.table_name,
                KeyConditionExpression="id = :id AND sk BETWEEN :low AND :high", ConsistentRead=True,
                ExpressionAttributeValues={":id": {"S": user_id}, ":low": {"S": low}, ":high": {"S": high}},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            out += [(item, self._decode(user_id, item) if decode else None) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start:
                return out

    def _delete_item(self, user_id: str, sk: str) -> None:
        self._call(f"delete the records of user {user_id!r}", "DeleteItem",
                   TableName=self.table_name, Key={"id": {"S": user_id}, "sk": {"S": sk}})

    def _call(self, action: str, operation: str, **body: Any) -> dict:
        """Run one DynamoDB operation, its failures as our storage errors saying what to check.

        With ``create_table``, an operation that finds our table missing creates it, waits
        for it to be active and is sent once more.
        """
        return self._send(action, operation, body, may_create=self.create_table and operation != "DescribeTable")

    def _send(self, action: str, operation: str, body: dict[str, Any], *, may_create: bool) -> dict:
        try:
            return self._client.call(operation, body)
        except ServiceError as error:
            if error.code == _CONFLICT:
                raise _Conflict from error
            if error.code == "ResourceNotFoundException" and may_create and body.get("TableName") == self.table_name:
                self._create_table()
                return self._send(action, operation, body, may_create=False)
            if error.code == "ResourceNotFoundException":
                raise StorageUnavailableError(
                    f"Could not {action}: DynamoDB table {body.get('TableName', self.table_name)!r} does "
                    f"not exist{self._at()} or is still being created. Create it with partition key 'id' "
                    "and sort key 'sk' (both strings), or pass create_table=True."
                ) from error
            if error.code == "ValidationException":
                raise StorageError(
                    f"DynamoDB refused to {action} in table {self.table_name!r}: {error.message} "
                    "Keep records under 400 KB and within DynamoDB's limits."
                ) from error
            raise StorageUnavailableError(
                f"DynamoDB refused to {action} in table {self.table_name!r} ({error.code}: "
                f"{error.message}); check the credentials, their permissions and the throughput."
            ) from error
        except NoCredentialsError as error:
            raise StorageUnavailableError(f"Could not {action}: {error}") from error
        except TransportError as error:
            what = "gave a reply that cannot be read" if isinstance(error, MalformedReply) else "is unreachable"
            raise StorageUnavailableError(
                f"Could not {action}: DynamoDB{self._at()} {what} ({error}); check "
                "endpoint_url, the network and the AWS credentials."
            ) from error

    def _create_table(self, timeout: float = 30.0) -> None:
        try:
            self._client.call("CreateTable", {
                "TableName": self.table_name,
                "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
                                         {"AttributeName": "sk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            })
        except ServiceError as error:
            if error.code != "ResourceInUseException":
                raise StorageUnavailableError(
                    f"Could not create DynamoDB table {self.table_name!r}{self._at()} ({error}); check "
                    "the table name (3-255 characters), the endpoint and the credentials."
                ) from error
        except NoCredentialsError as error:
            raise StorageUnavailableError(f"Could not create DynamoDB table {self.table_name!r}: {error}") from error
        except TransportError as error:
            raise StorageUnavailableError(
                f"Could not create DynamoDB table {self.table_name!r}: DynamoDB{self._at()} is unreachable "
                f"({error}); check endpoint_url and the network."
            ) from error
        # boto3's table_exists waiter polls every 20 s; new tables are usually ready in under 1 s.
        deadline = time.monotonic() + timeout
        pause = 0.02
        while True:
            table = self._call("describe the table", "DescribeTable", TableName=self.table_name)["Table"]
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
