"""Progress records, their merge, folding of old history, and summaries."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.core import player, progress
from skill.core.claims import MEDICAL_CLAIMS
from skill.core.player import Outcome, PlaybackState, Program
from skill.core.progress import Nudge, RunRecord, Summary
from skill.text import en_US as speech

PROGRAM = Program("upper-back", (60_000, 120_000, 90_000))  # 4.5 minutes in all
AREA = "upper back"
CALVES = Program("calves", (100_000, 100_000))
MONDAY = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return MONDAY + timedelta(minutes=minutes)


class Device:
    """Drives the real player and records every transition, as the skill's handlers will."""

    def __init__(self, doc: dict | None = None, program: Program = PROGRAM, area: str = AREA):
        self.doc, self.program, self.area = doc, program, area
        self.state = PlaybackState()

    def apply(self, transition: player.Transition, now: datetime) -> dict:
        self.state = transition.state
        self.doc = progress.note(self.doc, transition, self.program, self.area, now)
        return self.doc

    def start(self, run_id: str, now: datetime) -> dict:
        return self.apply(player.start(self.state, self.program, run_id), now)

    def finish_track(self, now: datetime) -> dict:
        return self.apply(player.finished(self.state, self.program, self.state.token), now)

    def stop_at(self, offset_ms: int, now: datetime) -> dict:
        return self.apply(player.stopped(self.state, self.program, self.state.token, offset_ms), now)

    def complete(self, run_id: str, now: datetime) -> dict:
        self.start(run_id, now)
        for i in range(len(self.program.track_ms)):
            self.finish_track(now + timedelta(minutes=i + 1))
        return self.doc


def run_of(doc: dict, run_id: str) -> RunRecord:
    return RunRecord.from_dict(doc["runs"][run_id])


def record(run_id: str, started: datetime, **changes) -> dict:
    base = RunRecord(
        run_id=run_id, routine_id="upper-back", area=AREA,
        started_at=progress._iso(started), updated_at=progress._iso(started + timedelta(minutes=5)),
        ended_at=progress._iso(started + timedelta(minutes=5)), seconds_guided=270,
        tracks_completed=3, tracks_skipped=0, track_count=3, outcome="completed",
    )
    return base._replace(**changes).to_dict()


def document(*records: dict) -> dict:
    return {"v": 1, "epoch": 0, "runs": {r["run_id"]: r for r in records}, "totals": {}}


def history(doc: dict) -> tuple:
    return doc["epoch"], doc["runs"], doc["totals"]


# --- Recording runs ----------------------------------------------------------------------

def test_a_started_run_is_recorded_in_progress_with_no_guided_time_yet():
    doc = Device().start("run1", at(0))
    rec = run_of(doc, "run1")
    assert (rec.outcome, rec.seconds_guided, rec.tracks_completed, rec.track_count) == (
        "in_progress", 0, 0, 3,
    )
    assert rec.started_at == "2025-03-03T09:00:00Z" and rec.ended_at is None
    assert doc["last_routine"] == "upper-back"
    assert doc["playback"]["run_id"] == "run1"


def test_pausing_partway_counts_completed_tracks_and_the_offset_in_whole_seconds():
    device = Device()
    device.start("run1", at(0))
    device.finish_track(at(1))
    doc = device.stop_at(30_999, at(2))
    rec = run_of(doc, "run1")
    assert rec.seconds_guided == 60 + 30  # 60 s track done, 30.999 s into the next: floor
    assert rec.tracks_completed == 1 and rec.outcome == "in_progress"
    assert rec.updated_at == "2025-03-03T09:02:00Z"


def test_guided_seconds_never_go_down_when_the_listener_starts_over():
    device = Device()
    device.start("run1", at(0))
    device.stop_at(50_000, at(1))
    doc = device.apply(player.start_over(device.state, PROGRAM, "unused"), at(2))
    assert run_of(doc, "run1").seconds_guided == 50


def test_finishing_every_track_completes_the_run_with_its_full_length():
    doc = Device().complete("run1", at(0))
    rec = run_of(doc, "run1")
    assert (rec.outcome, rec.seconds_guided, rec.tracks_completed) == ("completed", 270, 3)
    assert rec.ended_at == "2025-03-03T09:03:00Z"


def test_skipped_tracks_are_counted_and_their_time_is_not():
    device = Device()
    device.start("run1", at(0))
    device.apply(player.next_track(device.state, PROGRAM), at(1))
    device.finish_track(at(2))
    doc = device.finish_track(at(3))
    rec = run_of(doc, "run1")
    assert (rec.outcome, rec.tracks_skipped, rec.tracks_completed) == ("completed", 1, 2)
    assert rec.seconds_guided == 120 + 90


def test_starting_a_new_run_ends_the_paused_one_early():
    device = Device()
    device.start("run1", at(0))
    device.stop_at(40_000, at(1))
    doc = device.start("run2", at(10))
    first = run_of(doc, "run1")
    assert (first.outcome, first.ended_at, first.seconds_guided) == (
        "stopped_early", "2025-03-03T09:10:00Z", 40,
    )
    assert run_of(doc, "run2").outcome == "in_progress"


