"""The bulk-registration task's S3 access: read the input file, write the report files, link to them.

All of it goes through an ordinary boto3 ``s3`` client, so whatever S3 the caller's process has supplies
the bucket: moto's ``mock_aws`` (its botocore hook answers before anything is sent), or an S3 endpoint the
environment configures (``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``) on a loopback address. Nothing
else is allowed: unless moto's hook is active, a request that would leave loopback is stopped in the
client's ``before-send`` stage and the task fails (:class:`S3Unavailable`), so a mocked test never reaches
real S3. The client is created in the task's own thread from a new botocore session (sessions
are not thread-safe), with no retries.
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any
from urllib.parse import urlsplit

MAX_INPUT_BYTES = 10 * 2**20
LINK_EXPIRY_SECONDS = 3600


class S3Unavailable(Exception):
    """S3 could not be used; ``str(exc)`` says why."""


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _moto_answers() -> bool:
    """Whether moto's botocore hook is installed and active (then it answers every S3 request)."""
    models = sys.modules.get("moto.core.models")
    stubber = getattr(models, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


def _stay_local(request: Any, **_: Any) -> None:
    """``before-send``: let the request through only to moto or to a loopback endpoint."""
    host = urlsplit(request.url).hostname
    if not _is_loopback(host) and not _moto_answers():
        raise S3Unavailable(
            f"no S3 is available to the mock (no moto mock_aws active, no loopback S3 endpoint): "
            f"the request to {host} was not sent"
        )


def s3_client(region: str) -> Any:
    """A new ``s3`` client for ``region`` that cannot reach the network beyond loopback."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()
    client = session.client(
        "s3",
        region_name=region,
        config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30),
    )
    client.meta.events.register_last("before-send.s3", _stay_local)
    return client


def _reason(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', '')}".rstrip(": ")
    return str(exc) or type(exc).__name__


def read_input(client: Any, bucket: str, key: str) -> bytes:
    """The input file's bytes; ``S3Unavailable`` when it cannot be read or is over 10 MiB."""
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
        body = answer["Body"].read(MAX_INPUT_BYTES + 1)
    except S3Unavailable:
        raise
    except Exception as exc:
        raise S3Unavailable(_reason(exc)) from None
    if len(body) > MAX_INPUT_BYTES:
        raise S3Unavailable(f"the input file is larger than {MAX_INPUT_BYTES} bytes")
    data: bytes = body
    return data


def write_report(client: Any, bucket: str, key: str, lines: list[str]) -> str:
    """Store a report file (one JSON object per line) and return a presigned link to it."""
    try:
        client.put_object(Bucket=bucket, Key=key, Body="".join(line + "\n" for line in lines).encode())
        link: str = client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=LINK_EXPIRY_SECONDS
        )
    except S3Unavailable:
        raise
    except Exception as exc:
        raise S3Unavailable(_reason(exc)) from None
    return link
