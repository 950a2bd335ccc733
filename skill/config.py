"""Read every setting from TRIGGER_COACH_* environment variables into one Settings object.

Nothing else in the code reads the environment. Tests build Settings directly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_SKILL_ID = "amzn1.ask.skill.00000000-0000-4000-8000-trigger0coach"

# name: (default, help) — the README's configuration table is checked against this.
DOCUMENTED = {
    "TRIGGER_COACH_SKILL_ID": (LOCAL_SKILL_ID, "Your skill's id; requests for any other id get HTTP 400. Required on AWS Lambda, where this default would refuse every request."),
    "TRIGGER_COACH_PUBLIC_URL": ("", "HTTPS base under which /audio/ is reachable by Alexa (your tunnel or CDN); empty = http://HOST:PORT, for local testing only. Required on AWS Lambda."),
    "TRIGGER_COACH_VERIFY": ("1", "Verify Alexa request signatures; set 0 only for local tests (a loud warning is logged)."),
    "TRIGGER_COACH_DATA_DIR": ("var", "Folder for the SQLite database."),
    "TRIGGER_COACH_AUDIO_DIR": ("audio", "Folder with rendered tracks (tracks/) and the synthesis cache (cache/)."),
    "TRIGGER_COACH_ROUTINES_DIR": ("routines", "Folder of routine JSON files."),
    "TRIGGER_COACH_VOICE": ("piper", "Voice for rendering: piper (offline, default), polly:NAME (Amazon Polly neural voice) or espeak."),
    "TRIGGER_COACH_LOCALE_VOICES": ("", "Voices for some locales, e.g. en-GB=polly:Amy,en-AU=polly:Olivia,en-IN=polly:Kajal; each renders its own tracks and manifests. Locales not named (and empty, the default) use TRIGGER_COACH_VOICE, so all five share one render."),
    "TRIGGER_COACH_STORAGE": ("sqlite", "Where progress lives: sqlite (embedded default) or dynamodb. On AWS Lambda the default is dynamodb and sqlite is refused (the bundle folder is read-only, /tmp is lost)."),
    "TRIGGER_COACH_DYNAMODB_TABLE": ("trigger-coach", "DynamoDB table name when storage is dynamodb."),
    "TRIGGER_COACH_DYNAMODB_LEGACY_TABLE": ("", "DynamoDB table of the old one-item-per-user layout (partition key id) whose users are moved into the new table on first touch; empty = none."),
    "TRIGGER_COACH_DYNAMODB_ENDPOINT": ("", "DynamoDB endpoint override (a local DynamoDB-compatible server, where the first request that finds the table missing creates it); empty = AWS."),
    "TRIGGER_COACH_AWS_REGION": ("us-east-1", "AWS region for DynamoDB and Polly; on AWS Lambda the default is the function's own region (AWS_REGION)."),
    "TRIGGER_COACH_POLLY_ENDPOINT": ("", "Polly endpoint override (tests point it at a local stand-in); empty = AWS."),
    "TRIGGER_COACH_HOST": ("127.0.0.1", "Address `trigger-coach serve` binds to (overridden by --host)."),
    "TRIGGER_COACH_PORT": ("8000", "Port `trigger-coach serve` binds to (overridden by --port)."),
    "TRIGGER_COACH_THREADS": ("8", "Worker threads of the WSGI server."),
    "TRIGGER_COACH_IDLE_TIMEOUT": ("5", "Seconds a connection may sit idle (or send nothing) before the web server drops it."),
    "TRIGGER_COACH_CONNECTION_LIMIT": ("1000", "Connections the web server keeps open at once, idle ones included; keep it well above the threads."),
    "TRIGGER_COACH_REQUEST_TIMEOUT": ("10", "Seconds a client may take to send one whole request, from its first byte to its last, before the web server drops the connection, so a client trickling one request cannot hold a connection longer."),
    "TRIGGER_COACH_API_TIMEOUT": ("1.5", "Seconds to wait for the Alexa Settings API (time zone) before falling back to UTC."),
    "TRIGGER_COACH_REMINDERS_TIMEOUT": ("2.5", "Seconds in all that one request's calls to the Alexa Reminders API may take (a cancel's list and deletes together) before the skill says it couldn't reach reminders; with the time zone lookup it keeps a response well inside Alexa's 8 s."),
}

# Set by the AWS Lambda runtime in every function's environment.
LAMBDA_MARKERS = ("AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigError(ValueError):
    """A TRIGGER_COACH_* variable has a value we cannot use."""


def _path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


class Settings(NamedTuple):
    skill_id: str = LOCAL_SKILL_ID
    public_url: str = ""  # empty: the server's own address, for local testing
    verify: bool = True
    data_dir: Path = PROJECT_ROOT / "var"
    audio_dir: Path = PROJECT_ROOT / "audio"
    routines_dir: Path = PROJECT_ROOT / "routines"
    voice: str = "piper"
    # (locale, voice) pairs from TRIGGER_COACH_LOCALE_VOICES; other locales speak with `voice`.
    locale_voices: tuple[tuple[str, str], ...] = ()
    # Which locale's voice these settings render and play (see `speaking`); its manifests
    # live apart from the main voice's, in manifests/<voice_folder>/.
    voice_locale: str = "en-US"
    voice_folder: str = ""
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
    reminders_timeout: float = 2.5
    idle_timeout: int = 5
    connection_limit: int = 1000
    request_timeout: int = 10

    @property
    def tracks_dir(self) -> Path:
        """Return the folder of rendered track files and manifests."""
        return self.audio_dir / "tracks"

    @property
    def images_dir(self) -> Path:
        """Return the folder of rendered placement pictures."""
        return self.audio_dir / "images"

    @property
    def cache_dir(self) -> Path:
        """Return the folder of cached synthesized sentences."""
        return self.audio_dir / "cache"

    @property
    def audio_base_url(self) -> str:
        """Return the public URL prefix of track files, ending in /audio/."""
        base = self.public_url or f"http://{self.host}:{self.port}"
        return base.rstrip("/") + "/audio/"

    @property
    def manifests_dir(self) -> Path:
        """Return the folder of this voice's routine manifests."""
        base = self.tracks_dir / "manifests"
        return base / self.voice_folder if self.voice_folder else base

    def voice_for(self, locale: str | None) -> str:
        """Return the voice a request in `locale` hears: its own if one is set, else the main voice."""
        wanted = (locale or "").strip().lower()
        return next((voice for loc, voice in self.locale_voices if loc.lower() == wanted), self.voice)

    def speaking(self, locale: str | None) -> Settings:
        """Return these settings as they render and play for `locale` (themselves for the main voice)."""
        voice = self.voice_for(locale)
        if voice == self.voice:
            return self
        locale = next(loc for loc, v in self.locale_voices if v == voice)  # the first locale with it
        return self._replace(voice=voice, voice_locale=locale, voice_folder=_folder(voice), locale_voices=())

    def voiced(self) -> tuple[Settings, ...]:
        """Return one Settings per distinct voice: the main voice first, then each locale's own."""
        found = [self]
        for locale, _ in self.locale_voices:
            voiced = self.speaking(locale)
            if all(voiced.voice != f.voice for f in found):
                found.append(voiced)
        return tuple(found)

    @property
    def image_base_url(self) -> str:
        """Return the public URL prefix of placement pictures, ending in /images/."""
        return self.audio_base_url.removesuffix("audio/") + "images/"

    def with_(self, **changes: object) -> Settings:
        """Return a copy with some settings changed."""
        return self._replace(**changes)  # type: ignore[arg-type]


