"""The fleet-indexing query language (pure): a table of queries against a small fleet, and refusals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest

from mock_iotprov.indexing.query import InvalidQueryError, glob_match, parse_query


class Doc:
    def __init__(self, **fields: Sequence[str]) -> None:
        self.fields = {key.replace("__", "."): list(value) for key, value in fields.items()}

    def values(self, field: str) -> Sequence[str]:
        return self.fields.get(field, [])

    def all_values(self) -> Iterable[str]:
        for values in self.fields.values():
            yield from values


FLEET = {
    "tv-living": Doc(
        thingName=["tv-living"],
        thingTypeName=["television"],
        thingGroupNames=["home", "screens"],
        attributes__model=["plasma"],
        attributes__watts=["75"],
        attributes__serial=["abcd"],
        connectivity__connected=["true"],
    ),
    "tv-kitchen": Doc(
        thingName=["tv-kitchen"],
        thingTypeName=["television"],
        thingGroupNames=["home"],
        attributes__model=["lcd"],
        attributes__watts=["120"],
        attributes__serial=["abcf"],
        connectivity__connected=["false"],
    ),
    "Sensor-1": Doc(
        thingName=["Sensor-1"],
        attributes__watts=["5.5"],
        attributes__serial=["abcz"],
        attributes__note=["in it"],
        connectivity__connected=["false"],
    ),
    "lamp": Doc(thingName=["lamp"], attributes__model=["legacy"], attributes__watts=["80"]),
}

CASES = [
    ("*", {"tv-living", "tv-kitchen", "Sensor-1", "lamp"}),
    ("thingName:lamp", {"lamp"}),
    ("thingName:LAMP", {"lamp"}),  # values match case-insensitively
    ("thingName:tv*", {"tv-living", "tv-kitchen"}),
    ("thingName:lam?", {"lamp"}),
    ("thingName:la?", set()),
    ("thingName:*kitchen", {"tv-kitchen"}),
    ("thingName:sensor-1", {"Sensor-1"}),
    ("thingTypeName:television", {"tv-living", "tv-kitchen"}),
    ("thingTypeName:*", {"tv-living", "tv-kitchen"}),
    ("thingGroupNames:screens", {"tv-living"}),
    ("thingGroupNames:home", {"tv-living", "tv-kitchen"}),
    ("attributes.watts:75", {"tv-living"}),
    ("attributes.watts:[75 TO 80]", {"tv-living", "lamp"}),
    ("attributes.watts:{75 TO 80]", {"lamp"}),
    ("attributes.watts:[75 TO 80}", {"tv-living"}),
    ("attributes.watts:[* TO 10]", {"Sensor-1"}),
    ("attributes.watts:[100 TO *]", {"tv-kitchen"}),
    ("attributes.watts>80", {"tv-kitchen"}),
    ("attributes.watts >= 80", {"tv-kitchen", "lamp"}),
    ("attributes.watts<10", {"Sensor-1"}),
    ("attributes.watts<=75", {"tv-living", "Sensor-1"}),
    ('attributes.serial:["abcd" TO "abcf"]', {"tv-living", "tv-kitchen"}),
    ("attributes.model:p*a", {"tv-living"}),
    ('attributes.note:"in it"', {"Sensor-1"}),
    ('attributes.note:"in*"', set()),  # a wildcard inside quotes is literal
    ("attributes.model:legacy", {"lamp"}),
    ("NOT attributes.model:legacy", {"tv-living", "tv-kitchen", "Sensor-1"}),
    ("-attributes.model:legacy", {"tv-living", "tv-kitchen", "Sensor-1"}),
    ("thingName:(tv* AND -plasma)", {"tv-living", "tv-kitchen"}),
    ("thingTypeName:television NOT attributes.model:plasma", {"tv-kitchen"}),
    ("thingTypeName:television attributes.model:plasma", {"tv-living"}),  # default operator AND
    ("attributes.model:plasma OR attributes.model:legacy", {"tv-living", "lamp"}),
    ("attributes.model:(plasma OR lcd)", {"tv-living", "tv-kitchen"}),
    ("(attributes.model:lcd OR thingName:lamp) AND attributes.watts>100", {"tv-kitchen"}),
    ("attributes.model:plasma OR attributes.model:lcd AND attributes.watts>100", {"tv-living", "tv-kitchen"}),
    ("connectivity.connected:true", {"tv-living"}),
    ("connectivity.connected:false", {"tv-kitchen", "Sensor-1"}),
    ("connectivity.connected:*", {"tv-living", "tv-kitchen", "Sensor-1"}),
    ("plasma", {"tv-living"}),  # a bare term matches any field
    ("home -screens", {"tv-kitchen"}),
    ("-(thingGroupNames:home OR thingName:lamp)", {"Sensor-1"}),
    ("shadow.reported.battery:5", set()),  # a field nothing has matches nothing
    ("thingName:tv\\-living", {"tv-living"}),
    # the guide's combined examples: AND then a juxtaposed NOT; a range, a bare group and a NOT
    ("attributes.model:lcd AND attributes.watts>100 NOT attributes.watts>200", {"tv-kitchen"}),
    ("attributes.watts:{70 TO 100} (plasma OR legacy) NOT attributes.model:legacy", {"tv-living"}),
    ("attributes.watts : [75 TO 80]", {"tv-living", "lamp"}),  # spaces around the colon
    ("attributes.watts > 100", {"tv-kitchen"}),
    ("attributes.watts:5.5", {"Sensor-1"}),
    ("thingGroupNames:*", {"tv-living", "tv-kitchen"}),
    ("thingTypeName:television AND NOT thingGroupNames:screens", {"tv-kitchen"}),
    ("NOT NOT thingName:lamp", {"lamp"}),
    ("thingName:lamp OR (thingTypeName:television AND connectivity.connected:true)", {"lamp", "tv-living"}),
]


@pytest.mark.parametrize(("query", "expected"), CASES)
def test_query_table(query: str, expected: set[str]) -> None:
    predicate = parse_query(query)
    assert {name for name, doc in FLEET.items() if predicate(doc)} == expected


REFUSED = [
    "",
    "   ",
    "thingName:",
    "thingName:(tv*",
    "thingName:tv*)",
    "attributes.watts:[1 TO",
    "attributes.watts:[1 5]",
    "attributes.watts:[1* TO 5]",
    "attributes.watts>5*",
    'thingName:"open',
    "thingName:a@b",
    "thingName:a;b",
    "thingName:a,b",
    "thingName:*a OR thingGroupNames:*b",
    "thingName:*a AND " + "attributes.x:y " * 7,
    " OR ".join(f"thingName:t{i}" for i in range(13)),
    "AND",
    "thingName:a OR",
    "(" * 40 + "a" + ")" * 40,
    "NOT " * 40 + "a",
    "a" * 3000,
    "thingName:x\\",
]


@pytest.mark.parametrize("query", REFUSED)
def test_refused_queries(query: str) -> None:
    with pytest.raises(InvalidQueryError):
        parse_query(query)


def test_twelve_terms_are_allowed() -> None:
    predicate = parse_query(" OR ".join(f"thingName:t{i}" for i in range(12)))
    assert predicate(Doc(thingName=["t11"]))


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("a?c", "abc", True),
        ("a?c", "ac", False),
        ("*", "", True),
        ("a\\*", "a*", True),
        ("a\\*", "ab", False),
        ("**a", "ba", True),
        ("a*", "a", True),
        ("*a", "", False),
        ("ab*ba", "aba", False),  # the head and the tail may not overlap
        ("a*b?d*e", "axxbcdyye", True),
        ("a*b?d*e", "axxbcyye", False),
        ("?", "", False),
        ("a.c", "abc", False),  # no regular expressions
    ],
)
def test_glob_match(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_hostile_wildcards_cost_is_bounded() -> None:
    """A pattern built to make backtracking matchers explode is answered by the O(n*m) matcher."""
    pattern = "a*" * 200 + "b"
    value = "a" * 800
    assert glob_match(pattern, value) is False  # a backtracking matcher would not finish
    assert glob_match(pattern, value + "b") is True
