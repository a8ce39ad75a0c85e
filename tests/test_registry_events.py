"""Registry events: the event configuration operations and the messages published for enabled types."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.mqtt.hooks import OutboundMessage
from mock_iotprov.registry.events import EVENT_TYPES, set_event_publisher
from tests.helpers import SIMPLE_TEMPLATE, endpoint_client, failure, iot_client

ACCOUNT = "123456789012"
ARN = "arn:aws:iot:us-east-1:123456789012:"


@pytest.fixture
def published(iot_provisioning: MockIotProvisioning) -> list[tuple[str, dict[str, Any]]]:
    """The (topic, payload) of every event the us-east-1 store publishes."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def collect(message: OutboundMessage) -> None:
        seen.append((message.topic, json.loads(message.payload)))

    set_event_publisher(iot_provisioning.backend.store(ACCOUNT, "us-east-1"), collect)
    return seen


def enable(iot: Any, *kinds: str) -> None:
    iot.update_event_configurations(eventConfigurations={kind: {"Enabled": True} for kind in kinds})


def topics(published: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [topic for topic, _ in published]


def test_every_event_type_starts_disabled(iot: Any) -> None:
    answer = iot.describe_event_configurations()
    assert answer["eventConfigurations"] == {kind: {"Enabled": False} for kind in EVENT_TYPES}
    assert set(EVENT_TYPES) == set(iot.meta.service_model.shape_for("EventType").enum)


def test_update_sets_given_types_only(iot: Any) -> None:
    enable(iot, "THING", "THING_GROUP")
    iot.update_event_configurations(eventConfigurations={"THING_GROUP": {"Enabled": False}})
    answer = iot.describe_event_configurations()
    enabled = {kind for kind, config in answer["eventConfigurations"].items() if config["Enabled"]}
    assert enabled == {"THING"}
    assert answer["lastModifiedDate"] >= answer["creationDate"]


def test_unknown_event_type_is_invalid(iot_provisioning: MockIotProvisioning) -> None:
    client = iot_client(validate=False)
    code, status, _ = failure(
        client.update_event_configurations, eventConfigurations={"NOPE": {"Enabled": True}}
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert not any(
        c["Enabled"] for c in client.describe_event_configurations()["eventConfigurations"].values()
    )


def test_thing_events_have_aws_payloads(iot: Any, published: list[tuple[str, dict[str, Any]]]) -> None:
    enable(iot, "THING")
    created = iot.create_thing(thingName="pump", attributePayload={"attributes": {"a": "1"}})
    iot.update_thing(thingName="pump", attributePayload={"attributes": {"a": "2"}})
    iot.delete_thing(thingName="pump")
    assert topics(published) == [
        "$aws/events/thing/pump/created",
        "$aws/events/thing/pump/updated",
        "$aws/events/thing/pump/deleted",
    ]
    payload = published[0][1]
    assert set(payload) == {
        "eventType", "eventId", "timestamp", "operation", "accountId", "thingId", "thingName",
        "versionNumber", "thingTypeName", "attributes",
    }  # fmt: skip
    assert (payload["eventType"], payload["operation"], payload["accountId"]) == (
        "THING_EVENT",
        "CREATED",
        ACCOUNT,
    )
    assert (payload["thingId"], payload["versionNumber"], payload["thingTypeName"]) == (
        created["thingId"],
        1,
        None,
    )
    assert payload["attributes"] == {"a": "1"}
    assert isinstance(payload["timestamp"], int) and payload["timestamp"] > 1_600_000_000_000
    assert (published[1][1]["versionNumber"], published[1][1]["attributes"]) == (2, {"a": "2"})
    assert published[2][1]["operation"] == "DELETED"
    assert len({p["eventId"] for _, p in published}) == 3


def test_failed_calls_and_disabled_types_publish_nothing(
    iot: Any, published: list[tuple[str, dict[str, Any]]]
) -> None:
    iot.create_thing(thingName="quiet")  # THING not enabled yet
    enable(iot, "THING")
    assert failure(iot.create_thing, thingName="t", thingTypeName="missing")[0] == "ResourceNotFoundException"
    assert failure(iot.update_thing, thingName="quiet", expectedVersion=9)[0] == "VersionConflictException"
    assert published == []


def test_thing_type_and_association_events(iot: Any, published: list[tuple[str, dict[str, Any]]]) -> None:
    enable(iot, "THING_TYPE", "THING_TYPE_ASSOCIATION")
    created = iot.create_thing_type(
        thingTypeName="meter",
        thingTypeProperties={"thingTypeDescription": "Meters", "searchableAttributes": ["serial"]},
    )
    iot.create_thing(thingName="m1", thingTypeName="meter")
    iot.update_thing(thingName="m1", removeThingType=True)
    iot.deprecate_thing_type(thingTypeName="meter")
    iot.delete_thing_type(thingTypeName="meter")
    assert topics(published) == [
        "$aws/events/thingType/meter/created",
        "$aws/events/thingTypeAssociation/thing/m1/meter",
        "$aws/events/thingTypeAssociation/thing/m1/meter",
        "$aws/events/thingType/meter/updated",
        "$aws/events/thingType/meter/deleted",
    ]
    first = published[0][1]
    assert (first["eventType"], first["thingTypeId"], first["isDeprecated"]) == (
        "THING_TYPE_EVENT", created["thingTypeId"], False
    )  # fmt: skip
    assert (first["searchableAttributes"], first["description"], first["deprecationDate"]) == (
        ["serial"],
        "Meters",
        None,
    )
    assert [published[i][1]["operation"] for i in (1, 2)] == ["CREATED", "DELETED"]
    assert published[1][1]["eventType"] == "THING_TYPE_ASSOCIATION_EVENT"
    deprecated = published[3][1]
    assert deprecated["isDeprecated"] is True and isinstance(deprecated["deprecationDate"], int)


def test_thing_group_hierarchy_and_membership_events(
    iot: Any, published: list[tuple[str, dict[str, Any]]]
) -> None:
    enable(iot, "THING_GROUP", "THING_GROUP_HIERARCHY", "THING_GROUP_MEMBERSHIP")
    root = iot.create_thing_group(thingGroupName="root")
    child = iot.create_thing_group(
        thingGroupName="child", parentGroupName="root", thingGroupProperties={"thingGroupDescription": "kid"}
    )
    thing = iot.create_thing(thingName="dev")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="dev")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="dev")  # already a member: no event
    iot.remove_thing_from_thing_group(thingGroupName="child", thingName="dev")
    iot.delete_thing_group(thingGroupName="child")
    base = "$aws/events/thingGroupMembership/thingGroup/child/thing/dev"
    hierarchy = "$aws/events/thingGroupHierarchy/thingGroup/root/childThingGroup/child"
    assert topics(published) == [
        "$aws/events/thingGroup/root/created",
        "$aws/events/thingGroup/child/created",
        f"{hierarchy}/added",
        f"{base}/added",
        f"{base}/removed",
        "$aws/events/thingGroup/child/deleted",
        f"{hierarchy}/removed",
    ]
    group_event = published[1][1]
    assert group_event["eventType"] == "THING_GROUP_EVENT"
    assert (group_event["parentGroupName"], group_event["parentGroupId"]) == ("root", root["thingGroupId"])
    assert group_event["rootToParentThingGroups"] == [
        {"groupName": "root", "groupArn": ARN + "thinggroup/root"}
    ]
    assert (group_event["description"], group_event["versionNumber"]) == ("kid", 1)
    assert published[0][1]["rootToParentThingGroups"] is None
    link = published[2][1]
    assert (link["thingGroupName"], link["childGroupName"], link["childGroupId"]) == (
        "root", "child", child["thingGroupId"]
    )  # fmt: skip
    added, removed = published[3][1], published[4][1]
    assert added["eventType"] == "THING_GROUP_MEMBERSHIP_EVENT"
    assert (added["groupArn"], added["thingArn"], added["thingId"]) == (
        ARN + "thinggroup/child", ARN + "thing/dev", thing["thingId"]
    )  # fmt: skip
    assert (added["operation"], removed["operation"]) == ("ADDED", "REMOVED")
    assert added["membershipId"] == removed["membershipId"]


