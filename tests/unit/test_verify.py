"""Request verification: each of the negative cases Alexa certification sends, and the good path.

The certificate chain is served by a real HTTP server on 127.0.0.1 (see tests/certs.py); time is
a fixed clock, so no test depends on how fast the machine is. Each body is read the way the
web service reads it (`skill.hosting.envelope`, which rejects bodies that are not envelopes and
requests for other skills), and the verifier gets the headers, the body and that envelope, as
flask-ask-sdk's adapter passes them.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ask_sdk_model import RequestEnvelope
from ask_sdk_webservice_support import verifier_constants
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from skill.hosting.envelope import BadEnvelope, EnvelopeSerializer
from skill.hosting.verify import RequestVerifier, VerificationError
from tests.certs import (
    CHAIN_PATH,
    CHAIN_URL,
    SKILL_ID,
    ChainServer,
    SigningChain,
    envelope,
    envelope_bytes,
    make_chain,
    make_root,
    rsa_key,
)

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


class Clock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def chain() -> SigningChain:
    return make_chain(now=NOW)


@pytest.fixture
def server(chain: SigningChain):
    with ChainServer({CHAIN_PATH: chain.pem()}) as server:
        yield server


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def verifier(chain: SigningChain, server: ChainServer, clock: Clock) -> RequestVerifier:
    return RequestVerifier(trusted_roots=[chain.root], cert_origin=server.origin, clock=clock)


READER = EnvelopeSerializer(SKILL_ID)


def check(verifier: RequestVerifier, headers: Any, body: bytes) -> RequestEnvelope:
    """Read the body as the web service does, verify it, and return the envelope."""
    envelope = READER.deserialize(body.decode("utf-8"), RequestEnvelope)
    verifier.verify(headers=headers, serialized_request_env=body.decode("utf-8"), deserialized_request_env=envelope)
    return envelope


def rejection(verifier: RequestVerifier, headers: dict[str, str], body: bytes) -> str:
    """Return the name of the check that rejects the request (failing if none does)."""
    with pytest.raises((VerificationError, BadEnvelope)) as caught:
        check(verifier, headers, body)
    return caught.value.check


BODY = envelope_bytes(SKILL_ID, NOW)


# The good path


def test_a_correctly_signed_fresh_request_is_accepted(verifier, chain):
    assert check(verifier, chain.headers(BODY), BODY).request.object_type == "LaunchRequest"


def test_the_raw_body_bytes_are_accepted_as_well_as_the_adapters_text(verifier, chain):
    envelope = READER.deserialize(BODY.decode("utf-8"), RequestEnvelope)
    verifier.verify(chain.headers(BODY), BODY, envelope)


def test_a_body_with_non_ascii_text_is_checked_on_the_exact_bytes_alexa_signed(verifier, chain):
    request = envelope(SKILL_ID, NOW)
    request["session"]["attributes"] = {"note": "Waden, Fußsohle, 🙂"}
    body = json.dumps(request, ensure_ascii=False).encode("utf-8")
    check(verifier, chain.headers(body), body)


def test_a_chain_without_an_intermediate_is_accepted(server, clock):
    direct = make_chain(now=NOW, root=make_root("Direct Root CA", now=NOW), intermediate=False)
    with ChainServer({CHAIN_PATH: direct.pem()}) as direct_server:
        verifier = RequestVerifier(trusted_roots=[direct.root], cert_origin=direct_server.origin, clock=clock)
        assert check(verifier, direct.headers(BODY), BODY).request.object_type == "LaunchRequest"


def test_header_names_are_matched_case_insensitively(verifier, chain):
    headers = {name.lower(): value for name, value in chain.headers(BODY).items()}
    check(verifier, headers, BODY)


def test_werkzeug_request_headers_are_accepted_as_they_come(verifier, chain):
    environ = EnvironBuilder(method="POST", data=BODY, headers=chain.headers(BODY)).get_environ()
    check(verifier, Request(environ).headers, Request(environ).get_data())


# Headers


@pytest.mark.parametrize("header", ["SignatureCertChainUrl", "Signature-256"])
def test_a_request_missing_either_header_is_rejected(verifier, chain, header):
    headers = chain.headers(BODY)
    del headers[header]
    assert rejection(verifier, headers, BODY) == "missing-header"


def test_an_empty_header_counts_as_missing(verifier, chain):
    headers = chain.headers(BODY) | {"Signature-256": " "}
    assert rejection(verifier, headers, BODY) == "missing-header"


def test_the_old_sha1_signature_header_alone_is_not_enough(verifier, chain):
    headers = chain.headers(BODY)
    headers["Signature"] = headers.pop("Signature-256")
    assert rejection(verifier, headers, BODY) == "missing-header"


# The certificate chain URL


@pytest.mark.parametrize(
    "url",
    [
        "http://s3.amazonaws.com/echo.api/echo-api-cert-test.pem",
        "https://notamazon.com/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-test.pem",
        "https://s3.amazonaws.com/invalid.path/echo-api-cert-test.pem",
        "https://s3.amazonaws.com/echo.api/../evil/echo-api-cert-test.pem",
        "https://s3.amazonaws.com/echo.api/%2e%2e/evil/echo-api-cert-test.pem",
        "https://s3.amazonaws.com:8443/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com:notaport/echo.api/echo-api-cert-test.pem",
        "s3.amazonaws.com/echo.api/echo-api-cert-test.pem",
    ],
    ids=[
        "http",
        "other-host",
        "host-suffix",
        "path-case",
        "other-path",
        "dotdot",
        "encoded-dotdot",
        "port-8443",
        "bad-port",
        "no-scheme",
    ],
)
def test_a_chain_url_amazon_would_not_use_is_rejected_before_any_download(verifier, chain, server, url):
    assert rejection(verifier, chain.headers(BODY, cert_url=url), BODY) == "cert-url"
    assert server.downloads == {}


@pytest.mark.parametrize(
    "url",
    [
        "https://S3.Amazonaws.COM/echo.api/echo-api-cert-test.pem",
        "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert-test.pem",
    ],
    ids=["host-case", "scheme-case", "port-443", "dotdot-back-inside"],
)
def test_chain_urls_that_normalise_to_amazons_are_accepted(verifier, chain, server, url):
    check(verifier, chain.headers(BODY, cert_url=url), BODY)
    assert server.downloads == {CHAIN_PATH: 1}


# The signature


def test_a_signature_over_a_tampered_body_is_rejected(verifier, chain):
    tampered = BODY.replace(b"LaunchRequest", b"SessionEndedRequest")
    assert rejection(verifier, chain.headers(BODY), tampered) == "signature"


def test_a_signature_that_is_not_base64_is_rejected(verifier, chain):
    headers = chain.headers(BODY) | {"Signature-256": "not base64 at all!"}
    assert rejection(verifier, headers, BODY) == "signature"


def test_a_signature_made_with_another_key_is_rejected(verifier, chain):
    headers = chain.headers(BODY) | {"Signature-256": chain.sign(BODY, key=rsa_key("other"))}
    assert rejection(verifier, headers, BODY) == "signature"


def test_a_truncated_signature_is_rejected(verifier, chain):
    short = base64.b64encode(base64.b64decode(chain.sign(BODY))[:-8]).decode()
    headers = chain.headers(BODY) | {"Signature-256": short}
    assert rejection(verifier, headers, BODY) == "signature"


# The signing certificate and its chain


def serve_and_verify(bad: SigningChain, clock: Clock, roots=None) -> VerificationError:
    with ChainServer({CHAIN_PATH: bad.pem()}) as server:
        verifier = RequestVerifier(trusted_roots=roots or [bad.root], cert_origin=server.origin, clock=clock)
        with pytest.raises(VerificationError) as caught:
            check(verifier, bad.headers(BODY), BODY)
    return caught.value


def test_an_expired_signing_certificate_is_rejected(clock):
    expired = make_chain(now=NOW, not_before=NOW - timedelta(days=400), not_after=NOW - timedelta(seconds=1))
    error = serve_and_verify(expired, clock)
    assert error.check == "cert-expired"
    assert "expired" in str(error)


def test_a_signing_certificate_not_yet_valid_is_rejected(clock):
    early = make_chain(now=NOW, not_before=NOW + timedelta(seconds=1))
    error = serve_and_verify(early, clock)
    assert error.check == "cert-expired"
    assert "not valid before" in str(error)


@pytest.mark.parametrize("dns_names", [("evil.example.com",), None], ids=["other-name", "no-san"])
def test_a_signing_certificate_not_issued_to_echo_api_is_rejected(clock, dns_names):
    assert serve_and_verify(make_chain(now=NOW, dns_names=dns_names), clock).check == "cert-san"


def test_a_chain_to_an_untrusted_root_is_rejected(chain, clock):
    rogue = make_chain(now=NOW, root=make_root("Rogue Root CA", now=NOW))
    error = serve_and_verify(rogue, clock, roots=[chain.root])
    assert error.check == "cert-chain"


def test_the_certifi_bundle_is_the_default_trust_and_does_not_trust_a_test_root(chain, clock):
    with ChainServer({CHAIN_PATH: chain.pem()}) as server:
        verifier = RequestVerifier(cert_origin=server.origin, clock=clock)
        assert rejection(verifier, chain.headers(BODY), BODY) == "cert-chain"


def test_a_download_that_is_not_pem_is_rejected(chain, clock):
    with ChainServer({CHAIN_PATH: b"<html>Access denied</html>"}) as server:
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=server.origin, clock=clock)
        assert rejection(verifier, chain.headers(BODY), BODY) == "cert-chain"


def test_a_chain_url_that_answers_404_is_a_verification_failure(verifier, chain, server):
    url = "https://s3.amazonaws.com/echo.api/no-such-cert.pem"
    assert rejection(verifier, chain.headers(BODY, cert_url=url), BODY) == "cert-download"
    assert server.downloads == {"/echo.api/no-such-cert.pem": 1}


def test_a_chain_download_that_stalls_times_out_as_a_verification_failure(chain, clock):
    with ChainServer({CHAIN_PATH: chain.pem()}, stall=True) as server:
        verifier = RequestVerifier(
            trusted_roots=[chain.root],
            cert_origin=server.origin,
            clock=clock,
            timeout=0.2,
        )
        assert rejection(verifier, chain.headers(BODY), BODY) == "cert-download"


def test_a_failing_cert_fetcher_is_a_verification_failure(chain, clock):
    def unreachable(url: str) -> bytes:
        raise ConnectionRefusedError(f"nothing listens for {url}")

    verifier = RequestVerifier(trusted_roots=[chain.root], cert_fetcher=unreachable, clock=clock)
    assert rejection(verifier, chain.headers(BODY), BODY) == "cert-download"


def test_without_an_origin_the_fetcher_gets_the_normalised_amazon_url(chain, clock):
    fetched: list[str] = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        return chain.pem()

    verifier = RequestVerifier(trusted_roots=[chain.root], cert_fetcher=fetch, clock=clock)
    url = "https://S3.amazonaws.com:443/echo.api/x/../echo-api-cert-test.pem"
    check(verifier, chain.headers(BODY, cert_url=url), BODY)
    assert fetched == [CHAIN_URL]


# The chain cache


def test_a_validated_chain_is_downloaded_once_for_many_requests(verifier, chain, server):
    check(verifier, chain.headers(BODY), BODY)
    check(verifier, chain.headers(BODY), BODY)
    assert server.downloads == {CHAIN_PATH: 1}


def test_urls_differing_only_in_query_or_case_share_one_cached_chain(verifier, chain, server):
    variants = [
        CHAIN_URL,
        f"{CHAIN_URL}?x=1",
        f"{CHAIN_URL}?x=2#f",
        f"HTTPS://S3.AMAZONAWS.COM{CHAIN_PATH}",
    ]
    for url in variants:
        check(verifier, chain.headers(BODY, cert_url=url), BODY)
    assert server.downloads == {CHAIN_PATH: 1}


def test_a_cached_chain_still_checks_each_signature(verifier, chain):
    check(verifier, chain.headers(BODY), BODY)
    tampered = BODY.replace(b"en-US", b"de-DE")
    assert rejection(verifier, chain.headers(BODY), tampered) == "signature"


def test_a_chain_that_failed_validation_is_remembered_briefly_then_tried_again(chain, clock):
    rogue = make_chain(now=NOW, root=make_root("Rogue Root CA", now=NOW))
    with ChainServer({CHAIN_PATH: rogue.pem()}) as server:
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=server.origin, clock=clock, failure_ttl=30)
        for _ in range(5):
            assert rejection(verifier, rogue.headers(BODY), BODY) == "cert-chain"
        assert server.downloads == {CHAIN_PATH: 1}
        clock.now = NOW + timedelta(seconds=31)
        later = envelope_bytes(SKILL_ID, clock.now)
        assert rejection(verifier, rogue.headers(later), later) == "cert-chain"
        assert server.downloads == {CHAIN_PATH: 2}


def test_a_failed_download_is_remembered_so_unsigned_requests_cannot_each_trigger_one(chain, clock):
    with ChainServer({}) as server:  # every chain URL answers 404
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=server.origin, clock=clock)
        for _ in range(20):
            assert rejection(verifier, chain.headers(BODY), BODY) == "cert-download"
    assert server.downloads == {CHAIN_PATH: 1}
    [(_, remembered)] = verifier._failures.values()
    # Its frames would keep the download's buffers alive for as long as it is remembered.
    assert (remembered.__traceback__, remembered.__cause__, remembered.__context__) == (None, None, None)


def test_a_good_chain_after_a_remembered_failure_is_used_once_the_failure_expires(chain, server, clock):
    verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=server.origin, clock=clock, failure_ttl=30)
    url = "https://s3.amazonaws.com/echo.api/late.pem"
    assert rejection(verifier, chain.headers(BODY, cert_url=url), BODY) == "cert-download"
    server.files = {**server.files, "/echo.api/late.pem": chain.pem()}
    assert rejection(verifier, chain.headers(BODY, cert_url=url), BODY) == "cert-download"  # still remembered
    clock.now = NOW + timedelta(seconds=31)
    later = envelope_bytes(SKILL_ID, clock.now)
    check(verifier, chain.headers(later, cert_url=url), later)


def test_a_server_that_trickles_its_answer_is_cut_off_at_the_total_deadline(chain, clock):
    """Each byte arrives well within the per-read time-out; the whole answer never does."""
    stop = threading.Event()

    def trickle(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
            while not stop.wait(0.05):
                try:
                    conn.sendall(b"-")
                except OSError:
                    return

    with socket.create_server(("127.0.0.1", 0)) as listener:
        threading.Thread(target=lambda: trickle(listener.accept()[0]), daemon=True).start()
        origin = f"http://127.0.0.1:{listener.getsockname()[1]}"
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=origin, clock=clock, timeout=0.5)
        try:
            with pytest.raises(VerificationError) as caught:
                check(verifier, chain.headers(BODY), BODY)
        finally:
            stop.set()
    assert caught.value.check == "cert-download" and "within 0.5 s" in str(caught.value)


def answering_once(reply: bytes):
    """Return a listening socket whose first connection gets `reply` and is closed, and its origin."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn = listener.accept()[0]
        with conn:
            conn.recv(4096)
            conn.sendall(reply)

    threading.Thread(target=serve, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://127.0.0.1:9/evil.pem\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 100001\r\n\r\n" + b"-" * 100_001,
    b"HTTP/1.0 200 OK\r\n\r\n" + b"-" * 200_000,  # no length: the body ends with the connection
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"10000\r\n" + b"-" * 65536 + b"\r\n") * 2
    + b"0\r\n\r\n",  # two chunks of 64 KiB
    b"not http at all\r\n\r\n",
], ids=["redirect", "over-100-KB", "over-100-KB-until-close", "over-100-KB-chunked", "garbage"])
def test_a_chain_download_follows_no_redirect_and_takes_no_oversized_or_garbled_answer(chain, clock, reply):
    listener, origin = answering_once(reply)
    with listener:
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=origin, clock=clock, timeout=5)
        with pytest.raises(VerificationError) as caught:
            check(verifier, chain.headers(BODY), BODY)
    assert caught.value.check == "cert-download", caught.value


