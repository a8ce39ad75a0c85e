"""Request and reply payloads of the fleet-provisioning topics: JSON or CBOR, by the topic's last level.

A request must be a map (JSON object / CBOR map); an empty payload counts as an empty map (the SDKs send
``{}`` for CreateKeysAndCertificate, other clients send nothing). Replies use the request's format.
Anything that does not decode is an ``InvalidPayload`` rejection, never an exception.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import cbor2

from mock_iotprov.device.errors import invalid_payload

JSON = "json"
CBOR = "cbor"
FORMATS = (JSON, CBOR)


def decode_request(payload_format: str, payload: bytes) -> dict[str, Any]:
    """The request map in ``payload``; raises ``DeviceRequestRejected`` (``InvalidPayload``)."""
    if not payload.strip():
        return {}
    try:
        if payload_format == CBOR:
            document = cbor2.loads(payload)
        else:
            document = json.loads(payload.decode("utf-8"))
    except Exception:  # cbor2 and json raise several kinds on hostile input; all mean the same here
        raise invalid_payload(f"The payload is not valid {payload_format.upper()}.") from None
    if not isinstance(document, dict):
        raise invalid_payload(f"The payload must be a {payload_format.upper()} object.")
    return document


def encode_reply(payload_format: str, document: Mapping[str, Any]) -> bytes:
    """A reply document in the request's format."""
    if payload_format == CBOR:
        return bytes(cbor2.dumps(dict(document)))
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


def optional_string(request: Mapping[str, Any], name: str) -> str | None:
    """A string field of the request, ``None`` when absent; ``InvalidPayload`` when of another type."""
    value = request.get(name)
    if value is None or isinstance(value, str):
        return value
    raise invalid_payload(f"{name} must be a string.")


def string_map(request: Mapping[str, Any], name: str) -> dict[str, str]:
    """A ``{string: string}`` field of the request (empty when absent); ``InvalidPayload`` otherwise."""
    value = request.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    ):
        raise invalid_payload(f"{name} must be a map of strings to strings.")
    return dict(value)
