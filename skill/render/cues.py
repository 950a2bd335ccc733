"""Synthesize cue sounds and breathing/pace tones deterministically from plain recipes.

Cues (chime, switch, bell, tick) come from the catalogue in skill/core/cues.py: each note is
a sine with its partials under an exponential decay. Tones are the renderer's own: a soft
rising hum for breathing in, a falling one for breathing out, and a short pluck per roll
stroke. Same recipe, same samples: no randomness, so a cache key over the recipe is enough.
Sounds are float32 arrays in [-1, 1] at the layout's sample rate.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import cache

import numpy as np

from skill.core.cues import CUES, Cue
from skill.render.layout import EXHALE_TONE, INHALE_TONE, SAMPLE_RATE, STROKE_TONES, samples

ATTACK_SECONDS = 0.005
RELEASE_SECONDS = 0.010
DECAY_DB = 40.0  # a note has decayed this far by the end of its length


@dataclass(frozen=True)
class Tone:
    """A gliding hum (breath) or a short pluck (pace): frequencies, level and shape."""

    name: str
    start_hz: float
    end_hz: float
    level_db: float  # peak level relative to full scale
    shape: str  # "swell": rises and falls over its whole length; "pluck": quick decay
    seconds: float | None = None  # fixed length, or None to last as long as its phase
    harmonics: tuple[tuple[float, float], ...] = ((2.0, -14.0), (3.0, -24.0))


TONES: dict[str, Tone] = {
    tone.name: tone
    for tone in (
        # Breathing in: a low hum that rises a fifth as the lungs fill.
        Tone(INHALE_TONE, 196.0, 294.0, level_db=-23.0, shape="swell"),
        # Breathing out: the same hum falling back, a little longer and lower.
        Tone(EXHALE_TONE, 294.0, 185.0, level_db=-23.0, shape="swell"),
        # Roll pace: a soft pluck per stroke, higher going up, lower coming back.
        Tone(STROKE_TONES[0], 440.0, 440.0, level_db=-20.0, shape="pluck", seconds=0.3),
        Tone(STROKE_TONES[1], 370.0, 370.0, level_db=-20.0, shape="pluck", seconds=0.3),
    )
}


def _edges(signal: np.ndarray) -> np.ndarray:
    """Apply a short linear attack and release so a sound starts and ends at zero."""
    n = len(signal)
    a, r = min(samples(ATTACK_SECONDS), n // 2), min(samples(RELEASE_SECONDS), n // 2)
    if a:
        signal[:a] *= np.linspace(0.0, 1.0, a, endpoint=False)
    if r:
        signal[n - r:] *= np.linspace(1.0, 0.0, r)
    return signal


def _to_peak(signal: np.ndarray, level_db: float) -> np.ndarray:
    peak = float(np.max(np.abs(signal))) if len(signal) else 0.0
    if peak > 0:
        signal *= 10 ** (level_db / 20) / peak
    return signal.astype(np.float32)


def _note(hz: float, seconds: float, partials: tuple[tuple[float, float], ...]) -> np.ndarray:
    t = np.arange(samples(seconds)) / SAMPLE_RATE
    wave = np.sin(2 * np.pi * hz * t)
    for ratio, gain_db in partials:
        wave += 10 ** (gain_db / 20) * np.sin(2 * np.pi * hz * ratio * t)
    tau = seconds / math.log(10 ** (DECAY_DB / 20))
    return _edges(wave * np.exp(-t / tau))


def synthesize_cue(cue: Cue) -> np.ndarray:
    """Render a catalogue cue: its notes, with partials, decaying, peaking at its level."""
    out = np.zeros(samples(cue.seconds))
    for note in cue.notes:
        wave = _note(note.hz, note.seconds, cue.partials) * 10 ** (note.gain_db / 20)
        start = samples(note.start)
        end = min(len(out), start + len(wave))
        out[start:end] += wave[: end - start]
    return _to_peak(out, cue.level_db)


def synthesize_tone(tone: Tone, length: int) -> np.ndarray:
    """Render a tone `length` samples long, gliding from its start to its end pitch."""
    if length <= 0:
        return np.zeros(0, dtype=np.float32)
    x = np.arange(length) / length
    hz = tone.start_hz * (tone.end_hz / tone.start_hz) ** x  # even glide on a musical scale
    phase = 2 * np.pi * np.cumsum(hz) / SAMPLE_RATE
    wave = np.sin(phase)
    for ratio, gain_db in tone.harmonics:
        wave += 10 ** (gain_db / 20) * np.sin(ratio * phase)
    if tone.shape == "swell":
        wave *= np.sin(np.pi * x) ** 2  # breath-like: in softly, out softly
    else:
        t = np.arange(length) / SAMPLE_RATE
        wave *= np.exp(-t / (length / SAMPLE_RATE / math.log(10 ** (DECAY_DB / 20))))
    return _to_peak(_edges(wave), tone.level_db)


@cache
def sound(name: str) -> np.ndarray:
    """Return a fixed-length sound by name: a catalogue cue or a pace tone."""
    if name in CUES:
        return synthesize_cue(CUES[name])
    tone = TONES.get(name)
    if tone is None or tone.seconds is None:
        known = ", ".join(sorted(CUES))
        raise KeyError(f"Cue {name!r} is not in the cue catalogue (skill/core/cues.py); use one of: {known}.")
    return synthesize_tone(tone, samples(tone.seconds))


@cache
def tone(name: str, length: int) -> np.ndarray:
    """Return a breath tone of exactly `length` samples."""
    return synthesize_tone(TONES[name], length)


def sound_lengths() -> dict[str, int]:
    """Return the length in samples of every fixed-length sound, for the layout."""
    fixed = {n: samples(c.seconds) for n, c in CUES.items()}
    fixed.update({n: samples(t.seconds) for n, t in TONES.items() if t.seconds is not None})
    return fixed


def _recipe(cue: Cue) -> dict[str, object]:
    # The shape dataclasses.asdict gave when cues were dataclasses: cache keys stay the same.
    return {**cue._asdict(), "notes": tuple(note._asdict() for note in cue.notes)}


def fingerprint(names: tuple[str, ...]) -> dict[str, object]:
    """Return the recipes of the named cues plus every tone, as JSON data for cache keys."""
    return {
        "cues": {n: _recipe(CUES[n]) if n in CUES else None for n in sorted(set(names))},
        "tones": {n: asdict(t) for n, t in sorted(TONES.items())},
        "envelope": [ATTACK_SECONDS, RELEASE_SECONDS, DECAY_DB],
    }
