"""Read an Alexa request envelope once, check it once, and hand it to the skill: web and Lambda alike.

The one place an incoming envelope is parsed and checked before any handler runs:

- on the web, flask-ask-sdk's `SkillAdapter` passes the request body to the skill's serializer;
  `EnvelopeSerializer` (installed by `prepare`) parses that text once, checks it, and builds
  the SDK's `RequestEnvelope` from the parsed value, so the SDK never parses it again. The
  verifier (`skill.hosting.verify`) then gets that envelope, as the adapter's verifier
  interface provides;
- on Lambda, `invoke` checks the event (already parsed by Lambda) and builds the envelope from
  it, with no ``json.dumps`` and ``json.loads`` round trip.

An envelope Alexa could not have sent raises `BadEnvelope`, which names the failed check and
quotes the bad value. The web service answers it with HTTP 400 and one log line; on Lambda,
which has no HTTP status, `invoke` logs the same line and raises, so the invocation fails with
``errorType: BadEnvelope`` and the message: what the ASK SDK's own Lambda handler does with a
request it cannot dispatch, and what Alexa answers the user with its generic "problem with the
skill's response". The application id is checked here and nowhere else (the skill object is
built without the SDK's own skill-id check).
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

if TYPE_CHECKING:
    from ask_sdk_core.skill import CustomSkill

__all__ = ["MAX_DEPTH", "BadEnvelope", "EnvelopeSerializer", "check_envelope", "invoke", "prepare"]

log = logging.getLogger("trigger_coach.envelope")

# Alexa's envelopes nest about 7 deep (session attributes are ours and flat). Anything much
# deeper is garbage that would only make the SDK and the response encoder recurse.
MAX_DEPTH = 32
# Offsets are Java longs on Alexa's side: non-negative milliseconds.
MAX_OFFSET_MS = 2**63 - 1


class BadEnvelope(ValueError):
    """Report an envelope Alexa could not have sent; answer it with HTTP 400 (Lambda: an error).

    `check` names what failed: ``envelope`` (shape, JSON, types, offsets), ``application-id``
    (another skill's request). The message quotes the bad value, cut short, and is safe to log.
    """

    def __init__(self, message: str, check: str = "envelope") -> None:
        super().__init__(message)
        self.check = check


def parse(payload: str | bytes) -> Any:
    """Return the JSON value of a request body, or raise `BadEnvelope` saying why it is none."""
    try:
        return json.loads(payload)
    except UnicodeDecodeError:
        raise BadEnvelope("The body is not UTF-8 text, so it is not an Alexa request.") from None
    except ValueError as exc:
        raise BadEnvelope(f"The body is not JSON ({exc}).") from None
    except RecursionError:
        raise BadEnvelope("The body's JSON nests too deeply to be an Alexa request.") from None


def check_envelope(envelope: Any, skill_id: str) -> dict[str, Any]:
    """Return the envelope if it is one Alexa could send to this skill, or raise `BadEnvelope`.

    Checked: a JSON object no deeper than `MAX_DEPTH`, with a request that has a type, object
    ``context`` and ``session`` where present, ``context.System`` with this skill's application
    id and a userId, and whole non-negative ``offsetInMilliseconds`` wherever Alexa puts one.
    """
    if not isinstance(envelope, dict):
        raise BadEnvelope(f"The body is JSON but not an object: {_quote(envelope)}.")
    if _deeper_than(envelope, MAX_DEPTH):
        raise BadEnvelope(f"The envelope nests more than {MAX_DEPTH} levels deep; Alexa's nest about 7.")
    request = envelope.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        raise BadEnvelope("The envelope has no request with a type.")
    for name in ("context", "session"):
        if name in envelope and not isinstance(envelope[name], dict):
            raise BadEnvelope(f"The envelope's {name} is {_quote(envelope[name])}, not an object.")
    # Alexa puts context.System (application, user, device) on every request; the SDK and the
    # per-user storage both need it.
    context = envelope.get("context") or {}
    system = context.get("System")
    if not isinstance(system, dict):
        raise BadEnvelope("The envelope has no context.System object.")
    application = system.get("application")
    app_id = application.get("applicationId") if isinstance(application, dict) else None
    if app_id != skill_id:
        raise BadEnvelope(
            f"The request is for application id {_quote(app_id)}, not for this skill {_quote(skill_id)}; "
            "check the skill id this service is configured with.",
            check="application-id",
        )
    user = system.get("user")
    user_id = user.get("userId") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        raise BadEnvelope(f"The envelope's context.System.user has no userId (found {_quote(user_id)}).")
    if not _is_text(user_id):
        raise BadEnvelope(f"The userId {_quote(user_id)} is not valid Unicode text (a lone surrogate).")
    _check_offset(request, "request")
    _check_offset(request.get("currentPlaybackState"), "request.currentPlaybackState")
    player = context.get("AudioPlayer")
    if player is not None and not isinstance(player, dict):
        raise BadEnvelope(f"The envelope's context.AudioPlayer is {_quote(player)}, not an object.")
    _check_offset(player, "context.AudioPlayer")
    return envelope


def _check_offset(holder: Any, where: str) -> None:
    if not isinstance(holder, dict) or "offsetInMilliseconds" not in holder:
        return
    offset = holder["offsetInMilliseconds"]
    if type(offset) is not int or not 0 <= offset <= MAX_OFFSET_MS:
        raise BadEnvelope(
            f"The {where}.offsetInMilliseconds {_quote(offset)} is not a whole number of milliseconds "
            "from 0 up; Alexa sends one such as 12000."
        )


def _deeper_than(value: Any, limit: int) -> bool:
    """Return whether `value` nests objects and arrays more than `limit` levels deep."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _quote(value: object, limit: int = 80) -> str:
    """Return `repr(value)` cut to `limit` characters, so hostile input cannot flood a log."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


class EnvelopeSerializer(DefaultSerializer):
    """The SDK's serializer, reading request envelopes in one pass with `check_envelope`.

    flask-ask-sdk hands the request body to ``skill.serializer.deserialize``; for a
    `RequestEnvelope` this parses the text, checks it and builds the model from the parsed
    value. Everything else (responses, service-client payloads) is the SDK's default.
    """

    def __init__(self, skill_id: str) -> None:
        if not skill_id:
            raise ValueError(f"EnvelopeSerializer needs the skill id, e.g. 'amzn1.ask.skill.…'; got {skill_id!r}.")
        self.skill_id = skill_id

    def deserialize(self, payload: Any, obj_type: Any) -> Any:
        """Return the payload as `obj_type`; request envelopes are checked (`BadEnvelope`)."""
        if obj_type is not RequestEnvelope:
            return super().deserialize(payload, obj_type)
        return self.read(parse(payload))

    def read(self, envelope: Any) -> RequestEnvelope:
        """Check a parsed envelope and return it as the SDK's `RequestEnvelope`."""
        check_envelope(envelope, self.skill_id)
        try:
            return self._from_parsed(envelope, RequestEnvelope)
        except SerializationException as exc:
            raise BadEnvelope(f"The SDK cannot read the envelope: {_quote(str(exc), 160)}.") from None

    # `DefaultSerializer.deserialize` is `json.loads` followed by this private method, which
    # builds models from parsed JSON; calling it directly is what keeps the parse to one.
    # tests/unit/test_envelope.py fails first if an SDK release renames it.
    _from_parsed = DefaultSerializer._DefaultSerializer__deserialize  # type: ignore[attr-defined]

    def _DefaultSerializer__deserialize_datetime(self, payload: Any, obj_type: Any) -> Any:
        """Read an ISO 8601 timestamp with `datetime.fromisoformat`, else as the SDK does.

        The SDK parses every timestamp with dateutil's general parser, about a tenth of the
        server's time per request; Alexa's (``2026-12-01T20:00:00Z``) are plain ISO 8601.
        Anything `fromisoformat` refuses still goes to the SDK's parser, unchanged. This
        overrides the SDK's private method (name-mangled, so it is spelled out here);
        tests/unit/test_envelope.py fails first if a release renames it.
        """
        if isinstance(payload, str):
            try:
                parsed = datetime.fromisoformat(payload)
            except ValueError:
                pass
            else:
                return parsed.date() if obj_type is date else parsed
        return DefaultSerializer._DefaultSerializer__deserialize_datetime(  # type: ignore[attr-defined]
            self, payload, obj_type)


def prepare(skill: CustomSkill, skill_id: str) -> CustomSkill:
    """Make `skill` read its request envelopes through `EnvelopeSerializer`; return it."""
    skill.serializer = EnvelopeSerializer(skill_id)
    return skill


def invoke(skill: CustomSkill, event: Any, context: Any = None) -> dict[str, Any]:
    """Answer one Lambda event: check and read it once, invoke the skill, serialize the response.

    Raises `BadEnvelope` (after one log line naming the check) for an event Alexa could not
    have sent; Lambda reports it to Alexa as a failed invocation.
    """
    serializer = skill.serializer
    if not isinstance(serializer, EnvelopeSerializer):
        raise TypeError("invoke() needs a skill made ready with envelope.prepare(skill, skill_id).")
    try:
        request_envelope = serializer.read(event)
    except BadEnvelope as exc:
        log.warning("Rejected an Alexa request (%s): %s", exc.check, exc)
        raise
    response = skill.invoke(request_envelope=request_envelope, context=context)
    return serializer.serialize(response)
