"""Run the real skill server on loopback for tests: in a thread, or as its own process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from skill.config import PROJECT_ROOT, Settings

# Rendered once and kept between test runs (the render cache makes re-runs nearly free).
TEST_AUDIO_DIR = PROJECT_ROOT / "var" / "test-audio"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, seconds: float = 60.0, proc: subprocess.Popen | None = None) -> dict[str, Any]:
    """Poll /healthz until the server answers; fail with the server's output if it dies."""
    deadline = time.monotonic() + seconds
    while True:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise RuntimeError(f"The server exited with {proc.returncode}:\n{out}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                return json.loads(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


class ThreadServer:
    """Serve a WSGI app over real HTTP on an ephemeral loopback port, in background threads.

    In-process tests use werkzeug's threaded server because it shuts down cleanly between
    tests; `ProcessServer` runs the production server (waitress) as `trigger-coach serve`.
    """

    def __init__(self, app: Any) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ThreadServer:
        self._thread.start()
        wait_healthy(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class WaitressServer:
    """Serve the app with the production server (waitress, as `trigger-coach serve` sets it up) in this process."""

    def __init__(self, app: Any, settings: Settings) -> None:
        from skill.hosting.web import make_server

        self._server = make_server(app, settings.with_(host="127.0.0.1", port=0))
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> WaitressServer:
        self._thread.start()
        wait_healthy(self.url)
        return self

    def __exit__(self, *exc: object) -> None:
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown(timeout=10)
        wasyncore.close_all(self._server._map)  # the listener and every open channel: the loop ends
        self._thread.join(timeout=10)


def settings_env(settings: Settings) -> dict[str, str]:
    """Return TRIGGER_COACH_* variables that reproduce these settings in a child process."""
    return {
        "TRIGGER_COACH_SKILL_ID": settings.skill_id,
        "TRIGGER_COACH_PUBLIC_URL": settings.public_url,
        "TRIGGER_COACH_VERIFY": "1" if settings.verify else "0",
        "TRIGGER_COACH_DATA_DIR": str(settings.data_dir),
        "TRIGGER_COACH_AUDIO_DIR": str(settings.audio_dir),
        "TRIGGER_COACH_ROUTINES_DIR": str(settings.routines_dir),
        "TRIGGER_COACH_STORAGE": settings.storage,
        "TRIGGER_COACH_DYNAMODB_TABLE": settings.dynamodb_table,
        "TRIGGER_COACH_DYNAMODB_ENDPOINT": settings.dynamodb_endpoint or "",
        "TRIGGER_COACH_THREADS": str(settings.threads),
        "TRIGGER_COACH_IDLE_TIMEOUT": str(settings.idle_timeout),
        "TRIGGER_COACH_CONNECTION_LIMIT": str(settings.connection_limit),
        "TRIGGER_COACH_REQUEST_TIMEOUT": str(settings.request_timeout),
    }


class ProcessServer:
    """Run `trigger-coach serve --no-render` as a child process, to kill and restart it."""

    def __init__(self, settings: Settings, log_path: Path | None = None) -> None:
        self.settings = settings
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> ProcessServer:
        env = {**os.environ, **settings_env(self.settings), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "skill.cli", "serve", "--no-render", "--port", str(self.port)],
            cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        wait_healthy(self.url, proc=self.proc)
        # Drain output so a chatty server never blocks on a full pipe.
        threading.Thread(target=self._drain, args=(self.proc,), daemon=True).start()
        return self

    def _drain(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        sink = open(self.log_path, "a") if self.log_path else None  # noqa: SIM115
        for line in proc.stdout:
            if sink:
                sink.write(line)
                sink.flush()
        if sink:
            sink.close()

    def kill(self) -> None:
        """Kill the server with SIGKILL, as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ProcessServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def zone_api(zone: str) -> Iterator[str]:
    """Serve the stand-in Alexa APIs on loopback with every device in `zone`; yield its URL."""
    from tests.alexa_api import AlexaApiState, alexa_api

    with alexa_api(AlexaApiState(zone=zone)) as (url, _):
        yield url
