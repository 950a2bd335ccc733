"""The Lambda bundle from `trigger-coach package`, unzipped and run in a clean process against dynalite.

The bundle is built for this machine's Python and architecture (the CLI defaults are the
template's), installed by pip from PyPI, then imported with only its own folder and the
standard library on sys.path, as AWS Lambda does.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import ResponseEnvelope

from skill.config import LOCAL_SKILL_ID, PROJECT_ROOT, Settings
from skill.content.complaints import complaints_path
from skill.core.routines import ROUTINES_DIR
from skill.hosting.package import LAMBDA_HANDLER, PackageError, build_bundle, request_modules
from tests import alexa
from tests.conftest import TEST_ROUTINES
from tests.integration.dynalite_server import dynalite_endpoint  # noqa: F401 - fixture

CDN = "https://cdn.example.test"
THIS_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}[
    platform.machine().lower()]

# Reads one event per line, answers one response per line: the Lambda runtime's loop, minus HTTP.
DRIVER = """
import importlib, json, sys
root, handler = sys.argv[1], sys.argv[2]
if any("site-packages" in entry for entry in sys.path):
    sys.exit(f"site-packages is on sys.path: {sys.path}")
sys.path.insert(0, root)
module, _, name = handler.rpartition(".")
function = getattr(importlib.import_module(module), name)
for line in sys.stdin:
    print(json.dumps(function(json.loads(line), None)), flush=True)
"""


def lambda_environment(**settings: str) -> dict[str, str]:
    """Return what the Lambda runtime sets (function name, region, role keys) plus our settings."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": "trigger-coach",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "TRIGGER_COACH_SKILL_ID": LOCAL_SKILL_ID,
        **settings,
    }


class LambdaProcess:
    """Run the bundled handler in `python -I -S` with only the bundle folder added to sys.path."""

    def __init__(self, root: Path, env: dict[str, str], log: Path) -> None:
        self.root, self.log = root, log
        self._log_file = log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", DRIVER, str(root), LAMBDA_HANDLER],
            cwd=root, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log_file, text=True,
        )

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(event) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(timeout=30)
            raise AssertionError(f"The handler process exited with {self.proc.returncode}:\n{self.output()}")
        return json.loads(line)

    def output(self) -> str:
        if not self._log_file.closed:
            self._log_file.flush()
        return self.log.read_text()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log_file.close()


def valid_response(reply: dict[str, Any]) -> ResponseEnvelope:
    """Return the reply as ask-sdk-model's ResponseEnvelope, after checking it is one."""
    envelope = DefaultSerializer().deserialize(json.dumps(reply), ResponseEnvelope)
    assert isinstance(envelope, ResponseEnvelope) and envelope.version == "1.0", reply
    assert envelope.response is not None, reply
    return envelope


def copy_test_routines(tmp_path: Path) -> Path:
    """Copy the test routines and the complaints file into a routines folder.

    The complaints offer only the test routines there (a complaint offering none of them
    offers the first), so the file passes the checks a bundle makes.
    """
    folder = tmp_path / "routines"
    folder.mkdir()
    for routine in TEST_ROUTINES:
        shutil.copy(ROUTINES_DIR / f"{routine}.json", folder)
    book = json.loads(complaints_path(ROUTINES_DIR).read_text())
    for complaint in book["complaints"]:
        complaint["routines"] = [r for r in complaint["routines"] if r in TEST_ROUTINES] or [TEST_ROUTINES[0]]
    complaints_path(folder).write_text(json.dumps(book))
    return folder