def test_the_default_chain_download_reads_a_chain_sent_chunked(chain, clock):
    pem = chain.pem()
    listener, origin = answering_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      + f"{len(pem):x}\r\n".encode() + pem + b"\r\n0\r\n\r\n")
    with listener:
        check(RequestVerifier(trusted_roots=[chain.root], cert_origin=origin, clock=clock), chain.headers(BODY), BODY)


def test_concurrent_misses_for_one_chain_share_one_download(chain, clock):
    release = threading.Event()
    downloads: list[str] = []

    def slow_fetch(url: str) -> bytes:
        downloads.append(url)
        release.wait(10)
        return chain.pem()

    verifier = RequestVerifier(trusted_roots=[chain.root], cert_fetcher=slow_fetch, clock=clock, max_downloads=4)
    outcomes: list[str] = []

    def one() -> None:
        try:
            check(verifier, chain.headers(BODY), BODY)
            outcomes.append("ok")
        except VerificationError as error:
            outcomes.append(error.check)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    while not downloads:
        time.sleep(0.01)
    release.set()
    for thread in threads:
        thread.join(10)
    assert outcomes == ["ok"] * 4 and len(downloads) == 1


def test_beyond_the_download_slots_a_request_is_rejected_at_once_instead_of_waiting(chain, clock):
    release = threading.Event()
    started = threading.Semaphore(0)

    def stalled_fetch(url: str) -> bytes:
        started.release()
        release.wait(10)
        return chain.pem()

    verifier = RequestVerifier(trusted_roots=[chain.root], cert_fetcher=stalled_fetch, clock=clock,
                               max_downloads=2, timeout=10)
    urls = [f"https://s3.amazonaws.com/echo.api/{n}.pem" for n in range(3)]
    busy = [threading.Thread(target=lambda u=u: rejection_or_none(verifier, chain, u)) for u in urls[:2]]
    for thread in busy:
        thread.start()
    for _ in busy:
        assert started.acquire(timeout=10)
    try:
        error = rejection(verifier, chain.headers(BODY, cert_url=urls[2]), BODY)  # returns while two are stalled
    finally:
        release.set()
        for thread in busy:
            thread.join(10)
    assert error == "cert-download"


