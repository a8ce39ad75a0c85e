"""Registry scale: per-call cost with 100,000 things and 100,000 certificates against a registry of 10 of
each, and the resident memory such a registry takes.

Everything runs in one fresh child process (``python bench/bench_scale.py --size N`` prints JSON), so the
memory figure is not blurred by what earlier benchmarks allocated and freed, and the large registry is gone
when the child exits. ``--smoke`` uses 1,000 instead of 100,000.

Both registries live in one mock, in two regions (large: us-east-1, small: us-west-2; state is kept per
account and region), each with its own boto3 client. Each call is timed on the small and on the large
registry turn about (after 10 unmeasured calls each), with the garbage collector off, and each figure is
the median of its side's samples, so a change of load on the machine hits both sides alike.

How the registries are filled: through the domain functions, not through boto3 (100,000 ``CreateThing``
calls would take ~25 s). Things are stored with ``registry.things.create_thing_record`` (names
``thing-000000`` ..., two attributes each). Certificates are stored with
``registry.certificates.add_certificate``, which takes any ``x509.Certificate``: issuing 100,000 through the
mock's RSA device CA would take ~100 s, so the benchmark signs them with an EC P-256 CA key of its own (all
for one EC public key, distinct serial numbers, hence distinct DER and ids), ~0.1 ms each. They are
``ACTIVE`` and unattached, like certificates created and not yet provisioned. The ``device-policy`` policy
is created through boto3.

How the registries are related (same shape on both sides): every thing has the type ``bench-type`` and
the attributes ``model=m1`` and ``serial=<its number>``; the things are spread over ten thing groups
``child-0`` ... ``child-9`` under one ``root`` group and are all in the billing group ``billing``; the
policy ``device-policy`` is attached to every certificate and to the ten child groups (ListTargetsForPolicy
and ListPolicyPrincipals at 100,000 targets). Links are made through ``memberships`` and ``attachments``,
as the operations make them.

What each row measures (through a boto3 ``iot`` client under the mock, as in ``bench_calls``; ratio =
large registry / small registry):

- ``describe_thing`` of a thing in the middle of the name order (small: of the 10).
- ``list_things`` first page of 100, unfiltered, by type, by attribute name, by attribute value, by value
  prefix (``model`` prefix ``m``: one matching value, whose index is merged; a prefix matching more than
  64 values walks the things having the attribute and filters them, a cost that grows with how few
  match, not with the registry), ``list_things_in_thing_group``
  recursive from ``root``, ``list_things_in_billing_group``, ``list_certificates``,
  ``list_targets_for_policy``, ``list_policy_principals``: first pages of 100 (a registry of 10 things
  would answer a shorter page, so for these rows the small registry is topped up to exactly 100 things,
  100 certificates; the small side's pages are full pages too).
- ``delete_policy`` of the policy attached everywhere (refused: ``DeleteConflictException``, which
  must not cost a walk over the targets).
- ``create_thing``: a new thing each call, named in the middle of the name order.
- ``register_thing``, REGISTER_TEMPLATE of ``bench_calls`` (existing certificate by id, ``PolicyName``,
  thing with attributes), a **new** thing and a different existing certificate on every call: the thing is
  created and indexed, the policy attached to the certificate, the certificate to the thing. The new names
  (``thing-<middle>-new-...``) sort in the middle of the existing ones. The certificates these calls use
  are added to both registries beforehand (one per call).
- ``register_thing (same thing again)``: the ``bench_calls`` case, one thing and one certificate
  registered over and over (after the first call, nothing changes).
- ``--inserts`` (its own child, 1,000,000 things, no certificates): ``create_thing`` of a new thing in the
  middle of the name order, against a registry of 10 things.

Memory: the growth of resident memory (``/proc/self/statm``, after ``gc.collect()``) over storing the
large registry's things, then over storing its certificates; ``ru_maxrss`` of the child is printed beside
it. Since the timing loops run with the garbage collector off, the cost of a full collection over a
100,000-item heap, which a real test suite pays from time to time, is not in the rows.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import boto3
from common import Row, Settings

LARGE = 100_000
SMOKE_LARGE = 1_000
SMALL = 10
PAGE = 100
WARMUP = 10
POLICY_NAME = "device-policy"
LARGE_REGION = "us-east-1"
SMALL_REGION = "us-west-2"
THING_TYPE = "bench-type"
BILLING_GROUP = "billing"
ROOT_GROUP = "root"
GROUPS = 10
INSERTS = 1_000_000
SMOKE_INSERTS = 2_000
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    """Current resident set size of this process, from ``/proc/self/statm``."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_SIZE


