"""A web server nobody can starve: idle, trickling and non-reading clients, stalled chain downloads (issue 11).

The production server (waitress, set up as `trigger-coach serve` does) runs in this process.
No test measures time: each attack is kept going while the other requests are sent, and those
must be answered before the attack ends (the client time-outs only stop a hung test).
"""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from skill.hosting.verify import RequestVerifier
from skill.hosting.web import create_app
from tests import alexa
from tests.certs import CHAIN_PATH, ChainServer, make_chain
from tests.server import ProcessServer, WaitressServer

HANG_GUARD = 30  # seconds; a request that takes this long was starved


def health(url: str) -> int:
    with urllib.request.urlopen(url + "/healthz", timeout=HANG_GUARD) as reply:
        return reply.status


def test_300_idle_connections_leave_health_and_alexa_requests_answered(app_settings):
    settings = app_settings.with_(idle_timeout=30)  # the idle crowd outlives the whole test
    with WaitressServer(create_app(settings), settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        idle = [socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD) for _ in range(300)]
        try:
            assert health(server.url) == 200
            status, reply = alexa.post(server.url, alexa.launch(), timeout=HANG_GUARD)
            assert status == 200 and alexa.speech_of(reply)
        finally:
            for conn in idle:
                conn.close()


def test_idle_connections_are_dropped_after_the_idle_timeout(app_settings):
    settings = app_settings.with_(idle_timeout=1)
    with WaitressServer(create_app(settings), settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD) as conn:
            assert conn.recv(1) == b""  # the server closed it; a hung server would time out here


def test_connections_that_trickle_a_request_forever_are_dropped_and_others_answered(app_settings, caplog):
    """Slowloris: each attacker sends a byte of its headers well inside the idle time-out, never the end.

    Enough of them to fill the connection limit would stop the server accepting anyone, for as
    long as they keep trickling; a request must arrive whole within the request time-out.
    """
    settings = app_settings.with_(idle_timeout=2, connection_limit=40, request_timeout=3)
    with WaitressServer(create_app(settings), settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        crowd = [socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD) for _ in range(60)]
        stop = threading.Event()

        def trickle() -> None:
            for conn in crowd:
                conn.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            while not stop.wait(0.3):
                for conn in crowd:
                    with contextlib.suppress(OSError):
                        conn.sendall(b"a")

        attack = threading.Thread(target=trickle, daemon=True)
        attack.start()
        try:
            assert health(server.url) == 200
            status, reply = alexa.post(server.url, alexa.launch(), timeout=HANG_GUARD)
            assert status == 200 and alexa.speech_of(reply)
            crowd[0].settimeout(HANG_GUARD)
            assert crowd[0].recv(65536) == b""  # the server hung up on the trickler (a hung test times out)
        finally:
            stop.set()
            attack.join()
            for conn in crowd:
                conn.close()
    drops = [r.getMessage() for r in caplog.records if "still sending one request" in r.getMessage()]
    assert drops and len(drops) < 10, drops  # said once per check, not once per connection