def rejection_or_none(verifier: RequestVerifier, chain: SigningChain, url: str) -> None:
    with contextlib.suppress(VerificationError):
        check(verifier, chain.headers(BODY, cert_url=url), BODY)


def test_nonsense_download_settings_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="at least one download"):
        RequestVerifier(max_downloads=0)


def test_a_cached_chain_is_downloaded_again_after_its_time_to_live(verifier, chain, server, clock):
    check(verifier, chain.headers(BODY), BODY)
    clock.now = NOW + timedelta(seconds=3601)
    later = envelope_bytes(SKILL_ID, clock.now)
    check(verifier, chain.headers(later), later)
    assert server.downloads == {CHAIN_PATH: 2}


def test_a_cached_chain_whose_leaf_has_since_expired_is_rejected(chain, clock):
    short_lived = make_chain(now=NOW, not_after=NOW + timedelta(minutes=10))
    with ChainServer({CHAIN_PATH: short_lived.pem()}) as server:
        verifier = RequestVerifier(trusted_roots=[short_lived.root], cert_origin=server.origin, clock=clock)
        check(verifier, short_lived.headers(BODY), BODY)
        clock.now = NOW + timedelta(minutes=11)
        later = envelope_bytes(SKILL_ID, clock.now)
        assert rejection(verifier, short_lived.headers(later), later) == "cert-expired"


