"""Level speech, play a TrackPlan into one PCM buffer, and limit its true peak.

Loudness is set on the speech, not on the whole track (long quiet holds would drag a
whole-track measure down). The chain, as in broadcast speech processing:
  1. each sentence: trimmed, resampled to the layout rate (soxr), its phase rotated
     (all-pass filters even out a voice's lopsided peaks), gently compressed, and brought
     to TARGET_LUFS, measured as BS.1770-4 integrated loudness (pyloudnorm);
  2. each speech passage (sentences with only pauses between them), as laid out in the
     track: a look-ahead true-peak limiter (4x oversampled) under the ceiling, then the
     loudness it took made up until the passage measures TARGET_LUFS;
  3. cues and tones added at their own levels, well under the speech (skill/core/cues.py).
The ceiling is a curve over the track, PEAK_CEILING_DBTP at first; the encoder decodes its
MP3 and lowers the curve around any peak the codec lifted over MAX_TRUE_PEAK_DBTP, then
asks for the track again (encode.Mp3Encoder.encode_under).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

import numpy as np
import pyloudnorm
import soxr
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import firwin, lfilter

from skill.render import cues
from skill.render.audio import AudioSegment, mono16, to_float
from skill.render.layout import EXHALE_TONE, INHALE_TONE, SAMPLE_RATE, Segment, TrackPlan, samples

TARGET_LUFS = -15.0  # -14 LUFS is the reference for streamed audio on Echo devices
MAX_TRUE_PEAK_DBTP = -1.4  # of the decoded MP3: -1 dBTP, less a margin for meters that read higher
PEAK_CEILING_DBTP = -2.5  # the limiter's first ceiling; the 48 kbps encode adds up to ~3 dB
TRIM_DBFS = -50.0  # leading and trailing samples quieter than this are cut
TRIM_MARGIN_SECONDS = 0.01
SPEECH_FADE_SECONDS = 0.005
BLOCK_SECONDS = 0.4  # BS.1770 gating block
PASSAGE_GAP_SECONDS = 1.0  # speech segments closer than this, with no cue between, are one passage
RESAMPLE_QUALITY = "VHQ"
OVERSAMPLE = 4  # true peak per BS.1770-4 Annex 2
INTERPOLATOR_TAPS_PER_PHASE = 12
INTERPOLATE_WITHIN_DB = 3.0  # of a ceiling: only samples this close to it are oversampled
LOOKAHEAD_SECONDS = 0.002  # the gain is fully down by the time a peak arrives
HOLD_SECONDS = 0.01  # and stays down this long after it (a speech limiter: fast, but no clipping)
MAKEUP_PASSES = 5  # re-level a passage after limiting at most this often
MAX_MAKEUP_DB = 6.0  # never push more than this into the limiter
LEVEL_TOLERANCE_LU = 0.1
# Voice shaping before the limiter, as broadcast speech processing does. A voice's
# waveform is lopsided (Piper's peaks run 2-3 dB higher on one side); all-pass sections
# turn the phase of its low harmonics, which evens the peaks out without changing how
# it sounds. A gentle compressor then brings the loudest syllables towards the rest.
ROTATION_HZ = 200.0
ROTATION_STAGES = 4
COMPRESS_RATIO = 3.0  # above the sentence's own loudness
COMPRESS_WINDOW_SECONDS = 0.005
COMPRESS_LOOKAHEAD_SECONDS = 0.002
COMPRESS_HOLD_SECONDS = 0.02

CEILING = 10 ** (PEAK_CEILING_DBTP / 20)


class MixError(ValueError):
    """A sound does not have the length its plan gives it."""


def fingerprint() -> list[float | str]:
    """Return the levelling constants, for cache keys."""
    return [TARGET_LUFS, MAX_TRUE_PEAK_DBTP, PEAK_CEILING_DBTP, TRIM_DBFS, TRIM_MARGIN_SECONDS, SPEECH_FADE_SECONDS,
            BLOCK_SECONDS, PASSAGE_GAP_SECONDS, RESAMPLE_QUALITY, OVERSAMPLE, INTERPOLATOR_TAPS_PER_PHASE,
            INTERPOLATE_WITHIN_DB, LOOKAHEAD_SECONDS, HOLD_SECONDS,
            MAKEUP_PASSES, MAX_MAKEUP_DB, LEVEL_TOLERANCE_LU, ROTATION_HZ, ROTATION_STAGES,
            COMPRESS_RATIO, COMPRESS_WINDOW_SECONDS, COMPRESS_LOOKAHEAD_SECONDS, COMPRESS_HOLD_SECONDS]


def db(x: float) -> float:
    """Convert a linear amplitude to dBFS (-inf for silence)."""
    return 20 * np.log10(x) if x > 0 else float("-inf")


@cache
def _meter() -> pyloudnorm.Meter:
    return pyloudnorm.Meter(SAMPLE_RATE, block_size=BLOCK_SECONDS)


def speech_level(x: np.ndarray) -> float:
    """Return the BS.1770-4 integrated loudness of speech at SAMPLE_RATE in LUFS (-inf for silence).

    A sound shorter than one 400 ms gating block is measured as if it repeated, which is
    its mean loudness.
    """
    if not len(x) or not np.any(x):
        return float("-inf")
    block = samples(BLOCK_SECONDS)
    if len(x) < block:
        x = np.tile(x, -(-block // len(x)))
    return float(_meter().integrated_loudness(x.astype(np.float64)))


@cache
def _interpolator() -> np.ndarray:
    """Return the 4x interpolation filter: a 48-tap windowed-sinc low-pass, as BS.1770-4 Annex 2 uses."""
    taps = firwin(OVERSAMPLE * INTERPOLATOR_TAPS_PER_PHASE, 1 / OVERSAMPLE, window=("kaiser", 5.0))
    return (taps * OVERSAMPLE).astype(np.float32)


def true_peaks(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Return, for each sample, the largest magnitude of the 4x-oversampled signal at or just after it.

    Only where a sample or its next one reaches `floor` (linear) are the in-between values
    interpolated; elsewhere the sample's own magnitude stands in. Callers pass a floor a
    few dB under the ceiling they check: an in-between peak that far above both of its
    neighbours needs content near the Nyquist frequency, which no voice has, and it saves
    interpolating the quiet majority of a track.
    """
    x = x.astype(np.float32)
    mag = np.abs(x)
    if not len(x):
        return mag
    loud = np.maximum(mag, np.append(mag[1:], 0.0)) >= floor
    at = np.flatnonzero(loud)
    if not len(at):
        return mag
    taps = _interpolator()
    shift = (len(taps) - 1) // 2  # the filter's delay, in oversampled steps
    reach = len(taps) // OVERSAMPLE + 1
    padded = np.concatenate([np.zeros(reach, np.float32), x, np.zeros(reach, np.float32)])
    peaks = mag.copy()
    for phase in range(OVERSAMPLE):
        j = np.arange((phase + shift) % OVERSAMPLE, len(taps), OVERSAMPLE)
        offsets = (phase + shift - j) // OVERSAMPLE + reach
        values = np.abs(padded[at[:, None] + offsets] @ taps[j])
        peaks[at] = np.maximum(peaks[at], values)
    return peaks


