"""Where a request was sent: the region, from the endpoint host or the SigV4 credential scope."""

from __future__ import annotations

import re

_IOT_HOST = re.compile(r"^iot(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?(?::\d+)?$", re.IGNORECASE)
_CREDENTIAL = "Credential="
MAX_CREDENTIAL_CHARS = 512
"""Longest SigV4 credential (``<access key id>/<yyyymmdd>/<region>/iot/aws4_request``) looked at: access
key ids are at most 128 characters, the rest well under 100."""
IOT_URL = re.compile(r"^https?://iot(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?(?::\d+)?(?:/.*)?$")


def region_from_host(host: str) -> str | None:
    """``us-west-2`` for ``iot.us-west-2.amazonaws.com``; None for any other host."""
    found = _IOT_HOST.match(host)
    return found.group(1).lower() if found else None


def region_from_authorization(header: str | None) -> str | None:
    """The region of a SigV4 ``Authorization`` header's credential scope, if any.

    The scope is the value of the first ``Credential=`` parameter, up to the next comma or white space:
    ``<access key id>/<yyyymmdd>/<region>/iot/aws4_request``. The region slot is returned as sent (the
    caller validates its form). Linear in the header's length and regular-expression free: one ``find``
    for the parameter, then work on at most :data:`MAX_CREDENTIAL_CHARS` characters, so a header of
    repeated ``Credential=`` costs no more than any other header of its size.
    """
    if not header:
        return None
    start = header.find(_CREDENTIAL)
    if start < 0:
        return None
    value = header[start + len(_CREDENTIAL) : start + len(_CREDENTIAL) + MAX_CREDENTIAL_CHARS + 1]
    value = value.split(",", 1)[0].split(None, 1)[0] if value.strip() else ""
    if len(value) > MAX_CREDENTIAL_CHARS:
        return None
    parts = value.split("/")
    if len(parts) != 5 or parts[3:] != ["iot", "aws4_request"]:
        return None
    access_key, date, region = parts[:3]
    if not access_key or len(date) != 8 or not date.isdigit() or not region:
        return None
    return region
