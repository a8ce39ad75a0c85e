"""A process that exits while the key pool's background generator is busy exits cleanly.

Without the generator being stopped at exit, the interpreter kills the thread inside key generation and
the process aborts (exit status 134) even though everything it did succeeded.
"""

from __future__ import annotations

import subprocess
import sys


def test_exit_while_generating_keys_is_clean() -> None:
    code = (
        "from mock_iotprov.pki import KeySource\n"
        "source = KeySource(pool_size=32)\n"
        "source.take()\n"
        "assert source.background_running\n"
    )
    for _ in range(3):
        completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
        assert completed.returncode == 0, completed.stderr
        assert "FATAL" not in completed.stderr
