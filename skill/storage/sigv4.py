"""Sign AWS requests with Signature Version 4, and find the credentials to sign them with.

The standard library does the signing (hmac, hashlib), so answering a request on Lambda never
imports botocore: the Lambda runtime puts the function's role credentials in
``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``, read afresh for
every request. Only where they are absent (a developer's ~/.aws profile, SSO, container
credentials) is botocore's credential chain imported, once, and asked for its current
credentials each time, so its refreshable credentials renew before they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from skill import http_client

logger = logging.getLogger("trigger_coach.storage")

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
# Headers botocore leaves out of the signature; a proxy may change them on the way.
_UNSIGNED = frozenset({"expect", "user-agent", "x-amzn-trace-id", "authorization"})


class NoCredentialsError(RuntimeError):
    """Signal that no AWS credentials could be found to sign a request."""


class Credentials(NamedTuple):
    """One set of AWS keys; ``token`` is the session token of temporary credentials."""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:  # never print the secret
        return f"Credentials(access_key={self.access_key!r}, token={'set' if self.token else 'none'})"


def host_header(url: str) -> str:
    """Return the Host header for ``url``: lower-case host, with its port unless it is the default."""
    parts = urlsplit(url)
    return http_client.host_header(parts.hostname or "", parts.port, parts.scheme)


def _key(secret: str, day: str, region: str, service: str) -> bytes:
    key = ("AWS4" + secret).encode("utf-8")
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(
    method: str, url: str, headers: Mapping[str, str], body: bytes, *, credentials: Credentials,
    region: str, service: str, moment: datetime,
) -> dict[str, str]:
    """Return ``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token and Authorization for one request.

    ``moment`` is the signing time in UTC. The query string of ``url`` must be empty (no
    DynamoDB call has one), and every header given is signed.
    """
    parts = urlsplit(url)
    if parts.query:
        raise ValueError(f"sign() takes URLs without a query string, got {url!r}; put the parameters in the body.")
    amz_date = moment.strftime(AMZ_DATE_FORMAT)
    out = {name: value for name, value in headers.items() if name.lower() not in ("authorization", "x-amz-date",
                                                                                  "x-amz-security-token")}
    out["X-Amz-Date"] = amz_date
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    signed: dict[str, list[str]] = {}
    for name, value in out.items():
        if name.lower() not in _UNSIGNED:
            signed.setdefault(name.lower(), []).append(" ".join(value.split()))
    signed.setdefault("host", [host_header(url)])
    if "host" not in {name.lower() for name in out}:
        out["Host"] = signed["host"][0]
    names = sorted(signed)
    signed_names = ";".join(names)
    canonical = "\n".join((
        method.upper(),
        quote(parts.path or "/", safe="/~"),
        "",
        "".join(f"{name}:{','.join(signed[name])}\n" for name in names),
        signed_names,
        hashlib.sha256(body).hexdigest(),
    ))
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()))
    signature = hmac.new(_key(credentials.secret_key, amz_date[:8], region, service), to_sign.encode("utf-8"),
                         hashlib.sha256).hexdigest()
    out["Authorization"] = (f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
                            f"SignedHeaders={signed_names}, Signature={signature}")
    return out


def from_environment(environ: Mapping[str, str] | None = None) -> Credentials | None:
    """Return the credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or None."""
    env = os.environ if environ is None else environ
    access, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not access or not secret:
        return None
    return Credentials(access, secret, env.get("AWS_SESSION_TOKEN") or None)


def credential_source(*, local: bool = False) -> Callable[[], Credentials]:
    """Return a function giving the credentials to sign the next request with.

    The environment's keys come first, read at every call (Lambda's are there). Failing
    those, a ``local`` endpoint (dynalite, DynamoDB Local: any key will do) gets a fixed
    dummy key, and anything else botocore's credential chain, imported only then.
    """
    chain: Callable[[], Credentials | None] | None = None

    def current() -> Credentials:
        nonlocal chain
        found = from_environment()
        if found is not None:
            return found
        if local:
            return Credentials("local", "local")
        if chain is None:
            chain = _botocore_chain()
        found = chain()
        if found is None:
            raise NoCredentialsError(
                "No AWS credentials were found to sign DynamoDB requests: AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY are not set and botocore's chain (~/.aws, SSO, container "
                "credentials) has none. Set those variables, or configure a profile with `aws configure`."
            )
        return found

    return current


def _botocore_chain() -> Callable[[], Credentials | None]:
    """Return a reader of botocore's credential chain (refreshable credentials renew themselves)."""
    logger.info("AWS_ACCESS_KEY_ID is not set: importing botocore for its credential chain "
                "(profiles, SSO, container credentials).")
    try:
        import botocore.session
    except ImportError:
        logger.warning("botocore is not installed, so only AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY can sign.")
        return lambda: None
    resolved = botocore.session.get_session().get_credentials()

    def read() -> Credentials | None:
        if resolved is None:
            return None
        frozen = resolved.get_frozen_credentials()  # refreshes temporary credentials near their expiry
        return Credentials(frozen.access_key, frozen.secret_key, frozen.token or None)

    return read
