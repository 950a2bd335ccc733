"""template.yaml and ask-resources.json describe what the bundle and the settings expect.

cfn-lint itself runs in `./dev test` next to ruff; these tests check what it cannot know.
"""

from __future__ import annotations

import json
import os
import re

import pytest
from cfnlint.decode import decode

from skill import config
from skill.config import PROJECT_ROOT
from skill.hosting.deploy import AUDIO_PREFIX, CAPABILITIES
from skill.hosting.package import LAMBDA_ARCHITECTURE, LAMBDA_HANDLER, LAMBDA_PYTHON

TEMPLATE, problems = decode(str(PROJECT_ROOT / "template.yaml"))
assert not problems, problems
RESOURCES = TEMPLATE["Resources"]
FUNCTION = RESOURCES["SkillFunction"]["Properties"]
ASK_RESOURCES = json.loads((PROJECT_ROOT / "ask-resources.json").read_text())
ASK_PROFILE = ASK_RESOURCES["profiles"]["default"]
# What @ask-cli/cfn-deployer always passes to the stack (lib/builtins/deploy-delegates/cfn-deployer).
CFN_DEPLOYER_PARAMETERS = {"SkillId", "LambdaRuntime", "LambdaHandler", "CodeBucket", "CodeKey", "CodeVersion"}
# What skill/hosting/deploy.py's deploy() passes to sam deploy.
TEMPLATE_PARAMETERS_DEPLOY_PASSES = ("SkillId", "Voice", "LocaleVoices", "CodeBucket", "CodeKey")


def default_of(name: str) -> str:
    parameter = TEMPLATE["Parameters"][name]
    assert parameter.get("AllowedValues", [parameter["Default"]]) == [parameter["Default"]]
    return parameter["Default"]


def test_the_function_runs_the_bundles_handler_runtime_and_architecture():
    assert FUNCTION["Handler"] == {"Ref": "LambdaHandler"} and default_of("LambdaHandler") == LAMBDA_HANDLER
    assert FUNCTION["Runtime"] == {"Ref": "LambdaRuntime"} and default_of("LambdaRuntime") == f"python{LAMBDA_PYTHON}"
    assert FUNCTION["Architectures"] == [LAMBDA_ARCHITECTURE]


def test_the_function_gives_up_before_alexa_does():
    assert FUNCTION["Timeout"] < 8
    assert FUNCTION["MemorySize"] >= 512


def test_only_the_skill_may_invoke_the_function():
    events = FUNCTION["Events"]
    assert [e["Type"] for e in events.values()] == ["AlexaSkill"]
    assert next(iter(events.values()))["Properties"]["SkillId"] == {"Ref": "SkillId"}


def test_the_function_may_only_read_and_write_its_own_table():
    assert FUNCTION["Policies"] == [{"DynamoDBCrudPolicy": {"TableName": {"Ref": "ProgressTable"}}}]


def test_the_environment_wires_dynamodb_the_table_the_cdn_and_the_region_with_documented_names():
    env = FUNCTION["Environment"]["Variables"]
    assert set(env) <= set(config.DOCUMENTED), "every variable must be a documented setting"
    assert env["TRIGGER_COACH_STORAGE"] == "dynamodb"
    assert env["TRIGGER_COACH_DYNAMODB_TABLE"] == {"Ref": "ProgressTable"}
    assert env["TRIGGER_COACH_PUBLIC_URL"] == {"Fn::Sub": "https://${AudioDistribution.DomainName}"}
    assert env["TRIGGER_COACH_AWS_REGION"] == {"Ref": "AWS::Region"}
    assert env["TRIGGER_COACH_SKILL_ID"] == {"Ref": "SkillId"}
    assert env["TRIGGER_COACH_VOICE"] == {"Ref": "Voice"}
    assert env["TRIGGER_COACH_LOCALE_VOICES"] == {"Ref": "LocaleVoices"}


def test_the_locale_voices_parameter_takes_what_the_setting_takes():
    pattern = re.compile(TEMPLATE["Parameters"]["LocaleVoices"]["AllowedPattern"])
    for value in ("", "en-GB=polly:Amy", "en-GB=polly:Amy,en-AU=polly:Olivia,en-IN=polly:Kajal", "en-CA=espeak"):
        assert pattern.match(value) and config.from_env({"TRIGGER_COACH_LOCALE_VOICES": value}) is not None
    for value in ("en-GB", "en-GB=", "english=polly:Amy", "en-GB=polly:Amy,"):
        assert not pattern.match(value), value


