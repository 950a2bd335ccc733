"""Every locale's interaction model and store listing: generated, committed, and consistent."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from skill import text
from skill.alexa import intents
from skill.alexa.model import (
    MODEL_DIR,
    SKILL_JSON,
    build_model,
    check_model,
    model_path,
    write_model,
)
from skill.core.complaints import phrase_key
from skill.core.routines import load_library

LIBRARY = load_library()
MODELS = {locale: build_model(LIBRARY, locale=locale)["interactionModel"]["languageModel"]
          for locale in text.LOCALES}


def _said(model: dict, slot_type: str) -> dict[str, list[str]]:
    """Return {value id: every phrase people may say for it} for one slot type of a model."""
    values = next(t for t in model["types"] if t["name"] == slot_type)["values"]
    return {v["id"]: [v["name"]["value"], *v["name"]["synonyms"]] for v in values}


# What Alexa's built-in slot types take, roughly: enough to tell a time or a day from other words.
BUILT_IN_SLOTS = {
    "AMAZON.TIME": r"\d{1,2}(?::\d{2})?(?: ?[ap]\.?m\.?)?|noon|midnight|in the (?:morning|afternoon|evening)|tonight",
    "AMAZON.DATE": r"today|tomorrow|(?:next )?(?:mon|tues|wednes|thurs|fri|satur|sun)day|\w+ \d{1,2}(?:st|nd|rd|th)?",
}


def _parses(model: dict, utterance: str) -> str | None:
    """Return the custom intent whose samples and slot values make exactly this utterance, or None."""
    slot_words = {t["name"]: [p for ps in _said(model, t["name"]).values() for p in ps] for t in model["types"]}
    for intent in model["intents"]:
        types = {s["name"]: s["type"] for s in intent.get("slots", [])}
        for sample in intent["samples"]:
            pattern = re.escape(sample.lower())
            for name, kind in types.items():
                words = BUILT_IN_SLOTS.get(kind) or "|".join(re.escape(w.lower()) for w in slot_words[kind])
                pattern = pattern.replace(re.escape("{" + name + "}"), f"(?:{words})")
            if re.fullmatch(pattern, utterance.lower()):
                return intent["name"]
    return None


def test_there_is_one_committed_model_per_locale_and_each_matches_what_is_generated():
    assert sorted(p.stem for p in MODEL_DIR.glob("*.json")) == sorted(text.LOCALES)
    assert check_model(LIBRARY) is None
    for locale in text.LOCALES:
        assert json.loads(model_path(locale).read_text(encoding="utf-8"))["interactionModel"]["languageModel"] \
            == MODELS[locale]


@pytest.mark.parametrize("locale", text.LOCALES)
def test_every_locale_declares_every_intent_of_the_one_intent_list(locale):
    assert [i["name"] for i in MODELS[locale]["intents"]] == [i.name for i in intents.ALL]
    assert MODELS[locale]["invocationName"] == "trigger coach"


def test_locales_add_the_words_people_there_use():
    gb, au, india, us = (MODELS[x] for x in ("en-GB", "en-AU", "en-IN", "en-US"))
    assert "knackered" in _said(gb, "FEELING")["sore"] and "knackered" in _said(au, "FEELING")["sore"]
    assert "knackered" not in _said(us, "FEELING")["sore"]
    assert "my bottom" in _said(gb, "ROUTINE")["glutes"] and "hammys" in _said(au, "ROUTINE")["hamstrings"]
    assert "waist" in _said(india, "ROUTINE")["lower-back"] and "waist" not in _said(us, "ROUTINE")["lower-back"]
    assert "waist pain" in _said(india, "COMPLAINT")["low-back-sitting"]
    assert _parses(india, "start lower back routine") == "StartRoutineIntent"
    assert _parses(us, "start lower back routine") is None


@pytest.mark.parametrize("locale", text.LOCALES)
def test_no_phrase_means_two_things_in_a_locale_s_model(locale):
    model = MODELS[locale]
    for slot_type in ("ROUTINE", "COMPLAINT", "FEELING", "PERIOD", "LENGTH", "RECURRENCE"):
        owners: dict[str, str] = {}
        for value_id, phrases in _said(model, slot_type).items():
            for phrase in phrases:
                key = phrase_key(phrase) or phrase.lower()
                assert owners.setdefault(key, value_id) == value_id, \
                    f"{locale} {slot_type}: {phrase!r} is said for both {owners[key]} and {value_id}"
    routine_keys = {phrase_key(p) for ps in _said(model, "ROUTINE").values() for p in ps}
    complaint_keys = {phrase_key(p) for ps in _said(model, "COMPLAINT").values() for p in ps}
    assert routine_keys.isdisjoint(complaint_keys), f"{locale}: {sorted(routine_keys & complaint_keys)}"
    seen: dict[str, str] = {}
    for intent in model["intents"]:
        slots = {s["name"] for s in intent.get("slots", [])}
        for sample in intent["samples"]:
            assert set(re.findall(r"\{(\w+)\}", sample)) <= slots, f"{locale} {intent['name']}: {sample!r}"
            assert not re.match(r"(ask|open|tell|launch)\b", sample, re.I), f"{locale}: {sample!r} would launch"
            assert seen.setdefault(sample.lower(), intent["name"]) == intent["name"], f"{locale}: {sample!r} twice"


@pytest.mark.parametrize("locale", text.LOCALES)
def test_every_store_example_parses_against_that_locale_s_model(locale):
    listing = json.loads(SKILL_JSON.read_text(encoding="utf-8"))["manifest"]["publishingInformation"]["locales"][locale]
    said = text.for_locale(locale)
    assert listing["name"] == said.STORE_NAME and listing["examplePhrases"] == list(said.STORE_EXAMPLES)
    assert 1 <= len(listing["examplePhrases"]) <= 3
    for example in listing["examplePhrases"]:
        opening = f"Alexa, ask {MODELS[locale]['invocationName']} "
        assert example.startswith(opening), f"{locale}: {example!r} does not open with {opening!r}"
        request = example.removeprefix(opening)
        request = request.removeprefix("to ") if _parses(MODELS[locale], request) is None else request
        assert _parses(MODELS[locale], request), f"{locale}: {example!r} matches no sample of its model"


def test_the_listing_offers_the_skill_in_every_locale_s_country():
    manifest = json.loads(SKILL_JSON.read_text(encoding="utf-8"))["manifest"]
    assert list(manifest["publishingInformation"]["locales"]) == list(text.LOCALES)
    assert manifest["publishingInformation"]["distributionCountries"] == ["AU", "CA", "GB", "IN", "US"]
    assert list(manifest["privacyAndCompliance"]["locales"]) == list(text.LOCALES)


def test_the_drift_check_names_a_locale_model_or_listing_that_no_longer_matches(tmp_path):
    folder, skill_json = tmp_path / "custom", tmp_path / "skill.json"
    shutil.copy(SKILL_JSON, skill_json)
    write_model(LIBRARY, folder=folder, skill_json=skill_json)
    assert check_model(LIBRARY, folder=folder, skill_json=skill_json) is None
    gb = model_path("en-GB", folder)
    gb.write_text(gb.read_text(encoding="utf-8").replace("knackered", "tired"), encoding="utf-8")
    data = json.loads(skill_json.read_text(encoding="utf-8"))
    data["manifest"]["publishingInformation"]["locales"]["en-IN"]["summary"] = "Cures back pain."
    skill_json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    drift = check_model(LIBRARY, folder=folder, skill_json=skill_json)
    assert str(gb) in drift and "en-US.json" not in drift and str(skill_json) in drift
    gb.unlink()
    assert f"{gb} is missing" in check_model(LIBRARY, folder=folder, skill_json=skill_json)


def test_a_locale_synonym_for_a_value_the_model_lacks_is_refused_with_the_name_to_fix(tmp_path):
    (tmp_path / "en_NZ.py").write_text('MODEL_SYNONYMS = {"ROUTINE": {"elbows": ("funny bone",)}}\n',
                                       encoding="utf-8")
    texts = text.Texts([*text.__path__, tmp_path])
    original = text.for_locale
    try:
        text.for_locale = texts  # build_model reads text through skill.text.for_locale
        with pytest.raises(ValueError, match=r"ROUTINE value\(s\) \['elbows'\].*en_NZ\.py"):
            build_model(LIBRARY, locale="en-NZ")
    finally:
        text.for_locale = original
