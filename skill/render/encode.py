"""Encode one PCM buffer to MP3 (mono, 44.1 kHz, CBR 48 kbps) with libmp3lame via ffmpeg.

One buffer in, one file out: segments are never joined as MP3, so nothing drifts. ffmpeg
writes a LAME/Info header with the encoder delay and padding; decoders that honour it
(ffmpeg and libmpg123 do) give back exactly the samples we put in. `mp3_samples` asks
libsndfile's MPEG decoder (libmpg123, through soundfile) for that count, so every file's
real length is checked against its plan. (mutagen reads the same header but skips the
delay and padding unless the encoder string says "LAME"; ffmpeg writes "Lavc".)

At 48 kbps the encoder's quantisation noise lifts peaks by up to about 3 dB, so
`encode_under` decodes what it wrote and, around each peak that is over the limit, asks
for the PCM again with the limiter's ceiling lowered there.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile
from scipy.ndimage import maximum_filter1d

from skill.render.audio import ffmpeg_exe
from skill.render.layout import SAMPLE_RATE

BITRATE_KBPS = 48
FORMAT = {"codec": "libmp3lame", "container": "mp3", "rate": SAMPLE_RATE, "channels": 1,
          "mode": "cbr", "kbps": BITRATE_KBPS}
ENCODE_ATTEMPTS = 4  # encodes per track at most while bringing the decoded true peak down
CEILING_STEP_DB = 0.3  # lower the ceiling by the overshoot plus this much on a retry
GUARD_SECONDS = 0.02  # around each overshooting sample, this far either side

log = logging.getLogger("trigger_coach.render")


def fingerprint() -> dict[str, object]:
    """Return the format and the peak-guard settings, for cache keys."""
    return {**FORMAT, "attempts": ENCODE_ATTEMPTS, "step_db": CEILING_STEP_DB, "guard": GUARD_SECONDS}


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
    """Encode int16 PCM buffers to MP3 bytes.

    `calls` counts buffers or tracks encoded (what tests and benches compare), `attempts`
    every run of the encoder, retries under a lower ceiling included.
    """

    key = ":".join(f"{k}={v}" for k, v in FORMAT.items())

    def __init__(self) -> None:
        self.calls = 0
        self.attempts = 0

    def _encode(self, pcm: np.ndarray) -> bytes:
        self.attempts += 1
        # The LAME header is written last, by seeking back: ffmpeg needs a file, not a pipe.
        with tempfile.TemporaryDirectory(prefix="trigger-coach-") as tmp:
            target = Path(tmp) / "track.mp3"
            _run(encode_args("pipe:0", str(target)), pcm.astype("<i2").tobytes())
            data = target.read_bytes()
        got = mp3_samples(data)
        if got != len(pcm):
            raise EncodeError(f"The encoded file holds {got} samples, not the {len(pcm)} planned.")
        return data

    def encode(self, pcm: np.ndarray) -> bytes:
        """Encode mono int16 samples at SAMPLE_RATE and check the file holds exactly them."""
        self.calls += 1
        return self._encode(pcm)

    def encode_under(self, render: Callable[[np.ndarray], np.ndarray], length: int, ceiling_db: float,
                     max_true_peak_db: float, true_peaks: Callable[[np.ndarray, float], np.ndarray]) -> bytes:
        """Encode render(ceilings) so that the decoded file's true peak is at most max_true_peak_db.

        `render` gets a limiter ceiling curve (dBTP, one per sample of the `length`-sample
        track), flat at ceiling_db at first. After each encode the file is decoded and
        measured with `true_peaks(samples, floor)` (linear, interpolated where the samples
        reach floor: here 3 dB under the limit). Around every sample that is over, the
        curve is lowered by the overshoot plus CEILING_STEP_DB, GUARD_SECONDS either side,
        and the track is rendered and encoded again, at most ENCODE_ATTEMPTS times. The
        last file is kept (with a warning) if it is still over.
        """
        self.calls += 1
        ceilings = np.full(length, ceiling_db, dtype=np.float32)
        guard = round(GUARD_SECONDS * SAMPLE_RATE)
        for attempt in range(1, ENCODE_ATTEMPTS + 1):
            data = self._encode(render(ceilings))
            peaks = true_peaks(decode_bytes(data), 10 ** ((max_true_peak_db - 3.0) / 20))
            over = 20 * np.log10(np.maximum(peaks, 1e-9)) - max_true_peak_db
            if over.max(initial=-np.inf) <= 0:
                break
            if attempt == ENCODE_ATTEMPTS:
                log.warning("The MP3's true peak is %.2f dBTP after %d encodes, over the %.1f dBTP aimed for.",
                            over.max() + max_true_peak_db, attempt, max_true_peak_db)
                break
            lower = maximum_filter1d(np.where(over > 0, over + CEILING_STEP_DB, 0.0), size=2 * guard + 1)
            ceilings = (ceilings - lower[:length]).astype(np.float32)
            log.debug("Encode %d overshot to %.2f dBTP; lowered the ceiling around %d samples.",
                      attempt, over.max() + max_true_peak_db, int(np.count_nonzero(over > 0)))
        return data


def decode(path: Path | str) -> np.ndarray:
    """Decode any audio file with ffmpeg to mono int16 samples at SAMPLE_RATE."""
    out = _run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
                "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "pipe:1"])
    return np.frombuffer(out, dtype="<i2")


def decode_bytes(data: bytes) -> np.ndarray:
    """Decode MP3 bytes in-process (libmpg123 via soundfile) to mono float32 samples."""
    try:
        pcm, _rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except soundfile.LibsndfileError as exc:
        raise EncodeError(f"The MP3 cannot be decoded: {exc.error_string}.") from exc
    return pcm.mean(axis=1)


def mp3_samples(data: bytes) -> int:
    """Return the gapless sample count of an MP3, as libmpg123 reads it from the LAME/Info header.

    Raise EncodeError if the data is not an MP3 libsndfile can read.
    """
    try:
        info = soundfile.info(io.BytesIO(data))
    except soundfile.LibsndfileError as exc:
        raise EncodeError(f"The MP3's length cannot be read: {exc.error_string}.") from exc
    if info.format != "MP3":
        raise EncodeError(f"The file is {info.format!r}, not an MP3.")
    return int(info.frames)