# The body, its timestamp and application id


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"version": "1.0"}',
        b'{"request": "LaunchRequest"}',
        b"\xff\xfe garbage",
        b"[" * 100_000,
    ],
    ids=["malformed", "empty", "array", "no-request", "request-not-object", "not-utf8", "deep"],
)
def test_a_body_that_is_not_an_alexa_envelope_is_rejected_before_any_download(verifier, chain, server, body):
    with pytest.raises((BadEnvelope, UnicodeDecodeError)):
        check(verifier, chain.headers(body), body)
    assert server.downloads == {}


@pytest.mark.parametrize(
    ("timestamp", "check_name"),
    [(None, "timestamp"), ("2026-11-21T10:00:00", "timestamp"), ("yesterday", "envelope"),
     (1_790_000_000, "envelope")],
    ids=["missing", "no-zone", "words", "number"],
)
def test_a_timestamp_that_is_not_an_iso_time_with_a_zone_is_rejected(verifier, chain, timestamp, check_name):
    # Words and numbers do not even make an envelope: the SDK's reader cannot parse them.
    request = envelope(SKILL_ID, NOW)
    request["request"]["timestamp"] = timestamp
    body = json.dumps(request).encode()
    assert rejection(verifier, chain.headers(body), body) == check_name


@pytest.mark.parametrize("seconds", [-151, 151], ids=["151-s-old", "151-s-ahead"])
def test_a_request_more_than_150_seconds_from_now_is_rejected(verifier, chain, server, seconds):
    body = envelope_bytes(SKILL_ID, NOW + timedelta(seconds=seconds))
    assert rejection(verifier, chain.headers(body), body) == "timestamp"
    assert server.downloads == {}


