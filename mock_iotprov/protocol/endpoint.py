"""Where a request was sent: the region, from the endpoint host or the SigV4 credential scope."""

from __future__ import annotations

import re

_IOT_HOST = re.compile(r"^iot(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$", re.IGNORECASE)
_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/iot/aws4_request")
IOT_URL = re.compile(r"^https?://iot(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(?::\d+)?(?:/.*)?$")


def region_from_host(host: str) -> str | None:
    """``us-west-2`` for ``iot.us-west-2.amazonaws.com``; None for any other host."""
    found = _IOT_HOST.match(host)
    return found.group(1).lower() if found else None


def region_from_authorization(header: str | None) -> str | None:
    """The region of a SigV4 ``Authorization`` header's credential scope, if any."""
    if not header:
        return None
    found = _CREDENTIAL_SCOPE.search(header)
    return found.group(1) if found else None