def test_a_run_left_paused_for_days_is_closed_as_abandoned_back_when_it_was_left():
    device = Device()
    device.start("run1", at(0))
    device.stop_at(40_000, at(1))
    doc = device.start("run2", at(3 * 24 * 60))
    first = run_of(doc, "run1")
    assert (first.outcome, first.ended_at) == ("abandoned", "2025-03-03T09:01:00Z")


def test_record_run_refuses_the_program_of_another_routine():
    state = player.start(PlaybackState(), PROGRAM, "run1").state
    with pytest.raises(ValueError, match="does not belong to routine 'calves'"):
        progress.record_run(None, state, CALVES, "calves", at(0), None)


def test_record_run_refuses_a_time_without_a_zone():
    state = player.start(PlaybackState(), PROGRAM, "run1").state
    with pytest.raises(ValueError, match="no time zone"):
        progress.record_run(None, state, PROGRAM, AREA, datetime(2025, 3, 3), None)


def test_a_run_record_survives_a_round_trip_through_json():
    rec = RunRecord.from_dict(record("r1", MONDAY))
    assert RunRecord.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec


def test_a_record_in_another_iso_spelling_is_read_as_canonical_utc():
    rec = RunRecord.from_dict(record("r1", MONDAY) | {"started_at": "2025-03-03T01:00:00-08:00"})
    assert rec.started_at == "2025-03-03T09:00:00Z"


@pytest.mark.parametrize(
    ("change", "quoted"),
    [
        ({"seconds_guided": -1}, "-1"),
        ({"seconds_guided": "ten"}, "'ten'"),
        ({"outcome": "finished"}, "'finished'"),
        ({"outcome": ["completed"]}, "['completed']"),
        ({"started_at": "yesterday"}, "'yesterday'"),
        ({"started_at": "2025-03-03T09:00:00"}, "no time zone"),
        ({"run_id": ""}, "''"),
    ],
)
def test_a_corrupt_record_is_refused_with_a_sentence_quoting_the_bad_value(change, quoted):
    with pytest.raises(ValueError) as err:
        RunRecord.from_dict(record("r1", MONDAY) | change)
    assert quoted in str(err.value) and str(err.value).startswith("Stored run")


def test_a_record_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="not a record"):
        RunRecord.from_dict(["r1"])


# --- Idempotent, order-free recording ----------------------------------------------------

def test_the_same_playback_finished_applied_twice_counts_once():
    device = Device()
    device.start("run1", at(0))
    device.finish_track(at(1))
    device.finish_track(at(2))
    last_token = device.state.token
    once = device.apply(player.finished(device.state, PROGRAM, last_token), at(3))
    twice = device.apply(player.finished(device.state, PROGRAM, last_token), at(4))
    assert twice == once
    # The retried request's write, merged again, changes nothing either.
    assert progress.merge_documents(once, twice) == progress.merge_documents(None, once)
    assert progress.summarize(twice, at(5), "this_week", True).sessions == 1


def test_a_request_retried_from_the_same_read_counts_its_track_once():
    device = Device()
    device.start("run1", at(0))
    before = device.finish_track(at(1))
    state = PlaybackState.from_dict(before["playback"])
    transition = player.finished(state, PROGRAM, state.token)
    first = progress.note(before, transition, PROGRAM, AREA, at(2))
    retry = progress.note(before, transition, PROGRAM, AREA, at(3))
    store = progress.merge_documents(progress.merge_documents(before, first), retry)
    rec = run_of(store, "run1")
    assert (rec.tracks_completed, rec.seconds_guided, rec.updated_at) == (2, 180, "2025-03-03T09:03:00Z")


def test_writes_arriving_in_any_order_converge_to_the_same_history():
    device = Device()
    writes = [device.start("run1", at(0))]
    writes += [device.finish_track(at(i + 1)) for i in range(3)]
    writes.append(device.complete("run2", at(30)))
    expected = None
    for seed in range(20):
        shuffled = writes + writes[: seed % 3]
        random.Random(seed).shuffle(shuffled)
        store = None
        for write in shuffled:
            store = progress.merge_documents(store, write)
        expected = expected or history(store)
        assert history(store) == expected
    assert {r: expected[1][r]["outcome"] for r in expected[1]} == {
        "run1": "completed", "run2": "completed",
    }


RUN_IDS = [f"run{i}" for i in range(5)]
# A run's start never changes, so copies of one run always agree on it (see the module doc).
STARTS = {run_id: datetime(2024, 1, 20, tzinfo=UTC) + timedelta(days=13 * i) for i, run_id in enumerate(RUN_IDS)}
MONTHS = sorted({progress._month(s) for s in STARTS.values()})


