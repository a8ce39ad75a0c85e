"""A whole pytest suite: per-test cost of the ``iot_provisioning`` fixture against botocore's ``Stubber`` and
moto's ``mock_aws``, each suite run by pytest in a fresh process.

The benchmark writes, into a temporary directory, a 100-test suite per variant (10 with ``--smoke``). Every
test makes its own client (``boto3.client("iot", region_name="us-east-1")``), makes its calls and asserts
on the answers; the variants differ only in what answers:

- ``fixture``: the ``iot_provisioning`` fixture of the installed pytest plugin (a fresh mock per test).
- ``Stubber``: ``botocore.stub.Stubber`` on the test's client, with every expected request and its response
  prepared in the test (``add_response`` with expected parameters), as a Stubber test is written.
- ``moto``: ``@mock_aws`` on the test.

The "5 calls" suites do create_thing, describe_thing, list_things, create_provisioning_template,
describe_provisioning_template. moto has no provisioning templates, so against moto the comparison is
made on "3 calls" suites doing only the three thing calls, with the fixture suite doing only those three
too (and a Stubber suite of the same three, for reference). Hence:

- fixture vs Stubber, 5 calls: the fixture's cost against a hand-written stub (goal: at most 1.3×).
- fixture vs moto, 3 calls: against moto on the calls moto has.
- fixture vs Stubber, 3 calls: the same suites as the moto row, against the stub.

Each suite is run as ``python -m pytest -q -p no:cacheprovider <dir>`` (the directory holds an empty
``pytest.ini`` and a ``conftest.py``), several times, the runs of all variants interleaved so a change of
load hits them alike, after one unmeasured run each (file cache, bytecode); 7 runs each (1 with
``--smoke``, whose figures only show that the benchmark works). Two figures per test:

- ``durations``: pytest's own per-test durations (``report.duration`` of setup + call + teardown, which
  includes the fixture's start and stop), collected at full precision by the suite's ``conftest.py`` (the
  terminal's ``--durations`` shows only 10 ms steps), median over the suite's tests. One-time costs of the
  first test (loading the ``iot`` service model, moto's first backend) do not move a median.
- ``wall − 1-test run``: (wall time of the N-test run − wall time of the same variant's 1-test run made
  right after it) / (N − 1), median over the pairs. This removes interpreter start-up, imports and plugin
  loading, and includes pytest's own per-test work (collection, reporting) that the durations leave out;
  that work is the same for every variant, so this ratio is nearer to 1 than the durations'. Start-up
  varies by tens of milliseconds from run to run, so this figure is much noisier than the durations.

Loopback only: no variant makes a network call (``AWS_EC2_METADATA_DISABLED`` and dummy credentials are
set for every run).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import Row, Settings

FULL_TESTS = 100
SMOKE_TESTS = 10
DURATIONS_ENV = "BENCH_SUITE_DURATIONS"

HEADER = '''from __future__ import annotations

import datetime

import boto3

ROLE_ARN = "arn:aws:iam::123456789012:role/Provision_role"
TEMPLATE_BODY = (
    '{"Parameters":{"ThingName":{"Type":"String"}},"Resources":{"thing":{"Type":"AWS::IoT::Thing",'
    '"Properties":{"ThingName":{"Ref":"ThingName"}}}}}'
)
THING_ID = "6febb896-d16d-4806-9ef6-68e0e19969b4"


def thing_calls(client, name):
    created = client.create_thing(thingName=name, attributePayload={"attributes": {"model": "m1"}})
    described = client.describe_thing(thingName=name)
    assert described["thingId"] == created["thingId"]
    assert described["attributes"] == {"model": "m1"}
    listed = client.list_things()
    assert [thing["thingName"] for thing in listed["things"]] == [name]


def template_calls(client):
    client.create_provisioning_template(
        templateName="fleet", templateBody=TEMPLATE_BODY, provisioningRoleArn=ROLE_ARN
    )
    template = client.describe_provisioning_template(templateName="fleet")
    assert template["templateBody"] == TEMPLATE_BODY
    assert template["provisioningRoleArn"] == ROLE_ARN


def stub_things(stubber, name):
    arn = "arn:aws:iot:us-east-1:123456789012:thing/" + name
    stubber.add_response(
        "create_thing",
        {"thingName": name, "thingArn": arn, "thingId": THING_ID},
        {"thingName": name, "attributePayload": {"attributes": {"model": "m1"}}},
    )
    stubber.add_response(
        "describe_thing",
        {"defaultClientId": name, "thingName": name, "thingId": THING_ID, "thingArn": arn,
         "attributes": {"model": "m1"}, "version": 1},
        {"thingName": name},
    )
    stubber.add_response(
        "list_things",
        {"things": [{"thingName": name, "thingArn": arn, "attributes": {"model": "m1"}, "version": 1}]},
        {},
    )


def stub_templates(stubber):
    arn = "arn:aws:iot:us-east-1:123456789012:provisioningtemplate/fleet"
    now = datetime.datetime.now(datetime.timezone.utc)
    stubber.add_response(
        "create_provisioning_template",
        {"templateArn": arn, "templateName": "fleet", "defaultVersionId": 1},
        {"templateName": "fleet", "templateBody": TEMPLATE_BODY, "provisioningRoleArn": ROLE_ARN},
    )
    stubber.add_response(
        "describe_provisioning_template",
        {"templateArn": arn, "templateName": "fleet", "creationDate": now, "lastModifiedDate": now,
         "defaultVersionId": 1, "templateBody": TEMPLATE_BODY, "enabled": False,
         "provisioningRoleArn": ROLE_ARN, "type": "FLEET_PROVISIONING"},
        {"templateName": "fleet"},
    )
'''

CONFTEST = f'''import json
import os

_durations = {{}}


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session):
    path = os.environ.get("{DURATIONS_ENV}")
    if path:
        with open(path, "w") as out:
            json.dump(_durations, out)
'''


@dataclass(frozen=True)
class Variant:
    """One way of answering the calls: the module's imports and one test's code (``{i}`` is its number)."""

    name: str
    imports: str
    test: str


def _fixture(calls: str) -> str:
    return f'''

def test_{{i:04d}}(iot_provisioning):
    client = boto3.client("iot", region_name="us-east-1")
{calls}
'''


def _stubbed(stubs: str, calls: str) -> str:
    return f'''

def test_{{i:04d}}():
    client = boto3.client("iot", region_name="us-east-1")
    with Stubber(client) as stubber:
{stubs}
{calls}
        stubber.assert_no_pending_responses()
'''


THINGS = '    thing_calls(client, "thing-{i:04d}")'
TEMPLATES = "    template_calls(client)"
STUB_THINGS = '        stub_things(stubber, "thing-{i:04d}")'
STUB_TEMPLATES = "        stub_templates(stubber)"


def _indent(code: str) -> str:
    return "\n".join("    " + line for line in code.splitlines())


VARIANTS = [
    Variant("fixture, 5 calls", "", _fixture(THINGS + "\n" + TEMPLATES)),
    Variant("Stubber, 5 calls", "from botocore.stub import Stubber\n",
            _stubbed(STUB_THINGS + "\n" + STUB_TEMPLATES, _indent(THINGS + "\n" + TEMPLATES))),
    Variant("fixture, 3 calls", "", _fixture(THINGS)),
    Variant("Stubber, 3 calls", "from botocore.stub import Stubber\n",
            _stubbed(STUB_THINGS, _indent(THINGS))),
    Variant("moto, 3 calls", "from moto import mock_aws\n", '''

@mock_aws
def test_{i:04d}():
    client = boto3.client("iot", region_name="us-east-1")
''' + THINGS + "\n"),
]

# (ours, baseline, label, goal)
COMPARISONS = [
    ("fixture, 5 calls", "Stubber, 5 calls", "things + templates (5 calls)", "≤ 1.3×"),
    ("fixture, 3 calls", "moto, 3 calls", "things only (3 calls)", ""),
    ("fixture, 3 calls", "Stubber, 3 calls", "things only (3 calls)", ""),
]


@dataclass
class SuiteRun:
    """Wall time of one pytest run and the per-test durations pytest reported."""

    wall: float
    durations: list[float]


def write_suite(directory: Path, variant: Variant, tests: int) -> None:
    """A pytest suite of ``tests`` tests of ``variant`` in ``directory``."""
    directory.mkdir(parents=True)
    (directory / "pytest.ini").write_text("[pytest]\n")
    (directory / "conftest.py").write_text(CONFTEST)
    body = HEADER.replace("import boto3\n", "import boto3\n" + variant.imports, 1)
    body += "".join(variant.test.format(i=index) for index in range(tests))
    (directory / "test_suite.py").write_text(body)


def _environment(durations_file: Path) -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTEST_ADDOPTS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_PLUGINS")
    }
    environment.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            DURATIONS_ENV: str(durations_file),
        }
    )
    return environment


def run_suite(directory: Path) -> SuiteRun:
    """Run the suite in ``directory`` once; every test must pass."""
    durations_file = directory / "durations.json"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(directory)]
    started = time.perf_counter()
    completed = subprocess.run(
        command, cwd=directory, env=_environment(durations_file), capture_output=True, text=True, timeout=600
    )
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        output = completed.stdout[:3000] + "\n...\n" + completed.stdout[-1500:] + completed.stderr[-2000:]
        raise RuntimeError(f"suite {directory.name} failed:\n{output}")
    durations = list(json.loads(durations_file.read_text()).values())
    return SuiteRun(wall, durations)


def per_test_seconds(suites: dict[str, dict[int, Path]], tests: int, repetitions: int,
                     warm: bool) -> dict[str, tuple[float, float]]:
    """(median per-test duration, wall-difference per test) of each variant, runs interleaved."""
    if warm:
        for sizes in suites.values():
            for directory in sizes.values():
                run_suite(directory)
    runs: dict[str, dict[int, list[SuiteRun]]] = {name: {tests: [], 1: []} for name in suites}
    for _ in range(repetitions):
        for name, sizes in suites.items():
            for size, directory in sizes.items():
                runs[name][size].append(run_suite(directory))
    figures = {}
    for name, by_size in runs.items():
        durations = statistics.median(statistics.median(run.durations) for run in by_size[tests])
        differences = [many.wall - one.wall for many, one in zip(by_size[tests], by_size[1])]
        figures[name] = (durations, statistics.median(differences) / (tests - 1))
    return figures


def run(settings: Settings) -> list[Row]:
    tests = SMOKE_TESTS if settings.smoke else FULL_TESTS
    repetitions = 1 if settings.smoke else 7
    with tempfile.TemporaryDirectory(prefix="bench_suite_") as temporary:
        root = Path(temporary)
        suites: dict[str, dict[int, Path]] = {}
        for number, variant in enumerate(VARIANTS):
            suites[variant.name] = {}
            for size in (tests, 1):
                directory = root / f"variant{number}_{size}"
                write_suite(directory, variant, size)
                suites[variant.name][size] = directory
        figures = per_test_seconds(suites, tests, repetitions, warm=not settings.smoke)
    rows = []
    for ours, baseline, label, goal in COMPARISONS:
        for index, method in enumerate(("durations", "wall − 1-test run")):
            rows.append(
                Row(
                    f"pytest suite of {tests}, per test, {label}, {method}",
                    figures[ours][index],
                    baseline.split(",")[0],
                    figures[baseline][index],
                    goal,
                )
            )
    return rows
