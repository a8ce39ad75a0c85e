"""The dashboard at ``/_mock_iotprov/``: what it lists, links, pages, escapes and hides."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from mock_iotprov.doors.server import IotProvisioningServer

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
TEMPLATE = json.dumps({"Resources": {}})
HOSTILE = '<script>alert("x")</script>&<img src=x onerror=alert(1)>'
PROJECT_ROOT = Path(__file__).resolve().parent.parent
VIEW = "/_mock_iotprov/view/123456789012/us-east-1"


@pytest.fixture
def server() -> Iterator[IotProvisioningServer]:
    with IotProvisioningServer("127.0.0.1", 0) as running:
        yield running


def _client(server: IotProvisioningServer) -> Any:
    return boto3.client("iot", region_name="us-east-1", endpoint_url=server.url)


def _get(server: IotProvisioningServer, path: str) -> tuple[int, dict[str, str], str]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read().decode(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read().decode()


def _table_of(page: str, kind: str) -> str:
    found = re.search(rf'<table class="{kind}">.*?</table>', page)
    assert found is not None, f"no {kind} table"
    return found.group(0)


def _links(page: str) -> list[str]:
    return [html.unescape(link) for link in re.findall(r'href="([^"]+)"', page)]


def test_the_front_page_lists_what_boto3_created(server: IotProvisioningServer) -> None:
    iot = _client(server)
    iot.create_thing_type(thingTypeName="sensor")
    iot.create_thing_group(thingGroupName="fleet")
    iot.create_thing(
        thingName="dash-thing", thingTypeName="sensor", attributePayload={"attributes": {"color": "red"}}
    )
    iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="dash-thing")
    keys = iot.create_keys_and_certificate(setAsActive=True)
    iot.attach_thing_principal(thingName="dash-thing", principal=keys["certificateArn"])
    policy = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
    )
    iot.create_policy(policyName="dash-policy", policyDocument=policy)
    iot.attach_policy(policyName="dash-policy", target=keys["certificateArn"])
    iot.create_provisioning_template(
        templateName="dash-template",
        templateBody=TEMPLATE,
        provisioningRoleArn=ROLE_ARN,
        enabled=True,
        preProvisioningHook={"targetArn": "arn:aws:lambda:us-east-1:123456789012:function:hook"},
    )
    claim = iot.create_provisioning_claim(templateName="dash-template")

    status, headers, page = _get(server, "/_mock_iotprov/")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert (
        "script-src" not in headers["content-security-policy"]
        and "default-src 'none'" in headers["content-security-policy"]
    )
    assert headers["cache-control"] == "no-store"
    assert "Account 123456789012, region us-east-1" in page
    for text in (
        "dash-thing",
        "sensor",
        "fleet",
        "color=red",
        keys["certificateArn"],
        "ACTIVE",
        "dash-policy",
    ):
        assert text in page
    assert "dash-template" in page and "arn:aws:lambda:us-east-1:123456789012:function:hook" in page
    assert claim["certificateId"] in page
    assert keys["keyPair"]["PrivateKey"].splitlines()[1] not in page
    # the last requests, with operation and status
    assert "CreateKeysAndCertificate" in page and "CreateProvisioningClaim" in page
    assert re.search(r"<td>CreateThing</td><td>POST /things/dash-thing</td><td>200</td>", page)
    # every object links to its detail view
    links = _links(page)
    assert f"{VIEW}/things/dash-thing" in links
    assert f"{VIEW}/certificates/{keys['certificateId']}" in links
    assert f"{VIEW}/policies/dash-policy" in links
    assert f"{VIEW}/templates/dash-template" in links
    assert f"{VIEW}/claims/{claim['certificateId']}" in links
    for link in links:
        if link.startswith(VIEW):
            assert _get(server, link)[0] == 200, link


def test_detail_views_show_a_private_key_only_when_asked(server: IotProvisioningServer) -> None:
    iot = _client(server)
    keys = iot.create_keys_and_certificate(setAsActive=False)
    key_line = keys["keyPair"]["PrivateKey"].splitlines()[1]
    status, _, page = _get(server, f"{VIEW}/certificates/{keys['certificateId']}")
    assert status == 200
    assert keys["certificatePem"].splitlines()[1] in page and "INACTIVE" in page
    assert key_line not in page
    show = f"{VIEW}/certificates/{keys['certificateId']}?private_key=show"
    assert show in _links(page)
    status, _, page = _get(server, show)
    assert status == 200 and key_line in page
    # a certificate the mock did not issue a key for has no key to show
    csr_cert = iot.create_certificate_from_csr(certificateSigningRequest=_csr())
    _, _, page = _get(server, f"{VIEW}/certificates/{csr_cert['certificateId']}?private_key=show")
    assert "Private key" not in page and "private_key=show" not in page
    # deleting the certificate forgets its key
    iot.delete_certificate(certificateId=keys["certificateId"])
    assert _get(server, show)[0] == 404


def _csr() -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "device")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def test_lists_are_paginated(server: IotProvisioningServer) -> None:
    iot = _client(server)
    for index in range(30):
        iot.create_thing(thingName=f"thing-{index:02d}")
    _, _, page = _get(server, "/_mock_iotprov/")
    assert "Things (30)" in page
    things = _table_of(page, "things")
    assert "thing-24" in things and "thing-25" not in things
    assert "page 1 of 2" in page
    next_page = f"{VIEW}/things?page=2"
    assert next_page in _links(page)
    _, _, second_page = _get(server, next_page)
    second = _table_of(second_page, "things")
    assert "thing-25" in second and "thing-29" in second and "thing-00" not in second
    assert f"{VIEW}/things?page=1" in _links(second_page)
    for junk in ("0", "-1", "abc", "99999999999"):
        assert _get(server, f"{VIEW}/things?page={junk}")[0] == 200


def test_everything_shown_is_escaped(server: IotProvisioningServer) -> None:
    iot = _client(server)
    iot.create_provisioning_template(
        templateName="tpl",
        templateBody=json.dumps(
            {"Parameters": {"X": {"Type": "String", "Default": HOSTILE}}, "Resources": {}}
        ),
        provisioningRoleArn=ROLE_ARN,
        description=HOSTILE,
    )
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": HOSTILE}],
    }
    iot.create_policy(policyName="hostile", policyDocument=json.dumps(document))
    for path in ("/_mock_iotprov/", f"{VIEW}/templates/tpl", f"{VIEW}/policies/hostile"):
        status, _, page = _get(server, path)
        assert status == 200
        assert "<script>" not in page and "<img" not in page, path
    _, _, page = _get(server, f"{VIEW}/templates/tpl")
    assert html.escape(HOSTILE, quote=True) in page


def test_unknown_pages_are_404(server: IotProvisioningServer) -> None:
    _client(server).create_thing(thingName="t")
    for path in (
        f"{VIEW}/things/missing",
        f"{VIEW}/nonsense",
        "/_mock_iotprov/view/999999999999/us-east-1/things",
        "/_mock_iotprov/view/x",
        f"{VIEW}/things/t/extra/parts",
    ):
        assert _get(server, path)[0] == 404, path


def test_the_dashboard_lists_connected_mqtt_clients_when_a_broker_runs() -> None:
    with IotProvisioningServer("127.0.0.1", 0, connected_clients=lambda: ["device-1", "<b>"]) as server:
        _, _, page = _get(server, "/_mock_iotprov/")
    assert "Connected MQTT clients (2)" in page and "device-1" in page and "&lt;b&gt;" in page
    with IotProvisioningServer("127.0.0.1", 0) as server:
        _, _, page = _get(server, "/_mock_iotprov/")
    assert "Connected MQTT clients" not in page


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have a headless Chromium (Debian package chromium; .ci/run installs it)")
        pytest.skip("needs a headless Chromium (Debian: apt-get install chromium)")
    return found


def _headless(chromium: str, profile: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_page_renders_in_a_real_headless_browser(server: IotProvisioningServer, tmp_path: Path) -> None:
    chromium = _chromium()
    iot = _client(server)
    iot.create_thing(thingName="browser-thing", attributePayload={"attributes": {"shown": "yes"}})
    keys = iot.create_keys_and_certificate(setAsActive=True)
    url = server.url + "/_mock_iotprov/"
    dom = _headless(chromium, tmp_path / "profile-dom", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "browser-thing" in dom.stdout and "shown=yes" in dom.stdout
    assert keys["certificateId"] in dom.stdout
    artifacts = Path(os.environ.get("MOCK_IOTPROV_ARTIFACTS", PROJECT_ROOT / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / "dashboard.png"
    screenshot.unlink(missing_ok=True)
    shot = _headless(
        chromium, tmp_path / "profile-shot", f"--screenshot={screenshot}", "--window-size=1280,1600", url
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