@st.composite
def run_copies(draw, run_id: str, corrupt: bool) -> dict:
    if corrupt and draw(st.integers(0, 4)) == 0:
        return {"run_id": run_id, "outcome": draw(st.sampled_from(["?", "done", 3]))}  # corrupt
    started = STARTS[run_id]
    ended = draw(st.none() | st.integers(1, 600))
    feeling = draw(st.none() | st.sampled_from([progress.ASKED, progress.SKIPPED, *progress.FEELINGS]))
    felt_at = None if feeling is None else progress._iso(started + timedelta(minutes=draw(st.integers(0, 9))))
    return record(
        run_id, started, feeling=feeling, felt_at=felt_at,
        updated_at=progress._iso(started + timedelta(minutes=draw(st.integers(0, 600)))),
        ended_at=None if ended is None else progress._iso(started + timedelta(minutes=ended)),
        seconds_guided=draw(st.integers(0, 600)),
        tracks_completed=draw(st.integers(0, 3)),
        tracks_skipped=draw(st.integers(0, 3)),
        outcome=draw(st.sampled_from(["in_progress", "abandoned", "stopped_early", "completed"])),
    )


buckets = st.fixed_dictionaries(
    {key: st.integers(0, 4) for key in ("sessions", "seconds", "completed", "stopped_early", "abandoned")}
    | {"areas": st.dictionaries(st.sampled_from(["calves", "feet"]), st.integers(1, 3), max_size=2)}
)


@st.composite
def documents(draw, corrupt: bool = False) -> dict:
    run_ids = draw(st.lists(st.sampled_from(RUN_IDS), unique=True))
    doc = {
        "v": 1,
        "epoch": draw(st.integers(0, 2)),
        "runs": {run_id: draw(run_copies(run_id, corrupt)) for run_id in run_ids},
        "totals": draw(st.dictionaries(st.sampled_from(MONTHS), buckets, max_size=2)),
    }
    if draw(st.booleans()):
        doc["playback"] = {"run_id": draw(st.sampled_from(RUN_IDS))}
    return doc


@settings(max_examples=300, deadline=None)
@given(documents(), documents())
def test_merging_is_commutative_and_idempotent(a, b):
    ab = progress.merge_documents(a, b)
    assert history(ab) == history(progress.merge_documents(b, a))
    assert progress.merge_documents(a, a) == progress.merge_documents(None, a)
    assert history(progress.merge_documents(ab, b)) == history(ab)
    assert history(progress.merge_documents(ab, a)) == history(ab)


@settings(max_examples=300, deadline=None)
@given(documents(), documents(), documents())
def test_merging_is_associative(a, b, c):
    left = progress.merge_documents(progress.merge_documents(a, b), c)
    right = progress.merge_documents(a, progress.merge_documents(b, c))
    assert history(left) == history(right)


def readable_history(doc: dict) -> tuple:
    runs = {k: v for k, v in doc["runs"].items() if progress._readable(v, k) is not None}
    return doc["epoch"], runs, doc["totals"]


@settings(max_examples=300, deadline=None)
@given(documents(corrupt=True), documents(corrupt=True), documents(corrupt=True))
def test_unreadable_copies_never_change_what_the_merge_counts(a, b, c):
    """Unreadable entries are kept or dropped depending on order; the readable history isn't."""
    ab = progress.merge_documents(a, b)
    assert readable_history(ab) == readable_history(progress.merge_documents(b, a))
    assert readable_history(progress.merge_documents(ab, a)) == readable_history(ab)
    left = progress.merge_documents(ab, c)
    right = progress.merge_documents(a, progress.merge_documents(b, c))
    assert readable_history(left) == readable_history(right)


@settings(max_examples=200, deadline=None)
@given(documents(), documents())
def test_the_incoming_playback_wins_and_history_only_grows(a, b):
    merged = progress.merge_documents(a, b)
    assert merged.get("playback") == b.get("playback", a.get("playback"))
    if a["epoch"] == b["epoch"]:
        for run_id, raw in b["runs"].items():
            ours = progress._readable(raw, run_id)
            if ours is not None and run_id in merged["runs"]:
                theirs = RunRecord.from_dict(merged["runs"][run_id])
                assert theirs.join(ours) == theirs


DEVICE_STEPS = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from(["event", "duplicate", "stop"]), st.booleans()),
    min_size=1, max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(DEVICE_STEPS)
