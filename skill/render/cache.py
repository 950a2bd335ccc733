"""Keep every file the renderer writes, content-addressed and written atomically.

Layout under Settings:
  tracks_dir/<key>.mp3             a rendered track; <key> hashes everything that shapes it
  tracks_dir/meta/<key>.json       its measured length and transcript (so reuse needs no audio)
  tracks_dir/manifests/<id>.json   a routine's manifest
  images_dir/<key>.png             a placement picture; <key> hashes what it is drawn from
  cache_dir/speech/<key>.wav       one synthesized sentence; <key> hashes voice key + text

Every write goes to a temporary file in the target's own folder and is moved into place
with os.replace, so a crash or a full disk never leaves a half file under a real name.
A track counts as present only when both its MP3 and its meta file exist; the MP3 is
written first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import wave
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from skill.content.manifest import manifest_path
from skill.render.audio import AudioSegment, read_wav, wav_bytes

if TYPE_CHECKING:
    from skill.config import Settings
    from skill.render.voices import Voice

log = logging.getLogger("trigger_coach.render")

KEY_LENGTH = 20
Opener = Callable[[Path, str], IO[bytes]]


def digest(*parts: str) -> str:
    """Return the first KEY_LENGTH hex digits of sha256 over the parts."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()[:KEY_LENGTH]


def json_digest(data: Any) -> str:
    """Return the digest of data as canonical JSON."""
    return digest(json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


def _open(path: Path, mode: str) -> IO[bytes]:
    return open(path, mode)


class Store:
    """Read and atomically write tracks, their meta, manifests and cached sentences.

    `open_file` is the one seam for writes: tests pass an opener that hands back a file on
    a full device to check that a failing write leaves no trace.
    """

    def __init__(self, settings: Settings, *, open_file: Opener = _open) -> None:
        self.settings = settings
        self.tracks_dir = Path(settings.tracks_dir)
        self.cache_dir = Path(settings.cache_dir)
        self.images_dir = Path(settings.images_dir)
        self._open = open_file

    # --- paths --------------------------------------------------------------------------
    def track_path(self, key: str) -> Path:
        """Return where the track with this key lives."""
        return self.tracks_dir / f"{key}.mp3"

    def meta_path(self, key: str) -> Path:
        """Return where the track's meta (length, transcript) lives."""
        return self.tracks_dir / "meta" / f"{key}.json"

    def manifest_path(self, routine_id: str) -> Path:
        """Return where a routine's manifest lives."""
        return manifest_path(routine_id, self.settings)

    def image_path(self, name: str) -> Path:
        """Return where the picture with this file name lives."""
        return self.images_dir / name

    def sentence_path(self, voice_key: str, text: str) -> Path:
        """Return where a sentence spoken by a voice is cached."""
        return self.cache_dir / "speech" / f"{digest(voice_key, text)}.wav"

    # --- writing ------------------------------------------------------------------------
    def ensure_writable(self) -> None:
        """Create the folders and prove each can take a file; raise OSError if one cannot."""
        for folder in (self.tracks_dir, self.meta_path("x").parent, self.manifest_path("x").parent,
                       self.sentence_path("", "").parent, self.images_dir):
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".probe.{os.getpid()}.{secrets.token_hex(4)}"
            probe.write_bytes(b"")
            probe.unlink()

    def write(self, path: Path, data: bytes) -> None:
        """Write data to path atomically: a temporary file beside it, then os.replace."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        try:
            with self._open(tmp, "xb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def write_json(self, path: Path, data: Any) -> None:
        """Write data as indented UTF-8 JSON, atomically."""
        self.write(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))

    # --- tracks -------------------------------------------------------------------------
    def track_meta(self, key: str) -> dict[str, Any] | None:
        """Return a present track's meta, or None if the track must be rendered."""
        if not self.track_path(key).is_file():
            return None
        try:
            return json.loads(self.meta_path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    # --- sentences ----------------------------------------------------------------------
    def speech(self, voice: Voice, text: str) -> AudioSegment:
        """Return the voice's audio for text, from the cache or synthesized once and stored."""
        path = self.sentence_path(voice.key, text)
        try:
            return read_wav(path.read_bytes())
        except FileNotFoundError:
            pass
        except (OSError, EOFError, ValueError, wave.Error) as exc:  # a damaged file is re-synthesized
            log.warning("Re-synthesizing %r: cached file %s is unreadable (%s).", text, path, exc)
        audio = voice.synthesize(text)
        self.write(path, wav_bytes(audio))
        return audio
