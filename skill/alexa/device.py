"""Tell what the device behind a request can do, in one place.

Roadmap features (more locales) add their checks here; `skill.alexa.apl.renders` reads
the screen's fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput


class Device(NamedTuple):
    device_id: str | None
    audio: bool
    screen: bool
    locale: str
    api_endpoint: str | None
    api_access_token: str | None
    apl_max_version: str | None = None  # the APL version the screen renders, when it says


def device_of(handler_input: HandlerInput) -> Device:
    """Return the capabilities and identifiers of the device that sent this request."""
    envelope = handler_input.request_envelope
    system = getattr(envelope.context, "system", None) if envelope.context else None
    device = getattr(system, "device", None)
    interfaces = getattr(device, "supported_interfaces", None)
    apl = getattr(interfaces, "alexa_presentation_apl", None)
    return Device(
        device_id=getattr(device, "device_id", None),
        audio=getattr(interfaces, "audio_player", None) is not None,
        screen=apl is not None,
        locale=getattr(envelope.request, "locale", None) or "en-US",
        api_endpoint=getattr(system, "api_endpoint", None),
        api_access_token=getattr(system, "api_access_token", None),
        apl_max_version=getattr(getattr(apl, "runtime", None), "max_version", None),
    )
