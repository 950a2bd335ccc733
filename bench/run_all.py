"""Run every benchmark, then write bench/RESULTS.md: each figure, its target and its ratio.

Run: python bench/run_all.py [--quick] [--out bench/RESULTS.md]

Runs, one after another, each as its own process (output streamed as it comes):
  render     bench/bench_render.py              cold render vs a bare ffmpeg encode (~1 min)
  storage    bench/bench_storage.py --seconds 1 SQLite read-modify-write, 4 writers vs 1
  summary    bench/bench_summary.py 2000        windowed progress summary and a run write vs a 5 ms budget
  http       bench/bench_http.py                our endpoint vs a hello-world ask-sdk skill
  http-1     bench/bench_http.py --threads 1    the same with one worker thread each (for reference:
                                                SQLite's cost under threads, see skill/storage/sqlite.py)
  coldstart  bench/bench_coldstart.py           import + create_app vs ask_sdk_core + flask
  lambda     bench/bench_lambda.py              import + first LaunchRequest vs hello-world Lambda handlers
  load       bench/load.py --seconds 30         32 users, whole routines, stored counts checked
  load-year  bench/load.py --seconds 20 --history 365   the same, each user with a year of runs
  state      bench/bench_state.py               cost and bytes per request at any history length
  reminders  bench/bench_reminders.py 300       our Reminders client vs the SDK's, same transport
Our own benchmarks end with a `RESULT name key=value ...` line, which is what is read here;
the others' figures are read from their printed lines (see PARSERS). A benchmark that fails
or prints no figure is marked so in the table, the rest still run, and the exit status is 1.
--quick shortens every run (for a smoke test; its figures are not worth recording).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NUMBER = r"([-+]?\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Figure:
    """One row of the results table."""

    bench: str
    name: str
    value: str
    target: str = "—"
    ratio: float | None = None
    met: bool | None = None


@dataclass(frozen=True)
class Bench:
    name: str
    args: list[str]
    quick_args: list[str]
    parse: Callable[[str], list[Figure]]


def results(output: str, name: str) -> dict[str, str]:
    """Return the key=value pairs of the last `RESULT name ...` line of a benchmark's output."""
    lines = [line.split()[2:] for line in output.splitlines() if line.startswith(f"RESULT {name} ")]
    if not lines:
        raise LookupError(f"no 'RESULT {name} ...' line")
    return dict(pair.split("=", 1) for pair in lines[-1])


def grab(output: str, pattern: str) -> tuple[str, ...]:
    """Return the groups of the first match of `pattern` in the output, or raise LookupError."""
    match = re.search(pattern, output, re.MULTILINE)
    if match is None:
        raise LookupError(f"no line matching {pattern!r}")
    return match.groups()


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def parse_render(out: str) -> list[Figure]:
    cold = float(grab(out, rf"^1\. cold render / bare encode\s+=\s+{NUMBER}")[0])
    warm = float(grab(out, rf"^2\. warm re-render / cold render\s+=\s+{NUMBER}")[0])
    speed = grab(out, rf"^3\. synthesis speed\s+=\s+{NUMBER} s of audio per CPU second")[0]
    per_min = grab(out, rf"^4\. render from nothing\s+=\s+{NUMBER} s CPU per minute of audio")[0]
    return [
        Figure("render", "cold render CPU / bare ffmpeg encode CPU", f"{cold:.3f}", "<= 0.3", cold,
               at_most(cold, 0.3)),
        Figure("render", "warm re-render CPU / cold render CPU", f"{warm:.4f}", "<= 0.01", warm, at_most(warm, 0.01)),
        Figure("render", "synthesis speed", f"{speed} s audio per CPU s"),
        Figure("render", "render from nothing", f"{per_min} s CPU per audio minute"),
    ]


