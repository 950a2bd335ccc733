"""Render routines to MP3 tracks and manifests, reusing everything that has not changed.

For each timeline track: look up its content key; if the MP3 and its meta exist, reuse
them (no synthesis, no encoding). Otherwise fetch every sentence from the sentence cache
(synthesizing only what is missing), plan the track (layout), mix it into one PCM buffer,
encode it once, and store it atomically.

Failures: a track that cannot be rendered (a text the voice cannot speak, an unknown cue,
a full disk) is reported with routine, track and reason, and the other tracks still render.
A routine's manifest is written only when all its tracks rendered; otherwise the previous
manifest (if any) stays, and it still points at files that exist, since nothing is deleted.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from skill.content.manifest import Manifest, ManifestTrack
from skill.core.screens import screens
from skill.core.timeline import Track, expand
from skill.render import cues, encode, layout, mix, pictures
from skill.render.cache import Store, json_digest
from skill.render.encode import FORMAT, EncodeError, Mp3Encoder, mp3_samples
from skill.render.layout import SAMPLE_RATE, LayoutError, TrackPlan
from skill.render.mix import MixError
from skill.render.progress import Progress, ProgressEvent
from skill.render.voices import Voice, VoiceError, make_voice

if TYPE_CHECKING:
    from skill.config import Settings
    from skill.core.routines import Routine

log = logging.getLogger("trigger_coach.render")

# Goes into every track key and manifest. Bump it when code that shapes the sound changes
# in a way the fingerprints below cannot see (mixing, resampling, limiting algorithms).
RENDERER_VERSION = "2"
FORMAT_LABEL = f"mp3 mono {SAMPLE_RATE} Hz CBR {FORMAT['kbps']} kbps"
TRACK_ERRORS = (VoiceError, LayoutError, MixError, EncodeError, OSError)


@dataclass(frozen=True)
class TrackFailure:
    """One track (or, with track_index None, a whole routine) that could not be rendered."""

    routine_id: str
    track_index: int | None
    reason: str

    def __str__(self) -> str:
        where = f"Routine {self.routine_id!r}"
        if self.track_index is not None:
            where += f", track {self.track_index}"
        return f"{where}: {self.reason}"


class RenderError(Exception):
    """Some tracks of a routine could not be rendered; `failures` says which and why."""

    def __init__(self, failures: Sequence[TrackFailure]) -> None:
        self.failures = tuple(failures)
        super().__init__(" ".join(str(f) for f in self.failures))


@dataclass(frozen=True)
class RenderReport:
    """What a library render did: manifests written, failures, and the work it took."""

    manifests: tuple[Manifest, ...]
    failures: tuple[TrackFailure, ...]
    tracks_rendered: int
    tracks_reused: int
    sentences_synthesized: int
    audio_seconds: float
    pictures_drawn: int = 0

    def summary(self) -> str:
        """Return a one-line summary for the CLI."""
        failed = f", {len(self.failures)} failed" if self.failures else ""
        return (
            f"{len(self.manifests)} routines ready: {self.tracks_rendered} tracks rendered, "
            f"{self.tracks_reused} reused, {self.sentences_synthesized} sentences synthesized, "
            f"{self.pictures_drawn} pictures drawn, {self.audio_seconds / 60:.1f} min of audio{failed}."
        )


def describe(exc: BaseException) -> str:
    """Return an error as one sentence, naming the file for file-system errors."""
    if isinstance(exc, OSError) and exc.strerror:
        name = f" {str(exc.filename)!r}" if exc.filename else ""
        hint = " Free some disk space and render again." if exc.errno == errno.ENOSPC else ""
        return f"Cannot write{name}: {exc.strerror}.{hint}"
    text = str(exc)
    return text if text.endswith(".") else f"{text}."


@dataclass
class _Tally:
    """Count progress across one run (a routine or a whole library)."""

    total: int
    progress: Progress | None
    done: int = 0
    audio_seconds: float = 0.0
    rendered: int = 0
    reused: int = 0

    def advance(self, routine_id: str, track: Track, seconds: float, *, reused: bool, failed: bool) -> None:
        self.done += 1
        self.audio_seconds += seconds
        if not failed:
            self.rendered += not reused
            self.reused += reused
        if self.progress is not None:
            self.progress(ProgressEvent(routine_id, track.index, self.done, self.total,
                                        self.audio_seconds, reused, failed))


class Renderer:
    """Render tracks with one voice, encoder and store; counts live on voice and encoder."""

    def __init__(self, settings: Settings, voice: Voice, encoder: Mp3Encoder | None = None,
                 store: Store | None = None) -> None:
        self.settings = settings
        self.voice = voice
        self.encoder = encoder or Mp3Encoder()
        self.store = store or Store(settings)
        self._speech: dict[str, np.ndarray] = {}
        self.pictures_drawn = 0

    # --- one track ------------------------------------------------------------------------
    def track_key(self, track: Track) -> str:
        """Return the content key of a track: a hash of everything that shapes its sound."""
        return json_digest({
            "renderer": RENDERER_VERSION,
            "format": encode.fingerprint(),
            "voice": self.voice.key,
            "track": layout.fingerprint(track),
            "sounds": cues.fingerprint(layout.fixed_sounds(track)),
            "mix": mix.fingerprint(),
        })

    def speech_for(self, track: Track) -> dict[str, np.ndarray]:
        """Return every sentence the track may say, levelled, synthesizing only uncached ones."""
        for text in layout.spoken_texts(track):
            if text not in self._speech:
                self._speech[text] = mix.prepare_speech(self.store.speech(self.voice, text))
        return self._speech

    def plan(self, track: Track) -> TrackPlan:
        """Return the track's exact layout, from measured sentence lengths."""
        spoken = self.speech_for(track)
        lengths = {text: len(spoken[text]) for text in layout.spoken_texts(track)}
        return layout.plan_track(track, lengths, cues.sound_lengths())

    def pcm(self, track: Track) -> tuple[TrackPlan, np.ndarray]:
        """Return the track's plan and its mixed int16 samples (at the limiter's first ceiling)."""
        plan = self.plan(track)
        return plan, mix.mix(plan, self._speech)

    def encoded(self, plans: Sequence[TrackPlan]) -> bytes:
        """Mix planned tracks end to end and encode them as one MP3 whose decoded true peak is checked.

        Where the codec lifted a peak over mix.MAX_TRUE_PEAK_DBTP the limiter's ceiling is
        lowered there and the audio mixed and encoded again (Mp3Encoder.encode_under).
        """
        memos: list[dict[tuple[int, int, int], np.ndarray]] = [{} for _ in plans]

        def render(ceilings: np.ndarray) -> np.ndarray:
            parts, at = [], 0
            for plan, memo in zip(plans, memos, strict=True):
                parts.append(mix.mix(plan, self._speech, ceilings[at:at + plan.total], memo))
                at += plan.total
            return np.concatenate(parts)

        return self.encoder.encode_under(render, sum(p.total for p in plans), mix.PEAK_CEILING_DBTP,
                                         mix.MAX_TRUE_PEAK_DBTP, mix.true_peaks)

    def track(self, track: Track) -> tuple[ManifestTrack, bool]:
        """Return the track's manifest entry, rendering it unless it is already stored.

        The second value is True when the stored track was reused.
        """
        key = self.track_key(track)
        meta = self.store.track_meta(key)
        reused = meta is not None
        if meta is None:
            plan = self.plan(track)
            data = self.encoded([plan])
            count = mp3_samples(data)
            self.store.write(self.store.track_path(key), data)
            meta = {
                "samples": count,
                "duration_ms": round(count * 1000 / SAMPLE_RATE),
                "transcript": [{"t": line.t, "text": line.text} for line in plan.transcript],
                **plan.manifest_fields(),
            }
            self.store.write_json(self.store.meta_path(key), meta)
        entry = ManifestTrack.from_meta(track.index, track.kind, track.side,
                                        self.store.track_path(key).name, meta)
        return entry, reused

    def pictured(self, routine: Routine, tracks: Sequence[Track],
                 entries: Sequence[ManifestTrack]) -> list[ManifestTrack]:
        """Return the entries with the pictures their screens show, drawing any not stored yet."""
        out: list[ManifestTrack] = []
        for entry, screen in zip(entries, screens(routine, tuple(tracks)), strict=True):
            if screen.placement is None:
                out.append(entry)
                continue
            names: dict[str, str] = {}
            for size in pictures.SIZES:
                names[size.name] = pictures.file_name(screen.placement, size)
                path = self.store.image_path(names[size.name])
                if not path.is_file():  # a name is a content hash: a stored picture is this picture
                    self.store.write(path, pictures.png(screen.placement, size))
                    self.pictures_drawn += 1
            out.append(entry._replace(placement=screen.placement.key, art=names[pictures.ART.name],
                                      background=names[pictures.BACKGROUND.name]))
        return out

    # --- routines -------------------------------------------------------------------------
    def routine(self, routine: Routine, tally: _Tally) -> tuple[Manifest | None, list[TrackFailure]]:
        """Render every track of a routine; write its manifest only if all of them rendered."""
        tracks = expand(routine)
        try:
            self.store.ensure_writable()
        except OSError as exc:
            for track in tracks:
                tally.advance(routine.key, track, 0.0, reused=False, failed=True)
            return None, [TrackFailure(routine.key, None, describe(exc) + " Set TRIGGER_COACH_AUDIO_DIR "
                                       "to a writable folder.")]
        entries: list[ManifestTrack] = []
        failures: list[TrackFailure] = []
        try:
            for track in tracks:
                try:
                    entry, reused = self.track(track)
                except TRACK_ERRORS as exc:
                    failure = TrackFailure(routine.key, track.index, f"({track.kind}) {describe(exc)}")
                    log.error("%s", failure)
                    failures.append(failure)
                    tally.advance(routine.key, track, 0.0, reused=False, failed=True)
                    continue
                log.debug("Routine %r track %d: %s %s", routine.key, track.index,
                          "reused" if reused else "rendered", entry.file)
                entries.append(entry)
                tally.advance(routine.key, track, entry.duration_ms / 1000, reused=reused, failed=False)
        finally:
            self._speech.clear()  # a routine's sentences, not a library's, stay in memory
        if failures:
            return None, failures
        try:
            entries = self.pictured(routine, tracks, entries)
        except OSError as exc:
            failure = TrackFailure(routine.key, None, f"Drawing its pictures failed. {describe(exc)}")
            log.error("%s", failure)
            return None, [failure]
        manifest = Manifest(routine.id, self.voice.key, RENDERER_VERSION, FORMAT_LABEL, tuple(entries),
                            routine.length.value)
        try:
            self.store.write_json(self.store.manifest_path(routine.key), manifest.to_json())
        except OSError as exc:  # e.g. the disk filled up after the last track
            failure = TrackFailure(routine.key, None, f"Writing its manifest failed. {describe(exc)}")
            log.error("%s", failure)
            return None, [failure]
        return manifest, []


