"""Things and their principals (certificates), through real boto3 clients."""

from __future__ import annotations

from typing import Any

import pytest

from mock_iotprov import MockIotProvisioning
from tests.helpers import error_of, iot_client

ACCOUNT = "123456789012"
REGION = "us-east-1"
COGNITO_ID = "us-east-1:12345678-1234-1234-1234-123456789012"
MISSING_CERT = f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/" + "ab" * 32
EXCLUSIVE = "EXCLUSIVE_THING"
NON_EXCLUSIVE = "NON_EXCLUSIVE_THING"


@pytest.fixture
def iot(iot_provisioning: MockIotProvisioning) -> Any:
    return iot_client()


def new_certificate(iot: Any) -> str:
    arn: str = iot.create_keys_and_certificate(setAsActive=True)["certificateArn"]
    return arn


def new_things(iot: Any, *names: str) -> None:
    for name in names:
        iot.create_thing(thingName=name)


def principals_v2(iot: Any, thing: str, **kwargs: Any) -> list[tuple[str, str]]:
    objects = iot.list_thing_principals_v2(thingName=thing, **kwargs)["thingPrincipalObjects"]
    return [(o["principal"], o["thingPrincipalType"]) for o in objects]


def things_v2(iot: Any, principal: str, **kwargs: Any) -> list[tuple[str, str]]:
    objects = iot.list_principal_things_v2(principal=principal, **kwargs)["principalThingObjects"]
    return [(o["thingName"], o["thingPrincipalType"]) for o in objects]


def test_attach_list_and_detach(iot: Any) -> None:
    cert = new_certificate(iot)
    new_things(iot, "t1")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    assert iot.list_thing_principals(thingName="t1")["principals"] == [cert]
    assert principals_v2(iot, "t1") == [(cert, NON_EXCLUSIVE)]
    assert iot.list_principal_things(principal=cert)["things"] == ["t1"]
    assert things_v2(iot, cert) == [("t1", NON_EXCLUSIVE)]
    iot.detach_thing_principal(thingName="t1", principal=cert)
    assert iot.list_thing_principals(thingName="t1")["principals"] == []
    assert iot.list_principal_things(principal=cert)["things"] == []


def test_attach_is_idempotent(iot: Any) -> None:
    cert = new_certificate(iot)
    new_things(iot, "t1")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    iot.attach_thing_principal(thingName="t1", principal=cert)
    assert iot.list_thing_principals(thingName="t1")["principals"] == [cert]


def test_non_exclusive_certificate_can_serve_many_things(iot: Any) -> None:
    cert = new_certificate(iot)
    new_things(iot, "t1", "t2", "t3")
    for thing in ["t1", "t2", "t3"]:
        iot.attach_thing_principal(thingName=thing, principal=cert, thingPrincipalType=NON_EXCLUSIVE)
    assert iot.list_principal_things(principal=cert)["things"] == ["t1", "t2", "t3"]


def test_exclusive_certificate_cannot_be_attached_elsewhere(iot: Any) -> None:
    cert = new_certificate(iot)
    new_things(iot, "t1", "t2")
    iot.attach_thing_principal(thingName="t1", principal=cert, thingPrincipalType=EXCLUSIVE)
    for principal_type in (EXCLUSIVE, NON_EXCLUSIVE):
        with pytest.raises(Exception) as excinfo:
            iot.attach_thing_principal(thingName="t2", principal=cert, thingPrincipalType=principal_type)
        assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    with pytest.raises(Exception) as excinfo:
        iot.attach_thing_principal(thingName="t2", principal=cert)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert things_v2(iot, cert) == [("t1", EXCLUSIVE)]
    assert iot.list_thing_principals(thingName="t2")["principals"] == []
    iot.detach_thing_principal(thingName="t1", principal=cert)
    iot.attach_thing_principal(thingName="t2", principal=cert)
    assert things_v2(iot, cert) == [("t2", NON_EXCLUSIVE)]


