"""The text layer: one base text, locale modules holding only what differs, forgiving lookup."""

from __future__ import annotations

import importlib
import re
import types

import pytest

from skill import text
from skill.text import en_US


def test_the_five_english_locales_have_text_and_en_us_comes_first():
    assert text.LOCALES == ("en-US", "en-AU", "en-CA", "en-GB", "en-IN")
    for locale in text.LOCALES:
        assert locale == text.for_locale(locale).LOCALE


@pytest.mark.parametrize("locale", [None, "", "de-DE", "fr-FR", "en", "en-ZA", "garbage", "en-GB-x",
                                    "\x00\ud800", 42, ["en-GB"], {"locale": "en-GB"}, "  en-US "])
def test_a_missing_unsupported_or_garbage_locale_gets_the_en_us_text(locale):
    assert text.for_locale(locale) is en_US


def test_a_locale_is_matched_whatever_its_case_or_separator():
    assert text.for_locale("en-gb").LOCALE == "en-GB"
    assert text.for_locale("EN_in").LOCALE == "en-IN"


def test_a_sentence_built_by_a_function_says_the_locale_s_words():
    us, gb, india = (text.for_locale(x) for x in ("en-US", "en-GB", "en-IN"))
    assert "physical therapist" in us.feeling_noted("sore", "calves", see_clinician=True)
    assert "your GP or a physio" in gb.feeling_noted("sore", "calves", see_clinician=True)
    assert "physiotherapist" in india.feeling_noted("sore", "calves", see_clinician=True)
    assert gb.feeling_noted("better", "calves", see_clinician=False) == us.feeling_noted("better", "calves", False)


def test_every_name_a_locale_sets_exists_in_en_us_with_the_same_kind_of_value():
    for locale in text.LOCALES[1:]:
        own = importlib.import_module(f"skill.text.{locale.replace('-', '_')}")
        names = [n for n, v in vars(own).items()
                 if not n.startswith("__") and n != "annotations" and not isinstance(v, types.ModuleType)]
        assert names, f"{locale} overrides nothing"
        for name in names:
            assert hasattr(en_US, name), f"{own.__file__} sets {name!r}, which en_US does not have (a typo?)"
            assert type(getattr(own, name)) is type(getattr(en_US, name)), f"{locale} {name} changes its type"


def test_questions_are_one_class_in_every_locale():
    for locale in text.LOCALES:
        said = text.for_locale(locale)
        assert said.Question is en_US.Question
        assert isinstance(said.FORGET, text.Question) and isinstance(said.resume_offer("Calves"), text.Question)


def test_a_sixth_locale_is_one_new_file_and_its_words_reach_derived_sentences(tmp_path):
    (tmp_path / "en_NZ.py").write_text(
        '"""Say what differs in New Zealand English."""\n'
        "from __future__ import annotations\n"
        'OKAY = "Sweet as."\n'
        'INVOCATION = "Alexa, ask trigger coach please to"\n'
        "def welcome_list(names: list[str]) -> str:\n"
        '    return f"Kia ora. I have routines for {spoken_list(names)}."\n',
        encoding="utf-8")
    texts = text.Texts([*text.__path__, tmp_path])
    assert texts.locales == ("en-US", "en-AU", "en-CA", "en-GB", "en-IN", "en-NZ")
    nz = texts("en-NZ")
    assert nz.GOODBYE == "Sweet as. Take care of yourself."  # an f-string of OKAY, built at import
    assert nz.PROGRESS_FIRST_TIME.endswith("say: Alexa, ask trigger coach please to start my upper back routine.")
    assert nz.welcome_list(["calves", "feet"]) == "Kia ora. I have routines for calves and feet."
    assert texts("en-NZ") is nz and texts("en-US") is en_US
    assert en_US.GOODBYE == "Okay. Take care of yourself." and text.for_locale("en-NZ") is en_US


def test_a_folder_name_that_is_not_a_locale_is_not_a_locale():
    assert text.module_locale("en_GB.py") == "en-GB"
    for name in ("__init__.py", "en_gb.py", "english.py", "en_GB.txt", "en_GBR.py"):
        assert text.module_locale(name) is None