@pytest.mark.parametrize("seconds", [-150, 150], ids=["150-s-old", "150-s-ahead"])
def test_a_request_150_seconds_from_now_is_accepted(verifier, chain, seconds):
    body = envelope_bytes(SKILL_ID, NOW + timedelta(seconds=seconds))
    check(verifier, chain.headers(body), body)


def test_timestamps_with_fractions_and_offsets_are_understood(verifier, chain):
    request = envelope(SKILL_ID, "2026-11-21T11:00:30.123+01:00")
    body = json.dumps(request).encode()
    check(verifier, chain.headers(body), body)


def test_a_skill_event_30_minutes_old_is_accepted(verifier, chain):
    body = envelope_bytes(SKILL_ID, NOW - timedelta(minutes=30), "AlexaSkillEvent.SkillEnabled")
    check(verifier, chain.headers(body), body)


def test_a_skill_event_more_than_an_hour_old_is_rejected(verifier, chain):
    body = envelope_bytes(SKILL_ID, NOW - timedelta(minutes=61), "AlexaSkillEvent.SkillDisabled")
    assert rejection(verifier, chain.headers(body), body) == "timestamp"


def test_an_ordinary_request_30_minutes_old_is_rejected(verifier, chain):
    body = envelope_bytes(SKILL_ID, NOW - timedelta(minutes=30), "IntentRequest")
    assert rejection(verifier, chain.headers(body), body) == "timestamp"


