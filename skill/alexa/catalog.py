"""Know which routines can be played right now, and where each track is served from.

The catalog joins the routine library with the render manifests: a routine is playable at a
length (full or quick) when that version's manifest lists exactly the tracks its timeline
expands to. Track URLs are built here and nowhere else.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from skill.config import Settings
from skill.core.lengths import version
from skill.core.player import Program
from skill.core.routines import Length, Library, Routine
from skill.core.timeline import Track, expand
from skill.render.layout import rendered_from
from skill.render.manifest import ManifestError, load_manifest, manifest_path

log = logging.getLogger("trigger_coach.catalog")


@dataclass(frozen=True)
class PlayableTrack:
    url: str
    title: str
    subtitle: str


@dataclass(frozen=True)
class Entry:
    routine: Routine
    tracks: tuple[Track, ...]
    files: tuple[str, ...]
    program: Program


class Catalog:
    """Routines joined with their rendered tracks; manifests are re-read when they change.

    A manifest's modification time is looked at no more than once a second per routine,
    so a re-render is picked up quickly without a file-system call on every request.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self, library: Library, settings: Settings) -> None:
        self.library = library
        self.settings = settings
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Entry | None]] = {}
        self._checked: dict[str, float] = {}
        self._versions: dict[tuple[str, str], Routine] = {}

    def routine(self, routine_id: str | None, length: str = Length.FULL) -> Routine | None:
        """Return the routine with this id as it plays at `length`, or None (unknown id or length)."""
        routine = self.library.get(routine_id) if routine_id else None
        if routine is None or length == Length.FULL:
            return routine
        key = (routine.id, str(length))
        with self._lock:
            known = self._versions.get(key)
        if known is None:
            try:
                known = version(routine, length)
            except ValueError:
                return None
            with self._lock:
                self._versions[key] = known
        return known

    def entry(self, routine_id: str | None, length: str = Length.FULL) -> Entry | None:
        """Return the playable entry for a routine at a length, or None if its audio is not ready."""
        routine = self.routine(routine_id, length)
        if routine is None:
            return None
        key = routine.key
        now = time.monotonic()
        with self._lock:
            cached = self._entries.get(key)
            if cached and now - self._checked.get(key, 0.0) < self.RECHECK_SECONDS:
                return cached[1]
            self._checked[key] = now
        try:
            mtime = manifest_path(key, self.settings).stat().st_mtime
        except OSError:
            return None
        with self._lock:
            cached = self._entries.get(key)
            if cached and cached[0] == mtime:
                return cached[1]
        entry = self._load(routine)
        with self._lock:
            self._entries[key] = (mtime, entry)
        return entry

    def program(self, routine_id: str | None, length: str = Length.FULL) -> Program | None:
        """Return what the player needs for a routine at a length, or None if it cannot be played."""
        entry = self.entry(routine_id, length)
        return entry.program if entry else None

    def track(self, routine_id: str, index: int, length: str = Length.FULL) -> PlayableTrack:
        """Return the URL and screen text of one track of a playable routine."""
        entry = self.entry(routine_id, length)
        if entry is None or not 0 <= index < len(entry.files):
            raise LookupError(f"Track {index} of routine '{routine_id}' ({length}) is not rendered.")
        track = entry.tracks[index]
        label = track.kind.rules.label
        side = f", {track.side} side" if track.side else ""
        quick = "quick " if entry.routine.length is Length.QUICK else ""
        return PlayableTrack(
            url=self.settings.audio_base_url + entry.files[index],
            title=f"{entry.routine.title} {quick}routine",
            subtitle=f"Step {index + 1} of {len(entry.files)}: {label}{side}",
        )

    def _load(self, routine: Routine) -> Entry | None:
        try:
            manifest = load_manifest(routine.key, self.settings)
        except ManifestError as exc:
            log.warning("%s", exc)
            return None
        if manifest is None:
            return None
        tracks = expand(routine)
        if not rendered_from([t.plan for t in manifest.tracks], tracks):  # words, timings, kinds
            log.warning("The rendered tracks of routine '%s' no longer match its steps; "
                        "run 'trigger-coach render %s'.", routine.key, routine.id)
            return None
        files = tuple(t.file for t in manifest.tracks)
        durations = tuple(t.duration_ms for t in manifest.tracks)
        return Entry(routine, tracks, files, Program(routine.id, durations, routine.length.value))
