"""The shared HTTP/1.1 client against a raw loopback server that replies with exactly the given bytes."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import threading
import time
import traceback
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from skill.http_client import Connection, MalformedReply, TooLong, tls_context

HANG_GUARD = 30  # seconds; only stops a hung test


def read_request(conn: socket.socket) -> bytes:
    """Read one request's head from `conn` (b"" or what came before the close, if it closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


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
                self.requests.append(read_request(conn))
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


def exchange_within(host: str, port: int, seconds: float = 0.5):
    connection = Connection(host, port, None)
    try:
        return connection.exchange("GET", "/x", {}, deadline=time.monotonic() + seconds, connect_timeout=seconds)
    finally:
        connection.close()


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


def stalled_resolver(monkeypatch, name: str, release: threading.Event,
                     error: OSError | None = None) -> tuple[list[str], list[str]]:
    """Stall the system resolver for `name` until `release` (in this process only).

    Return the lookups of `name` asked for and those answered so far.
    """
    resolve, asked, answered, parent = socket.getaddrinfo, [], [], os.getpid()

    def resolver(host, port, *args, **kwargs):
        if host != name or kwargs.get("flags", 0) & socket.AI_NUMERICHOST:
            return resolve(host, port, *args, **kwargs)  # a name is no address literal, as ever
        if os.getpid() == parent:
            asked.append(host)
            release.wait(HANG_GUARD)
            answered.append(host)
            if error is not None:
                raise error
        return resolve("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    return asked, answered


def test_a_name_lookup_that_hangs_ends_at_the_deadline_and_is_shared_by_everyone_waiting(serve, monkeypatch):
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    release = threading.Event()
    asked, answered = stalled_resolver(monkeypatch, "stalled.test", release)
    outcomes: list[tuple[BaseException | None, int]] = []  # what each attempt got, and the answers by then

    def attempt() -> None:
        try:
            exchange_within("stalled.test", server.port)
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
    # Once the lookup ends, the next connection looks the name up afresh and gets through.
    assert exchange_within("stalled.test", server.port, 5).body == b"ok"
    assert asked == ["stalled.test", "stalled.test"]


def test_when_no_thread_can_be_started_for_a_lookup_it_fails_now_and_the_next_one_tries_afresh(serve, monkeypatch):
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    answered = threading.Event()
    answered.set()  # the resolver answers at once: only the thread is missing
    stalled_resolver(monkeypatch, "nothreads.test", answered)
    start = threading.Thread.start

    def refuse(thread):  # what a process out of threads or memory gets
        if thread.name.startswith("lookup "):
            raise RuntimeError("can't start new thread")
        return start(thread)

    monkeypatch.setattr(threading.Thread, "start", refuse)
    with pytest.raises(OSError, match=r"could not start looking up 'nothreads\.test'"):
        exchange(Connection("nothreads.test", server.port, None))
    monkeypatch.setattr(threading.Thread, "start", start)
    connection = Connection("nothreads.test", server.port, None)
    try:  # not left waiting for the lookup that never started
        assert exchange(connection).body == b"ok"
    finally:
        connection.close()


def test_a_lookup_failure_reaches_every_waiter_as_an_error_of_its_own(monkeypatch):
    release = threading.Event()
    stalled_resolver(monkeypatch, "gone.test", release, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            Connection("gone.test", 80, None).exchange("GET", "/", {}, deadline=time.monotonic() + HANG_GUARD,
                                                       connect_timeout=HANG_GUARD)
        except OSError as error:
            errors.append(error)

    waiting = [threading.Thread(target=waiter) for _ in range(5)]
    for thread in waiting:
        thread.start()
    time.sleep(0.2)  # all five wait for the one lookup
    release.set()
    for thread in waiting:
        thread.join(HANG_GUARD)
    assert len(errors) == 5 and all(isinstance(error, socket.gaierror) for error in errors)
    assert len({id(error) for error in errors}) == 5  # one raised five times would gather all their frames
    assert all(len(traceback.extract_tb(error.__traceback__)) < 8 for error in errors)


def test_a_process_forked_during_a_lookup_looks_the_name_up_itself(serve, monkeypatch):
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    release = threading.Event()
    stalled_resolver(monkeypatch, "forked.test", release)

    def parent_lookup() -> None:
        with pytest.raises(TimeoutError):
            exchange_within("forked.test", server.port)

    stalled = threading.Thread(target=parent_lookup)
    stalled.start()
    time.sleep(0.2)  # the parent's lookup is under way
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # the child has the parent's list of lookups, but not their threads
        try:
            os.write(writer, exchange_within("forked.test", server.port, 5).body)
        except BaseException as error:
            os.write(writer, type(error).__name__.encode())
        finally:
            os._exit(0)
    os.close(writer)
    try:
        assert os.read(reader, 100) == b"ok"
    finally:
        os.close(reader)
        os.waitpid(child, 0)
        release.set()
        stalled.join(HANG_GUARD)


def test_over_tls_a_stray_reply_whose_record_has_only_partly_arrived_is_never_taken_for_the_next_answer(tmp_path):
    """Half of the stray reply's TLS record is there when the connection is checked, half comes later."""
    from cryptography.hazmat.primitives import serialization

    from tests.certs import make_chain

    chain = make_chain(now=datetime.now(UTC), dns_names=("localhost",))
    (tmp_path / "cert.pem").write_bytes(chain.pem())
    (tmp_path / "key.pem").write_bytes(chain.leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (tmp_path / "root.pem").write_bytes(chain.root.public_bytes(serialization.Encoding.PEM))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    stray_next, connections = threading.Event(), []

    def backend(conn: ssl.SSLSocket, number: int) -> None:
        with conn, contextlib.suppress(OSError):  # the client hangs up on the first connection
            read_request(conn)
            if number == 0:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
                time.sleep(0.1)
                stray_next.set()
                conn.sendall(b"HTTP/1.1 500 Stray\r\nContent-Length: 5\r\n\r\nstray")
                read_request(conn)
            else:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
                conn.recv(1)

    def proxy(client: socket.socket, number: int) -> None:  # holds back half of the stray record
        upstream = socket.create_connection(("127.0.0.1", backend_port))
        held = b""
        with client, upstream, contextlib.suppress(OSError):
            while True:
                ready = select.select([client, upstream], [], [], HANG_GUARD)[0]
                if not ready:
                    return
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        return
                    if number == 0 and stray_next.is_set() and not held:
                        client.sendall(data[:len(data) // 2])
                        held = data[len(data) // 2:]
                    else:
                        client.sendall(data)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    if held:  # too late: the client has sent its next request on this connection
                        client.sendall(held)
                    upstream.sendall(data)

    def accept(listener: socket.socket, serve, wrap=None) -> None:
        number = 0
        while True:
            try:
                conn = listener.accept()[0]
            except OSError:
                return
            if wrap is not None:
                connections.append(number)
                try:
                    conn = wrap.wrap_socket(conn, server_side=True)
                except OSError:
                    continue
            threading.Thread(target=serve, args=(conn, number), daemon=True).start()
            number += 1

    with socket.create_server(("127.0.0.1", 0)) as back, socket.create_server(("127.0.0.1", 0)) as front:
        backend_port = back.getsockname()[1]
        threading.Thread(target=accept, args=(back, backend, server_tls), daemon=True).start()
        threading.Thread(target=accept, args=(front, proxy), daemon=True).start()
        connection = Connection("localhost", front.getsockname()[1], tls_context(str(tmp_path / "root.pem")))
        try:
            assert exchange(connection).body == b"first"
            time.sleep(0.4)  # half of the stray record has arrived
            second = exchange(connection)
        finally:
            connection.close()
    assert (second.status, second.body) == (200, b"second") and connections == [0, 1]
