"""Check our DynamoDB client against dynalite and against a loopback server for the faults it cannot make.

The fault server speaks DynamoDB's JSON 1.0 protocol: each request gets the next scripted
reply (a DynamoDB error, a garbled or checksum-broken body, silence, a reply trickled byte by
byte, a connection closed after the reply) and is recorded with its headers.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import ssl
import sys
import textwrap
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from skill.storage import StorageUnavailableError
from skill.storage.dynamo_client import (
    API_VERSION,
    CONTENT_TYPE,
    DynamoClient,
    MalformedReply,
    ServiceError,
    TransportError,
)
from skill.storage.dynamodb import DynamoAdapter
from skill.storage.sigv4 import Credentials, credential_source
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401  (the session fixture)

KEYS = lambda: Credentials("AKIDTEST", "secret", "session-token")  # noqa: E731


def error_reply(code: str, message: str = "", status: int = 400) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda handler: send(handler, status, {"__type": f"com.amazonaws.dynamodb.v20120810#{code}",
                                                 "message": message})


def ok_reply(body: dict[str, Any] | None = None, *, close: bool = False, crc: int | None = None,
             raw: bytes | None = None) -> Callable[[BaseHTTPRequestHandler], None]:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 200, body if body is not None else {}, crc=crc, raw=raw)
        if close:
            handler.close_connection = True  # closed after the reply, without saying so
    return reply


def stall(seconds: float) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda handler: time.sleep(seconds)


def trickle(pause: float) -> Callable[[BaseHTTPRequestHandler], None]:
    """Send a whole valid reply one byte at a time: every read gets data, the whole takes long."""
    def reply(handler: BaseHTTPRequestHandler) -> None:
        data = b'{"Item":{"id":{"S":"slow"}}}'
        head = (f"HTTP/1.1 200 OK\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: {len(data)}\r\n"
                f"x-amz-crc32: {zlib.crc32(data)}\r\n\r\n").encode()
        for byte in head + data:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(pause)
    return reply


def send(handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any], *, crc: int | None = None,
         raw: bytes | None = None) -> None:
    data = raw if raw is not None else json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", CONTENT_TYPE)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("x-amz-crc32", str(zlib.crc32(data) if crc is None else crc))
    handler.end_headers()
    handler.wfile.write(data)


@dataclass
class FaultServer:
    """What the fault server will answer and what it was asked."""

    url: str = ""
    script: list[Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    connections: set[tuple[str, int]] = field(default_factory=set)  # by the client's address and port


@contextmanager
def fault_server(wrap: Callable[[socket.socket], socket.socket] | None = None) -> Iterator[FaultServer]:
    state = FaultServer()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                state.connections.add(self.client_address)  # id() of a closed socket can come back
                state.requests.append({"headers": dict(self.headers.items()), "body": json.loads(body)})
                step = state.script.pop(0) if state.script else ok_reply()
            step(self)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if wrap is not None:
        server.socket = wrap(server.socket)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with fault_server() as state:
        yield state


def test_a_call_is_a_signed_post_of_dynamodbs_json_protocol(faults: FaultServer) -> None:
    faults.script = [ok_reply({"Item": {"id": {"S": "a"}}})]
    reply = DynamoClient(faults.url, "eu-west-1", KEYS).call("GetItem", {"TableName": "t", "Key": {"id": {"S": "ä"}}})
    assert reply == {"Item": {"id": {"S": "a"}}}
    (request,) = faults.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert headers["x-amz-target"] == f"{API_VERSION}.GetItem" == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amz-security-token"] == "session-token"
    assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
    assert "/eu-west-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;" \
           "x-amz-target, Signature=" in headers["authorization"]
    assert request["body"] == {"TableName": "t", "Key": {"id": {"S": "ä"}}}


def test_calls_from_one_thread_share_one_kept_alive_connection(faults: FaultServer) -> None:
    client = DynamoClient(faults.url, "us-east-1", KEYS)
    for _ in range(3):
        client.call("GetItem", {})
    assert len(faults.requests) == 3 and len(faults.connections) == 1


def test_a_kept_alive_connection_the_server_closed_is_reopened_without_using_an_attempt(faults: FaultServer) -> None:
    faults.script = [ok_reply(close=True), ok_reply({"Count": 1})]
    client = DynamoClient(faults.url, "us-east-1", KEYS, attempts=1)
    client.call("GetItem", {})
    time.sleep(0.05)  # let the close arrive, as an idle connection's would
    assert client.call("Query", {}) == {"Count": 1}
    assert len(faults.requests) == 2 and len(faults.connections) == 2


def reply_bytes(body: dict[str, Any]) -> bytes:
    data = json.dumps(body).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(data), data)


def test_a_reply_a_server_sends_unasked_after_its_answer_is_never_taken_for_the_next_answer(
        faults: FaultServer) -> None:
    # The stray reply comes a moment after the real one, so it waits in the idle connection.
    faults.script = [raw(reply_bytes({"Count": 1}), reply_bytes({"Count": 666}), pause=0.05), ok_reply({"Count": 2})]
    client = DynamoClient(faults.url, "us-east-1", KEYS, attempts=1)
    assert client.call("Query", {}) == {"Count": 1}
    time.sleep(0.3)
    assert client.call("Query", {}) == {"Count": 2}
    assert len(faults.requests) == 2 and len(faults.connections) == 2


def test_throttling_is_retried_and_the_second_answer_returned(faults: FaultServer) -> None:
    faults.script = [error_reply("ProvisionedThroughputExceededException", "slow down"), ok_reply({"Count": 7})]
    assert DynamoClient(faults.url, "us-east-1", KEYS).call("Query", {}) == {"Count": 7}
    assert len(faults.requests) == 2


def test_throttling_that_persists_raises_the_service_error_after_two_attempts(faults: FaultServer) -> None:
    faults.script = [error_reply("ThrottlingException", "busy")] * 5
    with pytest.raises(ServiceError) as caught:
        DynamoClient(faults.url, "us-east-1", KEYS).call("Query", {})
    assert (caught.value.code, caught.value.message, caught.value.status) == ("ThrottlingException", "busy", 400)
    assert len(faults.requests) == 2


def test_a_server_error_is_retried_but_a_conditional_check_failure_is_not(faults: FaultServer) -> None:
    faults.script = [error_reply("InternalServerError", "oops", 500), ok_reply({"ok": 1})]
    client = DynamoClient(faults.url, "us-east-1", KEYS)
    assert client.call("PutItem", {}) == {"ok": 1}
    faults.script = [error_reply("ConditionalCheckFailedException", "The conditional request failed")]
    with pytest.raises(ServiceError, match="ConditionalCheckFailedException"):
        client.call("PutItem", {})
    assert len(faults.requests) == 3


@pytest.mark.parametrize("broken", [
    ok_reply(raw=b"<html>Bad gateway</html>"),
    ok_reply(raw=b"[1, 2]"),
    ok_reply({"Item": {}}, crc=12345),
], ids=["not JSON", "not an object", "checksum mismatch"])
def test_a_malformed_reply_is_retried_once_then_reported_as_malformed(faults: FaultServer, broken) -> None:
    faults.script = [broken, ok_reply({"Count": 2})]
    client = DynamoClient(faults.url, "us-east-1", KEYS)
    assert client.call("Query", {}) == {"Count": 2}
    faults.script = [broken, broken]
    with pytest.raises(MalformedReply):
        client.call("Query", {})


def raw(*parts: bytes, pause: float = 0.0) -> Callable[[BaseHTTPRequestHandler], None]:
    """Write a reply as given, part by part (a pause between parts), bypassing http.server's formatting."""
    def reply(handler: BaseHTTPRequestHandler) -> None:
        for part in parts:
            handler.wfile.write(part)
            handler.wfile.flush()
            time.sleep(pause)
    return reply


