"""Choose the text a request is answered in, by the request's locale, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skill.text import for_locale

if TYPE_CHECKING:
    from types import ModuleType

    from ask_sdk_core.handler_input import HandlerInput


def text_of(handler_input: HandlerInput) -> ModuleType:
    """Return the sentences for this request's locale (en-US for a missing or unsupported one)."""
    request = getattr(handler_input.request_envelope, "request", None)
    return for_locale(getattr(request, "locale", None))
