"""Build Alexa request envelopes the way the Alexa service sends them, for tests and benches."""

from __future__ import annotations

import copy
import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

from skill.config import LOCAL_SKILL_ID


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What an Echo Show 8 declares: APL and its viewport (as in Alexa's request reference).
SCREEN_INTERFACES = {"Alexa.Presentation.APL": {"runtime": {"maxVersion": "2024.1"}}}
SCREEN_VIEWPORT = {
    "experiences": [{"arcMinuteWidth": 246, "arcMinuteHeight": 144, "canRotate": False, "canResize": False}],
    "mode": "HUB", "shape": "RECTANGLE", "pixelWidth": 1280, "pixelHeight": 800, "dpi": 160,
    "currentPixelWidth": 1280, "currentPixelHeight": 800, "touch": ["SINGLE"],
    "video": {"codecs": ["H_264_42", "H_264_41"]},
}


def envelope(
    request: dict[str, Any], *, user: str = "amzn1.ask.account.TEST-USER", device: str | None = "device-1",
    session: bool = True, new_session: bool = False, session_attributes: dict | None = None,
    audio_player: dict | None = None, skill_id: str = LOCAL_SKILL_ID,
    api_endpoint: str = "http://127.0.0.1:9", supports_audio: bool = True, locale: Any = "en-US",
    screen: bool = False, person: str | None = None,
) -> dict[str, Any]:
    """Return a full request envelope around one request body.

    `locale` None leaves the field out; `screen` makes it come from an Echo Show; `person`: the
    personId of a recognised speaker (context.System.person); `device` None leaves the device
    out, as skill events do.
    """
    interfaces: dict[str, Any] = {"AudioPlayer": {}} if supports_audio else {}
    if screen:
        interfaces.update(copy.deepcopy(SCREEN_INTERFACES))
    context: dict[str, Any] = {
        "System": {
            "application": {"applicationId": skill_id},
            "user": {"userId": user},
            "apiEndpoint": api_endpoint,
            "apiAccessToken": "test-access-token",
        }
    }
    if device is not None:
        context["System"]["device"] = {"deviceId": device, "supportedInterfaces": interfaces}
    if person is not None:
        context["System"]["person"] = {"personId": person}
    if audio_player is not None:
        context["AudioPlayer"] = audio_player
    if screen:
        context["Viewport"] = copy.deepcopy(SCREEN_VIEWPORT)
    body: dict[str, Any] = {
        "version": "1.0",
        "context": context,
        "request": {
            "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
            "timestamp": now_iso(),
            "locale": locale,
            **request,
        },
    }
    if locale is None:
        del body["request"]["locale"]
    if session:
        body["session"] = {
            "new": new_session,
            "sessionId": "amzn1.echo-api.session.test",
            "application": {"applicationId": skill_id},
            "user": {"userId": user},
            "attributes": session_attributes or {},
        }
    return body


def launch(**kw: Any) -> dict[str, Any]:
    return envelope({"type": "LaunchRequest"}, new_session=True, **kw)


def task_launch(inputs: Any, *, name: str = f"{LOCAL_SKILL_ID}.StartRoutine", version: str = "1",
                **kw: Any) -> dict[str, Any]:
    """Return the LaunchRequest an Alexa Routine sends for a custom task (`inputs`: its input)."""
    return envelope({"type": "LaunchRequest", "task": {"name": name, "version": version, "input": inputs}},
                    new_session=True, **kw)


def skill_event(kind: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """Return an AlexaSkillEvent.* request: out of session, with no device."""
    now = now_iso()
    request: dict[str, Any] = {"type": f"AlexaSkillEvent.{kind}", "eventCreationTime": now,
                               "eventPublishingTime": now}
    if body is not None:
        request["body"] = body
    return envelope(request, session=False, device=None, **kw)


def intent(name: str, slots: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
    """Return an IntentRequest; slots map name -> value or (value, resolved id)."""
    alexa_slots: dict[str, Any] = {}
    for slot, value in (slots or {}).items():
        entry: dict[str, Any] = {"name": slot, "confirmationStatus": "NONE"}
        resolved = None
        if isinstance(value, tuple):
            value, resolved = value
        if value is not None:
            entry["value"] = value
        if resolved is not None:
            entry["resolutions"] = {"resolutionsPerAuthority": [{
                "authority": f"amzn1.er-authority.echo-sdk.{LOCAL_SKILL_ID}.ROUTINE",
                "status": {"code": "ER_SUCCESS_MATCH"},
                "values": [{"value": {"name": value, "id": resolved}}],
            }]}
        elif value is not None:
            entry["resolutions"] = {"resolutionsPerAuthority": [{
                "authority": f"amzn1.er-authority.echo-sdk.{LOCAL_SKILL_ID}.ROUTINE",
                "status": {"code": "ER_SUCCESS_NO_MATCH"},
            }]}
        alexa_slots[slot] = entry
    return envelope(
        {"type": "IntentRequest", "dialogState": "COMPLETED",
         "intent": {"name": name, "confirmationStatus": "NONE", "slots": alexa_slots}},
        **kw,
    )


def audio_event(kind: str, token: str | None, offset_ms: int = 0, **kw: Any) -> dict[str, Any]:
    """Return an AudioPlayer.* event, which arrives without a session."""
    request: dict[str, Any] = {"type": f"AudioPlayer.{kind}", "offsetInMilliseconds": offset_ms}
    if token is not None:
        request["token"] = token
    if kind == "PlaybackFailed":
        request["error"] = {"type": "MEDIA_ERROR_UNKNOWN", "message": "test"}
    return envelope(request, session=False, **kw)


def user_event(arguments: Any, token: str = "trigger-coach-routines", **kw: Any) -> dict[str, Any]:
    """Return an Alexa.Presentation.APL.UserEvent (a touch on a screen), in a session by default."""
    request = {"type": "Alexa.Presentation.APL.UserEvent", "token": token, "arguments": arguments,
               "source": {"type": "TouchWrapper", "handler": "Press", "id": ""}}
    return envelope(request, screen=True, **kw)


def button(kind: str, **kw: Any) -> dict[str, Any]:
    """Return a PlaybackController.*CommandIssued event (a device button)."""
    return envelope({"type": f"PlaybackController.{kind}CommandIssued"}, session=False, **kw)


def post(url: str, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, Any]:
    """POST a body to the skill; return the HTTP status and the parsed JSON (or raw text)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def ask(server: Any, body: dict[str, Any]) -> dict[str, Any]:
    """Post a request to a running skill server; assert HTTP 200 and a reply the SDK reads as an Alexa response."""
    from ask_sdk_core.serialize import DefaultSerializer
    from ask_sdk_model import ResponseEnvelope

    status, response = post(server.url + "/", body)
    assert status == 200, response
    assert DefaultSerializer().deserialize(json.dumps(response), ResponseEnvelope).version == "1.0", response
    return response


def directives(response: dict[str, Any]) -> list[dict[str, Any]]:
    return (response.get("response") or {}).get("directives") or []


def play_of(response: dict[str, Any]) -> dict[str, Any] | None:
    """Return the AudioPlayer.Play directive of a response, if any."""
    return next((d for d in directives(response) if d["type"] == "AudioPlayer.Play"), None)


def speech_of(response: dict[str, Any]) -> str:
    speech = (response.get("response") or {}).get("outputSpeech") or {}
    return speech.get("ssml") or speech.get("text") or ""


def complete_run(url: str, routine: str, user: str, **kw: Any) -> int:
    """Start a routine and play every track to its end, as a speaker would; return tracks played."""
    status, reply = post(url, intent("StartRoutineIntent", {"routine": (routine, routine)}, user=user, **kw))
    assert status == 200, reply
    token = (play_of(reply) or {}).get("audioItem", {}).get("stream", {}).get("token")
    played = 0
    while token:
        for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished"):
            status, reply = post(url, audio_event(kind, token, user=user, **kw))
            assert status == 200, reply
            if kind == "PlaybackNearlyFinished":
                queued = play_of(reply)
        played += 1
        token = queued["audioItem"]["stream"]["token"] if queued else None
    return played


REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite"


def with_reminders_permission(body: dict[str, Any], granted: bool = True) -> dict[str, Any]:
    """Return the envelope with the reminders permission granted (consent token and scope) or not."""
    user = body["context"]["System"]["user"]
    if granted:
        user["permissions"] = {"consentToken": "test-consent-token",
                               "scopes": {REMINDERS_SCOPE: {"status": "GRANTED"}}}
    else:
        user.pop("permissions", None)
    return body


def connections_response(answer: str, *, code: str = "200", session_attributes: dict | None = None,
                         **kw: Any) -> dict[str, Any]:
    """Return the Connections.Response Alexa sends after an AskFor permission request."""
    request = {"type": "Connections.Response", "name": "AskFor", "token": "reminder",
               "status": {"code": code, "message": "OK" if code == "200" else "Failed"},
               "payload": {"permissionScope": REMINDERS_SCOPE, "status": answer}}
    return envelope(request, session_attributes=session_attributes, **kw)