def chunked_reply(body: bytes, size: int) -> Callable[[BaseHTTPRequestHandler], None]:
    chunks = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size])
                      for i in range(0, len(body), size))
    return raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: " + CONTENT_TYPE.encode() +
               b"\r\n\r\n", chunks, b"0\r\nX-Trailer: t\r\n\r\n", pause=0.01)


def test_a_chunked_reply_sent_in_pieces_is_joined_and_the_connection_kept(faults: FaultServer) -> None:
    body = json.dumps({"Items": [{"id": {"S": "x" * 50}}] * 20}).encode()
    faults.script = [chunked_reply(body, 97), ok_reply({"Count": 1})]
    client = DynamoClient(faults.url, "us-east-1", KEYS)
    assert client.call("Query", {}) == json.loads(body)
    assert client.call("Query", {}) == {"Count": 1}
    assert len(faults.connections) == 1


def test_an_interim_100_reply_is_skipped_and_a_reply_saying_close_closes_the_connection(faults: FaultServer) -> None:
    data = b'{"Count":4}'
    faults.script = [raw(b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 200 OK\r\nConnection: close\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(data), data)), ok_reply({"Count": 5})]
    client = DynamoClient(faults.url, "us-east-1", KEYS)
    assert client.call("Query", {}) == {"Count": 4}
    assert client.call("Query", {}) == {"Count": 5}
    assert len(faults.connections) == 2


