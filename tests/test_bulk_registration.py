"""Bulk registration end to end: input and reports in moto's S3, provisioning through the RegisterThing
engine, counts and statuses, one task at a time, stopping, failures, and no S3 at all."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.provisioning import bulk_registration
from tests.helpers import failure

ROLE = "arn:aws:iam::123456789012:role/BulkRole"
BUCKET = "bulk-input"
TEMPLATE = json.dumps(
    {
        "Parameters": {
            "ThingName": {"Type": "String"},
            "Serial": {"Type": "String"},
            "ThingType": {"Type": "String", "Default": "meter"},
            "CertificateId": {"Type": "String"},
        },
        "Resources": {
            "thing": {
                "Type": "AWS::IoT::Thing",
                "Properties": {
                    "ThingName": {"Ref": "ThingName"},
                    "AttributePayload": {"serial": {"Ref": "Serial"}},
                    "ThingTypeName": {"Ref": "ThingType"},
                },
            },
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateId": {"Ref": "CertificateId"}, "Status": "ACTIVE"},
            },
        },
    }
)


@pytest.fixture
def aws() -> Iterator[tuple[MockIotProvisioning, Any, Any]]:
    with mock_aws(), mock_iot_provisioning() as mock:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        iot = boto3.client("iot", region_name="us-east-1")
        iot.create_thing_type(thingTypeName="meter")
        yield mock, iot, s3


def put_lines(s3: Any, key: str, lines: list[Any]) -> None:
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())


def report_text(s3: Any, link: str) -> str:
    parts = urlsplit(link)
    key = unquote(parts.path.lstrip("/"))
    if key.startswith(BUCKET + "/"):
        key = key[len(BUCKET) + 1 :]
    text: str = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    return text


def report(s3: Any, link: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in report_text(s3, link).splitlines()]


def start(iot: Any, key: str = "input.json", template: str = TEMPLATE) -> str:
    task_id: str = iot.start_thing_registration_task(
        templateBody=template, inputFileBucket=BUCKET, inputFileKey=key, roleArn=ROLE
    )["taskId"]
    return task_id


def test_bulk_task_provisions_every_line_and_reports(aws: Any) -> None:
    mock, iot, s3 = aws
    certificates = [iot.create_keys_and_certificate(setAsActive=False) for _ in range(3)]
    lines = [
        {
            "ThingName": "m-1",
            "Serial": "s1",
            "ThingType": "meter",
            "CertificateId": certificates[0]["certificateId"],
        },
        {
            "ThingName": "m-2",
            "Serial": "s2",
            "ThingType": "missing",
            "CertificateId": certificates[1]["certificateId"],
        },
        {"ThingName": "m-3", "Serial": "s3", "CertificateId": certificates[2]["certificateId"]},
    ]
    put_lines(s3, "input.json", lines)
    task_id = start(iot)
    assert mock.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Completed"
    assert (task["successCount"], task["failureCount"], task["percentageProgress"]) == (2, 1, 100)
    assert (task["inputFileBucket"], task["inputFileKey"], task["roleArn"]) == (BUCKET, "input.json", ROLE)
    assert task["templateBody"] == TEMPLATE
    assert iot.describe_thing(thingName="m-1")["attributes"] == {"serial": "s1"}
    assert iot.describe_thing(thingName="m-1")["thingTypeName"] == "meter"
    assert failure(iot.describe_thing, thingName="m-2")[0] == "ResourceNotFoundException"
    # the failing line is all or nothing: its certificate stays as it was, attached to nothing
    second = iot.describe_certificate(certificateId=certificates[1]["certificateId"])[
        "certificateDescription"
    ]
    assert second["status"] == "INACTIVE"
    assert iot.list_principal_things(principal=certificates[1]["certificateArn"])["things"] == []
    assert iot.list_thing_principals(thingName="m-3")["principals"] == [certificates[2]["certificateArn"]]

    results = iot.list_thing_registration_task_reports(taskId=task_id, reportType="RESULTS")
    assert results["reportType"] == "RESULTS"
    [results_link] = results["resourceLinks"]
    result_lines = report(s3, results_link)
    assert [line["lineNumber"] for line in result_lines] == [1, 3]
    first = result_lines[0]["response"]
    assert first["CertificatePem"] == certificates[0]["certificatePem"]
    assert first["ResourceArns"] == {
        "thing": "arn:aws:iot:us-east-1:123456789012:thing/m-1",
        "certificate": certificates[0]["certificateArn"],
    }
    [errors_link] = iot.list_thing_registration_task_reports(taskId=task_id, reportType="ERRORS")[
        "resourceLinks"
    ]
    [error_line] = report(s3, errors_link)
    assert error_line["response"] is None
    assert error_line["lineNumber"] == 2
    encoded = [(json.dumps(line) + "\n").encode() for line in lines]
    assert error_line["offset"] == len(encoded[0]) + len(encoded[1])
    # byte for byte as a real error file: compact JSON, these keys in this order, one object per line
    raw = report_text(s3, errors_link)
    assert raw.startswith('{"errorMessage":"com.amazonaws.services.iot.model.')
    assert raw.endswith(f'","lineNumber":2,"offset":{error_line["offset"]},"response":null}}\n')
    assert report_text(s3, results_link).startswith('{"response":{"CertificatePem":"-----BEGIN CERTIFICATE')
    message = error_line["errorMessage"]
    assert message.startswith("com.amazonaws.services.iot.model.ResourceRegistrationFailureException: ")
    assert "Thing Type 123456789012:missing not found." in message
    assert "(Service: AWSIot; Status Code: 400; Error Code: ResourceRegistrationFailureException;" in message


def test_malformed_lines_are_error_lines(aws: Any) -> None:
    mock, iot, s3 = aws
    certificate = iot.create_keys_and_certificate(setAsActive=True)
    good = {"ThingName": "ok", "Serial": 7, "CertificateId": certificate["certificateId"]}
    put_lines(s3, "input.json", ["not json", "", '["a list"]', '{"ThingName": {"nested": 1}}', good])
    task_id = start(iot)
    assert mock.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert (task["status"], task["successCount"], task["failureCount"]) == ("Completed", 1, 3)
    assert iot.describe_thing(thingName="ok")["attributes"] == {"serial": "7"}
    [link] = iot.list_thing_registration_task_reports(taskId=task_id, reportType="ERRORS")["resourceLinks"]
    errors = report(s3, link)
    assert [line["lineNumber"] for line in errors] == [1, 3, 4]  # the blank line 2 is skipped
    assert all("InvalidRequestException" in line["errorMessage"] for line in errors)


def test_missing_input_file_fails_the_task(aws: Any) -> None:
    mock, iot, _ = aws
    task_id = start(iot, key="nothing-here.json")
    assert mock.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Failed"
    assert task["message"].startswith(
        f"Unable to read the input file s3://{BUCKET}/nothing-here.json: NoSuchKey"
    )
    assert (
        iot.list_thing_registration_task_reports(taskId=task_id, reportType="RESULTS")["resourceLinks"] == []
    )


def test_without_any_s3_the_task_fails_and_nothing_is_sent(iot_provisioning: MockIotProvisioning) -> None:
    iot = boto3.client("iot", region_name="us-east-1")
    task_id = start(iot)
    assert iot_provisioning.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Failed"
    assert "no S3 is available to the mock" in task["message"]


class Gate:
    """``entered`` once a task has read its input and reached its first line; lines wait for ``opened``."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    def set(self) -> None:
        self.opened.set()


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Gate:
    """Hold every line until the test opens the gate (so a task is reliably still running)."""
    held_lines = Gate()
    real = bulk_registration._register_line

    def held(*args: Any) -> Any:
        held_lines.entered.set()
        held_lines.opened.wait(30)
        return real(*args)

    monkeypatch.setattr(bulk_registration, "_register_line", held)
    return held_lines


