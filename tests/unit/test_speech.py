"""What the coach says in conversation: the safety briefing, questions, hints and summaries."""

from __future__ import annotations

import html
import re
from xml.dom import minidom

import pytest
from hypothesis import given
from hypothesis import strategies as st

from skill.alexa.handlers.shared import FEATURED
from skill.core.claims import MEDICAL_CLAIMS, SAFETY_TOPICS
from skill.core.progress import Nudge, Summary
from skill.core.routines import load_library
from skill.text import en_US as speech

PACE = speech.ALEXA_SPEAKS_WORDS_PER_SECOND
LIBRARY = load_library()


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text) if s]


def questions() -> list[speech.Question]:
    """Return every question the coach can end a response with, for every routine."""
    found = [v for v in vars(speech).values() if isinstance(v, speech.Question)]
    for routine in LIBRARY.routines:
        found += [speech.resume_offer(routine.title), speech.again_offer(routine.title)]
        found += [speech.complaint_offer(routine.title), speech.complaint_next_offer(routine.title)]
    return found


# --- the safety briefing -------------------------------------------------------------------

@pytest.mark.parametrize("topic", SAFETY_TOPICS)
def test_the_briefing_covers_each_general_safety_topic(topic):
    assert SAFETY_TOPICS[topic].search(speech.SAFETY_BRIEFING), topic


def test_the_briefing_says_what_out_of_ten_means_and_where_to_aim():
    text = speech.SAFETY_BRIEFING.lower()
    assert "out of ten" in text and "zero is nothing" in text
    assert "worst you can imagine" in text and "five or six" in text
    assert "breathe" in text and "relax" in text


def test_the_briefing_names_who_should_ask_a_clinician_first():
    text = speech.SAFETY_BRIEFING.lower()
    for who in ("medical condition", "blood thinners", "pregnant", "clinician"):
        assert who in text, who


def test_the_briefing_says_it_is_wellness_guidance_not_medical_advice_and_claims_nothing():
    assert re.search(r"general wellness guidance, not medical advice\.$", speech.SAFETY_BRIEFING)
    assert not MEDICAL_CLAIMS.search(speech.SAFETY_BRIEFING)
    assert not MEDICAL_CLAIMS.search(speech.SAFETY_REMINDER)


def test_the_briefing_takes_twenty_to_thirty_seconds_at_alexas_pace():
    assert PACE == 2.5  # words per second; the range below is stated at this pace
    assert 20 <= speech.spoken_seconds(speech.SAFETY_BRIEFING, PACE) <= 30


def test_the_reminder_is_one_short_sentence_that_points_to_the_safety_tips():
    assert len(sentences(speech.SAFETY_REMINDER)) == 1
    assert speech.spoken_seconds(speech.SAFETY_REMINDER, PACE) < 10
    assert "out of ten" in speech.SAFETY_REMINDER and "safety tips" in speech.SAFETY_REMINDER


@pytest.mark.parametrize("routine", LIBRARY.routines, ids=lambda r: r.id)
def test_the_first_start_speech_of_every_routine_fits_in_one_alexa_response(routine):
    first = speech.routine_intro(routine.title, routine.minutes, list(routine.equipment),
                                 routine.safety.spoken, briefed=False)
    later = speech.routine_intro(routine.title, routine.minutes, list(routine.equipment),
                                 routine.safety.spoken, briefed=True)
    assert speech.SAFETY_BRIEFING in first and speech.SAFETY_REMINDER not in first
    assert speech.SAFETY_REMINDER in later and speech.SAFETY_BRIEFING not in later
    assert first.endswith(routine.safety.spoken) and later.endswith(routine.safety.spoken)
    # Amazon: outputSpeech under 8000 characters, at most 240 s of audio. We want far less:
    # people are lying on the floor waiting for the routine to begin.
    said = speech.ssml(first + " " + speech.STORAGE_DOWN)
    assert len(said) < 8000
    assert speech.spoken_seconds(first + " " + speech.STORAGE_DOWN, PACE) < 60


# --- questions and hints -------------------------------------------------------------------

