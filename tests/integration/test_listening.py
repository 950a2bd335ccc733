"""Listen to rendered routines the way a person on the floor does, from the decoded MP3s.

The routines the skill tests play are rendered once per session with the real voice
(tests/conftest.py). Each track is decoded and measured from its samples: the quiet after
a step that asks the person to move, where speech starts in the timed part, and whether
any stroke tone plays. The manifest's transcript says what the words are; the decoded
audio says when they really start, and the tests check the two agree.

Run as a script to print the measured quiet after every moving step of one routine:
  .venv/bin/python -m tests.integration.test_listening calves [AUDIO_DIR]
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from skill.config import Settings
from skill.content.manifest import ManifestTrack, load_manifest
from skill.core.routines import Routine, load_library
from skill.core.steps import MIN_SETTLE_SECONDS, StepKind
from skill.core.timeline import Track, expand
from skill.render import cues
from skill.render.encode import decode
from skill.render.layout import (
    CUE_SPACING_SECONDS,
    ONE_COUNTDOWN_MAX_SECONDS,
    SAMPLE_RATE,
    closing,
    instruction,
)
from skill.text import en_US as speech
from tests.conftest import TEST_ROUTINES

FRAME = SAMPLE_RATE // 100  # 10 ms analysis frames
QUIET_DBFS = -55.0  # quieter than this is silence (speech sits near -18, the softest tone -27)
PAUSE_SECONDS = 1.0  # a silence this long is not a pause between words
SPEECH_BAND_HZ = 2500.0  # voices carry energy up here; breath and pace tones do not
SPEECH_BAND_DBFS = -50.0
MATCH = 0.7  # normalised correlation with a stroke tone that means "a stroke tone plays here"
BREATH_WORDS = {speech.BREATH_IN, speech.BREATH_OUT}


@dataclass(frozen=True)
class Heard:
    """One decoded track with its timeline track and manifest entry."""

    track: Track
    entry: ManifestTrack
    pcm: np.ndarray  # float64 in [-1, 1]


def frame_db(x: np.ndarray) -> np.ndarray:
    """Return the RMS level of every 10 ms frame in dBFS."""
    n = len(x) // FRAME * FRAME
    power = np.mean(np.square(x[:n].reshape(-1, FRAME)), axis=1)
    return 10 * np.log10(power + 1e-20)


def speech_frames(x: np.ndarray) -> np.ndarray:
    """Return, per 10 ms frame, whether the high band a voice fills is active."""
    n = len(x) // FRAME * FRAME
    spectrum = np.abs(np.fft.rfft(x[:n].reshape(-1, FRAME) * np.hanning(FRAME), axis=1)) ** 2
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    band = spectrum[:, freqs >= SPEECH_BAND_HZ].sum(axis=1) / (np.sum(np.hanning(FRAME) ** 2) * FRAME / 2)
    return 10 * np.log10(band + 1e-20) > SPEECH_BAND_DBFS


def speech_onsets(x: np.ndarray, start: float, end: float) -> list[float]:
    """Return the times (s) where speech starts after at least half a second without it."""
    active = speech_frames(x)
    onsets, last = [], -1e9
    for k in range(int(start * 100), min(len(active), int(end * 100))):
        if active[k]:
            if k / 100 - last > 0.5:
                onsets.append(k / 100)
            last = k / 100
    return onsets


def quiet_after(x: np.ndarray, t: float) -> tuple[float, float]:
    """Return (start, length) of the first silence of PAUSE_SECONDS or more after time t."""
    quiet = frame_db(x) < QUIET_DBFS
    k, n = int(t * 100), len(quiet)
    while k < n:
        if quiet[k]:
            end = k
            while end < n and quiet[end]:
                end += 1
            if (end - k) / 100 >= PAUSE_SECONDS:
                return k / 100, (end - k) / 100
            k = end
        k += 1
    return len(x) / SAMPLE_RATE, 0.0


def stroke_match(x: np.ndarray) -> float:
    """Return the best normalised correlation of the track with either stroke tone."""
    best = 0.0
    for name in ("stroke-up", "stroke-back"):
        tone = cues.sound(name).astype(np.float64)
        size = 1 << int(np.ceil(np.log2(len(x) + len(tone))))
        num = np.fft.irfft(np.fft.rfft(x, size) * np.conj(np.fft.rfft(tone, size)), size)[: len(x) - len(tone)]
        energy = np.concatenate(([0.0], np.cumsum(x * x)))
        window = energy[len(tone):len(x)] - energy[: len(x) - len(tone)]
        norm = np.sqrt(np.maximum(window, 1e-12)) * np.linalg.norm(tone)
        loud = window > len(tone) * 10 ** (QUIET_DBFS / 10)
        if loud.any():
            best = max(best, float(np.max(num[loud] / norm[loud])))
    return best


def listen(routine: Routine, settings: Settings) -> list[Heard]:
    """Return every track of a rendered routine, decoded."""
    manifest = load_manifest(routine.id, settings)
    assert manifest is not None, f"{routine.id} is not rendered in {settings.audio_dir}"
    tracks = expand(routine)
    assert [e.index for e in manifest.tracks] == [t.index for t in tracks]
    return [Heard(t, e, decode(settings.tracks_dir / e.file).astype(np.float64) / 32768.0)
            for t, e in zip(tracks, manifest.tracks, strict=True)]


def last_instruction_start(heard: Heard) -> float:
    """Return when the instruction's last sentence starts, from the transcript."""
    said = instruction(heard.track)
    assert [s.text for s in heard.entry.transcript[: len(said)]] == list(said)
    return heard.entry.transcript[len(said) - 1].t