def _folder(voice: str) -> str:
    """Return a folder name for a voice setting ("polly:Amy" -> "polly-Amy")."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", voice).strip("-.") or "voice"


_LOCALE_CODE = re.compile(r"^[a-z]{2}-[A-Z]{2}$")


def _locale_voices(name: str, value: str) -> tuple[tuple[str, str], ...]:
    """Parse "en-GB=polly:Amy,en-AU=polly:Olivia" into (locale, voice) pairs."""
    pairs: list[tuple[str, str]] = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        locale, sep, voice = (x.strip() for x in item.partition("="))
        if not sep or not _LOCALE_CODE.match(locale) or not voice:
            raise ConfigError(f"{name}: {item!r} is not LOCALE=VOICE; use e.g. en-GB=polly:Amy,en-IN=polly:Kajal.")
        if any(locale == known for known, _ in pairs):
            raise ConfigError(f"{name}: the locale {locale!r} is given twice in {value!r}; name each locale "
                              "once, e.g. en-GB=polly:Amy.")
        pairs.append((locale, voice))
    return tuple(pairs)


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


def on_lambda(environ: Mapping[str, str] | None = None) -> bool:
    """Return whether this process runs inside AWS Lambda (its runtime sets LAMBDA_MARKERS)."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in LAMBDA_MARKERS)


