"""The record rules both stores share: what a user's records are and how writes merge.

A user has a few kinds of small records, each written atomically and idempotently by its key:

- the **profile** (one per user): forget epoch, last routine, first-run briefing, and any key
  other parts of the skill keep; older versions kept the whole history in this document,
  which is split into the records below on first touch (`Rules.split`);
- one **device** record per (user, device): that device's playback state, a few hundred
  bytes, written on AudioPlayer events; a write replaces it only if its sequence number is
  not older (`Rules.device`), so a late request cannot roll a device back;
- one **run** record per run, keyed by run id and start, joined with the stored copy on
  every write (`Rules.run`), written only when that run changed;
- one **month** record per folded month (totals of runs that are no longer kept one by one).

Every person in the home: when Alexa recognises who speaks (`context.System.person`), the
profile, runs and months belong to that person, under `person_key(account, personId)`; the
device records stay with the account (playback follows the device). A store keeps a list of
the persons each account has (`Changes.owner` adds to it), so `delete_account` removes them all.

Storage does not know what the records mean: the skill injects `Rules` (pure functions,
the defaults come from `skill.core.progress`), and both adapters call the same rules, so
SQLite and DynamoDB merge identically. Records hold plain JSON types only, in and out.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

Document = dict[str, Any]
Merge = Callable[[Document | None, Document], Document]


class Rules(NamedTuple):
    """The pure merge rules a store applies; see the module docstring."""

    profile: Merge
    device: Merge
    run: Callable[[Document, Document], Document]
    month: Callable[[Document, Document], Document]
    close_run: Callable[[Document, datetime], Document]  # end a run its device left behind
    is_open: Callable[[Document], bool]  # still in progress?
    split: Callable[[Document], tuple[Document, Document | None, dict[str, Document], dict[str, Document]]]
    is_split: Callable[[Document], bool]  # a profile of this layout (not an old whole-history one)


def progress_rules() -> Rules:
    """Return the rules of Trigger Coach's records, from the pure core."""
    from skill.core import progress

    return Rules(
        profile=progress.join_profiles,
        device=progress.join_devices,
        run=progress.join_runs,
        month=progress.join_months,
        close_run=progress.close_run,
        is_open=lambda run: run.get("outcome") == progress.IN_PROGRESS,
        split=progress.split_profile,
        is_split=progress.is_split_profile,
    )


def runs_kept_open(devices: dict[str, Document], device_id: str) -> set[str]:
    """Return the runs a start on ``device_id`` must not end, from the account's device records.

    The one that device's record names, and any another device plays or has paused: a run
    taken over (`skill.alexa.user.take_over`) is another device's before its run record says so.
    """
    return {doc["run_id"] for device, doc in devices.items() if isinstance(doc.get("run_id"), str)
            and (device == device_id or doc.get("activity") in ("playing", "paused"))}


class RunWrite(NamedTuple):
    """One run record to join into storage, and the device playing it (None: where it was)."""

    record: Document
    device_id: str | None


