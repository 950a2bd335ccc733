"""Compare the cold start of our web app with that of a bare ask-sdk + Flask skill.

Run: python bench/bench_coldstart.py [--repeats 15]

Each sample is a fresh `python -c` subprocess that times, from its first line to the app
being ready, wall time (perf_counter) and CPU time (process_time):
  ours      import skill.hosting.web; create_app(Settings(...)) with production settings: verification
            on, SQLite storage (an existing database, as on a restart), rendered audio
  sdk       import ask_sdk_core and flask; build a one-handler CustomSkillBuilder skill and a
            Flask app (the baseline of the target)
  hello     bench/_baseline_skill.create_app(): the same plus flask-ask-sdk's SkillAdapter,
            i.e. the whole hello-world web skill that bench_http.py serves (for reference)
  python    nothing (`pass`): the interpreter's own start, which the in-process times exclude
Bytecode is cached for all modules alike (PYTHONPYCACHEPREFIX in a temporary folder), as
in an installed package. One untimed round first (bytecode and page caches), then --repeats rounds, the kinds
interleaved and rotated each round. Prints medians, the ours/sdk ratios (target <= 1.5) and
whole-process wall times as seen by the parent, then one `RESULT coldstart key=value ...` line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load import TEST_AUDIO_DIR, ensure_audio, result_line

from skill.config import PROJECT_ROOT

BENCH_DIR = Path(__file__).resolve().parent

PRELUDE = "import time as _t\n_w, _c = _t.perf_counter(), _t.process_time()\n"
REPORT = ("import json as _j\nprint('COLDSTART ' + _j.dumps({'wall': _t.perf_counter() - _w, "
          "'cpu': _t.process_time() - _c}))\n")

# The hello-world handler every baseline here and in bench_lambda.py uses: one answer to anything.
HELLO_HANDLER = """
from ask_sdk_core.dispatch_components import AbstractRequestHandler

class Hello(AbstractRequestHandler):
    def can_handle(self, handler_input):
        return True

    def handle(self, handler_input):
        return handler_input.response_builder.speak("Hello world.").response
"""

SDK = """
import ask_sdk_core, flask
from ask_sdk_core.skill_builder import CustomSkillBuilder
""" + HELLO_HANDLER + """
builder = CustomSkillBuilder()
builder.add_request_handler(Hello())
skill = builder.create()
app = flask.Flask("hello")
"""


def programs(data_dir: Path) -> dict[str, str]:
    """Return the code each kind of sample runs after the timer starts."""
    ours = (
        "import skill.hosting.web\n"
        "from skill.config import Settings\n"
        f"app = skill.hosting.web.create_app(Settings(audio_dir={str(TEST_AUDIO_DIR)!r}, data_dir={str(data_dir)!r}))\n"
    )
    hello = (
        f"import sys\nsys.path.insert(0, {str(BENCH_DIR)!r})\n"
        "import _baseline_skill\napp = _baseline_skill.create_app()\n"
    )
    return {"ours": ours, "sdk": SDK, "hello": hello, "python": "pass\n"}


def sample(code: str, pycache: Path, *, env: dict[str, str] | None = None, setup: str = "") -> dict[str, float]:
    """Run one fresh interpreter; return its in-process wall and CPU times and the whole-process wall.

    Bytecode is cached in `pycache` for every module alike, as an installed package has it,
    whatever PYTHONDONTWRITEBYTECODE says in this environment. `env` adds variables; `setup`
    runs before the timer starts (what a host has already loaded before it loads the code).
    """
    env = {**{key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}, **(env or {})}
    env.update(PYTHONWARNINGS="ignore", PYTHONPYCACHEPREFIX=str(pycache))
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", setup + PRELUDE + code + REPORT], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    process = time.perf_counter() - began
    lines = [line for line in done.stdout.splitlines() if line.startswith("COLDSTART ")]
    if done.returncode != 0 or not lines:
        sys.exit(f"A cold-start sample failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return {**json.loads(lines[-1].removeprefix("COLDSTART ")), "process": process}


# name: (the code, or a function returning fresh code for each sample; extra environment;
# untimed code run before it)
Kinds = dict[str, tuple["str | Callable[[], str]", "dict[str, str] | None", str]]


def interleaved(kinds: Kinds, pycache: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Sample every kind once untimed, then `repeats` rounds interleaved and rotated; return medians.

    The untimed round compiles bytecode, warms the page cache and creates what the first
    sample creates (a database, a table). Each median also has ``low`` and ``high``: the
    fastest and slowest wall time.
    """
    def one(name: str) -> dict[str, float]:
        code, env, setup = kinds[name]
        return sample(code() if callable(code) else code, pycache, env=env, setup=setup)

    names = list(kinds)
    for name in names:
        one(name)
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for round_no in range(repeats):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(one(name))
    return {name: {**{key: statistics.median(s[key] for s in rows) for key in rows[0]},
                   "low": min(s["wall"] for s in rows), "high": max(s["wall"] for s in rows)}
            for name, rows in samples.items()}


def main(argv: list[str] | None = None) -> int:
    """Run the samples and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="samples of each kind (default 15, at least 5)")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")
    ensure_audio()
    with tempfile.TemporaryDirectory(prefix="trigger-coach-coldstart-") as work:
        kinds = {name: (code, None, "") for name, code in programs(Path(work) / "data").items()}
        med = interleaved(kinds, Path(work) / "pycache", args.repeats)
    print(f"Cold start, fresh interpreter per sample, median of {args.repeats} (ms)")
    print(f"{'kind':<8}{'wall':>9}{'CPU':>9}{'process':>10}   what")
    what = {"ours": "import skill.hosting.web; create_app(settings)",
            "sdk": "import ask_sdk_core, flask; trivial skill",
            "hello": "hello-world web skill incl. flask-ask-sdk", "python": "interpreter start only"}
    for name, m in med.items():
        print(f"{name:<8}{m['wall'] * 1000:>9.1f}{m['cpu'] * 1000:>9.1f}{m['process'] * 1000:>10.1f}   {what[name]}")
    ours, sdk, hello, bare = med["ours"], med["sdk"], med["hello"], med["python"]
    wall, cpu = ours["wall"] / sdk["wall"], ours["cpu"] / sdk["cpu"]
    process = ours["process"] / sdk["process"]
    print()
    print(f"ours / sdk   wall    = {wall:6.3f}   (target <= 1.5)")
    print(f"ours / sdk   CPU     = {cpu:6.3f}")
    print(f"ours / sdk   process = {process:6.3f}   (interpreter start included)")
    print(f"ours / hello wall    = {ours['wall'] / hello['wall']:6.3f}")
    print("'wall' and 'CPU' run from the sample's first line to the app being ready; 'process' is the\n"
          "parent's view of the whole subprocess, interpreter start and exit included.")
    print(result_line("coldstart", wall_ratio=round(wall, 3), cpu_ratio=round(cpu, 3),
                      process_ratio=round(process, 3), hello_wall_ratio=round(ours["wall"] / hello["wall"], 3),
                      ours_wall_ms=round(ours["wall"] * 1000, 1),
                      sdk_wall_ms=round(sdk["wall"] * 1000, 1), ours_cpu_ms=round(ours["cpu"] * 1000, 1),
                      sdk_cpu_ms=round(sdk["cpu"] * 1000, 1), hello_wall_ms=round(hello["wall"] * 1000, 1),
                      python_process_ms=round(bare["process"] * 1000, 1), repeats=args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
