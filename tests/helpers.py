"""Small shared helpers for the test suite."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
SIMPLE_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {"thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}}},
    }
)


def iot_client(region: str = "us-east-1", validate: bool = True) -> Any:
    """A boto3 IoT client; ``validate=False`` turns off botocore's client-side parameter validation."""
    config = Config(parameter_validation=validate)
    return boto3.client("iot", region_name=region, config=config)


def error_of(excinfo: Any) -> tuple[str, int, str]:
    """(code, HTTP status, message) of a ClientError caught by pytest.raises."""
    error = excinfo.value
    assert isinstance(error, ClientError)
    response = error.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"].get("Message", ""),
    )