def test_clients_that_ask_for_tracks_and_never_read_them_are_dropped_and_others_answered(app_settings):
    """Track URLs are public: anyone may fetch one, over more connections than the limit, and read nothing.

    A connection whose reply makes no progress for the idle time-out is closed, so the server
    takes new connections again; each crowd member then gets its whole track and the close.
    """
    settings = app_settings.with_(idle_timeout=2, connection_limit=40)
    largest = max(settings.tracks_dir.glob("*.mp3"), key=lambda path: path.stat().st_size)
    with WaitressServer(create_app(settings), settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        crowd = []
        for _ in range(60):
            conn = socket.socket()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so the reply cannot all be taken in
            conn.settimeout(HANG_GUARD)
            conn.connect(("127.0.0.1", port))
            conn.sendall(f"GET /audio/{largest.name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            crowd.append(conn)
        try:
            assert health(server.url) == 200
            status, reply = alexa.post(server.url, alexa.launch(), timeout=HANG_GUARD)
            assert status == 200 and alexa.speech_of(reply)
            for conn in crowd:  # a connection the server kept open would time out here
                data = b""
                while chunk := conn.recv(65536):
                    data += chunk
                assert data.startswith(b"HTTP/1.1 200") and data.endswith(largest.read_bytes())
        finally:
            for conn in crowd:
                conn.close()


def test_clients_that_pipeline_many_tracks_and_never_read_them_leave_others_answered(app_settings, caplog):
    """One connection per worker asks for far more than waitress keeps in its output buffers, and reads nothing.

    Each worker answering one of them waits for its client to read. Those connections are
    closed once they have sent nothing for the idle time-out, which frees the workers.
    """
    settings = app_settings.with_(idle_timeout=2)
    largest = max(settings.tracks_dir.glob("*.mp3"), key=lambda path: path.stat().st_size)
    # Past waitress's 16 MB high-water mark with room to spare for what the kernel's socket
    # buffers take in (a few MB on loopback).
    many = 48 * 1024 * 1024 // largest.stat().st_size
    request = f"GET /audio/{largest.name} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    with WaitressServer(create_app(settings), settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        crowd = []
        for _ in range(settings.threads):
            conn = socket.socket()
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            conn.settimeout(HANG_GUARD)
            conn.connect(("127.0.0.1", port))
            conn.sendall(request * many)
            crowd.append(conn)
        try:
            time.sleep(1)  # every worker is waiting on one of them by now
            for _ in range(3):
                assert health(server.url) == 200
                status, reply = alexa.post(server.url, alexa.launch(), timeout=HANG_GUARD)
                assert status == 200 and alexa.speech_of(reply)
            for conn in crowd:  # each was closed part-way through its replies
                got = 0
                with contextlib.suppress(ConnectionResetError):
                    while chunk := conn.recv(1 << 20):
                        got += len(chunk)
                assert got < many * largest.stat().st_size
        finally:
            for conn in crowd:
                conn.close()
    assert "read none of their replies" in caplog.text


def test_a_body_announced_over_the_limit_is_refused_before_it_is_sent(app_settings):
    """Waitress itself answers 413 on the head, instead of spooling up to a gigabyte to disk first."""
    from skill.hosting.web import MAX_BODY

    with WaitressServer(create_app(app_settings), app_settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD) as conn:
            conn.sendall(f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {1000 * MAX_BODY}\r\n\r\n".encode())
            conn.sendall(b"{" * 65536)  # and it goes on sending
            data = conn.recv(65536)
    assert data.startswith(b"HTTP/1.1 413"), data[:200]


def test_a_keep_alive_client_pipelining_for_longer_than_the_request_timeout_keeps_its_connection(app_settings):
    """Each send ends part-way into the next request: the clock is for one request, not the connection."""
    settings = app_settings.with_(idle_timeout=5, request_timeout=1)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with WaitressServer(create_app(settings), settings) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD) as conn:
            conn.sendall(request + request[:10])
            for _ in range(6):  # 6 x 0.5 s: three request time-outs in all
                time.sleep(0.5)
                conn.sendall(request[10:] + request[:10])
            conn.sendall(request[10:])  # 8 requests in all
            data = b""
            while data.count(b"HTTP/1.1 200") < 8 or not data.endswith(b"}\n"):
                chunk = conn.recv(65536)
                if not chunk:  # the server hung up early
                    break
                data += chunk
    assert data.count(b"HTTP/1.1 200") == 8


def test_a_host_with_two_addresses_gets_the_timer_on_both_listeners(app_settings, monkeypatch):
    """'localhost' is ::1 and 127.0.0.1 on many machines: waitress then makes one listener per address."""
    from waitress.server import BaseWSGIServer

    from skill.hosting.web import make_server

    resolve = socket.getaddrinfo

    def both(host, *args, **kwargs):  # the resolver's answer on such a machine
        if host == "two.test":
            return [*resolve("::1", *args, **kwargs), *resolve("127.0.0.1", *args, **kwargs)]
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", both)
    try:
        server = make_server(create_app(app_settings), app_settings.with_(host="two.test", port=0))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        listeners = [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]
        assert len(listeners) == 2
        assert all(listener.channel_class.__name__ == "TimedChannel" for listener in listeners)
        assert all("maintenance" in vars(listener) for listener in listeners)  # our check, on each
    finally:
        server.close()


def unsigned_request(url: str) -> int:
    """Post a well-formed request with a fresh timestamp and a made-up signature for a chain URL."""
    body = json.dumps(alexa.launch()).encode()
    headers = {"SignatureCertChainUrl": "https://s3.amazonaws.com/echo.api/stalled.pem",
               "Signature-256": "bm90IGEgc2lnbmF0dXJl"}
    return alexa.post(url, body, headers, timeout=HANG_GUARD)[0]


def test_unsigned_requests_against_a_stalled_chain_host_leave_other_requests_answered(app_settings):
    chain = make_chain(now=datetime.now(UTC))
    settings = app_settings.with_(verify=True)
    with ChainServer({CHAIN_PATH: chain.pem()}) as certs:
        # A download gets longer than the whole test, so only the download limits keep workers free.
        verifier = RequestVerifier(trusted_roots=[chain.root], cert_origin=certs.origin, timeout=120)
        with WaitressServer(create_app(settings, verifier=verifier), settings) as server:
            good = json.dumps(alexa.launch()).encode()
            assert alexa.post(server.url, good, chain.headers(good))[0] == 200  # the good chain is cached
            certs.stall = True
            with ThreadPoolExecutor(max_workers=50) as attackers:
                attack = [attackers.submit(unsigned_request, server.url) for _ in range(50)]
                try:
                    for _ in range(5):
                        assert health(server.url) == 200
                        body = json.dumps(alexa.launch()).encode()
                        status, reply = alexa.post(server.url, body, chain.headers(body), timeout=HANG_GUARD)
                        assert status == 200 and alexa.speech_of(reply), reply
                    assert sum(f.done() for f in attack) >= 40  # most were turned away at once
                    assert certs.downloads.get("/echo.api/stalled.pem") == 1  # one download, shared
                finally:
                    certs._release.set()  # the stalled downloads end; their requests get 400
                statuses = [f.result(timeout=HANG_GUARD) for f in attack]
    assert set(statuses) == {400}


@pytest.fixture(autouse=True)
def _enough_descriptors():
    """Skip where this process may not open the ~700 sockets the idle-crowd test needs."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024:
        pytest.skip(f"needs 1024 open files; ulimit -n is {soft}")


def test_trigger_coach_serve_starts_waitress_with_these_settings_and_logs_cleanly(app_settings, tmp_path):
    log_path = tmp_path / "server.log"
    with ProcessServer(app_settings.with_(idle_timeout=1), log_path=log_path) as server:
        port = server.url.rsplit(":", 1)[1]
        with socket.create_connection(("127.0.0.1", int(port)), timeout=HANG_GUARD) as conn:
            assert conn.recv(1) == b""  # the idle timeout reached the production server
    log = log_path.read_text()
    assert f"Trigger Coach listening on http://127.0.0.1:{port}/" in log
    assert "Traceback" not in log and "Logging error" not in log, log
