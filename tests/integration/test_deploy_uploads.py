"""The deploy command's AWS steps against moto's server on loopback: bundle, stack outputs, tracks."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from skill.hosting.deploy import (
    AUDIO_PREFIX,
    IMAGE_PREFIX,
    TRACK_HEADERS,
    DeployError,
    ensure_bucket,
    stack_outputs,
    upload_bundle,
    upload_images,
    upload_tracks,
)
from tests.integration.moto_server import (
    REGION,
    client,
    moto_endpoint,  # noqa: F401 - fixture
)

# Stands in for template.yaml's outputs: moto cannot run the SAM transform or CloudFront.
STACK = {
    "Resources": {"AudioBucket": {"Type": "AWS::S3::Bucket"}},
    "Outputs": {"AudioBucketName": {"Value": {"Ref": "AudioBucket"}}},
}


@pytest.fixture
def tracks(rendered_audio: Path, tmp_path: Path) -> Path:
    """Return a tracks folder with three real rendered tracks and a manifest beside them."""
    folder = tmp_path / "tracks"
    (folder / "manifests").mkdir(parents=True)
    for track in sorted((rendered_audio / "tracks").glob("*.mp3"))[:3]:
        shutil.copy(track, folder)
    (folder / "manifests" / "calves.json").write_text("{}")
    return folder


@pytest.fixture
def images(rendered_audio: Path, tmp_path: Path) -> Path:
    """Return a pictures folder with two real rendered placement pictures."""
    folder = tmp_path / "images"
    folder.mkdir()
    for picture in sorted((rendered_audio / "images").glob("*.png"))[:2]:
        shutil.copy(picture, folder)
    return folder


@pytest.fixture
def s3(moto_endpoint):  # noqa: F811
    return client(moto_endpoint, "s3")


def new_bucket(s3, name: str) -> str:
    ensure_bucket(s3, name, REGION)
    return name


def test_tracks_go_under_audio_with_year_long_immutable_caching_and_their_type(s3, tracks):
    bucket = new_bucket(s3, "tracks-headers")
    assert upload_tracks(s3, bucket, tracks).new == 3
    listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert listed == sorted(AUDIO_PREFIX + p.name for p in tracks.glob("*.mp3")), "only tracks, no manifests"
    for track in tracks.glob("*.mp3"):
        stored = s3.get_object(Bucket=bucket, Key=AUDIO_PREFIX + track.name)
        assert stored["ContentType"] == "audio/mpeg" == TRACK_HEADERS["ContentType"]
        assert stored["CacheControl"] == "public, max-age=31536000, immutable"
        assert stored["Body"].read() == track.read_bytes()


def test_a_second_upload_sends_only_tracks_that_are_new(s3, tracks, rendered_audio):
    bucket = new_bucket(s3, "tracks-again")
    upload_tracks(s3, bucket, tracks)
    assert upload_tracks(s3, bucket, tracks).new == 0
    extra = sorted((rendered_audio / "tracks").glob("*.mp3"))[3]
    shutil.copy(extra, tracks)
    again = upload_tracks(s3, bucket, tracks)
    assert (again.new, again.present) == (1, 3)


def test_uploading_without_rendered_tracks_says_to_render_first(s3, tmp_path):
    with pytest.raises(DeployError, match=r"no rendered tracks in .*run 'trigger-coach render' first"):
        upload_tracks(s3, new_bucket(s3, "tracks-none"), tmp_path)


def test_pictures_go_under_images_with_year_long_immutable_caching_and_only_new_ones_go_again(s3, images):
    bucket = new_bucket(s3, "pictures")
    assert upload_images(s3, bucket, images).new == 2
    for picture in images.glob("*.png"):
        stored = s3.get_object(Bucket=bucket, Key=IMAGE_PREFIX + picture.name)
        assert (stored["ContentType"], stored["CacheControl"]) == ("image/png", "public, max-age=31536000, immutable")
        assert stored["Body"].read() == picture.read_bytes()
    again = upload_images(s3, bucket, images)
    assert (again.new, again.present) == (0, 2)
    with pytest.raises(DeployError, match=r"no placement pictures in .*run 'trigger-coach render' first"):
        upload_images(s3, bucket, images / "none")


def test_the_code_bucket_is_created_private_in_the_region_and_kept_when_it_exists(s3):
    ensure_bucket(s3, "code-bucket", REGION)
    ensure_bucket(s3, "code-bucket", REGION)
    assert s3.get_bucket_location(Bucket="code-bucket")["LocationConstraint"] == REGION
    block = s3.get_public_access_block(Bucket="code-bucket")["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4


def test_the_bundle_is_stored_once_under_a_key_naming_its_content(s3, tmp_path):
    bucket = new_bucket(s3, "code-keys")
    bundle = tmp_path / "trigger-coach-lambda.zip"
    bundle.write_bytes(b"PK first")
    first = upload_bundle(s3, bucket, bundle)
    assert upload_bundle(s3, bucket, bundle) == first
    bundle.write_bytes(b"PK second")
    second = upload_bundle(s3, bucket, bundle)
    assert second != first and second.startswith("lambda/trigger-coach-") and second.endswith(".zip")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == sorted([first, second])
    assert s3.get_object(Bucket=bucket, Key=second)["Body"].read() == b"PK second"


def test_a_missing_bundle_says_to_package_first(s3, tmp_path):
    with pytest.raises(DeployError, match="run 'trigger-coach package' first"):
        upload_bundle(s3, new_bucket(s3, "code-none"), tmp_path / "missing.zip")


def test_tracks_go_to_the_bucket_the_stack_outputs_name(moto_endpoint, s3, tracks):  # noqa: F811
    cloudformation = client(moto_endpoint, "cloudformation")
    assert stack_outputs(cloudformation, "coach", missing_ok=True) is None
    with pytest.raises(DeployError, match="Cannot read the stack 'coach'"):
        stack_outputs(cloudformation, "coach")
    cloudformation.create_stack(StackName="coach", TemplateBody=json.dumps(STACK))
    outputs = stack_outputs(cloudformation, "coach")
    bucket = outputs["AudioBucketName"]
    assert upload_tracks(s3, bucket, tracks).new == 3
    assert s3.head_object(Bucket=bucket, Key=AUDIO_PREFIX + next(tracks.glob("*.mp3")).name)


# Stands in for the SAM CLI: checks it was given an uploaded bundle and the skill id, then creates
# (or leaves) a stack on moto with template.yaml's output names. Amazon itself stays out of it.
FAKE_SAM = """#!{python}
import json, sys
import boto3
args = sys.argv[1:]
with open({calls!r}, "a") as calls:
    calls.write(json.dumps(args) + "\\n")
