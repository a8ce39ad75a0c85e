"""The service model is loaded once, however many threads first ask for it; the endpoint loads it at start."""

from __future__ import annotations

import threading
import time
from typing import Any

import botocore.session
import pytest

from mock_iotprov.doors.server import IotProvisioningServer
from mock_iotprov.protocol import model


@pytest.fixture
def counted_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Forget the loaded model; count (and slow down, to widen any race) every load from now on."""
    loads: list[int] = []
    real_get_session = botocore.session.get_session
    monkeypatch.setattr(model, "_loaded", {})

    class SlowSession:
        def __init__(self) -> None:
            self._session = real_get_session()

        def get_service_model(self, name: str) -> Any:
            loads.append(1)
            time.sleep(0.2)  # every concurrent first caller arrives while this load is in progress
            return self._session.get_service_model(name)

    monkeypatch.setattr(model.botocore.session, "get_session", SlowSession)
    return loads


def test_concurrent_first_loads_produce_one_model_object(counted_loads: list[int]) -> None:
    barrier = threading.Barrier(16)
    results: list[Any] = []
    lock = threading.Lock()

    def first_use() -> None:
        barrier.wait()
        found = model.iot_service_model()
        with lock:
            results.append(found)

    threads = [threading.Thread(target=first_use) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 16
    assert len({id(found) for found in results}) == 1
    assert len(counted_loads) == 1


def test_the_endpoint_has_its_model_before_the_first_request(
    counted_loads: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model, "router", model.router.__wrapped__)  # no router cached from earlier tests
    monkeypatch.setattr("mock_iotprov.doors.server.router", model.router)
    with IotProvisioningServer(port=0):
        assert len(counted_loads) == 1
        assert "iot" in model._loaded
