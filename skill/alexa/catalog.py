"""Know which routines can be played right now, and where each track is served from.

The catalog joins the routine library with the render manifests: a routine is playable at a
length (full or quick) when that version's manifest lists exactly the tracks its timeline
expands to, with pictures drawn for the placements its steps name now. Track and picture
URLs are built here and nowhere else; what a screen shows comes from skill.core.screens.

Manifests, the plan keys they are checked by (`skill.render.layout`), the timeline and the
screens load with the first entry, quick versions with the first one asked for: a launch
that starts nothing imports none of them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, NamedTuple

from skill.config import Settings
from skill.core.player import Program
from skill.core.routines import Length, Library, Routine

if TYPE_CHECKING:
    from skill.core.screens import Screen
    from skill.core.timeline import Track

log = logging.getLogger("trigger_coach.catalog")


class PlayableTrack(NamedTuple):
    """One track as a Play directive carries it: the stream, and what a screen shows with it."""

    url: str
    title: str
    subtitle: str
    art_url: str | None = None
    background_url: str | None = None


class Entry(NamedTuple):
    routine: Routine
    tracks: tuple[Track, ...]
    files: tuple[str, ...]
    program: Program
    screens: tuple[Screen, ...] = ()
    pictures: tuple[tuple[str, str], ...] = ()  # each track's (art, background) file names


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
            from skill.core.lengths import version  # and the timeline: only a quick version needs them

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
        from skill.content.manifest import manifest_path

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
        """Return the URL and screen metadata of one track of a playable routine."""
        entry = self.entry(routine_id, length)
        if entry is None or not 0 <= index < len(entry.files):
            raise LookupError(f"Track {index} of routine '{routine_id}' ({length}) is not rendered.")
        screen = entry.screens[index]
        art, background = entry.pictures[index]
        images = self.settings.image_base_url
        return PlayableTrack(
            url=self.settings.audio_base_url + entry.files[index],
            title=screen.title,
            subtitle=screen.subtitle,
            art_url=images + art if art else None,
            background_url=images + background if background else None,
        )

    def _load(self, routine: Routine) -> Entry | None:
        from skill.content.manifest import ManifestError, load_manifest
        from skill.core.screens import screens, tag
        from skill.core.timeline import expand
        from skill.render.layout import rendered_from  # the plan keys the renderer wrote

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
        shown = screens(routine, tracks)
        if [t.placement for t in manifest.tracks] != [s.placement.key if s.placement else None for s in shown]:
            log.warning("The pictures of routine '%s' no longer match the places its steps name; "
                        "run 'trigger-coach render %s'.", routine.key, routine.id)
            return None
        files = tuple(t.file for t in manifest.tracks)
        durations = tuple(t.duration_ms for t in manifest.tracks)
        pictures = tuple((t.art, t.background) for t in manifest.tracks)
        tags = tuple(tag(s.title, s.subtitle, file, art, background)
                     for s, file, (art, background) in zip(shown, files, pictures, strict=True))
        return Entry(routine, tracks, files, Program(routine.id, durations, routine.length.value, tags),
                     shown, pictures)
