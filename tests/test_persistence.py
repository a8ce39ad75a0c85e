"""``serve --state-dir``: state survives restarts and ``kill -9``; incompatible directories are refused."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from cryptography import x509

from mock_iotprov.dispatch import call_operation
from mock_iotprov.invariants import registry_problems
from mock_iotprov.persistence.codec import StateFormatError, decode, encode
from mock_iotprov.persistence.database import FILE_NAME, SCHEMA_VERSION, StateDatabase
from mock_iotprov.persistence.journal import Journal
from mock_iotprov.pki import is_signed_by
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.protocol.serialize import serialize_error
from mock_iotprov.state import Backend, MockOptions
from tests.serve_process import ServeProcess, run_serve

TEMPLATE = json.dumps(
    {
        "Parameters": {"ThingName": {"Type": "String"}},
        "Resources": {
            "thing": {"Type": "AWS::IoT::Thing", "Properties": {"ThingName": {"Ref": "ThingName"}}}
        },
    }
)
ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}]}
)


def _saved_backend(state_dir: Path) -> Backend:
    """The stores the state directory holds, decoded in this process (without touching its PKI)."""
    database = StateDatabase(state_dir)
    try:
        backend = Backend()
        for (account_id, region), data in database.load_stores().items():
            backend.restore_store(account_id, region, decode(data))
        return backend
    finally:
        database.close()


def _ca_bundle(server: ServeProcess) -> str:
    with urllib.request.urlopen(f"{server.url}/_mock_iotprov/ca.pem", timeout=10) as response:
        return str(response.read().decode("ascii"))


def _chains_to(pem: str, bundle: str) -> bool:
    certificate = x509.load_pem_x509_certificate(pem.encode())
    return any(is_signed_by(certificate, ca) for ca in x509.load_pem_x509_certificates(bundle.encode()))


def test_everything_is_restored_after_a_restart(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    server = ServeProcess("--state-dir", str(state_dir))
    try:
        iot = server.client()
        iot.create_thing_type(thingTypeName="sensor")
        iot.create_thing_group(thingGroupName="fleet")
        iot.create_thing(thingName="t1", thingTypeName="sensor", attributePayload={"attributes": {"a": "1"}})
        iot.add_thing_to_thing_group(thingGroupName="fleet", thingName="t1")
        keys = iot.create_keys_and_certificate(setAsActive=True)
        iot.attach_thing_principal(thingName="t1", principal=keys["certificateArn"])
        iot.create_policy(policyName="p", policyDocument=POLICY, tags=[{"Key": "k", "Value": "v"}])
        iot.attach_policy(policyName="p", target=keys["certificateArn"])
        iot.create_provisioning_template(
            templateName="tpl", templateBody=TEMPLATE, provisioningRoleArn=ROLE_ARN, enabled=True
        )
        iot.create_provisioning_template_version(templateName="tpl", templateBody=TEMPLATE, setAsDefault=True)
        claim = iot.create_provisioning_claim(templateName="tpl")
        bundle_before = _ca_bundle(server)
    finally:
        assert server.stop() == 0

    restarted = ServeProcess("--state-dir", str(state_dir))
    try:
        iot = restarted.client()
        thing = iot.describe_thing(thingName="t1")
        assert (thing["thingTypeName"], thing["attributes"]) == ("sensor", {"a": "1"})
        assert iot.list_thing_groups_for_thing(thingName="t1")["thingGroups"][0]["groupName"] == "fleet"
        described = iot.describe_certificate(certificateId=keys["certificateId"])["certificateDescription"]
        assert (described["status"], described["certificatePem"]) == ("ACTIVE", keys["certificatePem"])
        assert iot.list_thing_principals(thingName="t1")["principals"] == [keys["certificateArn"]]
        assert [
            p["policyName"] for p in iot.list_attached_policies(target=keys["certificateArn"])["policies"]
        ] == ["p"]
        policy_arn = iot.get_policy(policyName="p")["policyArn"]
        assert iot.list_tags_for_resource(resourceArn=policy_arn)["tags"] == [{"Key": "k", "Value": "v"}]
        template = iot.describe_provisioning_template(templateName="tpl")
        assert (template["enabled"], template["defaultVersionId"]) == (True, 2)
        bundle_after = _ca_bundle(restarted)
        assert bundle_after == bundle_before
        assert _chains_to(keys["certificatePem"], bundle_after)
        assert _chains_to(claim["certificatePem"], bundle_after)
        # new objects after the restart still work alongside the old ones
        iot.create_thing(thingName="t2")
        assert sorted(t["thingName"] for t in iot.list_things()["things"]) == ["t1", "t2"]
    finally:
        assert restarted.stop() == 0
    for store in _saved_backend(state_dir).stores():
        assert registry_problems(store) == []


def test_the_private_keys_and_claims_the_mock_issued_are_kept(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    server = ServeProcess("--state-dir", str(state_dir))
    try:
        iot = server.client()
        keys = iot.create_keys_and_certificate(setAsActive=False)
        iot.create_provisioning_template(
            templateName="tpl", templateBody=TEMPLATE, provisioningRoleArn=ROLE_ARN
        )
        claim = iot.create_provisioning_claim(templateName="tpl")
    finally:
        server.stop()
    restarted = ServeProcess("--state-dir", str(state_dir))
    try:
        page = f"{restarted.url}/_mock_iotprov/view/123456789012/us-east-1"
        for kind, issued in (("certificates", keys), ("claims", claim)):
            url = f"{page}/{kind}/{issued['certificateId']}?private_key=show"
            with urllib.request.urlopen(url, timeout=10) as response:
                text = response.read().decode()
            assert issued["keyPair"]["PrivateKey"].strip().splitlines()[1] in text
    finally:
        restarted.stop()


def _mutations(
    iot: Any, worker: int, acknowledged: dict[str, str], in_flight: dict[str, str], stop: threading.Event
) -> None:
    """Create, update and delete this worker's own things and policies; record what was acknowledged."""
    rng = random.Random(worker)
    for step in range(10_000):
        if stop.is_set():
            return
        name = f"w{worker}-{step % 7}"
        action = rng.choice(("create", "update", "delete", "policy"))
        try:
            if action == "policy":
                policy = f"p{worker}-{step}"
                in_flight[policy] = "policy"
                iot.create_policy(policyName=policy, policyDocument=POLICY)
                acknowledged[policy] = "policy"
                in_flight.pop(policy, None)
                continue
            current = acknowledged.get(name)
            if current is None and action != "create":
                action = "create"
            if action == "create" and current is not None:
                action = "update"
            in_flight[name] = action
            if action == "create":
                iot.create_thing(thingName=name, attributePayload={"attributes": {"v": str(step)}})
                acknowledged[name] = str(step)
            elif action == "update":
                iot.update_thing(thingName=name, attributePayload={"attributes": {"v": str(step)}})
                acknowledged[name] = str(step)
            else:
                iot.delete_thing(thingName=name)
                acknowledged.pop(name, None)
            in_flight.pop(name, None)
        except (ClientError, EndpointConnectionError, ConnectionError, OSError):
            return
        except Exception:  # noqa: BLE001 - the connection died with the server: stop this worker
            return


