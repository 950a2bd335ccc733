"""The shared HTTP/1.1 client against a raw loopback server that replies with exactly the given bytes."""

from __future__ import annotations

import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator

import pytest

from skill.http_client import Connection, MalformedReply, TooLong

HANG_GUARD = 30  # seconds; only stops a hung test


class RawServer:
    """Accept one connection; answer each request read from it with the next of `replies`."""

    def __init__(self, replies: list[bytes]) -> None:
        self.replies = replies
        self.requests: list[bytes] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            conn = self.listener.accept()[0]
        except OSError:  # the test ended without connecting (a request refused before sending)
            return
        with conn:
            for reply in self.replies:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                self.requests.append(data)
                conn.sendall(reply)
            conn.recv(1)  # until the client closes


@pytest.fixture
def serve() -> Iterator:
    servers: list[RawServer] = []

    def start(*replies: bytes) -> RawServer:
        servers.append(RawServer(list(replies)))
        return servers[-1]

    yield start
    for server in servers:
        server.listener.close()


def exchange(connection: Connection, method: str = "GET", body: bytes = b"", **kwargs):
    return connection.exchange(method, "/x", {"Accept": "*/*"}, body, deadline=time.monotonic() + 5,
                               connect_timeout=5, **kwargs)


def test_a_204_reply_has_no_body_and_the_kept_alive_connection_serves_the_next_request(serve):
    server = serve(b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    connection = Connection("127.0.0.1", server.port, None)
    try:
        first = exchange(connection, "DELETE")
        second = exchange(connection)
    finally:
        connection.close()
    assert (first.status, first.body, first.will_close) == (204, b"", False)
    assert (second.status, second.body) == (200, b"ok")


def test_requests_name_the_host_and_port_and_give_a_length_only_with_a_body_or_a_post(serve):
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    server = serve(ok, ok, ok)
    connection = Connection("127.0.0.1", server.port, None)
    try:
        exchange(connection)
        exchange(connection, "POST")
        exchange(connection, "PUT", b"{}")
    finally:
        connection.close()
    get, post, put = (request.decode("latin-1").split("\r\n") for request in server.requests)
    assert get[0] == "GET /x HTTP/1.1" and f"Host: 127.0.0.1:{server.port}" in get
    assert not any(line.startswith("Content-Length") for line in get)
    assert "Content-Length: 0" in post and "Content-Length: 2" in put


def test_a_reply_over_the_callers_cap_is_refused_before_it_is_read(serve):
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")  # the body never comes
    connection = Connection("127.0.0.1", server.port, None)
    try:
        with pytest.raises(TooLong):
            exchange(connection, max_body=4096)
    finally:
        connection.close()


@pytest.mark.parametrize(("method", "path", "headers"), [
    ("GET", "/", {"X-Evil": "a\r\nX-Injected: 1"}),
    ("GET", "/", {"X-Nul": "a\x00b"}),
    ("GET", "/", {"Bad Name": "a"}),
    ("GET", "/a b", {}),
    ("GET", "/\x0b", {}),
    ("GET", "/\u20ac", {}),
    ("GET /x HTTP/1.1\r\nX:", "/", {}),
], ids=["header line break", "header NUL", "header name with a space", "path with a space", "path with a control",
        "path not ASCII", "method smuggling a line"])
def test_a_request_that_cannot_be_sent_as_written_is_refused_before_anything_is_sent(serve, method, path, headers):
    server = serve()
    connection = Connection("127.0.0.1", server.port, None)
    with pytest.raises(ValueError):
        connection.exchange(method, path, headers, deadline=time.monotonic() + 5, connect_timeout=5)
    assert connection.sock is None and server.requests == []


def test_an_ipv6_literal_host_is_bracketed_in_the_host_header():
    try:
        listener = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    seen: list[bytes] = []

    def serve() -> None:
        conn = listener.accept()[0]
        with conn:
            seen.append(conn.recv(65536))
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    port = listener.getsockname()[1]
    threading.Thread(target=serve, daemon=True).start()
    with listener:
        connection = Connection("::1", port, None)
        try:
            assert exchange(connection).status == 200
        finally:
            connection.close()
    assert f"Host: [::1]:{port}".encode() in seen[0]


def test_a_body_sent_a_byte_a_chunk_takes_the_memory_of_its_bytes_and_a_long_trailer_is_refused(serve):
    size = 200_000
    reply = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1\r\nx\r\n" * size + b"0\r\n\r\n"
    trailer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + b"X-T: 1\r\n" * 101 + b"\r\n"
    server = serve(reply, trailer)
    connection = Connection("127.0.0.1", server.port, None)
    tracemalloc.start()
    try:
        body = exchange(connection).body
        peak = tracemalloc.get_traced_memory()[1]
        # A list of 200,000 one-byte chunks alone would take about 40 bytes each: 8 MB.
        assert body == b"x" * size and peak < 5 * size
        with pytest.raises(MalformedReply, match="trailer has more than 100 lines"):
            exchange(connection)
    finally:
        tracemalloc.stop()
        connection.close()


def test_a_name_lookup_that_hangs_ends_at_the_deadline_and_is_shared_by_everyone_waiting(serve, monkeypatch):
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    resolve, release, asked, answered = socket.getaddrinfo, threading.Event(), [], []

    def resolver(host, port, *args, **kwargs):  # the system resolver, stalled for one name
        if host == "stalled.test" and not kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            asked.append(host)
            release.wait(HANG_GUARD)
            answered.append(host)
            return resolve("127.0.0.1", port, *args, **kwargs)
        return resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    outcomes: list[tuple[BaseException | None, int]] = []  # what each attempt got, and the answers by then

    def attempt() -> None:
        try:
            Connection("stalled.test", server.port, None).exchange(
                "GET", "/x", {}, deadline=time.monotonic() + 0.5, connect_timeout=5)
            outcomes.append((None, len(answered)))
        except BaseException as error:  # recorded and checked below
            outcomes.append((error, len(answered)))

    waiting = [threading.Thread(target=attempt) for _ in range(5)]
    for thread in waiting:
        thread.start()
    for thread in waiting:
        thread.join(HANG_GUARD)
    # All five gave up while the lookup still hung, not after it answered.
    assert len(outcomes) == 5 and all(isinstance(error, TimeoutError) and not answers
                                      for error, answers in outcomes), outcomes
    assert asked == ["stalled.test"]  # one lookup for the five
    release.set()
    for thread in threading.enumerate():
        if thread.name == "lookup stalled.test":
            thread.join(HANG_GUARD)
    connection = Connection("stalled.test", server.port, None)
    try:  # once the lookup ends, the next connection looks the name up afresh and gets through
        assert exchange(connection).body == b"ok"
    finally:
        connection.close()
    assert asked == ["stalled.test", "stalled.test"]
