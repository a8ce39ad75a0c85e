"""Fleet indexing through real boto3 clients: configuration, indexes, SearchIndex, errors."""

from __future__ import annotations

from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.indexing.search import set_connectivity_source
from tests.helpers import endpoint_client, failure, iot_client

NOT_ENABLED = "Index AWS_Things does not exist. Please enable index by calling UpdateIndexingConfiguration"


def enable(iot: Any, **extra: Any) -> None:
    iot.update_indexing_configuration(
        thingIndexingConfiguration={"thingIndexingMode": "REGISTRY", **extra},
        thingGroupIndexingConfiguration={"thingGroupIndexingMode": "ON"},
    )


def names(answer: dict[str, Any]) -> list[str]:
    return [thing["thingName"] for thing in answer["things"]]


def test_indexing_is_off_by_default(iot: Any) -> None:
    config = iot.get_indexing_configuration()
    assert config["thingIndexingConfiguration"]["thingIndexingMode"] == "OFF"
    assert config["thingGroupIndexingConfiguration"]["thingGroupIndexingMode"] == "OFF"
    assert iot.list_indices()["indexNames"] == []
    code, status, response = failure(iot.describe_index, indexName="AWS_Things")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_search_without_an_index_fails_as_aws_does(iot: Any) -> None:
    iot.create_thing(thingName="t")
    code, status, response = failure(iot.search_index, queryString="thingName:t")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert response["Error"]["Message"] == NOT_ENABLED


def test_enable_describe_list_and_disable(iot: Any) -> None:
    enable(iot, thingConnectivityIndexingMode="STATUS")
    config = iot.get_indexing_configuration()["thingIndexingConfiguration"]
    assert (config["thingIndexingMode"], config["thingConnectivityIndexingMode"]) == ("REGISTRY", "STATUS")
    assert iot.list_indices()["indexNames"] == ["AWS_ThingGroups", "AWS_Things"]
    described = iot.describe_index(indexName="AWS_Things")
    assert (described["indexStatus"], described["schema"]) == ("ACTIVE", "REGISTRY_AND_CONNECTIVITY_STATUS")
    assert iot.describe_index(indexName="AWS_ThingGroups")["indexStatus"] == "ACTIVE"
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "OFF"})
    assert iot.list_indices()["indexNames"] == ["AWS_ThingGroups"]
    assert failure(iot.search_index, queryString="*")[0] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    ("config", "schema"),
    [
        ({"thingIndexingMode": "REGISTRY_AND_SHADOW"}, "REGISTRY_AND_SHADOW"),
        (
            {"thingIndexingMode": "REGISTRY_AND_SHADOW", "thingConnectivityIndexingMode": "STATUS"},
            "REGISTRY_AND_SHADOW_AND_CONNECTIVITY_STATUS",
        ),
        (
            {"thingIndexingMode": "REGISTRY", "deviceDefenderIndexingMode": "VIOLATIONS"},
            "MULTI_INDEXING_MODE",
        ),
    ],
)
def test_index_schema_follows_the_configuration(iot: Any, config: dict[str, str], schema: str) -> None:
    iot.update_indexing_configuration(thingIndexingConfiguration=config)
    assert iot.describe_index(indexName="AWS_Things")["schema"] == schema


@pytest.mark.parametrize(
    "config",
    [
        {"thingIndexingMode": "OFF", "thingConnectivityIndexingMode": "STATUS"},
        {"thingIndexingMode": "OFF", "namedShadowIndexingMode": "ON"},
        {"thingIndexingMode": "REGISTRY", "customFields": [{"name": "attributes.x"}]},
    ],
)
def test_inconsistent_configuration_is_invalid_and_changes_nothing(iot: Any, config: dict[str, Any]) -> None:
    code, status, _ = failure(iot.update_indexing_configuration, thingIndexingConfiguration=config)
    assert (code, status) == ("InvalidRequestException", 400)
    assert iot.get_indexing_configuration()["thingIndexingConfiguration"]["thingIndexingMode"] == "OFF"


