"""The one HTTP/1.1 client: DynamoDB, Alexa's cloud APIs and certificate chain downloads use it.

One request, one reply, all of it by one deadline: every socket operation is allowed only the
time left until ``deadline`` (a `time.monotonic()` reading), so a server that trickles its
answer a byte at a time is cut off as surely as one that goes silent. Redirects are never
followed. A `Connection` is kept alive between exchanges until the server says it will close.

The HTTP is the little these exchanges need: a request with Content-Length, and a reply of
status line, headers and a body sized by Content-Length, sent chunked, or ending with the
connection; interim 1xx replies are skipped. Before a kept-alive connection is used again it
is checked for anything the server sent unasked (bytes after its last reply, or its close): such
a connection is closed and a new one opened, so stray bytes are never read as the next reply.
http.client would parse the reply's headers with the email package, and importing the two
takes about 12 ms of every cold start (AWS's own Lambda runtime client avoids it for that
reason); what is here costs nothing to import beyond socket, ssl and select.
"""

from __future__ import annotations

import copy
import io
import os
import re
import select
import socket
import ssl
import threading
import time
from typing import Any, NamedTuple
from urllib.parse import urlsplit

MAX_LINE = 65536  # bytes in a status or header line, as http.client allows
MAX_HEADERS = 100
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_BODY = 32 * 1024 * 1024  # bytes; DynamoDB's largest reply (BatchGetItem) is 16 MB
_BODY_EXPECTED = frozenset({"POST", "PUT", "PATCH"})  # sent with Content-Length even when empty
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110: a method or a header name
_TARGET = re.compile(r"[\x21-\x7e]+")  # a request target: visible ASCII, no space or control
_FIELD_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")  # no line break, NUL or other control
_PEEK = 16384  # bytes of waiting TLS records looked at; more than a few tickets take is data
_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")  # no sign, no 0x, no underscore: what int() alone allows


class TransportError(Exception):
    """Signal that no usable reply came back: unreachable, timed out, cut off or malformed."""


class MalformedReply(TransportError):
    """A reply came but cannot be read."""


class TooLong(MalformedReply):
    """The reply's body is longer than the caller allows."""


class Closed(ConnectionError):
    """The server closed the connection before the reply began (a kept-alive one it dropped)."""


class CutOff(TransportError):
    """The connection ended in the middle of a reply."""


class Reply(NamedTuple):
    status: int
    reason: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    will_close: bool  # the server ends the connection after this reply


def host_header(host: str, port: int | None, scheme: str) -> str:
    """Return the Host header for a host and port: an IPv6 literal in brackets, no default port."""
    bracketed = f"[{host}]" if ":" in host else host
    return bracketed if port is None or port == DEFAULT_PORTS.get(scheme) else f"{bracketed}:{port}"


def left_until(deadline: float) -> float:
    """Return the seconds left until ``deadline``; raise TimeoutError when none are."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed before the reply was complete")
    return left


class _DeadlineReader(io.RawIOBase):
    """Read a socket, each read allowed only the time left until the exchange's deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock, self._deadline = sock, deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(left_until(self._deadline))
        return self._sock.recv_into(buffer)


