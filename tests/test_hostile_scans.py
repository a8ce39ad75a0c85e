"""Scans over caller-controlled text are linear: the SigV4 ``Authorization`` header and ``Fn::Sub`` strings.

No timing: the work is counted. For the header, every regular expression of the module is replaced by a
recorder, which shows that none is applied to more than a bounded slice of the header (the rest is
``str.find``); for ``Fn::Sub``, a ``str`` subclass counts the characters each ``find`` examines, for inputs of
size n and 8n.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_iotprov import MockIotProvisioning
from mock_iotprov.protocol import endpoint
from mock_iotprov.protocol.endpoint import region_from_authorization
from mock_iotprov.provisioning.engine.language import sub_placeholders
from tests.helpers import iot_client

VALID = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/eu-west-3/iot/aws4_request, SignedHeaders=host"


class _RecordingPattern:
    """Stands in for a compiled pattern; records the length of every string it is applied to."""

    def __init__(self, pattern: re.Pattern[str], seen: list[int]) -> None:
        self._pattern, self._seen = pattern, seen

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._pattern, name)
        if not callable(method):
            return method

        def recorded(text: Any, *args: Any, **kwargs: Any) -> Any:
            self._seen.append(len(text))
            return method(text, *args, **kwargs)

        return recorded


@pytest.fixture
def regex_inputs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen: list[int] = []
    for name, value in vars(endpoint).items():
        if isinstance(value, re.Pattern):
            monkeypatch.setattr(endpoint, name, _RecordingPattern(value, seen))
    return seen


HOSTILE_HEADERS = [
    "Credential=" * 6_000,  # 65 KB: 0.7 s of CPU for a backtracking search
    "AWS4-HMAC-SHA256 " + "Credential=a" * 100_000,
    "Credential=" + "a/" * 200_000,
    "Credential=x/20240101/" + "a" * 500_000 + "/iot/aws4_request",
]


@pytest.mark.parametrize(
    "header", HOSTILE_HEADERS, ids=["repeated", "repeated-values", "slashes", "long-region"]
)
def test_a_hostile_authorization_header_has_no_region(header: str, regex_inputs: list[int]) -> None:
    assert region_from_authorization(header) is None
    assert max(regex_inputs, default=0) <= endpoint.MAX_CREDENTIAL_CHARS


def test_the_first_credential_counts_whatever_follows(regex_inputs: list[int]) -> None:
    assert region_from_authorization(VALID + " Credential=" * 100_000) == "eu-west-3"
    assert region_from_authorization(VALID.replace(", ", ",")) == "eu-west-3"
    assert region_from_authorization(VALID.replace("/iot/", "/s3/")) is None
    assert region_from_authorization(VALID.replace("20240101", "2024")) is None
    assert max(regex_inputs, default=0) <= endpoint.MAX_CREDENTIAL_CHARS


# -- Fn::Sub ---------------------------------------------------------------------------------------------


class _CountingText(str):
    """A string that counts how many characters its ``find`` calls examine."""

    examined = 0

    def find(self, sub: str, start: Any = None, end: Any = None) -> int:  # type: ignore[override]
        begin = 0 if start is None else start
        found = str.find(self, sub, begin) if end is None else str.find(self, sub, begin, end)
        _CountingText.examined += (len(self) if found < 0 else found + len(sub)) - begin
        return found


def _work(text: str) -> tuple[int, int]:
    """(characters examined, placeholders found) by one full scan of ``text``."""
    _CountingText.examined = 0
    found = len(list(sub_placeholders(_CountingText(text))))
    return _CountingText.examined, found


@pytest.mark.parametrize("unit", ["${", "${a", "$${", "${a}${", "x${}"])
def test_the_placeholder_scan_does_linear_work(unit: str) -> None:
    small, _ = _work(unit * 1_000)
    large, _ = _work(unit * 8_000)
    assert large <= 3 * len(unit) * 8_000 + 16
    assert large <= 10 * max(small, 1)  # 8x the input, about 8x the work (a quadratic scan: 64x)


_REGEX = re.compile(r"\$\{([^}]*)\}")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet="${}!a", max_size=40))
def test_the_placeholder_scan_finds_what_the_regular_expression_finds(text: str) -> None:
    assert list(sub_placeholders(text)) == [match.span() for match in _REGEX.finditer(text)]


def test_fn_sub_leaves_thousands_of_unterminated_placeholders_alone(
    iot_provisioning: MockIotProvisioning,
) -> None:
    junk = "${" * 900
    statement = {"Effect": "Allow", "Action": "iot:Connect", "Resource": "@"}
    prefix, suffix = json.dumps({"Version": "2012-10-17", "Statement": [statement]}).split("@")
    resource = {"Fn::Sub": "arn:aws:iot:us-east-1:123456789012:client/${Name}" + junk}
    template = {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "policy": {
                "Type": "AWS::IoT::Policy",
                "Properties": {"PolicyDocument": {"Fn::Join": ["", [prefix, resource, suffix]]}},
            }
        },
    }
    client = iot_client()
    client.register_thing(templateBody=json.dumps(template), parameters={"Name": "dev"})
    [policy] = client.list_policies()["policies"]
    stored = json.loads(client.get_policy(policyName=policy["policyName"])["policyDocument"])
    assert stored["Statement"][0]["Resource"] == "arn:aws:iot:us-east-1:123456789012:client/dev" + junk
