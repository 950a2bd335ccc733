"""Report rendering progress: an event per finished track, and a text bar (tqdm) for the CLI."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TextIO

from tqdm import tqdm

BAR_CHARACTERS = ".#"  # empty, full: plain ASCII, so logs and every terminal show the same bar


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


class _Tqdm(tqdm):
    """tqdm with two fields of ours for its bar_format: audio minutes and our ETA."""

    fields: ClassVar[dict[str, str]] = {"audio": "0.0 min audio", "left": "ETA …"}

    @property
    def format_dict(self) -> dict[str, Any]:
        return {**super().format_dict, **self.fields}


class ProgressBar:
    """Draw `[#####.....] 12/40 tracks · 3.1 min audio · ETA 0:42` on stderr, with tqdm.

    tqdm draws the bar: in place on a terminal, throttled; elsewhere (a log, CI) it writes
    a fresh state about every tenth of the tracks. The ETA is ours, not tqdm's: it counts
    only tracks that needed rendering, since reused tracks take no time and would make a
    run that has just started look almost finished.
    """

    def __init__(self, stream: TextIO | None = None, width: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.format = f"[{{bar:{width}}}] {{n}}/{{total}} tracks · {{audio}} · {{left}}"
        self.clock = clock
        self.started = clock()
        self.rendered = 0
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self._bar: _Tqdm | None = None

    def _fields(self, event: ProgressEvent) -> dict[str, str]:
        left = event.tracks_total - event.tracks_done
        if left == 0:
            eta = "done"
        elif self.rendered:
            eta = "ETA " + _clock((self.clock() - self.started) / self.rendered * left)
        else:
            eta = "ETA …"
        return {"audio": f"{event.audio_seconds / 60:.1f} min audio", "left": eta}

    def line(self, event: ProgressEvent) -> str:
        """Return the bar's text for an event, as tqdm draws it."""
        return tqdm.format_meter(event.tracks_done, max(event.tracks_total, 1), self.clock() - self.started,
                                 bar_format=self.format, ascii=BAR_CHARACTERS, **self._fields(event))

    def __call__(self, event: ProgressEvent) -> None:
        """Move the bar to the event (it is closed, with a newline, when every track is done)."""
        if not event.reused:
            self.rendered += 1
        if self._bar is None:
            self._bar = _Tqdm(total=event.tracks_total, file=self.stream, bar_format=self.format,
                              ascii=BAR_CHARACTERS, mininterval=0.1 if self.live else 0.0,
                              miniters=1 if self.live else max(1, event.tracks_total // 10))
        self._bar.fields = self._fields(event)
        self._bar.update(event.tracks_done - self._bar.n)
        if event.tracks_done >= event.tracks_total:
            self._bar.close()