def test_unknown_index_is_not_found(iot: Any) -> None:
    enable(iot)
    assert failure(iot.describe_index, indexName="Other")[:2] == ("ResourceNotFoundException", 404)
    assert failure(iot.search_index, indexName="Other", queryString="*")[0] == "ResourceNotFoundException"


def test_search_things_by_registry_fields(iot: Any) -> None:
    enable(iot)
    iot.create_thing_type(thingTypeName="tv")
    iot.create_thing_group(thingGroupName="home")
    iot.create_thing(thingName="tv-1", thingTypeName="tv", attributePayload={"attributes": {"watts": "75"}})
    iot.create_thing(thingName="tv-2", thingTypeName="tv", attributePayload={"attributes": {"watts": "120"}})
    iot.create_thing(thingName="lamp", attributePayload={"attributes": {"watts": "9"}})
    iot.add_thing_to_thing_group(thingGroupName="home", thingName="tv-2")
    assert names(iot.search_index(queryString="thingTypeName:tv")) == ["tv-1", "tv-2"]
    assert names(iot.search_index(queryString="attributes.watts:[50 TO 100]")) == ["tv-1"]
    assert names(iot.search_index(queryString="thingGroupNames:home")) == ["tv-2"]
    assert names(iot.search_index(queryString="NOT thingTypeName:tv")) == ["lamp"]
    document = iot.search_index(queryString="thingName:tv-2")["things"][0]
    described = iot.describe_thing(thingName="tv-2")
    assert document["thingId"] == described["thingId"]
    assert document["thingTypeName"] == "tv"
    assert document["thingGroupNames"] == ["home"]
    assert document["attributes"] == {"watts": "120"}
    assert "connectivity" not in document
    thing_id = described["thingId"]
    assert names(iot.search_index(queryString=f"thingId:{thing_id}")) == ["tv-2"]


def test_search_follows_registry_changes(iot: Any) -> None:
    enable(iot)
    iot.create_thing(thingName="a", attributePayload={"attributes": {"k": "1"}})
    assert names(iot.search_index(queryString="attributes.k:1")) == ["a"]
    iot.update_thing(thingName="a", attributePayload={"attributes": {"k": "2"}})
    assert names(iot.search_index(queryString="attributes.k:1")) == []
    iot.delete_thing(thingName="a")
    assert names(iot.search_index(queryString="*")) == []


def test_search_pages_with_next_token(iot: Any) -> None:
    enable(iot)
    for i in range(7):
        iot.create_thing(thingName=f"t{i}")
    first = iot.search_index(queryString="thingName:t*", maxResults=3)
    assert names(first) == ["t0", "t1", "t2"]
    second = iot.search_index(queryString="thingName:t*", maxResults=3, nextToken=first["nextToken"])
    assert names(second) == ["t3", "t4", "t5"]
    third = iot.search_index(queryString="thingName:t*", maxResults=3, nextToken=second["nextToken"])
    assert names(third) == ["t6"]
    assert "nextToken" not in third


def test_search_limits_and_bad_queries(iot: Any) -> None:
    enable(iot)
    code, status, _ = failure(iot.search_index, queryString="thingName:a@b")
    assert (code, status) == ("InvalidQueryException", 400)
    code, status, _ = failure(iot.search_index, queryString="*", maxResults=101)
    assert (code, status) == ("InvalidRequestException", 400)
    assert failure(iot.search_index, queryString="*", nextToken="###")[0] == "InvalidRequestException"


def test_search_thing_groups(iot: Any) -> None:
    enable(iot)
    iot.create_thing_group(
        thingGroupName="root",
        thingGroupProperties={"thingGroupDescription": "top", "attributePayload": {"attributes": {"f": "1"}}},
    )
    iot.create_thing_group(thingGroupName="child", parentGroupName="root")
    iot.create_thing_group(thingGroupName="grandchild", parentGroupName="child")
    answer = iot.search_index(indexName="AWS_ThingGroups", queryString="parentGroupNames:root")
    assert [g["thingGroupName"] for g in answer["thingGroups"]] == ["child", "grandchild"]
    assert answer["thingGroups"][1]["parentGroupNames"] == ["child", "root"]
    top = iot.search_index(indexName="AWS_ThingGroups", queryString="attributes.f:1")["thingGroups"]
    assert [(g["thingGroupName"], g["thingGroupDescription"]) for g in top] == [("root", "top")]


