"""The dialogue by voice: virtual-alexa (npm) drives the real server, started as its own process.

The Node side is tests/e2e/voice.test.js (node's built-in test runner); this module starts
`trigger-coach serve` on loopback with verification off (virtual-alexa cannot sign requests),
runs node against it and fails with node's and the server's output when any check fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from skill.alexa.builder import build_coach
from skill.config import Settings
from skill.content.manifest import load_manifest
from tests.server import ProcessServer

E2E_DIR = Path(__file__).resolve().parent
SCRIPT = E2E_DIR / "voice.test.js"
NODE_TIMEOUT = 300  # seconds for the whole node run; each test inside has its own bound
NPM_TIMEOUT = 600


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"'{name}' is not on PATH, and the end-to-end tests need Node.js 18+ with npm. "
                    "Install them (e.g. apt-get install nodejs npm) and run the tests again.")
    return path


def _node() -> str:
    node = _tool("node")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    major = re.match(r"v(\d+)\.", version)
    if major is None or int(major.group(1)) < 18:
        pytest.fail(f"Node.js {version or '(unknown version)'} is too old for the end-to-end tests; "
                    "they need 18 or newer (for node --test).")
    return node


def _install_node_packages() -> None:
    """Run `npm ci` in tests/e2e when its packages are not installed yet."""
    if (E2E_DIR / "node_modules" / "virtual-alexa" / "package.json").is_file():
        return
    result = subprocess.run(
        [_tool("npm"), "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=E2E_DIR, capture_output=True, text=True, timeout=NPM_TIMEOUT,
    )
    if result.returncode != 0:
        pytest.fail(f"'npm ci' in {E2E_DIR} failed with exit code {result.returncode}:\n"
                    f"{result.stdout}\n{result.stderr}")


@pytest.fixture
def e2e_settings(app_settings: Settings) -> Settings:
    """Return the fixture's settings with verification off: virtual-alexa sends no signatures."""
    return app_settings.with_(verify=False)


def test_virtual_alexa_plays_pauses_resumes_and_finishes_routines_by_voice(e2e_settings, tmp_path):
    node = _node()
    _install_node_packages()
    calves = build_coach(e2e_settings).catalog.program("calves")
    assert calves is not None, "the calves routine is not rendered"
    quick_upper = load_manifest("upper-back.quick", e2e_settings)
    full_upper = load_manifest("upper-back", e2e_settings)
    assert quick_upper is not None and full_upper is not None, "the upper back routine is not rendered"
    log_path = tmp_path / "server.log"
    with ProcessServer(e2e_settings, log_path=log_path) as server:
        env = {
            **os.environ,
            "TRIGGER_COACH_E2E_SKILL_URL": server.url + "/",
            "TRIGGER_COACH_E2E_SKILL_ID": e2e_settings.skill_id,
            "TRIGGER_COACH_E2E_PUBLIC_URL": e2e_settings.public_url,
            "TRIGGER_COACH_E2E_CALVES_TRACKS": str(calves.last + 1),
            "TRIGGER_COACH_E2E_QUICK_UPPER_FILES": ",".join(t.file for t in quick_upper.tracks),
            "TRIGGER_COACH_E2E_FULL_UPPER_FIRST": full_upper.tracks[0].file,
            "AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE": "1",
            "NO_COLOR": "1",
        }
        try:
            result = subprocess.run(
                [node, "--test", "--test-reporter=spec", SCRIPT.name],
                cwd=E2E_DIR, env=env, capture_output=True, text=True, timeout=NODE_TIMEOUT,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"node ran longer than {NODE_TIMEOUT} s:\n{exc.stdout}\n{exc.stderr}")
    output = f"{result.stdout}\n{result.stderr}"
    server_log = log_path.read_text() if log_path.exists() else "(no server output)"
    assert result.returncode == 0, (
        f"node --test {SCRIPT.name} exited with {result.returncode}:\n{output}\n"
        f"--- server output ---\n{server_log}"
    )
    passed = re.search(r"^\S* ?pass (\d+)$", result.stdout, re.MULTILINE)
    assert passed and int(passed.group(1)) > 0, f"node ran no end-to-end tests:\n{output}"
