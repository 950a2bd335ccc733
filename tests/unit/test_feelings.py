"""The check-in rules: "how did your upper back feel afterwards?" (issue 12, item 5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.core import progress
from skill.core.claims import MEDICAL_CLAIMS
from skill.core.progress import Felt, RunRecord, feelings
from skill.text import en_US as speech

NOW = datetime(2025, 3, 6, 18, 0, tzinfo=UTC)  # a Thursday
NEW_YORK = ZoneInfo("America/New_York")


def run(run_id: str, ended: datetime, area: str = "upper back", **changes) -> RunRecord:
    started = ended - timedelta(minutes=8)
    base = RunRecord(
        run_id=run_id, routine_id=area.replace(" ", "-"), area=area,
        started_at=progress._iso(started), updated_at=progress._iso(ended), ended_at=progress._iso(ended),
        seconds_guided=480, tracks_completed=6, tracks_skipped=0, track_count=6, outcome="completed",
    )
    return base._replace(**changes)


def stored(*records: RunRecord) -> list[dict]:
    return [r.to_dict() for r in records]


# --- When to ask ---------------------------------------------------------------------------

def test_a_run_completed_yesterday_is_asked_about_at_the_next_launch():
    due = feelings.due_check_in(stored(run("a", NOW - timedelta(days=1))), NOW)
    assert due is not None and due.run_id == "a"


def test_a_run_completed_more_than_three_days_ago_is_not_asked_about():
    assert feelings.due_check_in(stored(run("a", NOW - timedelta(days=3, minutes=1))), NOW) is None
    assert feelings.due_check_in(stored(run("a", NOW - timedelta(days=3))), NOW) is not None


@pytest.mark.parametrize("outcome", ["stopped_early", "abandoned", "in_progress"])
def test_a_run_that_did_not_finish_is_never_asked_about(outcome):
    unfinished = run("a", NOW - timedelta(hours=2), outcome=outcome)
    if outcome == "in_progress":
        unfinished = unfinished._replace(ended_at=None)
    assert feelings.due_check_in(stored(unfinished), NOW) is None


def test_once_asked_the_same_run_is_never_asked_about_again_whatever_the_answer():
    record = run("a", NOW - timedelta(days=1))
    asked = feelings.mark_asked(record, NOW)
    assert asked.feeling == progress.ASKED
    assert feelings.due_check_in(stored(asked), NOW + timedelta(minutes=5)) is None
    for word in (*progress.FEELINGS, progress.SKIPPED):
        answered = feelings.answer(asked, word, [], NOW).record
        assert feelings.due_check_in(stored(answered), NOW + timedelta(hours=1)) is None


def test_the_question_is_about_the_last_completed_run_not_an_older_one_left_unasked():
    older = run("old", NOW - timedelta(days=2))
    newer = feelings.mark_asked(run("new", NOW - timedelta(days=1)), NOW - timedelta(hours=20))
    assert feelings.due_check_in(stored(older, newer), NOW) is None
    assert feelings.due_check_in(stored(older, run("new", NOW - timedelta(days=1))), NOW).run_id == "new"


def test_unreadable_stored_runs_are_passed_over():
    runs = [{"run_id": "x", "outcome": "?"}, "junk", run("a", NOW - timedelta(hours=3)).to_dict()]
    assert feelings.due_check_in(runs, NOW).run_id == "a"


# --- Answers stored with the run --------------------------------------------------------------

def test_an_answer_is_stored_on_the_run_and_survives_a_round_trip():
    asked = feelings.mark_asked(run("a", NOW - timedelta(days=1)), NOW)
    answered = feelings.answer(asked, "better", [], NOW + timedelta(seconds=20)).record
    again = RunRecord.from_dict(answered.to_dict())
    assert (again.feeling, again.felt_at) == ("better", "2025-03-06T18:00:20Z")


def test_a_record_never_asked_about_has_no_feeling_keys_so_older_records_read_the_same():
    assert "feeling" not in run("a", NOW).to_dict()


def test_an_answer_beats_a_bare_asked_mark_in_either_order_and_the_later_answer_wins():
    record = run("a", NOW - timedelta(days=1))
    asked = feelings.mark_asked(record, NOW + timedelta(minutes=9))  # a replayed mark, later
    sore = feelings.answer(record, "sore", [], NOW).record
    better = feelings.answer(record, "better", [], NOW + timedelta(minutes=1)).record
    assert asked.join(sore).feeling == sore.join(asked).feeling == "sore"
    assert sore.join(better) == better.join(sore)
    assert sore.join(better).feeling == "better"
    assert better.join(better) == better


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([progress.ASKED, progress.SKIPPED, *progress.FEELINGS]),
                          st.integers(0, 50)), min_size=1, max_size=5), st.randoms())
def test_joining_feelings_is_order_free(marks, rnd):
    base = run("a", NOW - timedelta(days=1))
    copies = [base._replace(feeling=w, felt_at=progress._iso(NOW + timedelta(minutes=m))) for w, m in marks]
    shuffled = copies[:]
    rnd.shuffle(shuffled)

    def fold(items):
        out = base
        for item in items:
            out = out.join(item)
        return out

    assert fold(copies) == fold(shuffled)
    answers = [c for c in copies if c.feeling in progress.FEELINGS]
    if answers:
        assert fold(copies).feeling in progress.FEELINGS


@pytest.mark.parametrize("bad", [{"feeling": "great"}, {"feeling": ["sore"]}, {"feeling": "sore", "felt_at": "soon"}])
def test_a_stored_feeling_that_is_not_one_is_refused_with_a_sentence(bad):
    raw = {**run("a", NOW).to_dict(), "felt_at": progress._iso(NOW), **bad}
    with pytest.raises(ValueError, match=r"feeling|felt_at"):
        RunRecord.from_dict(raw)


def test_answer_refuses_a_word_that_is_not_an_answer():
    with pytest.raises(ValueError, match="'fabulous' is not a check-in answer"):
        feelings.answer(run("a", NOW), "fabulous", [], NOW)


def test_an_answer_is_taken_only_for_an_asked_completed_run_within_three_days():
    asked = feelings.mark_asked(run("a", NOW - timedelta(days=1)), NOW)
    assert feelings.answerable(asked, NOW)
    assert not feelings.answerable(asked, NOW + timedelta(days=2, minutes=1))
    assert not feelings.answerable(run("a", NOW - timedelta(days=1)), NOW)  # never asked
    assert not feelings.answerable(None, NOW)


# --- What the answers lead to -------------------------------------------------------------------

def test_sore_twice_in_a_row_for_one_area_suggests_a_clinician():
    first = feelings.answer(run("a", NOW - timedelta(days=3)), "sore", [], NOW - timedelta(days=2)).record
    second = feelings.answer(run("b", NOW - timedelta(days=1)), "sore", stored(first), NOW)
    assert second.see_clinician


def test_sore_once_or_sore_after_better_or_in_another_area_does_not():
    better = feelings.answer(run("a", NOW - timedelta(days=3)), "better", [], NOW - timedelta(days=2)).record
    calves = feelings.answer(run("c", NOW - timedelta(days=2), "calves"), "sore", [], NOW - timedelta(days=1)).record
    assert not feelings.answer(run("b", NOW - timedelta(days=1)), "sore", [], NOW).see_clinician
    assert not feelings.answer(run("b", NOW - timedelta(days=1)), "sore", stored(better, calves), NOW).see_clinician
    assert not feelings.answer(run("b", NOW - timedelta(days=1)), "better", stored(calves), NOW).see_clinician


def test_unanswered_runs_in_between_do_not_break_a_row_of_sore_answers():
    first = feelings.answer(run("a", NOW - timedelta(days=4)), "sore", [], NOW - timedelta(days=3)).record
    skipped = feelings.answer(run("s", NOW - timedelta(days=2)), "skipped", [], NOW - timedelta(days=2)).record
    never = run("n", NOW - timedelta(days=2, hours=1))
    assert feelings.answer(run("b", NOW - timedelta(days=1)), "sore", stored(first, skipped, never), NOW).see_clinician


def test_an_area_answered_sore_rests_for_two_days_unless_a_later_answer_says_better():
    sore = feelings.answer(run("a", NOW - timedelta(days=1)), "sore", [], NOW).record
    assert feelings.resting_areas(stored(sore), NOW + timedelta(days=1)) == {"upper back"}
    assert feelings.resting_areas(stored(sore), NOW + timedelta(days=2, minutes=1)) == frozenset()
    better = feelings.answer(run("b", NOW), "better", [], NOW + timedelta(hours=1)).record
    assert feelings.resting_areas(stored(sore, better), NOW + timedelta(hours=2)) == frozenset()


def test_another_area_skips_the_areas_to_rest():
    candidates = [("upper-back", "upper back"), ("neck-and-skull", "neck"), ("feet", "feet")]
    assert feelings.another_area(candidates, {"upper back"}) == "neck-and-skull"
    assert feelings.another_area(candidates, {"upper back", "neck", "feet"}) is None


# --- Three days running ------------------------------------------------------------------------

def test_a_start_on_the_third_day_running_of_one_area_gets_the_rest_advice():
    runs = stored(run("a", NOW - timedelta(days=2)), run("b", NOW - timedelta(days=1)))
    assert feelings.days_running(runs, "upper back", NOW, UTC) == 3
    assert feelings.needs_rest(runs, "upper back", NOW, UTC)


def test_two_days_or_a_gap_or_another_area_gets_no_rest_advice():
    assert not feelings.needs_rest(stored(run("b", NOW - timedelta(days=1))), "upper back", NOW, UTC)
    gap = stored(run("a", NOW - timedelta(days=3)), run("b", NOW - timedelta(days=1)))
    assert not feelings.needs_rest(gap, "upper back", NOW, UTC)
    calves = stored(run("a", NOW - timedelta(days=2), "calves"), run("b", NOW - timedelta(days=1), "calves"))
    assert not feelings.needs_rest(calves, "upper back", NOW, UTC)


def test_days_running_are_the_persons_local_days():
    # In UTC both runs fall on 5 March; in New York the first was the evening of the 4th.
    runs = stored(run("a", datetime(2025, 3, 5, 3, 0, tzinfo=UTC)), run("b", datetime(2025, 3, 5, 22, 0, tzinfo=UTC)))
    now = datetime(2025, 3, 6, 14, 0, tzinfo=UTC)
    assert feelings.days_running(runs, "upper back", now, UTC) == 2
    assert feelings.days_running(runs, "upper back", now, NEW_YORK) == 3


def test_false_starts_do_not_count_as_a_day_worked():
    short = run("a", NOW - timedelta(days=2), outcome="stopped_early", seconds_guided=10)
    assert feelings.days_running(stored(short, run("b", NOW - timedelta(days=1))), "upper back", NOW, UTC) == 2


def test_every_window_storage_is_asked_for_covers_what_the_rules_look_at():
    assert feelings.recent_since(NOW) <= feelings.check_in_since(NOW)
    assert feelings.recent_since(NOW) <= feelings.rest_since(NOW)
    assert feelings.rest_since(NOW) <= progress._iso(NOW - timedelta(days=progress.REST_AFTER_DAYS))


# --- The summary ---------------------------------------------------------------------------------

def test_the_summary_counts_how_each_area_felt_this_week():
    monday = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    runs = [feelings.answer(run(f"r{i}", monday + timedelta(days=i)), word, [], monday + timedelta(days=i + 1)).record
            for i, word in enumerate(["better", "better", "sore", "better"])]
    runs.append(run("r9", monday + timedelta(hours=3)))  # never answered: not told
    doc = {"v": 1, "epoch": 0, "runs": {r.run_id: r.to_dict() for r in runs}, "totals": {}}
    summary = progress.summarize(doc, monday + timedelta(days=4, hours=2), "this_week", tz_known=True)
    assert summary.felt == (Felt("upper back", told=4, better=3, sore=1),)
    said = speech.progress_summary(summary)
    assert "Your upper back felt better after three of four sessions and sore after one." in said


@pytest.mark.parametrize(("felt", "expected"), [
    (Felt("upper back", 1, sore=1), "Your upper back felt sore after one session."),
    (Felt("calves", 2, better=2), "Your calves felt better after all two sessions."),
    (Felt("feet", 3, same=2, sore=1), "Your feet felt about the same after two of three sessions and sore after one."),
])
def test_the_summary_sentence_reads_well_for_each_mix(felt, expected):
    assert speech.felt_sentence(felt) == expected


# --- What the coach says -------------------------------------------------------------------------

def test_check_in_sentences_make_no_medical_claims_and_sore_twice_says_clinician():
    said = [
        speech.feeling_question("upper back").ask, speech.feeling_question("calves").reprompt,
        speech.feeling_noted("sore", "calves", see_clinician=True), speech.feeling_noted("better", "feet", False),
        speech.rest_at_start("upper back", 3), speech.resting_offer("calves", "Feet").ask,
        speech.CHECK_IN_EXPIRED,
    ]
    for text in said:
        assert not MEDICAL_CLAIMS.search(text), text
    assert "clinician" in speech.feeling_noted("sore", "calves", see_clinician=True)
    assert "clinician" not in speech.feeling_noted("sore", "calves", see_clinician=False)
    assert "before you work on them again" in speech.feeling_noted("sore", "calves", see_clinician=True)


def test_the_rest_advice_at_a_start_is_one_sentence():
    text = speech.rest_at_start("upper back", 3)
    assert text.count(".") == 1 and text.endswith(".")
    assert "three days in a row" in text
