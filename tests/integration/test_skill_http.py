"""The whole dialogue through the real HTTP endpoint: waitress on loopback, real SQLite."""

from __future__ import annotations

import ast
import html
import re
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest
from ask_sdk_core.serialize import DefaultSerializer

from skill.alexa import handlers
from skill.alexa.handlers.replies import ask as ask_reply
from skill.core.routines import load_library
from skill.hosting.web import create_app
from skill.text import en_US as speech
from tests import alexa
from tests.alexa import ask, play_of, speech_of
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401 - fixture
from tests.server import ThreadServer

SERIALIZER = DefaultSerializer()


def no_speech(response: dict) -> None:
    body = response.get("response") or {}
    assert "outputSpeech" not in body and "card" not in body and "reprompt" not in body


def test_a_whole_dialogue_plays_pauses_resumes_moves_and_resumes_in_a_new_session(server):
    r = ask(server, alexa.launch())
    assert "Welcome" in speech_of(r) and not r["response"]["shouldEndSession"]

    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("upper back", "upper-back")}))
    play = play_of(r)
    assert play["playBehavior"] == "REPLACE_ALL" and r["response"]["shouldEndSession"] is True
    stream = play["audioItem"]["stream"]
    assert stream["url"].startswith("https://coach.example.test/audio/") and stream["url"].endswith(".mp3")
    assert stream["offsetInMilliseconds"] == 0
    assert play["audioItem"]["metadata"]["title"] == "Upper back"
    minutes = load_library().get("upper-back").minutes
    assert f"about {minutes} minutes" in speech_of(r) and "sharp pain" in speech_of(r)
    first = stream["token"]

    no_speech(ask(server, alexa.audio_event("PlaybackStarted", first)))
    r = ask(server, alexa.audio_event("PlaybackNearlyFinished", first, 14_000))
    no_speech(r)
    queued = play_of(r)
    assert queued["playBehavior"] == "ENQUEUE"
    assert queued["audioItem"]["stream"]["expectedPreviousToken"] == first
    second = queued["audioItem"]["stream"]["token"]
    assert second != first and second.split("|")[2] == "1"

    no_speech(ask(server, alexa.audio_event("PlaybackFinished", first, 16_000)))
    no_speech(ask(server, alexa.audio_event("PlaybackStarted", second)))

    # "Alexa, pause": the stream stops; PlaybackStopped brings the offset.
    r = ask(server, alexa.intent("AMAZON.PauseIntent", audio_player={
        "token": second, "offsetInMilliseconds": 9_000, "playerActivity": "PLAYING"}))
    assert [d["type"] for d in alexa.directives(r)] == ["AudioPlayer.Stop"]
    r = ask(server, alexa.audio_event("PlaybackStopped", second, 9_500))
    assert r["response"] == {} or not alexa.directives(r)

    # "Alexa, resume": the same token from the saved offset.
    play = play_of(ask(server, alexa.intent("AMAZON.ResumeIntent")))
    assert play["audioItem"]["stream"]["token"] == second
    assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 9_500

    tokens = {second}
    for name, index in (("AMAZON.NextIntent", 2), ("AMAZON.PreviousIntent", 1),
                        ("AMAZON.RepeatIntent", 1), ("AMAZON.StartOverIntent", 0)):
        play = play_of(ask(server, alexa.intent(name)))
        token = play["audioItem"]["stream"]["token"]
        assert token.split("|")[2] == str(index), name
        assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 0
        assert token not in tokens, f"{name} must use a fresh token"
        tokens.add(token)
    current = token

    # "Alexa, stop" during playback pauses; then the session is over.
    r = ask(server, alexa.intent("AMAZON.StopIntent", audio_player={
        "token": current, "offsetInMilliseconds": 4_200, "playerActivity": "PLAYING"}))
    assert [d["type"] for d in alexa.directives(r)] == ["AudioPlayer.Stop"]
    ask(server, alexa.audio_event("PlaybackStopped", current, 4_321))

    # A new session: "resume my routine" picks up where it stopped.
    r = ask(server, alexa.intent("ResumeRoutineIntent", new_session=True))
    play = play_of(r)
    assert play["audioItem"]["stream"]["token"] == current
    assert play["audioItem"]["stream"]["offsetInMilliseconds"] == 4_321
    assert "where you left off" in speech_of(r)


