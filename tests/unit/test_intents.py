"""The intent declarations the interaction model and the handlers share, and every locale's words for them."""

from __future__ import annotations

import re

import pytest

from skill.alexa import intents
from skill.core import progress
from skill.core.routines import Length
from skill.text import LOCALES, added_words, for_locale
from skill.text import en_US as speech


def test_every_intent_is_declared_once_and_custom_ones_come_first():
    names = [i.name for i in intents.ALL]
    assert len(names) == len(set(names))
    assert all(i.custom for i in intents.CUSTOM) and not any(i.custom for i in intents.BUILT_IN)


@pytest.mark.parametrize("locale", LOCALES)
def test_every_custom_intent_has_samples_and_built_ins_have_none(locale):
    samples = for_locale(locale).INTENT_SAMPLES
    assert set(samples) == {i.name for i in intents.CUSTOM}
    assert all(samples[i.name] for i in intents.CUSTOM)
    assert not any(i.slots for i in intents.BUILT_IN)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_sample_is_claimed_by_one_intent_only(locale):
    seen: dict[str, str] = {}
    for name, samples in for_locale(locale).INTENT_SAMPLES.items():
        for sample in samples:
            key = sample.lower()
            assert key not in seen, f"{sample!r} is a sample of {seen.get(key)} and {name}"
            seen[key] = name


@pytest.mark.parametrize("locale", LOCALES)
def test_samples_use_exactly_their_intents_slots(locale):
    samples = for_locale(locale).INTENT_SAMPLES
    for intent in intents.CUSTOM:
        declared = {s.name for s in intent.slots}
        used = {name for sample in samples[intent.name] for name in re.findall(r"\{(\w+)\}", sample)}
        assert used == declared, intent.name


@pytest.mark.parametrize("locale", LOCALES)
def test_no_sample_starts_with_a_word_alexa_takes_for_opening_the_skill(locale):
    for samples in for_locale(locale).INTENT_SAMPLES.values():
        for sample in samples:
            assert not re.match(r"(ask|open|launch|tell|talk to|start trigger)\b", sample, re.I), sample


@pytest.mark.parametrize("locale", LOCALES)
def test_the_text_s_slot_types_are_the_intents_own_slot_types_and_their_ids_are_what_the_code_takes(locale):
    values = for_locale(locale).SLOT_VALUES
    own = {s.type for i in intents.CUSTOM for s in i.slots if not s.type.startswith("AMAZON.")}
    assert set(values) == own - {intents.ROUTINE.type, intents.COMPLAINT.type}  # those two come from routines/
    assert set(values[intents.PERIOD.type]) == set(progress.PERIODS)
    assert set(values[intents.LENGTH.type]) == {str(length) for length in Length}
    assert set(values[intents.FEELING.type]) == {*progress.FEELINGS, "skip"}


def test_a_locale_s_samples_and_synonyms_come_on_top_of_en_us_s_in_its_whole_lists():
    gb = for_locale("en-GB")
    start = intents.START_ROUTINE.name
    assert gb.INTENT_SAMPLES[start][:len(speech.INTENT_SAMPLES[start])] == speech.INTENT_SAMPLES[start]
    assert "have a go at my {routine}" in gb.INTENT_SAMPLES[start]
    assert "have a go at my {routine}" not in speech.INTENT_SAMPLES[start]
    assert "knackered" in gb.SLOT_VALUES[intents.FEELING.type]["sore"]
    assert "knackered" not in speech.SLOT_VALUES[intents.FEELING.type]["sore"]
    assert gb.INTENT_SAMPLES[intents.SAFETY_TIPS.name] == speech.INTENT_SAMPLES[intents.SAFETY_TIPS.name]


def test_added_words_keep_the_order_say_each_word_once_and_leave_out_ids_they_do_not_have():
    merged = added_words({"a": ("one", "two"), "b": ("three",)}, {"a": ("two", "four", "four"), "z": ("nine",)})
    assert merged == {"a": ("one", "two", "four"), "b": ("three",)}


def test_safety_tips_are_reachable_in_the_words_people_use():
    samples = set(speech.INTENT_SAMPLES[intents.SAFETY_TIPS.name])
    assert {"safety tips", "is this safe", "how hard should I press"} <= samples
