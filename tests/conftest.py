"""Suite-wide guards.

- No escape: any socket connection to a non-loopback address fails the test that makes it.
- Every response the in-process door builds without botocore's parser is checked against what botocore's
  own rest-json parser makes of the same bytes.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

from mock_iotprov.doors import botocore_door, fast_path
from mock_iotprov.protocol import botocore_result
from mock_iotprov.protocol.serialize import serialize_output

pytest_plugins = ["pytester"]

# Keys the suite generates and does not use are kept for later runs, but never in the user's own cache
# directory: in a per-user directory under the system's temporary directory (subprocesses inherit it).
# Tests of the cache itself point it at their own tmp_path.
os.environ.setdefault(
    "MOCK_IOTPROV_CACHE_DIR",
    os.path.join(tempfile.gettempdir(), f"mock_iotprov-test-cache-{getattr(os, 'getuid', lambda: 0)()}"),
)


@pytest.fixture(scope="module")
def module_client() -> Any:
    """One us-east-1 IoT client per test module (clients are costly to create, cheap to reuse)."""
    return boto3.client("iot", region_name="us-east-1")


@pytest.fixture
def iot(iot_provisioning: Any, module_client: Any) -> Any:
    """The module's IoT client, with a fresh mock active for the test."""
    return module_client


class NetworkEscape(AssertionError):
    """A test tried to reach a non-loopback address."""


def _is_loopback(address: Any) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_create_connection = socket.create_connection


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise NetworkEscape(f"network access outside loopback attempted: {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_loopback(address):
        raise NetworkEscape(f"network access outside loopback attempted: {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, str) and host not in ("localhost",) and not _is_loopback(host):
        raise NetworkEscape(f"name resolution outside loopback attempted: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture(autouse=True, scope="session")
def offline_credentials() -> Iterator[None]:
    """Test credentials for clients created outside a mock, so botocore never asks the metadata service."""
    saved = {k: os.environ.get(k) for k in _TEST_ENV}
    os.environ.update(_TEST_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


_TEST_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True, scope="session")
def socket_guard() -> Iterator[None]:
    """Fail any connection (or name lookup) that would leave this machine."""
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo
    try:
        yield
    finally:
        socket.socket.connect = _real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = _real_getaddrinfo


_botocore_parser = create_parser("rest-json")


def _cross_checked(operation: Any, result: Any, status: int, headers: dict[str, str]) -> Any:
    fast = botocore_result.parsed_success(operation, result, status, headers)
    wire = serialize_output(operation, result, request_id=headers["x-amzn-requestid"])
    reference = _botocore_parser.parse(
        {"status_code": status, "headers": HeadersDict(headers), "body": wire.body},
        operation.output_shape,
    )
    reference["ResponseMetadata"]["HTTPHeaders"] = dict(headers)
    assert fast == reference, f"{operation.name}: fast result differs from botocore's parser"
    assert repr(fast) == repr(reference), f"{operation.name}: types or order differ from botocore's parser"
    return fast


@pytest.fixture(autouse=True)
def parser_cross_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check the door's directly built results against botocore's own parser."""
    monkeypatch.setattr(botocore_door, "parsed_success", _cross_checked)
    monkeypatch.setattr(fast_path, "parsed_success", _cross_checked)
