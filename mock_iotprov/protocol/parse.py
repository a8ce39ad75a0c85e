"""Turn a wire request into an operation's input parameters, by the input shape's member locations.

This is the inverse of botocore's rest-json serializer: uri labels, query-string parameters and headers
are strings converted to the member's type; body members come from the JSON object, keyed by each member's
serialization name, with timestamps as epoch seconds and blobs as base64. A body that is not a JSON object
is rejected with ``InvalidRequestException``, as the service does. Type mismatches inside the body are left
for the validator to report with the member's path.
"""

from __future__ import annotations

import base64
import binascii
import datetime
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.utils import parse_timestamp

from mock_iotprov.bounded_json import JsonTooDeep, loads_bounded
from mock_iotprov.protocol.errors import invalid_request
from mock_iotprov.protocol.messages import WireRequest


def _scalar_from_text(shape: Shape, text: str, where: str) -> Any:
    kind = shape.type_name
    if kind in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise invalid_request(f"{where} must be an integer, got '{text}'") from None
    if kind in ("double", "float"):
        try:
            return float(text)
        except ValueError:
            raise invalid_request(f"{where} must be a number, got '{text}'") from None
    if kind == "boolean":
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise invalid_request(f"{where} must be true or false, got '{text}'")
        return lowered == "true"
    if kind == "timestamp":
        try:
            return parse_timestamp(text)
        except (ValueError, TypeError, OverflowError):
            raise invalid_request(f"{where} is not a valid timestamp: '{text}'") from None
    return text


def _timestamp_from_json(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.datetime.fromtimestamp(value, tz=datetime.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise invalid_request(f"Timestamp out of range: {value}") from None
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except (ValueError, TypeError, OverflowError):
            raise invalid_request(f"Invalid timestamp: '{value}'") from None
    return value


def _from_json(shape: Shape, value: Any) -> Any:
    """Convert one JSON value to the member's Python type where the shape says so."""
    kind = shape.type_name
    if value is None:
        return None
    if kind == "structure" and isinstance(value, dict):
        assert isinstance(shape, StructureShape)
        return _structure_from_json(shape, value)
    if kind == "list" and isinstance(value, list):
        assert isinstance(shape, ListShape)
        return [_from_json(shape.member, item) for item in value]
    if kind == "map" and isinstance(value, dict):
        assert isinstance(shape, MapShape)
        return {key: _from_json(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return _timestamp_from_json(value)
    if kind == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise invalid_request("Blob member is not valid base64") from None
    return value


def _structure_from_json(shape: StructureShape, body: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, member in shape.members.items():
        key = member.serialization.get("name", name)
        if key in body and body[key] is not None:
            params[name] = _from_json(member, body[key])
    return params


MAX_BODY_NESTING = 32
"""Deepest nesting of arrays and objects accepted in a request body.

The deepest input shape of the ``iot`` model nests 10 levels (ReplaceTopicRule); JSON inside string members
(templates, policies) does not count. A deeper body cannot match any input shape, so it is refused before it
is parsed, as an ``InvalidRequestException`` (HTTP 400), like any other body that is not the input's JSON.
"""


def decode_json_body(body: bytes) -> dict[str, Any]:
    """The JSON object in a request body (an empty body is an empty object)."""
    if not body or not body.strip():
        return {}
    try:
        document = loads_bounded(body.decode("utf-8"), MAX_BODY_NESTING)
    except JsonTooDeep:
        raise invalid_request(
            f"The request body nests more than {MAX_BODY_NESTING} levels deep"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise invalid_request("The request body must be a JSON object")
    return document


def parse_input(
    operation: OperationModel, labels: dict[str, str], request: WireRequest
) -> dict[str, Any]:
    """The operation's input parameters, keyed by member name, from a routed wire request."""
    shape = operation.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    body_members: dict[str, Shape] = {}
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", name)
        if location == "uri":
            if wire_name in labels:
                params[name] = _scalar_from_text(member, labels[wire_name], name)
        elif location == "querystring" and isinstance(member, MapShape):
            claimed = {
                m.serialization.get("name", n)
                for n, m in shape.members.items()
                if m.serialization.get("location") == "querystring" and n != name
            }
            params[name] = {k: v[-1] for k, v in request.query.items() if k not in claimed}
        elif location == "querystring":
            _take_query(params, name, member, wire_name, request)
        elif location == "header":
            text = request.header(wire_name)
            if text is not None:
                params[name] = _scalar_from_text(member, text, name)
        else:
            body_members[name] = member
    payload_name = shape.serialization.get("payload")
    if payload_name is not None:
        member = shape.members[payload_name]
        if member.type_name == "structure":
            params[payload_name] = _from_json(member, decode_json_body(request.body))
        elif request.body:
            params[payload_name] = request.body
        return params
    if body_members:
        body = decode_json_body(request.body)
        for name, member in body_members.items():
            key = member.serialization.get("name", name)
            if key in body and body[key] is not None:
                params[name] = _from_json(member, body[key])
    return params


def _take_query(
    params: dict[str, Any], name: str, member: Shape, wire_name: str, request: WireRequest
) -> None:
    values = request.query.get(wire_name)
    if not values:
        return
    if isinstance(member, ListShape):
        params[name] = [_scalar_from_text(member.member, v, name) for v in values]
    else:
        params[name] = _scalar_from_text(member, values[-1], name)
