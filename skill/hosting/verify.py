"""Verify that an HTTP request really comes from Alexa, as certification requires.

A skill hosted as a web service (not on Lambda) must check every request before acting on it
and answer HTTP 400 when a check fails. `RequestVerifier` is an ASK SDK verifier
(`ask_sdk_webservice_support.verifier.AbstractVerifier`): flask-ask-sdk's `SkillAdapter` calls
its `verify` with the headers, the body as received and the envelope that
`skill.hosting.envelope` already parsed and checked (shape, application id). It runs Amazon's
checks and raises `VerificationError` naming the one that failed:

- ``missing-header``: ``SignatureCertChainUrl`` or ``Signature-256`` is absent or empty.
- ``cert-url``: the chain URL is not ``https://s3.amazonaws.com[:443]/echo.api/...`` once
  ``..`` segments are normalised away (host compared case-insensitively).
- ``timestamp``: the request has no timestamp with a zone, or is more than 150 s from now
  (skill events: one hour).
- ``cert-download``: the chain could not be downloaded in time.
- ``cert-chain``: the download is not a PEM chain that leads to a trusted root.
- ``cert-expired``: the signing certificate is outside its validity dates.
- ``cert-san``: the signing certificate is not issued to ``echo-api.amazon.com``.
- ``signature``: ``Signature-256`` is not base64 or does not match the body.

`VerificationError` is deliberately not the SDK's `VerificationException`: the adapter would
log that with a full traceback at ERROR for every rejected request and lose the check's name;
ours reaches `skill.hosting.web`, which answers 400 after the one log line written here.
Cheap checks run first so that junk never costs a download or an RSA operation. Downloaded
chains are cached per URL once they have been validated, and a failed download or validation
is remembered for `failure_ttl` seconds, so unsigned requests naming a chain URL cannot each
trigger a download. One download per URL is in flight at a time, it has a total deadline (not
one per socket read), and at most `max_downloads` worker threads wait on chain downloads at
once; beyond that a request is rejected at once (``cert-download``), so requests that need no
download keep their workers. The SDK's own `RequestVerifier` is
not used (see `skill.compat` for why it cannot even be imported everywhere); only its list of
skill-event request types is borrowed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import posixpath
import threading
import time
import urllib.parse
import warnings
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import certifi
from ask_sdk_webservice_support.verifier_constants import ALEXA_SKILL_EVENT_LIST
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import verification

from skill.compat import import_abstract_verifier
from skill.http_client import Connection, TransportError, tls_context

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from ask_sdk_model import RequestEnvelope

__all__ = ["RequestVerifier", "VerificationError"]

_log = logging.getLogger("trigger_coach.verify")

CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
CERT_URL_HOST = "s3.amazonaws.com"
CERT_URL_PATH_PREFIX = "/echo.api/"
SIGNING_DOMAIN = "echo-api.amazon.com"
REQUEST_TOLERANCE = timedelta(seconds=150)
SKILL_EVENT_TOLERANCE = timedelta(hours=1)
# Amazon's chain is about 5 KB; anything far larger is not it.
MAX_CHAIN_BYTES = 100_000
# Distinct chain URLs whose failure is remembered; Alexa uses one or two at a time.
MAX_REMEMBERED_FAILURES = 1_000


AbstractVerifier = import_abstract_verifier()


class VerificationError(Exception):
    """Report that a request failed one verification check; answer it with HTTP 400.

    `check` is the short name of the failed check (see the module docstring); the message is
    a sentence quoting the offending value, safe to log.
    """

    def __init__(self, check: str, message: str) -> None:
        super().__init__(message)
        self.check = check


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _TrustedSigner(NamedTuple):
    """A validated chain reduced to what later requests need: the key and the validity window."""

    public_key: rsa.RSAPublicKey
    valid_from: datetime  # latest not-before in the chain
    valid_until: datetime  # earliest not-after in the chain
    fetched_at: datetime


class RequestVerifier(AbstractVerifier):
    """Verify Alexa requests: headers, signature, certificate chain, timestamp.

    One instance is meant to live as long as the web application; it is safe to share between
    threads. Every argument exists for tests and unusual deployments:

    - `trusted_roots`: root CAs a chain must lead to (default: the certifi bundle).
    - `cert_fetcher`: download a URL and return its bytes, raising `OSError` on failure
      (default: `skill.http_client` with `timeout`, no redirects).
    - `cert_origin`: fetch the validated URL's path from this origin, e.g.
      ``"http://127.0.0.1:8123"``; the URL in the header must still pass the Amazon URL check.
    - `clock`: return the current time, timezone-aware; used for timestamps, certificate
      validity and the cache's time to live.
    - `timeout`: seconds allowed for a whole chain download, from connecting to the last byte.
    - `cache_ttl`: seconds a validated chain is reused before it is downloaded again.
    - `failure_ttl`: seconds a failed download or validation is answered from memory.
    - `max_downloads`: worker threads that may wait on chain downloads at once.
    """

    def __init__(
        self,
        *,
        trusted_roots: Sequence[x509.Certificate] | None = None,
        cert_fetcher: Callable[[str], bytes] | None = None,
        cert_origin: str | None = None,
        clock: Callable[[], datetime] = _utc_now,
        timeout: float = 3.0,
        cache_ttl: float = 3600,
        failure_ttl: float = 30,
        max_downloads: int = 2,
    ) -> None:
        if trusted_roots is not None and not trusted_roots:
            raise ValueError(
                "RequestVerifier got an empty list of trusted roots; pass None to trust the "
                "certifi bundle, as production does."
            )
        # The certifi bundle is read on the first chain download, not at start-up.
        self._roots = None if trusted_roots is None else tuple(trusted_roots)
        self._store: verification.Store | None = None
        if timeout <= 0 or failure_ttl < 0 or max_downloads < 1:
            raise ValueError(
                f"RequestVerifier(timeout={timeout!r}, failure_ttl={failure_ttl!r}, "
                f"max_downloads={max_downloads!r}) needs a positive timeout, a non-negative "
                "failure_ttl and at least one download; e.g. timeout=3, failure_ttl=30, max_downloads=2."
            )
        self._fetch = cert_fetcher or functools.partial(_download, timeout=timeout)
        self._timeout = timeout
        self._origin = cert_origin.rstrip("/") if cert_origin else None
        self._clock = clock
        self._cache_ttl = timedelta(seconds=cache_ttl)
        self._failure_ttl = timedelta(seconds=failure_ttl)
        self._cache: dict[str, _TrustedSigner] = {}
        self._failures: dict[str, tuple[datetime, VerificationError]] = {}
        self._in_flight: dict[str, threading.Event] = {}
        self._cache_lock = threading.Lock()
        self._download_slots = threading.BoundedSemaphore(max_downloads)

    def verify(
        self, headers: Mapping[str, str], serialized_request_env: str | bytes,
        deserialized_request_env: RequestEnvelope,
    ) -> None:
        """Check one request, or log one line and raise `VerificationError` naming the failed check.

        The SDK's verifier interface: `headers` may be any mapping (Werkzeug `Headers` or a
        plain dict), matched case-insensitively; `serialized_request_env` is the body exactly as
        received (text as the adapter decoded it, or the raw bytes), which the signature
        covers; `deserialized_request_env` is the envelope `skill.hosting.envelope` built from it.
        """
        try:
            self._verify(headers, serialized_request_env, deserialized_request_env)
        except VerificationError as error:
            _log.warning("Rejected a request: %s check failed: %s", error.check, error)
            raise

    def _verify(self, headers: Mapping[str, str], body: str | bytes, envelope: RequestEnvelope) -> None:
        by_name = {name.lower(): value for name, value in headers.items()}
        cert_url = _required_header(by_name, CERT_URL_HEADER)
        signature = _decode_signature(_required_header(by_name, SIGNATURE_HEADER))
        canonical_url = _canonical_cert_url(cert_url)
        now = self._now()
        _check_timestamp(envelope, now)
        signer = self._signer(canonical_url, now)
        # The adapter hands over the body decoded as strict UTF-8, so encoding it again gives
        # back exactly the bytes Alexa signed.
        raw = body.encode("utf-8") if isinstance(body, str) else body
        try:
            signer.public_key.verify(signature, raw, padding.PKCS1v15(), SHA256())
        except InvalidSignature:
            raise VerificationError(
                "signature",
                f"The Signature-256 header {_quote(by_name[SIGNATURE_HEADER.lower()])} does not "
                f"match the request body for the certificate at {_quote(cert_url)}.",
            ) from None

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError(
                f"The verifier's clock returned the naive datetime {now!r}; "
                "return an aware one, e.g. datetime.now(UTC)."
            )
        return now

    def _signer(self, canonical_url: str, now: datetime) -> _TrustedSigner:
        """Return the validated signer for a chain URL, from the cache or freshly downloaded."""
        known = self._known(canonical_url, now)
        if known is not None:
            return known
        if not self._download_slots.acquire(blocking=False):
            raise VerificationError(
                "cert-download",
                f"The certificate chain at {_quote(canonical_url)} is not cached and other chain "
                "downloads are under way; not waiting for another one.",
            )
        try:
            with self._cache_lock:
                done = self._in_flight.get(canonical_url)
                leader = done is None
                if leader:
                    done = self._in_flight[canonical_url] = threading.Event()
            if leader:
                return self._download_and_validate(canonical_url, now, done)
            done.wait(self._timeout)  # someone else is downloading this chain: share the result
            known = self._known(canonical_url, now)
            if known is None:
                raise VerificationError(
                    "cert-download", f"The certificate chain at {_quote(canonical_url)} did not arrive in time."
                )
            return known
        finally:
            self._download_slots.release()

    def _known(self, canonical_url: str, now: datetime) -> _TrustedSigner | None:
        """Return the cached signer, raise the remembered failure, or return None to download."""
        with self._cache_lock:
            cached = self._cache.get(canonical_url)
            failure = self._failures.get(canonical_url)
        if (
            cached is not None
            and now - cached.fetched_at < self._cache_ttl
            and cached.valid_from <= now <= cached.valid_until
        ):
            return cached
        if failure is not None and now - failure[0] < self._failure_ttl:
            error = failure[1]
            raise VerificationError(error.check, f"{error} (remembered from {failure[0].isoformat()})")
        return None

    def _download_and_validate(self, canonical_url: str, now: datetime, done: threading.Event) -> _TrustedSigner:
        try:
            signer = self._validate_chain(self._download_chain(canonical_url), canonical_url, now)
        except VerificationError as error:
            # Kept without its traceback and cause: their frames hold the download's buffers
            # (about 100 kB an entry, for up to MAX_REMEMBERED_FAILURES entries).
            bare = VerificationError(error.check, str(error))
            with self._cache_lock:
                self._failures[canonical_url] = (now, bare)
                if len(self._failures) > MAX_REMEMBERED_FAILURES:  # the oldest go first
                    del self._failures[next(iter(self._failures))]
            raise
        else:
            with self._cache_lock:
                self._cache[canonical_url] = signer
                self._failures.pop(canonical_url, None)
            return signer
        finally:
            with self._cache_lock:
                del self._in_flight[canonical_url]
            done.set()

    def _download_chain(self, canonical_url: str) -> bytes:
        if self._origin is None:
            fetch_url = canonical_url
        else:
            fetch_url = self._origin + canonical_url.removeprefix(f"https://{CERT_URL_HOST}")
        try:
            return _within(self._timeout, self._fetch, fetch_url)
        except (OSError, TransportError, ValueError) as exc:
            raise VerificationError(
                "cert-download",
                f"Could not download the certificate chain from {_quote(fetch_url)}: {exc}.",
            ) from exc

    def _trust_store(self) -> verification.Store:
        if self._store is None:  # a race builds it twice, harmlessly
            self._store = verification.Store(list(self._roots or _certifi_roots()))
        return self._store

    def _validate_chain(self, pem: bytes, url: str, now: datetime) -> _TrustedSigner:
        try:
            certificates = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise VerificationError(
                "cert-chain",
                f"The download from {_quote(url)} is not a PEM certificate chain: {_quote(pem[:60])}.",
            ) from None
        leaf, intermediates = certificates[0], certificates[1:]
        subject = leaf.subject.rfc4514_string()
        if now < leaf.not_valid_before_utc:
            raise VerificationError(
                "cert-expired",
                f"The signing certificate {_quote(subject)} from {_quote(url)} is not valid "
                f"before {leaf.not_valid_before_utc.isoformat()}.",
            )
        if now > leaf.not_valid_after_utc:
            raise VerificationError(
                "cert-expired",
                f"The signing certificate {_quote(subject)} from {_quote(url)} expired at "
                f"{leaf.not_valid_after_utc.isoformat()}.",
            )
        names = _dns_names(leaf)
        if SIGNING_DOMAIN not in names:
            raise VerificationError(
                "cert-san",
                f"The signing certificate from {_quote(url)} is issued to {_quote(names)}, not to {SIGNING_DOMAIN!r}.",
            )
        verifier = (
            verification.PolicyBuilder()
            .store(self._trust_store())
            .time(now)
            .build_server_verifier(x509.DNSName(SIGNING_DOMAIN))
        )
        try:
            chain = verifier.verify(leaf, intermediates)
        except verification.VerificationError as exc:
            raise VerificationError(
                "cert-chain",
                f"The certificate chain from {_quote(url)} for {_quote(subject)} does not lead "
                f"to a trusted root: {exc}.",
            ) from None
        public_key = leaf.public_key()
        if not isinstance(public_key, rsa.RSAPublicKey):
            raise VerificationError(
                "cert-chain",
                f"The signing certificate from {_quote(url)} has a "
                f"{type(public_key).__name__}, but Alexa signs with RSA.",
            )
        return _TrustedSigner(
            public_key=public_key,
            valid_from=max(cert.not_valid_before_utc for cert in chain),
            valid_until=min(cert.not_valid_after_utc for cert in chain),
            fetched_at=now,
        )


def _required_header(by_name: Mapping[str, str], name: str) -> str:
    value = by_name.get(name.lower(), "").strip()
    if not value:
        raise VerificationError("missing-header", f"The request has no {name!r} header; Alexa always sends one.")
    return value


def _decode_signature(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationError(
            "signature", f"The {SIGNATURE_HEADER!r} header {_quote(value)} is not base64."
        ) from None


def _canonical_cert_url(url: str) -> str:
    """Return the chain URL in the one form we fetch and cache, if Amazon could have sent it.

    The path is percent-decoded and normalised before the prefix check, so what is checked is
    exactly what gets fetched. Query, fragment and user name are dropped: Amazon never sends
    them, and keeping them would let one chain fill the cache under endless distinct URLs.
    """
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    path = posixpath.normpath(urllib.parse.unquote(parts.path)) if parts.path else ""
    if parts.scheme != "https":
        problem = "does not use https"
    elif parts.hostname != CERT_URL_HOST:
        problem = f"is not on {CERT_URL_HOST!r}"
    elif port not in (None, 443):
        problem = "names a port other than 443"
    elif not path.startswith(CERT_URL_PATH_PREFIX):
        problem = f"has a path outside {CERT_URL_PATH_PREFIX!r} once normalised to {path!r}"
    else:
        return f"https://{CERT_URL_HOST}{urllib.parse.quote(path)}"
    raise VerificationError("cert-url", f"The {CERT_URL_HEADER!r} header {_quote(url)} {problem}.")


def _check_timestamp(envelope: RequestEnvelope, now: datetime) -> None:
    request = envelope.request
    timestamp = getattr(request, "timestamp", None)
    raw = timestamp.isoformat() if isinstance(timestamp, datetime) else timestamp
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise VerificationError(
            "timestamp",
            f"The request timestamp {_quote(raw)} is not an ISO 8601 time with a zone, such as '2026-11-21T10:00:00Z'.",
        )
    skill_event = getattr(request, "object_type", None) in ALEXA_SKILL_EVENT_LIST
    tolerance = SKILL_EVENT_TOLERANCE if skill_event else REQUEST_TOLERANCE
    if abs(now - timestamp) > tolerance:
        raise VerificationError(
            "timestamp",
            f"The request timestamp {_quote(raw)} is more than "
            f"{tolerance.total_seconds():.0f} s from now ({now.isoformat()}).",
        )


def _dns_names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [name.lower() for name in san.value.get_values_for_type(x509.DNSName)]


def _quote(value: object, limit: int = 120) -> str:
    """Return `repr(value)` cut to `limit` characters, so hostile input cannot flood a log."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _within(seconds: float, fetch: Callable[[str], bytes], url: str) -> bytes:
    """Return `fetch(url)`, or raise TimeoutError once `seconds` have passed in all.

    Our own `_download` already ends by its deadline (http_client times the lookup, connect
    and every read against it); this bounds any fetcher, an injected `cert_fetcher` too: it
    runs in a helper thread and the worker stops waiting at the deadline. A fetch given up on
    ends in its own time.
    """
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(fetch(url))
        except BaseException as exc:  # handed to the waiting worker below
            outcome.append(exc)

    helper = threading.Thread(target=run, name="cert-download", daemon=True)
    helper.start()
    helper.join(seconds)
    if not outcome or isinstance(outcome[0], TimeoutError):  # the fetch's own deadline may win the race
        raise TimeoutError(f"no complete answer within {seconds:g} s")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _download(url: str, *, timeout: float) -> bytes:
    """Download a certificate chain by the deadline, refusing redirects and oversized answers."""
    parts = urllib.parse.urlsplit(url)
    tls = tls_context() if parts.scheme == "https" else None  # http only from a test's cert_origin
    connection = Connection.to(url, tls)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        reply = connection.exchange("GET", target, {"Connection": "close"}, deadline=time.monotonic() + timeout,
                                    connect_timeout=timeout, max_body=MAX_CHAIN_BYTES)
    finally:
        connection.close()
    if reply.status != 200:  # a redirect too: the URL was checked, not wherever it might point
        raise OSError(f"HTTP status {reply.status} {reply.reason}")
    return reply.body


@functools.cache
def _certifi_roots() -> tuple[x509.Certificate, ...]:
    """Load the certifi CA bundle once per process."""
    with open(certifi.where(), "rb") as bundle, warnings.catch_warnings():
        # A few long-lived roots in the bundle have non-positive serial numbers, which
        # cryptography warns about; they are still the roots browsers trust.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return tuple(x509.load_pem_x509_certificates(bundle.read()))
