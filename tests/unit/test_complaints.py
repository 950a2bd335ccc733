"""The complaints file: what people say hurts reaches one routine, red flags stop, broken files say why."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skill.alexa import intents
from skill.alexa.model import build_model
from skill.cli import main
from skill.content.complaints import complaints_path, load_complaints
from skill.core.complaints import EMERGENCY, PROMPT, Complaint, RedFlag, offers, phrase_key
from skill.core.routines import ROUTINES_DIR, load_library
from skill.text import en_US as speech

LIBRARY = load_library()
SHIPPED = json.loads(complaints_path().read_text())

# Every example of issue 12, and the routine it should reach first. Where a routine already
# owns the exact words as a synonym ("stiff neck", "tension headache", "between my shoulder
# blades", "IT band"), the utterance starts that routine directly.
ISSUE_EXAMPLES = {
    "my head aches": "neck-and-skull",
    "tension headache": "neck-and-skull",
    "stiff neck": "neck-and-skull",
    "knot on top of my shoulder": "top-of-shoulder",
    "between my shoulder blades": "upper-back",
    "sciatica": "glutes",
    "pain down the back of my leg": "hamstrings",
    "low back after sitting": "lower-back",
    "tight hips": "outer-hip",
    "plantar fasciitis": "feet",
    "heel pain in the morning": "calves",
    "calf cramps": "calves",
    "sore feet": "feet",
    "forearms from typing": "forearms",
    "IT band": "outer-hip",
    "runner's knee": "front-of-thigh",
    "shin splints": "shins",
}


def book_of(data: dict, tmp_path: Path, routines=LIBRARY.routines):
    path = tmp_path / "complaints.json"
    path.write_text(json.dumps(data))
    return load_complaints(path, routines)


def rules(problems) -> set[str]:
    return {p.rule for p in problems}


def test_the_shipped_complaints_file_is_sound_and_has_at_least_twenty_five_complaints():
    book, problems = load_complaints(complaints_path(), LIBRARY.routines)
    assert [str(p) for p in problems] == []
    assert len(book.complaints) >= 25
    assert {f.urgency for f in book.red_flags} == {EMERGENCY, PROMPT}


@pytest.mark.parametrize(("said", "routine_id"), ISSUE_EXAMPLES.items())
def test_every_example_of_the_issue_reaches_its_routine(said, routine_id):
    book, _ = load_complaints(complaints_path(), LIBRARY.routines)
    found = book.match(said)
    if found is None:
        routine = LIBRARY.find(said)
        assert routine is not None, f"{said!r} matches no complaint and no routine"
        assert routine.id == routine_id
    else:
        assert isinstance(found, Complaint), f"{said!r} is read as red flag {found.id}"
        assert offers(found, [r.id for r in LIBRARY.routines])[0] == routine_id


@pytest.mark.parametrize(("said", "flag", "urgency"), [
    ("chest pain", "chest-pain", EMERGENCY),
    ("I have a tight chest", "chest-pain", EMERGENCY),
    ("the worst headache of my life", "worst-headache", EMERGENCY),
    ("a stiff neck with a fever", "fever-stiff-neck", EMERGENCY),
    ("my hand goes numb when I roll my forearm", "numbness-weakness", PROMPT),
    ("my knee hurts after a fall on the ice", "fall-injury", PROMPT),
    ("my calf is swollen and warm", "swollen-calf", PROMPT),
    ("fever with back pain", "fever-back", PROMPT),
])
def test_a_red_flag_anywhere_in_what_was_said_wins_over_any_complaint(said, flag, urgency):
    book, _ = load_complaints(complaints_path(), LIBRARY.routines)
    found = book.match(said, resolved_id="stiff-neck")  # even when Alexa resolved a complaint
    assert isinstance(found, RedFlag) and found.id == flag and found.urgency == urgency


def test_an_exact_phrase_beats_a_longer_one_inside_and_nothing_known_matches_nothing():
    book, _ = load_complaints(complaints_path(), LIBRARY.routines)
    assert book.match("my heel hurts").id == "heel-morning"
    assert book.match("I keep getting calf cramps at night after running").id == "calf-cramps"
    assert book.match("elbow wobbles") is None
    assert book.match("") is None and book.match(None) is None
    assert book.match("x", resolved_id="sciatica").id == "sciatica"


def test_phrases_fold_fillers_case_and_hyphens():
    assert phrase_key("My  Lower-Back pain") == "lower back pain"
    assert phrase_key("a really bad headache") == "headache"
    assert phrase_key("I can’t breathe") == phrase_key("i cant breathe") == "i cant breathe"


def test_offers_keep_the_files_order_and_skip_routines_the_library_lacks():
    complaint = Complaint("x", ("x",), "It may help.", ("calves", "nowhere", "feet"))
    assert offers(complaint, ["feet", "calves"]) == ("calves", "feet")


def test_a_target_routine_that_does_not_exist_is_reported(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["complaints"][0]["routines"].append("elbows")
    _, problems = book_of(data, tmp_path)
    assert [p.pointer for p in problems if p.rule == "routine-exists"] == [
        f"/complaints/0/routines/{len(data['complaints'][0]['routines']) - 1}"]
    assert "'elbows'" in str(problems[0])


def test_a_phrase_claimed_by_a_routine_or_by_another_complaint_is_reported(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["complaints"][0]["phrases"].append("the calves")  # the calves routine's name
    data["complaints"][1]["phrases"].append("a sciatica")  # another complaint's phrase
    data["red_flags"][0]["phrases"].append("my hamstrings")
    _, problems = book_of(data, tmp_path)
    claimed = [str(p) for p in problems if p.rule == "phrase-claimed-once"]
    assert len(claimed) == 3, claimed
    assert any("routine 'calves'" in c for c in claimed)
    assert any("complaint 'sciatica'" in c for c in claimed)
    assert any("routine 'hamstrings'" in c for c in claimed)


def test_a_complaint_phrase_holding_a_red_flag_phrase_is_reported(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["complaints"][0]["phrases"].append("headache and numbness")
    _, problems = book_of(data, tmp_path)
    assert rules(problems) == {"red-flag-wins"}


@pytest.mark.parametrize(("explanation", "rule"), [
    ("Rolling the calves often cures this.", "no-medical-claims"),
    ("This pain comes from the calves.", "hedged"),
    ("This often comes from the calves. Roll them.", "one-sentence"),
])
def test_explanations_are_one_hedged_sentence_without_medical_claims(tmp_path, explanation, rule):
    data = copy.deepcopy(SHIPPED)
    data["complaints"][0]["explanation"] = explanation
    _, problems = book_of(data, tmp_path)
    assert rules(problems) == {rule}


def test_what_a_red_flag_is_about_makes_no_medical_claim(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["red_flags"][0]["about"] = "a clot we can diagnose"
    _, problems = book_of(data, tmp_path)
    assert [(p.pointer, p.rule) for p in problems] == [("/red_flags/0/about", "no-medical-claims")]


def test_a_red_flag_cannot_name_a_routine_and_a_short_file_fails_its_schema(tmp_path):
    data = copy.deepcopy(SHIPPED)
    data["red_flags"][0]["routines"] = ["chest"]
    data["complaints"] = data["complaints"][:3]
    book, problems = book_of(data, tmp_path)
    assert {p.pointer for p in problems} == {"/red_flags/0", "/complaints"}
    assert rules(problems) == {"schema"} and book.complaints == ()


def test_a_missing_or_malformed_file_is_a_problem_not_an_exception(tmp_path):
    _, problems = load_complaints(tmp_path / "complaints.json", LIBRARY.routines)
    assert rules(problems) == {"exists"}
    (tmp_path / "complaints.json").write_text("{ nope")
    _, problems = load_complaints(tmp_path / "complaints.json", LIBRARY.routines)
    assert rules(problems) == {"json"} and "line 1, column 3" in str(problems[0])


def test_the_complaints_files_are_not_read_as_routines():
    assert not any(Path(r.source).name.startswith("complaints") for r in LIBRARY.routines)
    assert (ROUTINES_DIR / "complaints.schema.json").is_file()


# --- the interaction model and the closing-note list ------------------------------------------

def utterances(intent, slot_values):
    """Yield every utterance an intent's samples make with these slot values."""
    for sample in speech.INTENT_SAMPLES[intent.name]:
        for value in slot_values:
            yield re.sub(r"\{\w+\}", value, sample).lower()