def test_shared_certificate_cannot_become_exclusive(iot: Any) -> None:
    cert = new_certificate(iot)
    new_things(iot, "t1", "t2")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    with pytest.raises(Exception) as excinfo:
        iot.attach_thing_principal(thingName="t2", principal=cert, thingPrincipalType=EXCLUSIVE)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert things_v2(iot, cert) == [("t1", NON_EXCLUSIVE)]


def test_reattaching_to_the_same_thing_sets_the_type(iot: Any) -> None:
    cert = new_certificate(iot)
    new_things(iot, "t1")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    iot.attach_thing_principal(thingName="t1", principal=cert, thingPrincipalType=EXCLUSIVE)
    assert principals_v2(iot, "t1") == [(cert, EXCLUSIVE)]
    iot.attach_thing_principal(thingName="t1", principal=cert, thingPrincipalType=NON_EXCLUSIVE)
    assert principals_v2(iot, "t1") == [(cert, NON_EXCLUSIVE)]


def test_v2_lists_filter_by_type(iot: Any) -> None:
    exclusive_cert = new_certificate(iot)
    shared_cert = new_certificate(iot)
    new_things(iot, "t1", "t2")
    iot.attach_thing_principal(thingName="t1", principal=exclusive_cert, thingPrincipalType=EXCLUSIVE)
    iot.attach_thing_principal(thingName="t1", principal=shared_cert)
    iot.attach_thing_principal(thingName="t2", principal=shared_cert)
    assert principals_v2(iot, "t1", thingPrincipalType=EXCLUSIVE) == [(exclusive_cert, EXCLUSIVE)]
    assert principals_v2(iot, "t1", thingPrincipalType=NON_EXCLUSIVE) == [(shared_cert, NON_EXCLUSIVE)]
    assert principals_v2(iot, "t1") == [(exclusive_cert, EXCLUSIVE), (shared_cert, NON_EXCLUSIVE)]
    assert things_v2(iot, shared_cert, thingPrincipalType=EXCLUSIVE) == []
    assert things_v2(iot, shared_cert, thingPrincipalType=NON_EXCLUSIVE) == [
        ("t1", NON_EXCLUSIVE),
        ("t2", NON_EXCLUSIVE),
    ]


def test_missing_thing_is_not_found(iot: Any) -> None:
    cert = new_certificate(iot)
    for call in (
        lambda: iot.attach_thing_principal(thingName="nope", principal=cert),
        lambda: iot.detach_thing_principal(thingName="nope", principal=cert),
        lambda: iot.list_thing_principals(thingName="nope"),
        lambda: iot.list_thing_principals_v2(thingName="nope"),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert iot.list_principal_things(principal=cert)["things"] == []


def test_missing_certificate_is_not_found(iot: Any) -> None:
    new_things(iot, "t1")
    for call in (
        lambda: iot.attach_thing_principal(thingName="t1", principal=MISSING_CERT),
        lambda: iot.list_principal_things(principal=MISSING_CERT),
        lambda: iot.list_principal_things_v2(principal=MISSING_CERT),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("ResourceNotFoundException", 404)
    assert iot.list_thing_principals(thingName="t1")["principals"] == []


@pytest.mark.parametrize(
    "principal", ["not-a-principal", "arn:aws:iot:us-east-1:123456789012:thinggroup/some-group"]
)
def test_only_principals_attach_to_things(iot: Any, principal: str) -> None:
    new_things(iot, "t1")
    with pytest.raises(Exception) as excinfo:
        iot.attach_thing_principal(thingName="t1", principal=principal)
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)
    assert iot.list_thing_principals(thingName="t1")["principals"] == []


def test_malformed_principal_in_lists_and_detach_is_invalid(iot: Any) -> None:
    new_things(iot, "t1")
    for call in (
        lambda: iot.list_principal_things(principal="not-a-principal"),
        lambda: iot.list_principal_things_v2(principal="not-a-principal"),
        lambda: iot.detach_thing_principal(thingName="t1", principal="not-a-principal"),
    ):
        with pytest.raises(Exception) as excinfo:
            call()
        assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)


