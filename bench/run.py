"""Run every benchmark and print one table: ``python bench/run.py`` (``--smoke`` for a quick check).

Each figure is a median over many calls measured in this process, next to its baseline measured in the same
process (botocore's ``Stubber``, moto, or one RSA-2048 key generation), and the ratio.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import HEADER, Settings  # noqa: E402

BENCHMARKS = [
    "bench_calls",
    "bench_keys",
    "bench_lifecycle",
    "bench_scale",
    "bench_suite",
    "bench_import",
    "bench_server",
    "bench_router",
    "bench_faults",
    "bench_device",
    "bench_mqtt",
    "bench_persistence",
    "bench_indexing",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts: check the benchmarks run")
    parser.add_argument("--only", nargs="*", help="benchmark modules to run", default=BENCHMARKS)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    settings = Settings(smoke=args.smoke)
    print(f"# mock_iotprov benchmarks ({'smoke' if args.smoke else 'full'})")
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"python {platform.python_version()} on {machine}, {time.ctime()}")
    print()
    print(HEADER)
    for name in args.only:
        module = importlib.import_module(name)
        for row in module.run(settings):
            print(row.line(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
