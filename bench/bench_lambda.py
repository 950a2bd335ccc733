"""Compare the cold start of our Lambda handler with hello-world ask-sdk Lambda handlers.

Run: python bench/bench_lambda.py [--repeats 15]

Each sample is a fresh `python -c` subprocess that times, from its first line to the first
LaunchRequest answered, wall time (perf_counter) and CPU time (process_time): the import of
the handler's module plus one invocation, as Lambda's init and first invoke do. Every sample
is a new user, so the launch reads an empty record.
  ours       skill.hosting.lambda_function.lambda_handler with TRIGGER_COACH_STORAGE=dynamodb
             against a real dynalite on loopback (the deployed configuration), rendered audio
  hello      ask-sdk SkillBuilder with one handler answering "Hello world.", no storage
             (the baseline of the target, issue 11 item 4)
  hello-ddb  the same with the official ask-sdk-dynamodb-persistence-adapter against the same
             dynalite: it reads the user's attributes and saves them back, as a stored skill must
  hello-io   hello plus only our DynamoDB client (skill.storage.dynamo_client: socket, TLS, SigV4)
             making the three reads a first launch makes (the profile, the devices, the recent
             runs): no other skill code. The least a launch that reads DynamoDB costs on this
             stack, so ours/hello-io is what our own code adds (for reference)
  python     nothing (`pass`): the interpreter's own start, which the in-process times exclude
  *-rt       ours, hello and hello-io again, each with the standard-library modules already
             imported, untimed, that Lambda's Python runtime has imported before it imports a
             handler (RUNTIME: the top-level imports of awslambdaric 4.2's bootstrap and its
             package, the runtime interface client of AWS's Python runtimes). Their logging,
             json and traceback cost neither handler anything on Lambda
Bytecode is cached for all modules alike, as in a deployed bundle. One untimed round first,
then --repeats rounds, the kinds interleaved and rotated each round. Prints medians, the
ratios ours/hello (target <= 1.3), hello-io/hello, ours/hello-io and ours/hello-ddb, the same
three for the *-rt kinds, then one
`RESULT lambda key=value ...`
line. Without dynalite (no node) it says so and exits 1: the target is not measured.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_coldstart import HELLO_HANDLER, interleaved
from load import TEST_AUDIO_DIR, ensure_audio, result_line

from skill.config import LOCAL_SKILL_ID
from tests import alexa

ANSWERED = ("assert _r['version'] == '1.0' and 'outputSpeech' in _r['response'], _r\n")

OURS = """
import skill.hosting.lambda_function as _f
_r = _f.lambda_handler(EVENT, None)
"""

HELLO = """
from ask_sdk_core.skill_builder import SkillBuilder
""" + HELLO_HANDLER + """
_sb = SkillBuilder()
_sb.add_request_handler(Hello())
_r = _sb.lambda_handler()(EVENT, None)
"""

HELLO_DDB = """
import boto3
from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_dynamodb.adapter import DynamoDbAdapter

class Hello(AbstractRequestHandler):
    def can_handle(self, handler_input):
        return True

    def handle(self, handler_input):
        attributes = handler_input.attributes_manager.persistent_attributes
        attributes["launches"] = attributes.get("launches", 0) + 1
        handler_input.attributes_manager.save_persistent_attributes()
        return handler_input.response_builder.speak("Hello world.").response

_db = boto3.resource("dynamodb", endpoint_url=ENDPOINT, region_name="us-east-1")
_sb = CustomSkillBuilder(persistence_adapter=DynamoDbAdapter(TABLE, dynamodb_resource=_db))
_sb.add_request_handler(Hello())
_r = _sb.lambda_handler()(EVENT, None)
"""

HELLO_IO = """
import os
from skill.storage.dynamo_client import DynamoClient
from skill.storage.sigv4 import credential_source
""" + HELLO_HANDLER + """
class HelloReading(Hello):
    def handle(self, handler_input):
        user = {"S": handler_input.request_envelope.session.user.user_id}
        client = DynamoClient(ENDPOINT, os.environ["AWS_REGION"], credential_source(local=True))
        client.call("GetItem", {"TableName": TABLE, "Key": {"id": user, "sk": {"S": "profile"}},
                                "ConsistentRead": True})
        for low, high in (("device#", "device$"), ("run#", "run$")):
            client.call("Query", {"TableName": TABLE, "ConsistentRead": True,
                                  "KeyConditionExpression": "id = :id AND sk BETWEEN :low AND :high",
                                  "ExpressionAttributeValues": {":id": user, ":low": {"S": low},
                                                                ":high": {"S": high}}})
        return super().handle(handler_input)

from ask_sdk_core.skill_builder import SkillBuilder
_sb = SkillBuilder()
_sb.add_request_handler(HelloReading())
_r = _sb.lambda_handler()(EVENT, None)
"""

# What awslambdaric's bootstrap.py (and the modules of its package it imports) have imported
# before bootstrap.run() imports the handler: its standard-library imports. Its third-party
# ones (simplejson, its C runtime client) are left out: no handler here uses them.
RUNTIME = "import decimal, enum, importlib, json, logging, math, os, sys, time, traceback\n"


def program(body: str, *, endpoint: str = "", table: str = "") -> str:
    """Return a sample's code: a fresh LaunchRequest of a new user, then `body`, then the check."""
    event = alexa.launch(user=f"amzn1.ask.account.COLD-{uuid.uuid4().hex}", skill_id=LOCAL_SKILL_ID)
    return (f"import json as _json\nEVENT = _json.loads({json.dumps(event)!r})\n"
            f"ENDPOINT, TABLE = {endpoint!r}, {table!r}\n" + body + ANSWERED)


