"""What botocore's rest-json parser returns for a successful response, built straight from the result.

Parsing the JSON bytes the mock just wrote would cost more than the rest of a call (botocore converts each
timestamp through ``dateutil``); this module produces the identical structure directly: members in model
order under their member names, ``None`` and undeclared members absent, timestamps as botocore's default
timestamp parser makes them (``datetime.fromtimestamp(epoch, tzlocal())`` of the millisecond-rounded epoch
that goes on the wire), blobs as bytes, and ``ResponseMetadata`` as the parser fills it. The test suite
checks it against botocore's own parser on every response it sees.
"""

from __future__ import annotations

import datetime
from functools import lru_cache
from typing import Any

from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from dateutil.tz import tzlocal

from mock_iotprov.protocol.serialize import wire_epoch


@lru_cache(maxsize=8192)
def _local_timestamp(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, tzlocal())


def _convert(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        return _structure(shape, value)
    if kind == "list":
        assert isinstance(shape, ListShape)
        member = shape.member
        return [_convert(member, item) for item in value]
    if kind == "map":
        assert isinstance(shape, MapShape)
        item_shape = shape.value
        return {key: _convert(item_shape, item) for key, item in value.items()}
    if kind == "timestamp" and isinstance(value, datetime.datetime):
        return _local_timestamp(wire_epoch(value))
    if kind == "blob" and isinstance(value, bytearray):
        return bytes(value)
    return value


def _structure(shape: StructureShape, value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, member in shape.members.items():
        item = value.get(name)
        if item is not None and member.serialization.get("location") is None:
            out[name] = _convert(member, item)
    return out


def parsed_success(
    operation: OperationModel, result: dict[str, Any], status: int, headers: dict[str, str]
) -> dict[str, Any]:
    """The dict botocore's parser would return for this successful response."""
    parsed: dict[str, Any] = {"ResponseMetadata": {}}
    request_id = headers.get("x-amzn-requestid")
    if request_id is not None:
        parsed["ResponseMetadata"]["RequestId"] = request_id
    shape = operation.output_shape
    if shape is not None and result:
        assert isinstance(shape, StructureShape)
        for name, member in shape.members.items():
            item = result.get(name)
            if item is None:
                continue
            location = member.serialization.get("location")
            if location is None:
                parsed[name] = _convert(member, item)
            elif location == "statusCode":
                parsed[name] = status
            elif location == "header":
                parsed[name] = headers[member.serialization.get("name", name).lower()]
    parsed["ResponseMetadata"]["HTTPStatusCode"] = status
    parsed["ResponseMetadata"]["HTTPHeaders"] = dict(headers)
    return parsed
