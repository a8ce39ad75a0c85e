"""Import time: ``import mock_iotprov`` against ``import boto3``, each in a fresh interpreter.

Each figure is the median over several runs of the wall time of ``python -c "import X"`` minus the median
wall time of ``python -c "pass"`` (interpreter start-up, ``site`` and the installed ``.pth`` hooks), with the
runs of all commands interleaved so a change of load on the machine hits them alike. ``-X importtime`` is
not used for the figures: it adds its own cost to every module imported.

``import mock_iotprov`` imports botocore (the doors hook into it), requests and responses (for the
``requests`` door) and cryptography, but not boto3; a test suite that uses the mock imports boto3 as well,
which the last row shows. ``from moto import mock_aws`` is given for comparison.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from common import Row, Settings

STATEMENTS = {
    "nothing": "pass",
    "mock_iotprov": "import mock_iotprov",
    "boto3": "import boto3",
    "mock_iotprov + boto3": "import boto3, mock_iotprov",
    "moto": "from moto import mock_aws",
}


def wall_seconds(statement: str) -> float:
    """Wall time of one fresh ``python -c statement`` (which must succeed)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, timeout=120)
    return time.perf_counter() - started


def import_seconds(runs: int, warm: bool) -> dict[str, float]:
    """Median wall time per statement over ``runs`` interleaved rounds, minus the ``pass`` median."""
    samples: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for statement in STATEMENTS.values() if warm else ():  # the file cache; not measured
        wall_seconds(statement)
    for _ in range(runs):
        for name, statement in STATEMENTS.items():
            samples[name].append(wall_seconds(statement))
    start_up = statistics.median(samples["nothing"])
    return {name: statistics.median(values) - start_up for name, values in samples.items()}


def run(settings: Settings) -> list[Row]:
    found = import_seconds(2, warm=False) if settings.smoke else import_seconds(15, warm=True)
    return [
        Row("import mock_iotprov (fresh process)", found["mock_iotprov"], "import boto3", found["boto3"], ""),
        Row("import mock_iotprov (fresh process)", found["mock_iotprov"], "from moto import mock_aws",
            found["moto"], ""),
        Row("import boto3, mock_iotprov (fresh process)", found["mock_iotprov + boto3"], "import boto3",
            found["boto3"], ""),
    ]
