"""Hostile input on the reserved topics costs a reply, never an exception: random payloads (JSON, CBOR and
bytes) and random documents on every fleet-provisioning request topic, through ``BrokerHooks.reserved``."""

from __future__ import annotations

import json
from typing import Any

import cbor2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_iotprov import mock_iot_provisioning
from tests.device_support import DeviceClient, claim_client, create_template
from tests.helpers import iot_client

TOPICS = [
    "$aws/certificates/create/{fmt}",
    "$aws/certificates/create-from-csr/{fmt}",
    "$aws/provisioning-templates/fleet/provision/{fmt}",
    "$aws/provisioning-templates/other/provision/{fmt}",
]
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40))
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=20), inner, max_size=4),
    max_leaves=12,
)
fields = st.sampled_from(["certificateOwnershipToken", "parameters", "certificateSigningRequest", "x"])
requests = st.dictionaries(fields, documents, max_size=3)


def _decoded(fmt: str, payload: bytes) -> Any:
    return cbor2.loads(payload) if fmt == "cbor" else json.loads(payload)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    topic=st.sampled_from(TOPICS),
    fmt=st.sampled_from(["json", "cbor"]),
    raw=st.one_of(st.binary(max_size=200), requests),
)
def test_reserved_topics_never_raise(topic: str, fmt: str, raw: Any) -> None:
    with mock_iot_provisioning() as mock:
        iot = iot_client()
        create_template(iot)
        device: DeviceClient = claim_client(mock, iot)
        request_topic = topic.format(fmt=fmt)
        if isinstance(raw, bytes):
            payload = raw
        else:
            payload = cbor2.dumps(raw) if fmt == "cbor" else json.dumps(raw).encode()
        replies = device.hooks.reserved(device.principal, device.client_id, request_topic, payload)
        assert replies is not None and len(replies) == 1
        [reply] = replies
        outcome = reply.topic[len(request_topic) + 1 :]
        document = _decoded(fmt, reply.payload)
        if outcome == "rejected":
            assert set(document) == {"statusCode", "errorCode", "errorMessage"}
            assert document["statusCode"] in (400, 403, 404) and document["errorCode"] != "InternalFailure"
        else:
            assert outcome == "accepted" and "create/" in request_topic