def _renderer(settings: Settings, voice: Voice | None, encoder: Mp3Encoder | None,
              store: Store | None) -> Renderer:
    return Renderer(settings, voice or make_voice(settings), encoder, store)


def render_routine(routine: Routine, settings: Settings, *, voice: Voice | None = None,
                   progress: Progress | None = None, encoder: Mp3Encoder | None = None,
                   store: Store | None = None) -> Manifest:
    """Render a routine's missing tracks, write its manifest atomically and return it.

    Raise RenderError listing every track that failed (the others are still rendered and
    cached; the manifest is then not written). `encoder` and `store` are seams for tests.
    """
    renderer = _renderer(settings, voice, encoder, store)
    manifest, failures = renderer.routine(routine, _Tally(len(expand(routine)), progress))
    if manifest is None:
        raise RenderError(failures)
    return manifest


def render_library(routines: Sequence[Routine], settings: Settings, *, voice: Voice | None = None,
                   progress: Progress | None = None, encoder: Mp3Encoder | None = None,
                   store: Store | None = None) -> RenderReport:
    """Render every routine (each a version: `skill.core.lengths.versions` gives both lengths),
    carrying on past failures, and report what happened."""
    renderer = _renderer(settings, voice, encoder, store)
    tally = _Tally(sum(len(expand(r)) for r in routines), progress)
    calls_before = renderer.voice.calls
    manifests: list[Manifest] = []
    failures: list[TrackFailure] = []
    for routine in routines:
        manifest, failed = renderer.routine(routine, tally)
        failures += failed
        if manifest is not None:
            manifests.append(manifest)
    return RenderReport(tuple(manifests), tuple(failures), tally.rendered, tally.reused,
                        renderer.voice.calls - calls_before, tally.audio_seconds, renderer.pictures_drawn)