def test_two_devices_writing_with_stale_reads_count_every_run_exactly_once(steps):
    """Each device reads (maybe long before it writes) and the store merges every write."""
    store: dict | None = None
    devices = {name: Device() for name in "ab"}
    snapshots: dict[str, dict | None] = {"a": None, "b": None}
    for name, device in devices.items():
        device.state = player.start(PlaybackState(), PROGRAM, f"run-{name}").state
        store = progress.merge_documents(
            store, progress.note(store, player.start(PlaybackState(), PROGRAM, f"run-{name}"), PROGRAM, AREA, at(0))
        )
    clock = 1
    pending = list(steps) + [(n, "event", True) for n in "ab" for _ in PROGRAM.track_ms]
    for name, kind, fresh_read in pending:
        device = devices[name]
        if fresh_read:
            snapshots[name] = store
        if kind == "stop":
            transition = player.stopped(device.state, PROGRAM, device.state.token, 20_000)
        elif kind == "duplicate":
            transition = player.finished(device.state, PROGRAM, "upper-back|run-x|0|1")
        else:
            transition = player.finished(device.state, PROGRAM, device.state.token)
            if not transition.changed and device.state.activity is player.Activity.PAUSED:
                transition = player.resume(device.state, PROGRAM)
        device.state = transition.state
        incoming = progress.note(snapshots[name], transition, PROGRAM, AREA, at(clock))
        store = progress.merge_documents(store, incoming)
        clock += 1
    for name in "ab":
        while devices[name].state.has_run:  # finish what the steps left unfinished
            device = devices[name]
            transition = player.resume(device.state, PROGRAM)
            if not transition.changed:
                transition = player.finished(device.state, PROGRAM, device.state.token)
            device.state = transition.state
            store = progress.merge_documents(
                store, progress.note(store, transition, PROGRAM, AREA, at(clock))
            )
            clock += 1
    assert set(store["runs"]) == {"run-a", "run-b"}
    for run_id in store["runs"]:
        rec = run_of(store, run_id)
        assert (rec.outcome, rec.tracks_completed, rec.seconds_guided) == ("completed", 3, 270)
    summary = progress.summarize(store, at(clock), "this_week", True)
    assert (summary.sessions, summary.completed, summary.minutes) == (2, 2, 9)


# --- Bounded history ---------------------------------------------------------------------

START = datetime(2024, 1, 1, 8, tzinfo=UTC)


def day_time(day: int) -> datetime:
    return START + timedelta(days=day, minutes=day % 300)


def daily_history(days: int) -> tuple[dict, int]:
    """Record one complete run a day through the player, merging every write."""
    store = None
    device = Device()
    for day in range(days):
        now = day_time(day)
        device.doc = store
        for write in (device.start(f"run-{day:04d}", now),
                      *(device.finish_track(now + timedelta(minutes=i + 1)) for i in range(3))):
            store = progress.merge_documents(store, write)
    return store, days


def sessions_in(doc: dict) -> int:
    return len(doc["runs"]) + sum(b["sessions"] for b in doc["totals"].values())


def test_a_year_and_more_of_daily_runs_stays_bounded_and_counts_every_run_once():
    doc, days = daily_history(800)
    size = len(json.dumps(doc))
    assert size < 200_000, f"document is {size} bytes"
    assert 400 <= len(doc["runs"]) <= 432
    assert sessions_in(doc) == days
    assert all(progress._run_month(r) not in doc["totals"] for r in doc["runs"].values())
    assert sum(b["seconds"] for b in doc["totals"].values()) == 270 * (days - len(doc["runs"]))


def test_folding_is_idempotent_and_a_stale_copy_cannot_bring_folded_runs_back():
    doc, days = daily_history(460)
    stale, _ = daily_history(420)  # an old copy still holding runs that are now folded
    assert set(stale["runs"]) - set(doc["runs"])
    merged = progress.merge_documents(doc, stale)
    assert sessions_in(merged) == days
    assert progress.merge_documents(merged, stale) == merged
    now = day_time(days - 1) + timedelta(minutes=5)
    assert progress._fold(progress._document(merged), now) == merged
    later = progress._fold(progress._document(merged), now + timedelta(days=40))
    assert len(later["totals"]) > len(merged["totals"]) and sessions_in(later) == days
    assert progress.merge_documents(later, merged) == later


def test_heavy_use_is_folded_by_count_but_the_last_two_months_are_kept():
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    runs = [
        record(f"r{i:05d}", now - timedelta(hours=6 * i))  # four runs a day for 250 days
        for i in range(1000)
    ]
    doc = progress._fold(document(*runs), now)
    assert len(doc["runs"]) <= progress.MAX_RUNS
    assert sessions_in(doc) == 1000
    oldest_kept = min(r["started_at"] for r in doc["runs"].values())
    assert oldest_kept <= progress._iso(now - timedelta(days=progress.KEEP_DAYS))
    assert len(json.dumps(doc)) < 300_000


def test_forgetting_clears_history_and_a_write_begun_before_cannot_bring_it_back():
    device = Device()
    device.complete("run1", at(0))
    before = device.start("run2", at(10))
    forgotten = progress.forget(before)
    assert (forgotten["runs"], forgotten["totals"], forgotten["last_routine"]) == ({}, {}, None)
    assert forgotten["playback"] == before["playback"]
    store = progress.merge_documents(before, forgotten)
    store = progress.merge_documents(store, before)  # a late write from the old read
    assert store["runs"] == {} and store["epoch"] == 1
    assert progress.summarize(store, at(20), "this_week", True).first_time


