"""The flask-ask-sdk import shim: it imports everywhere and replaces only a broken certvalidator.

Each test runs in a fresh interpreter, because the shim's whole subject is what `import` leaves
in `sys.modules`.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from skill.compat import BROKEN_OSCRYPTO, OSCRYPTO_VERSION_PATTERNS, oscrypto_cannot_read

REPO = Path(__file__).resolve().parents[2]

# Makes `import certvalidator` fail the way oscrypto 1.3.0 does on OpenSSL >= 3.0.10, so the
# tests behave the same on machines where oscrypto happens to work.
SIMULATE_BROKEN_OSCRYPTO = """
import importlib.abc, sys
from oscrypto.errors import LibraryNotFoundError

class BrokenOscrypto(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] == "certvalidator":
            raise LibraryNotFoundError("Error detecting the version of libcrypto")
        return None

sys.meta_path.insert(0, BrokenOscrypto())
"""

# Stands for a machine where oscrypto and certvalidator import fine.
SIMULATE_HEALTHY_CERTVALIDATOR = """
import sys, types
healthy = types.ModuleType("certvalidator")
healthy.CertificateValidator = type("CertificateValidator", (), {})
errors = types.ModuleType("certvalidator.errors")
errors.ValidationError = type("ValidationError", (Exception,), {})
errors.PathError = type("PathError", (Exception,), {})
healthy.errors = errors
sys.modules["certvalidator"] = healthy
sys.modules["certvalidator.errors"] = errors
"""

LOG_TO_STDERR = """
import logging
logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s %(message)s")
"""


def run_python(*snippets: str) -> subprocess.CompletedProcess[str]:
    """Run the snippets in a fresh interpreter from the repository root; fail if it fails."""
    code = "\n".join(textwrap.dedent(snippet) for snippet in snippets)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_the_skill_adapter_imports_in_a_fresh_interpreter():
    result = run_python(
        """
        from skill.compat import import_skill_adapter
        adapter = import_skill_adapter()
        print(f"{adapter.__module__}.{adapter.__name__}")
        """
    )
    assert result.stdout.strip() == "flask_ask_sdk.skill_adapter.SkillAdapter"


def test_the_imported_skill_adapter_dispatches_a_request_under_flask():
    result = run_python(
        """
        import json
        from datetime import UTC, datetime
        from ask_sdk_core.skill_builder import SkillBuilder
        from ask_sdk_core.utils import is_request_type
        from flask import Flask
        from skill.compat import import_skill_adapter
        from tests.certs import SKILL_ID, envelope_bytes

        builder = SkillBuilder()

        @builder.request_handler(can_handle_func=is_request_type("LaunchRequest"))
        def launch(handler_input):
            return handler_input.response_builder.speak("Hello.").response

        app = Flask(__name__)
        app.config.update(ASK_SDK_VERIFY_SIGNATURE=False, ASK_SDK_VERIFY_TIMESTAMP=False)
        adapter = import_skill_adapter()(skill=builder.create(), skill_id=SKILL_ID, app=app)
        adapter.register(app=app, route="/")
        body = envelope_bytes(SKILL_ID, datetime.now(UTC))
        answer = app.test_client().post("/", data=body, content_type="application/json")
        print(answer.status_code, json.dumps(answer.get_json()["response"]["outputSpeech"]))
        """
    )
    status, speech = result.stdout.split(" ", 1)
    assert status == "200"
    assert "Hello." in json.loads(speech)["ssml"]


def test_the_stand_in_is_used_exactly_when_the_real_certvalidator_cannot_be_imported():
    result = run_python(
        LOG_TO_STDERR,
        """
        import json, sys
        try:
            import certvalidator
            healthy = True
        except Exception:
            healthy = False
        for name in [n for n in sys.modules if n.split(".")[0] == "certvalidator"]:
            del sys.modules[name]
        from skill.compat import import_skill_adapter
        import_skill_adapter()
        stand_in = getattr(sys.modules["certvalidator"], "TRIGGER_COACH_STAND_IN", False)
        print(json.dumps({"healthy": healthy, "stand_in": stand_in}))
        """,
    )
    outcome = json.loads(result.stdout)
    assert outcome["stand_in"] is not outcome["healthy"]
    assert ("trigger_coach.compat INFO" in result.stderr) is outcome["stand_in"]


def test_the_stand_in_explains_itself_when_the_sdk_verifier_is_used():
    result = run_python(
        SIMULATE_BROKEN_OSCRYPTO,
        """
        from datetime import UTC, datetime
        from skill.compat import import_skill_adapter
        from tests.certs import make_chain
        import_skill_adapter()
        from ask_sdk_webservice_support.verifier import RequestVerifier
        try:
            RequestVerifier()._validate_cert_chain(make_chain(now=datetime.now(UTC)).pem())
        except RuntimeError as error:
            print(error)
        """,
    )
    explanation = result.stdout
    assert "stand-in (skill/compat.py)" in explanation
    assert "oscrypto 1.3.0" in explanation
    assert "Error detecting the version of libcrypto" in explanation
    assert "skill.hosting.verify.RequestVerifier" in explanation


def test_the_stand_in_provides_the_error_classes_the_sdk_imports():
    result = run_python(
        SIMULATE_BROKEN_OSCRYPTO,
        """
        from skill.compat import import_skill_adapter
        import_skill_adapter()
        from certvalidator.errors import PathError, ValidationError
        print(issubclass(PathError, Exception), issubclass(ValidationError, Exception))
        """,
    )
    assert result.stdout.split() == ["True", "True"]


def test_a_healthy_certvalidator_is_left_alone():
    result = run_python(
        SIMULATE_HEALTHY_CERTVALIDATOR,
        LOG_TO_STDERR,
        """
        import sys
        from skill.compat import import_skill_adapter
        import_skill_adapter()
        import ask_sdk_webservice_support.verifier as sdk_verifier
        print(sys.modules["certvalidator"] is healthy,
              sdk_verifier.CertificateValidator is healthy.CertificateValidator)
        """,
    )
    assert result.stdout.split() == ["True", "True"]
    assert "trigger_coach.compat" not in result.stderr


def test_other_import_failures_are_not_hidden():
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                """
                import sys
                sys.modules["certvalidator"] = None  # as if it were not installed
                from skill.compat import import_skill_adapter
                import_skill_adapter()
                """
            ),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "ModuleNotFoundError" in result.stderr


def test_calling_the_shim_twice_installs_the_stand_in_once():
    result = run_python(
        SIMULATE_BROKEN_OSCRYPTO,
        LOG_TO_STDERR,
        """
        import sys
        from skill.compat import import_skill_adapter
        first = import_skill_adapter()
        stand_in = sys.modules["certvalidator"]
        print(import_skill_adapter() is first, sys.modules["certvalidator"] is stand_in)
        """,
    )
    assert result.stdout.split() == ["True", "True"]
    assert result.stderr.count("trigger_coach.compat INFO") == 1


@pytest.mark.parametrize(
    ("version", "unreadable"),
    [
        ("OpenSSL 3.0.19 27 Jan 2026", True),
        ("OpenSSL 3.0.13 30 Jan 2024", True),
        ("OpenSSL 3.0.2 15 Mar 2022", False),
        ("OpenSSL 1.1.1w  11 Sep 2023", False),
        ("LibreSSL 3.3.6", False),
    ],
)
def test_an_openssl_version_is_judged_as_oscrypto_would_read_it(version, unreadable):
    assert oscrypto_cannot_read(version) is unreadable


def test_the_version_patterns_are_the_ones_the_installed_oscrypto_uses():
    source = Path(importlib.util.find_spec("oscrypto").origin).parent / "_openssl" / "_libcrypto_ctypes.py"
    text = source.read_text()
    import oscrypto.version

    if oscrypto.version.__version__ != BROKEN_OSCRYPTO:
        pytest.skip(f"oscrypto {oscrypto.version.__version__} is not the broken release; no shortcut is taken")
    for pattern in OSCRYPTO_VERSION_PATTERNS:
        assert pattern.replace("\\", "\\\\") in text, f"oscrypto no longer reads its version with {pattern!r}"


def test_a_known_failure_installs_the_stand_in_without_loading_libcrypto():
    result = run_python(
        LOG_TO_STDERR,
        """
        import json, ssl, sys
        from skill.compat import import_skill_adapter, oscrypto_cannot_read
        import_skill_adapter()
        print(json.dumps({
            "unreadable": oscrypto_cannot_read(ssl.OPENSSL_VERSION),
            "stand_in": getattr(sys.modules["certvalidator"], "TRIGGER_COACH_STAND_IN", False),
            "probed": "oscrypto._openssl._libcrypto" in sys.modules or "ctypes.util" in sys.modules,
        }))
        """,
    )
    outcome = json.loads(result.stdout)
    if not outcome["unreadable"]:
        pytest.skip("this Python's OpenSSL version is one oscrypto can read: the probe decides")
    assert outcome == {"unreadable": True, "stand_in": True, "probed": False}
    assert "cannot read" in result.stderr
