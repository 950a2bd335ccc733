"""Benchmark choosing the text for a request's locale, against reading en_US directly.

Run: python bench/bench_text.py [REPEATS]   (default 200000; takes about a second)

Baselines measured in the same run:
  1. building every non-US locale's text (once per process, on first use) against importing
     skill.text with en_US, in a fresh interpreter each (what a Lambda cold start pays);
  2. for_locale(locale).NAME per request for a supported, an unsupported and a garbage locale,
     against en_US.NAME: the per-request cost of the text layer.
Prints each figure and its ratio to the baseline; there are no time thresholds.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import timeit

COLD = """
import time
t0 = time.perf_counter()
from skill import text
t1 = time.perf_counter()
for locale in text.LOCALES:
    text.for_locale(locale)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def cold(runs: int = 5) -> tuple[float, float]:
    """Return the median import and build seconds over fresh interpreters."""
    imports, builds = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD], capture_output=True, text=True, check=True).stdout
        first, second = map(float, out.split())
        imports.append(first)
        builds.append(second)
    return statistics.median(imports), statistics.median(builds)


def main(repeats: int) -> None:
    from skill import text
    from skill.text import en_US

    imported, built = cold()
    print(f"cold: import skill.text {imported * 1000:.2f} ms; build {len(text.LOCALES) - 1} locale texts "
          f"{built * 1000:.2f} ms; build / import {built / imported:.3f}")
    base = timeit.timeit(lambda: en_US.GOODBYE, number=repeats) / repeats
    for locale in ("en-GB", "de-DE", "\x00garbage"):
        per = timeit.timeit(lambda loc=locale: text.for_locale(loc).GOODBYE, number=repeats) / repeats
        print(f"per request: for_locale({locale!r}).GOODBYE {per * 1e9:.0f} ns vs en_US.GOODBYE "
              f"{base * 1e9:.0f} ns; ratio {per / base:.1f}")
    print(f"Python {sys.version.split()[0]}, {repeats} lookups each")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