def test_merge_refuses_to_overwrite_a_document_of_a_newer_version():
    with pytest.raises(ValueError, match="version 2; this code reads version 1"):
        progress.merge_documents({"v": 2, "runs": {}}, document())


def test_merge_refuses_a_document_that_is_not_an_object():
    with pytest.raises(ValueError, match="is not a JSON object"):
        progress.merge_documents(["runs"], document())  # type: ignore[arg-type]


def test_keys_other_parts_of_the_skill_keep_survive_recording_and_merging():
    stored = document(record("r1", MONDAY)) | {"prefs": {"voice": "calm"}}
    device = Device(stored)
    incoming = device.start("run2", at(60))
    assert incoming["prefs"] == {"voice": "calm"}
    assert progress.merge_documents(stored, incoming)["prefs"] == {"voice": "calm"}
    assert progress.merge_documents(stored, progress.forget(stored))["prefs"] == {"voice": "calm"}


def test_a_readable_copy_of_a_run_wins_over_an_unreadable_one():
    good = record("r1", MONDAY)
    bad = {"run_id": "r1", "seconds_guided": "lots"}
    assert progress.merge_documents(document(bad), document(good))["runs"]["r1"] == good
    assert progress.merge_documents(document(good), document(bad))["runs"]["r1"] == good


# --- Summaries ---------------------------------------------------------------------------

LA = ZoneInfo("America/Los_Angeles")
AUCKLAND = ZoneInfo("Pacific/Auckland")


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_an_empty_history_gets_the_first_time_answer():
    summary = progress.summarize(None, local(LA, 2025, 3, 5, 12), "this_week", True)
    assert summary.first_time and summary.sessions == 0
    assert speech.progress_summary(summary) == speech.PROGRESS_FIRST_TIME


@pytest.mark.parametrize("zone", [LA, AUCKLAND], ids=str)
def test_a_run_at_half_past_eleven_on_a_local_sunday_belongs_to_that_sundays_week(zone):
    sunday_night = local(zone, 2025, 3, 9, 23, 30)
    doc = document(record("r1", sunday_night))
    if zone is LA:  # already Monday in UTC
        assert doc["runs"]["r1"]["started_at"] == "2025-03-10T06:30:00Z"
    that_week = progress.summarize(doc, local(zone, 2025, 3, 9, 23, 50), "this_week", True)
    assert (that_week.sessions, that_week.days_active) == (1, 1)
    monday = local(zone, 2025, 3, 10, 8)
    assert progress.summarize(doc, monday, "this_week", True).sessions == 0
    assert progress.summarize(doc, monday, "last_week", True).sessions == 1


def test_a_run_just_after_local_midnight_on_monday_starts_the_new_week_in_auckland():
    doc = document(record("r1", local(AUCKLAND, 2025, 3, 10, 0, 30)))  # Sunday 11:30 in UTC
    now = local(AUCKLAND, 2025, 3, 10, 14)  # Monday 01:00 in UTC
    assert progress.summarize(doc, now, "this_week", True).sessions == 1
    in_utc = now.astimezone(UTC)  # what counting without the time zone would say
    assert progress.summarize(doc, in_utc, "this_week", False).sessions == 0
    assert progress.summarize(doc, in_utc, "last_week", False).sessions == 1


def three_sessions_this_week() -> dict:
    return document(
        record("a", local(LA, 2025, 3, 3, 7), seconds_guided=540),
        record("b", local(LA, 2025, 3, 4, 19), area="calves", routine_id="calves", seconds_guided=480),
        record("c", local(LA, 2025, 3, 6, 7), seconds_guided=605, outcome="stopped_early"),
        record("d", local(LA, 2025, 2, 26, 7)),
        record("e", local(LA, 2025, 2, 27, 7)),
        record("f", local(LA, 2025, 1, 10, 7), area="feet"),
    )


def test_a_week_is_summarized_from_guided_seconds_and_compared_with_the_last():
    summary = progress.summarize(three_sessions_this_week(), local(LA, 2025, 3, 6, 20), "this_week", True)
    assert (summary.sessions, summary.seconds, summary.minutes) == (3, 1625, 27)
    assert (summary.completed, summary.stopped_early, summary.days_active) == (2, 1, 3)
    assert summary.areas == ("upper back", "calves")
    assert (summary.previous_sessions, summary.previous_minutes) == (2, 9)
    assert summary.nudge == Nudge("revisit", "feet", 55)
    assert speech.progress_summary(summary) == (
        "This week you did three sessions, 27 minutes in all, on your upper back and calves, "
        "on three different days. You finished two and one ended early. "
        "That's one more than last week. "
        "It's been over seven weeks since you worked on your feet. "
        "That routine is here whenever you want it."
    )