@pytest.mark.parametrize("round_number", range(3))
def test_kill_9_loses_no_acknowledged_write_and_leaves_no_half_request(
    tmp_path: Path, round_number: int
) -> None:
    state_dir = tmp_path / "state"
    rng = random.Random(round_number)
    acknowledged: list[dict[str, str]] = [{} for _ in range(4)]
    in_flight: list[dict[str, str]] = [{} for _ in range(4)]
    for _attempt in range(2):  # kill twice: once into a fresh directory, once into a restored one
        server = ServeProcess("--state-dir", str(state_dir))
        stop = threading.Event()
        workers = [
            threading.Thread(
                target=_mutations, args=(server.client(), i, acknowledged[i], in_flight[i], stop)
            )
            for i in range(4)
        ]
        for worker in workers:
            worker.start()
        stop.wait(rng.uniform(0.3, 1.5))
        server.kill()
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
            assert not worker.is_alive()

    restored = _saved_backend(state_dir)
    stores = restored.stores()
    for store in stores:
        assert registry_problems(store) == []
    server = ServeProcess("--state-dir", str(state_dir))
    try:
        iot = server.client()
        things = {t["thingName"]: t["attributes"].get("v") for t in iot.list_things(maxResults=250)["things"]}
        policies = {p["policyName"] for p in iot.list_policies(pageSize=250)["policies"]}
        for worker in range(4):
            pending = in_flight[worker]
            for name, value in acknowledged[worker].items():
                if name in pending:
                    continue  # the request in flight at the kill may or may not have been applied
                if value == "policy":
                    assert name in policies
                else:
                    assert things.get(name) == value, (name, things.get(name), value)
            for name in things:
                if name.startswith(f"w{worker}-") and name not in pending:
                    assert name in acknowledged[worker], (
                        f"{name} exists but its creation was never acknowledged"
                    )
    finally:
        server.stop()


