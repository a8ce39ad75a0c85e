"""Side by side with moto: this project answers what it implements, moto the rest."""

from __future__ import annotations

import json

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


def test_split_state_rule() -> None:
    """The rule README states: each ``iot`` operation has one owner. Operations this project implements
    are answered here from this mock's state; the others are moto's, from moto's state. The two states
    never meet."""
    with mock_aws(), mock_iot_provisioning():
        client = iot_client()
        client.create_thing(thingName="made-here")  # implemented here: moto never sees it
        client.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
        cloudformation = boto3.client("cloudformation", region_name="us-east-1")
        cloudformation.create_stack(
            StackName="things",
            TemplateBody=json.dumps(
                {
                    "Resources": {
                        "Thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": "made-by-moto"}}
                    }
                }
            ),
        )
        # moto's CloudFormation made the thing in moto's registry (moto answers for its stack);
        # ListThings and SearchIndex are answered here, from this mock's registry.
        resources = cloudformation.describe_stack_resources(StackName="things")["StackResources"]
        assert [(r["ResourceType"], r["ResourceStatus"]) for r in resources] == [
            ("AWS::IoT::Thing", "CREATE_COMPLETE")
        ]
        assert [t["thingName"] for t in client.list_things()["things"]] == ["made-here"]
        assert [t["thingName"] for t in client.search_index(queryString="*")["things"]] == ["made-here"]


def test_moto_still_answers_clients_that_go_around_our_hooks() -> None:
    """moto answers at ``before-send``, before the transport guard: a client without our ``before-call``
    handler is answered by moto, from moto's state, and nothing is sent."""
    with mock_aws(), mock_iot_provisioning():
        ours = iot_client()
        ours.create_thing(thingName="ours")
        theirs = iot_client()
        theirs.meta.events.unregister("before-call.iot", unique_id="mock_iotprov.before_call")
        theirs.create_thing(thingName="motos")
        assert [t["thingName"] for t in theirs.list_things()["things"]] == ["motos"]
        assert [t["thingName"] for t in ours.list_things()["things"]] == ["ours"]