def test_last_week_and_this_month_use_their_own_periods_and_comparisons():
    doc = three_sessions_this_week()
    now = local(LA, 2025, 3, 6, 20)
    last = progress.summarize(doc, now, "last_week", True)
    assert (last.sessions, last.previous_sessions) == (2, 0)
    month = progress.summarize(doc, now, "this_month", True)
    assert (month.sessions, month.previous_sessions) == (3, 2)
    said = speech.progress_summary(last)
    assert said.startswith("Last week you did two sessions, nine minutes in all, on your upper back,")
    assert "The week before you didn't do any." in said
    assert "So far that's" not in speech.progress_summary(month)


def test_every_local_day_of_the_period_gets_its_guided_seconds_and_they_add_up():
    doc = three_sessions_this_week()
    week = progress.summarize(doc, local(LA, 2025, 3, 6, 20), "this_week", True)
    assert [d.day.isoformat() for d in week.days] == [f"2025-03-{n:02}" for n in range(3, 10)]
    assert [d.seconds for d in week.days] == [540, 480, 0, 605, 0, 0, 0]  # days to come are zero
    assert sum(d.seconds for d in week.days) == week.seconds
    month = progress.summarize(doc, local(LA, 2025, 3, 6, 20), "this_month", True)
    assert len(month.days) == 31 and month.days[0].day.day == 1
    assert sum(d.seconds for d in month.days) == month.seconds
    empty = progress.summarize(None, local(LA, 2025, 3, 6, 20), "last_week", True)
    assert len(empty.days) == 7 and not any(d.seconds for d in empty.days)


def test_a_period_with_nothing_yet_says_so_and_what_came_before():
    summary = progress.summarize(three_sessions_this_week(), local(LA, 2025, 3, 11, 9), "this_week", True)
    said = speech.progress_summary(summary)
    assert said.startswith("You haven't done a routine this week yet. Last week you did three sessions.")


def test_fewer_sessions_than_last_time_are_stated_plainly_as_so_far():
    doc = document(*(record(f"r{d}", local(LA, 2025, 3, d, 7)) for d in (3, 4, 5)),
                   record("now", local(LA, 2025, 3, 10, 7)))
    summary = progress.summarize(doc, local(LA, 2025, 3, 10, 9), "this_week", True)
    assert "So far that's two fewer than last week." in speech.progress_summary(summary)


def test_the_streak_counts_consecutive_local_days_ending_today_or_yesterday():
    doc = document(*(record(f"r{d}", local(LA, 2025, 3, d, 22)) for d in (2, 3, 4, 6, 7, 8)))
    assert progress.summarize(doc, local(LA, 2025, 3, 8, 23), "this_week", True).streak_days == 3
    assert progress.summarize(doc, local(LA, 2025, 3, 9, 10), "this_week", True).streak_days == 3
    assert progress.summarize(doc, local(LA, 2025, 3, 10, 10), "this_week", True).streak_days == 0


def test_three_days_in_a_row_on_one_area_suggests_a_rest_day_for_it():
    doc = document(
        *(record(f"c{d}", local(LA, 2025, 3, d, 8), area="calves") for d in (3, 4, 5)),
        record("u", local(LA, 2025, 3, 5, 9)),
    )
    summary = progress.summarize(doc, local(LA, 2025, 3, 5, 20), "this_week", True)
    assert summary.nudge == Nudge("rest", "calves", 3)
    said = speech.progress_summary(summary)
    assert "You've worked on your calves three days in a row." in said
    assert "If they are sore or bruised the next day" in said
    assert "You've done a routine" not in said, "the rest nudge already says the streak"


def test_two_days_in_a_row_is_not_a_reason_to_rest():
    doc = document(*(record(f"c{d}", local(LA, 2025, 3, d, 8), area="calves") for d in (4, 5)))
    assert progress.summarize(doc, local(LA, 2025, 3, 5, 20), "this_week", True).nudge is None


def test_an_area_only_in_folded_history_is_suggested_without_a_day_count():
    doc = document(record("u", local(LA, 2025, 3, 5, 9)))
    doc["totals"] = {"2023-11": {"sessions": 4, "seconds": 1000, "completed": 4, "stopped_early": 0,
                                 "abandoned": 0, "areas": {"neck": 4}}}
    summary = progress.summarize(doc, local(LA, 2025, 3, 5, 20), "this_week", True)
    assert summary.nudge == Nudge("revisit", "neck", None)
    assert "It's been a while since you worked on your neck." in speech.progress_summary(summary)


def test_an_in_progress_run_untouched_for_twelve_hours_counts_as_abandoned():
    started = local(LA, 2025, 3, 5, 7)
    doc = document(record("r1", started, outcome="in_progress", ended_at=None, seconds_guided=200))
    soon = progress.summarize(doc, started + timedelta(hours=2), "this_week", True)
    later = progress.summarize(doc, started + timedelta(hours=13), "this_week", True)
    assert (soon.in_progress, soon.abandoned) == (1, 0)
    assert (later.in_progress, later.abandoned, later.sessions) == (0, 1, 1)
    assert speech.progress_summary(soon).startswith(
        "This week you did one session, three minutes, on your upper back. It's still under way."
    )
    assert "It ended early." in speech.progress_summary(later)