class Connection:
    """One kept-alive HTTP/1.1 connection to a host (TLS, verifying the host name, when given a context)."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.sock: socket.socket | None = None

    @classmethod
    def to(cls, url: str, tls: ssl.SSLContext | None) -> Connection:
        """Return a connection to the host and port of ``url`` (the scheme's port when it names none).

        Raises ValueError when the URL's port is not a number.
        """
        parts = urlsplit(url)
        return cls(parts.hostname or "", parts.port or DEFAULT_PORTS.get(parts.scheme, 443), tls)

    def exchange(self, method: str, path: str, headers: dict[str, str], body: bytes = b"", *, deadline: float,
                 connect_timeout: float, max_body: int = MAX_BODY) -> Reply:
        """Send one request and return its reply, all of it by ``deadline``.

        Raises TimeoutError when the deadline passes, ConnectionError (`Closed` when a kept-alive
        connection turns out closed) or another OSError when the connection fails, CutOff or
        MalformedReply for a reply that ends early or cannot be read, and TooLong for a body
        over ``max_body`` bytes (checked before it is read, whatever length the reply claims).
        """
        fields = dict(headers)
        if "host" not in {name.lower() for name in fields}:
            fields["Host"] = host_header(self.host, self.port, "https" if self.tls is not None else "http")
        if body or method in _BODY_EXPECTED:
            fields["Content-Length"] = str(len(body))
        if not _TOKEN.fullmatch(method) or not _TARGET.fullmatch(path):
            raise ValueError(f"{method[:20]!r} {path[:80]!r} is not a request line that can be sent.")
        lines = [f"{method} {path} HTTP/1.1"]
        for name, value in fields.items():
            if not _TOKEN.fullmatch(name) or not _FIELD_VALUE.fullmatch(value):
                raise ValueError(f"The {name[:40]!r} header {value[:80]!r} holds a line break or another "
                                 "character a header cannot; check where it comes from.")
            lines.append(f"{name}: {value}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body  # UnicodeEncodeError: a ValueError
        if self.sock is not None and _sent_unasked(self.sock):
            self.close()
        if self.sock is None:
            sock = _connect(self.host, self.port, min(deadline, time.monotonic() + connect_timeout))
            if self.tls is not None:
                try:
                    sock.settimeout(left_until(deadline))  # the handshake, too, within the deadline
                    sock = self.tls.wrap_socket(sock, server_hostname=self.host)
                except BaseException:
                    sock.close()
                    raise
            self.sock = sock
        self.sock.settimeout(left_until(deadline))
        self.sock.sendall(request)
        return _read_reply(io.BufferedReader(_DeadlineReader(self.sock, deadline)), max_body)

    def close(self) -> None:
        """Close the connection (the next exchange opens a new one)."""
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def _sent_unasked(sock: socket.socket) -> bool:
    """Return whether an idle connection has data waiting or was closed by the server.

    A TLS 1.3 server may send a session ticket at any time, which makes the socket readable
    without being data; a non-blocking read of one byte tells the two apart (a ticket is
    taken in and the read wants more), but only over whole TLS records: a record that has
    only partly arrived could be either, so such a connection counts as used. poll, not
    select: a busy server has descriptors past select's limit of 1024.
    """
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if not poller.poll(0):
        return False
    if not isinstance(sock, ssl.SSLSocket) or not _whole_records(sock):
        return True
    sock.setblocking(False)
    try:
        sock.recv(1)  # data or b"" (closed): either way not a connection to send on
    except ssl.SSLWantReadError:
        return False  # only TLS records that carry no data
    except OSError:
        pass
    return True


def _whole_records(sock: ssl.SSLSocket) -> bool:
    """Return whether the bytes waiting under a TLS socket end where a TLS record ends."""
    with socket.socket(fileno=os.dup(sock.fileno())) as raw:  # an SSLSocket refuses MSG_PEEK
        try:
            waiting = raw.recv(_PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False
    end = 0
    while end + 5 <= len(waiting):  # each record: type, version (2 bytes), length (2 bytes), body
        end += 5 + int.from_bytes(waiting[end + 3:end + 5], "big")
    return 0 < end == len(waiting) < _PEEK


def _connect(host: str, port: int, by: float) -> socket.socket:
    """Connect to the first of the host's addresses that answers, the lookup and all of them by ``by``.

    (socket.create_connection gives each address the whole time-out.)
    """
    failure: OSError | None = None
    for family, kind, proto, _, address in _addresses(host, port, by):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(left_until(by))
            sock.connect(address)
            return sock
        except OSError as error:  # TimeoutError too: the time is up for every address
            sock.close()
            if isinstance(error, TimeoutError):
                raise
            failure = error
    raise failure or OSError(f"{host!r} has no address to connect to")


class _Lookup:
    """One name lookup under way, which every connection to that host waits for."""

    def __init__(self, host: str, port: int) -> None:
        self.done = threading.Event()
        self.answer: list[tuple[Any, ...]] = []
        self.error: Exception | None = None
        self.thread = threading.Thread(target=self._run, args=(host, port), name=f"lookup {host[:40]}", daemon=True)

    def _run(self, host: str, port: int) -> None:
        try:
            self.answer = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except Exception as error:  # an OSError, or a UnicodeError for a name IDNA cannot spell: the caller's
            self.error = error
        finally:
            with _lookups_lock:
                _lookups.pop((host, port), None)
            self.done.set()


_lookups: dict[tuple[str, int], _Lookup] = {}
_lookups_lock = threading.Lock()


def _forget_lookups() -> None:
    """In a forked child: the parent's lookups have no thread here to end them."""
    global _lookups_lock
    _lookups.clear()
    _lookups_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_lookups)


def _addresses(host: str, port: int, by: float) -> list[tuple[Any, ...]]:
    """Return the host's addresses, looked up by ``by`` (TimeoutError after it).

    The resolver takes no time-out, and a failing one can take many seconds: so a name (not an
    address literal) is looked up in a thread that is waited for only until ``by``. One lookup
    per host runs at a time, however many connections wait for it, so a resolver that hangs
    costs one thread, not one per request.
    """
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        pass  # a name, not an address
    with _lookups_lock:
        lookup = _lookups.get((host, port))
        if lookup is None:  # listed before it starts, so it cannot end before it is listed
            lookup = _lookups[(host, port)] = _Lookup(host, port)
            try:
                lookup.thread.start()
            except RuntimeError as error:  # no thread to be had: nobody must wait for this one
                del _lookups[(host, port)]
                raise OSError(f"could not start looking up {host!r}: {error}") from None
    if not lookup.done.wait(left_until(by)):
        raise TimeoutError(f"looking up {host!r} took longer than the time left")
    if lookup.error is not None:
        raise copy.copy(lookup.error)  # each waiter its own, so tracebacks do not pile up on one
    return lookup.answer