def true_peak(x: np.ndarray) -> float:
    """Return the true peak of x in dBTP."""
    return db(float(true_peaks(x).max())) if len(x) else float("-inf")


def held_gain(need: np.ndarray, ahead: int, hold: int) -> np.ndarray:
    """Return a smooth gain that never exceeds `need` anywhere (both linear, per sample).

    Each sample's need is held at its minimum from `ahead` samples before it until `hold`
    after it, then averaged over 2 * ahead + 1 samples. Every sample in an average window
    sees the held minimum, so the result is at most what any sample needs, and it ramps
    over 2 * ahead samples instead of jumping.
    """
    size = hold + 2 * ahead + 1
    # min over [n - hold - ahead, n + ahead]: a centred window shifted towards the past
    held = minimum_filter1d(need, size=size, origin=(size - 1) // 2 - ahead, mode="nearest")
    return uniform_filter1d(held, size=2 * ahead + 1, mode="nearest")


def limit(x: np.ndarray, ceiling: float | np.ndarray = CEILING) -> np.ndarray:
    """Return x with its true peak under `ceiling` (linear; one value or one per sample): a look-ahead limiter.

    The gain each sample needs is the ceiling over its 4x-oversampled peak; held_gain
    makes it smooth (down over 4 ms before a peak, back up 10 ms after it). Quiet audio
    is returned unchanged. The gain is applied at the base rate, so in-between peaks can
    land a hair over; another pass takes those down.
    """
    x = x.astype(np.float32)
    ahead, hold = samples(LOOKAHEAD_SECONDS), samples(HOLD_SECONDS)
    floor = ceiling * 10 ** (-INTERPOLATE_WITHIN_DB / 20)
    for _ in range(3):
        peaks = true_peaks(x, floor)
        if not len(x) or np.all(peaks <= ceiling):
            return x
        need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
        x = (x * held_gain(need, ahead, hold)).astype(np.float32)
    return x


def rotate_phase(x: np.ndarray) -> np.ndarray:
    """Return x through ROTATION_STAGES first-order all-pass filters at ROTATION_HZ (same magnitude, lower peaks)."""
    t = np.tan(np.pi * ROTATION_HZ / SAMPLE_RATE)
    c = (t - 1) / (t + 1)
    y = x.astype(np.float64)
    for _ in range(ROTATION_STAGES):
        y = lfilter([c, 1.0], [1.0, c], y)
    return y.astype(np.float32)


def compress(x: np.ndarray, threshold_db: float) -> np.ndarray:
    """Return x with its 5 ms RMS above threshold_db (dBFS) turned down at COMPRESS_RATIO."""
    power = uniform_filter1d(np.square(x, dtype=np.float64), size=samples(COMPRESS_WINDOW_SECONDS), mode="nearest")
    over = np.maximum(0.0, 10 * np.log10(power + 1e-12) - threshold_db)
    need = 10 ** (-(1 - 1 / COMPRESS_RATIO) * over / 20)
    gain = held_gain(need, samples(COMPRESS_LOOKAHEAD_SECONDS), samples(COMPRESS_HOLD_SECONDS))
    return (x * gain).astype(np.float32)


def resample(x: np.ndarray, rate: int, to: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono float signal with soxr (very high quality band-limited conversion)."""
    if rate == to or not len(x):
        return x.astype(np.float32)
    return soxr.resample(x.astype(np.float32), rate, to, quality=RESAMPLE_QUALITY).astype(np.float32)


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


def _to_target(x: np.ndarray) -> np.ndarray:
    level = speech_level(x)
    return x * np.float32(10 ** ((TARGET_LUFS - level) / 20)) if np.isfinite(level) else x


def prepare_speech(segment: AudioSegment) -> np.ndarray:
    """Return a voice's sentence trimmed, at the layout rate, shaped and at TARGET_LUFS.

    Peaks are limited later, in the mix, once the sentence sits in its passage.
    """
    segment = mono16(segment)
    x = resample(trim(to_float(segment), segment.frame_rate), segment.frame_rate)
    x = _to_target(rotate_phase(x))
    return _fade(_to_target(compress(x, TARGET_LUFS)), SPEECH_FADE_SECONDS)


def passages(plan: TrackPlan) -> list[tuple[int, int]]:
    """Return the (start, end) samples of each speech passage in the plan.

    A passage is a run of speech segments less than PASSAGE_GAP_SECONDS apart with no cue
    or tone starting between them: an instruction's sentences, or one spoken cue.
    """
    gap = samples(PASSAGE_GAP_SECONDS)
    spans: list[list[int]] = []
    previous: Segment | None = None
    for seg in sorted(plan.segments, key=lambda s: s.start):
        if seg.kind == "speech":
            if spans and previous is not None and previous.kind == "speech" and seg.start - spans[-1][1] < gap:
                spans[-1][1] = max(spans[-1][1], seg.end)
            else:
                spans.append([seg.start, seg.end])
        previous = seg
    return [(a, b) for a, b in spans]


def _sound_for(name: str, length: int) -> np.ndarray:
    if name in (INHALE_TONE, EXHALE_TONE):
        return cues.tone(name, length)
    return cues.sound(name)


def _check_length(seg: Segment, sound: np.ndarray) -> np.ndarray:
    if len(sound) != seg.length:
        raise MixError(f"The {seg.kind} {seg.name!r} is {len(sound)} samples long but its plan says {seg.length}.")
    return sound


def level_passage(x: np.ndarray, ceiling: float | np.ndarray = CEILING) -> np.ndarray:
    """Return a speech passage at TARGET_LUFS with its true peak limited.

    Limiting takes some loudness away, so the passage is measured again after the limiter
    and the missing loudness is made up (secant steps on the gain in dB) until it is within
    LEVEL_TOLERANCE_LU, for at most MAKEUP_PASSES tries and MAX_MAKEUP_DB.
    """
    x = _to_target(x)
    tries = [(0.0, speech_level(out := limit(x, ceiling)))]
    for _ in range(MAKEUP_PASSES):
        gain, level = tries[-1]
        if not np.isfinite(level) or abs(TARGET_LUFS - level) <= LEVEL_TOLERANCE_LU:
            break
        slope = 1.0
        if len(tries) > 1 and tries[-1][1] != tries[-2][1]:
            slope = (tries[-1][1] - tries[-2][1]) / (tries[-1][0] - tries[-2][0])
        gain = float(np.clip(gain + (TARGET_LUFS - level) / max(slope, 0.05), 0.0, MAX_MAKEUP_DB))
        out = limit(x * np.float32(10 ** (gain / 20)), ceiling)
        tries.append((gain, speech_level(out)))
    return out


def mix(plan: TrackPlan, speech: Mapping[str, np.ndarray], ceiling_db: np.ndarray | None = None,
        levelled: dict[tuple[int, int, int], np.ndarray] | None = None) -> np.ndarray:
    """Play the plan into one mono int16 buffer exactly `plan.total` samples long.

    Speech goes in first and each passage is levelled and limited as laid out, its true
    peak under `ceiling_db` (dBTP per sample; PEAK_CEILING_DBTP everywhere by default);
    cues and tones are added at their own levels. `levelled`, if given, keeps each
    passage's result by its span and ceiling, so mixing the same plan again under a
    changed curve redoes only the passages whose part of it changed.
    """
    if ceiling_db is None:
        ceiling_db = np.full(plan.total, PEAK_CEILING_DBTP, dtype=np.float32)
    if len(ceiling_db) != plan.total:
        raise MixError(f"The ceiling curve has {len(ceiling_db)} samples but the track has {plan.total}.")
    memo = {} if levelled is None else levelled
    buf = np.zeros(plan.total, dtype=np.float32)
    for seg in plan.segments:
        if seg.kind == "speech":
            buf[seg.start:seg.end] += _check_length(seg, speech[seg.name])
    for start, end in passages(plan):
        curve = ceiling_db[start:end]
        key = (start, end, hash(curve.tobytes()))
        if key not in memo:
            memo[key] = level_passage(buf[start:end], (10 ** (curve / 20)).astype(np.float32))
        buf[start:end] = memo[key]
    for seg in plan.segments:
        if seg.kind != "speech":
            buf[seg.start:seg.end] += _check_length(seg, _sound_for(seg.name, seg.length))
    # Cues and tones peak at -11 dBFS or less and never overlap words (the layout keeps them
    # apart), so the passages' limiting holds for the whole track; the encoder's check of the
    # decoded file covers the rest. The clip only guards the int16 conversion.
    return np.round(np.clip(buf, -1.0, 1.0) * 32767.0).astype(np.int16)
