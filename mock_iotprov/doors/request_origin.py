"""Which requests the local endpoint answers: its own host names only, and never a page of another site.

The endpoint checks no signature and hands out private keys, so a web page the user happens to visit must
not be able to use it:

* **DNS rebinding.** A page on ``http://evil.example:5000`` whose name is re-pointed at ``127.0.0.1`` reaches
  the endpoint with ``Host: evil.example:5000``. The ``Host`` header must name the endpoint itself: an IP
  literal that is loopback or the bound address (any IP literal when bound to ``0.0.0.0`` or ``::``, as no
  rebinding is possible without a name), ``localhost`` or a ``*.localhost`` name, the bound host name, or a
  name listed in ``MOCK_IOTPROV_ALLOWED_HOSTS`` (comma separated; ``*`` allows any, e.g. behind a proxy). A
  request without ``Host`` (HTTP/1.0 tools) is answered: browsers always send one.
* **Cross-site requests.** A browser sends ``Origin`` with cross-origin requests and every POST. An ``Origin``
  whose host fails the same test, or ``Origin: null`` (sandboxed frames, ``file:`` pages), is refused, and so
  is ``Sec-Fetch-Site: cross-site``. The AWS CLI and SDKs send neither header.

The refusal is an HTTP 403 ``AccessDeniedException`` in the service's error form (chosen: AWS has no such
front-end check to copy). Pure: headers in, a reason out.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["ALLOWED_HOSTS_VARIABLE", "RequestOriginPolicy", "host_name_of", "is_loopback_name"]

ALLOWED_HOSTS_VARIABLE = "MOCK_IOTPROV_ALLOWED_HOSTS"


def host_name_of(host_header: str) -> str:
    """The host name of a ``Host`` header value (no port, no IPv6 brackets, lower case, no final dot)."""
    text = host_header.strip()
    if text.startswith("["):
        name = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        name = text.partition(":")[0]
    else:
        name = text
    return name.lower().rstrip(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        return None


def is_loopback_name(name: str) -> bool:
    """Whether a host name or address can only mean this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    name = host_name_of(name) if name.startswith("[") else name.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    address = _ip(name)
    return address is not None and address.is_loopback


class RequestOriginPolicy:
    """The ``Host`` / ``Origin`` rule of an endpoint bound to ``bound_host``."""

    def __init__(self, bound_host: str, extra_hosts: Iterable[str] | None = None) -> None:
        self._bound_name = host_name_of(f"[{bound_host}]" if ":" in bound_host else bound_host)
        self._bound_ip = _ip(self._bound_name)
        if extra_hosts is None:
            extra_hosts = os.environ.get(ALLOWED_HOSTS_VARIABLE, "").split(",")
        self._extra = {host_name_of(name) for name in extra_hosts if name.strip()}

    def allows_host(self, name: str) -> bool:
        """Whether ``name`` (already without port) is a name of this endpoint."""
        if "*" in self._extra or name in self._extra or name == self._bound_name:
            return True
        if is_loopback_name(name):
            return True
        address = _ip(name)
        if address is None or self._bound_ip is None:
            return False
        return address == self._bound_ip or self._bound_ip.is_unspecified

    def refusal(self, host: str | None, origin: str | None, fetch_site: str | None) -> str | None:
        """Why a request with these headers is refused, or None when it is answered."""
        if host is not None and not self.allows_host(host_name_of(host)):
            return (
                f"Host {host.strip()!r} is not an address of this endpoint; requests through another name "
                f"are refused (DNS rebinding). Add the name to {ALLOWED_HOSTS_VARIABLE} to allow it."
            )
        if origin is not None:
            parsed = urlsplit(origin.strip())
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                return f"Requests from the origin {origin.strip()!r} are refused."
            if not self.allows_host(parsed.hostname.lower().rstrip(".")):
                return f"Requests from pages of another site ({origin.strip()}) are refused."
        if fetch_site is not None and fetch_site.strip().lower() == "cross-site":
            return "Cross-site requests from a browser are refused."
        return None
