"""Running ``python -m mock_iotprov serve`` as a child process for tests, always stopped afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60.0


class ServeProcess:
    """One ``serve`` child: ``url`` once it listens; ``stop()``, ``kill()`` and ``client()``."""

    def __init__(self, *arguments: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        child_env = dict(os.environ if env is None else env)
        child_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), child_env.get("PYTHONPATH")])
        )
        if "--mqtt-port" not in arguments:
            arguments = (*arguments, "--no-mqtt")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mock_iotprov", "serve", "--port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=child_env,
        )
        watchdog = threading.Timer(START_TIMEOUT_SECONDS, self.process.kill)
        watchdog.start()
        try:
            assert self.process.stdout is not None
            line = self.process.stdout.readline().decode()
        finally:
            watchdog.cancel()
        if not line.startswith("mock_iotprov listening on "):
            self.kill()
            raise AssertionError(f"serve did not start: {line!r}; stderr: {self.stderr_text()}")
        words = line.split()
        self.url = words[3]
        self.mqtt_port = int(words[5].rsplit(":", 1)[1]) if words[4] == "and" else None

    def client(self, **config: Any) -> Any:
        """A boto3 ``iot`` client of this endpoint (no retries, so a dead endpoint fails at once)."""
        return boto3.client(
            "iot",
            region_name="us-east-1",
            endpoint_url=self.url,
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=5, read_timeout=30, **config),
        )

    def stderr_text(self) -> str:
        if self.process.poll() is None:
            return ""
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")

    def stop(self) -> int:
        """SIGTERM and wait; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL (``kill -9``) and wait."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def run_serve(*arguments: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Run ``serve`` expecting it to exit by itself (e.g. refusing a state directory)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    command: Sequence[str] = [
        sys.executable,
        "-m",
        "mock_iotprov",
        "serve",
        "--port",
        "0",
        "--no-mqtt",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
