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

What each row measures (through a boto3 ``iot`` client under the mock, as in ``bench_calls``; ratio =
large registry / small registry):

- ``describe_thing`` of a thing in the middle of the name order (small: of the 10).
- ``list_things`` first page of 100. A registry of 10 things would answer a 10-item page, so for this row
  the small registry is topped up to exactly 100 things (one full page on both sides).
- ``register_thing``, REGISTER_TEMPLATE of ``bench_calls`` (existing certificate by id, ``PolicyName``,
  thing with attributes), a **new** thing and a different existing certificate on every call: the thing is
  created and indexed, the policy attached to the certificate, the certificate to the thing. The new names
  (``thing-<middle>-new-...``) sort in the middle of the existing ones, the average place for a random
  name (the name index is a sorted list, so where a name lands matters). The certificates these calls use
  are added to both registries beforehand (one per call), so the small registry then holds 10 + that many
  certificates.
- ``register_thing (same thing again)``: the ``bench_calls`` case, one thing and one certificate
  registered over and over (after the first call, nothing changes).

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
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


class MemoryRow(Row):
    """A memory figure: ``ours`` is the resident growth in bytes; ``baseline`` the part due to things."""

    def __init__(self, name: str, grown: float, things: float, items: int, maxrss_kib: int) -> None:
        super().__init__(name, grown, "", things, "")
        self.items = items
        self.maxrss_kib = maxrss_kib

    def line(self) -> str:
        per_thing = self.baseline / self.items
        per_certificate = (self.ours - self.baseline) / self.items
        return (
            f"| {self.name} | {self.ours / 2**20:,.0f} MiB resident growth | per thing "
            f"{per_thing / 1024:,.2f} KiB + per certificate {per_certificate / 1024:,.2f} KiB "
            f"(child maxrss {self.maxrss_kib / 1024:,.0f} MiB) | | |"
        )


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

    def add_things(self, count: int) -> None:
        from mock_iotprov.registry.things import create_thing_record

        with self.ctx.store.lock:
            for index in range(self.thing_count, self.thing_count + count):
                create_thing_record(self.ctx, f"thing-{index:06d}", {"model": "m1", "rev": "2"}, None)
        self.thing_count += count

    def add_certificates(self, count: int) -> list[str]:
        from mock_iotprov.registry.certificates import add_certificate

        with self.ctx.store.lock:
            return [
                add_certificate(self.ctx, self.certificates.next(), "ACTIVE").certificate_id
                for _ in range(count)
            ]


def _register_params(thing_name: str, certificate_id: str) -> dict[str, Any]:
    from bench_calls import REGISTER_TEMPLATE

    return {
        "templateBody": REGISTER_TEMPLATE,
        "parameters": {"ThingName": thing_name, "AWS::IoT::Certificate::Id": certificate_id},
    }


def calls_of(registry: Registry, runs: int) -> dict[str, tuple[Callable[[], object], int]]:
    """Each row's call on a filled ``registry`` and how many times it is measured."""
    client = registry.client
    middle = f"thing-{registry.thing_count // 2:06d}"
    if registry.thing_count < PAGE:
        registry.add_things(PAGE - registry.thing_count)
    answered = len(client.list_things(maxResults=PAGE)["things"])
    if answered != PAGE:
        raise RuntimeError(f"list_things answered {answered} things, not {PAGE}")
    register_runs = max(3, runs // 2)
    # every measured and warm-up call takes a new name and an unused certificate
    pool = iter(registry.add_certificates(register_runs + WARMUP))
    names = (f"{middle}-new-{index:06d}" for index in itertools.count())
    again = _register_params("device-again", registry.add_certificates(1)[0])
    return {
        "describe_thing": (lambda: client.describe_thing(thingName=middle), runs),
        "list_things": (lambda: client.list_things(maxResults=PAGE), runs),
        "register_thing": (
            lambda: client.register_thing(**_register_params(next(names), next(pool))),
            register_runs,
        ),
        "register_thing_again": (lambda: client.register_thing(**again), runs),
    }


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
        small.add_certificates(SMALL)
        large = Registry(mock, LARGE_REGION, certificates)
        before = resident_bytes()
        large.add_things(size)
        after_things = resident_bytes()
        large.add_certificates(size)
        after_certificates = resident_bytes()
        figures = measure_interleaved(calls_of(small, runs), calls_of(large, runs))
    return {
        "size": size,
        **figures,
        "things_bytes": after_things - before,
        "grown_bytes": after_certificates - before,
        "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


ROWS: list[tuple[str, str, str]] = [
    ("describe_thing", "describe_thing", "≤ 1.2×"),
    ("list_things", "list_things (page of 100)", "≤ 1.2×"),
    ("register_thing", "register_thing (new thing, existing certificate)", "≤ 1.2×"),
    ("register_thing_again", "register_thing (same thing again)", ""),
]


def run(settings: Settings) -> list[Row]:
    size = SMOKE_LARGE if settings.smoke else LARGE
    command = [
        sys.executable, os.path.abspath(__file__), "--size", str(size), "--runs", str(settings.count(2000))
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"bench_scale child failed:\n{completed.stderr}")
    figures = json.loads(completed.stdout.strip().splitlines()[-1])
    label = f"{size:,} things + {size:,} certificates"
    rows: list[Row] = [
        Row(f"{title}, {label}", figures["large"][key], f"{SMALL} of each", figures["small"][key], goal)
        for key, title, goal in ROWS
    ]
    rows.append(
        MemoryRow(f"registry of {label}", figures["grown_bytes"], figures["things_bytes"], size,
                  figures["maxrss_kib"])
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="child process of bench_scale: prints JSON figures")
    parser.add_argument("--size", type=int, default=LARGE)
    parser.add_argument("--runs", type=int, default=2000, help="measured calls per row and registry")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    print(json.dumps(child_main(args.size, args.runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
