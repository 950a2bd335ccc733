"""The playback state machine: examples of each move, and properties over any sequence."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skill.core import player
from skill.core.player import Activity, Behavior, Outcome, PlaybackState, Program, RunEnded, Token

PROGRAM = Program("upper-back", (30_000, 45_000, 60_000, 20_000))


def started_run() -> PlaybackState:
    return player.start(PlaybackState(), PROGRAM, "run1").state


def test_start_plays_the_first_track_from_zero_with_a_fresh_token():
    t = player.start(PlaybackState(), PROGRAM, "run1")
    assert t.play is not None
    assert (t.play.index, t.play.offset_ms, t.play.behavior) == (0, 0, Behavior.REPLACE_ALL)
    assert Token.parse(t.play.token) == Token("upper-back", "run1", 0, 1)
    assert t.state.activity is Activity.PLAYING
    assert [type(e).__name__ for e in t.events] == ["RunStarted"]


def test_starting_while_a_run_is_paused_ends_that_run_early():
    paused = player.pause(started_run(), PROGRAM, 1000).state
    t = player.start(paused, PROGRAM, "run2")
    assert RunEnded("upper-back", "run1", Outcome.STOPPED_EARLY) in t.events
    assert t.state.run_id == "run2"


def test_pause_then_resume_returns_the_same_track_token_and_offset():
    s = started_run()
    paused = player.pause(s, PROGRAM, 12_345)
    assert paused.stop and paused.state.activity is Activity.PAUSED
    resumed = player.resume(paused.state, PROGRAM)
    assert resumed.play == player.Play(s.token, 0, 12_345, Behavior.REPLACE_ALL)


def test_playback_stopped_event_sets_the_offset_authoritatively():
    s = started_run()
    t = player.stopped(s, PROGRAM, s.token, 7_000)
    assert (t.state.activity, t.state.offset_ms) == (Activity.PAUSED, 7_000)


def test_an_absurd_offset_is_clamped_to_the_track():
    s = started_run()
    assert player.stopped(s, PROGRAM, s.token, 10**12).state.offset_ms == 30_000
    assert player.pause(s, PROGRAM, -5).state.offset_ms == 0


def test_nearly_finished_enqueues_the_next_track_once_and_a_retry_replaces_the_queue_with_it():
    s = started_run()
    t = player.nearly_finished(s, PROGRAM, s.token)
    assert t.play is not None and t.play.behavior is Behavior.ENQUEUE
    assert (t.play.index, t.play.expected_previous_token) == (1, s.token)
    again = player.nearly_finished(t.state, PROGRAM, s.token)
    assert again.state == t.state
    assert again.play == player.Play(t.play.token, 1, 0, Behavior.REPLACE_ENQUEUED)


def test_finished_moves_to_the_enqueued_track_and_a_duplicate_finished_changes_nothing():
    s = started_run()
    q = player.nearly_finished(s, PROGRAM, s.token).state
    f = player.finished(q, PROGRAM, s.token)
    assert f.state.index == 1 and f.state.token == q.enqueued_token and 0 in f.state.completed
    assert player.finished(f.state, PROGRAM, s.token).state == f.state


def test_finished_without_an_enqueue_plays_the_next_track():
    s = started_run()
    t = player.finished(s, PROGRAM, s.token)
    assert t.play is not None and t.play.index == 1 and t.play.behavior is Behavior.REPLACE_ALL


def test_finishing_the_last_track_completes_the_run_once():
    s = started_run()
    for _ in range(PROGRAM.last):
        s = player.finished(s, PROGRAM, s.token).state
    t = player.finished(s, PROGRAM, s.token)
    assert t.state.activity is Activity.FINISHED
    assert t.events == (RunEnded("upper-back", "run1", Outcome.COMPLETED),)
    assert t.state.completed == frozenset(range(4))
    assert not player.finished(t.state, PROGRAM, s.token).changed


def test_next_skips_and_next_on_the_last_track_ends_the_run():
    s = started_run()
    t = player.next_track(s, PROGRAM)
    assert t.state.index == 1 and 0 in t.state.skipped
    for _ in range(3):
        t = player.next_track(t.state, PROGRAM)
    assert t.state.activity is Activity.FINISHED and t.stop
    assert any(isinstance(e, RunEnded) for e in t.events)


def test_previous_goes_back_one_and_on_the_first_track_restarts_it():
    s = player.next_track(started_run(), PROGRAM).state
    back = player.previous_track(s, PROGRAM)
    assert back.play is not None and back.play.index == 0
    again = player.previous_track(back.state, PROGRAM)
    assert again.play is not None and again.play.index == 0 and again.play.token != back.play.token


def test_repeat_and_start_over_use_new_tokens_so_old_stream_events_are_stale():
    s = player.next_track(started_run(), PROGRAM).state
    r = player.repeat(s, PROGRAM)
    assert r.play is not None and r.play.index == 1 and r.play.token != s.token
    assert not player.stopped(r.state, PROGRAM, s.token, 5000).changed
    o = player.start_over(r.state, PROGRAM, "unused")
    assert o.play is not None and o.play.index == 0 and o.state.run_id == "run1"


def test_start_over_after_a_finished_run_starts_a_new_run():
    s = started_run()
    for _ in range(4):
        s = player.finished(s, PROGRAM, s.token).state
    t = player.start_over(s, PROGRAM, "run2")
    assert t.state.run_id == "run2" and t.play is not None and t.play.index == 0


def test_failed_pauses_so_resume_retries_the_same_track():
    s = started_run()
    t = player.failed(s, PROGRAM, s.token, 4000)
    assert t.state.activity is Activity.PAUSED
    assert player.resume(t.state, PROGRAM).play.offset_ms == 4000


def test_commands_without_a_run_do_nothing():
    idle = PlaybackState()
    for move in (player.pause, player.resume, player.next_track, player.previous_track, player.repeat):
        assert not move(idle, PROGRAM).changed


def test_a_state_from_another_routine_is_not_driven_by_this_program():
    s = started_run()
    other = Program("calves", (1000, 1000))
    assert not player.next_track(s, other).changed


def test_state_round_trips_through_plain_json_types():
    s = player.nearly_finished(started_run(), PROGRAM, started_run().token).state
    assert PlaybackState.from_dict(s.to_dict()) == s


def test_a_corrupt_stored_state_is_rejected_with_a_sentence():
    import pytest

    for bad in ({"activity": "dancing"}, {"index": -1}, {"activity": "playing"}, {"completed": ["x"]}):
        with pytest.raises(ValueError, match=r"not valid|without routine"):
            PlaybackState.from_dict(bad)


def test_foreign_and_malformed_tokens_parse_to_none():
    for bad in (None, "", "a|b|c", "a|b|-1|0", "x" * 500, "||1|1", 42):
        assert Token.parse(bad) is None


def test_tokens_whose_ids_or_numbers_we_never_issue_parse_to_none():
    # Found by a hostile review: each one, accepted, broke a device or the journal for good.
    for bad in ("calves|run\ud800|0|5",  # a run id storage cannot encode
                "calves|r u n|0|5", "calves|r/1|0|5", "cal ves|r|0|5", f"calves|{'r' * 65}|0|5",
                f"calves|r|0|{10**18}",  # a sequence no later token could top: the device stays stale
                "calves|r|10000|5"):
        assert Token.parse(bad) is None, bad
    assert Token.parse(f"calves|{'r' * 64}|9999|{10**18 - 1}") == Token("calves", "r" * 64, 9999, 10**18 - 1)


# --- properties ------------------------------------------------------------------------

programs = st.lists(st.integers(1_000, 120_000), min_size=1, max_size=6).map(
    lambda ms: Program("routine", tuple(ms))
)
offsets = st.one_of(st.none(), st.integers(-10**6, 10**9))
commands = st.sampled_from(
    ["start", "pause", "resume", "next", "previous", "repeat", "start_over",
     "nearly", "started_q", "finished", "stopped", "failed", "stale_stopped", "stale_finished"]
)


def apply(state: PlaybackState, program: Program, cmd: str, offset: int | None, n: int):
    token = state.token
    if cmd == "start":
        return player.start(state, program, f"run{n}")
    if cmd == "pause":
        return player.pause(state, program, offset)
    if cmd == "resume":
        return player.resume(state, program)
    if cmd == "next":
        return player.next_track(state, program)
    if cmd == "previous":
        return player.previous_track(state, program)
    if cmd == "repeat":
        return player.repeat(state, program)
    if cmd == "start_over":
        return player.start_over(state, program, f"run{n}")
    if cmd == "nearly":
        return player.nearly_finished(state, program, token)
    if cmd == "started_q":
        return player.started(state, program, state.enqueued_token)
    if cmd == "finished":
        return player.finished(state, program, token)
    if cmd == "stopped":
        return player.stopped(state, program, token, offset)
    if cmd == "failed":
        return player.failed(state, program, token, offset)
    stale = str(Token(program.routine_id, "other-run", 0, 1))
    if cmd == "stale_stopped":
        return player.stopped(state, program, stale, offset)
    return player.finished(state, program, stale)


@settings(max_examples=400, deadline=None)
@given(programs, st.lists(st.tuples(commands, offsets), max_size=40))
def test_any_sequence_of_commands_and_events_keeps_the_state_valid(program, steps):
    state = PlaybackState()
    ended: list[str] = []
    for n, (cmd, offset) in enumerate(steps):
        t = apply(state, program, cmd, offset, n)
        state = t.state
        assert player.check_invariants(state, program) == []
        assert PlaybackState.from_dict(state.to_dict()) == state
        ended += [e.run_id for e in t.events if isinstance(e, RunEnded)]
        if t.play is not None:
            assert t.play.token in (state.token, state.enqueued_token)
    assert len(ended) == len(set(ended)), "a run ended twice"


@settings(max_examples=300, deadline=None)
@given(programs, st.lists(st.tuples(commands, offsets), max_size=30), st.text(max_size=30), offsets)
def test_events_with_stale_or_foreign_tokens_change_nothing(program, steps, junk, offset):
    state = PlaybackState()
    for n, (cmd, off) in enumerate(steps):
        state = apply(state, program, cmd, off, n).state
    foreign = [junk, str(Token(program.routine_id, "someone-else", 0, 1)), None]
    if state.token:
        t = Token.parse(state.token)
        foreign.append(str(Token(t.routine_id, t.run_id, t.index, t.seq + 50)))
    for tok in foreign:
        if tok in (state.token, state.enqueued_token):
            continue
        for event in (player.stopped, player.failed):
            assert event(state, program, tok, offset).state == state
        for event in (player.finished, player.started, player.nearly_finished):
            assert event(state, program, tok).state == state


@settings(max_examples=300, deadline=None)
@given(programs, st.lists(st.tuples(commands, offsets), max_size=30), st.integers(0, 10**6))
def test_pause_then_resume_returns_the_same_track_and_offset(program, steps, offset):
    state = PlaybackState()
    for n, (cmd, off) in enumerate(steps):
        state = apply(state, program, cmd, off, n).state
    if state.activity is not Activity.PLAYING:
        return
    paused = player.pause(state, program, offset).state
    resumed = player.resume(paused, program)
    assert resumed.play is not None
    assert resumed.play.index == state.index and resumed.play.token == state.token
    assert resumed.play.offset_ms == min(offset, program.track_ms[state.index])


# --- tokens carry the way forward; late events ------------------------------------------

def test_a_start_continues_the_sequence_from_the_floor_so_a_later_runs_tokens_compare_higher():
    first = player.start(PlaybackState(), PROGRAM, "run1", floor=1_000).state
    assert Token.parse(first.token).seq == 1_001
    second = player.start(PlaybackState(), PROGRAM, "run2", floor=2_000, at="2026-12-01T10:00:00Z").state
    assert Token.parse(second.token).seq > Token.parse(first.token).seq
    assert second.started_at == "2026-12-01T10:00:00Z"
    again = player.start(second, PROGRAM, "run3", floor=0).state
    assert Token.parse(again.token).seq == second.seq + 1, "the sequence never goes back"


def test_a_token_newer_than_the_stored_state_is_caught_up_and_the_next_track_follows():
    stored = started_run()  # every save after this one failed
    s = stored
    for _ in range(2):  # what the device was really sent: tracks 1 and 2 enqueued in turn
        s = player.nearly_finished(s, PROGRAM, s.token).state
        s = player.started(s, PROGRAM, s.enqueued_token).state
    caught = player.catch_up(stored, PROGRAM, s.token)
    assert (caught.index, caught.token, caught.activity) == (2, s.token, Activity.PLAYING)
    assert caught.completed == {0, 1}
    t = player.nearly_finished(caught, PROGRAM, s.token)
    assert t.play is not None and t.play.index == 3 and t.play.expected_previous_token == s.token
    assert player.check_invariants(t.state, PROGRAM) == []


def test_catching_up_keeps_stale_tokens_stale_and_ignores_other_routines():
    s = player.nearly_finished(started_run(), PROGRAM, started_run().token).state
    older = str(Token("upper-back", "run1", 0, 0))
    assert player.catch_up(s, PROGRAM, older) == s
    assert player.catch_up(s, PROGRAM, s.token) == s
    assert player.catch_up(s, PROGRAM, s.enqueued_token) == player.started(s, PROGRAM, s.enqueued_token).state
    assert player.catch_up(s, Program("calves", (1_000,)), str(Token("upper-back", "x", 0, 99))) == s
    other_run = player.catch_up(s, Program("calves", (1_000,)), str(Token("calves", "x", 0, 99)))
    assert (other_run.routine_id, other_run.run_id, other_run.completed) == ("calves", "x", frozenset())
    assert player.catch_up(s, PROGRAM, str(Token("upper-back", "run1", 9, 99))) == s, "no such track"
    assert player.catch_up(s, PROGRAM, "garbage") == s


def test_a_playback_started_stamped_before_the_stop_leaves_the_run_paused():
    s = started_run()
    paused = player.stopped(s, PROGRAM, s.token, 5_000, at="2026-12-01T10:00:05Z").state
    assert paused.paused_at == "2026-12-01T10:00:05Z"
    late = player.started(paused, PROGRAM, s.token, at="2026-12-01T10:00:01Z")
    assert late.state == paused
    # Alexa stamps whole seconds; a device interrupted by a short answer resumes within one.
    same_second = player.started(paused, PROGRAM, s.token, at="2026-12-01T10:00:05Z")
    assert same_second.state.activity is Activity.PLAYING
    later = player.started(paused, PROGRAM, s.token, at="2026-12-01T10:00:09Z")
    assert later.state.activity is Activity.PLAYING


# --- screen tags: screens cache by token ------------------------------------------------------

SCREENED = Program("upper-back", (30_000, 45_000, 60_000, 20_000),
                   screens=("0a1b2c3d", "1a2b3c4d", "2a3b4c5d", "3a4b5c6d"))


def test_a_programs_screen_tag_rides_at_the_end_of_each_token_it_issues_and_parses_back():
    begun = player.start(PlaybackState(), SCREENED, "run1")
    assert begun.play.token == "upper-back|run1|0|1|0a1b2c3d"
    assert Token.parse(begun.play.token) == Token("upper-back", "run1", 0, 1, screen="0a1b2c3d")
    queued = player.nearly_finished(begun.state, SCREENED, begun.play.token)
    assert queued.play.token.endswith("|1a2b3c4d") and queued.play.expected_previous_token == begun.play.token
    quick = Token("calves", "r", 2, 5, "quick", "deadbeef")
    assert str(quick) == "calves|r|2|5|quick|deadbeef" and Token.parse(str(quick)) == quick


def test_tokens_keep_their_shape_rules_with_or_without_a_screen_tag():
    assert Token.parse("upper-back|run1|0|1") == Token("upper-back", "run1", 0, 1)
    for bad in ["upper-back|run1|0|1|deadbeef|quick", "upper-back|run1|0|1|DEADBEEF", "upper-back|run1|0|1|dead",
                "upper-back|run1|0|1|quick|deadbeef|x", "upper-back|run1|0|1|full|deadbeef"]:
        assert Token.parse(bad) is None, bad


def test_a_screen_change_while_paused_gives_the_resumed_track_a_fresh_token_at_the_same_offset():
    paused = player.pause(player.start(PlaybackState(), SCREENED, "run1").state, SCREENED, 7_000).state
    same = player.resume(paused, SCREENED)
    assert same.play.token == paused.token and same.play.offset_ms == 7_000
    rerendered = Program(SCREENED.routine_id, SCREENED.track_ms, screens=("ffffffff", *SCREENED.screens[1:]))
    fresh = player.resume(paused, rerendered)
    assert fresh.play.token != paused.token and fresh.play.token.endswith("|ffffffff")
    assert (fresh.play.index, fresh.play.offset_ms, fresh.state.offset_ms) == (0, 7_000, 7_000)
    assert player.check_invariants(fresh.state, rerendered) == []
    assert player.stopped(fresh.state, rerendered, paused.token, 9_000).state == fresh.state, "the old token is stale"


def test_the_queued_track_taking_over_follows_from_the_state_that_queued_it_and_nothing_else_does():
    s = started_run()
    queued = player.nearly_finished(s, PROGRAM, s.token).state
    took_over = player.finished(queued, PROGRAM, s.token).state
    assert player.follows(queued, took_over)
    assert player.follows(queued, player.started(queued, PROGRAM, queued.enqueued_token).state)
    assert not player.follows(s, queued), "what was queued must be saved: Finished relies on it"
    assert not player.follows(queued, player.stopped(queued, PROGRAM, queued.enqueued_token, 5_000).state)
    assert not player.follows(queued, queued) and not player.follows(took_over, took_over)
    last = s
    for _ in range(PROGRAM.last):
        last = player.finished(player.nearly_finished(last, PROGRAM, last.token).state, PROGRAM, last.token).state
    assert not player.follows(last, player.finished(last, PROGRAM, last.token).state), "the end is saved"


@settings(max_examples=400, deadline=None)
@given(programs, st.lists(st.tuples(commands, offsets), max_size=40))
def test_a_store_that_skips_what_follows_is_caught_up_by_the_devices_token_to_the_true_state(program, steps):
    truth = saved = PlaybackState()  # every transition kept, and what storage holds without `follows` steps
    for n, (cmd, offset) in enumerate(steps):
        assert player.catch_up(saved, program, truth.token) == truth
        t = apply(truth, program, cmd, offset, n)
        if t.events or not (t.state == saved or player.follows(saved, t.state)):
            saved = t.state
        truth = t.state
    assert player.catch_up(saved, program, truth.token) == truth
