"""Run one piece of work for several keys at the same moment, as simultaneous devices do."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def at_once(work: Callable[[K], T], keys: Iterable[K], timeout: float = 300) -> dict[K, T]:
    """Return each key's result of `work`, all released together by one barrier; fail naming every error.

    Each key runs in its own thread. A thread's exception is reported here, not lost in the
    thread, and a thread still running after `timeout` seconds fails the call.
    """
    keys = list(keys)
    gate = threading.Barrier(len(keys))
    results: dict[K, T] = {}
    errors: list[str] = []

    def run(key: K) -> None:
        try:
            gate.wait()
            results[key] = work(key)
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(f"{key}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(key,), daemon=True) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    stuck = [key for key, thread in zip(keys, threads, strict=True) if thread.is_alive()]
    assert not stuck, f"still running after {timeout} s: {stuck}"
    assert errors == [], errors
    return results