def render_preview(routine: Routine, settings: Settings, out_path: Path | str, *,
                   voice: Voice | None = None, encoder: Mp3Encoder | None = None,
                   store: Store | None = None) -> list[dict[str, object]]:
    """Render the whole routine as one MP3 at out_path and return its timed transcript.

    Each line is {"t": seconds from the start of the file, "text": words, "track": index}.
    Sentences come from (and go into) the sentence cache; tracks are mixed afresh and the
    whole routine is encoded once. Raise RenderError naming every track that failed.
    """
    renderer = _renderer(settings, voice, encoder, store)
    plans: list[TrackPlan] = []
    lines: list[dict[str, object]] = []
    failures: list[TrackFailure] = []
    offset = 0
    for track in expand(routine):
        try:
            plan = renderer.plan(track)
        except TRACK_ERRORS as exc:
            failures.append(TrackFailure(routine.id, track.index, f"({track.kind}) {describe(exc)}"))
            continue
        lines += [{"t": round((offset + seg.start) / SAMPLE_RATE, 3), "text": seg.name,
                   "track": track.index} for seg in plan.segments if seg.kind == "speech"]
        plans.append(plan)
        offset += plan.total
    if failures:
        raise RenderError(failures)
    try:
        data = renderer.encoded(plans)
    except (MixError, EncodeError) as exc:
        raise RenderError([TrackFailure(routine.id, None, describe(exc))]) from exc
    renderer.store.write(Path(out_path), data)
    return lines
