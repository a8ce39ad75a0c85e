"""Side by side with moto: this project answers what it implements, moto the rest."""

from __future__ import annotations

import boto3
from moto import mock_aws

from mock_iotprov import mock_iot_provisioning
from tests.helpers import ROLE_ARN, SIMPLE_TEMPLATE, iot_client


def test_moto_and_mock_iotprov_together() -> None:
    with mock_aws(), mock_iot_provisioning():
        client = iot_client()
        # Implemented here (moto has no provisioning templates at all).
        client.create_provisioning_template(
            templateName="t", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
        )
        assert client.describe_provisioning_template(templateName="t")["templateName"] == "t"
        # Not implemented here, implemented by moto: left to moto.
        client.create_job(
            jobId="job-1", targets=["arn:aws:iot:us-east-1:123456789012:thing/x"], document="{}"
        )
        assert [j["jobId"] for j in client.list_jobs()["jobs"]] == ["job-1"]
        # Other services are moto's.
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="side-by-side")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["side-by-side"]


def test_moto_started_inside_our_mock() -> None:
    with mock_iot_provisioning(), mock_aws():
        client = iot_client()
        client.create_provisioning_template(
            templateName="t", templateBody=SIMPLE_TEMPLATE, provisioningRoleArn=ROLE_ARN
        )
        assert [t["templateName"] for t in client.list_provisioning_templates()["templates"]] == ["t"]
        client.create_job(
            jobId="job-2", targets=["arn:aws:iot:us-east-1:123456789012:thing/x"], document="{}"
        )
        assert client.describe_job(jobId="job-2")["job"]["jobId"] == "job-2"