def test_a_directory_of_a_newer_version_is_refused(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    StateDatabase(state_dir).close()
    with sqlite3.connect(state_dir / FILE_NAME) as connection:
        connection.execute(
            "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    result = run_serve("--state-dir", str(state_dir))
    assert result.returncode == 2
    assert "incompatible (newer) mock_iotprov" in result.stderr
    assert f"schema version {SCHEMA_VERSION + 1}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_a_state_database_is_refused(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / FILE_NAME).write_bytes(b"not a database at all" * 100)
    result = run_serve("--state-dir", str(state_dir))
    assert result.returncode == 2
    assert "is not a mock_iotprov state database" in result.stderr
    assert "Traceback" not in result.stderr


def test_saved_state_can_name_only_state_classes() -> None:
    import os
    import pickle

    hostile = pickle.dumps(os.system)
    with pytest.raises(StateFormatError, match="not a state class"):
        decode(hostile)
    with pytest.raises(StateFormatError, match="unreadable state data"):
        decode(b"\x80\x05garbage")
    assert decode(encode({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}


class _BlockingDatabase:
    """A database whose writes wait until the test lets them finish (or fail)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.fail = False
        self.writes: list[dict[Any, bytes]] = []

    def write(self, stores: dict[Any, bytes], *, clear_first: bool = False) -> None:
        self.release.wait(30)
        if self.fail:
            raise OSError("disk full")
        self.writes.append(dict(stores))

    def close(self) -> None:
        pass


def test_a_change_is_acknowledged_only_after_it_is_written() -> None:
    backend = Backend()
    database = _BlockingDatabase()
    backend.journal = Journal(database, backend)  # type: ignore[arg-type]
    results: list[Any] = []
    call = threading.Thread(
        target=lambda: results.append(
            call_operation(backend, MockOptions(), "us-east-1", "CreateThing", {"thingName": "t"})
        )
    )
    call.start()
    call.join(timeout=0.5)
    assert call.is_alive() and results == []  # written to memory, not yet on disk: no answer yet
    database.release.set()
    call.join(timeout=30)
    assert results and results[0]["thingName"] == "t"
    assert list(database.writes[-1]) == [("123456789012", "us-east-1")]
    # a read is answered without a write
    writes = len(database.writes)
    call_operation(backend, MockOptions(), "us-east-1", "DescribeThing", {"thingName": "t"})
    assert len(database.writes) == writes
    backend.journal.close()


def test_a_failed_write_is_answered_as_an_internal_failure() -> None:
    backend = Backend()
    database = _BlockingDatabase()
    database.fail = True
    database.release.set()
    backend.journal = Journal(database, backend)  # type: ignore[arg-type]
    with pytest.raises(ServiceError) as raised:
        call_operation(backend, MockOptions(), "us-east-1", "CreateThing", {"thingName": "t"})
    assert raised.value.code == "InternalFailureException"
    assert serialize_error(raised.value).status == 500
    assert "could not be saved to disk" in raised.value.message
    backend.journal.close()


def test_without_a_state_directory_nothing_is_written(tmp_path: Path) -> None:
    server = ServeProcess(cwd=tmp_path)
    try:
        server.client().create_thing(thingName="t")
    finally:
        server.stop()
    assert list(tmp_path.iterdir()) == []


def test_a_reset_is_durable_too(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    server = ServeProcess("--state-dir", str(state_dir))
    try:
        server.client().create_thing(thingName="gone")
        request = urllib.request.Request(f"{server.url}/_mock_iotprov/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        server.client().create_thing(thingName="kept")
    finally:
        server.kill()  # no graceful shutdown: what was acknowledged must already be on disk
    restarted = ServeProcess("--state-dir", str(state_dir))
    try:
        assert [t["thingName"] for t in restarted.client().list_things()["things"]] == ["kept"]
    finally:
        restarted.stop()


def test_what_a_device_provisioned_over_mqtt_survives_a_kill_9(tmp_path: Path) -> None:
    from awsiot import iotidentity

    from tests.device_sdk import TIMEOUT, Credentials, identity_v2, mqtt5_session
    from tests.device_support import create_template

    state_dir = tmp_path / "state"
    server = ServeProcess("--state-dir", str(state_dir), "--mqtt-port", "0")
    try:
        assert server.mqtt_port is not None
        iot = server.client()
        create_template(iot)
        claim = iot.create_provisioning_claim(templateName="fleet")

        class Served:
            mqtt_host, mqtt_port, ca_bundle_pem = "127.0.0.1", server.mqtt_port, _ca_bundle(server)

        credentials = Credentials(claim["certificatePem"], claim["keyPair"]["PrivateKey"])
        with mqtt5_session(Served(), credentials, "durable-device") as session:
            identity = identity_v2(session.client)
            keys = identity.create_keys_and_certificate(iotidentity.CreateKeysAndCertificateRequest()).result(
                TIMEOUT
            )
            request = iotidentity.RegisterThingRequest(
                template_name="fleet",
                certificate_ownership_token=keys.certificate_ownership_token,
                parameters={"SerialNumber": "SN-9"},
            )
            thing_name = identity.register_thing(request).result(TIMEOUT).thing_name
    finally:
        server.kill()
    restarted = ServeProcess("--state-dir", str(state_dir))
    try:
        iot = restarted.client()
        assert iot.describe_thing(thingName=thing_name)["thingName"] == thing_name
        described = iot.describe_certificate(certificateId=keys.certificate_id)["certificateDescription"]
        assert described["status"] == "ACTIVE"
        assert iot.list_thing_principals(thingName=thing_name)["principals"] == [described["certificateArn"]]
    finally:
        restarted.stop()


def test_every_kind_of_table_round_trips_through_the_codec() -> None:
    """Tables of every domain (things, groups, billing groups, types, certificates, CAs, policies, templates,
    claims, tags, role aliases, indexing and event configuration) survive encode → decode whole."""
    from mock_iotprov import mock_iot_provisioning
    from tests.helpers import TestCertificateAuthority, iot_client

    with mock_iot_provisioning() as mock:
        iot = iot_client()
        iot.create_thing_type(thingTypeName="sensor")
        iot.create_thing_group(thingGroupName="parent")
        iot.create_thing_group(thingGroupName="child", parentGroupName="parent")
        iot.create_billing_group(billingGroupName="billing")
        iot.create_thing(thingName="t1", thingTypeName="sensor", attributePayload={"attributes": {"a": "1"}})
        iot.add_thing_to_thing_group(thingGroupName="child", thingName="t1")
        iot.add_thing_to_billing_group(billingGroupName="billing", thingName="t1")
        keys = iot.create_keys_and_certificate(setAsActive=True)
        iot.attach_thing_principal(thingName="t1", principal=keys["certificateArn"])
        iot.create_policy(policyName="p", policyDocument=POLICY, tags=[{"Key": "k", "Value": "v"}])
        iot.attach_policy(policyName="p", target=keys["certificateArn"])
        iot.create_provisioning_template(
            templateName="tpl", templateBody=TEMPLATE, provisioningRoleArn=ROLE_ARN, enabled=True
        )
        iot.create_provisioning_claim(templateName="tpl")
        TestCertificateAuthority.create("persisted CA").register(iot)
        iot.create_role_alias(roleAlias="alias", roleArn=ROLE_ARN)
        iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
        iot.update_event_configurations(eventConfigurations={"THING": {"Enabled": True}})
        for store in mock.backend.stores():
            with store.lock:
                saved = store.saved()
                restored = Backend().restore_store(store.account_id, store.region, decode(encode(saved)))
            assert set(restored.saved()[0]) == set(saved[0])
            assert registry_problems(restored) == []
