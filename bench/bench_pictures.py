"""Benchmark what the placement pictures add to a render, against the render itself.

Run: python bench/bench_pictures.py [ROUTINE_ID]   (default upper-back; sentences come from
var/test-audio's cache when it has them, else they are synthesized first and not timed)

Prints, in one run, CPU seconds (this process and its children, getrusage), the least of
REPEATS tries each:
  1. a cold render of the routine's full and quick versions (empty track and picture
     folders, sentences cached): the baseline;
  2. the same render with the tracks kept and only the pictures missing: what drawing them
     costs, and its ratio to the baseline;
  3. a warm re-render (nothing missing), for scale.
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
from pathlib import Path

from skill.config import PROJECT_ROOT, Settings
from skill.core.lengths import versions
from skill.core.routines import load_library
from skill.render import render_library

REPEATS = 3


def cpu() -> float:
    """Return CPU seconds used so far by this process and its children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(routines, settings: Settings, clear: list[Path]) -> tuple[float, int]:
    """Return the least CPU time of REPEATS renders, each after removing `clear`, and pictures drawn."""
    best, drawn = float("inf"), 0
    for _ in range(REPEATS):
        for folder in clear:
            shutil.rmtree(folder, ignore_errors=True)
        start = cpu()
        report = render_library(routines, settings)
        best = min(best, cpu() - start)
        assert not report.failures, report.failures
        drawn = report.pictures_drawn
    return best, drawn


def main() -> None:
    routine_id = sys.argv[1] if len(sys.argv) > 1 else "upper-back"
    routines = list(versions(load_library().get(routine_id)))
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(audio_dir=Path(tmp))
        cached = PROJECT_ROOT / "var" / "test-audio" / "cache"
        if cached.is_dir():
            shutil.copytree(cached, settings.cache_dir)
        render_library(routines, settings)  # any missing sentence is synthesized here, untimed
        cold, drawn = timed(routines, settings, [settings.tracks_dir, settings.images_dir])
        pictures, drawn_only = timed(routines, settings, [settings.images_dir])
        warm, _ = timed(routines, settings, [])
    assert drawn == drawn_only
    print(f"routine {routine_id} (full + quick): {drawn} pictures")
    print(f"cold render (tracks + pictures): {cold:.2f} CPU s")
    print(f"pictures only: {pictures:.2f} CPU s = {pictures / cold:.1%} of the cold render "
          f"({pictures / drawn * 1000:.0f} ms per picture)")
    print(f"warm re-render (nothing missing): {warm:.2f} CPU s = {warm / cold:.1%} of the cold render")


if __name__ == "__main__":
    main()
