"""Compare the renderer's maintained libraries with the hand-written code they replaced.

Run: python bench/bench_libraries.py   (about half a minute)

Prints, in one run:
  1. resampling a voice to the track rate (Piper 22050 Hz and Polly 16000 Hz -> 44100 Hz):
     soxr VHQ (what the renderer uses), scipy's resample_poly, and the FFT resampler the
     renderer had before (kept below as the baseline). Quality is the error against the
     exact band-limited signal, in dB under the signal; speed is CPU time, as a ratio to
     the FFT baseline over the same sentence-sized pieces.
  2. an MP3's gapless length: soundfile/libmpg123 (used), mutagen (when installed) and the
     hand-written Xing/LAME header parser it replaced, over encodes of many lengths: how
     many counts are exact, and the time per call.
  3. the progress bar: time per event of the tqdm-drawn bar, against rendering a track.
CPU time is this process's (time.process_time); each figure is the least of REPEATS runs.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable

import numpy as np
import soxr
from scipy.signal import resample_poly

from skill.render.encode import Mp3Encoder, mp3_samples
from skill.render.layout import SAMPLE_RATE
from skill.render.progress import ProgressBar, ProgressEvent

REPEATS = 3
SENTENCE_SECONDS = 2.7  # about one coaching sentence


# --- the baselines: the renderer's own code before it used these libraries -----------------

def _smooth(n: int) -> bool:
    for p in (2, 3, 5, 7, 11):
        while n % p == 0:
            n //= p
    return n == 1


def fft_resample(x: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Resample by FFT, zero-padded to a fast size (skill/render/mix.py before soxr)."""
    g = math.gcd(rate, to)
    up, down = to // g, rate // g
    k = -(-len(x) // down)
    while _smooth(up) and _smooth(down) and not _smooth(k):
        k += 1
    size_in, size_out = k * down, k * up
    spectrum = np.fft.rfft(x.astype(np.float64), size_in)
    out = np.zeros(size_out // 2 + 1, dtype=np.complex128)
    keep = min(len(out), len(spectrum))
    out[:keep] = spectrum[:keep]
    y = np.fft.irfft(out, size_out) * (size_out / size_in)
    return y[: round(len(x) * to / rate)].astype(np.float32)


def header_samples(data: bytes) -> int:
    """Read the gapless count from the Xing/Info and LAME headers (encode.py before soundfile)."""
    i = 0
    if data[:3] == b"ID3":
        i = 10 + ((data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9])
    mono = (data[i + 3] >> 6) == 3
    tag = i + 4 + (17 if mono else 32)
    flags = int.from_bytes(data[tag + 4:tag + 8], "big")
    p = tag + 8
    frames = int.from_bytes(data[p:p + 4], "big")
    p += 4 + (4 if flags & 2 else 0) + (100 if flags & 4 else 0) + (4 if flags & 8 else 0)
    pads = int.from_bytes(data[p + 21:p + 24], "big")
    return frames * 1152 - (pads >> 12) - (pads & 0xFFF)


# --- measuring ---------------------------------------------------------------------------------

def least_cpu(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Return the least CPU time of `repeats` runs of fn."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def band_limited(rate: int, seconds: float, seed: int) -> Callable[[int], np.ndarray]:
    """Return f(rate) giving the same sum of sines under 0.45 x `rate`, with soft ends, at any rate."""
    rng = np.random.default_rng(seed)
    hz = rng.uniform(80, 0.45 * rate, 40)
    phase = rng.uniform(0, 2 * np.pi, 40)
    amp = rng.uniform(0.2, 1.0, 40) / 40

    def at(r: int) -> np.ndarray:
        t = np.arange(round(seconds * r)) / r
        envelope = np.sin(np.pi * t / seconds) ** 2
        return (envelope * (amp * np.sin(2 * np.pi * hz * t[:, None] + phase)).sum(axis=1)).astype(np.float32)

    return at


def error_db(got: np.ndarray, exact: np.ndarray) -> float:
    """Return the error of `got` in dB under `exact` (more negative is better)."""
    n = min(len(got), len(exact))
    noise = np.mean((got[:n].astype(np.float64) - exact[:n]) ** 2)
    return 10 * math.log10(noise / np.mean(exact[:n].astype(np.float64) ** 2) + 1e-30)


RESAMPLERS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "soxr VHQ (used)": lambda x, r, to: soxr.resample(x, r, to, quality="VHQ"),
    "scipy resample_poly": lambda x, r, to: resample_poly(x, to // math.gcd(r, to), r // math.gcd(r, to)),
    "FFT (baseline, before)": fft_resample,
}


def bench_resampling() -> None:
    """Print quality and CPU of each resampler for Piper's and Polly's rates."""
    print("1. resampling to 44100 Hz (error under the exact signal; CPU over 60 sentences / FFT baseline)")
    for rate in (22_050, 16_000):
        signal = band_limited(rate, SENTENCE_SECONDS, seed=rate)
        source, exact = signal(rate), signal(SAMPLE_RATE)
        sentences = [band_limited(rate, SENTENCE_SECONDS + 0.013 * k, seed=k)(rate) for k in range(60)]
        cpu = {name: least_cpu(lambda f=f, r=rate, pieces=sentences: [f(s, r, SAMPLE_RATE) for s in pieces])
               for name, f in RESAMPLERS.items()}
        base = cpu["FFT (baseline, before)"]
        for name, f in RESAMPLERS.items():
            print(f"   {rate} Hz  {name:<24} error {error_db(f(source, rate, SAMPLE_RATE), exact):7.1f} dB   "
                  f"CPU {cpu[name]:6.3f} s  ratio {cpu[name] / base:5.2f}")


def bench_mp3_length() -> None:
    """Print how many MP3 lengths each reader gets exactly right, and its time per call."""
    try:
        import mutagen.mp3
    except ImportError:
        mutagen = None
    else:
        mutagen = mutagen.mp3
    rng = np.random.default_rng(7)
    encoder = Mp3Encoder()
    files = []
    for n in [*rng.integers(1, 2000, 8) * 1152, *rng.integers(44_100, 2_000_000, 8)]:
        pcm = (rng.standard_normal(int(n)) * 3000).astype(np.int16)
        files.append((len(pcm), encoder.encode(pcm)))  # checks the count with soundfile itself
    readers: dict[str, Callable[[bytes], int]] = {
        "soundfile/libmpg123 (used)": mp3_samples,
        "hand-written parser (before)": header_samples,
    }
    if mutagen is not None:
        def mutagen_samples(data: bytes) -> int:
            info = mutagen.MP3(io.BytesIO(data)).info
            return round(info.length * info.sample_rate)

        readers["mutagen"] = mutagen_samples
    print(f"2. MP3 gapless length over {len(files)} encodes of random lengths")
    for name, read in readers.items():
        exact = sum(read(data) == n for n, data in files)
        worst = max(abs(read(data) - n) for n, data in files)
        per_call = least_cpu(lambda read=read: [read(data) for _, data in files * 10]) / (len(files) * 10)
        print(f"   {name:<30} exact {exact}/{len(files)}  worst error {worst:5d} samples  "
              f"{per_call * 1e6:8.1f} µs per file")
    if mutagen is None:
        print("   (mutagen is not installed; pip install mutagen to compare it too)")


def bench_progress() -> None:
    """Print the progress bar's CPU per event, live on a pretend terminal and for a log."""
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    print("3. progress bar (tqdm), per event")
    total = 2000
    for label, stream in (("terminal", Terminal()), ("log", io.StringIO())):
        def run(stream: io.StringIO = stream) -> None:
            bar = ProgressBar(stream)
            for i in range(1, total + 1):
                bar(ProgressEvent("bench", i, i, total, i * 20.0, reused=i % 2 == 0))

        print(f"   {label:<9} {least_cpu(run) / total * 1e6:7.1f} µs CPU per track")


def main() -> None:
    """Run the three comparisons and print the figures."""
    bench_resampling()
    bench_mp3_length()
    bench_progress()


if __name__ == "__main__":
    main()