def test_the_table_has_the_state_layouts_keys_on_demand_with_recovery_and_deletion_protection():
    table = RESOURCES["ProgressTable"]
    props = table["Properties"]
    assert [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]] == [("id", "HASH"), ("sk", "RANGE")]
    types = {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]}
    assert types == {("id", "S"), ("sk", "S")}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_the_audio_bucket_is_private_and_read_only_through_cloudfront_over_https():
    block = RESOURCES["AudioBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                   "RestrictPublicBuckets"), True)
    allow = RESOURCES["AudioBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow["Action"] == "s3:GetObject"
    distribution = RESOURCES["AudioDistribution"]["Properties"]["DistributionConfig"]
    origin = distribution["Origins"][0]
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["AudioOriginAccessControl", "Id"]}
    behaviour = distribution["DefaultCacheBehavior"]
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert behaviour["AllowedMethods"] == ["GET", "HEAD"]


def test_content_addressed_names_are_cached_for_a_year():
    policy = RESOURCES["ContentAddressedCachePolicy"]["Properties"]["CachePolicyConfig"]
    year = 365 * 24 * 3600
    assert policy["DefaultTTL"] == policy["MaxTTL"] == year
    assert policy["ParametersInCacheKeyAndForwardedToOrigin"]["QueryStringsConfig"] == {"QueryStringBehavior": "none"}


def test_the_outputs_give_the_endpoint_the_public_url_and_the_bucket_the_settings_and_deploy_use():
    outputs = TEMPLATE["Outputs"]
    assert outputs["SkillEndpoint"]["Value"] == {"Fn::GetAtt": ["SkillFunction", "Arn"]}
    public = outputs["PublicUrl"]["Value"]["Fn::Sub"]
    assert outputs["AudioUrl"]["Value"]["Fn::Sub"] == public + "/" + AUDIO_PREFIX
    assert config.Settings(public_url="https://cdn.test").audio_base_url == "https://cdn.test/" + AUDIO_PREFIX
    assert outputs["AudioBucketName"]["Value"] == {"Ref": "AudioBucket"}


@pytest.mark.parametrize("skill_id, ok", [
    ("amzn1.ask.skill.12345678-90ab-cdef-1234-567890abcdef", True),
    ("amzn1.ask.skill.12345678-90AB-cdef-1234-567890abcdef", False),
    ("amzn1.ask.skill.", False),
    ("12345678-90ab-cdef-1234-567890abcdef", False),
    (config.LOCAL_SKILL_ID, False),
    ("amzn1.ask.skill.12345678-90ab-cdef-1234-567890abcdef ", False),
])
def test_a_malformed_skill_id_is_refused_by_the_parameter_pattern(skill_id, ok):
    parameter = TEMPLATE["Parameters"]["SkillId"]
    assert bool(re.fullmatch(parameter["AllowedPattern"], skill_id)) is ok


def test_the_skill_id_constraint_message_shows_an_example_that_passes():
    parameter = TEMPLATE["Parameters"]["SkillId"]
    example = re.search(r"amzn1\.ask\.skill\.[0-9a-f-]+", parameter["ConstraintDescription"]).group(0)
    assert re.fullmatch(parameter["AllowedPattern"], example)


def test_the_template_accepts_every_parameter_the_ask_cli_passes_and_declares_none_it_lacks():
    declared = set(TEMPLATE["Parameters"])
    user = set(ASK_PROFILE["skillInfrastructure"]["userConfig"]["cfn"]["parameters"])
    assert CFN_DEPLOYER_PARAMETERS | user <= declared
    required = {name for name, p in TEMPLATE["Parameters"].items() if "Default" not in p}
    assert required <= CFN_DEPLOYER_PARAMETERS, "the ASK CLI cannot pass these"


def test_ask_resources_points_at_files_that_exist_with_the_bundles_runtime_and_handler():
    assert ASK_RESOURCES["askcliResourcesVersion"] == "2020-03-31"
    assert (PROJECT_ROOT / ASK_PROFILE["skillMetadata"]["src"] / "skill.json").is_file()
    assert (PROJECT_ROOT / ASK_PROFILE["code"]["default"]["src"] / "__init__.py").is_file()
    infrastructure = ASK_PROFILE["skillInfrastructure"]
    assert infrastructure["type"] == "@ask-cli/cfn-deployer"
    user_config = infrastructure["userConfig"]
    assert (PROJECT_ROOT / user_config["templatePath"]).resolve() == (PROJECT_ROOT / "template.yaml").resolve()
    assert user_config["runtime"] == default_of("LambdaRuntime")
    assert user_config["handler"] == LAMBDA_HANDLER
    assert "CAPABILITY_AUTO_EXPAND" in user_config["cfn"]["capabilities"], "a SAM transform needs it"
    assert "CAPABILITY_AUTO_EXPAND" in CAPABILITIES


def test_the_ask_cli_build_hook_runs_the_packager_into_the_file_it_is_given():
    hook = PROJECT_ROOT / "hooks" / "build.sh"
    assert os.access(hook, os.X_OK)
    assert re.search(r'trigger-coach package --output "\$1"', hook.read_text())


def test_deploy_without_a_skill_id_asks_for_one(monkeypatch, capsys):
    from skill.cli import main

    monkeypatch.delenv("TRIGGER_COACH_SKILL_ID", raising=False)
    assert main(["deploy"]) == 1
    assert "Pass --skill-id amzn1.ask.skill." in capsys.readouterr().err


def test_deploy_without_the_sam_cli_says_how_to_get_it(monkeypatch, tmp_path):
    from skill.hosting.deploy import DeployError, sam_command

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DeployError, match=r"'sam'\) is not on PATH; install it"):
        sam_command(stack_name="coach", region="eu-west-1", parameters={})


def test_sam_deploys_the_template_with_the_capabilities_a_sam_transform_needs(monkeypatch, tmp_path):
    from skill.hosting.deploy import TEMPLATE as TEMPLATE_PATH
    from skill.hosting.deploy import sam_command

    sam = tmp_path / "sam"
    sam.write_text("#!/bin/sh\n")
    sam.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    command = sam_command(stack_name="coach", region="eu-west-1",
                          parameters={"SkillId": "amzn1.ask.skill.x", "CodeKey": "lambda/k.zip"})
    assert command[:4] == [str(sam), "deploy", "--template-file", str(TEMPLATE_PATH)]
    capabilities = command[command.index("--capabilities") + 1:command.index("--no-fail-on-empty-changeset")]
    assert capabilities == list(CAPABILITIES)
    assert command[-2:] == ["SkillId=amzn1.ask.skill.x", "CodeKey=lambda/k.zip"]
    assert set(TEMPLATE_PARAMETERS_DEPLOY_PASSES) <= set(TEMPLATE["Parameters"])