assert args[0] == "deploy", args
stack = args[args.index("--stack-name") + 1]
region = args[args.index("--region") + 1]
params = dict(arg.split("=", 1) for arg in args[args.index("--parameter-overrides") + 1:])
session = boto3.session.Session(region_name=region)
session.client("s3").head_object(Bucket=params["CodeBucket"], Key=params["CodeKey"])
cloudformation = session.client("cloudformation")
if not [s for s in cloudformation.list_stacks()["StackSummaries"] if s["StackName"] == stack]:
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps({{
        "Resources": {{"AudioBucket": {{"Type": "AWS::S3::Bucket"}}}},
        "Outputs": {{
            "AudioBucketName": {{"Value": {{"Ref": "AudioBucket"}}}},
            "AudioUrl": {{"Value": "https://cdn.example.test/audio/"}},
            "SkillEndpoint": {{"Value": "arn:aws:lambda:{{}}:123456789012:function:coach".format(region)}},
        }},
    }}))
"""
SKILL_ID = "amzn1.ask.skill.12345678-90ab-cdef-1234-567890abcdef"


def test_deploy_uploads_the_bundle_runs_sam_and_uploads_the_tracks_then_repeats_cheaply(
        moto_endpoint, s3, tracks, images, tmp_path, monkeypatch, capsys):  # noqa: F811
    from skill.cli import main

    calls = tmp_path / "sam-calls.jsonl"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sam = bin_dir / "sam"
    sam.write_text(FAKE_SAM.format(python=sys.executable, calls=str(calls)))
    sam.chmod(0o755)
    audio = tmp_path / "audio"
    audio.mkdir()
    tracks.rename(audio / "tracks")
    images.rename(audio / "images")
    bundle = tmp_path / "trigger-coach-lambda.zip"
    bundle.write_bytes(b"PK bundle")
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "local",
                        "AWS_SECRET_ACCESS_KEY": "local", "TRIGGER_COACH_AUDIO_DIR": str(audio),
                        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}.items():
        monkeypatch.setenv(name, value)
    argv = ["deploy", "--skill-id", SKILL_ID, "--stack-name", "Coach", "--region", REGION, "--bundle", str(bundle)]

    assert main(argv) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "Uploaded 3 new track(s) (0 already there)" in out
    assert "2 new picture(s) (0 already there) to images/" in out
    assert "served at https://cdn.example.test/audio/" in out and "function:coach" in out
    first = json.loads(calls.read_text().splitlines()[0])
    assert f"SkillId={SKILL_ID}" in first and "Voice=piper" in first
    assert "CodeBucket=coach-code-123456789012-eu-west-1" in first

    assert main(argv) == 0
    again = capsys.readouterr().out
    assert "Uploaded 0 new track(s) (3 already there)" in again and "0 new picture(s) (2 already there)" in again
    assert len(calls.read_text().splitlines()) == 2
