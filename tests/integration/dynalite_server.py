"""Run a real dynalite server (a DynamoDB-compatible server, npm package) for the tests.

dynalite is installed from ``tests/e2e/package-lock.json``; when ``tests/e2e/node_modules``
is missing, ``npm ci`` runs there first. One server serves the whole pytest session on a free
loopback port and is stopped at its end.

Use it from any test module or conftest.py (pytest puts the repository root on sys.path)::

    from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401

    def test_something(dynalite_endpoint): ...  # "http://127.0.0.1:<port>"

Import it under that one name everywhere: the server is shared per imported module.

or outside pytest: ``with DynaliteServer() as server: server.endpoint_url``.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

import pytest

E2E_DIR = Path(__file__).resolve().parents[1] / "e2e"
DYNALITE_CLI = E2E_DIR / "node_modules" / ".bin" / "dynalite"
HOST = "127.0.0.1"


class DynaliteError(RuntimeError):
    """Signal that dynalite could not be installed or started."""


def ensure_installed() -> None:
    """Install the npm test tools with ``npm ci`` in tests/e2e unless they are there."""
    if DYNALITE_CLI.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise DynaliteError(
            f"dynalite is not installed ({DYNALITE_CLI} is missing) and npm is not on PATH. "
            f"Install Node.js 18+ with npm, then run `npm ci` in {E2E_DIR}."
        )
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=E2E_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0 or not DYNALITE_CLI.exists():
        raise DynaliteError(
            f"`npm ci` in {E2E_DIR} failed with exit code {result.returncode}; run it by hand "
            f"to see why. Its output ended with:\n{(result.stdout + result.stderr)[-2000:]}"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class DynaliteServer:
    """Start an in-memory dynalite process on a free loopback port, and stop it."""

    def __init__(self, *, start_timeout: float = 20.0) -> None:
        self.start_timeout = start_timeout
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        """Return the URL to give boto3 as ``endpoint_url``."""
        if self.port is None:
            raise DynaliteError("dynalite is not running; call start() first.")
        return f"http://{HOST}:{self.port}"

    def start(self) -> DynaliteServer:
        """Start dynalite and wait until its port accepts connections."""
        ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise DynaliteError("node is not on PATH; install Node.js 18+ to run dynalite.")
        # Another process may take the probed port before dynalite binds it: try a few.
        output = ""
        for _ in range(3):
            port = _free_port()
            # Kept open while dynalite runs, so its output can be shown if it fails.
            self._log = tempfile.NamedTemporaryFile(prefix="dynalite-", suffix=".log")  # noqa: SIM115
            self._process = subprocess.Popen(
                [
                    node,
                    str(DYNALITE_CLI),
                    "--port",
                    str(port),
                    "--host",
                    HOST,
                    # Tables leave the CREATING state quickly, but not instantly, so the
                    # adapters' wait for ACTIVE is exercised without slowing every test.
                    "--createTableMs",
                    "50",
                    "--deleteTableMs",
                    "50",
                ],
                stdout=self._log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
            if self._wait_for_port(port):
                self.port = port
                atexit.register(self.stop)
                return self
            output = self._output()
            self.stop()
        raise DynaliteError(f"dynalite did not start within {self.start_timeout:g} s. Its output:\n{output}")

    def stop(self) -> None:
        """Stop dynalite if it runs; calling it again does nothing."""
        process, self._process, self.port = self._process, None, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def _wait_for_port(self, port: int) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # exited, most likely because the port was taken
            try:
                with socket.create_connection((HOST, port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def _output(self) -> str:
        if self._log is None:
            return "(no output captured)"
        self._log.flush()
        with open(self._log.name, encoding="utf-8", errors="replace") as log:
            return log.read()[-2000:]

    def __enter__(self) -> DynaliteServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


# One server per test process, even if several modules import the fixture (each import makes
# pytest see a separate fixture definition): the last user to finish stops it.
_shared: DynaliteServer | None = None
_users = 0
_lock = threading.Lock()


@pytest.fixture(scope="session")
def dynalite_endpoint() -> Iterator[str]:
    """Yield the endpoint URL of a running dynalite server shared by the test session."""
    global _shared, _users
    with _lock:
        if _shared is None:
            try:
                _shared = DynaliteServer().start()
            except DynaliteError as error:
                pytest.fail(str(error), pytrace=False)
        _users += 1
        server = _shared
    try:
        yield server.endpoint_url
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                server.stop()
                _shared = None
