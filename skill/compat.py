"""Import flask-ask-sdk's `SkillAdapter` on machines where its verifier's dependencies are broken.

Why this exists: `flask_ask_sdk.skill_adapter` imports `ask_sdk_webservice_support.verifier`,
which imports `certvalidator` at module level, which imports `oscrypto`. oscrypto 1.3.0, the
newest release on PyPI, finds libcrypto by parsing OpenSSL's version string with the pattern
``\\b(\\d\\.\\d\\.\\d[a-z]*)\\b``. That pattern cannot read a two-digit patch number, so on
OpenSSL 3.0.10 and later (any current Linux) the import fails with
``oscrypto.errors.LibraryNotFoundError: Error detecting the version of libcrypto``, and with it
``import flask_ask_sdk.skill_adapter``. oscrypto's repository has the fix, but it has never
been released.

We never use that verifier: `skill.hosting.verify` checks Alexa's signatures with
``cryptography``, and the web layer turns the SDK's own checks off (``ASK_SDK_VERIFY_SIGNATURE``
and ``ASK_SDK_VERIFY_TIMESTAMP`` set to False) and plugs our verifier into the adapter instead.
All the SDK needs from certvalidator is that its names exist at import time. So
`import_skill_adapter` (and `import_abstract_verifier`, for the verifier interface) first
imports the real certvalidator; only if that fails with oscrypto's ``LibraryNotFoundError``
does it register a stand-in ``certvalidator`` (and ``certvalidator.errors``) in `sys.modules`.

Finding that out is kept cheap. Where oscrypto is the broken 1.3.0 and the OpenSSL this
Python links (``ssl.OPENSSL_VERSION``) is one oscrypto's own version patterns cannot read, the
stand-in goes in without loading libcrypto at all: that probe (ctypes, and ctypes.util running
``ldconfig``) was a twentieth of the web service's start. Otherwise, before certvalidator is
imported, oscrypto is asked to use
ctypes rather than cffi (both are oscrypto's supported FFI layers; cffi's C-declaration parser
alone took longer than the rest of the web service's start) and to load libcrypto, which is
where the failure happens. Only when that works is the real certvalidator imported.
The stand-in's `CertificateValidator` raises a `RuntimeError` explaining all this if anything
ever calls it, so a configuration that re-enables the SDK's verifier fails loudly instead of
skipping the check. Where oscrypto works, the real certvalidator is used untouched. Nothing in
site-packages is edited, and a fresh ``pip install`` needs no extra step.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import re
import ssl
import sys
import types
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from ask_sdk_webservice_support.verifier import AbstractVerifier
    from flask_ask_sdk.skill_adapter import SkillAdapter

__all__ = ["import_abstract_verifier", "import_skill_adapter"]

_log = logging.getLogger("trigger_coach.compat")

STAND_IN_EXPLANATION = (
    "This 'certvalidator' is Trigger Coach's stand-in (skill/compat.py): the real one could not "
    "be imported because oscrypto 1.3.0 cannot parse this machine's OpenSSL version ({cause}). "
    "The ASK SDK's RequestVerifier needs it, so that verifier cannot run here. Keep "
    "ASK_SDK_VERIFY_SIGNATURE off and verify requests with skill.hosting.verify.RequestVerifier."
)


def import_skill_adapter() -> type[SkillAdapter]:
    """Return flask-ask-sdk's `SkillAdapter` class, working around the oscrypto import failure.

    Call this instead of ``from flask_ask_sdk.skill_adapter import SkillAdapter``. It is safe to
    call many times and from a machine where nothing is broken.
    """
    _ensure_certvalidator()
    from flask_ask_sdk.skill_adapter import SkillAdapter

    return SkillAdapter


def import_abstract_verifier() -> type[AbstractVerifier]:
    """Return the SDK's verifier interface, `ask_sdk_webservice_support.verifier.AbstractVerifier`.

    Its module imports certvalidator too, so it needs the same care as `import_skill_adapter`.
    """
    _ensure_certvalidator()
    from ask_sdk_webservice_support.verifier import AbstractVerifier

    return AbstractVerifier


# oscrypto 1.3.0's patterns for libcrypto's version string (oscrypto/_openssl/_libcrypto_ctypes.py);
# when neither matches, its import raises LibraryNotFoundError. A test reads them there.
BROKEN_OSCRYPTO = "1.3.0"
OSCRYPTO_VERSION_PATTERNS = (r"\b(\d\.\d\.\d[a-z]*)\b", r"(?<=LibreSSL )(\d\.\d(\.\d)?)\b")


def oscrypto_cannot_read(openssl_version: str) -> bool:
    """Return whether oscrypto 1.3.0 fails to read ``openssl_version`` (e.g. "OpenSSL 3.0.19 27 Jan 2026")."""
    return not any(re.search(pattern, openssl_version) for pattern in OSCRYPTO_VERSION_PATTERNS)


def _ensure_certvalidator() -> None:
    if "certvalidator" in sys.modules:  # the real one, or our stand-in, is already in place
        return
    known = _known_failure()
    if known is not None:
        _install_stand_in(known)
        return
    try:
        _load_libcrypto_for_oscrypto()
        importlib.import_module("certvalidator")
        importlib.import_module("certvalidator.errors")
    except Exception as exc:
        if not _is_oscrypto_library_failure(exc):
            raise
        _install_stand_in(exc)


def _known_failure() -> BaseException | None:
    """Return the error oscrypto's import will raise, if that is certain without loading libcrypto."""
    try:
        from oscrypto.errors import LibraryNotFoundError
        from oscrypto.version import __version__
    except ImportError:
        return None
    if __version__ != BROKEN_OSCRYPTO or not oscrypto_cannot_read(ssl.OPENSSL_VERSION):
        return None
    return LibraryNotFoundError(
        f"Error detecting the version of libcrypto: oscrypto {__version__} cannot read "
        f"{ssl.OPENSSL_VERSION!r}"
    )