@pytest.mark.parametrize("broken", [
    raw(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"Count\""),
    raw(b"HTTP/1.1 200 OK\r\nContent-Le"),
    raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"Co"),
], ids=["body", "headers", "chunk"])
def test_a_reply_cut_off_by_the_server_is_retried_once_then_a_transport_error(faults: FaultServer, broken) -> None:
    def cut(handler: BaseHTTPRequestHandler) -> None:
        broken(handler)
        handler.close_connection = True

    faults.script = [cut, ok_reply({"Count": 6})]
    client = DynamoClient(faults.url, "us-east-1", KEYS)
    assert client.call("Query", {}) == {"Count": 6}
    faults.script = [cut, cut]
    with pytest.raises(TransportError, match="closed"):
        client.call("Query", {})


@pytest.mark.parametrize("garbage", [
    b"SMTP ready\r\n\r\n",
    b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"f" * 30 + b"\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: " + b"0" * 5000 + b"2\r\n\r\n{}",
    b"HTTP/1.1 2\xb20 OK\r\nContent-Length: 2\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\n{}\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n" + b" " * 100_000,
    b"HTTP/1.1 200 OK\r\n" + b"X-Same: a\r\n" * 101 + b"Content-Length: 2\r\n\r\n{}",
], ids=["not http", "bad status", "bad length", "bad header", "endless header", "a length of 10^30 bytes",
        "a chunk of 16^30 bytes", "a superscript length", "a 5001-digit length", "a superscript status",
        "a negative chunk", "a chunk of -1 (to the close)", "one header 101 times"])
def test_a_reply_that_is_not_http_is_retried_once_then_reported_as_malformed(faults: FaultServer, garbage) -> None:
    def bad(handler: BaseHTTPRequestHandler) -> None:
        raw(garbage)(handler)
        handler.close_connection = True

    faults.script = [bad, bad]
    with pytest.raises(MalformedReply, match="reply"):
        DynamoClient(faults.url, "us-east-1", KEYS).call("Query", {})
    assert len(faults.requests) == 2


def test_an_error_reply_that_is_not_json_keeps_its_status_as_the_code(faults: FaultServer) -> None:
    faults.script = [lambda h: send(h, 403, {}, raw=b"Forbidden")]
    with pytest.raises(ServiceError) as caught:
        DynamoClient(faults.url, "us-east-1", KEYS).call("GetItem", {})
    assert (caught.value.code, caught.value.status) == ("403", 403)


def test_a_server_that_stalls_is_given_up_on_at_the_calls_deadline(faults: FaultServer) -> None:
    faults.script = [stall(30)] * 2
    client = DynamoClient(faults.url, "us-east-1", KEYS, deadline=0.3)
    with pytest.raises(TransportError, match=r"no reply within 0.3 s"):
        client.call("GetItem", {})


