"""aiobotocore clients are answered by the same backend, and fail closed at their HTTP layer too."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiobotocore.session
import pytest
from aiobotocore.awsrequest import AioAWSResponse
from aiobotocore.parsers import create_parser
from botocore.config import Config

from mock_iotprov import mock_iot_provisioning

NO_RETRY = Config(retries={"max_attempts": 0})


def _run(scenario: Callable[[Any], Awaitable[Any]], **client_args: Any) -> Any:
    """Run ``scenario(client)`` with an aiobotocore ``iot`` client made under ``async with``."""

    async def main() -> Any:
        session = aiobotocore.session.get_session()
        async with session.create_client(
            "iot",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="y",
            config=NO_RETRY,
            **client_args,
        ) as client:
            return await scenario(client)

    return asyncio.run(main())


def test_list_things_error_and_paginator() -> None:
    async def scenario(client: Any) -> Any:
        for name in ("a", "b", "c"):
            await client.create_thing(thingName=name)
        listed = [t["thingName"] for t in (await client.list_things())["things"]]
        with pytest.raises(client.exceptions.ResourceNotFoundException) as missing:
            await client.describe_thing(thingName="missing")
        pages = [
            [t["thingName"] for t in page["things"]]
            async for page in client.get_paginator("list_things").paginate(PaginationConfig={"PageSize": 2})
        ]
        return listed, missing.value.response, pages

    with mock_iot_provisioning():
        listed, error, pages = _run(scenario)
    assert listed == ["a", "b", "c"]
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "missing" in error["Error"]["Message"]
    assert pages == [["a", "b"], ["c"]]


def test_responses_are_what_aiobotocore_would_parse() -> None:
    seen: list[tuple[Any, Any, Any]] = []

    def record(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        seen.append((http_response, parsed, model))

    async def scenario(client: Any) -> None:
        client.meta.events.register("after-call.iot", record)
        await client.create_thing(thingName="a", attributePayload={"attributes": {"k": "v"}})
        await client.describe_thing(thingName="a")
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            await client.describe_thing(thingName="missing")

    async def reparse() -> list[tuple[Any, Any]]:
        parser = create_parser("rest-json")
        pairs = []
        for http, parsed, model in seen:
            assert isinstance(http, AioAWSResponse)
            body = await http.content  # aiobotocore's responses hand out their content as an awaitable
            shape = model.output_shape if http.status_code < 300 else None
            reference = await parser.parse(
                {"status_code": http.status_code, "headers": http.headers, "body": body}, shape
            )
            pairs.append((parsed, reference))
        return pairs

    with mock_iot_provisioning():
        _run(scenario)
    pairs = asyncio.run(reparse())
    assert len(pairs) == 3
    for parsed, reference in pairs[:2]:
        reference["ResponseMetadata"]["RetryAttempts"] = 0
        assert parsed == reference
    error, reference = pairs[2]
    assert error["Error"] == reference["Error"]


def test_aiobotocore_request_reaching_its_http_layer_is_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    import aiohttp

    sent: list[str] = []
    real_request = aiohttp.ClientSession._request

    async def request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(url))
        return await real_request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", request)

    async def scenario(client: Any) -> Any:
        client.meta.events.unregister("before-call.iot", unique_id="mock_iotprov.before_call")
        with pytest.raises(client.exceptions.ClientError) as excinfo:
            await client.list_things()
        return excinfo.value.response

    with mock_iot_provisioning():
        error = _run(scenario)
    assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("NotImplemented", 501)
    assert "ListThings" in error["Error"]["Message"]
    assert sent == []