class FastCertificates:
    """Distinct certificates signed by a throwaway EC P-256 CA, ~0.1 ms each (RSA signing is ~10× that)."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._x509 = x509
        self._hash = hashes.SHA256()
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._device_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        self._issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench scale CA")])
        self._subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench device")])
        self._serials = itertools.count(1)
        self._not_before = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
        self._not_after = datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc)

    def next(self) -> Any:
        return (
            self._x509.CertificateBuilder()
            .subject_name(self._subject)
            .issuer_name(self._issuer)
            .public_key(self._device_key)
            .serial_number(next(self._serials))
            .not_valid_before(self._not_before)
            .not_valid_after(self._not_after)
            .sign(self._ca_key, self._hash)
        )


class Registry:
    """The state of one region of a mock, with a boto3 client for that region."""

    def __init__(self, mock: Any, region: str, certificates: FastCertificates) -> None:
        from bench_calls import POLICY

        from mock_iotprov.state import RequestContext

        self.client = boto3.client(
            "iot", region_name=region, aws_access_key_id="a", aws_secret_access_key="b"
        )
        self.ctx = RequestContext(mock.backend.store(mock.account_id, region), mock.options)
        self.certificates = certificates
        self.thing_count = 0
        self.client.create_policy(policyName=POLICY_NAME, policyDocument=POLICY)
        self.client.create_thing_type(thingTypeName=THING_TYPE)
        self.client.create_billing_group(billingGroupName=BILLING_GROUP)
        self.client.create_thing_group(thingGroupName=ROOT_GROUP)
        for index in range(GROUPS):
            self.client.create_thing_group(thingGroupName=f"child-{index}", parentGroupName=ROOT_GROUP)
            arn = self.client.describe_thing_group(thingGroupName=f"child-{index}")["thingGroupArn"]
            self.client.attach_policy(policyName=POLICY_NAME, target=arn)

    def add_things(self, count: int) -> None:
        from mock_iotprov.registry.thing_records import create_thing_record

        with self.ctx.store.lock:
            for index in range(self.thing_count, self.thing_count + count):
                create_thing_record(
                    self.ctx, f"thing-{index:07d}", {"model": "m1", "serial": f"s{index}"}, THING_TYPE
                )
        self.thing_count += count

    def relate_things(self, start: int, stop: int) -> None:
        """Put things ``start`` .. ``stop`` in a child group and in the billing group."""
        from mock_iotprov.registry import memberships

        with self.ctx.store.lock:
            for index in range(start, stop):
                name = f"thing-{index:07d}"
                memberships.join_group(self.ctx, name, f"child-{index % GROUPS}")
                memberships.set_billing_group(self.ctx, name, BILLING_GROUP)

    def add_certificates(self, count: int, attach: bool = False) -> list[str]:
        from mock_iotprov.registry.attachments import attachments
        from mock_iotprov.registry.certificates import add_certificate

        with self.ctx.store.lock:
            added = [add_certificate(self.ctx, self.certificates.next(), "ACTIVE") for _ in range(count)]
            if attach:
                links = attachments(self.ctx)
                for record in added:
                    links.attach_policy(POLICY_NAME, record.arn)
        return [record.certificate_id for record in added]


def _register_params(thing_name: str, certificate_id: str) -> dict[str, Any]:
    from bench_calls import REGISTER_TEMPLATE

    return {
        "templateBody": REGISTER_TEMPLATE,
        "parameters": {"ThingName": thing_name, "AWS::IoT::Certificate::Id": certificate_id},
    }


def _refused_delete(client: Any) -> Callable[[], object]:
    def call() -> None:
        try:
            client.delete_policy(policyName=POLICY_NAME)
        except client.exceptions.DeleteConflictException:
            return
        raise RuntimeError("DeletePolicy of an attached policy succeeded")

    return call


def calls_of(registry: Registry, runs: int) -> dict[str, tuple[Callable[[], object], int]]:
    """Each row's call on a filled ``registry`` and how many times it is measured."""
    client = registry.client
    middle = f"thing-{registry.thing_count // 2:07d}"
    if registry.thing_count < PAGE:
        start = registry.thing_count
        registry.add_things(PAGE - registry.thing_count)
        registry.relate_things(start, PAGE)
        registry.add_certificates(PAGE - len(client.list_certificates(pageSize=PAGE)["certificates"]), True)
    pages: dict[str, tuple[str, str, dict[str, Any]]] = {
        "list_things": ("list_things", "things", {"maxResults": PAGE}),
        "list_things_type": ("list_things", "things", {"maxResults": PAGE, "thingTypeName": THING_TYPE}),
        "list_things_attribute": ("list_things", "things", {"maxResults": PAGE, "attributeName": "model"}),
        "list_things_value": (
            "list_things", "things", {"maxResults": PAGE, "attributeName": "model", "attributeValue": "m1"}
        ),
        "list_things_prefix": (
            "list_things", "things",
            {"maxResults": PAGE, "attributeName": "model", "attributeValue": "m",
             "usePrefixAttributeValue": True},
        ),
        "list_things_in_group": (
            "list_things_in_thing_group", "things",
            {"maxResults": PAGE, "thingGroupName": ROOT_GROUP, "recursive": True},
        ),
        "list_things_in_billing_group": (
            "list_things_in_billing_group", "things", {"maxResults": PAGE, "billingGroupName": BILLING_GROUP}
        ),
        "list_certificates": ("list_certificates", "certificates", {"pageSize": PAGE}),
        "list_targets_for_policy": (
            "list_targets_for_policy", "targets", {"pageSize": PAGE, "policyName": POLICY_NAME}
        ),
        "list_policy_principals": (
            "list_policy_principals", "principals", {"pageSize": PAGE, "policyName": POLICY_NAME}
        ),
    }
    calls: dict[str, tuple[Callable[[], object], int]] = {
        "describe_thing": (lambda: client.describe_thing(thingName=middle), runs),
    }
    for key, (operation, result_key, params) in pages.items():
        method = getattr(client, operation)
        answered = len(method(**params)[result_key])
        if answered != PAGE:
            raise RuntimeError(f"{operation} {params} answered {answered} items, not {PAGE}")
        calls[key] = (lambda method=method, params=params: method(**params), runs)  # type: ignore[misc]
    calls["delete_policy"] = (_refused_delete(client), runs)
    creating = max(3, runs // 2)
    new_things = (f"{middle}-new-{index:06d}" for index in itertools.count())
    calls["create_thing"] = (lambda: client.create_thing(thingName=next(new_things)), creating)
    # every measured and warm-up call takes a new name and an unused certificate
    pool = iter(registry.add_certificates(creating + WARMUP))
    names = (f"{middle}-reg-{index:06d}" for index in itertools.count())
    again = _register_params("device-again", registry.add_certificates(1)[0])
    calls["register_thing"] = (
        lambda: client.register_thing(**_register_params(next(names), next(pool))), creating
    )
    calls["register_thing_again"] = (lambda: client.register_thing(**again), runs)
    return calls


def measure_interleaved(
    small: dict[str, tuple[Callable[[], object], int]], large: dict[str, tuple[Callable[[], object], int]]
) -> dict[str, dict[str, float]]:
    """Median seconds of each call on each side, the small and the large call timed turn about."""
    figures: dict[str, dict[str, float]] = {"small": {}, "large": {}}
    for key, (small_call, runs) in small.items():
        large_call = large[key][0]
        for _ in range(WARMUP):
            small_call()
            large_call()
        samples: dict[str, list[float]] = {"small": [], "large": []}
        gc.collect()
        gc.disable()
        try:
            for _ in range(runs):
                for side, action in (("small", small_call), ("large", large_call)):
                    started = time.perf_counter()
                    action()
                    samples[side].append(time.perf_counter() - started)
        finally:
            gc.enable()
        for side, values in samples.items():
            figures[side][key] = statistics.median(values)
    return figures


def child_main(size: int, runs: int) -> dict[str, Any]:
    """Fill both registries (measuring the large one's memory), then time the calls; JSON-ready figures."""
    from mock_iotprov import mock_iot_provisioning

    certificates = FastCertificates()
    with mock_iot_provisioning() as mock:
        small = Registry(mock, SMALL_REGION, certificates)
        small.add_things(SMALL)
        small.relate_things(0, SMALL)
        small.add_certificates(SMALL, attach=True)
        large = Registry(mock, LARGE_REGION, certificates)
        before = resident_bytes()
        large.add_things(size)
        after_things = resident_bytes()
        large.add_certificates(size)
        after_certificates = resident_bytes()
        large.relate_things(0, size)
        from mock_iotprov.registry.attachments import attachments
        from mock_iotprov.registry.certificates import certificate_tables

        with large.ctx.store.lock:
            links = attachments(large.ctx)
            for record in list(certificate_tables(large.ctx).certificates.values()):
                links.attach_policy(POLICY_NAME, record.arn)
        after_links = resident_bytes()
        figures = measure_interleaved(calls_of(small, runs), calls_of(large, runs))
    return {
        "size": size,
        **figures,
        "things_bytes": after_things - before,
        "certificates_bytes": after_certificates - after_things,
        "links_bytes": after_links - after_certificates,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def inserts_main(size: int, runs: int) -> dict[str, Any]:
    """create_thing of new things with ``size`` things stored against 10: JSON-ready figures."""
    from mock_iotprov import mock_iot_provisioning

    certificates = FastCertificates()
    with mock_iot_provisioning() as mock:
        sides = {}
        for side, region, count in (("small", SMALL_REGION, SMALL), ("large", LARGE_REGION, size)):
            registry = Registry(mock, region, certificates)
            registry.add_things(count)
            client = registry.client
            middle = f"thing-{count // 2:07d}"
            names = (f"{middle}-new-{index:06d}" for index in itertools.count())
            create = (lambda c=client, n=names: c.create_thing(thingName=next(n)), runs)
            sides[side] = {"create_thing": create}
        figures = measure_interleaved(sides["small"], sides["large"])  # type: ignore[arg-type]
    return {"size": size, **figures, "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


ROWS: list[tuple[str, str, str]] = [
    ("describe_thing", "describe_thing", "≤ 1.2×"),
    ("list_things", "list_things (page of 100)", "≤ 1.2×"),
    ("list_things_type", "list_things by thing type (page of 100)", "≤ 1.2×"),
    ("list_things_attribute", "list_things by attribute name (page of 100)", "≤ 1.2×"),
    ("list_things_value", "list_things by attribute value (page of 100)", "≤ 1.2×"),
    ("list_things_prefix", "list_things by attribute value prefix (page of 100)", "≤ 1.2×"),
    ("list_things_in_group", "list_things_in_thing_group recursive (page of 100)", "≤ 1.2×"),
    ("list_things_in_billing_group", "list_things_in_billing_group (page of 100)", "≤ 1.2×"),
    ("list_certificates", "list_certificates (page of 100)", "≤ 1.2×"),
    ("list_targets_for_policy", "list_targets_for_policy (page of 100)", "≤ 1.2×"),
    ("list_policy_principals", "list_policy_principals (page of 100)", "≤ 1.2×"),
    ("delete_policy", "delete_policy of an attached policy (refused)", "≤ 1.2×"),
    ("create_thing", "create_thing (new thing each call)", "≤ 1.2×"),
    ("register_thing", "register_thing (new thing, existing certificate)", "≤ 1.2×"),
    ("register_thing_again", "register_thing (same thing again)", "≤ 1.2×"),
]


class ScaleMemoryRow(Row):
    """Memory figures of the large registry: per thing, per certificate, per link."""

    def __init__(self, name: str, figures: dict[str, Any]) -> None:
        super().__init__(name, 0.0, "", 0.0, "")
        self.figures = figures

    def line(self) -> str:
        size = self.figures["size"]
        per = {key: self.figures[f"{key}_bytes"] / size / 1024 for key in ("things", "certificates", "links")}
        grown = sum(self.figures[f"{key}_bytes"] for key in per) / 2**20
        return (
            f"| {self.name} | {grown:,.0f} MiB resident growth | per thing {per['things']:,.2f} KiB + per "
            f"certificate {per['certificates']:,.2f} KiB + per thing's memberships and certificate's policy "
            f"{per['links']:,.2f} KiB (child maxrss {self.figures['maxrss_kib'] / 1024:,.0f} MiB) | | |"
        )


def _child(arguments: list[str]) -> dict[str, Any]:
    command = [sys.executable, os.path.abspath(__file__), *arguments]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"bench_scale child failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(settings: Settings) -> list[Row]:
    size = SMOKE_LARGE if settings.smoke else LARGE
    runs = str(settings.count(1000))
    figures = _child(["--size", str(size), "--runs", runs])
    label = f"{size:,} things + {size:,} certificates"
    rows: list[Row] = [
        Row(f"{title}, {label}", figures["large"][key], f"{SMALL} of each", figures["small"][key], goal)
        for key, title, goal in ROWS
    ]
    rows.append(ScaleMemoryRow(f"registry of {label}", figures))
    inserts = SMOKE_INSERTS if settings.smoke else INSERTS
    inserted = _child(["--inserts", "--size", str(inserts), "--runs", runs])
    rows.append(
        Row(f"create_thing (new thing each call), {inserts:,} things", inserted["large"]["create_thing"],
            f"{SMALL} things", inserted["small"]["create_thing"], "≤ 1.2×")
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="child process of bench_scale: prints JSON figures")
    parser.add_argument("--size", type=int, default=LARGE)
    parser.add_argument("--runs", type=int, default=1000, help="measured calls per row and registry")
    parser.add_argument("--inserts", action="store_true", help="only create_thing, things only")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    action = inserts_main if args.inserts else child_main
    print(json.dumps(action(args.size, args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