def parse_storage(out: str) -> list[Figure]:
    one = grab(out, rf"^\s+1\s+one\s+{NUMBER}\s+{NUMBER}")[0]
    same = grab(out, rf"^\s+4\s+same\s+{NUMBER}\s+{NUMBER}")
    distinct = grab(out, rf"^\s+4\s+distinct\s+{NUMBER}\s+{NUMBER}")
    return [
        Figure("storage", "SQLite update(), 1 writer", f"{float(one):.0f} ops/s", ratio=1.0),
        Figure("storage", "4 writers, same user / 1 writer", f"{float(same[0]):.0f} ops/s", ratio=float(same[1])),
        Figure("storage", "4 writers, distinct users / 1 writer", f"{float(distinct[0]):.0f} ops/s",
               ratio=float(distinct[1])),
    ]


def parse_summary(out: str) -> list[Figure]:
    figures = []
    for user, label in (("daily user", "daily user, 430 days"), ("heavy user", "heavy user, 4 a day")):
        block = out[out.index(user):] if user in out else ""
        if not block:
            raise LookupError(f"no '{user}' section")
        for what, pattern in (("summarize this_week", r"summarize this_week"),
                              ("write (note + join)", r"note \+ join_runs \(a write\)")):
            median, ratio, p99, _ = grab(
                block, rf"{pattern}\s+median\s+{NUMBER} ms \({NUMBER} x 5 ms\)\s+p99\s+{NUMBER} ms \({NUMBER} x 5 ms\)")
            figures.append(Figure("summary", f"{what}, {label}: median / 5 ms", f"{median} ms (p99 {p99} ms)",
                                  "<= 1", float(ratio), at_most(float(ratio), 1.0)))
    return figures


def parse_http(out: str) -> list[Figure]:
    r = results(out, "http")
    tput, p99, cpu = float(r["throughput_ratio"]), float(r["p99_ratio"]), float(r["cpu_ratio"])
    figures = [
        Figure("http", "(a) throughput, ours / hello-world skill",
               f"{r['ours_rps']} vs {r['baseline_rps']} req/s (ratio per round {r['round_ratio_min']}"
               f"..{r['round_ratio_max']})", ">= 0.8", tput, tput >= 0.8),
        Figure("http", "(a) p99 latency, ours / hello-world skill",
               f"{r['ours_p99_ms']} vs {r['baseline_p99_ms']} ms", "—", p99),
        Figure("http", "server CPU per request, ours / hello-world skill",
               f"{r['ours_cpu_ms']} vs {r['baseline_cpu_ms']} ms", "—", cpu),
    ]
    if "shm_throughput_ratio" in r:
        shm = float(r["shm_throughput_ratio"])
        figures.append(Figure("http", "throughput, ours with SQLite on tmpfs / hello-world",
                              f"{r['shm_rps']} req/s", ">= 0.8", shm, shm >= 0.8))
    return figures


def parse_http_one_thread(out: str) -> list[Figure]:
    """The same comparison with one waitress worker thread for both servers: a reference, no target."""
    r = results(out, "http")
    return [
        Figure("http-1", "throughput with one worker thread each, ours / hello-world skill",
               f"{r['ours_rps']} vs {r['baseline_rps']} req/s (ratio per round {r['round_ratio_min']}"
               f"..{r['round_ratio_max']})", "—", float(r["throughput_ratio"])),
        Figure("http-1", "server CPU per request with one worker thread each, ours / hello-world skill",
               f"{r['ours_cpu_ms']} vs {r['baseline_cpu_ms']} ms", "—", float(r["cpu_ratio"])),
    ]


def parse_coldstart(out: str) -> list[Figure]:
    r = results(out, "coldstart")
    wall, cpu = float(r["wall_ratio"]), float(r["cpu_ratio"])
    return [
        Figure("coldstart", "(c) import + create_app wall, ours / ask_sdk_core + flask",
               f"{r['ours_wall_ms']} vs {r['sdk_wall_ms']} ms", "<= 1.5", wall, at_most(wall, 1.5)),
        Figure("coldstart", "(c) the same, CPU time", f"{r['ours_cpu_ms']} vs {r['sdk_cpu_ms']} ms", "<= 1.5", cpu,
               at_most(cpu, 1.5)),
        Figure("coldstart", "ours / whole hello-world web skill (wall)", f"{r['hello_wall_ms']} ms hello",
               "—", float(r["hello_wall_ratio"])),
    ]


