"""Measure loudness the way a reference meter does: ffmpeg's ebur128 filter, true peak on.

This is the independent meter for the renderer's levels. The renderer measures with
pyloudnorm; tests check its output with a different implementation (libavfilter's
EBU R128 / BS.1770 meter, true peak by oversampling to 192 kHz) on decoded MP3 samples.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

import numpy as np

from skill.render.audio import ffmpeg_exe
from skill.render.layout import SAMPLE_RATE

SHORT_TERM_SECONDS = 3.0  # EBU R128 short-term window
_FRAME = re.compile(r"\bS:\s*(-?[\d.]+|-?inf|nan)", re.IGNORECASE)
_INTEGRATED = re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+)\s*LUFS", re.S)
_TRUE_PEAK = re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-inf)\s*dBFS", re.S)


@dataclass(frozen=True)
class Loudness:
    """What ebur128 reports for one stretch of audio."""

    integrated: float  # LUFS, gated (BS.1770-4)
    true_peak: float  # dBTP
    short_term_max: float  # LUFS, loudest 3 s window


def _ebur128(pcm: np.ndarray, rate: int) -> str:
    done = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-f", "s16le", "-ar", str(rate), "-ac", "1",
         "-i", "pipe:0", "-af", "ebur128=peak=true:framelog=info", "-f", "null", "-"],
        input=pcm.astype("<i2").tobytes(), capture_output=True, check=True,
    )
    return done.stderr.decode("utf-8", "replace")


def measure(pcm: np.ndarray, rate: int = SAMPLE_RATE) -> Loudness:
    """Return ebur128's integrated loudness, true peak and loudest short-term window of int16 PCM.

    Integrated loudness and true peak are measured on the samples as given. The short-term
    maximum is measured with silence added on both sides, so that a sound shorter than the
    3 s window is measured among quiet, as a listener hears a lone cue.
    """
    log = _ebur128(pcm, rate)
    summary = log[log.rfind("Summary:"):]
    integrated, peak = _INTEGRATED.search(summary), _TRUE_PEAK.search(summary)
    if integrated is None or peak is None:
        raise AssertionError(f"ebur128 printed no summary: {log[-500:]!r}")
    pad = np.zeros(round(SHORT_TERM_SECONDS * rate), dtype="<i2")
    padded = _ebur128(np.concatenate([pad, pcm.astype("<i2"), pad]), rate)
    short = [float(s) for s in _FRAME.findall(padded[: padded.rfind("Summary:")])]
    return Loudness(float(integrated.group(1)), float(peak.group(1)), max(short, default=float("-inf")))
