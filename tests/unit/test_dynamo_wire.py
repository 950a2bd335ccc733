"""Check our DynamoDB wire against botocore and boto3, which stay test dependencies.

Signatures: for fixed credentials, time and request, our headers equal those botocore's
`SigV4Auth` adds. Attribute values: whatever plain-JSON record hypothesis draws, `marshal`
equals boto3's TypeSerializer (after the float-to-Decimal step the adapter always did) and
`unmarshal` equals boto3's TypeDeserializer (its Decimals turned back into int or float).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import DYNAMODB_CONTEXT as BOTO3_CONTEXT
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given
from hypothesis import strategies as st

from skill.storage.dynamo_client import API_VERSION, CONTENT_TYPE, DYNAMODB_CONTEXT, marshal, unmarshal
from skill.storage.sigv4 import Credentials, credential_source, from_environment, host_header, sign

MOMENT = datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC)


def botocore_headers(url: str, headers: dict[str, str], body: bytes, credentials: Credentials, region: str,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Return the headers botocore's SigV4Auth gives the same request at MOMENT."""
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: MOMENT.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(headers))
    botocore_auth.SigV4Auth(BotoCredentials(credentials.access_key, credentials.secret_key, credentials.token),
                            "dynamodb", region).add_auth(request)
    return dict(request.headers.items())


def dynamo_headers(operation: str) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, "X-Amz-Target": f"{API_VERSION}.{operation}"}


SIGNED = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token")
ODD_BODY = json.dumps({
    "TableName": "trigger-coach", "Item": {"id": {"S": "amzn1.ask.account.ÄÖÜ 日本 💆"}, "sk": {"S": "run#2026"},
                                           "attributes": {"M": {"ключ with spaces": {"S": "x"}, "#:=&?/": {"N": "1"},
                                                                "": {"NULL": True}}}},
}, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize(("url", "token", "body"), [
    ("https://dynamodb.eu-west-1.amazonaws.com", "FwoGZXIvYXdzEJr//////////wEaDO+session/token==", ODD_BODY),
    ("https://dynamodb.eu-west-1.amazonaws.com/", None, b'{"TableName":"t","Key":{"id":{"S":"a"}}}'),
    ("http://127.0.0.1:4567", "token", b"{}"),
    ("http://localhost:80", None, b""),
])
def test_our_signature_headers_equal_botocores_for_the_same_request(url, token, body, monkeypatch) -> None:
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    ours = sign("POST", url, dynamo_headers("PutItem"), body, credentials=credentials, region="eu-west-1",
                service="dynamodb", moment=MOMENT)
    theirs = botocore_headers(url, dynamo_headers("PutItem"), body, credentials, "eu-west-1", monkeypatch)
    assert {name: ours.get(name) for name in SIGNED} == {name: theirs.get(name) for name in SIGNED}
    assert ours["X-Amz-Date"] == "20261202T030405Z"
    assert ("X-Amz-Security-Token" in ours) is (token is not None)


@given(body=st.binary(max_size=300), secret=st.text(min_size=1, max_size=40),
       value=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30))
def test_any_body_secret_and_header_value_sign_as_botocore_signs_them(body, secret, value) -> None:
    credentials = Credentials("AKID", secret, "tok")
    headers = {**dynamo_headers("Query"), "X-Odd-Header": f"  {value}  x  "}
    ours = sign("POST", "https://dynamodb.us-east-1.amazonaws.com", headers, body, credentials=credentials,
                region="us-east-1", service="dynamodb", moment=MOMENT)
    with pytest.MonkeyPatch.context() as monkeypatch:
        theirs = botocore_headers("https://dynamodb.us-east-1.amazonaws.com", headers, body, credentials,
                                  "us-east-1", monkeypatch)
    assert ours["Authorization"] == theirs["Authorization"]


def test_a_url_with_a_query_string_is_refused_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'https://x.test/\?a=1'"):
        sign("POST", "https://x.test/?a=1", {}, b"", credentials=Credentials("a", "b"), region="r", service="s",
             moment=MOMENT)


def test_the_host_header_drops_only_the_default_port() -> None:
    assert host_header("https://Dynamodb.EU-west-1.amazonaws.com:443/") == "dynamodb.eu-west-1.amazonaws.com"
    assert host_header("http://127.0.0.1:8000") == "127.0.0.1:8000"
    assert host_header("http://[::1]:4567") == "[::1]:4567"