@pytest.fixture(scope="module")
def bundle(rendered_audio: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Build the bundle for this machine from the rendered test routines; return (zip, unzipped folder)."""
    work = tmp_path_factory.mktemp("bundle")
    settings = Settings(audio_dir=rendered_audio, routines_dir=copy_test_routines(work))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    built = build_bundle(settings, work / "out" / "trigger-coach-lambda.zip",
                         python_version=version, architecture=THIS_ARCHITECTURE)
    print(built.summary())
    root = work / "unzipped"
    root.mkdir()
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(root)
    return built.path, root


def test_the_bundle_holds_the_request_path_routines_and_manifests_and_nothing_else(bundle):
    path, root = bundle
    infos = zipfile.ZipFile(path).infolist()
    names = [info.filename for info in infos]
    assert {info.external_attr >> 16 for info in infos} == {0o100644}, "files Lambda's user can read"
    assert len({info.date_time for info in infos}) == 1, "one fixed date, so the same inputs give the same zip"
    ours = {n for n in names if n.startswith(("skill/", "routines/", "audio/"))}
    expected_code = {p.relative_to(PROJECT_ROOT).as_posix() for p in request_modules()}
    assert ours == expected_code | {f"routines/{r}.json" for r in (*TEST_ROUTINES, "complaints")} | {
        f"audio/tracks/manifests/{r}{tail}.json" for r in TEST_ROUTINES for tail in ("", ".quick")}
    assert "skill/hosting/lambda_function.py" in ours and "skill/content/manifest.py" in ours
    assert not {"skill/render/mix.py", "skill/render/tracks.py", "skill/hosting/web.py", "skill/cli.py"} & ours
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith(("tests/", "bin/"))]
    top = {n.split("/")[0] for n in names}
    assert {"ask_sdk_core", "ask_sdk_model", "tzdata"} <= top
    assert not {"boto3", "botocore", "s3transfer"} & top, "skill.storage.dynamo_client speaks to DynamoDB itself"
    assert not {"flask", "waitress", "pydub", "numpy", "piper", "pytest", "hypothesis", "ask_sdk_dynamodb"} & top, \
        "the SDK's one-document DynamoDB adapter is not ours: skill.storage.dynamodb is"
    assert not list(root.rglob("*.mp3")), "tracks go to S3, not into the function"


def test_a_whole_routine_plays_and_is_stored_through_the_bundled_handler(bundle, dynalite_endpoint, tmp_path):  # noqa: F811
    _, root = bundle
    env = lambda_environment(
        TRIGGER_COACH_STORAGE="dynamodb",
        TRIGGER_COACH_DYNAMODB_ENDPOINT=dynalite_endpoint,
        TRIGGER_COACH_DYNAMODB_TABLE=f"bundle-{uuid.uuid4().hex[:8]}",
        TRIGGER_COACH_PUBLIC_URL=CDN,
    )
    user = "amzn1.ask.account.BUNDLE-USER"
    handler = LambdaProcess(root, env, tmp_path / "lambda.log")
    try:
        launch = valid_response(handler.invoke(alexa.launch(user=user)))
        assert launch.response.output_speech is not None

        reply = handler.invoke(alexa.intent("StartRoutineIntent", {"routine": ("calves", "calves")}, user=user))
        valid_response(reply)
        play = alexa.play_of(reply)
        assert play and play["playBehavior"] == "REPLACE_ALL"
        token, played = play["audioItem"]["stream"]["token"], 0
        while token:
            assert play["audioItem"]["stream"]["url"].startswith(CDN + "/audio/")
            queued = None
            for kind in ("PlaybackStarted", "PlaybackNearlyFinished", "PlaybackFinished"):
                reply = handler.invoke(alexa.audio_event(kind, token, user=user))
                assert valid_response(reply).response.output_speech is None, reply  # AudioPlayer replies are silent
                if kind == "PlaybackNearlyFinished":
                    queued = alexa.play_of(reply)
            played += 1
            if queued:
                assert queued["playBehavior"] == "ENQUEUE"
                assert queued["audioItem"]["stream"]["expectedPreviousToken"] == token
                play = queued
            token = queued["audioItem"]["stream"]["token"] if queued else None
        assert played == 15
    finally:
        handler.close()
    assert handler.proc.returncode == 0, handler.output()

    # A new instance (another cold start) reads the run back from DynamoDB.
    fresh = LambdaProcess(root, env, tmp_path / "lambda-2.log")
    try:
        progress = fresh.invoke(alexa.intent("ProgressIntent", user=user))
    finally:
        fresh.close()
    valid_response(progress)
    assert "one session" in alexa.speech_of(progress)


def test_the_bundled_handler_gets_people_from_what_hurts_to_a_routine(bundle, dynalite_endpoint, tmp_path):  # noqa: F811
    _, root = bundle
    env = lambda_environment(
        TRIGGER_COACH_STORAGE="dynamodb", TRIGGER_COACH_DYNAMODB_ENDPOINT=dynalite_endpoint,
        TRIGGER_COACH_DYNAMODB_TABLE=f"bundle-{uuid.uuid4().hex[:8]}", TRIGGER_COACH_PUBLIC_URL=CDN)
    handler = LambdaProcess(root, env, tmp_path / "lambda.log")
    try:
        reply = handler.invoke(alexa.intent("ComplaintIntent", {"complaint": "calf cramps"}))
    finally:
        handler.close()
    valid_response(reply)
    assert "Shall I start your calves routine?" in alexa.speech_of(reply), reply
    assert "No complaints file" not in handler.output()


def test_packaging_a_complaints_file_that_fails_its_checks_refuses_and_says_why(rendered_audio, tmp_path):
    routines = copy_test_routines(tmp_path)
    book = json.loads(complaints_path(routines).read_text())
    book["complaints"][0]["routines"].append("no-such-routine")
    complaints_path(routines).write_text(json.dumps(book))
    settings = Settings(audio_dir=rendered_audio, routines_dir=routines)
    with pytest.raises(PackageError, match=r"(?s)complaints file .* 1 problem.*no-such-routine"):
        build_bundle(settings, tmp_path / "bundle.zip")
    complaints_path(routines).unlink()
    with pytest.raises(PackageError, match=r"No complaints file"):
        build_bundle(settings, tmp_path / "bundle.zip")
    assert not (tmp_path / "bundle.zip").exists()


def test_the_bundled_handler_refuses_to_start_without_a_public_url_naming_it(bundle, tmp_path):
    _, root = bundle
    handler = LambdaProcess(root, lambda_environment(), tmp_path / "lambda.log")
    try:
        with pytest.raises(AssertionError, match="exited"):
            handler.invoke(alexa.launch())
    finally:
        handler.close()
    assert "TRIGGER_COACH_PUBLIC_URL=''" in handler.output()
    assert "ConfigError" in handler.output()


def test_packaging_unrendered_routines_says_to_render_first(tmp_path):
    settings = Settings(audio_dir=tmp_path / "no-audio", routines_dir=copy_test_routines(tmp_path))
    with pytest.raises(PackageError, match=r"The tracks of calves, calves.quick, upper-back, upper-back.quick "
                                           r"are not rendered .* run 'trigger-coach render' first"):
        build_bundle(settings, tmp_path / "bundle.zip")
    assert not (tmp_path / "bundle.zip").exists()


def test_packaging_routines_that_fail_validation_refuses_and_names_the_file(tmp_path, monkeypatch, capsys):
    from skill.cli import main

    routines = copy_test_routines(tmp_path)
    broken = json.loads((routines / "calves.json").read_text())
    del broken["steps"]
    (routines / "calves.json").write_text(json.dumps(broken))
    monkeypatch.setenv("TRIGGER_COACH_ROUTINES_DIR", str(routines))
    assert main(["package", "--output", str(tmp_path / "bundle.zip")]) == 1
    err = capsys.readouterr().err
    assert "no bundle was built" in err and "calves.json" in err and "steps" in err
    assert not (tmp_path / "bundle.zip").exists()
