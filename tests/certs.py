"""Build throwaway certificate chains like Alexa's and serve them from a local HTTP server.

Tests of request verification need what Amazon has: a root CA, an intermediate, a signing
certificate for ``echo-api.amazon.com`` whose key signs request bodies, and a URL serving the
PEM chain. Typical use::

    chain = make_chain(now=NOW)
    with ChainServer({CHAIN_PATH: chain.pem()}) as server:
        verifier = RequestVerifier(SKILL_ID, trusted_roots=[chain.root],
                                   cert_origin=server.origin, clock=lambda: NOW)
        body = envelope_bytes(SKILL_ID, NOW)
        verifier.verify(chain.headers(body), body)

The server is a real `http.server` on 127.0.0.1 with an ephemeral port; it counts downloads
per path and can be told to stall, to exercise the verifier's time-out.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

SIGNING_DOMAIN = "echo-api.amazon.com"
CHAIN_PATH = "/echo.api/echo-api-cert-test.pem"
CHAIN_URL = f"https://s3.amazonaws.com{CHAIN_PATH}"
SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"


@functools.cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    """Return an RSA key for `name`, generating it once per test session (keys are slow)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Authority:
    """A certificate authority: its certificate and the key it signs with."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey


@dataclass(frozen=True)
class SigningChain:
    """A signing certificate with its key, the intermediates to serve and the root to trust."""

    leaf: x509.Certificate
    leaf_key: rsa.RSAPrivateKey
    intermediates: tuple[x509.Certificate, ...]
    root: x509.Certificate

    def pem(self) -> bytes:
        """Return the chain as Amazon serves it: the signing certificate first."""
        return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in (self.leaf, *self.intermediates))

    def sign(self, body: bytes, key: rsa.RSAPrivateKey | None = None) -> str:
        """Return the ``Signature-256`` value for `body`, signed by the leaf key or by `key`."""
        signer = key or self.leaf_key
        signature = signer.sign(body, padding.PKCS1v15(), hashes.SHA256())
        return base64.b64encode(signature).decode("ascii")

    def headers(self, body: bytes, cert_url: str = CHAIN_URL) -> dict[str, str]:
        """Return the two headers Alexa sends with `body`."""
        return {"SignatureCertChainUrl": cert_url, "Signature-256": self.sign(body)}


def make_root(name: str = "Test Root CA", *, now: datetime) -> Authority:
    """Create a self-signed root CA valid from a year before `now` to ten years after."""
    key = rsa_key(name)
    subject = _name(name)
    certificate = (
        _builder(
            subject,
            subject,
            key.public_key(),
            now - timedelta(days=365),
            now + timedelta(days=3650),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .sign(key, hashes.SHA256())
    )
    return Authority(certificate, key)


def make_intermediate(issuer: Authority, name: str = "Test Intermediate CA", *, now: datetime) -> Authority:
    """Create an intermediate CA signed by `issuer`."""
    key = rsa_key(name)
    certificate = (
        _builder(
            _name(name),
            issuer.certificate.subject,
            key.public_key(),
            now - timedelta(days=180),
            now + timedelta(days=1825),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(_authority_key_id(issuer), critical=False)
        .sign(issuer.key, hashes.SHA256())
    )
    return Authority(certificate, key)


def make_chain(
    *,
    now: datetime,
    root: Authority | None = None,
    intermediate: bool = True,
    dns_names: tuple[str, ...] | None = (SIGNING_DOMAIN,),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
) -> SigningChain:
    """Create a signing chain like Alexa's, valid around `now` unless told otherwise.

    `dns_names=None` leaves out the subject alternative name extension entirely.
    """
    root = root or make_root(now=now)
    issuer = make_intermediate(root, now=now) if intermediate else root
    key = rsa_key("leaf")
    builder = (
        _builder(
            _name(SIGNING_DOMAIN),
            issuer.certificate.subject,
            key.public_key(),
            not_before or now - timedelta(days=30),
            not_after or now + timedelta(days=300),
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=True,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_authority_key_id(issuer), critical=False)
    )
    if dns_names is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]),
            critical=False,
        )
    leaf = builder.sign(issuer.key, hashes.SHA256())
    intermediates = (issuer.certificate,) if intermediate else ()
    return SigningChain(leaf, key, intermediates, root.certificate)


def envelope(
    skill_id: str,
    timestamp: datetime | str,
    request_type: str = "LaunchRequest",
) -> dict[str, Any]:
    """Return a minimal Alexa request envelope for `skill_id` sent at `timestamp`."""
    if isinstance(timestamp, datetime):
        timestamp = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    application = {"applicationId": skill_id}
    return {
        "version": "1.0",
        "session": {
            "new": True,
            "sessionId": "amzn1.echo-api.session.test",
            "application": application,
            "user": {"userId": "amzn1.ask.account.test"},
        },
        "context": {
            "System": {
                "application": application,
                "user": {"userId": "amzn1.ask.account.test"},
                "device": {
                    "deviceId": "amzn1.ask.device.test",
                    "supportedInterfaces": {"AudioPlayer": {}},
                },
            }
        },
        "request": {
            "type": request_type,
            "requestId": "amzn1.echo-api.request.test",
            "timestamp": timestamp,
            "locale": "en-US",
        },
    }


def envelope_bytes(skill_id: str, timestamp: datetime | str, request_type: str = "LaunchRequest") -> bytes:
    """Return `envelope(...)` serialised as Alexa would send it."""
    return json.dumps(envelope(skill_id, timestamp, request_type)).encode()


@dataclass
class ChainServer:
    """Serve fixed files over HTTP on 127.0.0.1, counting downloads; use it as a context manager.

    Unknown paths answer 404. With `stall=True` every request hangs until the server stops,
    so a client with a time-out gives up first, whatever the machine's speed.
    """

    files: Mapping[str, bytes]
    stall: bool = False
    downloads: dict[str, int] = field(default_factory=dict)
    _release: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> ChainServer:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.downloads[self.path] = server.downloads.get(self.path, 0) + 1
                if server.stall:
                    server._release.wait(timeout=60)
                    return
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/x-pem-file")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll interval makes shutdown() quick; the default 0.5 s adds up over a suite.
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    @property
    def origin(self) -> str:
        """Return the server's origin, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: rsa.RSAPublicKey,
    not_before: datetime,
    not_after: datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(secrets.randbits(63) + 1)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _authority_key_id(issuer: Authority) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.certificate.public_key())


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        key_encipherment=False,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
