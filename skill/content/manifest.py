"""Describe a rendered routine: which file plays each track, how long it is, what it says.

Light on purpose (json and dataclasses only): the skill reads manifests at request time
without loading pydub, numpy or a voice, so this lives with the content, not in `skill.render`
(the build step, which writes them). A manifest is written only when every track of
the routine rendered, so a manifest on disk always lists a complete, playable routine.

JSON shape (tracks_dir/manifests/<routine_id>.json, <routine_id>.quick.json for the quick version;
a locale's own voice keeps its manifests in tracks_dir/manifests/<voice folder>/):
  {"routine_id": "upper-back", "length": "full", "voice": "<voice key>", "renderer_version": "1",
   "format": "mp3 mono 44100 Hz CBR 48 kbps",
   "tracks": [{"index": 0, "kind": "position", "side": null, "file": "<key>.mp3",
               "duration_ms": 14210, "transcript": [{"t": 0.05, "text": "Lie on your back ..."}],
               "plan": "<layout.plan_key>", "settle": [4.1, 14.1], "wordless": [[20.2, 45.0, "tones"]],
               "placement": {"region": "upper-back-beside-spine", "side": "right", "tool": "ball"},
               "art": "<key>.png", "background": "<key>.png"}]}
`placement` ({"region", "side", "tool"}: skill.core.placements.Placement.key, or null) is what
the track's pictures show; `art` and `background` name them (<key>.png under images/).
`plan` says which timeline track the file was planned from (the preview trusts a manifest
only when it matches); `settle` is the quiet after the instruction's last word, if the step
asks for one; `wordless` lists the later spans of five seconds or more without words, each
"silent" or "tones".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from skill.config import Settings


class ManifestError(ValueError):
    """A manifest file exists but cannot be read."""


class Spoken(NamedTuple):
    """One transcript line: seconds from the track's start, and the words said."""

    t: float
    text: str


class ManifestTrack(NamedTuple):
    """One rendered track as the player needs it."""

    index: int
    kind: str
    side: str | None
    file: str
    duration_ms: int
    transcript: tuple[Spoken, ...]
    plan: str = ""
    settle: tuple[float, float] | None = None
    wordless: tuple[tuple[float, float, str], ...] = ()
    placement: dict[str, str | None] | None = None
    art: str = ""
    background: str = ""

    @property
    def images(self) -> tuple[str, ...]:
        """Return the file names of the track's pictures."""
        return tuple(name for name in (self.art, self.background) if name)

    @classmethod
    def from_meta(cls, index: int, kind: str, side: str | None, file: str,
                  meta: dict[str, Any]) -> ManifestTrack:
        """Build a track entry from its place in the routine and its JSON data."""
        settle = meta.get("settle")
        placement = meta.get("placement")
        return cls(
            index=index, kind=str(kind), side=side, file=file, duration_ms=int(meta["duration_ms"]),
            transcript=tuple(Spoken(float(s["t"]), str(s["text"])) for s in meta["transcript"]),
            plan=str(meta.get("plan", "")),
            settle=(float(settle[0]), float(settle[1])) if settle else None,
            wordless=tuple((float(a), float(b), str(what)) for a, b, what in meta.get("wordless", ())),
            placement=dict(placement) if placement else None,
            art=str(meta.get("art", "")), background=str(meta.get("background", "")),
        )


class Manifest(NamedTuple):
    """Every track of one routine, rendered with one voice by one renderer version."""

    routine_id: str
    voice: str
    renderer_version: str
    format: str
    tracks: tuple[ManifestTrack, ...]
    length: str = "full"  # which version of the routine (skill.core.routines.Length)

    @property
    def duration_ms(self) -> int:
        """Return the routine's total length in milliseconds."""
        return sum(t.duration_ms for t in self.tracks)

    @property
    def images(self) -> tuple[str, ...]:
        """Return the file name of every picture the tracks show, each once."""
        return tuple(dict.fromkeys(name for t in self.tracks for name in t.images))

    def to_json(self) -> dict[str, Any]:
        """Return the manifest as JSON data."""
        return {
            "routine_id": self.routine_id,
            "length": self.length,
            "voice": self.voice,
            "renderer_version": self.renderer_version,
            "format": self.format,
            "tracks": [
                {
                    "index": t.index, "kind": t.kind, "side": t.side, "file": t.file,
                    "duration_ms": t.duration_ms,
                    "transcript": [{"t": s.t, "text": s.text} for s in t.transcript],
                    "plan": t.plan, "settle": list(t.settle) if t.settle else None,
                    "wordless": [list(w) for w in t.wordless],
                    "placement": t.placement, "art": t.art, "background": t.background,
                }
                for t in self.tracks
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Build a manifest from JSON data written by to_json."""
        return cls(
            routine_id=data["routine_id"],
            voice=data["voice"],
            renderer_version=data["renderer_version"],
            format=data["format"],
            tracks=tuple(
                ManifestTrack.from_meta(t["index"], t["kind"], t["side"], t["file"], t)
                for t in data["tracks"]
            ),
            length=data.get("length", "full"),
        )


def manifest_path(key: str, settings: Settings) -> Path:
    """Return where the manifest of a routine version lives (`Routine.key`: id, or id.quick)."""
    return Path(settings.manifests_dir) / f"{key}.json"


def load_manifest(key: str, settings: Settings) -> Manifest | None:
    """Return a routine version's manifest (`Routine.key`), or None if it is not rendered yet."""
    path = manifest_path(key, settings)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return Manifest.from_json(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise ManifestError(
            f"The manifest {str(path)!r} cannot be read ({exc!r}); run `trigger-coach render` again."
        ) from exc
