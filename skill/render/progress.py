"""Report rendering progress: an event per finished track, and a text bar for the CLI."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO


@dataclass(frozen=True)
class ProgressEvent:
    """One track finished (rendered, reused from the cache, or failed)."""

    routine_id: str
    track_index: int
    tracks_done: int
    tracks_total: int
    audio_seconds: float  # seconds of audio finished so far, over all routines in the run
    reused: bool
    failed: bool = False


class Progress(Protocol):
    """Anything called with a ProgressEvent after each track."""

    def __call__(self, event: ProgressEvent) -> None: ...


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressBar:
    """Draw `[#####.....] 12/40 tracks · 3.1 min audio · ETA 0:42` on stderr.

    The ETA counts only tracks that needed rendering: reused tracks take no time, so they
    would make a run that has just started look almost finished.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.clock = clock
        self.started = clock()
        self.rendered = 0
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, event: ProgressEvent) -> str:
        """Return the bar's text for an event."""
        total = max(event.tracks_total, 1)
        filled = round(self.width * event.tracks_done / total)
        bar = "#" * filled + "." * (self.width - filled)
        left = event.tracks_total - event.tracks_done
        if left == 0:
            eta = "done"
        elif self.rendered:
            eta = "ETA " + _clock((self.clock() - self.started) / self.rendered * left)
        else:
            eta = "ETA …"
        return (f"[{bar}] {event.tracks_done}/{event.tracks_total} tracks · "
                f"{event.audio_seconds / 60:.1f} min audio · {eta}")

    def __call__(self, event: ProgressEvent) -> None:
        """Redraw the bar (or, when stderr is not a terminal, print every tenth step)."""
        if not event.reused:
            self.rendered += 1
        finished = event.tracks_done == event.tracks_total
        if self.live:
            self.stream.write("\r" + self.line(event) + ("\n" if finished else ""))
        elif finished or event.tracks_done % max(1, event.tracks_total // 10) == 0:
            self.stream.write(self.line(event) + "\n")
        self.stream.flush()