def test_one_task_at_a_time_and_stop(aws: Any, gate: Gate) -> None:
    mock, iot, s3 = aws
    certificate = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    put_lines(
        s3,
        "input.json",
        [{"ThingName": f"t{i}", "Serial": "s", "CertificateId": certificate} for i in range(5)],
    )
    task_id = start(iot)
    running = iot.describe_thing_registration_task(taskId=task_id)
    assert running["status"] == "InProgress"
    assert (running["successCount"], running["failureCount"], running["percentageProgress"]) == (0, 0, 0)
    # no report exists before the task has ended
    assert (
        iot.list_thing_registration_task_reports(taskId=task_id, reportType="RESULTS")["resourceLinks"] == []
    )
    code, status, _ = failure(
        iot.start_thing_registration_task,
        templateBody=TEMPLATE,
        inputFileBucket=BUCKET,
        inputFileKey="x",
        roleArn=ROLE,
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert iot.list_thing_registration_tasks()["taskIds"] == [task_id]
    iot.stop_thing_registration_task(taskId=task_id)
    assert iot.describe_thing_registration_task(taskId=task_id)["status"] == "Cancelling"
    assert iot.list_thing_registration_tasks(status="Cancelling")["taskIds"] == [task_id]
    gate.set()
    assert mock.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Cancelled"
    assert task["successCount"] + task["failureCount"] < 5
    code, _, _ = failure(iot.stop_thing_registration_task, taskId=task_id)
    assert code == "InvalidRequestException"
    second = start(iot)  # the first one has ended
    assert mock.wait_for_registration_tasks(timeout=60)
    assert iot.describe_thing_registration_task(taskId=second)["status"] == "Completed"
    assert iot.list_thing_registration_tasks(status="Completed")["taskIds"] == [second]
    page = iot.list_thing_registration_tasks(maxResults=1)
    assert page["taskIds"] == [task_id]
    assert iot.list_thing_registration_tasks(nextToken=page["nextToken"])["taskIds"] == [second]


def test_start_checks_template_and_role(aws: Any) -> None:
    _, iot, _ = aws
    for template, role in [
        ("{not json", ROLE),
        ('{"Resources": {"x": {"Type": "AWS::S3::Bucket"}}}', ROLE),
        (TEMPLATE, "arn:aws:iam::123456789012:user/u"),
    ]:
        code, status, _ = failure(
            iot.start_thing_registration_task,
            templateBody=template,
            inputFileBucket=BUCKET,
            inputFileKey="k",
            roleArn=role,
        )
        assert (code, status) == ("InvalidRequestException", 400)
    assert iot.list_thing_registration_tasks()["taskIds"] == []


def test_unknown_task_errors(aws: Any) -> None:
    _, iot, _ = aws
    unknown = "00000000-0000-0000-0000-000000000000"
    assert failure(iot.describe_thing_registration_task, taskId=unknown)[:2] == (
        "ResourceNotFoundException",
        404,
    )
    assert failure(iot.stop_thing_registration_task, taskId=unknown)[:2] == ("ResourceNotFoundException", 404)
    reports = iot.list_thing_registration_task_reports(taskId=unknown, reportType="ERRORS")
    assert (reports["resourceLinks"], reports["reportType"]) == ([], "ERRORS")


def test_bulk_task_over_the_local_endpoint() -> None:
    with mock_aws(), IotProvisioningServer(port=0) as server:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        client = boto3.client(
            "iot",
            region_name="us-east-1",
            endpoint_url=server.url,
            config=Config(retries={"max_attempts": 0}),
        )
        client.create_thing_type(thingTypeName="meter")
        certificate = client.create_keys_and_certificate(setAsActive=True)["certificateId"]
        put_lines(s3, "input.json", [{"ThingName": "http-1", "Serial": "1", "CertificateId": certificate}])
        task_id = start(client)
        for _ in range(600):
            status = client.describe_thing_registration_task(taskId=task_id)["status"]
            if status not in ("InProgress", "Cancelling"):
                break
            threading.Event().wait(0.05)
        assert status == "Completed"
        assert client.describe_thing(thingName="http-1")["attributes"] == {"serial": "1"}


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        (
            "start_thing_registration_task",
            {
                "templateBody": TEMPLATE,
                "inputFileBucket": "bad bucket!",
                "inputFileKey": "k",
                "roleArn": ROLE,
            },
        ),
        ("describe_thing_registration_task", {"taskId": "x" * 41}),
        ("list_thing_registration_tasks", {"status": "Sleeping"}),
        ("list_thing_registration_tasks", {"nextToken": "not-a-token"}),
        ("list_thing_registration_tasks", {"maxResults": 251}),
        ("list_thing_registration_task_reports", {"taskId": "t", "reportType": "EVERYTHING"}),
        ("stop_thing_registration_task", {"taskId": "x" * 41}),
    ],
)
def test_invalid_inputs_are_invalid_requests(
    iot_provisioning: MockIotProvisioning, operation: str, params: dict[str, Any]
) -> None:
    from tests.helpers import iot_client

    client = iot_client(validate=False)
    code, status, _ = failure(getattr(client, operation), **params)
    assert (code, status) == ("InvalidRequestException", 400)
    assert client.list_thing_registration_tasks()["taskIds"] == []