def main(argv: list[str] | None = None) -> int:
    """Run the samples and print the medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="samples of each kind (default 15, at least 5)")
    args = parser.parse_args(argv)
    if args.repeats < 5:
        parser.error("--repeats must be at least 5")
    ensure_audio()
    from tests.integration.dynalite_server import DynaliteError, DynaliteServer

    try:
        dynalite = DynaliteServer().start()
    except DynaliteError as exc:
        print(f"dynalite is not available ({exc}); the Lambda cold start is not measured.")
        return 1
    try:
        import boto3

        endpoint, ours_table, hello_table, io_table = dynalite.endpoint_url, "cold-ours", "cold-hello", "cold-io"
        admin = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="local",
                             aws_secret_access_key="local")
        admin.create_table(
            TableName=hello_table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        admin.create_table(  # our table's keys
            TableName=io_table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"},
                                           {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        lambda_env = {"AWS_LAMBDA_FUNCTION_NAME": "trigger-coach", "AWS_REGION": "us-east-1",
                      "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "local",
                      "AWS_SECRET_ACCESS_KEY": "local"}
        ours_env = {**lambda_env, "TRIGGER_COACH_STORAGE": "dynamodb", "TRIGGER_COACH_DYNAMODB_ENDPOINT": endpoint,
                    "TRIGGER_COACH_DYNAMODB_TABLE": ours_table, "TRIGGER_COACH_AUDIO_DIR": str(TEST_AUDIO_DIR),
                    "TRIGGER_COACH_PUBLIC_URL": "https://cdn.example.test", "TRIGGER_COACH_SKILL_ID": LOCAL_SKILL_ID}
        kinds = {
            "ours": (lambda: program(OURS), ours_env, ""),  # a new user in every sample
            "hello": (lambda: program(HELLO), lambda_env, ""),
            "hello-ddb": (lambda: program(HELLO_DDB, endpoint=endpoint, table=hello_table), lambda_env, ""),
            "hello-io": (lambda: program(HELLO_IO, endpoint=endpoint, table=io_table), lambda_env, ""),
            "python": ("pass\n", lambda_env, ""),
            "ours-rt": (lambda: program(OURS), ours_env, RUNTIME),
            "hello-rt": (lambda: program(HELLO), lambda_env, RUNTIME),
            "hello-io-rt": (lambda: program(HELLO_IO, endpoint=endpoint, table=io_table), lambda_env, RUNTIME),
        }
        with tempfile.TemporaryDirectory(prefix="trigger-coach-lambda-") as work:
            med = interleaved(kinds, Path(work) / "pycache", args.repeats)
    finally:
        dynalite.stop()

    print(f"Lambda cold start (import + first LaunchRequest), fresh interpreter per sample, median of "
          f"{args.repeats} (ms)")
    print(f"{'kind':<12}{'wall':>9}{'CPU':>9}{'process':>10}{'wall range':>18}")
    for name, m in med.items():
        print(f"{name:<12}{m['wall'] * 1000:>9.1f}{m['cpu'] * 1000:>9.1f}{m['process'] * 1000:>10.1f}"
              f"{m['low'] * 1000:>9.1f}..{m['high'] * 1000:.1f}")

    def ratio(a: str, b: str) -> tuple[float, float]:
        return med[a]["wall"] / med[b]["wall"], med[a]["cpu"] / med[b]["cpu"]

    rows = [("ours / hello", ratio("ours", "hello"), "target <= 1.3; no storage in hello"),
            ("hello-io / hello", ratio("hello-io", "hello"), "the reads alone"),
            ("ours / hello-io", ratio("ours", "hello-io"), "what our own code adds"),
            ("ours / hello-ddb", ratio("ours", "hello-ddb"), "hello with the SDK's DynamoDB adapter"),
            ("ours-rt / hello-rt", ratio("ours-rt", "hello-rt"), "the target, with Lambda's runtime loaded"),
            ("hello-io-rt / hello-rt", ratio("hello-io-rt", "hello-rt"), "the reads alone, runtime loaded"),
            ("ours-rt / hello-io-rt", ratio("ours-rt", "hello-io-rt"), "our own code, runtime loaded")]
    print()
    for label, (wall, cpu), what in rows:
        print(f"{label:<24}wall = {wall:6.3f}   CPU = {cpu:6.3f}   ({what})")
    keys = ("", "floor_", "own_", "ddb_", "rt_", "rt_floor_", "rt_own_")
    figures = {f"{key}{kind}_ratio": round(value, 3) for key, (_, pair, _) in zip(keys, rows, strict=True)
               for kind, value in zip(("wall", "cpu"), pair, strict=True)}
    figures.update({f"{name.replace('-', '_')}_{kind}_ms": round(m[kind] * 1000, 1)
                    for name, m in med.items() if name != "python" for kind in ("wall", "cpu")})
    print(result_line("lambda", **figures, repeats=args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