# --- a voice per locale (TRIGGER_COACH_LOCALE_VOICES) ---------------------------------------

def test_locale_voices_are_read_from_one_setting_and_other_locales_keep_the_main_voice():
    from skill.config import from_env

    settings = from_env({"TRIGGER_COACH_LOCALE_VOICES": " en-GB=polly:Amy, en-AU=polly:Olivia ,en-IN=polly:Kajal"})
    assert settings.locale_voices == (("en-GB", "polly:Amy"), ("en-AU", "polly:Olivia"), ("en-IN", "polly:Kajal"))
    assert settings.voice_for("en-GB") == "polly:Amy" and settings.voice_for("en-gb") == "polly:Amy"
    assert settings.voice_for("en-US") == settings.voice_for("en-CA") == settings.voice_for(None) == "piper"
    assert settings.speaking("en-CA") is settings and settings.speaking("de-DE") is settings
    gb = settings.speaking("en-GB")
    assert (gb.voice, gb.voice_locale, gb.voice_folder) == ("polly:Amy", "en-GB", "polly-Amy")
    assert gb.manifests_dir == settings.tracks_dir / "manifests" / "polly-Amy"
    assert settings.manifests_dir == settings.tracks_dir / "manifests"
    assert [s.voice for s in settings.voiced()] == ["piper", "polly:Amy", "polly:Olivia", "polly:Kajal"]


def test_by_default_all_five_locales_share_the_main_voice_and_its_one_render():
    from skill.config import from_env

    settings = from_env({})
    assert settings.locale_voices == () and settings.voiced() == (settings,)
    assert {settings.speaking(loc).manifests_dir for loc in text.LOCALES} == {settings.tracks_dir / "manifests"}


def test_two_locales_with_one_voice_render_it_once():
    from skill.config import from_env

    settings = from_env({"TRIGGER_COACH_LOCALE_VOICES": "en-GB=polly:Amy,en-IN=polly:Amy"})
    assert [s.voice for s in settings.voiced()] == ["piper", "polly:Amy"]
    assert settings.speaking("en-IN").manifests_dir == settings.speaking("en-GB").manifests_dir


@pytest.mark.parametrize("value, says", [
    ("en-GB", "'en-GB' is not LOCALE=VOICE"),
    ("english=polly:Amy", "'english=polly:Amy' is not LOCALE=VOICE"),
    ("en-GB=", "'en-GB=' is not LOCALE=VOICE"),
    ("en-GB=polly:Amy,en-GB=polly:Emma", "the locale 'en-GB' is given twice"),
])
def test_a_locale_voice_setting_that_cannot_be_read_is_refused_quoting_it(value, says):
    from skill.config import ConfigError, from_env

    with pytest.raises(ConfigError, match=re.escape(says)) as caught:
        from_env({"TRIGGER_COACH_LOCALE_VOICES": value})
    assert "TRIGGER_COACH_LOCALE_VOICES" in str(caught.value) and "en-GB=polly:Amy" in str(caught.value)


def test_the_offline_espeak_voice_reads_each_locale_with_its_own_espeak_language():
    from skill.config import Settings
    from skill.render.voices import make_voice

    settings = Settings(voice="piper", locale_voices=(("en-GB", "espeak"), ("en-IN", "espeak")))
    assert make_voice(settings.speaking("en-GB")).language == "en"  # eSpeak NG: British English
    assert make_voice(Settings(voice="espeak")).language == "en-us"


def test_a_locale_without_text_falls_back_to_its_language_before_en_us(tmp_path):
    (tmp_path / "fr_FR.py").write_text('OKAY = "D\'accord."\n', encoding="utf-8")
    texts = text.Texts([*text.__path__, tmp_path])
    assert texts.resolve("fr-BE") == "fr-FR" and texts("fr-CA").OKAY == "D'accord."
    assert texts.resolve("en-ZA") == "en-US" and texts.resolve("de-DE") == "en-US"
