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
Bytecode is cached for all modules alike, as in a deployed bundle. One untimed round first,
then --repeats rounds, the kinds interleaved and rotated each round. Prints medians, the
ratios ours/hello (target <= 1.3), hello-io/hello, ours/hello-io and ours/hello-ddb, then one
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
                    "TRIGGER_COACH_PUBLIC_URL": "https://cdn.example.test"}
        kinds = {
            "ours": (lambda: program(OURS), ours_env),  # a new user in every sample
            "hello": (lambda: program(HELLO), lambda_env),
            "hello-ddb": (lambda: program(HELLO_DDB, endpoint=endpoint, table=hello_table), lambda_env),
            "hello-io": (lambda: program(HELLO_IO, endpoint=endpoint, table=io_table), lambda_env),
            "python": ("pass\n", lambda_env),
        }
        with tempfile.TemporaryDirectory(prefix="trigger-coach-lambda-") as work:
            med = interleaved(kinds, Path(work) / "pycache", args.repeats)
    finally:
        dynalite.stop()

    print(f"Lambda cold start (import + first LaunchRequest), fresh interpreter per sample, median of "
          f"{args.repeats} (ms)")
    print(f"{'kind':<10}{'wall':>9}{'CPU':>9}{'process':>10}{'wall range':>18}")
    for name, m in med.items():
        print(f"{name:<10}{m['wall'] * 1000:>9.1f}{m['cpu'] * 1000:>9.1f}{m['process'] * 1000:>10.1f}"
              f"{m['low'] * 1000:>9.1f}..{m['high'] * 1000:.1f}")
    ours, hello, ddb, io = med["ours"], med["hello"], med["hello-ddb"], med["hello-io"]
    wall, cpu = ours["wall"] / hello["wall"], ours["cpu"] / hello["cpu"]
    floor_wall, floor_cpu = io["wall"] / hello["wall"], io["cpu"] / hello["cpu"]
    own_wall, own_cpu = ours["wall"] / io["wall"], ours["cpu"] / io["cpu"]
    ddb_wall, ddb_cpu = ours["wall"] / ddb["wall"], ours["cpu"] / ddb["cpu"]
    print()
    print(f"ours / hello      wall = {wall:6.3f}   CPU = {cpu:6.3f}   (target <= 1.3; no storage in hello)")
    print(f"hello-io / hello  wall = {floor_wall:6.3f}   CPU = {floor_cpu:6.3f}   (the reads alone)")
    print(f"ours / hello-io   wall = {own_wall:6.3f}   CPU = {own_cpu:6.3f}   (what our own code adds)")
    print(f"ours / hello-ddb  wall = {ddb_wall:6.3f}   CPU = {ddb_cpu:6.3f}   (hello with the SDK's DynamoDB adapter)")
    print(result_line("lambda", wall_ratio=round(wall, 3), cpu_ratio=round(cpu, 3), ddb_wall_ratio=round(ddb_wall, 3),
                      ddb_cpu_ratio=round(ddb_cpu, 3), floor_wall_ratio=round(floor_wall, 3),
                      floor_cpu_ratio=round(floor_cpu, 3), own_wall_ratio=round(own_wall, 3),
                      own_cpu_ratio=round(own_cpu, 3), io_wall_ms=round(io["wall"] * 1000, 1),
                      ours_wall_ms=round(ours["wall"] * 1000, 1),
                      hello_wall_ms=round(hello["wall"] * 1000, 1), ddb_wall_ms=round(ddb["wall"] * 1000, 1),
                      ours_cpu_ms=round(ours["cpu"] * 1000, 1), hello_cpu_ms=round(hello["cpu"] * 1000, 1),
                      ddb_cpu_ms=round(ddb["cpu"] * 1000, 1), repeats=args.repeats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
