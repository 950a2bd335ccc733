"""Print the SQLite adapter's read-modify-write rate with 1 and 4 concurrent writer threads.

Each case runs ``SQLiteAdapter.update`` (one BEGIN IMMEDIATE transaction: read, decode,
change, encode, write) on a fresh file in a temporary directory for a fixed time or a
fixed number of operations, whichever comes first, and checks that no increment was lost.
Four writers share one write lock, so the 4/1 ratio shows what contention costs; there are
no thresholds.

    python bench/bench_storage.py [--seconds 1.0] [--max-ops 50000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from skill.storage import SQLiteAdapter

# A playback-state-sized document, so encoding costs what it will in the skill.
DOCUMENT = {
    "playback": {
        "routine": "neck-and-shoulders",
        "run_id": "2f9c1e1a",
        "index": 3,
        "offset_ms": 123456,
        "enqueued": "neck-and-shoulders|4|2f9c1e1a",
        "started_at": "2025-01-01T08:00:00+00:00",
    },
    "runs": [{"routine": "neck", "seconds": 480, "steps": ["a", "b", "c"]} for _ in range(5)],
    "count": 0,
}


def increment(doc: dict) -> dict:
    return {**(doc or DOCUMENT), "count": doc.get("count", 0) + 1}


def run_case(writers: int, distinct_users: bool, seconds: float, max_ops: int) -> float:
    """Return the ops/s of ``writers`` threads updating one shared or one user each."""
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as directory:
        adapter = SQLiteAdapter(Path(directory) / "bench.sqlite3")
        users = [f"user-{n}" if distinct_users else "user-0" for n in range(writers)]
        counts = [0] * writers
        budget = max_ops // writers
        start = threading.Barrier(writers + 1)

        def work(index: int) -> None:
            start.wait()
            deadline = time.perf_counter() + seconds
            while counts[index] < budget and time.perf_counter() < deadline:
                adapter.update(users[index], increment)
                counts[index] += 1

        threads = [threading.Thread(target=work, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        stored = sum(adapter.get(user)["count"] for user in set(users))
        if stored != sum(counts):
            sys.exit(f"Lost updates: {sum(counts)} done but {stored} stored.")
        return sum(counts) / elapsed


def main() -> None:
    """Run the three cases and print a table with the 4-writer/1-writer ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case (default 1)")
    parser.add_argument("--max-ops", type=int, default=50_000, help="cap per case (default 50000)")
    args = parser.parse_args()

    one = run_case(1, False, args.seconds, args.max_ops)
    same = run_case(4, False, args.seconds, args.max_ops)
    distinct = run_case(4, True, args.seconds, args.max_ops)
    print(f"SQLite update() rate, {args.seconds:g} s per case (WAL, synchronous=NORMAL)")
    print(f"{'writers':>8}  {'users':<9}{'ops/s':>9}  {'vs 1 writer':>11}")
    print(f"{1:>8}  {'one':<9}{one:>9.0f}  {1:>11.2f}")
    print(f"{4:>8}  {'same':<9}{same:>9.0f}  {same / one:>11.2f}")
    print(f"{4:>8}  {'distinct':<9}{distinct:>9.0f}  {distinct / one:>11.2f}")


if __name__ == "__main__":
    main()
