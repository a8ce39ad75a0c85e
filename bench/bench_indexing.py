"""Fleet-indexing search cost: SearchIndex over 100,000 things (``--smoke``: 1,000).

SearchIndex evaluates a query's predicate over the registry in name order, from the page token on, and
stops when the page is full (``mock_iotprov/indexing/search.py``). So:

- a query that matches many things costs about one page of ``list_things`` per page of results divided by
  the query's selectivity (here: half the things match, baseline = ``list_things`` page of 100 on the same
  registry);
- a query that matches few things scans the whole registry once per call (O(n); baseline = the same query
  on a registry of 10 things, so the ratio is the price of the scan).

Things are stored through ``registry.things.create_thing_record`` (names ``thing-000000`` ..., attributes
``parity`` = even/odd and ``serial`` = the index), as ``bench_scale`` does; both registries live in one
mock, in two regions, with ``AWS_Things`` enabled through boto3.
"""

from __future__ import annotations

from typing import Any

import boto3
from common import Row, Settings, median_seconds

LARGE = 100_000
SMOKE_LARGE = 1_000
SMALL = 10
PAGE = 100


def _fill(mock: Any, region: str, size: int) -> Any:
    from mock_iotprov.registry.things import create_thing_record
    from mock_iotprov.state import RequestContext

    ctx = RequestContext(mock.backend.store(mock.account_id, region), mock.options)
    with ctx.store.lock:
        for index in range(size):
            attributes = {"parity": "even" if index % 2 == 0 else "odd", "serial": str(index)}
            create_thing_record(ctx, f"thing-{index:06d}", attributes, None)
    client = boto3.client("iot", region_name=region)
    client.update_indexing_configuration(thingIndexingConfiguration={"thingIndexingMode": "REGISTRY"})
    return client


def run(settings: Settings) -> list[Row]:
    from mock_iotprov import mock_iot_provisioning

    size = SMOKE_LARGE if settings.smoke else LARGE
    page_runs, scan_runs = settings.count(300), settings.count(500) // 50 + 3
    middle = f"thing-{size // 2:06d}"
    small_middle = f"thing-{SMALL // 2:06d}"
    rows: list[Row] = []
    with mock_iot_provisioning() as mock:
        large = _fill(mock, "us-east-1", size)
        small = _fill(mock, "us-west-2", SMALL)
        label = f"{size:,} things"

        def page_query() -> object:
            return large.search_index(queryString="attributes.parity:even", maxResults=PAGE)

        def page_baseline() -> object:
            return large.list_things(maxResults=PAGE)

        answered = len(large.search_index(queryString="attributes.parity:even", maxResults=PAGE)["things"])
        if answered != PAGE:
            raise RuntimeError(f"search_index answered {answered} things, not {PAGE}")
        rows.append(
            Row(
                f"search_index page of 100, half the things match, {label}",
                median_seconds(page_query, page_runs, warmup=3),
                "list_things page of 100",
                median_seconds(page_baseline, page_runs, warmup=3),
                "≤ 3×",
            )
        )
        scans = [
            ("exact thingName (1 match)", "thingName:{middle}"),
            ("numeric range (first page)", "attributes.serial:[{low} TO {high}]"),
            ("no match (full scan)", "NOT attributes.parity:*"),
        ]
        for title, template in scans:
            low, high = size // 2 - 1000, size // 2 + 1000
            big_query = template.format(middle=middle, low=low, high=high)
            small_query = template.format(middle=small_middle, low=0, high=SMALL)
            rows.append(
                Row(
                    f"search_index {title}, {label}",
                    median_seconds(lambda q=big_query: large.search_index(queryString=q), scan_runs, 1),
                    f"same on {SMALL} things",
                    median_seconds(lambda q=small_query: small.search_index(queryString=q), scan_runs, 1),
                    "O(n) scan",
                )
            )
    return rows
