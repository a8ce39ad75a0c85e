"""DescribeEndpoint: the account's device endpoints.

Behaviour reproduced: each account has its own endpoint host names, created on the first call and the
same on every later call. ``iot:Data-ATS`` answers ``{prefix}-ats.iot.{region}.amazonaws.com``, ``iot:Data``
(the legacy VeriSign-signed endpoint, also the answer when no type is given)
``{prefix}.iot.{region}.amazonaws.com``, ``iot:CredentialProvider``
``{prefix}.credentials.iot.{region}.amazonaws.com`` and ``iot:Jobs``
``{prefix}.jobs.iot.{region}.amazonaws.com``; any other type is an ``InvalidRequestException``.

Where AWS is silent: the prefix is 14 lowercase letters and digits derived from a hash of the account id
(so it is stable across mocks, processes and regions); the two data endpoints share one prefix, as they do
in AWS, while the credentials-provider and jobs endpoints each get their own. China regions use the
``amazonaws.com.cn`` domain.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mock_iotprov.protocol.errors import invalid_request
from mock_iotprov.state import RequestContext

DATA = "iot:Data"
DATA_ATS = "iot:Data-ATS"
CREDENTIAL_PROVIDER = "iot:CredentialProvider"
JOBS = "iot:Jobs"
PREFIX_LENGTH = 14

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"

# endpoint type -> (which prefix it uses, host name template after the prefix)
_HOSTS: dict[str, tuple[str, str]] = {
    DATA: ("data", "{prefix}.iot.{region}.{domain}"),
    DATA_ATS: ("data", "{prefix}-ats.iot.{region}.{domain}"),
    CREDENTIAL_PROVIDER: ("credentials", "{prefix}.credentials.iot.{region}.{domain}"),
    JOBS: ("jobs", "{prefix}.jobs.iot.{region}.{domain}"),
}


def endpoint_prefix(account_id: str, family: str = "data") -> str:
    """A stable 14-character lowercase alphanumeric prefix for the account's endpoints of ``family``."""
    number = int.from_bytes(hashlib.sha256(f"{family}:{account_id}".encode()).digest(), "big")
    number, first = divmod(number, 26)  # endpoint prefixes in AWS start with a letter
    letters = [_ALPHABET[first]]
    for _ in range(PREFIX_LENGTH - 1):
        number, index = divmod(number, len(_ALPHABET))
        letters.append(_ALPHABET[index])
    return "".join(letters)


def endpoint_address(ctx: RequestContext, endpoint_type: str) -> str:
    """The host name of the account's endpoint of ``endpoint_type`` in the request's region."""
    host = _HOSTS.get(endpoint_type)
    if host is None:
        raise invalid_request(
            f"Invalid endpoint type: {endpoint_type}. Valid types are {', '.join(sorted(_HOSTS))}."
        )
    family, template = host
    domain = "amazonaws.com.cn" if ctx.region.startswith("cn-") else "amazonaws.com"
    return template.format(prefix=endpoint_prefix(ctx.account_id, family), region=ctx.region, domain=domain)


def describe_endpoint(ctx: RequestContext, *, endpointType: str | None = None) -> dict[str, Any]:
    """DescribeEndpoint: ``iot:Data`` when no type is given.

    While the mock runs an MQTT broker, both data endpoints answer the broker's host, so a program that
    looks its endpoint up connects its devices to the mock (the other types keep their AWS-shaped names).
    """
    endpoint_type = DATA if endpointType is None else endpointType
    address = endpoint_address(ctx, endpoint_type)
    broker_host = ctx.options.data_endpoint
    if broker_host is not None and endpoint_type in (DATA, DATA_ATS):
        return {"endpointAddress": broker_host}
    return {"endpointAddress": address}
