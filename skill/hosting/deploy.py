"""Deploy the stack in template.yaml: upload the bundle, run `sam deploy`, upload the tracks.

The steps, each safe to repeat:
1. the bundle goes to a code bucket under a content-addressed key (created when missing);
2. `sam deploy` creates or updates the stack with that key and the skill id;
3. every rendered track goes to the stack's audio bucket as ``audio/<hash>.mp3``, and every
   placement picture as ``images/<hash>.png``, skipping names already there (a name is a
   content hash, so an existing object is the same sound or picture), with headers that let
   CloudFront and the speaker cache it for a year.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skill.config import PROJECT_ROOT

if TYPE_CHECKING:
    from botocore.client import BaseClient

TEMPLATE = PROJECT_ROOT / "template.yaml"
AUDIO_PREFIX = "audio/"  # Settings.audio_base_url ends in /audio/
IMAGE_PREFIX = "images/"  # Settings.image_base_url ends in /images/
IMMUTABLE = "public, max-age=31536000, immutable"
TRACK_HEADERS = {"ContentType": "audio/mpeg", "CacheControl": IMMUTABLE}
IMAGE_HEADERS = {"ContentType": "image/png", "CacheControl": IMMUTABLE}
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")


class DeployError(RuntimeError):
    """The deployment cannot go on; the message says what to do."""


@dataclass(frozen=True)
class Uploaded:
    """How many files went up, and how many were already there."""

    new: int
    present: int


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _existing_keys(s3: BaseClient, bucket: str, prefix: str) -> set[str]:
    keys: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys.update(item["Key"] for item in page.get("Contents", []))
    return keys


def ensure_bucket(s3: BaseClient, bucket: str, region: str) -> None:
    """Create a private bucket unless it exists (and is ours)."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket"}:
            raise DeployError(f"The bucket {bucket!r} exists but is not yours to use ({error}); "
                              "pass another --code-bucket.") from None
    options: dict[str, Any] = {}
    if region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(Bucket=bucket, **options)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})


def upload_bundle(s3: BaseClient, bucket: str, bundle: Path) -> str:
    """Upload the Lambda zip under a key naming its content; return the key."""
    if not bundle.is_file():
        raise DeployError(f"There is no bundle at {bundle}; run 'trigger-coach package' first.")
    key = f"lambda/trigger-coach-{_file_digest(bundle)[:24]}.zip"
    if key not in _existing_keys(s3, bucket, key):
        s3.upload_file(str(bundle), bucket, key)
    return key


def _upload_new(s3: BaseClient, bucket: str, files: list[Path], prefix: str,
                headers: dict[str, str]) -> Uploaded:
    """Upload each file under prefix + its name, skipping names already in the bucket."""
    present = _existing_keys(s3, bucket, prefix)
    new = 0
    for path in files:
        key = prefix + path.name
        if key in present:
            continue
        s3.upload_file(str(path), bucket, key, ExtraArgs=headers)
        new += 1
    return Uploaded(new=new, present=len(files) - new)


def upload_tracks(s3: BaseClient, bucket: str, tracks_dir: Path) -> Uploaded:
    """Upload every rendered ``*.mp3`` to ``audio/`` in the bucket, skipping names already there."""
    tracks = sorted(tracks_dir.glob("*.mp3"))
    if not tracks:
        raise DeployError(f"There are no rendered tracks in {tracks_dir}; run 'trigger-coach render' first.")
    return _upload_new(s3, bucket, tracks, AUDIO_PREFIX, TRACK_HEADERS)


def upload_images(s3: BaseClient, bucket: str, images_dir: Path) -> Uploaded:
    """Upload every placement picture (``*.png``) to ``images/`` in the bucket, skipping names there."""
    images = sorted(images_dir.glob("*.png"))
    if not images:
        raise DeployError(f"There are no placement pictures in {images_dir}; run 'trigger-coach render' first.")
    return _upload_new(s3, bucket, images, IMAGE_PREFIX, IMAGE_HEADERS)


