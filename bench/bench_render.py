"""Benchmark rendering a real routine against a bare ffmpeg encode of the same length.

Run: python bench/bench_render.py [ROUTINE_ID]   (default upper-back; takes about a minute)

Prints, in one run:
  1. cold render (sentences already synthesized, empty track folder) CPU time divided by
     the CPU time of one bare ffmpeg encode of a PCM file of the same total length and
     format; also the overhead above the encode, (render - encode) / encode;
  2. warm re-render (nothing changed) CPU time divided by the cold render's;
  3. speech synthesis speed: seconds of audio per CPU second (model load excluded);
  4. a cold render from nothing (synthesis included), scaled to a 10 x 10-minute library.
CPU time is this process (all threads) plus its children (ffmpeg), via getrusage; each
timed step runs REPEATS times and the least is kept, since other load only adds to it.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from skill.config import Settings
from skill.core.routines import load_library
from skill.core.timeline import expand
from skill.render import render_routine
from skill.render.audio import AudioSegment
from skill.render.encode import Mp3Encoder, encode_args
from skill.render.layout import SAMPLE_RATE
from skill.render.tracks import Renderer
from skill.render.voices import PiperVoice


def cpu(children_only: bool = False) -> float:
    """Return CPU seconds used so far (user + system) by this process and/or its children."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = kids.ru_utime + kids.ru_stime
    if not children_only:
        own = resource.getrusage(resource.RUSAGE_SELF)
        total += own.ru_utime + own.ru_stime
    return total


class TimedPiper(PiperVoice):
    """Piper that adds up the CPU time and audio length of what it synthesizes."""

    def __init__(self) -> None:
        super().__init__()
        self.cpu = 0.0
        self.audio_seconds = 0.0

    def _speak(self, text: str) -> AudioSegment:
        start = cpu()
        audio = super()._speak(text)
        self.cpu += cpu() - start
        self.audio_seconds += audio.duration_seconds
        return audio


REPEATS = 3  # timed steps run this often and keep the least CPU: other load only adds


def measure(label: str, fn, *, before=None, repeats: int = 1, children_only: bool = False):
    """Run fn (after `before`, untimed) `repeats` times; print and return its least CPU time."""
    best, best_wall, result = float("inf"), 0.0, None
    for _ in range(repeats):
        if before is not None:
            before()
        start_cpu, start_wall = cpu(children_only), time.perf_counter()
        result = fn()
        spent = cpu(children_only) - start_cpu
        if spent < best:
            best, best_wall = spent, time.perf_counter() - start_wall
    print(f"  {label:<48} {best:7.3f} s CPU  {best_wall:7.2f} s wall")
    return result, best


def bare_encode(pcm: np.ndarray, work: Path, label: str) -> float:
    """Encode pcm with a bare ffmpeg run at the renderer's settings; return its CPU time."""
    raw = work / "baseline.pcm"
    raw.write_bytes(pcm.astype("<i2").tobytes())
    args = encode_args(str(raw), str(work / "baseline.mp3"))
    _, spent = measure(f"bare ffmpeg encode, {label} ({len(pcm) / SAMPLE_RATE:.0f} s)",
                       lambda: subprocess.run(args, check=True), repeats=REPEATS, children_only=True)
    return spent


def main(routine_id: str = "upper-back") -> None:
    """Run the benchmark on one shipped routine and print the figures."""
    routine = load_library().get(routine_id)
    if routine is None:
        sys.exit(f"No routine {routine_id!r} in routines/.")
    work = Path(tempfile.mkdtemp(prefix="trigger-coach-bench-"))
    try:
        settings = Settings(audio_dir=work)
        voice = TimedPiper()
        print(f"Routine {routine.id!r}: {len(expand(routine))} tracks")
        measure("load the Piper model", lambda: voice._load())

        encoder = Mp3Encoder()
        manifest, from_nothing = measure("render from nothing (synthesis included)",
                                         lambda: render_routine(routine, settings, voice=voice, encoder=encoder))
        audio = manifest.duration_ms / 1000
        encoder, calls = Mp3Encoder(), voice.calls
        _, cold = measure("cold render (warm sentence cache, no tracks)",
                          lambda: render_routine(routine, settings, voice=voice, encoder=encoder),
                          before=lambda: shutil.rmtree(settings.tracks_dir), repeats=REPEATS)
        assert voice.calls == calls, "the sentence cache was warm"
        print(f"    ({encoder.calls // REPEATS} tracks encoded per render, {encoder.attempts // REPEATS} encoder runs "
              "with the true-peak retries)")
        encoder = Mp3Encoder()
        _, warm = measure("warm re-render (nothing changed)",
                          lambda: render_routine(routine, settings, voice=voice, encoder=encoder),
                          repeats=REPEATS)
        assert encoder.calls == 0 and voice.calls == calls

        # Baselines: the routine's audio as one raw PCM file, encoded once by a bare ffmpeg;
        # and only the distinct tracks (identical tracks share one file, encoded once).
        renderer = Renderer(settings, voice)
        buffers = {renderer.track_key(t): renderer.pcm(t)[1] for t in expand(routine)}
        pcm = np.concatenate([renderer.pcm(t)[1] for t in expand(routine)])
        baseline = bare_encode(pcm, work, "whole routine")
        distinct = bare_encode(np.concatenate(list(buffers.values())), work, "distinct tracks only")

        print()
        print(f"Audio: {audio / 60:.2f} min ({len(pcm) / SAMPLE_RATE:.1f} s of PCM)")
        print(f"1. cold render / bare encode      = {cold / baseline:6.3f}   (target <= 0.3)")
        print(f"   overhead above encoding        = {(cold - distinct) / distinct:6.3f}   "
              "((render - encode) / encode, over the distinct tracks it encodes)")
        print(f"2. warm re-render / cold render   = {warm / cold:6.4f}   (target <= 0.01)")
        print(f"3. synthesis speed                = {voice.audio_seconds / voice.cpu:6.1f} s of audio "
              f"per CPU second ({voice.audio_seconds:.0f} s of speech in {voice.cpu:.1f} s CPU)")
        per_minute = from_nothing / (audio / 60)
        print(f"4. render from nothing            = {per_minute:6.2f} s CPU per minute of audio; "
              f"a 10 x 10-minute library ~ {per_minute * 100 / 60:.1f} min CPU")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:2])
