"""The local endpoint's dashboard: server-rendered HTML pages under ``/_mock_iotprov/``.

- ``GET /_mock_iotprov/``: for every account and region, the first page of each list the inspection
  module offers (things, certificates, policies, provisioning templates, live claims), the connected MQTT
  clients (when a broker runs) and the last 100 requests (operation, status, duration).
- ``GET /_mock_iotprov/view/{account}/{region}/{kind}?page=N``: one page of a list.
- ``GET /_mock_iotprov/view/{account}/{region}/{kind}/{id}``: an object's detail view; a private key the
  mock kept is shown only with ``?private_key=show``.

Everything shown is escaped (names and attributes are user input), and every page is sent with a
Content-Security-Policy that allows no script at all, ``no-store`` caching and no referrer. The pages are
reachable under the same Host and Origin rules as the other admin paths (the server checks them first).
"""

from __future__ import annotations

import collections
import datetime
import html
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote

from mock_iotprov import inspection
from mock_iotprov.inspection import Cell, Detail, Table
from mock_iotprov.protocol.messages import WireResponse
from mock_iotprov.state import Backend

PAGE_SIZE = 25
RECENT_REQUESTS = 100
VIEW = "view/"

_HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; "
    "frame-ancestors 'none'",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;"
    "margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}pre{margin:0;white-space:pre-wrap;word-break:break-all}h2{margin-top:1.5em}"
    ".pager{margin:-1em 0 1.5em}"
)


@dataclass(frozen=True)
class RequestRecord:
    """One answered AWS request, as the dashboard lists it."""

    at: datetime.datetime
    method: str
    path: str
    operation: str
    status: int
    duration_ms: float


class RequestLog:
    """The last :data:`RECENT_REQUESTS` requests (thread-safe)."""

    def __init__(self) -> None:
        self._records: collections.deque[RequestRecord] = collections.deque(maxlen=RECENT_REQUESTS)
        self._lock = threading.Lock()

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)

    def newest_first(self) -> list[RequestRecord]:
        with self._lock:
            return list(reversed(self._records))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _href(*parts: str) -> str:
    return "/_mock_iotprov/" + VIEW + "/".join(quote(part, safe="") for part in parts)


def _cell(cell: Cell, account: str, region: str) -> str:
    text = f"<pre>{_e(cell.text)}</pre>" if "\n" in cell.text else _e(cell.text)
    if cell.link is None:
        return text
    return f'<a href="{_e(_href(account, region, *cell.link))}">{text}</a>'


def _table(table: Table, account: str, region: str, page: int) -> str:
    head = "".join(f"<th>{_e(column)}</th>" for column in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(cell, account, region)}</td>" for cell in row) + "</tr>"
        for row in table.rows
    )
    if not table.rows:
        body = f'<tr><td colspan="{len(table.columns)}">none</td></tr>'
    parts = [
        f'<h3 id="{_e(table.kind)}">{_e(table.title)} ({table.total})</h3>',
        f'<table class="{_e(table.kind)}"><tr>{head}</tr>{body}</table>',
    ]
    pages = max(1, -(-table.total // PAGE_SIZE))
    if pages > 1:
        links = []
        if page > 1:
            links.append(f'<a href="{_e(_href(account, region, table.kind))}?page={page - 1}">previous</a>')
        links.append(f"page {page} of {pages}")
        if page < pages:
            links.append(f'<a href="{_e(_href(account, region, table.kind))}?page={page + 1}">next</a>')
        parts.append(f'<p class="pager">{" · ".join(links)}</p>')
    return "".join(parts)


def _document(title: str, body: str) -> WireResponse:
    text = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<p><a href="/_mock_iotprov/">mock_iotprov dashboard</a></p><h1>{_e(title)}</h1>{body}</body></html>'
    )
    return WireResponse(200, dict(_HEADERS), text.encode("utf-8"))


def _not_found(what: str) -> WireResponse:
    response = _document("Not found", f"<p>{_e(what)} does not exist.</p>")
    return WireResponse(404, response.headers, response.body)


def _requests_table(records: Sequence[RequestRecord]) -> str:
    rows = "".join(
        f"<tr><td>{_e(record.at.strftime('%H:%M:%S'))}</td><td>{_e(record.operation)}</td>"
        f"<td>{_e(record.method)} {_e(record.path)}</td><td>{record.status}</td>"
        f"<td>{record.duration_ms:.1f} ms</td></tr>"
        for record in records
    )
    rows = rows or '<tr><td colspan="5">none yet</td></tr>'
    return (
        f'<h2>Last {RECENT_REQUESTS} requests</h2><table class="requests"><tr><th>time (UTC)</th>'
        f"<th>operation</th><th>request</th><th>status</th><th>duration</th></tr>{rows}</table>"
    )


def index(backend: Backend, log: RequestLog, connected_clients: Sequence[str] | None) -> WireResponse:
    """The dashboard's front page."""
    sections = []
    for store in sorted(backend.stores(), key=lambda item: (item.account_id, item.region)):
        tables = "".join(
            _table(inspection.table(store, kind, limit=PAGE_SIZE), store.account_id, store.region, 1)
            for kind in inspection.KINDS
        )
        sections.append(f"<h2>Account {_e(store.account_id)}, region {_e(store.region)}</h2>{tables}")
    if not sections:
        sections.append("<p>No state yet: nothing has been created in any account or region.</p>")
    if connected_clients is not None:
        items = "".join(f"<li>{_e(client)}</li>" for client in connected_clients) or "<li>none</li>"
        title = f"Connected MQTT clients ({len(connected_clients)})"
        sections.append(f'<h2>{title}</h2><ul class="mqtt">{items}</ul>')
    sections.append(_requests_table(log.newest_first()))
    return _document("mock_iotprov", "".join(sections))


def view(backend: Backend, path: str, query: dict[str, list[str]]) -> WireResponse:
    """A list page or a detail page (``path`` is what follows ``view/``)."""
    parts = [unquote(part) for part in path.split("/")]
    if len(parts) not in (3, 4):
        return _not_found(f"The page {path}")
    account, region, kind = parts[:3]
    store = backend.current_store(account, region)
    if store is None or kind not in inspection.KINDS:
        return _not_found(f"The list {kind} of {account}/{region}")
    if len(parts) == 3:
        page_text = (query.get("page") or ["1"])[0]
        page = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 7 and int(page_text) > 0 else 1
        table = inspection.table(store, kind, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        return _document(f"{table.title} in {account}/{region}", _table(table, account, region, page))
    show_key = (query.get("private_key") or [""])[0] == "show"
    found = inspection.detail(store, kind, parts[3], with_private_key=show_key)
    if found is None:
        return _not_found(f"{kind[:-1].capitalize()} {parts[3]} in {account}/{region}")
    return _document(found.title, _detail(found, account, region, kind, parts[3]))


def _detail(found: Detail, account: str, region: str, kind: str, identifier: str) -> str:
    rows = "".join(
        f"<tr><th>{_e(name)}</th><td>{_cell(cell, account, region)}</td></tr>" for name, cell in found.fields
    )
    body = f'<table class="detail">{rows}</table>'
    if found.private_key_pem is not None:
        body += f'<h2>Private key</h2><pre class="private-key">{_e(found.private_key_pem)}</pre>'
    elif found.private_key_available:
        link = _e(_href(account, region, kind, identifier)) + "?private_key=show"
        body += f'<p><a href="{link}">Show the private key the mock issued</a></p>'
    return body
