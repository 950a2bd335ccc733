"""Speak DynamoDB's JSON 1.0 protocol over HTTP/1.1, without boto3 on the request path.

Each call is ``POST /`` with ``X-Amz-Target: DynamoDB_20120810.<Operation>``, a JSON body
(`marshal`-led attribute values) and a SigV4 signature (`skill.storage.sigv4`). A reply of
status 200 is the result; any other carries ``{"__type": "...#Code", "message": ...}`` and
becomes a `ServiceError`. What botocore's "standard" retry mode would retry (throttling,
5xx, a reset connection, a reply whose x-amz-crc32 does not match) is retried here the same
way, two attempts in all with full jitter, and every call has one total deadline, whatever
the server trickles; the adapter's own save loop retries on top within its budget.

Each thread keeps one keep-alive connection; a connection the server closed while idle is
reopened at once. https endpoints use TLS with certificate and host name verification.

The HTTP is `skill.http_client`'s, the one client all our outgoing requests share.
"""

from __future__ import annotations

import binascii
import json
import math
import os
import random
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Clamped, Context, Decimal, DecimalException, Inexact, Overflow, Rounded, Underflow
from typing import Any
from urllib.parse import urlsplit

from skill.http_client import Connection, MalformedReply, Reply, TransportError, tls_context
from skill.storage.sigv4 import Credentials, sign

API_VERSION = "DynamoDB_20120810"
CONTENT_TYPE = "application/x-amz-json-1.0"
# boto3.dynamodb.types.DYNAMODB_CONTEXT: DynamoDB's number limits, every loss of precision an error.
DYNAMODB_CONTEXT = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

ATTEMPTS = 2  # botocore's total_max_attempts the adapter used
CONNECT_TIMEOUT = 1.0  # seconds
CALL_DEADLINE = 3.0  # seconds for a whole call, retries included; Alexa waits 8 s for the reply
# botocore's standard mode: a throttled retry waits up to 1 s, any other up to 25 ms for DynamoDB.
THROTTLED_BASE, TRANSIENT_BASE = 1.0, 0.025
THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
    "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
    "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException",
})
TRANSIENT = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


