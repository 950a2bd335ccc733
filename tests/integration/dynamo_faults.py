"""A loopback proxy in front of dynalite that refuses DynamoDB writes on demand.

It speaks DynamoDB's JSON protocol: requests pass through to the real server unchanged,
except writes (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems) while
the proxy is told to refuse them; those get DynamoDB's own error reply
(`AccessDeniedException`, which the DynamoDB client does not retry by itself, so the skill's retries are
what is tested). `fail_next(n)` refuses the next n writes, `fail_all()` every write until `heal()`.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


class WriteFaults:
    """What the proxy refuses, shared with the test."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._all = False
        self.refused = 0
        self.passed = 0
        self.item_bytes: list[int] = []  # size of each item put (its JSON), for the benchmarks

    def fail_next(self, count: int) -> None:
        """Refuse the next `count` writes."""
        with self._lock:
            self._next = count

    def fail_all(self) -> None:
        """Refuse every write until `heal()`."""
        with self._lock:
            self._all = True

    def heal(self) -> None:
        """Let every write through again."""
        with self._lock:
            self._all, self._next = False, 0

    def refuse(self) -> bool:
        """Return whether to refuse this write, counting it."""
        with self._lock:
            if self._all or self._next > 0:
                self._next = max(0, self._next - 1)
                self.refused += 1
                return True
            self.passed += 1
            return False

    def count(self, operation: str, body: bytes) -> None:
        """Note the size of the item a PutItem writes."""
        if operation == "PutItem":
            item = json.loads(body).get("Item", {})
            with self._lock:
                self.item_bytes.append(len(json.dumps(item, separators=(",", ":")).encode()))


@contextmanager
def faulty_dynamodb(endpoint_url: str) -> Iterator[tuple[str, WriteFaults]]:
    """Serve the proxy on a free loopback port; yield its URL and its fault switch."""
    target = urlsplit(endpoint_url)
    faults = WriteFaults()

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
            if operation in WRITES and faults.refuse():
                reply = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#AccessDeniedException",
                                    "message": "Writes are refused by the test"}).encode()
                self._send(400, reply, "application/x-amz-json-1.0")
                return
            faults.count(operation, body)
            upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                upstream.request("POST", self.path, body, headers)
                response = upstream.getresponse()
                data = response.read()
                self._send(response.status, data, response.getheader("Content-Type", ""),
                           response.getheader("x-amz-crc32"))
            finally:
                upstream.close()

        def _send(self, status: int, data: bytes, content_type: str, crc: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            if crc:
                self.send_header("x-amz-crc32", crc)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", faults
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
