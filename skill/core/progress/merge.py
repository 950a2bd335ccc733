"""Merge stored copies of a user's history safely, and fold old months into totals.

The pure rules storage applies when it writes: a run record is joined with the stored copy
(`join_runs`), a folded month is taken whole (`join_months`), and the small per-user profile
keeps the higher forget epoch (`join_profiles`). The same rules over one whole document
(`merge_documents`, `note`) describe a user's history as one value: the view a request loads
(only the runs it needs) and the format of the per-user documents older versions stored,
which storage splits into records on first touch (`split_document`).

History stays bounded: once a whole UTC month lies more than `HISTORY_DAYS` ago (or the view
holds more than `MAX_RUNS` runs and the month is older than `KEEP_DAYS`), its runs are folded
into one bucket under `totals` (a month record in storage) and the month is sealed. A sealed
bucket is never added to again: a run of a sealed month that turns up later is dropped,
because the bucket already counted it. That relies on a run's `started_at` never changing.

`forget` raises `epoch`; a higher epoch's history replaces a lower one's wholesale, so a
write that began before the user said "forget my history" cannot bring the history back.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from skill.core.player import Activity, Outcome, RunEnded, RunStarted
from skill.core.progress.records import (
    _BUCKET_COUNTS,
    ABANDON_AFTER,
    ABANDONED,
    COMPLETED,
    HISTORY_DAYS,
    KEEP_DAYS,
    MAX_RUNS,
    STOPPED_EARLY,
    VERSION,
    RunRecord,
    _count,
    _effective_outcome,
    _end,
    _is_session,
    _iso,
    _month,
    _month_end,
    _parse_iso,
    _utc,
    record_run,
)

if TYPE_CHECKING:
    from skill.core.player import Program, Transition


# --- The document ------------------------------------------------------------------------

def _version(doc: Any, role: str) -> dict[str, Any]:
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ValueError(f"The {role} progress document {doc!r:.80} is not a JSON object.")
    version = doc.get("v", VERSION)
    if version != VERSION:
        raise ValueError(
            f"The {role} progress document has version {version!r}; this code reads version "
            f"{VERSION}. Deploy the newer code everywhere before it writes."
        )
    epoch = doc.get("epoch", 0)
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"The {role} progress document has epoch {epoch!r}; expected 0 or more.")
    for key in ("runs", "totals"):
        if not isinstance(doc.get(key, {}), dict):
            raise ValueError(f"The {role} progress document's {key!r} is not a JSON object.")
    return doc


def check_document(doc: Any) -> None:
    """Raise ValueError, saying why, if a stored document is not one this code can read and grow."""
    _version(doc, "stored")


def _document(doc: Any, role: str = "stored") -> dict[str, Any]:
    """Return a checked shallow copy with every part present, ready to change.

    Keys this module does not know (other parts of the skill may keep their own) are kept.
    """
    checked = _version(doc, role)
    return {
        **checked,
        "v": VERSION,
        "epoch": checked.get("epoch", 0),
        "runs": dict(checked.get("runs", {})),
        "totals": dict(checked.get("totals", {})),
    }


def _readable(raw: Any, run_id: str) -> RunRecord | None:
    """Return the stored record of `run_id`, or None if it is missing or unreadable."""
    try:
        record = RunRecord.from_dict(raw)
    except ValueError:
        return None
    return record if record.run_id == run_id else None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)


def _join_raw_runs(run_id: str, a: Any, b: Any) -> Any:
    """Join two stored copies of one run; a readable copy beats an unreadable one."""
    if a == b:
        return a
    ra, rb = _readable(a, run_id), _readable(b, run_id)
    if ra is not None and rb is not None:
        return ra.join(rb).to_dict()
    if ra is not None or rb is not None:
        return (ra or rb).to_dict()  # type: ignore[union-attr]
    return max(a, b, key=_canonical)  # keep one unreadable copy, the same one whatever the order


def _bucket_rank(bucket: Any) -> tuple[int, int, str]:
    try:
        return (1, _count(bucket, "sessions"), _canonical(bucket))
    except (ValueError, AttributeError):
        return (0, 0, _canonical(bucket))


def _join_buckets(a: Any, b: Any) -> Any:
    # Both are the same sealed month, counted from the same runs, so normally equal; if not,
    # take one whole (never add them: that would count a run twice).
    return a if a == b else max(a, b, key=_bucket_rank)


def _run_month(raw: Any) -> str | None:
    started = raw.get("started_at") if isinstance(raw, dict) else None
    if isinstance(started, str) and len(started) == 20 and started[-1] == "Z":
        return started[:7]  # canonical, as every record we write is
    try:
        return _month(_parse_iso(raw.get("started_at"), "started_at"))
    except (ValueError, AttributeError):
        return None


def _drop_sealed(doc: dict[str, Any]) -> dict[str, Any]:
    sealed = doc["totals"]
    if sealed:
        doc["runs"] = {
            run_id: raw for run_id, raw in doc["runs"].items() if _run_month(raw) not in sealed
        }
    return doc


def join_runs(a: Any, b: Any) -> Any:
    """Join two stored copies of one run record (raw dicts); idempotent, order-free."""
    run_id = a.get("run_id") if isinstance(a, dict) else None
    if not isinstance(run_id, str):
        run_id = b.get("run_id") if isinstance(b, dict) else ""
    return _join_raw_runs(run_id, a, b)


def join_months(a: Any, b: Any) -> Any:
    """Join two copies of one folded month: take one whole, never add them."""
    return _join_buckets(a, b)


def join_profiles(stored: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Merge the small per-user profile (epoch, last routine, briefing): last writer wins,
    except that a write from before a "forget" (a lower epoch) cannot undo the forgetting."""
    if not stored:
        return dict(incoming)
    old, new = _epoch(stored), _epoch(incoming)
    if old > new:
        return dict(stored)
    return {**stored, **incoming, "epoch": new}