def test_things_of_a_cognito_identity_are_listed_empty(iot: Any) -> None:
    assert iot.list_principal_things(principal=COGNITO_ID)["things"] == []
    assert things_v2(iot, COGNITO_ID) == []


def test_a_cognito_identity_attaches_to_a_thing(iot: Any) -> None:
    # The API reference allows a certificate ARN or an Amazon Cognito identity id as the principal.
    new_things(iot, "t1")
    iot.attach_thing_principal(thingName="t1", principal=COGNITO_ID)
    assert iot.list_thing_principals(thingName="t1")["principals"] == [COGNITO_ID]
    assert iot.list_principal_things(principal=COGNITO_ID)["things"] == ["t1"]
    iot.detach_thing_principal(thingName="t1", principal=COGNITO_ID)
    assert iot.list_thing_principals(thingName="t1")["principals"] == []


def test_detach_of_an_unattached_principal_changes_nothing(iot: Any) -> None:
    cert = new_certificate(iot)
    other = new_certificate(iot)
    new_things(iot, "t1")
    iot.attach_thing_principal(thingName="t1", principal=cert)
    iot.detach_thing_principal(thingName="t1", principal=other)
    iot.detach_thing_principal(thingName="t1", principal=MISSING_CERT)
    assert iot.list_thing_principals(thingName="t1")["principals"] == [cert]


def test_thing_principal_lists_page(iot: Any) -> None:
    certs = [new_certificate(iot) for _ in range(5)]
    new_things(iot, "t1")
    for cert in certs:
        iot.attach_thing_principal(thingName="t1", principal=cert)
    pages = list(
        iot.get_paginator("list_thing_principals").paginate(thingName="t1", PaginationConfig={"PageSize": 2})
    )
    assert [page["principals"] for page in pages] == [certs[:2], certs[2:4], certs[4:]]
    assert "nextToken" not in pages[-1]
    pages = list(
        iot.get_paginator("list_thing_principals_v2").paginate(
            thingName="t1", thingPrincipalType=NON_EXCLUSIVE, PaginationConfig={"PageSize": 3}
        )
    )
    assert [[o["principal"] for o in page["thingPrincipalObjects"]] for page in pages] == [
        certs[:3],
        certs[3:],
    ]


def test_principal_thing_lists_page(iot: Any) -> None:
    cert = new_certificate(iot)
    names = [f"thing-{i}" for i in range(7)]
    new_things(iot, *names)
    for name in names:
        iot.attach_thing_principal(thingName=name, principal=cert)
    pages = list(
        iot.get_paginator("list_principal_things").paginate(principal=cert, PaginationConfig={"PageSize": 3})
    )
    assert [page["things"] for page in pages] == [names[:3], names[3:6], names[6:]]
    pages = list(
        iot.get_paginator("list_principal_things_v2").paginate(
            principal=cert, PaginationConfig={"PageSize": 4}
        )
    )
    assert [[o["thingName"] for o in page["principalThingObjects"]] for page in pages] == [
        names[:4],
        names[4:],
    ]


def test_foreign_token_is_an_invalid_request(iot: Any) -> None:
    new_things(iot, "t1")
    with pytest.raises(Exception) as excinfo:
        iot.list_thing_principals(thingName="t1", nextToken="not a token!")
    assert error_of(excinfo)[:2] == ("InvalidRequestException", 400)


def test_upper_case_certificate_arn_names_the_same_principal(iot_provisioning: Any) -> None:
    client = iot_client()
    certificate = client.create_keys_and_certificate(setAsActive=True)
    client.create_thing(thingName="upper")
    prefix, _, identifier = certificate["certificateArn"].rpartition("/")
    client.attach_thing_principal(thingName="upper", principal=f"{prefix}/{identifier.upper()}")
    assert client.list_thing_principals(thingName="upper")["principals"] == [certificate["certificateArn"]]