def parse_lambda(out: str) -> list[Figure]:
    r = results(out, "lambda")
    wall, cpu, ddb = float(r["wall_ratio"]), float(r["cpu_ratio"]), float(r["ddb_wall_ratio"])
    rt = float(r["rt_wall_ratio"])
    return [
        Figure("lambda", "(11.4) import + first LaunchRequest wall, ours (DynamoDB) / hello-world, no storage",
               f"{r['ours_wall_ms']} vs {r['hello_wall_ms']} ms", "<= 1.3", wall, at_most(wall, 1.3)),
        Figure("lambda", "the same, CPU time", f"{r['ours_cpu_ms']} vs {r['hello_cpu_ms']} ms", "<= 1.3", cpu,
               at_most(cpu, 1.3)),
        Figure("lambda", "hello-world + only our DynamoDB client's three launch reads / hello-world (wall)",
               f"{r['hello_io_wall_ms']} ms hello-io (CPU ratio {r['floor_cpu_ratio']})", "—",
               float(r["floor_wall_ratio"])),
        Figure("lambda", "ours / that hello-world with the reads (wall): what our own code adds",
               f"CPU ratio {r['own_cpu_ratio']}", "—", float(r["own_wall_ratio"])),
        Figure("lambda", "ours / hello-world with ask-sdk's DynamoDB adapter (wall)",
               f"{r['hello_ddb_wall_ms']} ms hello-ddb (CPU ratio {r['ddb_cpu_ratio']})", "—", ddb),
        Figure("lambda", "the target with the modules Lambda's runtime has loaded already, ours-rt / hello-rt (wall)",
               f"{r['ours_rt_wall_ms']} vs {r['hello_rt_wall_ms']} ms (CPU ratio {r['rt_cpu_ratio']})", "<= 1.3",
               rt, at_most(rt, 1.3)),
        Figure("lambda", "the three reads alone, runtime loaded, hello-io-rt / hello-rt (wall)",
               f"{r['hello_io_rt_wall_ms']} ms hello-io-rt (CPU ratio {r['rt_floor_cpu_ratio']})", "—",
               float(r["rt_floor_wall_ratio"])),
    ]


