"""Five English locales over the real HTTP endpoint: every intent of every model reaches a handler,
each locale hears its own words, and a locale we do not know gets en-US text, never a 500."""

from __future__ import annotations

import ast
import html
import importlib
import json
import pkgutil
import re
import threading
from pathlib import Path

import pytest
from ask_sdk_core.dispatch_components import AbstractRequestHandler

from skill import text
from skill.alexa import handlers, intents
from skill.alexa.handlers.deferred import Answer, Deferred
from skill.alexa.model import model_path
from skill.hosting.web import create_app
from skill.text import en_US
from tests import alexa
from tests.alexa import ask, speech_of
from tests.server import ThreadServer

HANDLER_MODULES = [importlib.import_module(f"{handlers.__name__}.{info.name}")
                   for info in pkgutil.iter_modules(handlers.__path__)]
HANDLERS = {cls.handle.__code__: cls.__name__ for module in HANDLER_MODULES
            for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, AbstractRequestHandler | Answer) and cls is not Deferred
            and "handle" in vars(cls)}


def said(reply: dict) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", speech_of(reply)))


def answered_by(server, body) -> tuple[list[str], dict]:
    """Send a request; return which request handlers' handle() ran for it, and the reply."""
    ran: list[str] = []

    def watch(frame, event, arg):  # a profiler that only looks
        if event == "call" and frame.f_code in HANDLERS:
            ran.append(HANDLERS[frame.f_code])

    threading.setprofile(watch)  # the server answers each request in a new thread
    try:
        reply = ask(server, body)
    finally:
        threading.setprofile(None)
    return ran, reply


def test_every_intent_in_every_locale_s_model_reaches_a_handler_other_than_the_fallback(server):
    for locale in text.LOCALES:
        model = json.loads(model_path(locale).read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
        for declared in model["intents"]:
            name = declared["name"]
            ran, reply = answered_by(server, alexa.intent(name, user=f"amzn1.ask.account.EVERY-{locale}",
                                                          locale=locale))
            assert ran, f"{locale} {name}: no request handler ran"
            if name != intents.FALLBACK.name:
                assert "FallbackHandler" not in ran, f"{locale} {name} fell through to the fallback"
            assert text.for_locale(locale).ERROR not in said(reply), f"{locale} {name} raised an error"


def _intents_handlers_name() -> set[str]:
    """Return the intent names the handler modules refer to (as skill.alexa.intents.X)."""
    names = set()
    for node in (n for m in HANDLER_MODULES for n in ast.walk(ast.parse(Path(m.__file__).read_text(encoding="utf-8")))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "intents":
            value = getattr(intents, node.attr)
            if isinstance(value, intents.Intent):
                names.add(value.name)
    return names


def test_every_intent_a_handler_answers_is_declared_once_and_exists_in_every_locale_s_model():
    used = _intents_handlers_name()
    assert {"StartRoutineIntent", "AMAZON.PauseIntent", "AMAZON.YesIntent", "FeelingIntent"} <= used
    for locale in text.LOCALES:
        model = json.loads(model_path(locale).read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
        missing = used - {i["name"] for i in model["intents"]}
        assert not missing, f"handlers answer {sorted(missing)}, which the {locale} model does not declare"
    for module in HANDLER_MODULES:
        source = Path(module.__file__).read_text(encoding="utf-8")
        spelled = re.findall(r"""["'](AMAZON\.\w+|\w+Intent)["']""", source)
        assert not spelled, f"{module.__name__} spells intent names {spelled}; use skill.alexa.intents"


RED_FLAG = {"complaint": ("chest pain", "chest-pain")}
ABOUT = "chest pain or pressure"  # the red flag's "about" in routines/complaints.json


@pytest.mark.parametrize("locale, words", [
    ("en-US", "Please call emergency services now"),
    ("en-GB", "Please call nine nine nine now"),
    ("en-CA", "Please call nine one one now"),
    ("en-AU", "Please call triple zero now"),
    ("en-IN", "Please call one one two now"),
])
def test_each_locale_hears_its_own_words(server, locale, words):
    reply = ask(server, alexa.intent("ComplaintIntent", RED_FLAG, locale=locale))
    assert words in said(reply)
    assert said(reply) == text.for_locale(locale).red_flag(ABOUT, emergency=True)


@pytest.mark.parametrize("locale", [None, "", "de-DE", "fr-CA", "en-ZA", "en", "klingon", "en-GB; DROP TABLE",
                                    "x" * 5000, "\u202eBG-ne", "\x00"])
def test_an_unsupported_missing_or_garbage_locale_is_answered_in_en_us(server, locale):
    reply = ask(server, alexa.intent("ComplaintIntent", RED_FLAG, locale=locale))
    assert said(reply) == en_US.red_flag(ABOUT, emergency=True)
    launch = ask(server, alexa.launch(user="amzn1.ask.account.NO-LOCALE", locale=locale))
    assert said(launch).startswith(en_US.WELCOME_NEW)


@pytest.mark.parametrize("locale", [42, ["en-GB"], {"code": "en-GB"}, True])
def test_a_locale_that_is_not_a_string_gets_a_clear_answer_never_a_500(server, locale):
    status, reply = alexa.post(server.url + "/", alexa.intent("ComplaintIntent", RED_FLAG, locale=locale))
    assert status in (200, 400), reply
    if status == 200:
        assert said(reply) == en_US.red_flag(ABOUT, emergency=True)


# --- a voice per locale: each locale plays the tracks rendered with its voice ----------------

def _first_file(reply: dict) -> str:
    play = alexa.play_of(reply)
    assert play, reply
    return play["audioItem"]["stream"]["url"].rsplit("/", 1)[1]


def test_a_locale_with_its_own_voice_plays_that_voice_s_tracks_and_the_others_share_the_main_render(
        app_settings):
    from skill.core.routines import load_library
    from skill.render import load_manifest, render_library
    from skill.render.encode import SAMPLE_RATE, decode

    settings = app_settings.with_(locale_voices=(("en-GB", "espeak"),))
    gb = settings.speaking("en-GB")
    report = render_library([load_library().get("calves")], gb)  # espeak: fast, offline
    assert not report.failures, report.failures
    main, own = load_manifest("calves", settings), load_manifest("calves", gb)
    assert own.voice.startswith("espeak:en:") and main.voice.startswith("piper:")
    assert not {t.file for t in main.tracks} & {t.file for t in own.tracks}
    samples = decode(settings.tracks_dir / own.tracks[0].file)
    assert abs(len(samples) / SAMPLE_RATE * 1000 - own.tracks[0].duration_ms) < 200  # a real track of that voice

    with ThreadServer(create_app(settings)) as server:
        start = {"routine": ("calves", "calves")}
        for locale, manifest in (("en-GB", own), ("en-US", main), ("en-AU", main), ("en-IN", main),
                                 ("de-DE", main)):
            user = f"amzn1.ask.account.VOICE-{locale}"
            reply = ask(server, alexa.intent("StartRoutineIntent", start, user=user, locale=locale))
            assert _first_file(reply) == manifest.tracks[0].file, locale
            token = alexa.play_of(reply)["audioItem"]["stream"]["token"]
            ask(server, alexa.audio_event("PlaybackStarted", token, user=user, locale=locale))
            queued = ask(server, alexa.audio_event("PlaybackNearlyFinished", token, user=user, locale=locale))
            assert _first_file(queued) == manifest.tracks[1].file, f"{locale}: the next track is the same voice's"