def test_credentials_come_from_lambdas_variables_and_a_missing_token_is_none() -> None:
    assert from_environment({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"}) \
        == Credentials("A", "S", "T")
    assert from_environment({"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S"}) == Credentials("A", "S")
    assert from_environment({"AWS_ACCESS_KEY_ID": "A"}) is None
    assert "S" not in repr(Credentials("A", "S", "T")), "the secret is never printed"


def test_the_environments_keys_are_read_again_for_every_request(monkeypatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    current = credential_source()
    assert current().access_key == "first"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "rotated")
    assert current().access_key == "rotated"


# --- attribute values -------------------------------------------------------------------------

json_scalars = (st.none() | st.booleans() | st.text(max_size=20) | st.integers(min_value=-(10**37), max_value=10**37)
                | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: f == 0 or 1e-120 < abs(f) < 1e120))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


def boto3_input(value: Any) -> Any:
    """Return ``value`` as the adapter used to hand it to boto3: floats as Decimals of their repr."""
    if isinstance(value, dict):
        return {key: boto3_input(item) for key, item in value.items()}
    if isinstance(value, list):
        return [boto3_input(item) for item in value]
    if isinstance(value, float) and not isinstance(value, bool):
        if value.is_integer() and abs(value) < 1e38:
            return BOTO3_CONTEXT.create_decimal(int(value))
        return BOTO3_CONTEXT.create_decimal(Decimal(repr(value)))
    return value


def from_boto3(value: Any) -> Any:
    """Return boto3's deserialized value with Decimals as int or float, as the adapter always read them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: from_boto3(item) for key, item in value.items()}
    if isinstance(value, list):
        return [from_boto3(item) for item in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Return whether two plain-JSON values are equal, types included (1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_our_decimal_context_is_boto3s() -> None:
    assert (DYNAMODB_CONTEXT.prec, DYNAMODB_CONTEXT.Emin, DYNAMODB_CONTEXT.Emax) == (
        BOTO3_CONTEXT.prec, BOTO3_CONTEXT.Emin, BOTO3_CONTEXT.Emax)
    assert {t for t, on in DYNAMODB_CONTEXT.traps.items() if on} == {t for t, on in BOTO3_CONTEXT.traps.items() if on}


@given(json_values)
def test_marshalling_any_record_equals_boto3s_serializer(value) -> None:
    assert marshal(value) == TypeSerializer().serialize(boto3_input(value))


@given(json_values)
def test_unmarshalling_any_stored_record_equals_boto3s_deserializer_and_round_trips(value) -> None:
    wire = json.loads(json.dumps(TypeSerializer().serialize(boto3_input(value))))  # as it comes off the wire
    ours = unmarshal(wire)
    assert same(ours, from_boto3(TypeDeserializer().deserialize(wire)))
    assert same(ours, value) or _integral_float_came_back_as_int(ours, value)


def _integral_float_came_back_as_int(ours: Any, value: Any) -> bool:
    if isinstance(value, float):
        return isinstance(ours, int) and float(ours) == value  # 1e38 reads back as 10**38, as with boto3
    if isinstance(value, dict):
        return ours.keys() == value.keys() and all(same(ours[k], value[k]) or _integral_float_came_back_as_int(
            ours[k], value[k]) for k in value)
    if isinstance(value, list):
        return all(same(o, v) or _integral_float_came_back_as_int(o, v) for o, v in zip(ours, value, strict=True))
    return False


@pytest.mark.parametrize("number", [1e-300, 10**40, math.nan, math.inf, Decimal("1." + "0" * 40 + "1")])
def test_a_number_dynamodb_cannot_hold_is_refused_naming_where_it_is(number) -> None:
    with pytest.raises(ValueError, match=r"at \$\.a\[1\] of user 'u' does not fit DynamoDB"):
        marshal({"a": [0, number]}, owner=" of user 'u'")


@pytest.mark.parametrize(("attribute", "says"), [
    ({"SS": ["a"]}, "set"), ({"B": "AA=="}, "binary"), ({"N": "1e999"}, "not one DynamoDB can hold"),
    ({"S": 1}, "not a DynamoDB attribute value"), ({}, "not a DynamoDB attribute value"),
    ({"N": "NaN"}, "not finite"),
])
def test_a_stored_value_our_records_never_hold_is_refused_as_unreadable(attribute, says) -> None:
    with pytest.raises(ValueError, match=says):
        unmarshal({"M": {"x": attribute}})


def test_the_regional_endpoint_follows_the_region_and_a_malformed_region_is_refused_naming_the_setting() -> None:
    from skill.storage.dynamodb import regional_endpoint

    assert regional_endpoint("eu-west-1") == "https://dynamodb.eu-west-1.amazonaws.com"
    assert regional_endpoint("us-gov-west-1") == "https://dynamodb.us-gov-west-1.amazonaws.com"
    assert regional_endpoint("cn-north-1") == "https://dynamodb.cn-north-1.amazonaws.com.cn"
    with pytest.raises(ValueError, match=r"'eu west' is not an AWS region name; set TRIGGER_COACH_AWS_REGION"):
        regional_endpoint("eu west")