def parse_load(name: str) -> Callable[[str], list[Figure]]:
    def parse(out: str) -> list[Figure]:
        r = results(out, "load")
        ok = r["ok"] == "1"
        who = f"{r['users']} users, {r['seconds']} s" + (f", {r['history']}-day history" if r["history"] != "0" else "")
        peak, idle = float(r["peak_rss_mb"]), float(r["idle_rss_mb"])
        return [
            Figure(name, f"load ({who}): errors, stored-count mismatches",
                   f"{r['errors']} errors, {r['mismatches']} mismatches in {r['requests']} requests, "
                   f"{r['runs']} runs", "0 and 0", None, ok),
            Figure(name, f"load ({who}): throughput and latency",
                   f"{r['rps']} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                   f"{r['server_cpu_ms_per_req']} ms server CPU/req"),
            Figure(name, f"(d) load ({who}): server peak RSS / RSS after start",
                   f"{peak:.1f} MB peak, {idle:.1f} MB idle", "—", peak / idle if idle else None),
        ]
    return parse


def parse_state(out: str) -> list[Figure]:
    r = results(out, "state")
    cpu, p99, most = float(r["cpu_ratio"]), float(r["p99_ratio"]), int(r["bytes_max"])
    ok = r["ok"] == "1" and r["errors"] == "0" and r["mismatches"] == "0" and r["runs"] == r["stored_completed"]
    who = f"{r['users']} users x {r['rounds']} rounds per group"
    return [
        Figure("state", "server CPU per request, three years of daily history / none",
               f"{r['cpu_ms_3years']} vs {r['cpu_ms_none']} ms ({who}; per round {r.get('cpu_ratio_low')}"
               f"..{r.get('cpu_ratio_high')}, median {r.get('cpu_ratio_median')})", "<= 1.1", cpu, at_most(cpu, 1.1)),
        Figure("state", "p99 latency, a year of history / none (32-user load)",
               f"{r['p99_ms_year']} vs {r['p99_ms_none']} ms", "<= 1.2", p99, at_most(p99, 1.2)),
        Figure("state", "32-user load: errors, stored completed runs = completed runs",
               f"{r['errors']} errors, {r['stored_completed']} stored of {r['runs']} runs, "
               f"{r['mismatches']} mismatches", "0 and equal", None, ok),
        Figure("state", "bytes written per AudioPlayer event, most of any event / 2 KB",
               f"SQLite {r.get('bytes_sqlite_none')} / {r.get('bytes_sqlite_3years')} B, DynamoDB "
               f"{r.get('bytes_dynamodb_none')} / {r.get('bytes_dynamodb_3years')} B (no history / three years)",
               "<= 1", most / 2048, at_most(most, 2048)),
    ]


def parse_reminders(out: str) -> list[Figure]:
    r = results(out, "reminders")
    ratio = float(r["ratio"])
    return [
        Figure("reminders", "create a reminder: our client / the SDK's ReminderManagementServiceClient",
               f"{r['create_ours_ms']} vs {r['create_sdk_ms']} ms (SDK's get_reminders cannot read a list)",
               "<= 1.1", ratio, at_most(ratio, 1.1)),
    ]


BENCHES = [
    Bench("render", ["bench/bench_render.py"], ["bench/bench_render.py"], parse_render),
    Bench("storage", ["bench/bench_storage.py", "--seconds", "1"], ["bench/bench_storage.py", "--seconds", "0.2"],
          parse_storage),
    Bench("summary", ["bench/bench_summary.py", "2000"], ["bench/bench_summary.py", "100"], parse_summary),
    Bench("http", ["bench/bench_http.py"], ["bench/bench_http.py", "--runs", "1", "--repeats", "1"], parse_http),
    Bench("http-1", ["bench/bench_http.py", "--threads", "1"],
          ["bench/bench_http.py", "--threads", "1", "--runs", "1", "--repeats", "1"], parse_http_one_thread),
    Bench("coldstart", ["bench/bench_coldstart.py"], ["bench/bench_coldstart.py", "--repeats", "5"],
          parse_coldstart),
    Bench("lambda", ["bench/bench_lambda.py"], ["bench/bench_lambda.py", "--repeats", "5"], parse_lambda),
    Bench("load", ["bench/load.py", "--users", "32", "--seconds", "30"],
          ["bench/load.py", "--users", "32", "--seconds", "3"], parse_load("load")),
    Bench("load-year", ["bench/load.py", "--users", "32", "--seconds", "20", "--history", "365"],
          ["bench/load.py", "--users", "32", "--seconds", "3", "--history", "365"], parse_load("load-year")),
    Bench("state", ["bench/bench_state.py"], ["bench/bench_state.py", "--quick"], parse_state),
    Bench("reminders", ["bench/bench_reminders.py", "300"], ["bench/bench_reminders.py", "30"], parse_reminders),
]


def run(bench: Bench, quick: bool, timeout: float) -> tuple[int, str, float]:
    """Run one benchmark, echoing its output; return its exit status, output and wall seconds."""
    argv = [sys.executable, *(bench.quick_args if quick else bench.args)]
    print(f"\n=== {bench.name}: {' '.join(argv[1:])}", flush=True)
    began = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    lines = []
    assert proc.stdout is not None
    killer = _Deadline(proc, timeout)
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    status = proc.wait()
    killer.cancel()
    if killer.fired:
        lines.append(f"(killed after {timeout:g} s)\n")
    return status, "".join(lines), time.monotonic() - began


class _Deadline:
    """Kill a child process that runs past its time limit."""

    def __init__(self, proc: subprocess.Popen, seconds: float) -> None:
        import threading

        self.fired = False
        self._proc = proc
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        if self._proc.poll() is None:
            self.fired = True
            self._proc.kill()

    def cancel(self) -> None:
        self._timer.cancel()


def machine() -> dict[str, str]:
    """Describe this machine: CPUs, memory, CPU model, Python, load average."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
                 platform.processor() or "unknown")
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    return {
        "CPUs (nproc)": str(os.cpu_count()),
        "RAM": f"{mem / 1024 / 1024:.1f} GiB",
        "CPU model": model,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "OS": f"{platform.system()} {platform.release()}",
    }


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_results(path: Path, figures: list[Figure], runs: list[tuple[str, list[str], int, float]],
                  command: str, started: datetime, loads: tuple[str, str], failures: list[str]) -> None:
    """Write the markdown report."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {started:%Y-%m-%d %H:%M} UTC. Ratios are measured in the same run",
        "against the baselines described in each benchmark's docstring; there are no time thresholds.",
        "",
        "| Machine | |",
        "|---|---|",
        *(f"| {key} | {_cell(value)} |" for key, value in machine().items()),
        f"| Load average (1/5/15 min) before / after | {loads[0]} / {loads[1]} |",
        "",
        "| Benchmark | Figure | Value | Target | Ratio | Met |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        ratio = "—" if f.ratio is None else f"{f.ratio:.3f}"
        met = "—" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(f"| {f.bench} | {_cell(f.name)} | {_cell(f.value) or '—'} | {f.target} | {ratio} | {met} |")
    lines += ["", "Commands (from the repository root, in this order):", ""]
    for name, argv, status, seconds in runs:
        state = "ok" if status == 0 else f"exit {status}"
        lines.append(f"- {name}: `python {shlex.join(argv)}` ({state}, {seconds:.0f} s)")
    if failures:
        lines += ["", "Problems:", "", *(f"- {_cell(problem)}" for problem in failures)]
    lines += [
        "",
        "Baselines: render = one bare ffmpeg encode of the same PCM; storage = the 1-writer rate;",
        "summary = a 5 ms budget; http = bench/_baseline_skill.py (one ask-sdk handler, no storage) under",
        "the same waitress settings and requests; coldstart = `import ask_sdk_core, flask` plus a",
        "one-handler skill; lambda = a one-handler ask-sdk Lambda handler answering the same first",
        "LaunchRequest (no storage: the target; for reference, with only our DynamoDB client making",
        "the launch's three reads, and with ask-sdk's DynamoDB adapter, on the same dynalite);",
        "load = RSS right after the server started; state = users with no history",
        "in the same server process and run (bytes: a 2 KB budget). The machine is shared and",
        "noisy (see the load average), so compare ratios, not absolute times, between runs.",
        "",
    ]
    path.write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks, print a summary, write the report; return 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs for a smoke test")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHES], help="run only these")
    parser.add_argument("--out", type=Path, help="report path (default bench/RESULTS.md; with --quick, a temp file)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed per benchmark")
    args = parser.parse_args(argv)
    if args.out is None:
        quick_out = Path(tempfile.gettempdir()) / "trigger-coach-RESULTS-quick.md"
        args.out = quick_out if args.quick else BENCH / "RESULTS.md"
    command = "python bench/run_all.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    started = datetime.now(UTC)
    load_before = load_average()
    figures: list[Figure] = []
    runs: list[tuple[str, list[str], int, float]] = []
    failures: list[str] = []
    for bench in BENCHES:
        if args.only and bench.name not in args.only:
            continue
        status, output, seconds = run(bench, args.quick, args.timeout)
        runs.append((bench.name, bench.quick_args if args.quick else bench.args, status, seconds))
        try:
            figures += bench.parse(output)
        except (LookupError, ValueError, KeyError) as exc:
            failures.append(f"{bench.name}: could not read its figures ({exc}).")
            figures.append(Figure(bench.name, "figures not found in output", "—", met=False))
        if status != 0:
            failures.append(f"{bench.name} exited with status {status}.")
    write_results(args.out, figures, runs, command, started, (load_before, load_average()), failures)
    print(f"\nWrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    for f in figures:
        ratio = "" if f.ratio is None else f"  ratio {f.ratio:.3f}"
        met = "" if f.met is None else ("  met" if f.met else "  NOT MET")
        print(f"  {f.bench:<10} {f.name}: {f.value}{ratio}  target {f.target}{met}")
    for problem in failures:
        print(f"  problem: {problem}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