@dataclass
class Changes:
    """Everything one request writes for one user; saved in one go, idempotently.

    `started` says the request started a run on `device_id`: the store then closes every
    other in-progress run of that device (whichever request wrote it), so two starts at
    once never leave an orphan. `epoch` is the profile epoch the runs belong to; runs of an
    older epoch (written by a request that began before "forget my history") stay invisible.
    `owner` is the person key the profile and runs belong to (None: the account itself); the
    device records are always the account's. `new_owner` says that person had no profile when
    the request read it: the store then adds them to the account's list of persons (a person
    with a profile is listed already: every profile write of a person lists them first).
    """

    device_id: str
    now: datetime
    epoch: int = 0
    owner: str | None = None
    new_owner: bool = False
    profile: Document | None = None
    devices: dict[str, Document] = field(default_factory=dict)
    runs: list[RunWrite] = field(default_factory=list)
    started: bool = False

    @property
    def empty(self) -> bool:
        """Return whether there is nothing to write."""
        return self.profile is None and not self.devices and not self.runs

    def to_json(self) -> Document:
        """Return the changes as plain JSON (for the journal)."""
        return {
            "device_id": self.device_id, "now": self.now.astimezone(UTC).isoformat(), "epoch": self.epoch,
            "profile": self.profile, "devices": self.devices,
            "runs": [{"record": r.record, "device_id": r.device_id} for r in self.runs], "started": self.started,
            "owner": self.owner, "new_owner": self.new_owner,
        }

    @classmethod
    def from_json(cls, data: Document) -> Changes:
        """Rebuild changes written by `to_json`; raise ValueError if they are not."""
        try:
            return cls(
                device_id=str(data["device_id"]), now=datetime.fromisoformat(data["now"]),
                epoch=int(data["epoch"]), profile=data["profile"], devices=dict(data["devices"]),
                runs=[RunWrite(dict(r["record"]), r["device_id"]) for r in data["runs"]],
                started=bool(data["started"]),
                owner=None if data.get("owner") is None else str(data["owner"]),  # older entries have none
                new_owner=bool(data.get("new_owner", data.get("owner") is not None)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"Journal entry {data!r:.120} is not a saved change: {exc}") from None


@dataclass
class Snapshot:
    """What a request loads: the profile and every device record of the user (all small)."""

    profile: Document
    devices: dict[str, Document]


def run_key(record: Document) -> str:
    """Return the sort key of a run: `run#<start>#<id>`, so runs sort by start."""
    return f"run#{record.get('started_at')}#{record.get('run_id')}"


MAX_KEY = 512  # real ids are a few hundred characters; DynamoDB sort keys cap at 1 KB


def storable_key(raw: str, limit: int = MAX_KEY) -> str:
    """Return ``raw`` as a key both stores hold as it is, else its SHA-256 (``sha256-<hex>``).

    A lone surrogate (SQLite and DynamoDB refuse to encode it) or an id longer than ``limit``
    is hashed, so whoever it names still gets records of their own.
    """
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if len(raw) <= limit:
            return raw
    return "sha256-" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


PERSON_MARK = "#person#"


def person_key(account: str, person_id: str) -> str:
    """Return the key of a recognised person's records: the account, a mark, the person id.

    The person id is hashed when it cannot be stored as it is (see `storable_key`), so the
    key is never more than `MAX_KEY` characters longer than the account id.
    """
    return f"{account}{PERSON_MARK}{storable_key(person_id)}"


def is_person_of(account: str, key: object) -> bool:
    """Return whether ``key`` is the key of a person of ``account`` (see `person_key`)."""
    return isinstance(key, str) and key.startswith(account + PERSON_MARK) and len(key) > len(account + PERSON_MARK)


def require_user_id(user_id: object) -> str:
    """Return the user id, or raise ValueError with a sentence if it is not one."""
    if not isinstance(user_id, str) or not user_id:
        raise ValueError(
            f"A user id must be a non-empty string, got {user_id!r}; pass context.System.user.userId "
            "from the request."
        )
    return user_id


def require_document(doc: object, user_id: str) -> Document:
    """Check that ``doc`` is a dict of plain JSON values, so both stores round-trip it exactly."""
    if not isinstance(doc, dict):
        raise TypeError(
            f"The document for user {user_id!r} must be a dict, got {type(doc).__name__}; "
            "return a JSON object from merge or update functions."
        )
    if not _is_plain(doc):  # the quick look; the walk below says where and why
        _require_plain_json(doc, "$", user_id)
    return doc


_SCALARS = frozenset({str, int, bool, type(None)})


def _is_plain(value: object) -> bool:
    """Return whether ``value`` is plain JSON of exact builtin types (every save checks its records).

    False only sends the value to `_require_plain_json`, which also takes subclasses such as
    a StrEnum and names the first value it refuses.
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or (type(item) not in _SCALARS and not _is_plain(item)):
                return False
        return True
    if kind is list:
        return all(type(item) in _SCALARS or _is_plain(item) for item in value)  # type: ignore[attr-defined]
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    return kind in _SCALARS


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


def whole_view(profile: Document, devices: dict[str, Document], runs: list[Document],
               months: dict[str, Document], rules: Rules) -> Document:
    """Return a user's records as one document in the old single-document format.

    For tools and tests (never read per request): the profile's keys, `runs` by id (copies
    joined), `totals` by month and `playback` of the device written last. Empty parts are
    left out, so a profile alone reads back as itself.
    """
    view = {k: v for k, v in profile.items() if k != "layout"}
    by_id: dict[str, Document] = {}
    for run in runs:
        run_id = run.get("run_id")
        by_id[run_id] = rules.run(by_id[run_id], run) if run_id in by_id else run
    if by_id:
        view["runs"] = by_id
    if months:
        view["totals"] = dict(months)
    if devices:
        latest = max(devices.values(), key=lambda d: (str(d.get("updated_at", "")), d.get("seq", 0)))
        view["playback"] = {k: v for k, v in latest.items() if k != "updated_at"}
    if by_id or months:
        view.setdefault("runs", {})
        view.setdefault("totals", {})
    return view
