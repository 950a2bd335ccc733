"""SQLite writes a run under way in place: only its document, its indexed columns when they change."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from skill.storage.records import Changes, RunWrite
from skill.storage.sqlite import SQLiteAdapter

USER = "amzn1.ask.account.IN-PLACE"


def run(**changes: object) -> dict:
    return {"run_id": "r1", "routine_id": "calves", "area": "calves", "started_at": "2026-12-01T08:00:00Z",
            "updated_at": "2026-12-01T08:00:00Z", "ended_at": None, "seconds_guided": 0, "tracks_completed": 0,
            "tracks_skipped": 0, "track_count": 15, "outcome": "in_progress", "length": "full", **changes}


def save(store: SQLiteAdapter, record: dict, device: str | None = "echo") -> None:
    store.save(USER, Changes("echo", datetime.now(UTC), runs=[RunWrite(record, device)]))


def row(path: Path) -> tuple:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT open, device_id, started_at, json_extract(doc, '$.tracks_completed') "
                            "FROM runs WHERE user_id = ? AND run_id = 'r1'", (USER,)).fetchone()


def open_runs(path: Path, device: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r for (r,) in conn.execute(
            "SELECT run_id FROM runs INDEXED BY runs_open WHERE user_id = ? AND device_id = ? AND open = 1",
            (USER, device))]


def test_a_run_under_way_is_rewritten_in_place_and_its_indexed_columns_follow_when_it_ends(tmp_path):
    path = tmp_path / "coach.sqlite3"
    store = SQLiteAdapter(path)
    save(store, run())
    save(store, run(updated_at="2026-12-01T08:01:00Z", seconds_guided=60, tracks_completed=2))
    assert row(path) == (1, "echo", "2026-12-01T08:00:00Z", 2)
    assert open_runs(path, "echo") == ["r1"]
    save(store, run(updated_at="2026-12-01T08:09:00Z", ended_at="2026-12-01T08:09:00Z", outcome="completed",
                    seconds_guided=540, tracks_completed=15))
    assert row(path) == (0, "echo", "2026-12-01T08:00:00Z", 15)
    assert open_runs(path, "echo") == []


def test_a_run_stored_without_a_device_takes_the_device_of_its_next_write(tmp_path):
    path = tmp_path / "coach.sqlite3"
    store = SQLiteAdapter(path)
    save(store, run(), device=None)  # as a run split from an old document is stored
    assert row(path)[1] is None
    save(store, run(updated_at="2026-12-01T08:01:00Z", tracks_completed=1))
    assert row(path)[1] == "echo" and open_runs(path, "echo") == ["r1"]
