"""A small load test through the real server process: many users at once, exact stored progress.

The full benchmark is bench/load.py; this runs the same clients briefly, with no time limits
on requests, only on the whole run (so a hang fails instead of blocking the suite).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.load import Mix, RunDone, check_store, program_of, run_users, seed_history, user_id_of, zone_api
from skill.storage import SQLITE_FILE_NAME
from tests.server import ProcessServer

USERS = 32
# Often enough that 32 users × 15 tracks pause, resume and skip many times (the seed is fixed).
MIX = Mix(pause=0.08, next=0.06)


@pytest.fixture
def program(app_settings):
    program = program_of(app_settings)
    assert program is not None, "the calves routine should be rendered by the rendered_audio fixture"
    return program


def test_32_users_doing_a_whole_routine_at_once_get_valid_replies_and_exactly_their_runs_stored(
    app_settings, program
):
    db_path = app_settings.data_dir / SQLITE_FILE_NAME
    # Half the users come back with two weeks of history, which must survive untouched.
    returning = [user_id_of("suite", 7, n) for n in range(0, USERS, 2)]
    seeded = seed_history(db_path, returning, 14)
    with zone_api() as zone_url, ProcessServer(app_settings) as server:
        result = run_users(server.url, program, users=USERS, seconds=None, max_runs=1, mix=MIX, seed=7,
                           zone_url=zone_url, user_prefix="suite", hard_seconds=240)
    assert result.recorder.errors == []
    assert result.broken_users == 0
    assert sorted(result.runs) == sorted(user_id_of("suite", 7, n) for n in range(USERS))
    assert all(len(done) == 1 for done in result.runs.values())
    # Every track costs three requests (started, nearly finished, finished; or started, next,
    # the stale stopped), a run three more (launch, start, progress), a pause four more
    # (pause, stopped, resume, started again).
    skips = sum(done.tracks_skipped for runs in result.runs.values() for done in runs)
    pauses, remainder = divmod(len(result.recorder.latencies["command"]) - skips, 2)
    assert remainder == 0 and pauses > 0 and skips > 0, "the mix should pause, resume and skip"
    assert result.requests == USERS * (3 + 3 * len(program.track_ms)) + 4 * pauses

    completed, problems = check_store(db_path, result.runs, seeded)
    assert problems == []
    assert completed == USERS


def test_the_store_check_notices_a_run_that_was_not_stored_or_was_counted_wrong(app_settings, program):
    db_path = app_settings.data_dir / SQLITE_FILE_NAME
    with zone_api() as zone_url, ProcessServer(app_settings) as server:
        result = run_users(server.url, program, users=2, seconds=None, max_runs=1, seed=8, zone_url=zone_url,
                           user_prefix="check", hard_seconds=120)
    assert result.recorder.errors == []
    first, second = sorted(result.runs)
    done = result.runs[first][0]
    claimed = {
        first: [replace(done, tracks_skipped=done.tracks_skipped + 1)],
        second: [*result.runs[second], RunDone("never-stored", 15, 0)],
    }
    completed, problems = check_store(db_path, claimed)
    assert completed == 2
    assert len(problems) == 2
    assert "skipped" in problems[0] and "missing ['never-stored']" in problems[1]