def _epoch(doc: dict[str, Any]) -> int:
    epoch = doc.get("epoch", 0)
    return epoch if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= 0 else 0


LAYOUT = 2  # profiles of the split layout say so; older documents hold the whole history


def is_split_profile(doc: Any) -> bool:
    """Return whether a stored profile is of the split layout (not a whole-history document)."""
    return isinstance(doc, dict) and doc.get("layout") == LAYOUT


def split_profile(
    doc: Any,
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    """Split an old whole-history document into a split-layout profile and its records.

    Like `split_document`, and the playback state must be readable too: a document that
    cannot be split is left exactly as it is (the caller reports it as unreadable).
    """
    from skill.core.player import PlaybackState

    profile, playback, runs, months = split_document(doc)
    PlaybackState.from_dict(playback)  # raises ValueError with a sentence
    return {**profile, "layout": LAYOUT}, playback, runs, months


def join_devices(stored: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Return the device record to keep: the incoming one unless the stored one is newer.

    Sequence numbers only grow on a device (see `skill.core.player`), so a request that read
    an older state, or a journal entry replayed late, cannot roll the device back.
    """
    if not stored:
        return incoming
    return incoming if _seq(incoming) >= _seq(stored) else stored


def _seq(doc: dict[str, Any]) -> int:
    seq = doc.get("seq", 0)
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def close_run(raw: dict[str, Any], now: datetime) -> dict[str, Any]:
    """End an in-progress run its device has left behind (another run started there).

    Left untouched for more than `ABANDON_AFTER`, it was abandoned back then; otherwise it
    stopped early now. An unreadable record is returned as it is.
    """
    try:
        record = RunRecord.from_dict(raw)
    except ValueError:
        return raw
    return _end(record, Outcome.STOPPED_EARLY, _utc(now)).to_dict()


def split_document(doc: Any) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any], dict[str, Any]]:
    """Split a per-user document of the old single-document format into its records.

    Return (profile, playback, runs by id, folded months): the profile keeps every key that
    is not history or playback (epoch, last routine, keys other parts of the skill keep).
    Raise ValueError, saying why, if the document cannot be read.
    """
    checked = _document(doc)
    profile = {k: v for k, v in checked.items() if k not in ("runs", "totals", "playback")}
    playback = checked.get("playback") if isinstance(checked.get("playback"), dict) else None
    return profile, playback, dict(checked["runs"]), dict(checked["totals"])


def merge_documents(stored: dict[str, Any] | None, incoming: dict[str, Any]) -> dict[str, Any]:
    """Merge what storage holds with what a request wants to write, losing and doubling nothing.

    History (epoch, runs, totals) is joined: idempotent, commutative and associative, so
    retries, duplicates and concurrent devices all converge. Every other key (`playback`,
    `last_routine`, anything else) is the incoming document's when it has it: the last
    writer wins. Raise ValueError if either document is not a version this code
    understands, rather than overwrite it.
    """
    new = _document(incoming, "incoming")
    if stored is None:
        return _drop_sealed(new)
    old = _document(stored, "stored")
    merged = {**old, **new}
    if old["epoch"] > new["epoch"]:  # written from a read before "forget my history"
        merged.update(epoch=old["epoch"], runs=old["runs"], totals=old["totals"])
    elif old["epoch"] == new["epoch"]:
        runs = old["runs"]
        for run_id, raw in new["runs"].items():
            runs[run_id] = _join_raw_runs(run_id, runs[run_id], raw) if run_id in runs else raw
        totals = old["totals"]
        for month, bucket in new["totals"].items():
            totals[month] = _join_buckets(totals[month], bucket) if month in totals else bucket
        merged.update(runs=runs, totals=totals)
    return _drop_sealed(merged)


def forget(doc: dict[str, Any] | None) -> dict[str, Any]:
    """Return the document with all history cleared; the playback position is kept."""
    epoch = doc.get("epoch", 0) if isinstance(doc, dict) else 0
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        epoch = 0  # an unreadable document is being forgotten anyway
    out: dict[str, Any] = {
        "v": VERSION, "epoch": max(epoch, 0) + 1, "runs": {}, "totals": {}, "last_routine": None,
    }
    if isinstance(doc, dict) and isinstance(doc.get("playback"), dict):
        out["playback"] = doc["playback"]
    return out


def _fold(doc: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Seal old months into totals, so the document stays bounded (changes `doc` in place)."""
    starts = [
        raw["started_at"] for raw in doc["runs"].values()
        if isinstance(raw, dict) and isinstance(raw.get("started_at"), str)
    ]
    if not starts:
        return doc
    age_cutoff = _month(now - timedelta(days=HISTORY_DAYS))
    if min(starts)[:7] >= age_cutoff and len(doc["runs"]) <= MAX_RUNS:
        return doc  # the common case: nothing old enough, decided without parsing
    by_month: dict[str, list[RunRecord]] = {}
    for run_id, raw in doc["runs"].items():
        record = _readable(raw, run_id)
        if record is not None:
            by_month.setdefault(record.started_at[:7], []).append(record)
    count = len(doc["runs"])
    keep_cutoff = now - timedelta(days=KEEP_DAYS)
    totals = doc["totals"]
    for month in sorted(by_month):
        too_old = _month_end(month) <= now - timedelta(days=HISTORY_DAYS)
        too_many = count > MAX_RUNS and _month_end(month) <= keep_cutoff
        if not (too_old or too_many):
            break
        if month not in totals:  # a sealed month already counted these runs
            totals[month] = _bucket(by_month[month], _iso(now - ABANDON_AFTER))
        count -= len(by_month[month])
    return _drop_sealed(doc)


def fold_before(now: datetime) -> str:
    """Return the start (canonical UTC text) of the oldest month not yet old enough to fold.

    Every run that started before it belongs to a whole UTC month that ended more than
    `HISTORY_DAYS` ago, which storage may fold into one month record.
    """
    edge = _utc(now) - timedelta(days=HISTORY_DAYS)
    month = _month(edge)
    if _month_end(month) > edge:  # the month of the edge is not over yet by then
        return f"{month}-01T00:00:00Z"
    return _iso(_month_end(month))


def fold_month(raw_runs: list[Any], now: datetime) -> dict[str, Any]:
    """Return the month record (totals) of one month's stored runs; unreadable ones are left out."""
    records = [r for r in (_readable(raw, raw.get("run_id") if isinstance(raw, dict) else "") for raw in raw_runs)
               if r is not None]
    return _bucket(records, _iso(_utc(now) - ABANDON_AFTER))


def _bucket(records: list[RunRecord], stale_before: str) -> dict[str, Any]:
    bucket: dict[str, Any] = {key: 0 for key in _BUCKET_COUNTS}
    areas: dict[str, int] = {}
    for record in records:
        outcome = _effective_outcome(record.outcome, record.updated_at, stale_before)
        if not _is_session(outcome, record.seconds_guided):
            continue
        bucket["sessions"] += 1
        bucket["seconds"] += record.seconds_guided
        if outcome in (COMPLETED, STOPPED_EARLY, ABANDONED):
            bucket[outcome] += 1
        areas[record.area] = areas.get(record.area, 0) + 1
    bucket["areas"] = dict(sorted(areas.items()))
    return bucket


def note(
    doc: dict[str, Any] | None,
    transition: Transition,
    program: Program,
    area: str,
    now: datetime,
) -> dict[str, Any]:
    """Return the document with a transition recorded: its runs, its playback state.

    `program` and `area` are those of the routine of `transition.state`. A transition that
    changes nothing (a stale or duplicate event) leaves the history as it was. Runs whose
    stored records cannot be read are started afresh; the merge prefers readable copies.
    """
    now = _utc(now)
    out = _document(doc)
    state = transition.state
    runs = out["runs"]
    ended_here: Outcome | None = None
    for event in transition.events:
        if isinstance(event, RunEnded) and event.run_id == state.run_id:
            ended_here = event.outcome
        elif isinstance(event, RunEnded):
            previous = _readable(runs.get(event.run_id), event.run_id)
            if previous is not None:  # a run we never recorded has nothing to close
                runs[event.run_id] = _end(previous, event.outcome, now).to_dict()
        elif isinstance(event, RunStarted):
            out["last_routine"] = event.routine_id
    playback = state.to_dict()
    moved = bool(transition.events) or playback != out.get("playback")
    if moved and state.run_id is not None and state.activity is not Activity.IDLE:
        previous = _readable(runs.get(state.run_id), state.run_id)
        runs[state.run_id] = record_run(previous, state, program, area, now, ended_here).to_dict()
    out["playback"] = playback
    return _fold(out, now)


