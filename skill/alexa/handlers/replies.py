"""Say, ask and tell; read a slot: the reply helpers every handler module uses."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from skill.text import Question, ssml

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model import Response


PENDING = "pending"  # session attribute: what a yes/no answers
MAX_HEARD = 60  # longest slot value we repeat back to the user


def ask(
    handler_input: HandlerInput, lead: str, question: Question, pending: str | None = None,
) -> Response:
    """Say `lead`, end with `question` and keep the session open; a yes/no names its answer."""
    if question.yes_no != bool(pending):
        raise ValueError(f"Question {question.ask!r} with pending answer {pending!r}: a yes/no "
                         "question needs what yes means, and only a yes/no question has one.")
    attrs = handler_input.attributes_manager.session_attributes
    if pending:
        attrs[PENDING] = pending
    else:
        attrs.pop(PENDING, None)
    say = f"{lead} {question.ask}" if lead else question.ask
    return (
        handler_input.response_builder.speak(ssml(say))
        .ask(ssml(question.reprompt)).response
    )


def tell(handler_input: HandlerInput, say: str) -> Response:
    """Say `say` and end the session."""
    return handler_input.response_builder.speak(ssml(say)).set_should_end_session(True).response


# Alexa transcribes words, but a slot value is free text: keep letters, digits, spaces,
# apostrophes and hyphens, so nothing odd is read back.
_HEARD_NOISE = re.compile(r"[^\w' -]|_")


def slot(
    handler_input: HandlerInput, name: str, max_heard: int = MAX_HEARD,
) -> tuple[str | None, str | None]:
    """Return what was heard in a slot (None past `max_heard` characters) and the id entity resolution matched."""
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    found = (getattr(intent, "slots", None) or {}).get(name)
    if found is None:
        return None, None
    heard = " ".join(_HEARD_NOISE.sub(" ", found.value).split()) if isinstance(found.value, str) else None
    if not heard or len(heard) > max_heard:  # nobody names a body part in 60 characters
        heard = None
    resolutions = getattr(getattr(found, "resolutions", None), "resolutions_per_authority", None)
    for authority in resolutions or []:  # a list Alexa fills; a null entry or value matches nothing
        code = getattr(getattr(getattr(authority, "status", None), "code", None), "value", None)
        values = getattr(authority, "values", None) or []
        matched = getattr(getattr(values[0], "value", None), "id", None) if values else None
        if code == "ER_SUCCESS_MATCH" and isinstance(matched, str):
            return heard, matched
    return heard, None

