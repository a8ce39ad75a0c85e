"""Where a request was sent: the host as the HTTP layer will connect to it, the region it names, and
whether it is the AWS IoT control plane.

Hosts are read from URLs exactly as urllib3 parses them (``urllib3.util.parse_url``), which is what
botocore and ``requests`` connect to: ``http://evil.example\\@127.0.0.1:9`` goes to ``evil.example``,
whatever ``urllib.parse`` thinks. The control plane answers on ``iot.<region>.<suffix>`` and
``iot-fips.<region>.<suffix>``, where the suffix is a partition's DNS suffix (``amazonaws.com``,
``amazonaws.com.cn``, ...) or its dual-stack suffix (``api.aws``, ``api.amazonwebservices.com.cn``, ...);
a trailing dot names the same host. Data-plane hosts (``<prefix>-ats.iot.<region>.amazonaws.com``) are not
the control plane.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

# Every partition's DNS suffix and dual-stack DNS suffix, as botocore's partitions.json lists them.
_SUFFIXES = (
    "amazonaws.com",
    "api.aws",
    "amazonaws.com.cn",
    "api.amazonwebservices.com.cn",
    "amazonaws.eu",
    "api.amazonwebservices.eu",
    "c2s.ic.gov",
    "api.aws.ic.gov",
    "sc2s.sgov.gov",
    "api.aws.scloud",
    "cloud.adc-e.uk",
    "api.cloud-aws.adc-e.uk",
    "csp.hci.ic.gov",
    "api.aws.hci.ic.gov",
)
_SUFFIX_PATTERN = "|".join(re.escape(suffix) for suffix in sorted(_SUFFIXES, key=len, reverse=True))
_IOT_HOST = re.compile(
    rf"^iot(?:-fips)?\.([a-z0-9-]{{1,50}})\.(?:{_SUFFIX_PATTERN})\.?(?::\d{{1,5}})?$", re.IGNORECASE
)
_CREDENTIAL = "Credential="
MAX_CREDENTIAL_CHARS = 512
"""Longest SigV4 credential (``<access key id>/<yyyymmdd>/<region>/iot/aws4_request``) looked at: access
key ids are at most 128 characters, the rest well under 100."""


def region_from_host(host: str) -> str | None:
    """``us-west-2`` for ``iot.us-west-2.amazonaws.com`` (or any other control-plane spelling, with or
    without a port); None for any other host."""
    found = _IOT_HOST.match(host)
    return found.group(1).lower() if found else None


def is_iot_host(host: str | None) -> bool:
    """Whether ``host`` is an AWS IoT control-plane host (any partition, FIPS, dual-stack, trailing dot)."""
    return host is not None and _IOT_HOST.match(host) is not None


@lru_cache(maxsize=1024)
def _host_of_authority(scheme_and_authority: str) -> str | None:
    try:
        host = parse_url(scheme_and_authority).host
    except LocationParseError:
        return None
    if host is None:
        return None
    return host.lower()


def url_host(url: str) -> str | None:
    """The host the HTTP layer connects to for ``url``, lower-cased (IPv6 without brackets); None when
    urllib3 cannot parse it."""
    scheme, separator, rest = url.partition("://")
    # The authority ends before the first "/", so the part before it decides the host (and caches well).
    prefix = scheme + separator + rest.partition("/")[0] if separator else url
    host = _host_of_authority(prefix)
    if host is not None and host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` (as :func:`url_host` returns it) is this machine: ``localhost`` or a loopback IP."""
    if host is None:
        return False
    if host.rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_loopback
    except ValueError:
        return False


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


def signed_for_iot(header: str | None) -> bool:
    """Whether a SigV4 ``Authorization`` header is scoped to the ``iot`` service (the control plane: no
    other AWS service signs with that name)."""
    return region_from_authorization(header) is not None