def test_skill_events_are_the_sdks_list():
    assert {"AlexaSkillEvent.SkillEnabled", "AlexaSkillEvent.SkillAccountLinked"} <= (
        verifier_constants.ALEXA_SKILL_EVENT_LIST
    )


def test_a_request_for_another_skill_is_rejected_before_any_download(verifier, chain, server):
    body = envelope_bytes("amzn1.ask.skill.someone-else", NOW)
    with pytest.raises(BadEnvelope) as caught:
        check(verifier, chain.headers(body), body)
    error = caught.value
    assert error.check == "application-id"
    assert "'amzn1.ask.skill.someone-else'" in str(error)
    assert server.downloads == {}


def test_a_request_without_any_application_id_is_rejected(verifier, chain):
    request = envelope(SKILL_ID, NOW)
    del request["context"]["System"]["application"]
    body = json.dumps(request).encode()
    assert rejection(verifier, chain.headers(body), body) == "application-id"


# Reporting


def test_each_rejection_logs_one_line_naming_the_check(verifier, chain, caplog):
    headers = chain.headers(BODY) | {"SignatureCertChainUrl": "http://s3.amazonaws.com/echo.api/x"}
    with caplog.at_level(logging.INFO, logger="trigger_coach.verify"):
        rejection(verifier, headers, BODY)
    assert len(caplog.records) == 1
    assert "cert-url" in caplog.records[0].getMessage()


def test_error_messages_quote_the_bad_value_and_cannot_flood_a_log(verifier, chain):
    url = "https://evil.example/" + "a" * 10_000 + "\nforged log line"
    with pytest.raises(VerificationError) as caught:
        check(verifier, chain.headers(BODY, cert_url=url), BODY)
    error = caught.value
    assert "'https://evil.example/aaa" in str(error)
    assert len(str(error)) < 300
    assert "\n" not in str(error)


def test_a_verifier_refuses_an_empty_trust_store():
    with pytest.raises(ValueError, match="empty list of trusted roots"):
        RequestVerifier(trusted_roots=[])
