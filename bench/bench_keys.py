"""Operations that hand out keys, against one RSA-2048 key generation measured in the same run.

Warm: the process key pool has keys (the normal case in a test suite); at most half the pool is used, as keys
are never handed out twice and beyond the pool each call would generate its key. Cold: ``fresh_keys=True``,
every call generates its key.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import boto3
from common import Row, Settings, median_seconds

from mock_iotprov import mock_iot_provisioning
from mock_iotprov.pki import default_key_source, generate_rsa_key

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"


def _client() -> Any:
    return boto3.client("iot", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")


def _prepare(client: Any) -> None:
    client.create_provisioning_template(templateName="fleet", templateBody="{}", provisioningRoleArn=ROLE_ARN)


def run(settings: Settings) -> list[Row]:
    keygen = median_seconds(generate_rsa_key, settings.count(40), warmup=1)
    source = default_key_source()
    source.take()
    source.join_background(timeout=60)
    rows = []
    calls = {
        "create_keys_and_certificate": lambda c: c.create_keys_and_certificate(setAsActive=True),
        "create_provisioning_claim": lambda c: c.create_provisioning_claim(templateName="fleet"),
    }
    for name, call in calls.items():
        with mock_iot_provisioning():
            client = _client()
            _prepare(client)
            source.join_background(timeout=60)
            warm_calls = min(settings.count(300), source.pool_size // 2 - 5)
            warm = median_seconds(partial(call, client), warm_calls, warmup=5)
        rows.append(Row(f"{name} (warm)", warm, "RSA-2048 keygen", keygen, "≤ 0.1×"))
        with mock_iot_provisioning(fresh_keys=True):
            client = _client()
            _prepare(client)
            cold = median_seconds(partial(call, client), settings.count(40), warmup=1)
        rows.append(Row(f"{name} (cold, fresh_keys)", cold, "RSA-2048 keygen", keygen, ""))
    return rows
