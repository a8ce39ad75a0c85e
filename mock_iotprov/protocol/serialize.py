"""Turn a handler's result, or a service error, into the bytes the service would send.

The inverse of botocore's rest-json parser: output members bound to headers become headers, the rest form
the JSON body under each member's serialization name; timestamps are epoch seconds (millisecond precision,
as IoT sends them), blobs base64. Members the output shape does not declare, and ``None`` values, are not
sent. Errors carry the code in ``x-amzn-ErrorType``, the model's HTTP status for that error shape, and a
JSON body with ``message`` plus the shape's extra members (``resourceId``, ``resourceArn`` ...).
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import json
import random
import time
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from mock_iotprov.protocol.errors import ServiceError
from mock_iotprov.protocol.messages import WireResponse
from mock_iotprov.protocol.model import iot_service_model


def wire_epoch(value: datetime.datetime) -> float:
    """Epoch seconds as the service sends timestamps: millisecond precision; naive means UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return round(value.timestamp(), 3)


def _to_json(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return _structure_to_json(shape, value)
    if kind == "list":
        assert isinstance(shape, ListShape)
        return [_to_json(shape.member, item) for item in value]
    if kind == "map":
        assert isinstance(shape, MapShape)
        return {key: _to_json(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return wire_epoch(value) if isinstance(value, datetime.datetime) else value
    if kind == "blob" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return value


def _structure_to_json(shape: StructureShape, value: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    members = shape.members
    for name, item in value.items():
        member = members.get(name)
        if member is None or item is None:
            continue
        body[member.serialization.get("name", name)] = _to_json(member, item)
    return body


def _header_text(shape: Shape, value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return email.utils.format_datetime(value.astimezone(datetime.timezone.utc), usegmt=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _HttpDate:
    """The HTTP ``date`` header text, formatted once per second."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._text = email.utils.formatdate(second, usegmt=True)
            self._second = second
        return self._text


_http_date = _HttpDate()


def new_request_id() -> str:
    """A random request id in the UUID form AWS uses (not secret, so ``random`` is enough)."""
    h = "%032x" % random.getrandbits(128)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{h[16:20]}-{h[20:]}"


def _base_headers(request_id: str | None) -> dict[str, str]:
    return {
        "date": _http_date.now(),
        "content-type": "application/json",
        "x-amzn-requestid": request_id or new_request_id(),
    }


def serialize_output(
    operation: OperationModel, result: dict[str, Any], request_id: str | None = None
) -> WireResponse:
    """The success response for ``result`` under the operation's output shape."""
    headers = _base_headers(request_id)
    status = int(operation.http.get("responseCode", 200))
    shape = operation.output_shape
    body: dict[str, Any] = {}
    if shape is not None and result:
        body_members: dict[str, Any] = {}
        for name, item in result.items():
            member = shape.members.get(name)
            if member is None or item is None:
                continue
            location = member.serialization.get("location")
            if location == "header":
                headers[member.serialization.get("name", name).lower()] = _header_text(member, item)
            elif location == "statusCode":
                status = int(item)
            else:
                body_members[name] = item
        body = _structure_to_json(shape, body_members)
    payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
    headers["content-length"] = str(len(payload))
    return WireResponse(status, headers, payload)


def error_status(error: ServiceError) -> int:
    """The HTTP status of an error: the model's for its shape, else the error's own, else 400."""
    if error.status is not None:
        return error.status
    try:
        shape = iot_service_model().shape_for(error.code)
    except Exception:  # noqa: BLE001 - unknown shape names are allowed (e.g. NotImplemented)
        return 400
    return int(shape.metadata.get("error", {}).get("httpStatusCode", 400))


def serialize_error(error: ServiceError, request_id: str | None = None) -> WireResponse:
    """The error response for ``error``, as the service formats rest-json errors."""
    headers = _base_headers(request_id)
    headers["x-amzn-errortype"] = error.code
    body: dict[str, Any] = {"message": error.message}
    for name, value in error.fields.items():
        if value is not None:
            body[name] = value
    payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
    headers["content-length"] = str(len(payload))
    return WireResponse(error_status(error), headers, payload)