def test_every_question_ends_with_a_question_and_its_reprompt_asks_the_same_thing():
    for q in questions():
        assert sentences(q.ask)[-1].endswith("?") or q.yes_no, q
        if q.yes_no:
            assert q.reprompt.startswith("Shall I ") and q.reprompt.endswith("Say yes or no."), q
            # The reprompt asks about the same thing: it names what the question names.
            asked = re.search(r"(?:your|you want me to) ([\w ]+?)(?: routine| where|\?)", q.ask)
            assert asked and asked.group(1) in q.reprompt, q
        else:
            first_question = next(s for s in sentences(q.ask) if s.endswith("?"))
            assert q.reprompt.startswith(first_question), q
            assert "yes or no" not in q.reprompt.lower(), q


def test_no_reprompt_after_a_yes_or_no_question_asks_which_area():
    for q in questions():
        if q.yes_no:
            assert "which" not in q.reprompt.lower() and "area" not in q.reprompt.lower(), q


CLOSING_TEXTS = {
    "NOTHING_PLAYING": speech.NOTHING_PLAYING,
    "LOOP_SHUFFLE": speech.LOOP_SHUFFLE,
    "RESUME_LATER": speech.RESUME_LATER,
    "PROGRESS_FIRST_TIME": speech.PROGRESS_FIRST_TIME,
    "GOODBYE": speech.GOODBYE,
    "NO_AUDIO_PLAYER": speech.NO_AUDIO_PLAYER,
    "AUDIO_NOT_READY": speech.AUDIO_NOT_READY,
    "FORGET_DONE": speech.FORGET_DONE,
    "FORGET_KEPT": speech.FORGET_KEPT,
    "ERROR": speech.ERROR,
    "STORAGE_DOWN": speech.STORAGE_DOWN,
    "PROGRESS_UNREADABLE": speech.PROGRESS_UNREADABLE,
    "SAFETY_BRIEFING": speech.SAFETY_BRIEFING,
}


@pytest.mark.parametrize("name", CLOSING_TEXTS)
def test_a_text_said_as_the_session_closes_names_the_invocation_in_any_say_hint(name):
    text = CLOSING_TEXTS[name]
    if re.search(r"\bsay\b", text, re.I):
        assert "say: Alexa, ask trigger coach to " in text, text


def test_help_is_short_sentences_with_at_most_three_examples():
    for text in (speech.HELP_START, speech.HELP_PLAYING):
        assert all(len(s.split()) <= 12 for s in sentences(text)), text
        assert len(re.findall(r"\bsay\b", text, re.I)) <= 3, text


def test_an_unknown_routine_is_named_after_for_with_no_article_and_no_promise():
    for heard in ("elbows", "my left knee", "an ankle"):
        said = speech.unknown_routine(heard, ["upper back", "feet"])
        assert f"I don't have a routine for {heard}." in said
        assert not re.search(rf"\ban? {re.escape(heard)}", said)
        assert "yet" not in said.split() and "upper back" in said and "feet" in said


@pytest.mark.parametrize("routine_id", FEATURED)
def test_each_featured_routine_exists(routine_id):
    assert LIBRARY.get(routine_id) is not None, (
        f"FEATURED names {routine_id!r}, which routines/ does not have; "
        f"pick from {', '.join(sorted(r.id for r in LIBRARY.routines))}.")


def test_the_featured_routines_are_four_different_ones():
    assert len(set(FEATURED)) == len(FEATURED) == 4


def test_ssml_appended_says_the_first_text_first_and_escapes_the_second():
    said = speech.ssml("Welcome back.")
    assert speech.ssml_appended(said, "Sorry & <so> on.") == "<speak>Welcome back. Sorry &amp; &lt;so&gt; on.</speak>"
    assert speech.ssml_appended(None, "Sorry.") == "<speak>Sorry.</speak>"
    assert speech.ssml_appended("<speak></speak>", "Sorry.") == "<speak>Sorry.</speak>"


# --- progress wording ----------------------------------------------------------------------

def summary(**changes) -> Summary:
    base = dict(
        period="this_week", tz_known=True, first_time=False, sessions=3, seconds=900,
        completed=3, stopped_early=0, abandoned=0, in_progress=0, areas=("calves",),
        days_active=3, streak_days=3, previous_sessions=1, previous_seconds=300,
    )
    assert set(base) | {"nudge", "unreadable", "felt", "days"} == set(Summary._fields)
    return Summary(**{**base, **changes})


def test_a_rest_nudge_as_long_as_the_streak_says_the_days_once():
    said = speech.progress_summary(summary(nudge=Nudge("rest", "calves", 3)))
    assert said.count("three days in a row") == 1, said
    assert "You've worked on your calves three days in a row." in said


