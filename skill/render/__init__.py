"""Render routines to MP3 tracks with manifests (a build step: needs pydub, numpy, a voice).

Public API, imported lazily (nothing here is needed at request time; manifests are read by
`skill.content.manifest`, which this re-exports for the build step's callers):
  render_routine(routine, settings, *, voice=None, progress=None) -> Manifest
  render_library(routines, settings, *, voice=None, progress=None) -> RenderReport
  render_preview(routine, settings, out_path, *, voice=None) -> list of {"t", "text", "track"}
  load_manifest(routine_id, settings) -> Manifest | None
  make_voice(settings) -> Voice
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skill.content.manifest import Manifest, load_manifest
    from skill.render.tracks import (
        RenderError,
        RenderReport,
        TrackFailure,
        render_library,
        render_preview,
        render_routine,
    )
    from skill.render.voices import Voice, VoiceError, make_voice

_EXPORTS = {
    "Manifest": "skill.content.manifest", "load_manifest": "skill.content.manifest",
    "RenderError": "tracks", "RenderReport": "tracks", "TrackFailure": "tracks",
    "render_library": "tracks", "render_preview": "tracks", "render_routine": "tracks",
    "Voice": "voices", "VoiceError": "voices", "make_voice": "voices",
}
__all__ = [
    "Manifest", "RenderError", "RenderReport", "TrackFailure", "Voice", "VoiceError",
    "load_manifest", "make_voice", "render_library", "render_preview", "render_routine",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'skill.render' has no attribute {name!r}")
    return getattr(import_module(module if "." in module else f"skill.render.{module}"), name)