CSR_TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}, "CSR": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}},
            "certificate": {
                "Type": "AWS::IoT::Certificate",
                "Properties": {"CertificateSigningRequest": {"Ref": "CSR"}, "Status": "ACTIVE"},
            },
        },
    }
)


def _csr(name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    request = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def test_bulk_task_signs_the_csr_of_every_line(aws: Any) -> None:
    """The developer guide's input form: one thing name and one CSR per line."""
    from cryptography import x509

    mock, iot, s3 = aws
    put_lines(s3, "csr.json", [{"ThingName": name, "CSR": _csr(name)} for name in ("foo", "bar")])
    task_id = start(iot, key="csr.json", template=CSR_TEMPLATE)
    assert mock.wait_for_registration_tasks(timeout=60)
    assert iot.describe_thing_registration_task(taskId=task_id)["successCount"] == 2
    [link] = iot.list_thing_registration_task_reports(taskId=task_id, reportType="RESULTS")["resourceLinks"]
    for line, name in zip(report(s3, link), ("foo", "bar")):
        pem = line["response"]["CertificatePem"]
        assert x509.load_pem_x509_certificate(pem.encode()).subject.rfc4514_string() == f"CN={name}"
        certificate_arn = line["response"]["ResourceArns"]["certificate"]
        assert iot.list_thing_principals(thingName=name)["principals"] == [certificate_arn]
        certificate_id = certificate_arn.rsplit("/", 1)[1]
        described = iot.describe_certificate(certificateId=certificate_id)["certificateDescription"]
        assert (described["status"], described["certificatePem"]) == ("ACTIVE", pem)
    assert (
        iot.list_thing_registration_task_reports(taskId=task_id, reportType="ERRORS")["resourceLinks"] == []
    )


def test_missing_input_bucket_fails_the_task(aws: Any) -> None:
    mock, iot, _ = aws
    task_id = iot.start_thing_registration_task(
        templateBody=TEMPLATE, inputFileBucket="no-such-bucket", inputFileKey="input.json", roleArn=ROLE
    )["taskId"]
    assert mock.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Failed"
    assert task["message"].startswith(
        "Unable to read the input file s3://no-such-bucket/input.json: NoSuchBucket"
    )


def test_reports_that_cannot_be_written_fail_the_task(aws: Any, gate: Gate) -> None:
    """The input was read, then the bucket went away: the reports cannot be written, the task is Failed."""
    mock, iot, s3 = aws
    certificate = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    put_lines(s3, "input.json", [{"ThingName": "late", "Serial": "1", "CertificateId": certificate}])
    task_id = start(iot)
    assert gate.entered.wait(30)
    s3.delete_object(Bucket=BUCKET, Key="input.json")
    s3.delete_bucket(Bucket=BUCKET)
    gate.set()
    assert mock.wait_for_registration_tasks(timeout=60)
    task = iot.describe_thing_registration_task(taskId=task_id)
    assert task["status"] == "Failed"
    assert task["message"].startswith(f"Unable to write the task reports to s3://{BUCKET}: NoSuchBucket")
    assert (
        iot.list_thing_registration_task_reports(taskId=task_id, reportType="RESULTS")["resourceLinks"] == []
    )


def test_an_ended_task_cannot_be_stopped(aws: Any) -> None:
    mock, iot, s3 = aws
    certificate = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    put_lines(s3, "input.json", [{"ThingName": "done", "Serial": "1", "CertificateId": certificate}])
    completed = start(iot)
    assert mock.wait_for_registration_tasks(timeout=60)
    failed = start(iot, key="missing.json")
    assert mock.wait_for_registration_tasks(timeout=60)
    for task_id, status in ((completed, "Completed"), (failed, "Failed")):
        assert iot.describe_thing_registration_task(taskId=task_id)["status"] == status
        code, http_status, _ = failure(iot.stop_thing_registration_task, taskId=task_id)
        assert (code, http_status) == ("InvalidRequestException", 400)
        assert iot.describe_thing_registration_task(taskId=task_id)["status"] == status


def test_report_links_page_and_follow_the_report_type(aws: Any) -> None:
    mock, iot, s3 = aws
    certificate = iot.create_keys_and_certificate(setAsActive=True)["certificateId"]
    put_lines(
        s3,
        "input.json",
        [
            {"ThingName": "good", "Serial": "1", "CertificateId": certificate},
            {"ThingName": "bad", "Serial": "2", "ThingType": "missing", "CertificateId": certificate},
        ],
    )
    task_id = start(iot)
    assert mock.wait_for_registration_tasks(timeout=60)
    links = {}
    for report_type in ("RESULTS", "ERRORS"):
        page = iot.list_thing_registration_task_reports(taskId=task_id, reportType=report_type, maxResults=1)
        assert page["reportType"] == report_type
        assert "nextToken" not in page
        [links[report_type]] = page["resourceLinks"]
        pages = iot.get_paginator("list_thing_registration_task_reports").paginate(
            taskId=task_id, reportType=report_type, PaginationConfig={"PageSize": 1}
        )
        assert [link for p in pages for link in p["resourceLinks"]] == [links[report_type]]
    assert [line["lineNumber"] for line in report(s3, links["RESULTS"])] == [1]
    assert [line["lineNumber"] for line in report(s3, links["ERRORS"])] == [2]
    code, status, _ = failure(
        iot.list_thing_registration_task_reports, taskId=task_id, reportType="RESULTS", nextToken="###"
    )
    assert (code, status) == ("InvalidRequestException", 400)
    from tests.helpers import iot_client

    unchecked = iot_client(validate=False)
    code, status, _ = failure(
        unchecked.list_thing_registration_task_reports, taskId=task_id, reportType="RESULTS", maxResults=251
    )
    assert (code, status) == ("InvalidRequestException", 400)
