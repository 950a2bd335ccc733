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
import re
from collections.abc import Callable
from datetime import date, datetime
from enum import Enum
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
MAX_STAMP = 64  # characters; the longest timestamp read with dateutil (see _DefaultSerializer__deserialize_datetime)
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


def check_envelope(envelope: Any, skill_id: str, body: str | bytes | None = None) -> dict[str, Any]:
    """Return the envelope if it is one Alexa could send to this skill, or raise `BadEnvelope`.

    Checked: a JSON object no deeper than `MAX_DEPTH`, with a request that has a type, object
    ``context`` and ``session`` where present, ``context.System`` with this skill's application
    id and a userId, and whole non-negative ``offsetInMilliseconds`` wherever Alexa puts one.
    `body`: the JSON text the envelope was parsed from, if there is one; it spares most
    envelopes the depth walk (see `_may_nest_deeper`).
    """
    if not isinstance(envelope, dict):
        raise BadEnvelope(f"The body is JSON but not an object: {_quote(envelope)}.")
    if _may_nest_deeper(body, MAX_DEPTH) and _deeper_than(envelope, MAX_DEPTH):
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


def _may_nest_deeper(body: str | bytes | None, limit: int) -> bool:
    """Return whether JSON text might nest more than `limit` levels deep; False is certain.

    Every object or array of a JSON value opens with a ``{`` or ``[`` of its text (brackets
    inside strings only add to the count), so text with no more than `limit` of them cannot
    nest deeper: counting them (two scans in C) spares most envelopes the walk.
    """
    if body is None:
        return True
    if isinstance(body, str):
        return body.count("{") + body.count("[") > limit
    return body.count(b"{") + body.count(b"[") > limit


def _deeper_than(value: Any, limit: int) -> bool:
    """Return whether `value` nests objects and arrays more than `limit` levels deep.

    The recursion goes at most `limit` calls deep, however deep the value is.
    """
    if limit < 1:
        return True
    children = value.values() if isinstance(value, dict) else value
    for child in children:  # noqa: SIM110 (a loop: any() over a generator costs twice as much)
        if isinstance(child, _CONTAINERS) and _deeper_than(child, limit - 1):
            return True
    return False


_CONTAINERS = (dict, list)


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


Reader = Callable[[Any], Any]
Writer = Callable[[Any], Any]


