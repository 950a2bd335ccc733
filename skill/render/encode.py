"""Encode one PCM buffer to MP3 (mono, 44.1 kHz, CBR 48 kbps) with libmp3lame via ffmpeg.

One buffer in, one file out: segments are never joined as MP3, so nothing drifts. ffmpeg
writes a LAME/Info header with the encoder delay and padding; decoders that honour it
(ffmpeg does) give back exactly the samples we put in, and `mp3_samples` reads that count
from the header so every file's real length is checked against its plan.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from skill.render.audio import ffmpeg_exe
from skill.render.layout import SAMPLE_RATE

BITRATE_KBPS = 48
FORMAT = {"codec": "libmp3lame", "container": "mp3", "rate": SAMPLE_RATE, "channels": 1,
          "mode": "cbr", "kbps": BITRATE_KBPS}
SAMPLES_PER_FRAME = 1152  # MPEG-1 Layer III


class EncodeError(RuntimeError):
    """ffmpeg could not encode or decode audio."""


def _run(args: list[str], data: bytes | None = None) -> bytes:
    try:
        done = subprocess.run(args, input=data, capture_output=True, check=False)
    except OSError as exc:
        raise EncodeError(f"Cannot run ffmpeg at {args[0]!r}: {exc.strerror}.") from exc
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise EncodeError(f"ffmpeg failed (exit {done.returncode}): {' | '.join(tail) or 'no message'}.")
    return done.stdout


def encode_args(source: str, target: str) -> list[str]:
    """Return the ffmpeg command that encodes raw s16le mono PCM at `source` to MP3 `target`."""
    return [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", source,
        "-map_metadata", "-1", "-id3v2_version", "0", "-write_xing", "1",
        "-c:a", "libmp3lame", "-b:a", f"{BITRATE_KBPS}k", "-ar", str(SAMPLE_RATE), "-ac", "1",
        "-f", "mp3", target,
    ]


class Mp3Encoder:
    """Encode int16 PCM buffers to MP3 bytes; `calls` counts encodes for tests and benches."""

    key = ":".join(f"{k}={v}" for k, v in FORMAT.items())

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode mono int16 samples at SAMPLE_RATE and check the file holds exactly them."""
        self.calls += 1
        # The LAME header is written last, by seeking back: ffmpeg needs a file, not a pipe.
        with tempfile.TemporaryDirectory(prefix="trigger-coach-") as tmp:
            target = Path(tmp) / "track.mp3"
            _run(encode_args("pipe:0", str(target)), pcm.astype("<i2").tobytes())
            data = target.read_bytes()
        got = mp3_samples(data)
        if got != len(pcm):
            raise EncodeError(f"The encoded file holds {got} samples, not the {len(pcm)} planned.")
        return data


def decode(path: Path | str) -> np.ndarray:
    """Decode any audio file with ffmpeg to mono int16 samples at SAMPLE_RATE."""
    out = _run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"])
    return np.frombuffer(out, dtype="<i2")


def mp3_samples(data: bytes) -> int:
    """Return the gapless sample count from an MP3's Xing/Info and LAME headers.

    Raise EncodeError if the headers are missing (the count would then be a guess).
    """
    i = 0
    if data[:3] == b"ID3":
        i = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    if len(data) < i + 4 or data[i] != 0xFF or data[i + 1] & 0xE0 != 0xE0:
        raise EncodeError("The MP3 does not start with a frame header.")
    mono = (data[i + 3] >> 6) == 3
    tag = i + 4 + (17 if mono else 32)
    if data[tag:tag + 4] not in (b"Xing", b"Info"):
        raise EncodeError("The MP3 has no Xing/Info header, so its exact length is unknown.")
    flags = int.from_bytes(data[tag + 4:tag + 8], "big")
    if not flags & 1:
        raise EncodeError("The MP3's Info header has no frame count.")
    p = tag + 8
    frames = int.from_bytes(data[p:p + 4], "big")
    p += 4 + (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    pads = int.from_bytes(data[p + 21:p + 24], "big")  # LAME tag: 12-bit delay, 12-bit padding
    return frames * SAMPLES_PER_FRAME - (pads >> 12) - (pads & 0xFFF)
