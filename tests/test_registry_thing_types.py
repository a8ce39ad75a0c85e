"""Thing types, through real boto3 clients: create, describe, list, update, deprecate, delete, tags."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.registry import thing_types
from mock_iotprov.state import RequestContext
from tests.helpers import failure

REGION = "us-east-1"
ACCOUNT = "123456789012"


def type_arn(name: str) -> str:
    return f"arn:aws:iot:{REGION}:{ACCOUNT}:thingtype/{name}"


def test_create_and_describe_thing_type(iot: Any) -> None:
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
    created = iot.create_thing_type(
        thingTypeName="Lamp",
        thingTypeProperties={"thingTypeDescription": "A lamp", "searchableAttributes": ["watts", "color"]},
    )
    assert created["thingTypeName"] == "Lamp"
    assert created["thingTypeArn"] == type_arn("Lamp")
    described = iot.describe_thing_type(thingTypeName="Lamp")
    assert described["thingTypeId"] == created["thingTypeId"]
    assert described["thingTypeArn"] == type_arn("Lamp")
    assert described["thingTypeProperties"] == {
        "thingTypeDescription": "A lamp",
        "searchableAttributes": ["watts", "color"],
    }
    metadata = described["thingTypeMetadata"]
    assert metadata["deprecated"] is False
    assert "deprecationDate" not in metadata
    assert metadata["creationDate"] >= before


def test_create_duplicate_thing_type_already_exists(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    code, status, response = failure(iot.create_thing_type, thingTypeName="Lamp")
    assert (code, status) == ("ResourceAlreadyExistsException", 409)
    assert response["resourceId"] == "Lamp"
    assert response["resourceArn"] == type_arn("Lamp")


def test_at_most_three_searchable_attributes(iot: Any) -> None:
    code, status, _ = failure(
        iot.create_thing_type,
        thingTypeName="Lamp",
        thingTypeProperties={"searchableAttributes": ["a", "b", "c", "d"]},
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert failure(iot.describe_thing_type, thingTypeName="Lamp")[0] == "ResourceNotFoundException"


def test_describe_missing_thing_type_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.describe_thing_type, thingTypeName="Nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_tags_on_create_and_through_tag_resource(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp", tags=[{"Key": "team", "Value": "home"}])
    iot.tag_resource(resourceArn=type_arn("Lamp"), tags=[{"Key": "env", "Value": "test"}])
    tags = iot.list_tags_for_resource(resourceArn=type_arn("Lamp"))["tags"]
    assert tags == [{"Key": "env", "Value": "test"}, {"Key": "team", "Value": "home"}]
    code, _, _ = failure(iot.tag_resource, resourceArn=type_arn("Nope"), tags=[{"Key": "k", "Value": "v"}])
    assert code == "ResourceNotFoundException"


def test_list_thing_types_ordered_and_paginated(iot: Any) -> None:
    names = [f"type-{i:02d}" for i in range(11)]
    for name in reversed(names):
        iot.create_thing_type(thingTypeName=name)
    pages = list(iot.get_paginator("list_thing_types").paginate(PaginationConfig={"PageSize": 4}))
    assert [len(p["thingTypes"]) for p in pages] == [4, 4, 3]
    listed = [t for p in pages for t in p["thingTypes"]]
    assert [t["thingTypeName"] for t in listed] == names
    assert listed[0]["thingTypeArn"] == type_arn("type-00")
    assert listed[0]["thingTypeMetadata"]["deprecated"] is False


def test_list_thing_types_by_name(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing_type(thingTypeName="LampPost")
    listed = iot.list_thing_types(thingTypeName="Lamp")["thingTypes"]
    assert [t["thingTypeName"] for t in listed] == ["Lamp"]
    assert iot.list_thing_types(thingTypeName="Nope")["thingTypes"] == []


def test_update_thing_type_replaces_given_properties(iot: Any) -> None:
    iot.create_thing_type(
        thingTypeName="Lamp",
        thingTypeProperties={"thingTypeDescription": "old", "searchableAttributes": ["a"]},
    )
    iot.update_thing_type(thingTypeName="Lamp", thingTypeProperties={"thingTypeDescription": "new"})
    properties = iot.describe_thing_type(thingTypeName="Lamp")["thingTypeProperties"]
    assert properties == {"thingTypeDescription": "new", "searchableAttributes": ["a"]}
    iot.update_thing_type(thingTypeName="Lamp", thingTypeProperties={"searchableAttributes": ["b", "c"]})
    properties = iot.describe_thing_type(thingTypeName="Lamp")["thingTypeProperties"]
    assert properties["searchableAttributes"] == ["b", "c"]


def test_update_thing_type_errors(iot: Any) -> None:
    code, status, _ = failure(iot.update_thing_type, thingTypeName="Nope", thingTypeProperties={})
    assert (code, status) == ("ResourceNotFoundException", 404)
    iot.create_thing_type(thingTypeName="Lamp", thingTypeProperties={"searchableAttributes": ["a"]})
    code, status, _ = failure(
        iot.update_thing_type,
        thingTypeName="Lamp",
        thingTypeProperties={"thingTypeDescription": "x", "searchableAttributes": ["1", "2", "3", "4"]},
    )
    assert (code, status) == ("InvalidRequestException", 400)
    assert iot.describe_thing_type(thingTypeName="Lamp")["thingTypeProperties"] == {
        "searchableAttributes": ["a"]
    }


def test_deprecate_and_undo(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.deprecate_thing_type(thingTypeName="Lamp")
    metadata = iot.describe_thing_type(thingTypeName="Lamp")["thingTypeMetadata"]
    assert metadata["deprecated"] is True
    assert metadata["deprecationDate"] >= metadata["creationDate"]
    code, _, _ = failure(iot.create_thing, thingName="t", thingTypeName="Lamp")
    assert code == "InvalidRequestException"
    iot.deprecate_thing_type(thingTypeName="Lamp", undoDeprecate=True)
    metadata = iot.describe_thing_type(thingTypeName="Lamp")["thingTypeMetadata"]
    assert metadata["deprecated"] is False
    assert "deprecationDate" not in metadata
    iot.create_thing(thingName="t", thingTypeName="Lamp")


def test_deprecated_type_cannot_be_given_by_update_thing(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing(thingName="t")
    iot.deprecate_thing_type(thingTypeName="Lamp")
    code, status, _ = failure(iot.update_thing, thingName="t", thingTypeName="Lamp")
    assert (code, status) == ("InvalidRequestException", 400)
    assert "thingTypeName" not in iot.describe_thing(thingName="t")


def test_deprecate_missing_type_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.deprecate_thing_type, thingTypeName="Nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_only_a_deprecated_type_can_be_deleted(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    code, status, _ = failure(iot.delete_thing_type, thingTypeName="Lamp")
    assert (code, status) == ("InvalidRequestException", 400)
    iot.describe_thing_type(thingTypeName="Lamp")
    iot.deprecate_thing_type(thingTypeName="Lamp")
    iot.delete_thing_type(thingTypeName="Lamp")
    assert failure(iot.describe_thing_type, thingTypeName="Lamp")[0] == "ResourceNotFoundException"
    assert iot.list_thing_types()["thingTypes"] == []


def test_a_type_in_use_cannot_be_deleted(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    iot.create_thing(thingName="t", thingTypeName="Lamp")
    iot.deprecate_thing_type(thingTypeName="Lamp")
    code, status, _ = failure(iot.delete_thing_type, thingTypeName="Lamp")
    assert (code, status) == ("InvalidRequestException", 400)
    iot.update_thing(thingName="t", removeThingType=True)
    iot.delete_thing_type(thingTypeName="Lamp")


def test_delete_missing_type_is_not_found(iot: Any) -> None:
    code, status, _ = failure(iot.delete_thing_type, thingTypeName="Nope")
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_delete_drops_tags(iot: Any) -> None:
    iot.create_thing_type(thingTypeName="Lamp", tags=[{"Key": "k", "Value": "v"}])
    iot.deprecate_thing_type(thingTypeName="Lamp")
    iot.delete_thing_type(thingTypeName="Lamp")
    iot.create_thing_type(thingTypeName="Lamp")
    assert iot.list_tags_for_resource(resourceArn=type_arn("Lamp"))["tags"] == []


def test_lookup_functions(iot: Any, iot_provisioning: MockIotProvisioning) -> None:
    iot.create_thing_type(thingTypeName="Lamp")
    ctx = RequestContext(
        iot_provisioning.backend.store(iot_provisioning.account_id, REGION), iot_provisioning.options
    )
    assert thing_types.thing_type_exists(ctx, "Lamp")
    assert not thing_types.thing_type_exists(ctx, "Nope")
    found = thing_types.find_thing_type(ctx, "Lamp")
    assert (found.name, found.deprecated, found.arn) == ("Lamp", False, type_arn("Lamp"))
    assert thing_types.require_usable_thing_type(ctx, "Lamp") is found
    iot.deprecate_thing_type(thingTypeName="Lamp")
    assert found.deprecated
    with pytest.raises(ServiceError) as caught:
        thing_types.require_usable_thing_type(ctx, "Lamp")
    assert caught.value.code == "InvalidRequestException"
    with pytest.raises(ServiceError) as caught:
        thing_types.find_thing_type(ctx, "Nope")
    assert caught.value.code == "ResourceNotFoundException"
