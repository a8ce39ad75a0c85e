"""The command line: ``python -m mock_iotprov serve`` (also installed as ``mock-iotprov``).

``serve`` runs the local HTTP endpoint (:class:`~mock_iotprov.doors.server.IotProvisioningServer`) until
SIGINT or SIGTERM, then exits 0. Once it accepts connections it prints one line on stdout, e.g.
``mock_iotprov listening on http://127.0.0.1:5000 (account 123456789012)``, so a script can wait for it
and read the port (with ``--port 0`` the system picks a free one).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from mock_iotprov.doors.server import DEFAULT_HOST, DEFAULT_PORT, IotProvisioningServer
from mock_iotprov.state import DEFAULT_ACCOUNT_ID


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mock-iotprov", description="A local mock of the AWS IoT Core provisioning control plane."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    serve = commands.add_parser(
        "serve",
        help="run the HTTP endpoint (for the AWS CLI and any SDK: --endpoint-url / endpoint_url)",
        description="Run the HTTP endpoint until SIGINT or SIGTERM. Signatures are accepted unchecked; the "
        "region comes from each request's SigV4 credential scope (default us-east-1).",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 picks a free port)"
    )
    serve.add_argument(
        "--account-id",
        default=DEFAULT_ACCOUNT_ID,
        help=f"the AWS account id requests are answered for (default {DEFAULT_ACCOUNT_ID})",
    )
    serve.add_argument(
        "--fresh-keys",
        action="store_true",
        help="generate a new RSA key for every key handed out instead of drawing from the key pool (slow)",
    )
    serve.add_argument(
        "--throttle",
        action="store_true",
        help="apply AWS IoT Core's per-API rate quotas; requests beyond them get ThrottlingException",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")
    return parser


def serve(host: str, port: int, account_id: str, *, fresh_keys: bool = False, throttle: bool = False) -> int:
    """Run the endpoint until SIGINT or SIGTERM; returns the exit status (0, or 1 if it cannot listen)."""
    server = IotProvisioningServer(
        host, port, account_id=account_id, fresh_keys=fresh_keys, throttle=throttle
    )

    def on_signal(signum: int, frame: FrameType | None) -> None:
        server.request_stop()

    try:
        server.start()
    except OSError as exc:
        print(f"mock_iotprov: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"mock_iotprov listening on {server.url} (account {server.account_id})", flush=True)
        server.serve_forever()
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m mock_iotprov`` and the ``mock-iotprov`` script; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    return serve(args.host, args.port, args.account_id, fresh_keys=args.fresh_keys, throttle=args.throttle)
