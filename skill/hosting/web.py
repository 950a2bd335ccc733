"""Serve the skill over HTTP: Alexa requests on POST /, tracks on /audio/, pictures on /images/, health.

Alexa requests go through flask-ask-sdk's `SkillAdapter`, used as designed: the skill reads
the body once through `skill.hosting.envelope` (parse, shape and application-id checks) and
the adapter runs our `RequestVerifier` (signature, certificate, timestamp) on the result
before dispatching. Transport garbage and failed verification get HTTP 400 with one log line
naming the failed check; nothing gets a 500.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from skill import config
from skill.alexa.builder import build_coach, build_skill
from skill.compat import import_skill_adapter
from skill.hosting import envelope
from skill.hosting.envelope import BadEnvelope
from skill.hosting.verify import RequestVerifier, VerificationError

if TYPE_CHECKING:
    from skill.alexa.handlers.shared import Coach
    from skill.alexa.user import Store

log = logging.getLogger("trigger_coach.web")

TRACK_NAME = re.compile(r"^[0-9a-f]{16,64}\.mp3$")
IMAGE_NAME = re.compile(r"^[0-9a-f]{16,64}\.png$")
MAX_BODY = 256 * 1024  # Alexa envelopes are a few kB
ONE_YEAR = 365 * 24 * 3600


def create_app(
    settings: config.Settings | None = None, *, coach: Coach | None = None,
    adapter: Store | None = None, verifier: RequestVerifier | None = None,
) -> Flask:
    """Return the Flask app for these settings (from the environment when None)."""
    settings = settings or config.from_env()
    coach = coach or build_coach(settings)
    skill = envelope.prepare(build_skill(settings, coach=coach, adapter=adapter), settings.skill_id)
    if settings.verify:
        verifiers = [verifier or RequestVerifier()]
    else:
        verifiers = []
        log.warning("REQUEST VERIFICATION IS OFF (TRIGGER_COACH_VERIFY=0). Anyone who can reach "
                    "this server can act as Alexa. Use this only for local tests.")

    app = Flask("trigger_coach", static_folder=None)  # no /static route: we serve only what is below
    app.config.update(
        ASK_SDK_VERIFY_SIGNATURE=False,  # our RequestVerifier does both, in `verifiers`
        ASK_SDK_VERIFY_TIMESTAMP=False,
        MAX_CONTENT_LENGTH=MAX_BODY,
    )
    adapter_cls = import_skill_adapter()
    skill_adapter = adapter_cls(skill=skill, skill_id=settings.skill_id, verifiers=verifiers, app=app)

    @app.post("/")
    def alexa() -> Any:
        if request.mimetype != "application/json":
            return _bad("content-type", f"Expected application/json, got {request.mimetype!r}.")
        request.get_data(cache=True)  # a body over MAX_BODY is a 413 here; the adapter reads this copy
        try:
            return skill_adapter.dispatch_request()
        except VerificationError as exc:  # the verifier has logged which check failed
            return _error(400, str(exc), exc.check)
        except BadEnvelope as exc:
            return _bad(exc.check, str(exc))
        except UnicodeDecodeError:  # the adapter decodes the body before anything reads it
            return _bad("envelope", "The body is not UTF-8 text, so it is not an Alexa request.")
        except HTTPException as exc:  # the SDK failed inside dispatch and logged why: a 400, never a 500
            return _bad("sdk", f"The request could not be handled as an Alexa request ({exc.description}).")

    @app.get("/audio/<name>")
    def audio(name: str) -> Response:
        if not TRACK_NAME.match(name):
            return _error(404, "No such track.")
        wanted = request.headers.get("Range", "")
        if "," in wanted or (wanted and not wanted.lstrip().lower().startswith("bytes=")):
            # Werkzeug serves one byte range only and answers anything else with 416; RFC 9110
            # lets a server ignore a Range instead (and says to ignore a unit it does not know),
            # so a multi-range request, or one in another unit, gets the whole track (200).
            request.environ.pop("HTTP_RANGE", None)
        response = _immutable(settings.tracks_dir, name, "audio/mpeg")
        response.headers["Accept-Ranges"] = "bytes"
        return response

    @app.get("/images/<name>")
    def image(name: str) -> Response:
        if not IMAGE_NAME.match(name):
            return _error(404, "No such picture.")
        return _immutable(settings.images_dir, name, "image/png")

    @app.get("/healthz")
    def healthz() -> Response:
        library = coach.catalog.library
        ready = [r.id for r in library.routines if coach.catalog.program(r.id) is not None]
        return jsonify(ok=True, routines=len(library.routines), playable=len(ready),
                       verify=settings.verify, storage=settings.storage)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        return _error(exc.code or 400, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("Unexpected error on %s %s", request.method, request.path, exc_info=exc)
        return _error(400, "The request could not be handled.")

    return app


def _immutable(folder: Any, name: str, mimetype: str) -> Response:
    """Serve a content-addressed file (its name is its hash): cacheable for a year, never stale."""
    response = send_from_directory(folder, name, mimetype=mimetype, conditional=True, etag=True, max_age=ONE_YEAR)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    return response


def _bad(check: str, message: str) -> tuple[Response, int]:
    log.warning("Rejected an Alexa request (%s): %s", check, message)
    return _error(400, message, check)


def _error(status: int, message: str, check: str | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": message}
    if check:
        body["check"] = check
    return jsonify(body), status


def make_server(app: Flask, settings: config.Settings) -> Any:
    """Return a waitress server for `app`, bound but not yet running; `serve` and the tests use it.

    Idle connections are dropped after `settings.idle_timeout` seconds, and a connection still
    sending one request `settings.request_timeout` seconds after its first byte is dropped
    too, so neither a crowd of silent clients nor clients trickling a request a byte at a time
    (slowloris) can keep their connections, and so is one that reads none of its replies for
    the idle time-out while a worker waits on it. All are checked every second or so; poll()
    is used because select() stops at 1024 descriptors. A request body over `MAX_BODY` is
    refused (413) as it arrives, not after waitress has spooled up to a gigabyte of it to disk.
    """
    from waitress.server import BaseWSGIServer, create_server

    server = create_server(app, host=settings.host, port=settings.port, threads=settings.threads,
                           ident="trigger-coach", channel_timeout=settings.idle_timeout,
                           cleanup_interval=max(1, min(30, settings.idle_timeout, settings.request_timeout)),
                           connection_limit=settings.connection_limit, asyncore_use_poll=True,
                           max_request_body_size=MAX_BODY)
    # A host with several addresses ("localhost": ::1 and 127.0.0.1) gives one listener per address.
    listeners = [server] if isinstance(server, BaseWSGIServer) else \
        [s for s in list(server.map.values()) if isinstance(s, BaseWSGIServer)]
    for listener in listeners:
        _drop_slow_peers(listener, settings.request_timeout, settings.idle_timeout)
    return server


def _drop_slow_peers(server: Any, request_timeout: int, idle_timeout: int) -> None:
    """Make one waitress listener drop connections still sending one request after `request_timeout` s,
    and those whose replies the client has not read for `idle_timeout` s while a worker waits on them.

    Waitress's own idle check spares a connection with requests being answered. A client that
    pipelines many track requests and reads nothing fills that connection's output past
    waitress's high-water mark, and the worker answering it then waits for the client for as
    long as it likes: a handful of such clients held every worker. Closing the connection wakes
    its worker, which drops the rest of that client's requests.
    """
    server.channel_class = _timed_channel()
    waitress_maintenance = server.maintenance

    def maintenance(now: float) -> None:  # waitress's hook, run on its main loop every cleanup_interval
        waitress_maintenance(now)
        cutoff, unread = now - request_timeout, now - idle_timeout
        channels = list(server.active_channels.values())
        slow = [channel for channel in channels
                if not channel.requests  # none being answered: a handler's time is not the sender's
                and channel.receiving_since is not None and channel.receiving_since < cutoff]
        for channel in slow:
            channel.will_close = True  # waitress closes it on its next turn, as it does idle ones
        if slow:  # one line per check, however many: a crowd of tricklers cannot flood the log
            log.warning("Dropped %d connection(s) still sending one request after %d s (first from %s).",
                        len(slow), request_timeout, slow[0].addr[0] if slow[0].addr else "?")
        # Replies waiting to be sent, and no byte sent or received since (waitress's
        # last_activity): the client stopped reading.
        stalled = [channel for channel in channels
                   if channel.requests and channel.total_outbufs_len and channel.last_activity < unread]
        for channel in stalled:
            channel.handle_close()  # as waitress closes a channel on this loop; wakes its worker
        if stalled:
            log.warning("Dropped %d connection(s) that read none of their replies for %d s (first from %s).",
                        len(stalled), idle_timeout, stalled[0].addr[0] if stalled[0].addr else "?")

    server.maintenance = maintenance


@functools.cache
def _timed_channel() -> type:
    """Return waitress's HTTPChannel, noting when the request it is receiving began to arrive."""
    from waitress.channel import HTTPChannel

    class TimedChannel(HTTPChannel):
        receiving_since: float | None = None  # time.time() of the first byte of a request not yet whole

        def received(self, data: bytes) -> bool:
            before = self.request
            try:
                return super().received(data)
            finally:
                if self.request is None:  # nothing half-received
                    self.receiving_since = None
                elif self.request is not before:  # a request began in this data (after others, maybe)
                    self.receiving_since = time.time()

    return TimedChannel


def serve(settings: config.Settings) -> None:
    """Serve the app with waitress, a production WSGI server, until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(settings)
    if not settings.audio_base_url.startswith("https://"):
        log.warning("Track URLs are %s; a real Echo streams only HTTPS. Set TRIGGER_COACH_PUBLIC_URL "
                    "to your tunnel's https:// address.", settings.audio_base_url)
    server = make_server(app, settings)
    listening = getattr(server, "effective_listen", None) or [(settings.host, server.effective_port)]
    where = ", ".join(f"http://{f'[{h}]' if ':' in h else h}:{port}/" for h, port in listening)
    log.info("Trigger Coach listening on %s (audio at %s, storage %s)", where, settings.audio_base_url,
             settings.storage)
    server.run()
