"""The HTTP admin resource ``/_mock_iotprov/faults`` of the local endpoint: fault injection over HTTP.

- ``POST`` with a JSON object of the fields of :func:`mock_iotprov.faults.new_fault` (``operation``
  required; ``code`` default ``"ThrottlingException"``, ``null`` for a delay only; ``times`` default 1,
  ``null`` until cleared; ``probability`` default 1; ``latency_s`` default 0; ``seed`` default ``null``)
  arms a fault and answers 201 with it. A body that is not such an object, an unknown field, or a value
  the Python API refuses is answered 400 with ``{"message": ...}`` saying why.
- ``GET`` lists the faults armed since the last clear with their ``fired`` counts: ``{"faults": [...]}``.
- ``DELETE`` disarms them all: ``{"status": "ok", "cleared": n}``.
"""

from __future__ import annotations

import json
from typing import Any

from mock_iotprov.faults import FaultTable, new_fault
from mock_iotprov.protocol.messages import WireResponse

FIELDS = ("operation", "code", "times", "probability", "latency_s", "seed")
METHODS = "GET, POST, DELETE"


def _json(status: int, document: dict[str, Any]) -> WireResponse:
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return WireResponse(status, {"content-type": "application/json"}, body)


def _arm(faults: FaultTable, body: bytes) -> WireResponse:
    try:
        document = json.loads(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return _json(400, {"message": f"The body must be a JSON object: {exc}"})
    if not isinstance(document, dict):
        return _json(400, {"message": "The body must be a JSON object with at least 'operation'"})
    unknown = sorted(set(document) - set(FIELDS))
    if unknown:
        return _json(400, {"message": f"Unknown fields {unknown}; allowed: {list(FIELDS)}"})
    if "operation" not in document:
        return _json(400, {"message": "'operation' is required (an iot operation name or '*')"})
    try:
        fault = faults.add(new_fault(**document))
    except (TypeError, ValueError) as exc:
        return _json(400, {"message": str(exc)})
    return _json(201, fault.to_dict())


def fault_admin(faults: FaultTable, method: str, body: bytes) -> WireResponse:
    """The answer to ``method`` on ``/_mock_iotprov/faults``."""
    if method == "POST":
        return _arm(faults, body)
    if method in ("GET", "HEAD"):
        return _json(200, {"faults": [fault.to_dict() for fault in faults.faults()]})
    if method == "DELETE":
        return _json(200, {"status": "ok", "cleared": faults.clear()})
    response = _json(405, {"message": f"/_mock_iotprov/faults accepts {METHODS} only"})
    response.headers["allow"] = METHODS
    return response
