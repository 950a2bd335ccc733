"""Shared fixtures: rendered audio for the routines the skill tests play, and app settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skill.config import Settings
from tests.server import TEST_AUDIO_DIR, ThreadServer

TEST_ROUTINES = ("upper-back", "calves")


@pytest.fixture(scope="session")
def rendered_audio() -> Path:
    """Render the routines the skill tests play, full and quick, with the real default voice."""
    from skill.core.lengths import versions
    from skill.core.routines import load_library
    from skill.render import render_library

    settings = Settings(audio_dir=TEST_AUDIO_DIR)
    library = load_library()
    report = render_library([v for r in TEST_ROUTINES for v in versions(library.get(r))], settings)
    assert not report.failures, report.failures
    return TEST_AUDIO_DIR


@pytest.fixture
def app_settings(rendered_audio: Path, tmp_path: Path) -> Settings:
    """Return settings for a fresh skill: rendered audio, an empty SQLite folder, no verify."""
    return Settings(
        audio_dir=rendered_audio,
        data_dir=tmp_path / "data",
        public_url="https://coach.example.test",
        verify=False,
    )


@pytest.fixture
def server(app_settings: Settings) -> Iterator[ThreadServer]:
    """Serve a fresh skill (see `app_settings`) on loopback for one test."""
    from skill.hosting.web import create_app

    with ThreadServer(create_app(app_settings)) as srv:
        yield srv
