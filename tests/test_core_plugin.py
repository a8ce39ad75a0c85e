"""The pytest plugin is loaded through the pytest11 entry point just by installing the package."""

from __future__ import annotations

import pytest


def test_fixture_through_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import boto3

        def test_uses_fixture(iot_provisioning):
            assert iot_provisioning.active
            client = boto3.client("iot", region_name="us-east-1")
            client.create_provisioning_template(
                templateName="t", templateBody="{}",
                provisioningRoleArn="arn:aws:iam::123456789012:role/Provision_role")
            assert len(client.list_provisioning_templates()["templates"]) == 1

        def test_state_is_fresh(iot_provisioning):
            client = boto3.client("iot", region_name="us-east-1")
            assert client.list_provisioning_templates()["templates"] == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