def matcher(intent, slot_keys):
    """Return a test of whether an utterance fits one of the intent's samples with a known slot value."""
    patterns = [re.compile("^" + re.sub(r"\\\{\w+\\\}", "(.+)", re.escape(s.lower())) + "$")
                for s in speech.INTENT_SAMPLES[intent.name]]

    def fits(utterance: str) -> bool:
        return any((m := p.match(utterance)) and phrase_key(m.group(1)) in slot_keys for p in patterns)
    return fits


def test_no_complaint_utterance_starts_a_routine_and_no_routine_utterance_is_a_complaint():
    book, _ = load_complaints(complaints_path(), LIBRARY.routines)
    complaint_phrases = [p for e in (*book.complaints, *book.red_flags) for p in e.phrases]
    routine_phrases = [p for r in LIBRARY.routines for p in r.spoken_names]
    is_start = matcher(intents.START_ROUTINE, {phrase_key(p) for p in routine_phrases})
    is_complaint = matcher(intents.COMPLAINT_INTENT, {phrase_key(p) for p in complaint_phrases})
    assert [u for u in utterances(intents.COMPLAINT_INTENT, complaint_phrases) if is_start(u)] == []
    assert [u for u in utterances(intents.START_ROUTINE, routine_phrases) if is_complaint(u)] == []