class EnvelopeSerializer(DefaultSerializer):
    """The SDK's serializer, reading request envelopes in one pass with `check_envelope`.

    flask-ask-sdk hands the request body to ``skill.serializer.deserialize``; for a
    `RequestEnvelope` this parses the text, checks it and builds the model from the parsed
    value. Everything else (service-client payloads) is the SDK's default.

    Both directions follow the SDK's rules exactly, but work them out once per model class
    rather than on every request: the SDK resolves each attribute's type name through
    ``__import__`` and a regular expression for every value of every request, and tries a
    chain of ``isinstance`` checks for every value of every response. Here a reader (and a
    writer) per type is built on first use and kept. Any value the fast path is not sure of
    (a model given a list, an unknown type name, a mixed list) goes to the SDK's own code,
    so the result, or the error, is the SDK's. tests/unit/test_envelope.py and
    tests/fuzz/test_fuzz_serializer.py compare both with the SDK's on real and fuzzed envelopes.
    """

    def __init__(self, skill_id: str) -> None:
        if not skill_id:
            raise ValueError(f"EnvelopeSerializer needs the skill id, e.g. 'amzn1.ask.skill.…'; got {skill_id!r}.")
        self.skill_id = skill_id
        self._readers: dict[Any, Reader] = {}  # by type (a class or the SDK's type name)
        self._children: dict[str, Reader] = {}  # readers of the subclasses a discriminator names
        self._writers: dict[type, Writer] = {}

    def deserialize(self, payload: Any, obj_type: Any) -> Any:
        """Return the payload as `obj_type`; request envelopes are checked (`BadEnvelope`)."""
        if obj_type is not RequestEnvelope:
            return super().deserialize(payload, obj_type)
        return self.read(parse(payload), payload)

    def read(self, envelope: Any, body: str | bytes | None = None) -> RequestEnvelope:
        """Check a parsed envelope (parsed from the JSON text `body`, if given) and return it as
        the SDK's `RequestEnvelope`."""
        check_envelope(envelope, self.skill_id, body)
        try:
            return self.from_parsed(envelope, RequestEnvelope)
        except SerializationException as exc:
            raise BadEnvelope(f"The SDK cannot read the envelope: {_quote(str(exc), 160)}.") from None

    def serialize(self, obj: Any) -> Any:
        """Return `obj` (a response, a model, plain values) as JSON-ready values, as the SDK does."""
        writer = self._writers.get(type(obj))
        if writer is None:
            writer = self._writers[type(obj)] = self._writer_for(type(obj))
        return writer(obj)

    # `DefaultSerializer.deserialize` is `json.loads` followed by this private method, which
    # builds models from parsed JSON: the fallback for anything the readers leave to the SDK.
    # tests/unit/test_envelope.py fails first if an SDK release renames it.
    _from_parsed = DefaultSerializer._DefaultSerializer__deserialize  # type: ignore[attr-defined]

    def from_parsed(self, payload: Any, obj_type: Any) -> Any:
        """Return parsed JSON as `obj_type`, as the SDK reads it, or raise the SDK's error.

        The readers do not catch anything: a value they cannot read (rare, and never in what
        Alexa sends) is read again by the SDK's own code, which raises its own error, word for
        word, or gives its own result.
        """
        try:
            return self._reader(obj_type)(payload)
        except Exception:
            return self._from_parsed(payload, obj_type)

    def _reader(self, obj_type: Any) -> Reader:
        """Return the function that reads parsed JSON as `obj_type` (a class or an SDK type name)."""
        reader = self._readers.get(obj_type)
        if reader is None:
            reader = self._readers[obj_type] = self._reader_for(obj_type)
        return reader

    def _reader_for(self, obj_type: Any) -> Reader:
        """Build the reader of `obj_type`, following `DefaultSerializer.__deserialize` case by case."""
        def by_sdk(payload: Any) -> Any:
            return self._from_parsed(payload, obj_type)

        kind = obj_type
        if isinstance(obj_type, str):
            if obj_type.startswith("list["):
                match = re.match(r"list\[(.*)\]", obj_type)
                if match is None or "," in match.group(1):
                    return by_sdk
                item = match.group(1).strip()

                def read_list(payload: Any) -> Any:
                    if payload is None:
                        return None
                    read = self._reader(item)
                    return [read(value) for value in payload]
                return read_list
            if obj_type.startswith("dict("):
                match = re.match(r"dict\(([^,]*), (.*)\)", obj_type)
                if match is None:
                    return by_sdk
                value_type = match.group(2)

                def read_dict(payload: Any) -> Any:
                    if payload is None:
                        return None
                    read = self._reader(value_type)
                    return {key: read(value) for key, value in payload.items()}
                return read_dict
            if obj_type in self.NATIVE_TYPES_MAPPING:
                kind = self.NATIVE_TYPES_MAPPING[obj_type]
            else:
                try:
                    kind = self._DefaultSerializer__load_class_from_name(obj_type)
                except SerializationException:
                    return by_sdk  # raises the SDK's error when a value of it comes
        if kind in self.PRIMITIVE_TYPES:
            primitive = self._DefaultSerializer__deserialize_primitive

            def read_primitive(payload: Any) -> Any:
                if payload is None or type(payload) is kind:
                    return payload  # kind(payload) would return it as it is
                return primitive(payload, kind)
            return read_primitive
        if kind is object:
            return _same
        if kind in (date, datetime):
            return lambda payload: None if payload is None else self._DefaultSerializer__deserialize_datetime(
                payload, kind)
        if not isinstance(kind, type):
            return by_sdk
        if issubclass(kind, Enum):
            return _enum_reader(kind)
        if not hasattr(kind, "deserialized_types"):
            return _same
        if hasattr(kind, "get_real_child_model"):
            return self._parent_reader(kind, by_sdk)
        return self._model_reader(kind, by_sdk)

    def _parent_reader(self, parent: type, by_sdk: Reader) -> Reader:
        """Build the reader of a model whose payload names its subclass (a request by its type)."""
        def read_child(payload: Any) -> Any:
            if type(payload) is not dict:
                return None if payload is None else by_sdk(payload)
            name = parent.get_real_child_model(payload)  # type: ignore[attr-defined]
            read = self._children.get(name)
            if read is None:
                if not name:
                    return by_sdk(payload)  # the SDK's "Couldn't resolve object by discriminator"
                child = self._DefaultSerializer__load_class_from_name(name)
                if not isinstance(child, type) or not hasattr(child, "deserialized_types"):
                    return by_sdk(payload)
                read = self._children[name] = self._model_reader(child, by_sdk)
            return read(payload)
        return read_child

    def _model_reader(self, model: type, by_sdk: Reader) -> Reader:
        """Build the reader of one model class: its attributes, then any keys it does not know."""
        types = model.deserialized_types  # type: ignore[attr-defined]
        names = getattr(model, "attribute_map", {})
        names.update({k: k for k in types if k not in names})  # what the SDK does on every read
        if any(attr not in types for attr in names):
            return by_sdk
        fields = {key: (attr, types[attr]) for attr, key in names.items()}  # by the payload's key
        if len(fields) != len(names):
            return by_sdk  # two attributes read from one key: the SDK's order decides
        readers = self._readers

        def read_model(payload: Any) -> Any:
            # The model's __init__ sets every attribute, so setting them in the payload's
            # order gives the SDK's instance; keys the model does not know come last, as there.
            if type(payload) is not dict:
                return None if payload is None else by_sdk(payload)
            instance = model()
            extras = None
            for key, value in payload.items():
                field = fields.get(key)
                if field is None:
                    extras = [key] if extras is None else [*extras, key]
                    continue
                attr, kind = field
                setattr(instance, attr, (readers.get(kind) or self._reader(kind))(value))
            if extras is not None:
                for key in extras:
                    setattr(instance, key, payload[key])
            return instance
        return read_model

    def _writer_for(self, kind: type) -> Writer:
        """Build the writer of values of `kind`, following `DefaultSerializer.serialize` case by case."""
        def by_sdk(obj: Any) -> Any:
            return DefaultSerializer.serialize(self, obj)

        if kind is type(None) or issubclass(kind, self.PRIMITIVE_TYPES):
            return _same
        if issubclass(kind, list):
            return lambda obj: [self.serialize(item) for item in obj]
        if issubclass(kind, dict):
            return lambda obj: {key: self.serialize(value) for key, value in obj.items()}
        if issubclass(kind, tuple | datetime | date | Enum) or not hasattr(kind, "deserialized_types"):
            return by_sdk
        types = kind.deserialized_types  # type: ignore[attr-defined]
        names = getattr(kind, "attribute_map", {})
        names.update({k: k for k in types if k not in names})  # what the SDK does on every write
        fields = tuple((attr, names[attr]) for attr in types)

        def write_model(obj: Any) -> Any:
            own = obj.__dict__
            if "deserialized_types" in own or "attribute_map" in own:
                return by_sdk(obj)  # an instance that overrides its class's maps
            out = {}
            for attr, key in fields:
                value = getattr(obj, attr)
                if value is not None:
                    out[key] = self.serialize(value)
            return out
        return write_model

    def _DefaultSerializer__deserialize_datetime(self, payload: Any, obj_type: Any) -> Any:
        """Read an ISO 8601 timestamp with `datetime.fromisoformat`, else as the SDK does.

        The SDK parses every timestamp with dateutil's general parser, about a tenth of the
        server's time per request; Alexa's (``2026-12-01T20:00:00Z``) are plain ISO 8601.
        Anything `fromisoformat` refuses still goes to the SDK's parser, unchanged, if it is
        no longer than `MAX_STAMP` characters: dateutil's time grows with the square of the
        text's length (seconds for a 200 kB "1.1.1…"), and this runs before any signature is
        checked. A longer one is no timestamp. This overrides the SDK's private method
        (name-mangled, so it is spelled out here); tests/unit/test_envelope.py fails first if
        a release renames it.
        """
        if isinstance(payload, str):
            try:
                parsed = datetime.fromisoformat(payload)
            except ValueError:
                if len(payload) > MAX_STAMP:
                    raise SerializationException(
                        f"A value of {len(payload)} characters is not a timestamp.") from None
            else:
                return parsed.date() if obj_type is date else parsed
        return DefaultSerializer._DefaultSerializer__deserialize_datetime(  # type: ignore[attr-defined]
            self, payload, obj_type)


def _same(value: Any) -> Any:
    return value


def _enum_reader(kind: type[Enum]) -> Reader:
    """Build the reader of an enum: its member of that value, as ``kind(value)`` finds it."""
    members = kind._value2member_map_

    def read_enum(payload: Any) -> Any:
        if payload is None:
            return None
        try:
            return members[payload]
        except (KeyError, TypeError):
            return kind(payload)  # the enum's own lookup, and its error
    return read_enum


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