def test_connectivity_comes_from_the_broker_seam(iot_provisioning: MockIotProvisioning) -> None:
    iot = iot_client()
    enable(iot, thingConnectivityIndexingMode="STATUS")
    iot.create_thing(thingName="online")
    iot.create_thing(thingName="offline")
    assert names(iot.search_index(queryString="connectivity.connected:true")) == []
    store = iot_provisioning.backend.store(iot_provisioning.account_id, "us-east-1")
    set_connectivity_source(store, lambda: {"online"})
    assert names(iot.search_index(queryString="connectivity.connected:true")) == ["online"]
    assert names(iot.search_index(queryString="connectivity.connected:false")) == ["offline"]
    document = iot.search_index(queryString="thingName:online")["things"][0]
    assert document["connectivity"] == {"connected": True}


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("describe_index", {"indexName": "bad name!"}),
        ("list_indices", {"nextToken": "not-a-token"}),
        ("list_indices", {"maxResults": 501}),
        ("search_index", {"queryString": "*", "indexName": "bad name!"}),
        ("update_indexing_configuration", {"thingIndexingConfiguration": {"thingIndexingMode": "SOMETIMES"}}),
    ],
)
def test_invalid_inputs_are_invalid_requests(
    iot_provisioning: MockIotProvisioning, operation: str, params: dict[str, Any]
) -> None:
    client = iot_client(validate=False)
    enable(client)
    code, status, _ = failure(getattr(client, operation), **params)
    assert (code, status) == ("InvalidRequestException", 400)
    assert (
        client.get_indexing_configuration()["thingIndexingConfiguration"]["thingIndexingMode"] == "REGISTRY"
    )


def test_search_on_a_disabled_thing_groups_index_fails(iot: Any) -> None:
    iot.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
    iot.create_thing_group(thingGroupName="g")
    assert iot.list_indices()["indexNames"] == ["AWS_Things"]
    code, status, response = failure(iot.search_index, indexName="AWS_ThingGroups", queryString="*")
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert response["Error"]["Message"] == NOT_ENABLED.replace("AWS_Things", "AWS_ThingGroups")
    assert failure(iot.describe_index, indexName="AWS_ThingGroups")[:2] == ("ResourceNotFoundException", 404)
    enable(iot)
    iot.update_indexing_configuration(thingGroupIndexingConfiguration={"thingGroupIndexingMode": "OFF"})
    assert failure(iot.search_index, indexName="AWS_ThingGroups", queryString="*")[0] == (
        "ResourceNotFoundException"
    )
    assert names(iot.search_index(queryString="*")) == []  # AWS_Things stays on


def test_search_thing_groups_pages_with_next_token(iot: Any) -> None:
    enable(iot)
    for i in range(5):
        iot.create_thing_group(thingGroupName=f"g{i}")
    seen: list[list[str]] = []
    token: str | None = None
    while True:
        extra = {} if token is None else {"nextToken": token}
        page = iot.search_index(
            indexName="AWS_ThingGroups", queryString="thingGroupName:g*", maxResults=2, **extra
        )
        assert page["things"] == []
        seen.append([group["thingGroupName"] for group in page["thingGroups"]])
        token = page.get("nextToken")
        if token is None:
            break
    assert seen == [["g0", "g1"], ["g2", "g3"], ["g4"]]


def test_indexing_over_the_local_endpoint() -> None:
    with IotProvisioningServer(port=0) as server:
        client = endpoint_client(server.url)
        code, status, response = failure(client.search_index, queryString="*")
        assert (code, status, response["Error"]["Message"]) == ("ResourceNotFoundException", 404, NOT_ENABLED)
        enable(client)
        assert client.describe_index(indexName="AWS_Things")["indexStatus"] == "ACTIVE"
        client.create_thing(thingName="remote", attributePayload={"attributes": {"floor": "3"}})
        assert names(client.search_index(queryString="attributes.floor>2")) == ["remote"]
        code, status, _ = failure(client.search_index, queryString="thingName:(open")
        assert (code, status) == ("InvalidQueryException", 400)