def test_the_model_has_a_complaint_slot_value_for_every_complaint_and_red_flag():
    book, _ = load_complaints(complaints_path(), LIBRARY.routines)
    types = build_model(LIBRARY, book)["interactionModel"]["languageModel"]["types"]
    values = {v["id"]: v["name"] for v in next(t for t in types if t["name"] == intents.COMPLAINT.type)["values"]}
    for entry in (*book.complaints, *book.red_flags):
        assert [values[entry.id]["value"], *values[entry.id]["synonyms"]] == list(entry.phrases)
    assert len(values) == len(book.complaints) + len(book.red_flags)


def test_the_complaints_command_lists_every_phrase_with_its_routines(capsys):
    book, _ = load_complaints(complaints_path(), LIBRARY.routines)
    assert main(["complaints"]) == 0
    lines = capsys.readouterr().out.splitlines()
    phrases = [p for c in book.complaints for p in c.phrases]
    assert len(lines) == len(phrases) + len(book.red_flags)
    assert lines[0] == '- "my head aches": Neck and base of skull → Top of the shoulder → Upper back'
    assert any(line.startswith("- red flag (chest pain or pressure; call emergency services") for line in lines)


# --- anything can be heard ----------------------------------------------------------------------

BOOK, _ = load_complaints(complaints_path(), LIBRARY.routines)
RED_FLAG_PHRASES = [p for f in BOOK.red_flags for p in f.phrases]


@settings(max_examples=300, deadline=None)
@given(before=st.text(max_size=80), flag=st.sampled_from(RED_FLAG_PHRASES), after=st.text(max_size=80),
       resolved=st.one_of(st.none(), st.sampled_from([c.id for c in BOOK.complaints]), st.text(max_size=20)))
def test_a_red_flag_phrase_between_any_other_words_is_always_a_red_flag(before, flag, after, resolved):
    found = BOOK.match(f"{before} {flag} {after}", resolved)
    assert isinstance(found, RedFlag), (before, flag, after, found)


@settings(max_examples=300, deadline=None)
@given(heard=st.one_of(st.none(), st.text(max_size=400)), resolved=st.one_of(st.none(), st.text(max_size=40)))
def test_matching_any_text_returns_a_known_entry_or_nothing_and_never_raises(heard, resolved):
    found = BOOK.match(heard, resolved)
    assert found is None or found in (*BOOK.complaints, *BOOK.red_flags)


def test_help_names_a_complaint_the_file_really_has():
    from skill.text import en_US as speech

    example = re.search(r"like: (.+)\.$", speech.HELP_COMPLAINTS).group(1)
    assert isinstance(BOOK.match(example), Complaint) and speech.HELP_COMPLAINTS in speech.HELP_START