def test_finishing_every_track_completes_the_run_and_the_summary_counts_it(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    token = play_of(r)["audioItem"]["stream"]["token"]
    finished = 0
    while token:
        ask(server, alexa.audio_event("PlaybackStarted", token))
        r = ask(server, alexa.audio_event("PlaybackNearlyFinished", token))
        nxt = play_of(r)
        ask(server, alexa.audio_event("PlaybackFinished", token))
        finished += 1
        token = nxt["audioItem"]["stream"]["token"] if nxt else None
    assert finished == 15
    # A duplicated PlaybackFinished of the last track changes nothing.
    r = ask(server, alexa.intent("ProgressIntent", {"period": None}))
    text = speech_of(r)
    assert "one session" in text.lower() or "1 session" in text.lower(), text


def test_a_routine_we_do_not_have_gets_a_helpful_answer_not_a_play(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": "knees"}))
    assert play_of(r) is None
    assert "I don't have a routine for knees." in speech_of(r) and "upper back" in speech_of(r)
    assert "yet" not in speech_of(r)
    assert r["response"]["shouldEndSession"] is False
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": None}))
    assert "which" in speech_of(r).lower() and r["response"]["reprompt"]


def test_a_device_without_audio_player_gets_an_explanation(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                 supports_audio=False))
    assert play_of(r) is None and "can't play" in speech_of(r)


def test_loop_shuffle_help_and_fallback_are_answered_politely(server):
    for name in ("AMAZON.LoopOnIntent", "AMAZON.ShuffleOffIntent"):
        assert "aren't available" in speech_of(ask(server, alexa.intent(name)))
    assert "start my upper back routine" in speech_of(ask(server, alexa.intent("AMAZON.HelpIntent")))
    assert "didn't catch" in speech_of(ask(server, alexa.intent("AMAZON.FallbackIntent")))
    assert "didn't catch" in speech_of(ask(server, alexa.intent("NoSuchIntent")))


def test_commands_with_nothing_playing_say_so(server):
    for name in ("AMAZON.NextIntent", "AMAZON.PauseIntent", "AMAZON.ResumeIntent"):
        r = ask(server, alexa.intent(name))
        assert "no routine playing" in speech_of(r), name


def test_stale_and_foreign_tokens_change_nothing_and_get_an_empty_reply(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    token = play_of(r)["audioItem"]["stream"]["token"]
    for bad in ("calves|someone-else|3|9", "not-ours", ""):
        r = ask(server, alexa.audio_event("PlaybackNearlyFinished", bad))
        assert not alexa.directives(r)
    r = ask(server, alexa.audio_event("PlaybackNearlyFinished", token))
    assert play_of(r)["playBehavior"] == "ENQUEUE"


def test_device_buttons_mirror_the_intents_without_speech(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    first = play_of(r)["audioItem"]["stream"]["token"]
    r = ask(server, alexa.button("Next"))
    no_speech(r)
    assert play_of(r)["audioItem"]["stream"]["token"].split("|")[2] == "1"
    r = ask(server, alexa.button("Pause"))
    assert [d["type"] for d in alexa.directives(r)] == ["AudioPlayer.Stop"]
    r = ask(server, alexa.button("Play"))
    no_speech(r)
    assert play_of(r) is not None and first != play_of(r)["audioItem"]["stream"]["token"]


def test_system_exception_and_session_ended_get_empty_replies(server):
    r = ask(server, alexa.envelope({"type": "System.ExceptionEncountered",
                                    "error": {"type": "INVALID_RESPONSE", "message": "x"},
                                    "cause": {"requestId": "r"}}, session=False))
    assert not alexa.directives(r)
    r = ask(server, alexa.envelope({"type": "SessionEndedRequest", "reason": "USER_INITIATED"}))
    assert "outputSpeech" not in r["response"]


@pytest.mark.parametrize("body, content_type", [
    (b"not json", "application/json"),
    (b"", "application/json"),
    (b"[1, 2]", "application/json"),
    (b'{"version": "1.0"}', "application/json"),
    (b'{"request": {"type": "LaunchRequest"}}', "text/plain"),
    (b"\xff\xfe\x00", "application/json"),
])
def test_transport_garbage_gets_http_400(server, body, content_type):
    req = urllib.request.Request(server.url + "/", data=body, method="POST",
                                 headers={"Content-Type": content_type})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400


def test_another_skills_application_id_gets_http_400(server):
    status, body = alexa.post(server.url + "/", alexa.launch(skill_id="amzn1.ask.skill.someone-else"))
    assert status == 400 and "application id" in body["error"]


def test_audio_is_served_with_ranges_etag_and_long_caching(server, app_settings):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}))
    name = play_of(r)["audioItem"]["stream"]["url"].rsplit("/", 1)[1]
    req = urllib.request.Request(f"{server.url}/audio/{name}", headers={"Range": "bytes=0-99"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 206 and len(resp.read()) == 100
        assert resp.headers["Content-Type"] == "audio/mpeg"
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.headers["ETag"] and "immutable" in resp.headers["Cache-Control"]
        assert resp.headers["Content-Range"].startswith("bytes 0-99/")
    with urllib.request.urlopen(f"{server.url}/audio/{name}", timeout=10) as resp:
        head = resp.read()[:3]
        assert resp.status == 200 and (head == b"ID3" or head[:2] == b"\xff\xfb")


@pytest.mark.parametrize("path", [
    "/audio/../pyproject.toml", "/audio/%2e%2e%2fpyproject.toml", "/audio/0000000000000000.mp3",
    "/audio/manifests", "/audio/..%2F..%2Fetc%2Fpasswd",
])
def test_audio_paths_cannot_escape_the_folder_or_find_missing_tracks(server, path):
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(server.url + path, timeout=10)
    assert err.value.code == 404


def test_forget_my_history_asks_first_and_then_clears_every_run(server):
    user = "amzn1.ask.account.FORGETFUL"
    alexa.complete_run(server.url, "calves", user)
    r = ask(server, alexa.intent("ForgetHistoryIntent", user=user))
    assert "Do you want me to forget" in speech_of(r)
    pending = r["sessionAttributes"]
    r = ask(server, alexa.intent("AMAZON.NoIntent", user=user, session_attributes=pending))
    assert "kept your history" in speech_of(r)
    assert "one session" in speech_of(ask(server, alexa.intent("ProgressIntent", user=user)))
    r = ask(server, alexa.intent("ForgetHistoryIntent", user=user))
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    assert "forgotten your routine history" in speech_of(r)
    assert "haven't done a routine yet" in speech_of(ask(server, alexa.intent("ProgressIntent", user=user)))


def test_launch_offers_to_resume_a_paused_run_and_yes_resumes_it(server):
    user = "amzn1.ask.account.RETURNING"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    token = play_of(r)["audioItem"]["stream"]["token"]
    ask(server, alexa.audio_event("PlaybackStopped", token, 3_000, user=user))
    r = ask(server, alexa.launch(user=user))
    assert "pick up your calves routine where you left off" in speech_of(r)
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    stream = play_of(r)["audioItem"]["stream"]
    assert (stream["token"], stream["offsetInMilliseconds"]) == (token, 3_000)


def test_an_absurdly_long_slot_value_is_not_read_back(server):
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": "knee " * 5000}))
    assert "I didn't catch which routine" in speech_of(r) and len(speech_of(r)) < 400


@pytest.mark.parametrize("authorities", [[None], [{"status": None, "values": [None]}],
                                         [{"status": {"code": "ER_SUCCESS_MATCH"}, "values": [None]}]],
                         ids=["a null authority", "a null status and value", "a match with a null value"])
def test_null_entity_resolutions_are_read_as_no_match_and_the_heard_words_still_start_the_routine(
        server, authorities):
    body = alexa.intent("StartRoutineIntent", {"routine": "calves"}, user="amzn1.ask.account.NULL-RESOLUTION")
    body["request"]["intent"]["slots"]["routine"]["resolutions"] = {"resolutionsPerAuthority": authorities}
    r = ask(server, body)
    assert "went wrong" not in speech_of(r)
    assert play_of(r)["audioItem"]["stream"]["token"].startswith("calves|")


def test_resume_while_we_believe_it_plays_restarts_the_stream_where_alexa_says_it_was(server):
    user = "amzn1.ask.account.LOST-STOP"
    r = ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
    token = play_of(r)["audioItem"]["stream"]["token"]
    r = ask(server, alexa.intent("AMAZON.ResumeIntent", user=user, audio_player={
        "token": token, "offsetInMilliseconds": 2_500, "playerActivity": "STOPPED"}))
    stream = play_of(r)["audioItem"]["stream"]
    assert (stream["token"], stream["offsetInMilliseconds"]) == (token, 2_500)


# --- the safety briefing ---------------------------------------------------------------------

def said(response: dict) -> str:
    """Return the reply's speech as the plain text the coach meant to say."""
    return html.unescape(re.sub(r"<[^>]+>", "", speech_of(response)))


def reprompt_of(response: dict) -> str:
    return said({"response": {"outputSpeech": response["response"]["reprompt"]["outputSpeech"]}})


def start_calves(server, user: str, **kw) -> dict:
    return ask(server, alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user, **kw))


def test_a_new_users_first_start_has_the_full_briefing_and_the_next_start_only_the_reminder(server):
    user = "amzn1.ask.account.NEWCOMER"
    first = said(start_calves(server, user, new_session=True))
    assert speech.SAFETY_BRIEFING in first and speech.SAFETY_REMINDER not in first
    assert first.index("Here's your calves routine") < first.index(speech.SAFETY_BRIEFING)
    assert "swollen, warm or red" in first, "the routine's own safety line is kept"
    second = said(start_calves(server, user, new_session=True))
    assert speech.SAFETY_REMINDER in second and speech.SAFETY_BRIEFING not in second
    assert "swollen, warm or red" in second
    other = said(start_calves(server, "amzn1.ask.account.SOMEONE-ELSE", new_session=True))
    assert speech.SAFETY_BRIEFING in other, "hearing it is per person"


def test_a_start_by_yes_after_the_launch_offer_also_briefs_once(server):
    user = "amzn1.ask.account.SAYS-YES"
    alexa.complete_run(server.url, "calves", user)  # the first start briefs
    r = ask(server, alexa.launch(user=user))
    r = ask(server, alexa.intent("FeelingIntent", {"feeling": ("better", "better")}, user=user,
                                 session_attributes=r["sessionAttributes"]))  # the check-in comes first
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    assert play_of(r) is not None
    assert speech.SAFETY_REMINDER in said(r) and speech.SAFETY_BRIEFING not in said(r)


def test_forgetting_history_brings_the_full_briefing_back(server):
    user = "amzn1.ask.account.FRESH-START"
    alexa.complete_run(server.url, "calves", user)
    r = ask(server, alexa.intent("ForgetHistoryIntent", user=user))
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    assert "forgotten" in said(r)
    assert speech.SAFETY_BRIEFING in said(start_calves(server, user, new_session=True))
    assert speech.SAFETY_REMINDER in said(start_calves(server, user, new_session=True))


def test_safety_tips_in_a_fresh_session_give_the_briefing_then_ask_which_routine(server):
    user = "amzn1.ask.account.CAREFUL"
    r = ask(server, alexa.intent("SafetyTipsIntent", user=user, new_session=True))
    assert said(r).startswith(speech.SAFETY_BRIEFING)
    assert said(r).endswith(speech.WHICH_ROUTINE.ask) and r["response"]["shouldEndSession"] is False
    assert reprompt_of(r) == speech.WHICH_ROUTINE.reprompt
    assert play_of(r) is None
    start = said(start_calves(server, user))
    assert speech.SAFETY_REMINDER in start and speech.SAFETY_BRIEFING not in start, (
        "someone who asked for the safety tips has heard the briefing")


def test_safety_tips_after_a_pause_offer_to_carry_on_and_yes_resumes_where_it_stopped(server):
    user = "amzn1.ask.account.PAUSED-SAFE"
    token = play_of(start_calves(server, user))["audioItem"]["stream"]["token"]
    ask(server, alexa.audio_event("PlaybackStopped", token, 6_000, user=user))
    r = ask(server, alexa.intent("SafetyTipsIntent", user=user, new_session=True))
    offer = speech.resume_offer("Calves")
    assert said(r) == f"{speech.SAFETY_BRIEFING} {offer.ask}"
    assert reprompt_of(r) == offer.reprompt and r["sessionAttributes"] == {"pending": "resume"}
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    stream = play_of(r)["audioItem"]["stream"]
    assert (stream["token"], stream["offsetInMilliseconds"]) == (token, 6_000)


def test_safety_tips_after_a_finished_routine_offer_it_again(server):
    user = "amzn1.ask.account.FINISHED-SAFE"
    alexa.complete_run(server.url, "calves", user)
    r = ask(server, alexa.intent("SafetyTipsIntent", user=user, new_session=True))
    assert said(r).endswith(speech.again_offer("Calves").ask)
    r = ask(server, alexa.intent("AMAZON.YesIntent", user=user, session_attributes=r["sessionAttributes"]))
    assert play_of(r)["playBehavior"] == "REPLACE_ALL"


def test_safety_tips_during_playback_are_spoken_and_leave_the_stream_alone(server):
    user = "amzn1.ask.account.PLAYING-SAFE"
    token = play_of(start_calves(server, user))["audioItem"]["stream"]["token"]
    ask(server, alexa.audio_event("PlaybackStarted", token, user=user))
    r = ask(server, alexa.intent("SafetyTipsIntent", user=user, new_session=True, audio_player={
        "token": token, "offsetInMilliseconds": 5_000, "playerActivity": "PLAYING"}))
    assert said(r) == speech.SAFETY_BRIEFING
    assert not alexa.directives(r) and "reprompt" not in r["response"]
    assert r["response"]["shouldEndSession"] is True
    queued = play_of(ask(server, alexa.audio_event("PlaybackNearlyFinished", token, user=user)))
    assert queued["playBehavior"] == "ENQUEUE" and queued["audioItem"]["stream"]["expectedPreviousToken"] == token


# --- every question, every closing hint (every intent of every locale: test_locales_http) ------

def _questions() -> list[speech.Question]:
    found = [v for v in vars(speech).values() if isinstance(v, speech.Question)]
    for routine in load_library().routines:
        found += [speech.resume_offer(routine.title), speech.again_offer(routine.title),
                  speech.feeling_question(routine.area), speech.instead_offer(routine.title)]
        found += [speech.resting_offer(other.area, routine.title) for other in load_library().routines]
        found += [speech.complaint_offer(routine.title), speech.complaint_next_offer(routine.title)]
    return found


def _walk(server) -> list[tuple[str, dict]]:
    """Say everything that leads to a question or a closing reply; return (what, reply) pairs."""
    replies: list[tuple[str, dict]] = []

    def say(what: str, body: dict) -> dict:
        reply = ask(server, body)
        replies.append((what, reply))
        return reply

    new, paused, done = ("amzn1.ask.account.WALK-NEW", "amzn1.ask.account.WALK-PAUSED",
                         "amzn1.ask.account.WALK-DONE")
    say("launch, new user", alexa.launch(user=new))
    say("an unknown routine", alexa.intent("StartRoutineIntent", {"routine": "elbows"}, user=new))
    say("no routine heard", alexa.intent("StartRoutineIntent", {"routine": None}, user=new))
    say("yes to nothing", alexa.intent("AMAZON.YesIntent", user=new))
    say("no to nothing", alexa.intent("AMAZON.NoIntent", user=new))
    say("list", alexa.intent("ListRoutinesIntent", user=new))
    say("help, idle", alexa.intent("AMAZON.HelpIntent", user=new))
    say("fallback", alexa.intent("AMAZON.FallbackIntent", user=new))
    say("next, nothing playing", alexa.intent("AMAZON.NextIntent", user=new))
    say("resume, nothing playing", alexa.intent("AMAZON.ResumeIntent", user=new))
    say("stop, nothing playing", alexa.intent("AMAZON.StopIntent", user=new))
    say("loop", alexa.intent("AMAZON.LoopOnIntent", user=new))
    say("progress, first time", alexa.intent("ProgressIntent", user=new))
    say("safety tips, new user", alexa.intent("SafetyTipsIntent", user=new))
    r = say("forget", alexa.intent("ForgetHistoryIntent", user=new))
    say("no to forget", alexa.intent("AMAZON.NoIntent", user=new, session_attributes=r["sessionAttributes"]))
    say("no audio player", alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                        user=new, supports_audio=False))
    say("a touch on a screen naming no routine", alexa.user_event(["start", "elbows"], user=new))
    say("a touch outside a session naming no routine", alexa.user_event(["x"], user=new, session=False))

    token = play_of(say("start", alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")},
                                              user=paused)))["audioItem"]["stream"]["token"]
    ask(server, alexa.audio_event("PlaybackStopped", token, 3_000, user=paused))
    r = say("launch, paused", alexa.launch(user=paused))
    say("no to resume", alexa.intent("AMAZON.NoIntent", user=paused, session_attributes=r["sessionAttributes"]))
    say("help, paused", alexa.intent("AMAZON.HelpIntent", user=paused))
    say("safety tips, paused", alexa.intent("SafetyTipsIntent", user=paused))
    say("progress, paused", alexa.intent("ProgressIntent", user=paused))

    alexa.complete_run(server.url, "calves", done)
    checkin = say("launch, finished: the check-in", alexa.launch(user=done))["sessionAttributes"]
    say("yes to the check-in", alexa.intent("AMAZON.YesIntent", user=done, session_attributes=checkin))
    say("a feeling not heard", alexa.intent("FeelingIntent", {"feeling": "meh"}, user=done,
                                            session_attributes=checkin))
    say("a feeling, nothing asked", alexa.intent("FeelingIntent", {"feeling": ("better", "better")}, user=done))
    say("free words, nothing asked", alexa.intent("FeelingIntent", {"feeling": "meh"}, user=done))
    say("sore", alexa.intent("FeelingIntent", {"feeling": ("sore", "sore")}, user=done, session_attributes=checkin))
    say("launch, resting", alexa.launch(user=done))
    better = "amzn1.ask.account.WALK-BETTER"
    alexa.complete_run(server.url, "calves", better)
    checkin = ask(server, alexa.launch(user=better))["sessionAttributes"]
    say("better", alexa.intent("FeelingIntent", {"feeling": ("better", "better")}, user=better,
                               session_attributes=checkin))
    say("safety tips, finished", alexa.intent("SafetyTipsIntent", user=done))
    say("resume, finished", alexa.intent("ResumeRoutineIntent", user=done))
    say("progress, finished", alexa.intent("ProgressIntent", user=done))
    r = say("forget, finished", alexa.intent("ForgetHistoryIntent", user=done))
    say("yes to forget", alexa.intent("AMAZON.YesIntent", user=done, session_attributes=r["sessionAttributes"]))

    # Complaints (issue 12): offers in turn, the end of the offers, stale answers, unknowns, red flags.
    r = say("a complaint", alexa.intent("ComplaintIntent", {"complaint": ("headache", "headache")}, user=new))
    for turn in ("second", "third", "none left"):
        r = say(f"no to a complaint offer, {turn}",
                alexa.intent("AMAZON.NoIntent", user=new, session_attributes=r.get("sessionAttributes")))
    for pending in ("complaint:nope:0", "complaint:headache:9"):
        say(f"yes to a stale complaint offer {pending}",
            alexa.intent("AMAZON.YesIntent", user=new, session_attributes={"pending": pending}))
    say("an unknown complaint", alexa.intent("ComplaintIntent", {"complaint": "wobbly elbows"}, user=new))
    say("a routine synonym as a complaint", alexa.intent("ComplaintIntent", {"complaint": "a stiff neck"}, user=new))
    say("a red flag", alexa.intent("ComplaintIntent", {"complaint": ("chest pain", "chest-pain")}, user=new))
    return replies


