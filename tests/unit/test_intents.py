"""The intent declarations the interaction model and the handlers share."""

from __future__ import annotations

import re

from skill.alexa import intents
from skill.core import progress


def test_every_intent_is_declared_once_and_custom_ones_come_first():
    names = [i.name for i in intents.ALL]
    assert len(names) == len(set(names))
    assert all(i.custom for i in intents.CUSTOM) and not any(i.custom for i in intents.BUILT_IN)


def test_every_custom_intent_has_samples_and_built_ins_have_none():
    for intent in intents.CUSTOM:
        assert intent.samples, intent.name
    for intent in intents.BUILT_IN:
        assert not intent.samples and not intent.slots, intent.name


def test_a_sample_is_claimed_by_one_intent_only():
    seen: dict[str, str] = {}
    for intent in intents.CUSTOM:
        for sample in intent.samples:
            key = sample.lower()
            assert key not in seen, f"{sample!r} is a sample of {seen.get(key)} and {intent.name}"
            seen[key] = intent.name


def test_samples_use_exactly_their_intents_slots():
    for intent in intents.CUSTOM:
        declared = {s.name for s in intent.slots}
        used = {name for sample in intent.samples for name in re.findall(r"\{(\w+)\}", sample)}
        assert used == declared, intent.name


def test_no_sample_starts_with_a_word_alexa_takes_for_opening_the_skill():
    for intent in intents.CUSTOM:
        for sample in intent.samples:
            assert not re.match(r"(ask|open|launch|tell|talk to|start trigger)\b", sample, re.I), sample


def test_the_period_slot_offers_exactly_the_periods_a_summary_takes():
    assert set(intents.PERIOD_VALUES) == set(progress.PERIODS)


def test_safety_tips_are_reachable_in_the_words_people_use():
    samples = set(intents.SAFETY_TIPS.samples)
    assert {"safety tips", "is this safe", "how hard should I press"} <= samples