def _lambda_checked(storage: str, public_url: str, env: Mapping[str, str]) -> None:
    """Refuse settings that cannot work on Lambda, naming the setting to change."""
    if not env.get("TRIGGER_COACH_SKILL_ID", "").strip():
        raise ConfigError(
            "TRIGGER_COACH_SKILL_ID is not set, so on AWS Lambda every request would be refused as "
            "not for this skill. Set it to your skill's id from the Alexa developer console "
            "(amzn1.ask.skill.…), as template.yaml does from its SkillId parameter."
        )
    if storage == "sqlite":
        raise ConfigError(
            "TRIGGER_COACH_STORAGE='sqlite' cannot keep progress on AWS Lambda: the bundle folder is "
            "read-only and /tmp is lost with each instance. Set TRIGGER_COACH_STORAGE=dynamodb "
            "(or leave it unset: dynamodb is the default on Lambda)."
        )
    parts = urlsplit(public_url)
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in public_url):
        raise ConfigError(
            f"TRIGGER_COACH_PUBLIC_URL={public_url!r} will not play on AWS Lambda: Alexa streams audio "
            "only over HTTPS and the function serves no files. Set it to the HTTPS address of your "
            "CloudFront distribution (the stack output PublicUrl), e.g. https://d111111abcdef8.cloudfront.net."
        )


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from TRIGGER_COACH_* variables, with the documented defaults.

    Inside AWS Lambda storage defaults to dynamodb, and sqlite, a missing skill id or a
    missing or non-HTTPS TRIGGER_COACH_PUBLIC_URL are refused at cold start with a ConfigError
    naming the setting. Anywhere, so are an empty skill id or table and a DynamoDB endpoint
    that is no http(s) URL.
    """
    env = os.environ if environ is None else environ
    lambda_ = on_lambda(env)
    defaults = {name: default for name, (default, _) in DOCUMENTED.items()}
    if lambda_:
        defaults["TRIGGER_COACH_STORAGE"] = "dynamodb"
        defaults["TRIGGER_COACH_AWS_REGION"] = env.get("AWS_REGION") or defaults["TRIGGER_COACH_AWS_REGION"]

    def get(name: str) -> str:
        return env.get(name, defaults[name])

    storage = get("TRIGGER_COACH_STORAGE").strip().lower()
    if storage not in {"sqlite", "dynamodb"}:
        raise ConfigError(f"TRIGGER_COACH_STORAGE={storage!r} is not known; use sqlite or dynamodb.")
    if lambda_:
        _lambda_checked(storage, get("TRIGGER_COACH_PUBLIC_URL").strip(), env)
    _checked_names(get)
    return Settings(
        skill_id=get("TRIGGER_COACH_SKILL_ID"),
        public_url=get("TRIGGER_COACH_PUBLIC_URL"),
        verify=_flag("TRIGGER_COACH_VERIFY", get("TRIGGER_COACH_VERIFY")),
        data_dir=_path(get("TRIGGER_COACH_DATA_DIR")),
        audio_dir=_path(get("TRIGGER_COACH_AUDIO_DIR")),
        routines_dir=_path(get("TRIGGER_COACH_ROUTINES_DIR")),
        voice=get("TRIGGER_COACH_VOICE"),
        locale_voices=_locale_voices("TRIGGER_COACH_LOCALE_VOICES", get("TRIGGER_COACH_LOCALE_VOICES")),
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
        reminders_timeout=_seconds("TRIGGER_COACH_REMINDERS_TIMEOUT", get("TRIGGER_COACH_REMINDERS_TIMEOUT")),
        idle_timeout=_positive("TRIGGER_COACH_IDLE_TIMEOUT", get("TRIGGER_COACH_IDLE_TIMEOUT")),
        connection_limit=_positive("TRIGGER_COACH_CONNECTION_LIMIT", get("TRIGGER_COACH_CONNECTION_LIMIT")),
        request_timeout=_positive("TRIGGER_COACH_REQUEST_TIMEOUT", get("TRIGGER_COACH_REQUEST_TIMEOUT")),
    )


def _checked_names(get: Callable[[str], str]) -> None:
    """Refuse an empty skill id or DynamoDB table, or a DynamoDB endpoint that is no http(s) URL, naming it."""
    for name in ("TRIGGER_COACH_SKILL_ID", "TRIGGER_COACH_DYNAMODB_TABLE"):
        if not get(name).strip():
            raise ConfigError(f"{name} is empty; set it, or unset it for the default {DOCUMENTED[name][0]!r}.")
    endpoint = get("TRIGGER_COACH_DYNAMODB_ENDPOINT")
    parts = urlsplit(endpoint)
    if endpoint and (parts.scheme not in ("http", "https") or not parts.hostname):
        raise ConfigError(f"TRIGGER_COACH_DYNAMODB_ENDPOINT={endpoint!r} is not an http(s) URL; use e.g. "
                          "http://127.0.0.1:4567, or leave it empty for AWS's own endpoint.")


def _positive(name: str, value: str) -> int:
    number = int(_number(name, value, int))
    if number < 1:
        raise ConfigError(f"{name}={value!r} must be a whole number of at least 1; use e.g. {DOCUMENTED[name][0]}.")
    return number


def _seconds(name: str, value: str) -> float:
    number = float(_number(name, value, float))
    if not 0 < number <= 6:
        raise ConfigError(f"{name}={value!r} must be more than 0 and at most 6 seconds, so a response "
                          f"stays inside Alexa's 8 s; use e.g. {DOCUMENTED[name][0]}.")
    return number
