"""Read every setting from TRIGGER_COACH_* environment variables into one Settings object.

Nothing else in the code reads the environment. Tests build Settings directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-trigger0coach"

# name: (default, help) — the README's configuration table is checked against this.
DOCUMENTED = {
    "TRIGGER_COACH_SKILL_ID": (LOCAL_SKILL_ID, "Your skill's id; requests for any other id get HTTP 400."),
    "TRIGGER_COACH_PUBLIC_URL": ("", "HTTPS base under which /audio/ is reachable by Alexa (your tunnel or CDN); empty = http://HOST:PORT, for local testing only."),
    "TRIGGER_COACH_VERIFY": ("1", "Verify Alexa request signatures; set 0 only for local tests (a loud warning is logged)."),
    "TRIGGER_COACH_DATA_DIR": ("var", "Folder for the SQLite database."),
    "TRIGGER_COACH_AUDIO_DIR": ("audio", "Folder with rendered tracks (tracks/) and the synthesis cache (cache/)."),
    "TRIGGER_COACH_ROUTINES_DIR": ("routines", "Folder of routine JSON files."),
    "TRIGGER_COACH_VOICE": ("piper", "Voice for rendering: piper (offline, default), polly:NAME (Amazon Polly neural voice) or espeak."),
    "TRIGGER_COACH_STORAGE": ("sqlite", "Where progress lives: sqlite (embedded default) or dynamodb."),
    "TRIGGER_COACH_DYNAMODB_TABLE": ("trigger-coach", "DynamoDB table name when storage is dynamodb."),
    "TRIGGER_COACH_DYNAMODB_LEGACY_TABLE": ("", "DynamoDB table of the old one-item-per-user layout (partition key id) whose users are moved into the new table on first touch; empty = none."),
    "TRIGGER_COACH_DYNAMODB_ENDPOINT": ("", "DynamoDB endpoint override (a local DynamoDB-compatible server); empty = AWS."),
    "TRIGGER_COACH_AWS_REGION": ("us-east-1", "AWS region for DynamoDB and Polly."),
    "TRIGGER_COACH_POLLY_ENDPOINT": ("", "Polly endpoint override (tests point it at a local stand-in); empty = AWS."),
    "TRIGGER_COACH_HOST": ("127.0.0.1", "Address `trigger-coach serve` binds to (overridden by --host)."),
    "TRIGGER_COACH_PORT": ("8000", "Port `trigger-coach serve` binds to (overridden by --port)."),
    "TRIGGER_COACH_THREADS": ("8", "Worker threads of the WSGI server."),
    "TRIGGER_COACH_API_TIMEOUT": ("1.5", "Seconds to wait for the Alexa Settings API (time zone) before falling back to UTC."),
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A TRIGGER_COACH_* variable has a value we cannot use."""


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


@dataclass(frozen=True)
class Settings:
    skill_id: str = LOCAL_SKILL_ID
    public_url: str = ""  # empty: the server's own address, for local testing
    verify: bool = True
    data_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "var")
    audio_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "audio")
    routines_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "routines")
    voice: str = "piper"
    storage: str = "sqlite"
    dynamodb_table: str = "trigger-coach"
    dynamodb_endpoint: str | None = None
    dynamodb_legacy_table: str | None = None
    aws_region: str = "us-east-1"
    polly_endpoint: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    threads: int = 8
    api_timeout: float = 1.5

    @property
    def tracks_dir(self) -> Path:
        """Return the folder of rendered track files and manifests."""
        return self.audio_dir / "tracks"

    @property
    def cache_dir(self) -> Path:
        """Return the folder of cached synthesized sentences."""
        return self.audio_dir / "cache"

    @property
    def audio_base_url(self) -> str:
        """Return the public URL prefix of track files, ending in /audio/."""
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/audio/"

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _flag(name: str, value: str) -> bool:
    if value.strip().lower() in _TRUE:
        return True
    if value.strip().lower() in _FALSE:
        return False
    raise ConfigError(f"{name}={value!r} is not a yes/no value; use 1 or 0.")


def _number(name: str, value: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a number; use e.g. {DOCUMENTED[name][0]}.") from None


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from TRIGGER_COACH_* variables, with the documented defaults."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str:
        return env.get(name, DOCUMENTED[name][0])

    storage = get("TRIGGER_COACH_STORAGE").strip().lower()
    if storage not in {"sqlite", "dynamodb"}:
        raise ConfigError(f"TRIGGER_COACH_STORAGE={storage!r} is not known; use sqlite or dynamodb.")
    return Settings(
        skill_id=get("TRIGGER_COACH_SKILL_ID"),
        public_url=get("TRIGGER_COACH_PUBLIC_URL"),
        verify=_flag("TRIGGER_COACH_VERIFY", get("TRIGGER_COACH_VERIFY")),
        data_dir=_path(get("TRIGGER_COACH_DATA_DIR")),
        audio_dir=_path(get("TRIGGER_COACH_AUDIO_DIR")),
        routines_dir=_path(get("TRIGGER_COACH_ROUTINES_DIR")),
        voice=get("TRIGGER_COACH_VOICE"),
        storage=storage,
        dynamodb_table=get("TRIGGER_COACH_DYNAMODB_TABLE"),
        dynamodb_endpoint=get("TRIGGER_COACH_DYNAMODB_ENDPOINT") or None,
        dynamodb_legacy_table=get("TRIGGER_COACH_DYNAMODB_LEGACY_TABLE") or None,
        aws_region=get("TRIGGER_COACH_AWS_REGION"),
        polly_endpoint=get("TRIGGER_COACH_POLLY_ENDPOINT") or None,
        host=get("TRIGGER_COACH_HOST"),
        port=int(_number("TRIGGER_COACH_PORT", get("TRIGGER_COACH_PORT"), int)),
        threads=int(_number("TRIGGER_COACH_THREADS", get("TRIGGER_COACH_THREADS"), int)),
        api_timeout=float(_number("TRIGGER_COACH_API_TIMEOUT", get("TRIGGER_COACH_API_TIMEOUT"), float)),
    )