# The modules that were handlers.py (reminder_dialogue never was; test_reminders_http.py tests its questions).
ASKING_MODULES = ("shared", "conversation", "progress_report", "complaint_dialogue", "task_launch", "screen_touch",
                  "playback", "audio_events", "system")


def _ask_call_sites() -> list[tuple[str, ast.Call]]:
    """Return every call of replies.ask() in those handler modules, with its file."""
    sites = []
    for name in ASKING_MODULES:
        path = Path(handlers.__file__).with_name(f"{name}.py")
        sites += [(str(path), node) for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                  if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ask"]
    return sites


def test_every_question_ends_its_reply_and_its_reprompt_asks_the_same_question(server):
    called: set[tuple[str, int]] = set()
    ask_code = ask_reply.__code__

    def watch(frame, event, arg):  # a profiler that only looks: which line called ask()
        if event == "call" and frame.f_code is ask_code:
            called.add((frame.f_back.f_code.co_filename, frame.f_back.f_lineno))

    threading.setprofile(watch)  # the server answers each request in a new thread
    try:
        replies = _walk(server)
    finally:
        threading.setprofile(None)
    questions = _questions()
    asked = 0
    for what, reply in replies:
        if "reprompt" not in reply["response"]:
            continue
        asked += 1
        text, reprompt = said(reply), reprompt_of(reply)
        match = [q for q in questions if text.endswith(q.ask) and reprompt == q.reprompt]
        assert match, f"{what}: the reprompt {reprompt!r} does not ask again what {text!r} asked"
        pending = "pending" in (reply.get("sessionAttributes") or {})
        assert match[0].yes_no == pending, f"{what}: a yes/no question must say what yes means"
    assert asked >= 15
    sites = _ask_call_sites()
    assert len(sites) >= 25
    missed = [f"{Path(file).name}:{node.lineno}" for file, node in sites
              if not any(file == at and node.lineno <= line <= node.end_lineno for at, line in called)]
    assert not missed, f"no request in the walk reached the ask() calls at {missed}"


def test_every_reply_that_closes_the_session_names_the_invocation_in_its_say_hints(server):
    closing = [(what, said(r)) for what, r in _walk(server)
               if r["response"].get("shouldEndSession") and said(r)]
    assert len(closing) >= 8
    for what, text in closing:
        if re.search(r"\bsay\b", text, re.I):
            assert "say: Alexa, ask trigger coach to " in text, f"{what}: {text}"


def test_the_first_launch_names_the_featured_routines_in_order(server):
    text = said(ask(server, alexa.launch(user="amzn1.ask.account.FIRST-LAUNCH")))
    assert "I have routines for upper back, neck and skull, lower back and feet." in text
    assert text.startswith(speech.WELCOME_NEW)


@pytest.mark.parametrize("heard, spoken", [
    ("elbows", "elbows"),
    ("my  left\tknee", "my left knee"),
    ("<b>wrists</b> & {hands}", "b wrists b hands"),
])
def test_an_unknown_routine_is_read_back_plainly_with_what_we_can_do(server, heard, spoken):
    text = said(ask(server, alexa.intent("StartRoutineIntent", {"routine": heard})))
    assert f"I don't have a routine for {spoken}." in text
    assert "yet" not in text.split() and f" a {spoken}" not in text
    assert "upper back, neck and skull, lower back, feet and more" in text
    assert text.endswith(speech.WHICH_ROUTINE.ask)


def test_the_briefing_is_remembered_in_dynamodb_too(app_settings, dynalite_endpoint):  # noqa: F811
    settings = app_settings.with_(storage="dynamodb", dynamodb_endpoint=dynalite_endpoint,
                                  dynamodb_table=f"coach-{uuid.uuid4().hex[:8]}")
    user = "amzn1.ask.account.DYNAMO-BRIEFED"
    with ThreadServer(create_app(settings)) as dynamo:
        assert speech.SAFETY_BRIEFING in said(start_calves(dynamo, user, new_session=True))
        assert speech.SAFETY_REMINDER in said(start_calves(dynamo, user, new_session=True))
