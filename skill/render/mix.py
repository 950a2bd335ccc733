"""Level speech and play a TrackPlan into one PCM buffer.

Loudness is set on the speech, not on the whole track (long quiet holds would drag a
whole-track measure down): every sentence is trimmed, resampled to the layout rate and
brought to TARGET_DBFS, measured as gated RMS over its voiced 20 ms windows. Cue recipes
already sit about 10 dB below that. A peak limiter keeps every sample under
PEAK_CEILING_DBFS, which leaves room for MP3's overshoot under -1 dBFS true peak.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from skill.render import cues
from skill.render.audio import AudioSegment, mono16, to_float
from skill.render.layout import EXHALE_TONE, INHALE_TONE, SAMPLE_RATE, TrackPlan, samples

TARGET_DBFS = -18.0
PEAK_CEILING_DBFS = -1.5
TRIM_DBFS = -50.0  # leading and trailing samples quieter than this are cut
TRIM_MARGIN_SECONDS = 0.01
SPEECH_FADE_SECONDS = 0.005
GATE_WINDOW_SECONDS = 0.02
GATE_DB = 30.0  # windows this far under the loudest one do not count towards the level

CEILING = 10 ** (PEAK_CEILING_DBFS / 20)


class MixError(ValueError):
    """A sound does not have the length its plan gives it."""


def fingerprint() -> list[float]:
    """Return the levelling constants, for cache keys."""
    return [TARGET_DBFS, PEAK_CEILING_DBFS, TRIM_DBFS, TRIM_MARGIN_SECONDS,
            SPEECH_FADE_SECONDS, GATE_WINDOW_SECONDS, GATE_DB]


def db(x: float) -> float:
    """Convert a linear amplitude to dBFS (-inf for silence)."""
    return 20 * np.log10(x) if x > 0 else float("-inf")


def speech_level(x: np.ndarray) -> float:
    """Return the gated RMS level of speech in dBFS: voiced windows only, LUFS-ish."""
    w = samples(GATE_WINDOW_SECONDS)
    if len(x) < w:
        return db(float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))) if len(x) else float("-inf")
    power = np.mean(np.square(x[: len(x) // w * w].reshape(-1, w), dtype=np.float64), axis=1)
    loudest = power.max()
    if loudest <= 0:
        return float("-inf")
    voiced = power[power >= loudest * 10 ** (-GATE_DB / 10)]
    return db(float(np.sqrt(voiced.mean())))


def limit(x: np.ndarray, ceiling: float = CEILING, block: int = 128, reach: int = 2) -> np.ndarray:
    """Return x with peaks pulled under `ceiling` by a smooth gain, leaving the rest as is.

    The gain is the per-block minimum of what each sample needs, widened over `reach`
    neighbouring blocks and interpolated between block centres, so it never exceeds what
    any sample needs and moves over a few milliseconds rather than clipping.
    """
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak <= ceiling:
        return x
    n = len(x)
    padded = np.ones(-(-n // block) * block, dtype=np.float64)
    padded[:n] = np.minimum(1.0, ceiling / np.maximum(np.abs(x), 1e-12))
    need = padded.reshape(-1, block).min(axis=1)
    wide = need.copy()
    for k in range(1, reach + 1):
        wide[k:] = np.minimum(wide[k:], need[:-k])
        wide[:-k] = np.minimum(wide[:-k], need[k:])
    centres = np.arange(len(wide)) * block + block / 2
    gain = np.interp(np.arange(n), centres, wide)
    return np.clip(x * gain, -ceiling, ceiling).astype(np.float32)


def _smooth(n: int) -> bool:
    """Return True if n has no prime factor above 11 (pocketfft's fast radices)."""
    for p in (2, 3, 5, 7, 11):
        while n % p == 0:
            n //= p
    return n == 1


def resample(x: np.ndarray, rate: int, to: int = SAMPLE_RATE) -> np.ndarray:
    """Resample by FFT (an ideal low-pass); fine for trimmed sentences that start and end quiet.

    The input is zero-padded to a fast FFT size that maps to a whole number of output
    samples, and the output is cut back to round(len(x) * to / rate).
    """
    if rate == to or not len(x):
        return x.astype(np.float32)
    g = math.gcd(rate, to)
    up, down = to // g, rate // g
    k = -(-len(x) // down)
    while _smooth(up) and _smooth(down) and not _smooth(k):  # odd rates: slow but correct
        k += 1
    size_in, size_out = k * down, k * up
    spectrum = np.fft.rfft(x.astype(np.float64), size_in)
    out = np.zeros(size_out // 2 + 1, dtype=np.complex128)
    keep = min(len(out), len(spectrum))
    out[:keep] = spectrum[:keep]
    y = np.fft.irfft(out, size_out) * (size_out / size_in)
    return y[: round(len(x) * to / rate)].astype(np.float32)


def _fade(x: np.ndarray, seconds: float) -> np.ndarray:
    k = min(samples(seconds), len(x) // 2)
    if k:
        x[:k] *= np.linspace(0.0, 1.0, k, endpoint=False)
        x[len(x) - k:] *= np.linspace(1.0, 0.0, k)
    return x


def trim(x: np.ndarray, rate: int) -> np.ndarray:
    """Cut leading and trailing near-silence, keeping a short margin."""
    loud = np.flatnonzero(np.abs(x) > 10 ** (TRIM_DBFS / 20))
    if not len(loud):
        return x[:0]
    margin = round(TRIM_MARGIN_SECONDS * rate)
    return x[max(0, loud[0] - margin): loud[-1] + 1 + margin]


def prepare_speech(segment: AudioSegment) -> np.ndarray:
    """Return a voice's sentence trimmed, at the layout rate, levelled and peak-limited."""
    segment = mono16(segment)
    x = resample(trim(to_float(segment), segment.frame_rate), segment.frame_rate)
    level = speech_level(x)
    if np.isfinite(level):
        x = x * np.float32(10 ** ((TARGET_DBFS - level) / 20))
    return _fade(limit(x), SPEECH_FADE_SECONDS)


def _sound_for(kind: str, name: str, length: int, speech: Mapping[str, np.ndarray]) -> np.ndarray:
    if kind == "speech":
        return speech[name]
    if name in (INHALE_TONE, EXHALE_TONE):
        return cues.tone(name, length)
    return cues.sound(name)


def mix(plan: TrackPlan, speech: Mapping[str, np.ndarray]) -> np.ndarray:
    """Play the plan into one mono int16 buffer exactly `plan.total` samples long."""
    buf = np.zeros(plan.total, dtype=np.float32)
    for seg in plan.segments:
        sound = _sound_for(seg.kind, seg.name, seg.length, speech)
        if len(sound) != seg.length:
            raise MixError(
                f"The {seg.kind} {seg.name!r} is {len(sound)} samples long but its plan says {seg.length}."
            )
        buf[seg.start:seg.end] += sound
    return np.round(limit(buf) * 32767.0).astype(np.int16)