def test_register_thing_publishes_the_thing_it_creates(
    iot: Any, published: list[tuple[str, dict[str, Any]]]
) -> None:
    enable(iot, "THING")
    iot.register_thing(templateBody=SIMPLE_TEMPLATE, parameters={"ThingName": "provisioned"})
    assert topics(published) == ["$aws/events/thing/provisioned/created"]
    code, _, _ = failure(
        iot.register_thing, templateBody=SIMPLE_TEMPLATE, parameters={"ThingName": "bad name!"}
    )
    assert code == "InvalidRequestException"
    assert len(published) == 1


def test_event_configuration_over_the_local_endpoint() -> None:
    with IotProvisioningServer(port=0) as server:
        client = endpoint_client(server.url)
        client.update_event_configurations(eventConfigurations={"THING": {"Enabled": True}})
        assert client.describe_event_configurations()["eventConfigurations"]["THING"] == {"Enabled": True}


def test_events_and_connectivity_through_the_mqtt_broker(iot_provisioning: MockIotProvisioning) -> None:
    """The seams wired to the real broker: events reach a subscriber; connected client ids are searchable."""
    from mock_iotprov.indexing.search import set_connectivity_source
    from mock_iotprov.mqtt import packets as p
    from tests.mqtt_support import FakeHooks, RawClient, device_cert, running_broker

    iot = iot_client()
    store = iot_provisioning.backend.store(ACCOUNT, "us-east-1")
    with running_broker(FakeHooks()) as broker:
        set_event_publisher(store, broker.publish)
        set_connectivity_source(store, broker.connected_clients)
        enable(iot, "THING")
        iot.update_indexing_configuration(
            thingIndexingConfiguration={
                "thingIndexingMode": "REGISTRY",
                "thingConnectivityIndexingMode": "STATUS",
            }
        )
        client = RawClient(broker.port, device_cert())
        try:
            client.connect("sensor-7")
            client.send(p.Subscribe(1, (p.SubscriptionRequest("$aws/events/thing/+/created", 0),)))
            assert isinstance(client.receive(), p.SubAck)
            created = iot.create_thing(thingName="sensor-7")
            message = client.receive()
            assert isinstance(message, p.Publish)
            assert message.topic == "$aws/events/thing/sensor-7/created"
            assert json.loads(message.payload)["thingId"] == created["thingId"]
            found = iot.search_index(queryString="connectivity.connected:true")["things"]
            assert [(t["thingName"], t["connectivity"]["connected"]) for t in found] == [("sensor-7", True)]
        finally:
            client.close()


