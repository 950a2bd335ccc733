"""Import pydub once, pointed at our ffmpeg, and convert between AudioSegment and numpy.

There is no system ffmpeg on a fresh machine: the binary comes from imageio-ffmpeg (PyPI).
pydub would warn at import that it found none and later call `ffprobe`, which does not
exist; we set its converter here and only use pydub paths that need neither.
"""

from __future__ import annotations

import io
import shutil
import warnings
import wave
from functools import cache

import numpy as np

with warnings.catch_warnings():
    # pydub warns when no ffmpeg is on PATH (we set one below) and about audioop on 3.11+.
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    from pydub import AudioSegment


@cache
def ffmpeg_exe() -> str:
    """Return the ffmpeg binary: the one on PATH if any, else the one imageio-ffmpeg ships."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


AudioSegment.converter = ffmpeg_exe()


def mono16(segment: AudioSegment) -> AudioSegment:
    """Return the segment as mono 16-bit samples at its own rate."""
    return segment.set_channels(1).set_sample_width(2)


def to_float(segment: AudioSegment) -> np.ndarray:
    """Return a mono 16-bit segment's samples as float32 in [-1, 1)."""
    return np.frombuffer(mono16(segment).raw_data, dtype="<i2").astype(np.float32) / 32768.0


def from_int16(pcm: bytes | np.ndarray, rate: int) -> AudioSegment:
    """Wrap mono signed 16-bit little-endian samples as an AudioSegment."""
    data = pcm.astype("<i2").tobytes() if isinstance(pcm, np.ndarray) else bytes(pcm)
    return AudioSegment(data=data, sample_width=2, frame_rate=rate, channels=1)


def wav_bytes(segment: AudioSegment) -> bytes:
    """Return the segment as a mono 16-bit WAV file's bytes (no ffmpeg involved)."""
    segment = mono16(segment)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(segment.frame_rate)
        w.writeframes(segment.raw_data)
    return buf.getvalue()


def read_wav(data: bytes) -> AudioSegment:
    """Read WAV bytes written by wav_bytes back into an AudioSegment."""
    with wave.open(io.BytesIO(data), "rb") as w:
        return AudioSegment(
            data=w.readframes(w.getnframes()),
            sample_width=w.getsampwidth(),
            frame_rate=w.getframerate(),
            channels=w.getnchannels(),
        )