def test_a_false_start_is_not_a_session_but_a_short_finished_one_is():
    doc = document(
        record("short", local(LA, 2025, 3, 5, 7), outcome="stopped_early", seconds_guided=12),
        record("tiny", local(LA, 2025, 3, 5, 8), seconds_guided=20),
    )
    summary = progress.summarize(doc, local(LA, 2025, 3, 5, 9), "this_week", True)
    assert (summary.sessions, summary.completed) == (1, 1)
    assert "one session, under a minute," in speech.progress_summary(summary)


def test_an_unknown_time_zone_is_admitted_in_the_answer():
    summary = progress.summarize(three_sessions_this_week(), datetime(2025, 3, 6, 20, tzinfo=UTC), "this_week", False)
    assert speech.progress_summary(summary).endswith(speech.PROGRESS_TZ_UNKNOWN)


def test_unreadable_runs_are_left_out_and_mentioned():
    doc = three_sessions_this_week()
    doc["runs"]["broken"] = {"run_id": "broken", "seconds_guided": -5}
    summary = progress.summarize(doc, local(LA, 2025, 3, 6, 20), "this_week", True)
    assert (summary.sessions, summary.unreadable) == (3, 1)
    assert "I couldn't read one of your saved records, so I left it out." in speech.progress_summary(summary)


def test_a_document_that_cannot_be_read_at_all_raises_a_sentence():
    with pytest.raises(ValueError, match="'runs' is not a JSON object"):
        progress.summarize({"v": 1, "runs": []}, local(LA, 2025, 3, 6, 20), "this_week", True)


def test_summaries_need_an_aware_time_and_a_known_period():
    with pytest.raises(ValueError, match="no time zone"):
        progress.summarize(None, datetime(2025, 3, 6), "this_week", True)
    with pytest.raises(ValueError, match="'next_week' is not known"):
        progress.summarize(None, local(LA, 2025, 3, 6), "next_week", True)


def test_many_areas_are_counted_rather_than_listed():
    areas = ["neck", "chest", "feet", "calves"]
    doc = document(*(record(a, local(LA, 2025, 3, 4, 8 + i), area=a) for i, a in enumerate(areas)))
    summary = progress.summarize(doc, local(LA, 2025, 3, 4, 20), "this_week", True)
    assert ", on four different areas, all on one day." in speech.progress_summary(summary)


@st.composite
def summaries(draw) -> Summary:
    outcomes = [draw(st.integers(0, 12)) for _ in range(3)] + [draw(st.integers(0, 1))]
    sessions = sum(outcomes)
    return Summary(
        period=draw(st.sampled_from(progress.PERIODS)), tz_known=draw(st.booleans()),
        first_time=draw(st.booleans()) and sessions == 0,
        sessions=sessions, seconds=draw(st.integers(0, 600 * sessions)),
        completed=outcomes[0], stopped_early=outcomes[1], abandoned=outcomes[2],
        in_progress=outcomes[3],
        areas=tuple(draw(st.lists(
            st.sampled_from(["neck", "calves", "feet", "upper back", "hips"]),
            min_size=min(sessions, 1), max_size=min(sessions, 5), unique=True,
        ))),
        days_active=min(sessions, draw(st.integers(1, 7))), streak_days=draw(st.integers(0, 40)),
        previous_sessions=draw(st.integers(0, 30)), previous_seconds=draw(st.integers(0, 20_000)),
        nudge=draw(st.none() | st.builds(
            Nudge, kind=st.sampled_from(["rest", "revisit"]), area=st.sampled_from(["neck", "calves"]),
            days=st.none() | st.integers(3, 400),
        )),
        unreadable=draw(st.integers(0, 3)),
    )


@settings(max_examples=300, deadline=None)
@given(summaries())
def test_every_summary_is_spoken_as_short_sentences_without_medical_claims(summary):
    said = speech.progress_summary(summary)
    assert said and said.endswith(".") and "  " not in said
    assert not MEDICAL_CLAIMS.search(said)
    assert all(len(sentence) < 240 for sentence in said.split(". "))


def test_forget_dialogue_and_the_apology_are_plain_sentences():
    for text in (speech.FORGET.ask, speech.FORGET_DONE, speech.FORGET_KEPT, speech.PROGRESS_UNREADABLE):
        assert text.endswith(".") and not MEDICAL_CLAIMS.search(text)


def test_an_outcome_passed_to_record_run_closes_the_run():
    state = player.start(PlaybackState(), PROGRAM, "run1").state
    rec = progress.record_run(None, state, PROGRAM, AREA, at(0), Outcome.COMPLETED)
    assert (rec.outcome, rec.ended_at) == ("completed", "2025-03-03T09:00:00Z")


# --- records on their own: devices, closing, the split, windowed summaries ----------------