def test_a_mock_with_its_broker_publishes_registry_events_and_connectivity(
    iot_provisioning_mqtt: MockIotProvisioning,
) -> None:
    """``mqtt=True``: every store is connected to the mock's own broker, with real admission and policies."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    from mock_iotprov.mqtt import packets as p
    from tests.mqtt_support import ClientCert, RawClient, wait_until

    iot = iot_client()
    keys = iot.create_keys_and_certificate(setAsActive=True)
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
    iot.create_policy(policyName="everything", policyDocument=json.dumps(document))
    iot.attach_policy(policyName="everything", target=keys["certificateArn"])
    enable(iot, "THING_GROUP")
    iot.update_indexing_configuration(
        thingIndexingConfiguration={
            "thingIndexingMode": "REGISTRY",
            "thingConnectivityIndexingMode": "STATUS",
        }
    )
    der = x509.load_pem_x509_certificate(keys["certificatePem"].encode()).public_bytes(
        serialization.Encoding.DER
    )
    client = RawClient(
        iot_provisioning_mqtt.mqtt_port,
        ClientCert(keys["certificatePem"], keys["keyPair"]["PrivateKey"], der),
    )
    try:
        client.connect("gateway")
        client.send(p.Subscribe(1, (p.SubscriptionRequest("$aws/events/thingGroup/#", 0),)))
        assert isinstance(client.receive(), p.SubAck)
        created = iot.create_thing_group(thingGroupName="fleet-a")
        message = client.receive()
        assert isinstance(message, p.Publish)
        assert message.topic == "$aws/events/thingGroup/fleet-a/created"
        assert json.loads(message.payload)["thingGroupId"] == created["thingGroupId"]
        iot.create_thing(thingName="gateway")
        iot.create_thing(thingName="spare")
        found = iot.search_index(queryString="connectivity.connected:true")["things"]
        assert [thing["thingName"] for thing in found] == ["gateway"]
        offline = iot.search_index(queryString="connectivity.connected:false")["things"]
        assert [(t["thingName"], t["connectivity"]) for t in offline] == [("spare", {"connected": False})]
        client.close()
        # once the broker has seen the connection go, the index says so
        wait_until(lambda: iot.search_index(queryString="connectivity.connected:true")["things"] == [])
        found = iot.search_index(queryString="connectivity.connected:false")["things"]
        assert [thing["thingName"] for thing in found] == ["gateway", "spare"]
    finally:
        client.close()


def test_failed_group_type_and_membership_calls_publish_nothing(
    iot: Any, published: list[tuple[str, dict[str, Any]]]
) -> None:
    enable(iot, "THING_GROUP", "THING_TYPE", "THING_GROUP_MEMBERSHIP", "THING_GROUP_HIERARCHY")
    iot.create_thing_group(thingGroupName="root")
    iot.create_thing_group(thingGroupName="leaf", parentGroupName="root")
    iot.create_thing_type(thingTypeName="kind")
    before = list(published)
    assert failure(iot.create_thing_group, thingGroupName="orphan", parentGroupName="nowhere")[0] == (
        "InvalidRequestException"
    )
    assert (
        failure(
            iot.update_thing_group,
            thingGroupName="root",
            thingGroupProperties={"thingGroupDescription": "x"},
            expectedVersion=7,
        )[0]
        == "VersionConflictException"
    )
    # root still has a child group
    assert failure(iot.delete_thing_group, thingGroupName="root")[0] == "InvalidRequestException"
    assert failure(iot.deprecate_thing_type, thingTypeName="unknown")[0] == "ResourceNotFoundException"
    assert failure(iot.add_thing_to_thing_group, thingGroupName="leaf", thingName="ghost")[0] == (
        "ResourceNotFoundException"
    )
    assert published == before
    assert iot.describe_thing_group(thingGroupName="root")["version"] == 1


def test_only_enabled_types_publish(iot: Any, published: list[tuple[str, dict[str, Any]]]) -> None:
    enable(iot, "THING")
    iot.create_thing_type(thingTypeName="kind")
    iot.create_thing_group(thingGroupName="parent")
    iot.create_thing_group(thingGroupName="child", parentGroupName="parent")
    iot.create_thing(thingName="member", thingTypeName="kind")
    iot.add_thing_to_thing_group(thingGroupName="child", thingName="member")
    assert topics(published) == ["$aws/events/thing/member/created"]
    iot.update_event_configurations(eventConfigurations={"THING": {"Enabled": False}})
    iot.update_thing(thingName="member", attributePayload={"attributes": {"a": "1"}})
    iot.delete_thing(thingName="member")
    assert topics(published) == ["$aws/events/thing/member/created"]
