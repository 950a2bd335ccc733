"""Track layout (pure): exact timed parts, non-overlapping cues, totals that add up."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.core.cues import CUES
from skill.core.routines import Breath
from skill.core.steps import StepKind
from skill.core.timeline import SENTENCE_PAUSE_SECONDS, Track
from skill.render import layout
from skill.render.layout import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    LayoutError,
    Segment,
    TrackPlan,
    plan_track,
    samples,
)
from skill.text import en_US as speech

BREATH = Breath(4, 6)
SOUNDS = {**{name: samples(cue.seconds) for name, cue in CUES.items()},
          **{name: samples(0.3) for name in layout.STROKE_TONES}}


def track(kind: str = "hold", seconds: int = 45, *, text: str = "Rest on the ball. Breathe out.",
          breath: Breath | None = BREATH, stroke: int = 0, end_cue: str = "chime",
          is_last: bool = False) -> Track:
    return Track(index=3, step_index=3, kind=StepKind(kind), side="right", text=text, seconds=seconds,
                 breath=breath, pressure="moderate", stroke_seconds=stroke, end_cue=end_cue,
                 is_last=is_last)


def lengths(t: Track, seconds: float = 1.0) -> dict[str, int]:
    return {text: samples(seconds) for text in layout.spoken_texts(t)}


def said_at(plan: TrackPlan, text: str) -> float:
    return next(s.start for s in plan.segments if s.kind == "speech" and s.name == text) / SAMPLE_RATE


def test_a_hold_says_halfway_ten_more_and_release_at_the_right_moments():
    t = track(seconds=45)
    plan = plan_track(t, lengths(t), SOUNDS)
    start = plan.intro / SAMPLE_RATE
    assert plan.timed == 45 * SAMPLE_RATE
    assert said_at(plan, speech.HALFWAY) == pytest.approx(start + 22.5)
    assert said_at(plan, speech.TEN_MORE) == pytest.approx(start + 35)
    assert said_at(plan, speech.RELEASE) == pytest.approx(start + 45 - 1.0)  # ends as the hold ends


@pytest.mark.parametrize("seconds", [20, 25, 30])
def test_a_hold_of_thirty_seconds_or_less_hears_one_countdown_cue_not_two(seconds):
    t = track(seconds=seconds)
    plan = plan_track(t, lengths(t), SOUNDS)
    said = [s.name for s in plan.segments if s.kind == "speech"]
    assert speech.HALFWAY not in said
    assert said.count(speech.TEN_MORE) == 1 and said[-1] == speech.RELEASE


def test_a_placing_step_is_quiet_for_its_settle_time_then_ends_with_its_cue():
    t = track(kind="place", seconds=0, breath=None, text="Slide the ball under. Lie back.")
    t = t._replace(settle_seconds=6)
    plan = plan_track(t, lengths(t), SOUNDS)
    start, end = plan.settle
    assert end - start == samples(6) and end == plan.intro
    last_word = max(s.end for s in plan.segments if s.kind == "speech")
    assert start == last_word
    assert not [s for s in plan.segments if s.start < end and s.end > start]
    assert plan.wordless == ()  # the settle is its own span; the end cue follows it
    cue = next(s for s in plan.segments if s.kind == "cue")
    assert cue.start >= end


def test_a_hold_that_asks_to_move_starts_counting_only_after_its_settle():
    t = track(seconds=45)._replace(settle_seconds=8)
    plan = plan_track(t, lengths(t), SOUNDS)
    instruction_end = max(s.end for s in plan.segments if s.start < plan.intro)
    assert plan.intro - instruction_end == samples(8)
    assert plan.timed == samples(45)
    first_cue = min(s.start for s in plan.segments if s.start >= plan.intro)
    assert first_cue == plan.intro  # the first breath starts the hold, after the settle


def test_a_move_gets_its_own_gentle_cue_and_no_roll_cue():
    t = track(kind="move", seconds=40, breath=None, stroke=3)
    plan = plan_track(t, lengths(t), SOUNDS)
    names = [s.name for s in plan.segments]
    assert speech.MOVE_EASY in names
    assert speech.KEEP_ROLLING not in names and not set(layout.STROKE_TONES) & set(names)
    assert not set(layout.sentences(speech.ROLL_PACE)) & set(names)
    assert layout.fixed_sounds(t) == ("chime",)


def test_breathing_is_spoken_for_two_cycles_then_follows_rising_and_falling_tones():
    t = track(kind="breathe", seconds=50, breath=Breath(4, 6))
    plan = plan_track(t, lengths(t, 0.8), SOUNDS)
    timed = [s for s in plan.segments if plan.intro <= s.start < plan.intro + plan.timed]
    names = [s.name for s in timed]
    assert names[:4] == [speech.BREATH_IN, speech.BREATH_OUT] * 2
    assert names[4:] == [layout.INHALE_TONE, layout.EXHALE_TONE] * 3
    inhale = timed[4]
    assert (inhale.start - plan.intro, inhale.length) == (samples(20), samples(4))


def test_a_breath_tone_where_a_spoken_cue_lands_is_skipped():
    t = track(seconds=45, breath=Breath(4, 6))
    plan = plan_track(t, lengths(t), SOUNDS)
    halfway = next(s for s in plan.segments if s.name == speech.HALFWAY)
    guard = samples(layout.GUARD_SECONDS)
    for tone in (s for s in plan.segments if s.kind == "tone"):
        assert tone.end + guard <= halfway.start or halfway.end + guard <= tone.start


def test_a_roll_plays_a_pace_tone_every_stroke_alternating_up_and_back():
    t = track(kind="roll", seconds=40, breath=None, stroke=4)
    plan = plan_track(t, lengths(t, 0.5), SOUNDS)
    tones = [s for s in plan.segments if s.kind == "tone"]
    assert tones[0].start == plan.intro and tones[0].name == "stroke-up"
    assert tones[1].start - tones[0].start == samples(4) and tones[1].name == "stroke-back"
    assert speech.KEEP_ROLLING in {s.name for s in plan.segments}
    assert speech.ROLL_PACE.split(". ")[0] + "." in layout.instruction(t)


def test_a_rest_is_quiet_and_an_instruction_only_track_has_no_timed_part():
    rest = track(kind="rest", seconds=20, breath=None)
    plan = plan_track(rest, lengths(rest), SOUNDS)
    assert [s.kind for s in plan.segments] == ["speech", "speech", "cue"]
    place = track(kind="place", seconds=0, breath=None)
    assert plan_track(place, lengths(place), SOUNDS).timed == 0


def test_the_last_track_ends_with_the_bell_then_the_closing_sentences():
    t = track(kind="rest", seconds=10, breath=None, end_cue="bell", is_last=True)
    plan = plan_track(t, lengths(t), SOUNDS)
    tail = [s.name for s in plan.segments][-4:]
    assert tail == ["bell", *layout.sentences(speech.ROUTINE_DONE)]


def test_an_unknown_cue_is_a_sentence_naming_it():
    t = track(end_cue="gong")
    with pytest.raises(LayoutError, match=r"Cue 'gong' is not in the cue catalogue.*chime"):
        plan_track(t, lengths(t), SOUNDS)


def test_sentences_split_on_full_stops_and_question_marks():
    assert layout.sentences("One. Two? Three!  Four") == ("One.", "Two?", "Three!", "Four")


def test_the_fingerprint_changes_with_timing_and_not_with_the_index():
    a, b = track(seconds=45), track(seconds=46)
    assert layout.fingerprint(a) != layout.fingerprint(b)
    moved = a._replace(index=9)
    assert layout.fingerprint(moved) == layout.fingerprint(a)


# --- properties -------------------------------------------------------------------------

kinds = st.sampled_from(list(StepKind))
breaths = st.builds(Breath, inhale=st.integers(2, 8), exhale=st.integers(2, 10), hold=st.integers(0, 4))
texts = st.lists(st.sampled_from(["Lie down.", "Rest on the ball.", "Breathe out slowly.", "Good"]),
                 min_size=1, max_size=4).map(" ".join)


@st.composite
def tracks(draw: st.DrawFn) -> Track:
    kind = draw(kinds)
    rules = kind.rules
    breath = draw(breaths) if rules.breath_cues else None
    if rules.timed_by == "breaths":
        seconds = breath.seconds * draw(st.integers(2, 12))
    elif rules.timed:
        seconds = draw(st.integers(5, 120))
    else:
        seconds = 0
    settle = draw(st.sampled_from([rules.settle_seconds, 0, 6, 15]))
    return Track(index=0, step_index=0, kind=kind, side=None, text=draw(texts), seconds=seconds,
                 breath=breath, pressure="firm", stroke_seconds=draw(st.integers(2, 6)),
                 end_cue=draw(st.sampled_from(sorted(CUES))), is_last=draw(st.booleans()),
                 settle_seconds=settle)


@st.composite
def tracks_with_lengths(draw: st.DrawFn) -> tuple[Track, dict[str, int]]:
    t = draw(tracks())
    spoken = {text: draw(st.integers(samples(0.2), samples(6))) for text in layout.spoken_texts(t)}
    return t, spoken


def overlap(a: Segment, b: Segment) -> bool:
    return a.start < b.end and b.start < a.end


@settings(max_examples=300, deadline=None)
@given(tracks_with_lengths())
def test_the_timed_part_always_lasts_exactly_the_tracks_seconds(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    expected = t.seconds * SAMPLE_RATE if t.kind.rules.timed else 0
    assert plan.timed == expected
    inside = [s for s in plan.segments if plan.intro <= s.start < plan.intro + plan.timed]
    assert all(s.end <= plan.intro + plan.timed for s in inside)


@settings(max_examples=300, deadline=None)
@given(tracks_with_lengths())
def test_no_two_sounds_in_a_track_ever_overlap(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    segs = plan.segments
    assert list(segs) == sorted(segs, key=lambda s: s.start)
    assert not any(overlap(a, b) for a, b in itertools.pairwise(segs))
    assert all(s.start >= 0 and s.end <= plan.total and s.length > 0 for s in segs)
    for s in segs:
        if s.kind == "speech":
            assert s.length == spoken[s.name]
        elif s.kind == "cue":
            assert s.length == SOUNDS[s.name]


@settings(max_examples=300, deadline=None)
@given(tracks_with_lengths())
def test_the_total_is_speech_plus_timed_part_plus_cue_in_whole_mp3_frames(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    said = layout.instruction(t)
    intro = (samples(layout.LEAD_IN_SECONDS) + sum(spoken[x] for x in said)
             + (len(said) - 1) * samples(SENTENCE_PAUSE_SECONDS)
             + samples(max(layout.GAP_SECONDS, t.settle_seconds)))
    closing = layout.closing(t)
    outro = ((samples(layout.CUE_GAP_SECONDS) if plan.timed else 0) + SOUNDS[t.end_cue]
             + (samples(layout.CLOSING_GAP_SECONDS) + sum(spoken[x] for x in closing)
                + (len(closing) - 1) * samples(SENTENCE_PAUSE_SECONDS) if closing else 0)
             + samples(layout.TAIL_SECONDS))
    assert plan.intro == intro
    assert plan.total == plan.intro + plan.timed + plan.outro
    assert plan.total % FRAME_SAMPLES == 0
    assert intro + plan.timed + outro <= plan.total < intro + plan.timed + outro + FRAME_SAMPLES
    cue = next(s for s in plan.segments if s.kind == "cue")
    assert cue.name == t.end_cue


@settings(max_examples=200, deadline=None)
@given(tracks_with_lengths())
def test_spoken_cues_keep_the_guard_from_every_breath_or_pace_tone(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    guard = samples(layout.GUARD_SECONDS)
    timed = [s for s in plan.segments if plan.intro <= s.start < plan.intro + plan.timed]
    voices = [s for s in timed if s.kind == "speech"]
    for tone in (s for s in timed if s.kind == "tone"):
        assert all(tone.end + guard <= v.start or v.end + guard <= tone.start for v in voices)
    assert [line.text for line in plan.transcript] == [s.name for s in plan.segments if s.kind == "speech"]


@settings(max_examples=300, deadline=None)
@given(tracks_with_lengths())
def test_spoken_cues_start_at_least_eight_seconds_apart_except_the_words_of_one_breath(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    breath_words = {speech.BREATH_IN, speech.BREATH_OUT}
    timed = [s for s in plan.segments if s.kind == "speech" and plan.intro <= s.start < plan.intro + plan.timed]
    for a, b in itertools.combinations(timed, 2):
        if not {a.name, b.name} <= breath_words:
            assert abs(b.start - a.start) >= samples(layout.CUE_SPACING_SECONDS), (a, b)


@settings(max_examples=300, deadline=None)
@given(tracks_with_lengths())
def test_the_settle_is_silent_and_tones_never_sit_on_words(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    if t.settle_seconds:
        start, end = plan.settle
        assert end - start == samples(max(layout.GAP_SECONDS, t.settle_seconds))
        assert not [s for s in plan.segments if s.start < end and s.end > start]
    else:
        assert plan.settle is None
    words = [s for s in plan.segments if s.kind == "speech"]
    for tone in (s for s in plan.segments if s.kind in ("tone", "cue")):
        assert not [w for w in words if overlap(w, tone)]


@settings(max_examples=200, deadline=None)
@given(tracks_with_lengths())
def test_breath_words_come_only_in_the_first_cycles_and_countdown_cues_at_most_once(case):
    t, spoken = case
    plan = plan_track(t, spoken, SOUNDS)
    said = [s for s in plan.segments if s.kind == "speech" and s.start >= plan.intro]
    if t.breath is not None:
        cycle = samples(t.breath.seconds)
        assert all(s.start - plan.intro < layout.SPOKEN_BREATH_CYCLES * cycle
                   for s in said if s.name in (speech.BREATH_IN, speech.BREATH_OUT))
    names = [s.name for s in said]
    for cue in (speech.TEN_MORE, speech.RELEASE, speech.HALFWAY, speech.KEEP_ROLLING, speech.MOVE_EASY):
        assert names.count(cue) <= 1
    if t.seconds <= layout.ONE_COUNTDOWN_MAX_SECONDS:
        assert not {speech.HALFWAY, speech.KEEP_ROLLING, speech.MOVE_EASY} & set(names)


def test_a_long_hold_marks_the_stretches_without_words_and_what_plays_in_them():
    t = track(seconds=90, breath=Breath(4, 6))
    plan = plan_track(t, lengths(t), SOUNDS)
    spans = plan.wordless
    assert spans and all(b - a >= samples(layout.WORDLESS_MIN_SECONDS) for a, b, _ in spans)
    words = [s for s in plan.segments if s.kind == "speech"]
    assert not [w for w in words for a, b, _ in spans if w.start < b and w.end > a]
    tones = [s for s in plan.segments if s.kind == "tone"]
    for a, b, what in spans:
        assert what == ("tones" if any(x.start < b and x.end > a for x in tones) else "silent")
    assert "tones" in {what for *_, what in spans}  # breath tones fill the later cycles
    rest = track(kind="rest", seconds=30, breath=None)
    assert [what for *_, what in plan_track(rest, lengths(rest), SOUNDS).wordless] == ["silent"]


def test_a_breath_tone_that_would_run_into_a_spoken_cue_is_cut_short_before_it():
    t = track(seconds=40, breath=Breath(4, 6))
    plan = plan_track(t, lengths(t), SOUNDS)
    ten_more = next(s for s in plan.segments if s.name == speech.TEN_MORE)
    exhale = next(s for s in plan.segments if s.name == layout.EXHALE_TONE and s.start < ten_more.start
                  and s.start - plan.intro == samples(24))
    assert exhale.end + samples(layout.GUARD_SECONDS) == ten_more.start
    assert samples(layout.MIN_TONE_SECONDS) <= exhale.length < samples(6)