def test_a_device_record_is_replaced_only_by_one_at_least_as_new():
    old, new = {"seq": 5, "activity": "playing"}, {"seq": 6, "activity": "paused"}
    assert progress.join_devices(None, old) is old
    assert progress.join_devices(old, new) is new
    assert progress.join_devices(new, old) is new
    assert progress.join_devices(new, {**new, "offset_ms": 9})["offset_ms"] == 9


def test_closing_a_left_behind_run_stops_it_early_or_abandons_it_back_when_it_was_left():
    recent = record("r1", MONDAY, outcome="in_progress", ended_at=None)
    closed = progress.close_run(recent, MONDAY + timedelta(minutes=10))
    assert (closed["outcome"], closed["ended_at"]) == ("stopped_early", progress._iso(MONDAY + timedelta(minutes=10)))
    stale = progress.close_run(recent, MONDAY + timedelta(days=2))
    assert (stale["outcome"], stale["ended_at"]) == ("abandoned", recent["updated_at"])
    assert progress.close_run({"broken": True}, MONDAY) == {"broken": True}


def test_an_old_document_splits_into_a_profile_and_records_and_an_unreadable_one_refuses():
    doc = {**document(record("r1", MONDAY)), "last_routine": "upper-back", "briefed_epoch": 0,
           "playback": PlaybackState().to_dict(), "totals": {"2024-01": {"sessions": 1}}}
    profile, playback, runs, months = progress.split_profile(doc)
    assert profile == {"v": 1, "epoch": 0, "last_routine": "upper-back", "briefed_epoch": 0, "layout": 2}
    assert progress.is_split_profile(profile) and not progress.is_split_profile(doc)
    assert (playback, list(runs), list(months)) == (PlaybackState().to_dict(), ["r1"], ["2024-01"])
    with pytest.raises(ValueError, match="activity"):
        progress.split_profile({**doc, "playback": {"activity": "dancing"}})
    with pytest.raises(ValueError, match="version 99"):
        progress.split_profile({**doc, "v": 99})


def test_a_later_writer_of_the_profile_wins_but_cannot_undo_a_forget():
    stored = {"epoch": 2, "last_routine": None}
    assert progress.join_profiles(stored, {"epoch": 1, "last_routine": "calves"}) == stored
    assert progress.join_profiles(stored, {"epoch": 2, "last_routine": "calves"})["last_routine"] == "calves"
    assert progress.join_profiles(None, {"epoch": 0}) == {"epoch": 0}


def test_a_run_in_progress_that_no_device_plays_is_never_called_under_way():
    now = at(30)
    doc = document(record("played", at(0), outcome="in_progress", ended_at=None, updated_at=progress._iso(at(20))),
                   record("orphan", at(1), outcome="in_progress", ended_at=None, updated_at=progress._iso(at(20))))
    trusting = progress.summarize(doc, now, "this_week", True)
    assert trusting.in_progress == 2
    knowing = progress.summarize(doc, now, "this_week", True, playing=frozenset({"played"}))
    assert (knowing.in_progress, knowing.abandoned, knowing.sessions) == (1, 1, 2)


def test_two_runs_under_way_are_said_in_correct_english():
    summary = Summary(period="this_week", tz_known=True, first_time=False, sessions=3, seconds=900, completed=1,
                      stopped_early=0, abandoned=0, in_progress=2, areas=("calves",), days_active=1,
                      streak_days=1, previous_sessions=0, previous_seconds=0)
    assert "two are still under way" in speech.progress_summary(summary)
    assert "two is" not in speech.progress_summary(summary)


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC"])
def test_the_summary_window_covers_the_whole_of_last_month_at_the_end_of_the_longest_pair(zone):
    now = datetime(2027, 1, 31, 23, 59, tzinfo=ZoneInfo(zone))  # December and January: 62 days
    start = datetime.fromisoformat(progress.window_start(now))
    assert start <= datetime(2026, 12, 1, tzinfo=ZoneInfo(zone))


def test_only_months_wholly_older_than_the_kept_history_may_fold():
    now = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # 400 days back: 2025-10-14
    assert progress.fold_before(now) == "2025-10-01T00:00:00Z"
    month_end = datetime(2026, 12, 5, tzinfo=UTC)  # 400 days back: 2025-10-31, the month not over
    assert progress.fold_before(month_end) == "2025-10-01T00:00:00Z"
    assert progress.fold_before(datetime(2026, 12, 6, tzinfo=UTC)) == "2025-11-01T00:00:00Z"


def test_a_folded_month_counts_its_sessions_like_the_summary_does():
    runs = [record("a", MONDAY), record("b", MONDAY, outcome="stopped_early", seconds_guided=10), {"junk": 1}]
    bucket = progress.fold_month(runs, MONDAY + timedelta(days=500))
    assert (bucket["sessions"], bucket["completed"], bucket["areas"]) == (1, 1, {AREA: 1})