def _load_libcrypto_for_oscrypto() -> None:
    """Load libcrypto the way certvalidator's oscrypto will, via ctypes; raise what oscrypto raises."""
    try:
        import oscrypto
    except ImportError:
        return  # certvalidator's own import will say what is missing
    with contextlib.suppress(RuntimeError):  # oscrypto already loaded: keep its choice
        oscrypto.use_ctypes()
    if oscrypto.backend() == "openssl":  # macOS and Windows use their own libraries
        importlib.import_module("oscrypto._openssl._libcrypto")


def _is_oscrypto_library_failure(exc: BaseException) -> bool:
    try:
        from oscrypto.errors import LibraryNotFoundError
    except ImportError:
        return False
    return isinstance(exc, LibraryNotFoundError)


def _install_stand_in(cause: BaseException) -> None:
    explanation = STAND_IN_EXPLANATION.format(cause=f"{type(cause).__name__}: {cause}")

    class ValidationError(Exception):
        """Stand in for certvalidator.errors.ValidationError."""

    class PathError(Exception):
        """Stand in for certvalidator.errors.PathError."""

    class CertificateValidator:
        """Refuse to validate anything: the real certvalidator cannot be imported here."""

        def __init__(self, *args: object, **kwargs: object) -> NoReturn:
            raise RuntimeError(explanation)

    for stand_in in (ValidationError, PathError):
        stand_in.__module__ = "certvalidator.errors"
    CertificateValidator.__module__ = "certvalidator"
    errors = types.ModuleType("certvalidator.errors", "Stand-in; see skill.compat.")
    errors.ValidationError = ValidationError
    errors.PathError = PathError
    package = types.ModuleType("certvalidator", explanation)
    package.CertificateValidator = CertificateValidator
    package.errors = errors
    package.TRIGGER_COACH_STAND_IN = True
    for name in [name for name in sys.modules if name.startswith("certvalidator.")]:
        # Submodules that imported before the failure belong to the broken package.
        del sys.modules[name]
    sys.modules["certvalidator"] = package
    sys.modules["certvalidator.errors"] = errors
    _log.info(
        "Using a stand-in for certvalidator, which oscrypto broke (%s); the ASK SDK's own "
        "request verifier is unavailable, skill.hosting.verify checks requests instead.",
        cause,
    )
