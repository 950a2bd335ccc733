"""Voices behind one interface: Piper for real, Polly against a local stand-in server, eSpeak NG.

The Polly stand-in is a real HTTP server on 127.0.0.1 speaking Polly's REST protocol
(POST /v1/speech answered with an audio/pcm body); boto3 talks to it with dummy keys.
"""

from __future__ import annotations

import json
import math
import struct
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from skill.config import Settings
from skill.core.routines import routine_from_json
from skill.render import load_manifest, render_routine
from skill.render.audio import to_float
from skill.render.voices import EspeakVoice, PiperVoice, PollyVoice, VoiceError, make_voice


def loudness_db(x: np.ndarray) -> float:
    return 20 * math.log10(float(np.sqrt(np.mean(np.square(x)))) + 1e-12)


# --- Piper ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def piper() -> PiperVoice:
    return PiperVoice()


def test_piper_speaks_a_sentence_as_mono_non_silent_audio(piper):
    calls = piper.calls
    audio = piper.synthesize("Let your back settle onto the ball.")
    assert (audio.channels, audio.sample_width, audio.frame_rate) == (1, 2, 22050)
    assert 1.0 < audio.duration_seconds < 5.0
    assert loudness_db(to_float(audio)) > -30
    assert piper.calls == calls + 1


def test_piper_is_slightly_slower_than_the_models_natural_pace(piper):
    assert "length_scale=1.12" in piper.key and "en_US-joe-medium" in piper.key
    fast = PiperVoice(length_scale=1.0)
    # Piper randomises phoneme lengths on every call, so one sentence can come out either
    # way round; summed over several sentences the 12 % slower pace shows reliably.
    texts = [
        "Rest your weight on the ball and breathe out slowly.",
        "Lie on your back on the floor with your knees bent and your feet flat.",
        "Roll slowly from just below your knee down to just above your ankle.",
        "Take the ball away and lie flat for a moment.",
        "Finish with a few easy breaths, letting your shoulders grow heavy.",
    ]
    def total(voice: PiperVoice) -> float:
        return sum(voice.synthesize(t).duration_seconds for t in texts)

    assert total(piper) > total(fast)
    assert fast.key != piper.key


@pytest.mark.parametrize("text", ["🙂🙂", "   ", "", "✨ 👍"])
def test_a_text_with_nothing_to_say_is_refused_without_calling_the_engine(piper, text):
    calls = piper.calls
    with pytest.raises(VoiceError, match=r"cannot speak .*no letters or digits are left"):
        piper.synthesize(text)
    assert piper.calls == calls


def test_emoji_inside_a_sentence_are_dropped_not_read_aloud(piper):
    plain = piper.synthesize("Breathe out.").duration_seconds
    decorated = piper.synthesize("Breathe out. 🙂").duration_seconds
    assert abs(plain - decorated) < 0.4


# --- Polly stand-in ------------------------------------------------------------------------

class PollyStandIn(BaseHTTPRequestHandler):
    """Answer POST /v1/speech like Polly: 16 kHz 16-bit PCM, or a Polly-style error."""

    requests: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, "auth": self.headers.get("Authorization", ""), **body})
        if self.path != "/v1/speech":
            self.send_error(404)
            return
        if body.get("VoiceId") == "Nobody":
            payload = json.dumps({"message": "Voice Nobody does not exist."}).encode()
            self.send_response(400)
            self.send_header("x-amzn-ErrorType", "InvalidParameterValueException")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        rate = int(body["SampleRate"])
        n = int(rate * (0.4 + 0.03 * len(body["Text"])))
        wave = [int(8000 * math.sin(2 * math.pi * 200 * i / rate)) for i in range(n)]
        audio = struct.pack(f"<{n}h", *wave)
        self.send_response(200)
        self.send_header("Content-Type", "audio/pcm")
        self.send_header("x-amzn-RequestCharacters", str(len(body["Text"])))
        self.send_header("Content-Length", str(len(audio)))
        self.end_headers()
        self.wfile.write(audio)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def polly_endpoint(monkeypatch, tmp_path) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    PollyStandIn.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), PollyStandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_polly_asks_for_neural_16khz_pcm_with_escaped_ssml(polly_endpoint):
    voice = make_voice(Settings(voice="polly:Joanna", polly_endpoint=polly_endpoint))
    assert isinstance(voice, PollyVoice) and voice.key.startswith("polly:Joanna:")
    audio = voice.synthesize("Hips & shoulders <slowly>.")
    [sent] = PollyStandIn.requests
    assert sent["path"] == "/v1/speech" and "Credential=testing/" in sent["auth"]
    assert (sent["Engine"], sent["OutputFormat"], sent["SampleRate"], sent["TextType"], sent["VoiceId"]) == (
        "neural", "pcm", "16000", "ssml", "Joanna")
    assert sent["Text"] == "<speak>Hips &amp; shoulders &lt;slowly&gt;.</speak>"
    assert (audio.frame_rate, audio.channels) == (16000, 1)
    assert audio.frame_count() == int(16000 * (0.4 + 0.03 * len(sent["Text"])))


def test_a_polly_error_is_a_sentence_quoting_voice_and_text(polly_endpoint):
    voice = PollyVoice("Nobody", region="us-east-1", endpoint=polly_endpoint)
    with pytest.raises(VoiceError, match=r"Amazon Polly refused 'Hello\.' for voice 'Nobody'.*does not exist"):
        voice.synthesize("Hello.")


def test_a_routine_renders_with_polly_and_its_manifest_names_the_voice(polly_endpoint, tmp_path):
    settings = Settings(audio_dir=tmp_path, voice="polly:Matthew", polly_endpoint=polly_endpoint)
    routine = routine_from_json({
        "id": "polly-test", "title": "Polly test", "name": "polly test", "synonyms": ["a", "b"],
        "area": "neck", "equipment": ["tennis ball"], "minutes": 5, "intro": "x" * 20,
        "safety": {"spoken": "x" * 20, "notes": ["n"] * 5},
        "steps": [{"kind": "position", "say": "Sit tall."},
                  {"kind": "rest", "say": "Rest a moment.", "seconds": 5}],
    })
    manifest = render_routine(routine, settings)
    assert manifest.voice.startswith("polly:Matthew:")
    assert load_manifest("polly-test", settings) == manifest
    assert [t.kind for t in manifest.tracks] == ["position", "rest"]
    texts = {r["Text"] for r in PollyStandIn.requests}
    # the first track opens with the routine's intro (main's 133abd9)
    assert f"<speak>{'x' * 20} Sit tall.</speak>" in texts and "<speak>That's the whole routine.</speak>" in texts


def test_an_unreachable_polly_is_a_sentence(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    voice = PollyVoice("Joanna", region="us-east-1", endpoint="http://127.0.0.1:9")
    with pytest.raises(VoiceError, match=r"Amazon Polly could not be reached for voice 'Joanna'"):
        voice.synthesize("Hello.")


# --- eSpeak NG -----------------------------------------------------------------------------

def test_espeak_speaks_when_espeakng_loader_is_installed():
    pytest.importorskip("espeakng_loader")
    voice = make_voice(Settings(voice="espeak"))
    assert isinstance(voice, EspeakVoice)
    audio = voice.synthesize("Breathe in. And out.")
    assert audio.channels == 1 and audio.duration_seconds > 0.8
    assert loudness_db(to_float(audio)) > -35