def cue_lines(heard: Heard) -> list[tuple[float, str]]:
    """Return (time, words) for every line the timed part says."""
    said = len(instruction(heard.track))
    lines = heard.entry.transcript[said: len(heard.entry.transcript) - len(closing(heard.track))]
    return [(s.t, s.text) for s in lines]


def settle_table(heard: list[Heard]) -> list[tuple[Track, float]]:
    """Return (track, measured quiet seconds) for every step with settle time."""
    rows = []
    for h in heard:
        if h.track.settle_seconds:
            _start, length = quiet_after(h.pcm, last_instruction_start(h))
            rows.append((h.track, length))
    return rows


@pytest.fixture(scope="module")
def routines(rendered_audio: Path) -> dict[str, list[Heard]]:
    settings = Settings(audio_dir=rendered_audio)
    library = load_library()
    return {rid: listen(library.get(rid), settings) for rid in TEST_ROUTINES}


def every(routines: dict[str, list[Heard]]) -> list[Heard]:
    return [h for heard in routines.values() for h in heard]


def test_the_test_routines_hold_every_kind_the_rules_talk_about(routines):
    kinds = {h.track.kind for h in every(routines)}
    assert {StepKind.POSITION, StepKind.PLACE, StepKind.SWITCH, StepKind.HOLD, StepKind.ROLL,
            StepKind.MOVE} <= kinds


def test_every_moving_step_is_followed_by_quiet_for_its_whole_settle_time(routines):
    moving = [h for h in every(routines) if h.track.kind.rules.moving]
    assert moving
    for h in every(routines):
        if not h.track.settle_seconds:
            continue
        start, length = quiet_after(h.pcm, last_instruction_start(h))
        where = (h.track.index, h.track.kind, h.track.text[:40])
        # 50 ms is the meter's own grain: 10 ms frames, and the voice's last breath fading
        # through the silence threshold at a point that varies with each synthesis.
        assert length >= h.track.settle_seconds - 0.05, where
        if h.track.kind.rules.moving:
            assert length >= MIN_SETTLE_SECONDS - 0.05, where
        assert start >= last_instruction_start(h), where
        # the quiet is the settle, not some later gap: nothing was heard between
        assert not speech_onsets(h.pcm, start, start + length)


def test_speech_in_the_timed_part_starts_where_the_transcript_says(routines):
    for h in every(routines):
        lines = cue_lines(h)
        if not lines or not h.track.kind.rules.timed:
            continue
        heard = speech_onsets(h.pcm, lines[0][0] - 0.3, h.entry.duration_ms / 1000)
        assert len(heard) >= len(lines), (h.track.index, heard, lines)
        for t, words in lines:
            assert min(abs(o - t) for o in heard) < 0.15, (h.track.index, t, words, heard)


