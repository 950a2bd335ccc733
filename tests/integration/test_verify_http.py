"""Request verification through the real web service: good requests pass, tampering gets 400."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from skill.hosting.verify import RequestVerifier
from skill.hosting.web import create_app
from tests import alexa
from tests.certs import CHAIN_PATH, ChainServer, make_chain, make_root, rsa_key
from tests.server import ThreadServer

OTHER_PATH = "/echo.api/other-cert.pem"


@pytest.fixture(scope="module")
def chain():
    return make_chain(now=datetime.now(UTC))


@pytest.fixture(scope="module")
def untrusted():
    now = datetime.now(UTC)
    return make_chain(now=now, root=make_root("Someone Else CA", now=now))


@pytest.fixture
def verified(app_settings, chain, untrusted):
    """Yield (server, certificate server) for a skill that verifies every request."""
    settings = app_settings.with_(verify=True)
    with ChainServer({CHAIN_PATH: chain.pem(), OTHER_PATH: untrusted.pem()}) as certs:
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=certs.origin, timeout=2.0)
        with ThreadServer(create_app(settings, verifier=verifier)) as server:
            yield server, certs


def body_of(envelope: dict) -> bytes:
    return json.dumps(envelope).encode()


def test_a_correctly_signed_request_is_answered(verified, chain):
    server, certs = verified
    body = body_of(alexa.launch())
    status, reply = alexa.post(server.url + "/", body, chain.headers(body))
    assert status == 200 and "Welcome" in alexa.speech_of(reply)
    status, _ = alexa.post(server.url + "/", body, chain.headers(body))
    assert status == 200 and certs.downloads[CHAIN_PATH] == 1  # the chain is cached


def tampered_cases(chain, untrusted):
    body = body_of(alexa.launch())
    good = chain.headers(body)
    old = alexa.launch()
    old["request"]["timestamp"] = "2020-01-01T00:00:00Z"
    return {
        "missing cert url": (body, {"Signature-256": good["Signature-256"]}),
        "missing signature": (body, {"SignatureCertChainUrl": good["SignatureCertChainUrl"]}),
        "http cert url": (body, {**good, "SignatureCertChainUrl": "http://s3.amazonaws.com" + CHAIN_PATH}),
        "wrong host": (body, {**good, "SignatureCertChainUrl": "https://evil.example.com" + CHAIN_PATH}),
        "path outside echo.api": (body, {**good, "SignatureCertChainUrl":
                                         "https://s3.amazonaws.com/echo.api/../evil/cert.pem"}),
        "wrong port": (body, {**good, "SignatureCertChainUrl": "https://s3.amazonaws.com:8443" + CHAIN_PATH}),
        "tampered body": (body.replace(b"en-US", b"en-GB"), good),
        "garbage signature": (body, {**good, "Signature-256": "%%%not-base64%%%"}),
        "foreign key": (body, {**good, "Signature-256": chain.sign(body, key=rsa_key("intruder"))}),
        "untrusted root": (body, untrusted.headers(body, cert_url="https://s3.amazonaws.com" + OTHER_PATH)),
        "stale timestamp": (body_of(old), chain.headers(body_of(old))),
    }


CASES = ["missing cert url", "missing signature", "http cert url", "wrong host", "path outside echo.api",
         "wrong port", "tampered body", "garbage signature", "foreign key", "untrusted root", "stale timestamp"]


@pytest.mark.parametrize("case", CASES)
def test_each_kind_of_tampering_is_rejected_with_http_400(verified, chain, untrusted, case):
    server, _ = verified
    body, headers = tampered_cases(chain, untrusted)[case]
    status, reply = alexa.post(server.url + "/", body, headers)
    assert status == 400, (case, reply)
    assert reply["check"], reply


def test_a_correctly_signed_request_for_another_skill_is_rejected_with_400(verified, chain):
    server, _ = verified
    body = body_of(alexa.launch(skill_id="amzn1.ask.skill.not-ours"))
    status, reply = alexa.post(server.url + "/", body, chain.headers(body))
    assert status == 400 and reply["check"] == "application-id"


def test_a_failed_verification_is_one_log_line_naming_the_check_and_no_traceback(verified, chain, caplog):
    server, _ = verified
    body = body_of(alexa.launch())
    with caplog.at_level(logging.INFO):
        status, reply = alexa.post(server.url + "/", body, {**chain.headers(body), "Signature-256": "AAAA"})
    assert status == 400 and reply["check"] == "signature"
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
    assert "signature check failed" in lines[0].getMessage()
