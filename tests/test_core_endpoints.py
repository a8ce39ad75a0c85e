"""Endpoint judgement: hosts as urllib3 reads them, every spelling of the control-plane host, regions."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
import requests
import urllib3
from botocore.config import Config
from urllib3.util import parse_url

from mock_iotprov import mock_iot_provisioning
from mock_iotprov.protocol.endpoint import is_iot_host, is_loopback_host, region_from_host, url_host

NO_RETRY = Config(retries={"max_attempts": 0})

TRICKY_URLS = [
    "http://evil.example\\@127.0.0.1:9",
    "http://evil.example\\@127.0.0.1:9/things",
    "http://127.0.0.1\\@evil.example:9/",
    "http://user:pw@127.0.0.1:9/x",
    "http://evil.example#@127.0.0.1:9/",
    "http://evil.example?@127.0.0.1:9/",
    "https://IOT.US-EAST-1.AMAZONAWS.COM./things",
    "http://[::1]:9/",
    "http://localhost.:9/",
    "http://127.1.2.3/",
]


@pytest.mark.parametrize("url", TRICKY_URLS)
def test_url_host_is_the_host_urllib3_connects_to(url: str) -> None:
    expected = parse_url(url).host
    assert expected is not None
    assert url_host(url) == expected.lower().strip("[]")


def test_loopback_judgement() -> None:
    loopback = {url_host(url) for url in TRICKY_URLS if is_loopback_host(url_host(url))}
    assert loopback == {"127.0.0.1", "::1", "localhost.", "127.1.2.3"}


def _ruleset_hosts() -> list[tuple[str, str]]:
    """(host, region) for control-plane URLs botocore's own endpoint ruleset produces."""
    hosts = []
    regions = ["us-east-1", "eu-west-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1"]
    for region in regions:
        for fips in (False, True):
            for dualstack in (False, True):
                config = Config(use_fips_endpoint=fips, use_dualstack_endpoint=dualstack)
                client = boto3.client("iot", region_name=region, config=config)
                try:
                    url = client._resolve_endpoint_ruleset(
                        client.meta.service_model.operation_model("ListThings"), {}, {}
                    )[0]
                except Exception:  # noqa: BLE001 - a combination the partition does not offer
                    continue
                hosts.append((parse_url(url).host, region))
    return hosts


def test_every_host_the_ruleset_produces_is_recognised() -> None:
    hosts = _ruleset_hosts()
    assert len(hosts) >= 16
    assert any(host.endswith(".api.aws") for host, _ in hosts)
    for host, region in hosts:
        assert region_from_host(host) == region, host
        assert region_from_host(host + ".") == region, host
        assert region_from_host(host.upper() + ":443") == region, host


@pytest.mark.parametrize(
    "host",
    [
        "prefix-ats.iot.us-east-1.amazonaws.com",  # the data plane
        "iot.us-east-1.amazonaws.com.evil.example",
        "iot.us-east-1.api.aws.example",
        "iotx.us-east-1.amazonaws.com",
        "iot..amazonaws.com",
    ],
)
def test_other_hosts_are_not_the_control_plane(host: str) -> None:
    assert not is_iot_host(host)
    assert region_from_host(host) is None


def test_crafted_endpoint_that_urllib3_sends_elsewhere_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_urlopen = urllib3.connectionpool.HTTPConnectionPool.urlopen

    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(self.host)
        return real_urlopen(self, *args, **kwargs)

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", urlopen)
    with mock_iot_provisioning():
        client = boto3.client(
            "iot", region_name="eu-west-1", endpoint_url="http://evil.example\\@127.0.0.1:9", config=NO_RETRY
        )
        client.create_thing(thingName="answered")
        assert [t["thingName"] for t in client.list_things()["things"]] == ["answered"]
        plain = boto3.client("iot", region_name="eu-west-1")
        assert [t["thingName"] for t in plain.list_things()["things"]] == ["answered"]
    assert opened == []


@pytest.mark.parametrize(
    "endpoint_url",
    [
        "https://iot.eu-west-1.api.aws",
        "https://iot-fips.eu-west-1.api.aws",
        "https://iot-fips.eu-west-1.amazonaws.com",
        "https://IOT.eu-west-1.amazonaws.com.",
    ],
)
def test_region_comes_from_any_spelling_of_the_endpoint(endpoint_url: str) -> None:
    with mock_iot_provisioning():
        by_endpoint = boto3.client("iot", region_name="us-east-1", endpoint_url=endpoint_url)
        by_endpoint.create_thing(thingName="in-eu-west-1")
        assert boto3.client("iot", region_name="us-east-1").list_things()["things"] == []
        listed = boto3.client("iot", region_name="eu-west-1").list_things()["things"]
        assert [t["thingName"] for t in listed] == ["in-eu-west-1"]


@pytest.mark.parametrize(
    "config",
    [
        Config(use_fips_endpoint=True),
        Config(use_dualstack_endpoint=True),
        Config(use_fips_endpoint=True, use_dualstack_endpoint=True),
    ],
)
def test_fips_and_dualstack_clients_are_answered_in_their_region(config: Config) -> None:
    with mock_iot_provisioning():
        special = boto3.client("iot", region_name="ca-central-1", config=config)
        arn = special.create_thing(thingName="special")["thingArn"]
        assert arn.startswith("arn:aws:iot:ca-central-1:")
        listed = boto3.client("iot", region_name="ca-central-1").list_things()["things"]
        assert [t["thingName"] for t in listed] == ["special"]


@pytest.mark.parametrize(
    "base",
    [
        "https://iot.ap-south-1.amazonaws.com.",
        "https://iot.ap-south-1.api.aws",
        "https://iot-fips.ap-south-1.amazonaws.com",
        "https://iot-fips.ap-south-1.api.aws",
        "https://IOT.AP-SOUTH-1.AMAZONAWS.COM:443",
        "https://user@iot.ap-south-1.amazonaws.com",
    ],
)
def test_requests_door_answers_every_spelling(base: str) -> None:
    with mock_iot_provisioning():
        created = requests.post(f"{base}/things/raw", json={}, timeout=5)
        assert created.status_code == 200, created.text
        assert created.json()["thingArn"].startswith("arn:aws:iot:ap-south-1:")
        listed = boto3.client("iot", region_name="ap-south-1").list_things()["things"]
        assert [t["thingName"] for t in listed] == ["raw"]


def test_requests_door_leaves_lookalike_hosts_alone() -> None:
    with mock_iot_provisioning():
        for url in (
            "https://iot.ap-south-1.amazonaws.com.evil.example/things",
            "https://prefix-ats.iot.ap-south-1.amazonaws.com/things",
            "https://evil.example\\@iot.ap-south-1.amazonaws.com/things",
        ):
            with pytest.raises(requests.ConnectionError):
                requests.get(url, timeout=5)
        # This one would go to the AWS host (urllib3 ends the host at the backslash): answered.
        answered = requests.get("https://iot.ap-south-1.amazonaws.com\\@evil.example/things", timeout=5)
        assert answered.status_code == 404
        assert answered.headers["x-amzn-ErrorType"] == "UnknownOperationException"