def test_spoken_cues_are_at_least_eight_seconds_apart(routines):
    checked = 0
    for h in every(routines):
        lines = cue_lines(h)
        heard = speech_onsets(h.pcm, 0, h.entry.duration_ms / 1000)
        onset = {t: min(heard, key=lambda o, t=t: abs(o - t)) for t, _ in lines}
        for (ta, a), (tb, b) in itertools.combinations(lines, 2):
            if {a, b} <= BREATH_WORDS:
                continue
            assert abs(onset[tb] - onset[ta]) >= CUE_SPACING_SECONDS - 0.15, (h.track.index, a, b)
            checked += 1
    assert checked


def test_a_hold_of_thirty_seconds_or_less_hears_one_countdown_cue(routines):
    short = [h for h in every(routines) if h.track.kind.rules.countdown
             and h.track.seconds <= ONE_COUNTDOWN_MAX_SECONDS]
    assert short
    for h in short:
        words = [w for _, w in cue_lines(h)]
        countdown = [w for w in words if w in (speech.TEN_MORE, h.track.kind.rules.mid_cue)]
        assert countdown == [speech.TEN_MORE], (h.track.index, words)


def test_no_roll_cue_is_heard_in_a_step_that_is_not_a_roll(routines):
    rolls = [h for h in every(routines) if h.track.kind.rules.strokes]
    assert rolls
    for h in rolls:  # the detector hears the strokes where they are
        assert stroke_match(h.pcm) > MATCH, h.track.index
    for h in every(routines):
        if h.track.kind.rules.strokes:
            continue
        words = {s.text for s in h.entry.transcript}
        assert speech.KEEP_ROLLING not in words and not words & set(speech.ROLL_PACE.split(". "))
        assert stroke_match(h.pcm) < MATCH, (h.track.index, h.track.kind)


def test_preview_prints_the_rendered_times_and_marks_every_settle(routines, rendered_audio, capsys,
                                                                    monkeypatch):
    from skill.cli import main

    monkeypatch.setenv("TRIGGER_COACH_AUDIO_DIR", str(rendered_audio))
    heard = routines["calves"]
    assert main(["preview", "calves"]) == 0
    out = capsys.readouterr().out
    assert " rendered (" in out.splitlines()[0] and "estimated" not in out
    total = sum(h.entry.duration_ms for h in heard) / 1000
    assert out.rstrip().splitlines()[-1] == f"{int(total // 60):02d}:{total % 60:04.1f}  end"
    settles = [line for line in out.splitlines() if "~ settle" in line]
    assert len(settles) == sum(1 for h in heard if h.track.settle_seconds)


def test_audio_rendered_from_other_words_is_never_played_or_previewed_as_real(rendered_audio, tmp_path,
                                                                            capsys, monkeypatch):
    import json
    import shutil

    from skill.alexa.catalog import Catalog
    from skill.cli import main as cli
    from skill.core.routines import ROUTINES_DIR

    settings = Settings(audio_dir=rendered_audio)
    assert Catalog(load_library(), settings).entry("calves") is not None
    edited = tmp_path / "routines"
    shutil.copytree(ROUTINES_DIR, edited)
    data = json.loads((edited / "calves.json").read_text())
    data["steps"][1]["say"] += " Let your shoulders drop."  # same kinds and sides, new words
    (edited / "calves.json").write_text(json.dumps(data))
    assert Catalog(load_library([edited]), settings).entry("calves") is None
    monkeypatch.setenv("TRIGGER_COACH_AUDIO_DIR", str(rendered_audio))
    monkeypatch.setenv("TRIGGER_COACH_ROUTINES_DIR", str(edited))
    assert cli(["preview", "calves"]) == 0
    assert "not rendered for these steps yet" in capsys.readouterr().out


def main(argv: list[str]) -> int:
    """Print the measured quiet after every step with settle time of one rendered routine."""
    routine_id = argv[0] if argv else "calves"
    settings = Settings(audio_dir=Path(argv[1])) if len(argv) > 1 else Settings(
        audio_dir=Path(__file__).resolve().parents[2] / "var" / "test-audio")
    heard = listen(load_library().get(routine_id), settings)
    print(f"{'track':>5}  {'kind':<8} {'side':<5} {'settle':>6}  {'measured quiet':>14}  first words")
    for track, quiet in settle_table(heard):
        print(f"{track.index:>5}  {track.kind:<8} {track.side or '-':<5} {track.settle_seconds:>5}s"
              f"  {quiet:>13.2f}s  {track.text[:48]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
