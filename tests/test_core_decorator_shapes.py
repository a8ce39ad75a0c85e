"""Every shape a test can take runs inside the mock: generators, async generators, static and class
methods, inherited tests; shapes that cannot be wrapped are refused with ``TypeError``."""

from __future__ import annotations

import asyncio
import functools
import unittest
from collections.abc import AsyncIterator, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError

from mock_iotprov import mock_iot_provisioning

_client = boto3.client(
    "iot",
    region_name="us-east-1",
    aws_access_key_id="x",
    aws_secret_access_key="y",
    config=Config(retries={"max_attempts": 0}),
)


def _things() -> list[str] | None:
    """The things a mock sees, or None when no mock answered (the request went for the network)."""
    try:
        return [t["thingName"] for t in _client.list_things()["things"]]
    except EndpointConnectionError:
        return None


def test_generator_body_runs_inside_the_mock_until_closed() -> None:
    @mock_iot_provisioning
    def steps() -> Iterator[list[str] | None]:
        _client.create_thing(thingName="g")
        received = yield _things()
        yield [*(_things() or []), received]

    generator = steps()
    assert _things() is None  # nothing runs before the first step
    assert next(generator) == ["g"]
    assert generator.send("sent") == ["g", "sent"]
    generator.close()
    assert _things() is None


def test_generator_exhausted_stops_its_mock_and_returns_its_value() -> None:
    @mock_iot_provisioning
    def steps() -> Iterator[int]:
        _client.create_thing(thingName="once")
        yield 1
        return len(_things() or [])  # type: ignore[return-value]

    generator = steps()
    assert next(generator) == 1
    with pytest.raises(StopIteration) as stopped:
        next(generator)
    assert stopped.value.value == 1
    assert _things() is None


def test_async_generator_body_runs_inside_the_mock() -> None:
    @mock_iot_provisioning
    async def steps() -> AsyncIterator[Any]:
        _client.create_thing(thingName="ag")
        try:
            received = yield _things()
            yield received
        except KeyError as error:
            yield f"caught {error}"

    async def drive() -> list[Any]:
        seen: list[Any] = []
        generator = steps()
        seen.append(await generator.asend(None))
        seen.append(await generator.asend("sent"))
        seen.append(await generator.athrow(KeyError("k")))
        await generator.aclose()
        seen.append(_things())
        return seen

    assert asyncio.run(drive()) == [["ag"], "sent", "caught 'k'", None]


def test_class_decorator_reaches_inherited_static_and_class_methods() -> None:
    class Base:
        def test_inherited(self) -> list[str] | None:
            return _things()

    @mock_iot_provisioning
    class TestShapes(Base):
        @staticmethod
        def test_static() -> list[str] | None:
            _client.create_thing(thingName="static")
            return _things()

        @classmethod
        def test_class(cls) -> tuple[str, list[str] | None]:
            return cls.__name__, _things()

        def test_generator(self) -> Iterator[list[str] | None]:
            yield _things()

        test_data = ["not", "a", "test"]

    assert TestShapes().test_inherited() == []
    assert TestShapes.test_static() == ["static"]
    assert TestShapes().test_static() == ["static"]
    assert TestShapes.test_class() == ("TestShapes", [])
    assert list(TestShapes().test_generator()) == [[]]
    assert TestShapes.test_data == ["not", "a", "test"]
    assert Base().test_inherited() is None  # the base class is not changed


def test_subclass_options_apply_to_tests_inherited_from_a_decorated_class() -> None:
    def account() -> str:
        arn: str = _client.create_thing(thingName="t")["thingArn"]
        return arn.split(":")[4]

    @mock_iot_provisioning(account_id="111111111111")
    class TestBase:
        def test_account(self) -> str:
            return account()

    @mock_iot_provisioning(account_id="222222222222")
    class TestChild(TestBase):
        pass

    assert TestBase().test_account() == "111111111111"
    assert TestChild().test_account() == "222222222222"


def test_decorating_static_and_class_method_objects_directly() -> None:
    class Holder:
        @mock_iot_provisioning
        @staticmethod
        def static() -> list[str] | None:
            return _things()

        @mock_iot_provisioning
        @classmethod
        def klass(cls) -> list[str] | None:
            return _things()

    assert Holder.static() == []
    assert Holder().klass() == []


def test_callable_test_attributes_that_cannot_be_wrapped_are_refused() -> None:
    class TestPartial:
        test_partial = functools.partial(print, "x")

    with pytest.raises(TypeError, match=r"TestPartial\.test_partial.*partial"):
        mock_iot_provisioning(TestPartial)
    with pytest.raises(TypeError, match="decorates functions and classes"):
        mock_iot_provisioning()(42)  # type: ignore[type-var]


def test_unittest_inherited_and_static_tests_run_inside_the_mock() -> None:
    results: dict[str, list[str] | None] = {}

    class Base(unittest.TestCase):
        def test_inherited(self) -> None:
            results["inherited"] = _things()

    @mock_iot_provisioning
    class Case(Base):
        @staticmethod
        def test_static() -> None:
            results["static"] = _things()

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Case)
    outcome = unittest.TestResult()
    suite.run(outcome)
    assert outcome.wasSuccessful(), outcome.errors + outcome.failures
    assert results == {"inherited": [], "static": []}