def test_a_reply_trickled_byte_by_byte_still_ends_at_the_calls_deadline(faults: FaultServer) -> None:
    # Each read gets a byte well within any per-read timeout; only a deadline for the whole
    # call stops it (the whole reply would take several seconds).
    faults.script = [trickle(0.05)] * 2
    client = DynamoClient(faults.url, "us-east-1", KEYS, deadline=0.3)
    with pytest.raises(TransportError, match="no reply within"):
        client.call("GetItem", {})


def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TransportError, match="connection failed"):
        DynamoClient(f"http://127.0.0.1:{port}", "us-east-1", KEYS).call("GetItem", {})


def test_an_endpoint_that_is_not_http_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'dynamodb\.local' is not an http\(s\) URL"):
        DynamoClient("dynamodb.local", "us-east-1", KEYS)


def test_the_adapter_reports_throttling_that_outlasts_its_retries_as_unavailable_naming_the_code(
    faults: FaultServer,
) -> None:
    faults.script = [error_reply("ProvisionedThroughputExceededException", "Rate exceeded")] * 50
    adapter = DynamoAdapter("coach", endpoint_url=faults.url)
    with pytest.raises(StorageUnavailableError, match=r"ProvisionedThroughputExceededException: Rate exceeded"):
        adapter.profile("user-a")


def test_the_adapter_reports_a_garbled_reply_as_unavailable_saying_it_could_not_be_read(faults: FaultServer) -> None:
    faults.script = [ok_reply(raw=b"garbage")] * 2
    with pytest.raises(StorageUnavailableError, match=r"gave a reply that cannot be read .*not a JSON object"):
        DynamoAdapter("coach", endpoint_url=faults.url).profile("user-a")


def test_a_conditional_put_that_fails_on_dynalite_is_a_conditional_check_failure(dynalite_endpoint) -> None:  # noqa: F811
    table = f"client-{uuid.uuid4().hex[:8]}"
    assert DynamoAdapter(table, endpoint_url=dynalite_endpoint, create_table=True).profile("u") == {}  # creates it
    client = DynamoClient(dynalite_endpoint, "us-east-1", KEYS)
    put = {"TableName": table, "Item": {"id": {"S": "u"}, "sk": {"S": "profile"}},
           "ConditionExpression": "attribute_not_exists(sk)"}
    assert client.call("PutItem", put) == {}
    with pytest.raises(ServiceError) as caught:
        client.call("PutItem", put)
    assert (caught.value.code, caught.value.status) == ("ConditionalCheckFailedException", 400)
    with pytest.raises(ServiceError) as caught:
        client.call("GetItem", {"TableName": table, "Key": {"id": {"S": "u"}}})
    assert caught.value.code == "ValidationException"


@contextmanager
def tls_fault_server(tmp_path: Path) -> Iterator[tuple[FaultServer, Path]]:
    """Serve the fault server over TLS with a certificate for "localhost"; yield it and its root CA file."""
    from cryptography.hazmat.primitives import serialization

    from tests.certs import make_chain

    chain = make_chain(now=datetime.now(UTC), dns_names=("localhost",))
    cert, key, root = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "root.pem"
    cert.write_bytes(chain.pem())
    key.write_bytes(chain.leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                 serialization.NoEncryption()))
    root.write_bytes(chain.root.public_bytes(serialization.Encoding.PEM))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with fault_server(wrap=lambda sock: context.wrap_socket(sock, server_side=True)) as state:
        yield state, root


def test_an_https_endpoint_is_reached_over_tls_trusting_the_given_roots(tmp_path: Path) -> None:
    with tls_fault_server(tmp_path) as (faults, root):
        port = faults.url.rsplit(":", 1)[1]
        faults.script = [ok_reply({"Count": 3})]
        assert DynamoClient(f"https://localhost:{port}", "us-east-1", KEYS, ca_file=str(root)).call(
            "Query", {}) == {"Count": 3}