def test_a_rest_nudge_inside_a_longer_streak_tells_both_in_one_sentence():
    said = speech.progress_summary(summary(streak_days=5, nudge=Nudge("rest", "calves", 3)))
    assert said.count("in a row") == 1, said
    assert "You've done a routine five days in a row, and worked on your calves on three days running." in said


@pytest.mark.parametrize("area", ["shoulder tops", "forearms", "thighs", "hip flexors", "shins",
                                  "sides"])
def test_a_rest_nudge_for_a_new_area_speaks_of_it_as_they(area):
    said = speech.progress_summary(summary(nudge=Nudge("rest", area, 3)))
    assert f"You've worked on your {area} three days in a row." in said
    assert "If they are sore or bruised" in said and "give them a rest" in said, said


def test_a_rest_nudge_for_one_area_speaks_of_it_as_it():
    said = speech.progress_summary(summary(nudge=Nudge("rest", "upper back", 3)))
    assert "If it is sore or bruised" in said and "give it a rest" in said, said


def test_a_streak_without_a_rest_nudge_is_still_said():
    said = speech.progress_summary(summary(streak_days=4, nudge=Nudge("revisit", "feet", 20)))
    assert "You've done a routine four days in a row." in said


def test_an_unknown_time_zone_is_explained_without_jargon():
    said = speech.progress_summary(summary(tz_known=False))
    assert speech.PROGRESS_TZ_UNKNOWN in said
    assert not re.search(r"UTC|GMT|zone offset", said)


# --- where "has heard the briefing" is kept -------------------------------------------------

def test_the_briefed_mark_survives_merges_and_checks_and_forgetting_moves_the_epoch_past_it():
    from skill.alexa.user import _BRIEFED
    from skill.core import progress

    briefed = {"v": 1, "epoch": 0, "runs": {}, "totals": {}, _BRIEFED: 0}
    progress.check_document(briefed)
    later_write = {"v": 1, "epoch": 0, "runs": {}, "totals": {}, "last_routine": "calves"}
    merged = progress.merge_documents(briefed, later_write)
    assert merged[_BRIEFED] == merged["epoch"] == 0, "a write that does not know the mark keeps it"
    forgotten = progress.merge_documents(merged, progress.forget(merged))
    assert forgotten["epoch"] == 1 and forgotten.get(_BRIEFED) != forgotten["epoch"], (
        "after 'forget my history' the mark belongs to an older epoch, so the briefing comes back")


# --- complaints and red flags ----------------------------------------------------------------

def test_red_flag_advice_is_plain_locale_neutral_and_starts_nothing():
    emergency = speech.red_flag("chest pain or pressure", emergency=True)
    prompt = speech.red_flag("numbness, tingling or weakness", emergency=False)
    assert emergency.startswith("Chest pain or pressure ") and "call emergency services now" in emergency
    assert "see a clinician" in prompt and "emergency" not in prompt
    for text in (emergency, prompt):
        assert text.endswith("I won't start a routine for this.")
        assert not re.search(r"\b(911|999|112|A&E|ER)\b", text) and not MEDICAL_CLAIMS.search(text)


def test_an_unknown_complaint_says_so_and_names_what_the_coach_knows():
    said = speech.unknown_complaint("wobbly elbows", ["my head aches", "sciatica"])
    assert said == "I don't know that one: wobbly elbows. You can tell me things like: my head aches or sciatica."
    assert speech.unknown_complaint(None, ["sciatica"]).startswith("I didn't catch what's bothering you.")


# What XML 1.0 allows (its Char production), written as the standard writes it.
XML_CHAR = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@given(st.text(alphabet=st.characters(blacklist_categories=())))
def test_ssml_escapes_as_html_escape_does_and_keeps_exactly_the_characters_xml_allows(text):
    kept = "".join(ch for ch in text if XML_CHAR.fullmatch(ch))
    said = speech.ssml(text)
    assert said == f"<speak>{html.escape(kept, quote=False)}</speak>"
    assert minidom.parseString(said).documentElement.tagName == "speak"  # well-formed, whatever was said


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x0c", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"])
def test_ssml_drops_each_character_xml_forbids(char):
    assert speech.ssml(f"a{char}b") == "<speak>ab</speak>"