class ServiceError(Exception):
    """Signal that DynamoDB answered with an error: ``code`` as in its ``__type``, and its message."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message, self.status = code, message, status


# Attribute values, exactly as boto3's TypeSerializer/TypeDeserializer (with our plain-JSON
# records, where a float goes through its shortest repr and integral Decimals come back as int).


def marshal(value: Any, where: str = "$", owner: str = "") -> dict[str, Any]:
    """Return DynamoDB's attribute value for a plain-JSON value (ints, floats, Decimals as N).

    Raise ValueError naming ``where`` (the path in the document) and ``owner`` (e.g. " of
    user 'x'") for a number DynamoDB cannot hold exactly or a value that is not plain JSON.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float | Decimal):
        number = value
        if isinstance(number, float) and math.isfinite(number):
            # An integral float reads back as an int, which must equal it exactly, not its short repr.
            number = int(number) if number.is_integer() and abs(number) < 1e38 else Decimal(repr(number))
        try:
            text = str(DYNAMODB_CONTEXT.create_decimal(number))
        except (DecimalException, ValueError, TypeError):
            text = "NaN"
        if text in ("NaN", "Infinity", "-Infinity", "sNaN"):
            raise ValueError(
                f"The number {value!r} at {where}{owner} does not fit DynamoDB (38 significant digits, "
                "magnitudes 1e-130 to 1e126, finite); round or scale it, or store it as a string.")
        return {"N": text}
    if isinstance(value, dict):
        return {"M": {key: marshal(item, f"{where}.{key}", owner) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [marshal(item, f"{where}[{i}]", owner) for i, item in enumerate(value)]}
    raise ValueError(f"The {type(value).__name__} value {value!r} at {where}{owner} is not plain JSON; store str, "
                     "numbers, bool, None, lists and dicts.")


def unmarshal(attribute: Any) -> Any:
    """Return the plain-JSON value of one DynamoDB attribute value (numbers as int or float).

    Raise ValueError for what our records never hold (sets, binary) or a malformed value.
    """
    if not isinstance(attribute, dict) or len(attribute) != 1:
        raise ValueError(f"{attribute!r} is not a DynamoDB attribute value (one type key and its value)")
    (kind, value), = attribute.items()
    if kind == "S" and isinstance(value, str):
        return value
    if kind == "N" and isinstance(value, str):
        try:
            number = DYNAMODB_CONTEXT.create_decimal(value)
        except DecimalException:
            raise ValueError(f"the number {value!r} is not one DynamoDB can hold") from None
        if not number.is_finite():
            raise ValueError(f"the number {value!r} is not finite")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "BOOL" and isinstance(value, bool):
        return value
    if kind == "NULL" and value is True:
        return None
    if kind == "M" and isinstance(value, dict):
        return {key: unmarshal(item) for key, item in value.items()}
    if kind == "L" and isinstance(value, list):
        return [unmarshal(item) for item in value]
    if kind in ("SS", "NS", "BS", "B"):
        raise ValueError(f"found a DynamoDB {'set' if kind.endswith('S') else 'binary'} ({kind}), which is not a "
                         "JSON type")
    raise ValueError(f"{attribute!r} is not a DynamoDB attribute value")


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Return the TLS context for ``ca_file``; without one AWS_CA_BUNDLE if set, as botocore does."""
    return tls_context(ca_file or os.environ.get("AWS_CA_BUNDLE") or None)


class DynamoClient:
    """Call DynamoDB operations on one endpoint, signed, retried and bounded in time."""

    def __init__(
        self, endpoint_url: str, region: str, credentials: Callable[[], Credentials], *,
        attempts: int = ATTEMPTS, deadline: float = CALL_DEADLINE, connect_timeout: float = CONNECT_TIMEOUT,
        ca_file: str | None = None,
    ) -> None:
        parts = urlsplit(endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"The DynamoDB endpoint {endpoint_url!r} is not an http(s) URL; use e.g. "
                             "https://dynamodb.eu-west-1.amazonaws.com or http://127.0.0.1:4567.")
        self.endpoint_url, self.region = endpoint_url, region
        self.attempts, self.deadline, self.connect_timeout = attempts, deadline, connect_timeout
        self._credentials = credentials
        self._ca_file = ca_file
        self._url = f"{parts.scheme}://{parts.netloc}{parts.path or '/'}"
        self._path = parts.path or "/"
        self._local = threading.local()

    def call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Run one operation (e.g. "GetItem") with its request ``body`` and return the parsed reply.

        Raise ServiceError for DynamoDB's error replies (after retrying throttling and 5xx),
        TransportError when no usable reply came within the deadline, and the credential
        source's NoCredentialsError when there are no keys to sign with.
        """
        payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        deadline = time.monotonic() + self.deadline
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(operation, payload, deadline)
            except ServiceError as error:
                throttled = error.code in THROTTLING or error.status == 429
                if not (throttled or error.code in TRANSIENT or error.status in TRANSIENT_STATUS):
                    raise
                failure: Exception = error
                base = THROTTLED_BASE if throttled else TRANSIENT_BASE
            except OSError as error:  # TransportError's causes, raised below
                if time.monotonic() >= deadline:
                    raise TransportError(f"no reply within {self.deadline:g} s ({error or 'timed out'})") from error
                failure, base = TransportError(str(error) or type(error).__name__), TRANSIENT_BASE
                failure.__cause__ = error
            except TransportError as error:
                failure, base = error, TRANSIENT_BASE
            pause = random.random() * base * 2 ** (attempt - 1)
            if attempt >= self.attempts or time.monotonic() + pause >= deadline:
                raise failure
            time.sleep(pause)

    def _connection(self) -> Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            tls = _tls_context(self._ca_file) if self._url.startswith("https:") else None
            connection = Connection.to(self._url, tls)
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def _once(self, operation: str, payload: bytes, deadline: float) -> dict[str, Any]:
        """Send one signed request and read its reply; a kept-alive connection found closed is reopened once."""
        credentials = self._credentials()  # NoCredentialsError goes up as it is: no retry finds keys
        headers = sign("POST", self._url, {"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"{API_VERSION}.{operation}"},
                       payload, credentials=credentials, region=self.region, service="dynamodb",
                       moment=datetime.now(UTC))
        reopened = False
        while True:
            connection = self._connection()
            reused = connection.sock is not None
            try:
                reply = connection.exchange("POST", self._path, headers, payload, deadline=deadline,
                                            connect_timeout=self.connect_timeout)
            except ConnectionError as error:
                self._drop()
                if reused and not reopened:
                    reopened = True  # the server closed the idle connection: reopen it, not an attempt
                    continue
                raise TransportError(f"the connection failed ({error})") from error
            except BaseException:
                self._drop()
                raise
            if reply.will_close:
                self._drop()
            return self._parsed(reply)

    @staticmethod
    def _parsed(reply: Reply) -> dict[str, Any]:
        data = reply.body
        checksum = reply.headers.get("x-amz-crc32")
        if checksum is not None and checksum.isascii() and checksum.isdigit() and len(checksum) <= 10 \
                and binascii.crc32(data) != int(checksum):
            raise MalformedReply(f"the reply's x-amz-crc32 {checksum} does not match its {len(data)} bytes")
        try:
            parsed = json.loads(data) if data else {}
        except ValueError:
            parsed = None
        if reply.status == 200:
            if not isinstance(parsed, dict):
                raise MalformedReply(f"the reply is not a JSON object: {data[:80]!r}")
            return parsed
        if isinstance(parsed, dict) and isinstance(parsed.get("__type"), str):
            message = parsed.get("message", parsed.get("Message", ""))
            raise ServiceError(parsed["__type"].rsplit("#", 1)[-1], str(message), reply.status)
        raise ServiceError(str(reply.status), reply.reason, reply.status)