def test_over_tls_calls_share_one_connection_and_one_the_server_closed_unannounced_is_reopened(
        tmp_path: Path) -> None:
    def then_close(handler: BaseHTTPRequestHandler) -> None:
        ok_reply({"Count": 2})(handler)
        handler.close_connection = True  # without saying so in the reply

    with tls_fault_server(tmp_path) as (faults, root):
        port = faults.url.rsplit(":", 1)[1]
        faults.script = [ok_reply({"Count": 1}), then_close, ok_reply({"Count": 3})]
        client = DynamoClient(f"https://localhost:{port}", "us-east-1", KEYS, ca_file=str(root), attempts=1)
        assert [client.call("Query", {}) for _ in range(2)] == [{"Count": 1}, {"Count": 2}]
        assert len(faults.connections) == 1  # TLS records that are not data (session tickets) keep it
        time.sleep(0.2)
        assert client.call("Query", {}) == {"Count": 3}
        assert len(faults.requests) == 3 and len(faults.connections) == 2


def test_an_https_endpoint_with_an_untrusted_certificate_or_another_name_is_refused(tmp_path: Path) -> None:
    with tls_fault_server(tmp_path) as (faults, root):
        port = faults.url.rsplit(":", 1)[1]
        with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
            DynamoClient(f"https://localhost:{port}", "us-east-1", KEYS).call("Query", {})  # certifi's roots
        with pytest.raises(TransportError, match=r"IP address mismatch"):
            DynamoClient(f"https://127.0.0.1:{port}", "us-east-1", KEYS, ca_file=str(root)).call("Query", {})
    assert not faults.requests, "nothing was sent to a server whose certificate failed"


@pytest.fixture
def profile_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Leave no keys in the environment; give botocore a config whose credential_process counts its calls."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    counter = tmp_path / "issued"
    script = tmp_path / "issue.py"
    # Each call issues new temporary keys that expire in a minute: inside botocore's refresh window.
    script.write_text(textwrap.dedent(f"""
        import json, pathlib
        from datetime import datetime, timedelta, timezone
        counter = pathlib.Path({str(counter)!r})
        n = int(counter.read_text()) + 1 if counter.exists() else 1
        counter.write_text(str(n))
        expires = (datetime.now(timezone.utc) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        print(json.dumps({{"Version": 1, "AccessKeyId": f"ASIAPROCESS{{n}}", "SecretAccessKey": "s",
                          "SessionToken": f"token-{{n}}", "Expiration": expires}}))
    """))
    (tmp_path / "config").write_text(f"[default]\ncredential_process = {sys.executable} {script}\n")
    (tmp_path / "credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return counter


def test_without_keys_in_the_environment_botocores_chain_signs_and_the_log_says_so(
    profile_only: Path, faults: FaultServer, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="trigger_coach.storage"):
        client = DynamoClient(faults.url, "us-east-1", credential_source())
        client.call("GetItem", {})
    assert any("importing botocore for its credential chain" in r.getMessage() for r in caplog.records)
    headers = {k.lower(): v for k, v in faults.requests[0]["headers"].items()}
    issued = re.match(r"AWS4-HMAC-SHA256 Credential=ASIAPROCESS(\d+)/", headers["authorization"])
    assert issued, headers["authorization"]
    assert headers["x-amz-security-token"] == f"token-{issued.group(1)}", "the key and its token belong together"


def test_temporary_credentials_from_the_chain_are_renewed_before_they_expire(profile_only: Path) -> None:
    current = credential_source()
    first, second = current(), current()
    assert first.access_key.startswith("ASIAPROCESS") and second.access_key != first.access_key, \
        "keys due to expire within botocore's refresh window are fetched again"
    assert int(profile_only.read_text()) >= 2


def test_with_no_credentials_anywhere_the_adapter_says_which_variables_to_set(
    profile_only: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    (tmp_path / "config").write_text("")
    adapter = DynamoAdapter("coach", endpoint_url="http://dynamodb.invalid:1")  # not loopback: keys are needed
    with pytest.raises(StorageUnavailableError, match=r"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"):
        adapter.profile("user-a")
