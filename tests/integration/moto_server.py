"""Run moto's server (PyPI `moto[server]`: S3, CloudFormation, STS over their real REST protocols).

One server per test module on a free loopback port; no request leaves the machine::

    from tests.integration.moto_server import moto_endpoint  # noqa: F401

    def test_something(moto_endpoint): ...  # "http://127.0.0.1:<port>"
"""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import pytest

HOST = "127.0.0.1"
REGION = "eu-west-1"  # not us-east-1, so bucket creation needs its LocationConstraint


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """Yield the endpoint URL of a fresh moto server, stopped when the module's tests end."""
    with tempfile.TemporaryFile() as log:
        for _ in range(3):
            port = _free_port()
            proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with socket.create_connection((HOST, port), timeout=0.2):
                        break
                except OSError:
                    time.sleep(0.1)
            if proc.poll() is None and time.monotonic() < deadline:
                break
            proc.kill()
            proc.wait()
        else:
            log.seek(0)
            pytest.fail(f"moto's server did not start:\n{log.read().decode(errors='replace')[-2000:]}", pytrace=False)
        try:
            yield f"http://{HOST}:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def client(endpoint: str, service: str) -> Any:
    """Return a boto3 client for one service of the moto server (any key signs for it)."""
    import boto3

    return boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                 region_name=REGION).client(service, endpoint_url=endpoint)