def stack_outputs(cloudformation: BaseClient, stack_name: str, *, missing_ok: bool = False) -> dict[str, str] | None:
    """Return the outputs of a deployed stack by their keys (None if it is missing and that is ok)."""
    from botocore.exceptions import ClientError

    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if missing_ok and "does not exist" in str(error):
            return None
        raise DeployError(f"Cannot read the stack {stack_name!r}: {error}.") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def sam_command(*, stack_name: str, region: str, parameters: dict[str, str], template: Path = TEMPLATE) -> list[str]:
    """Return the `sam deploy` command line for the stack."""
    sam = shutil.which("sam")
    if sam is None:
        raise DeployError("The AWS SAM CLI ('sam') is not on PATH; install it (pip install aws-sam-cli "
                          "or see AWS's install guide) and run 'sam --version' to check.")
    return [
        sam, "deploy", "--template-file", str(template), "--stack-name", stack_name, "--region", region,
        "--capabilities", *CAPABILITIES, "--no-fail-on-empty-changeset",
        "--parameter-overrides", *(f"{name}={value}" for name, value in parameters.items()),
    ]


def deploy(*, skill_id: str, stack_name: str, region: str, voice: str, bundle: Path, tracks_dir: Path,
           images_dir: Path, code_bucket: str | None = None, locale_voices: str = "") -> str:
    """Deploy everything to AWS with the default credentials; return a summary to print.

    When the stack exists, new tracks and pictures go up before the function that names them
    is updated.
    """
    try:
        import boto3
    except ImportError:
        raise DeployError("'trigger-coach deploy' needs the AWS SDK, which the request-time install leaves out; "
                          "install it with: pip install 'trigger-coach[aws]'.") from None
    session = boto3.session.Session(region_name=region)
    s3 = session.client("s3")
    if code_bucket is None:
        account = session.client("sts").get_caller_identity()["Account"]
        code_bucket = f"{stack_name.lower()}-code-{account}-{region}"
    ensure_bucket(s3, code_bucket, region)
    key = upload_bundle(s3, code_bucket, bundle)
    cloudformation = session.client("cloudformation")
    earlier = stack_outputs(cloudformation, stack_name, missing_ok=True)
    new = upload_tracks(s3, earlier["AudioBucketName"], tracks_dir).new if earlier else 0
    if earlier:
        upload_images(s3, earlier["AudioBucketName"], images_dir)
    parameters = {"SkillId": skill_id, "Voice": voice, "CodeBucket": code_bucket, "CodeKey": key}
    if locale_voices:  # otherwise the template's default: every locale speaks with Voice
        parameters["LocaleVoices"] = locale_voices
    result = subprocess.run(sam_command(stack_name=stack_name, region=region, parameters=parameters), check=False)
    if result.returncode != 0:
        raise DeployError(f"'sam deploy' failed with exit status {result.returncode}; see its output above.")
    outputs = stack_outputs(cloudformation, stack_name) or {}
    missing = sorted({"AudioBucketName", "AudioUrl", "SkillEndpoint"} - set(outputs))
    if missing:
        raise DeployError(f"The stack {stack_name!r} has no output {', '.join(missing)}; was it made from "
                          f"{TEMPLATE.name}? Pass the right --stack-name.")
    uploaded = upload_tracks(s3, outputs["AudioBucketName"], tracks_dir)
    pictures = upload_images(s3, outputs["AudioBucketName"], images_dir)
    return (f"Uploaded {new + uploaded.new} new track(s) ({uploaded.present - new} already there) to "
            f"s3://{outputs['AudioBucketName']}/{AUDIO_PREFIX}, served at {outputs['AudioUrl']}, and "
            f"{pictures.new} new picture(s) ({pictures.present} already there) to {IMAGE_PREFIX}.\n"
            f"Skill endpoint (Lambda ARN): {outputs['SkillEndpoint']}")
