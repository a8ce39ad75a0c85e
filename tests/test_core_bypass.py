"""No way around the mock: a user's own ``_make_api_call`` patch, an unhooked client, a crafted endpoint.

Whatever goes around the client hooks meets the transport guard: an ``iot`` request that reaches the HTTP
layer while a mock is active is answered ``NotImplemented`` (501) and never sent.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from mock_iotprov import mock_iot_provisioning
from tests.helpers import error_of

ROOT = Path(__file__).resolve().parents[1]
NO_RETRY = Config(retries={"max_attempts": 0})


def _unhooked(client: Any) -> Any:
    """``client`` with the door's ``before-call`` handler taken away, as a user's handler might."""
    client.meta.events.unregister("before-call.iot", unique_id="mock_iotprov.before_call")
    return client


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every URL urllib3 was asked to open (the socket guard alone would only see an error)."""
    opened: list[str] = []
    real_urlopen = urllib3.connectionpool.HTTPConnectionPool.urlopen

    def urlopen(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        opened.append(f"{self.host}{url}")
        return real_urlopen(self, method, url, *args, **kwargs)

    monkeypatch.setattr(urllib3.connectionpool.HTTPConnectionPool, "urlopen", urlopen)
    return opened


def test_user_patch_with_an_original_captured_at_import_time(tmp_path: Any) -> None:
    script = textwrap.dedent(
        """
        import socket
        _connect = socket.socket.connect
        def guarded(self, address):
            raise SystemExit(f"network access attempted: {address}")
        socket.socket.connect = guarded

        from unittest import mock
        import boto3
        from botocore.client import BaseClient
        ORIGINAL = BaseClient._make_api_call  # captured before mock_iotprov is imported
        seen = []

        def recording(self, operation_name, api_params):
            seen.append(operation_name)
            return ORIGINAL(self, operation_name, api_params)

        early = boto3.client("iot", region_name="us-east-1")
        import mock_iotprov
        with mock_iotprov.mock_iot_provisioning():
            with mock.patch.object(BaseClient, "_make_api_call", recording):
                early.create_thing(thingName="early")
                late = boto3.client("iot", region_name="us-east-1")
                late.create_thing(thingName="late")
                names = sorted(t["thingName"] for t in early.list_things()["things"])
        print(json.dumps({"names": names, "seen": seen}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIAREAL", AWS_SECRET_ACCESS_KEY="real", PYTHONPATH=str(ROOT))
    completed = subprocess.run(
        [sys.executable, "-c", "import json\n" + script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr + completed.stdout
    result = json.loads(completed.stdout)
    assert result == {"names": ["early", "late"], "seen": ["CreateThing", "CreateThing", "ListThings"]}


def test_request_reaching_the_http_layer_is_answered_not_sent(sent: list[str]) -> None:
    with mock_iot_provisioning():
        client = _unhooked(boto3.client("iot", region_name="eu-west-1", config=NO_RETRY))
        with pytest.raises(client.exceptions.ClientError) as excinfo:
            client.list_things()
    code, status, message = error_of(excinfo)
    assert (code, status) == ("NotImplemented", 501)
    assert "ListThings" in message and "iot.eu-west-1.amazonaws.com" in message
    assert sent == []


@pytest.mark.parametrize(
    "endpoint_url",
    [
        "https://iot.us-east-1.api.aws",
        "https://IOT-FIPS.us-east-1.amazonaws.com.",
        "https://vpce-0123.iot.us-east-1.vpce.example.internal",  # custom host, signed for ``iot``
        "http://evil.example\\@127.0.0.1:9",  # goes to evil.example
    ],
)
def test_transport_guard_covers_every_iot_host_and_signature(sent: list[str], endpoint_url: str) -> None:
    with mock_iot_provisioning():
        client = _unhooked(
            boto3.client("iot", region_name="us-east-1", endpoint_url=endpoint_url, config=NO_RETRY)
        )
        with pytest.raises(client.exceptions.ClientError) as excinfo:
            client.describe_thing(thingName="x")
    assert error_of(excinfo)[:2] == ("NotImplemented", 501)
    assert sent == []


def test_transport_guard_is_inert_without_a_mock(sent: list[str]) -> None:
    with mock_iot_provisioning():
        pass
    client = _unhooked(boto3.client("iot", region_name="us-east-1", config=NO_RETRY))
    with pytest.raises(EndpointConnectionError):
        client.list_things()
    assert sent == ["iot.us-east-1.amazonaws.com/things"]


def test_other_services_pass_the_transport_guard(sent: list[str]) -> None:
    with mock_iot_provisioning():
        sts = boto3.client("sts", region_name="us-east-1", config=NO_RETRY)
        with pytest.raises(EndpointConnectionError):
            sts.get_caller_identity()
    assert sent == ["sts.us-east-1.amazonaws.com/"]


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        _Recorder.paths.append(self.path)
        body = json.dumps({"things": [{"thingName": "served-locally"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def loopback_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Recorder.paths = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_loopback_endpoints_pass_untouched(loopback_server: str) -> None:
    with mock_iot_provisioning():
        hooked = boto3.client("iot", region_name="us-east-1", endpoint_url=loopback_server)
        unhooked = _unhooked(boto3.client("iot", region_name="us-east-1", endpoint_url=loopback_server))
        for client in (hooked, unhooked):
            assert [t["thingName"] for t in client.list_things()["things"]] == ["served-locally"]
    assert _Recorder.paths == ["/things", "/things"]
