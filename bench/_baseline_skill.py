"""Serve a bare hello-world ask-sdk skill, the baseline the HTTP and cold-start benchmarks compare with.

Run: python bench/_baseline_skill.py --port 8001 [--threads 8]

What it is, exactly: a `CustomSkillBuilder` skill with no persistence adapter, no interceptors
and one request handler. The handler answers a LaunchRequest or IntentRequest with the speech
"Hello world." and any other request (AudioPlayer events) with an empty response, so the
benchmark can send it the same requests as Trigger Coach. It is served through flask-ask-sdk's
`SkillAdapter` (imported with `skill.compat.import_skill_adapter`, as the real app does) with
the SDK's signature and timestamp checks off, and by waitress built by the same
`skill.hosting.web.make_server` (host, threads, idle timeout, connection limit, poll) with the
same logging set-up as `skill.hosting.web.serve`. GET /healthz answers {"ok": true}.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_core.utils import is_request_type
from flask import Flask, jsonify

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_core.skill import CustomSkill
    from ask_sdk_model import Response

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from skill.compat import import_skill_adapter  # noqa: E402
from skill.config import LOCAL_SKILL_ID  # noqa: E402


class HelloHandler(AbstractRequestHandler):
    """Say hello to a launch or an intent; answer anything else with an empty response."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        builder = handler_input.response_builder
        if is_request_type("LaunchRequest")(handler_input) or is_request_type("IntentRequest")(handler_input):
            builder.speak("Hello world.").set_should_end_session(False)
        return builder.response


def build_skill(skill_id: str = LOCAL_SKILL_ID) -> CustomSkill:
    """Return the hello-world skill."""
    builder = CustomSkillBuilder()
    builder.skill_id = skill_id
    builder.add_request_handler(HelloHandler())
    return builder.create()


def create_app(skill_id: str = LOCAL_SKILL_ID) -> Flask:
    """Return a Flask app serving the hello-world skill on POST / and health on GET /healthz."""
    app = Flask("baseline_skill")
    app.config.update(ASK_SDK_VERIFY_SIGNATURE=False, ASK_SDK_VERIFY_TIMESTAMP=False)
    adapter = import_skill_adapter()(skill=build_skill(skill_id), skill_id=skill_id, verifiers=[], app=app)
    adapter.register(app=app, route="/")

    @app.get("/healthz")
    def healthz() -> object:
        return jsonify(ok=True)

    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the baseline with waitress, set up exactly as `trigger-coach serve` sets it up, until interrupted."""
    from skill.config import Settings
    from skill.hosting.web import make_server  # here, so the cold-start bench's "hello" does not import it

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    make_server(create_app(), Settings(host=args.host, port=args.port, threads=args.threads)).run()


if __name__ == "__main__":
    main()