def _number(text: str, what: str) -> int:
    """Return a decimal number of the reply (its Content-Length), or raise MalformedReply."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:  # int() takes other digits, signs, 4300+ long
        raise MalformedReply(f"the reply's {what} {text[:40]!r} is not a number")
    return int(text)


def _line(reader: io.BufferedReader) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise MalformedReply(f"a line of the reply is longer than {MAX_LINE} bytes: {line[:80]!r}")
    if line and not line.endswith(b"\n"):
        raise CutOff(f"the connection closed in the middle of a line of the reply: {line[:80]!r}")
    return line


def _read_reply(reader: io.BufferedReader, max_body: int) -> Reply:
    """Read one reply: skip interim 1xx replies, then the status line, headers and body."""
    while True:
        first = _line(reader)
        if not first:
            raise Closed("the server closed the connection without replying")
        version, _, rest = first.decode("latin-1").rstrip("\r\n").partition(" ")
        code, _, reason = rest.partition(" ")
        if not version.startswith("HTTP/1.") or not (code.isascii() and code.isdigit() and len(code) == 3):
            raise MalformedReply(f"the reply does not begin with an HTTP/1.x status line: {first[:80]!r}")
        headers: dict[str, str] = {}
        count = 0
        while (line := _line(reader)) not in (b"\r\n", b"\n"):
            if not line:
                raise CutOff("the connection closed in the middle of the reply's headers")
            name, colon, value = line.decode("latin-1").partition(":")
            count += 1  # lines, not names: one name repeated is as many headers
            if not colon or count > MAX_HEADERS:
                raise MalformedReply(f"the reply has a header line that cannot be read: {line[:80]!r}")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        if not code.startswith("1"):
            break
    tokens = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    will_close = "close" in tokens or (version == "HTTP/1.0" and "keep-alive" not in tokens)
    if code in ("204", "304"):  # no body, whatever the headers say (RFC 9112 6.3)
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(reader, max_body)
    elif "content-length" in headers:
        size = _number(headers["content-length"], "Content-Length")
        _within_limit(size, max_body)
        body = reader.read(size)
        if len(body) < size:
            raise CutOff(f"the connection closed after {len(body)} of the reply's {size} bytes")
    else:  # the body ends with the connection
        body, will_close = reader.read(max_body + 1), True
        _within_limit(len(body), max_body)
    return Reply(int(code), reason, headers, body, will_close)


def _within_limit(size: int, limit: int) -> None:
    if size > limit:
        raise TooLong(f"the reply's body is longer than {limit} bytes")


def _chunked(reader: io.BufferedReader, limit: int) -> bytes:
    """Read a chunked body and its trailer.

    The chunks go into one buffer, so a body sent a byte a chunk takes the memory of its
    bytes, not that of a million small objects.
    """
    body = bytearray()
    while True:
        line = _line(reader)
        size = line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE.fullmatch(size):
            if not line:
                raise CutOff("the connection closed before a chunk of the reply")
            raise MalformedReply(f"a chunk of the reply has no size: {line[:80]!r}")
        length = int(size, 16)
        if length == 0:
            count = 0
            while (trailer := _line(reader)) not in (b"\r\n", b"\n"):
                count += 1
                if not trailer:
                    raise CutOff("the connection closed in the reply's trailer")
                if count > MAX_HEADERS:
                    raise MalformedReply(f"the reply's trailer has more than {MAX_HEADERS} lines")
            return bytes(body)
        _within_limit(len(body) + length, limit)
        chunk = reader.read(length)
        if len(chunk) < length or _line(reader) not in (b"\r\n", b"\n"):
            raise CutOff("the connection closed in the middle of a chunk of the reply")
        body += chunk


_tls: dict[str | None, ssl.SSLContext] = {}


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Return a TLS context verifying certificates and host names against ``ca_file``.

    Without one: certifi's roots, else the system's. Loading a CA bundle is most of a first
    exchange's cost, so each context is made once per process.
    """
    if ca_file not in _tls:
        roots = ca_file
        if roots is None:
            try:
                import certifi

                roots = certifi.where()
            except ImportError:
                pass
        _tls[ca_file] = ssl.create_default_context(cafile=roots)
    return _tls[ca_file]
