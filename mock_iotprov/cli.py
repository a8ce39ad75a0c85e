"""The command line: ``python -m mock_iotprov serve`` (also installed as ``mock-iotprov``).

``serve`` runs the local HTTP endpoint (:class:`~mock_iotprov.doors.server.IotProvisioningServer`) and,
unless ``--no-mqtt``, the devices' MQTT broker on the same state until SIGINT or SIGTERM, then exits 0.
Once both accept connections it prints one line on stdout, e.g. ``mock_iotprov listening on
http://127.0.0.1:5000 and mqtts://127.0.0.1:8883 (account 123456789012)``, so a script can wait for it
and read the ports (with ``--port 0`` / ``--mqtt-port 0`` the system picks free ones).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from mock_iotprov.doors.request_origin import is_loopback_name
from mock_iotprov.doors.server import DEFAULT_HOST, DEFAULT_PORT, IotProvisioningServer
from mock_iotprov.persistence.database import IncompatibleStateError
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
    serve.add_argument(
        "--state-dir",
        metavar="DIR",
        help="keep all state in an SQLite database under DIR, restored at the next start (default: memory)",
    )
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request on stderr")
    device = serve.add_argument_group("device side (MQTT over mutual TLS)")
    device.add_argument(
        "--mqtt-port", type=int, default=8883, help="MQTT port (default 8883; 0 picks a free port)"
    )
    device.add_argument("--mqtt-host", help="address the broker listens on (default: the HTTP --host)")
    device.add_argument("--no-mqtt", action="store_true", help="serve HTTP only")
    device.add_argument(
        "--lambda",
        dest="lambdas",
        action="append",
        default=[],
        metavar="ARN=module:function",
        help="run module.function as the Lambda function ARN (pre-provisioning hooks); repeatable",
    )
    device.add_argument("--ca-file", help="write the CA bundle (trusted by devices) to this file at start-up")
    return parser


def serve(
    host: str,
    port: int,
    account_id: str,
    *,
    fresh_keys: bool = False,
    mqtt_host: str | None = None,
    mqtt_port: int | None = 8883,
    lambdas: Sequence[str] = (),
    ca_file: str | None = None,
    state_dir: str | None = None,
    throttle: bool = False,
) -> int:
    """Run the endpoints until SIGINT or SIGTERM; returns the exit status (0; 1 if it cannot start; 2 if
    the state directory cannot be used).

    ``mqtt_port=None`` serves HTTP only.
    """
    from mock_iotprov.doors.mqtt_door import DeviceSide

    broker_host = mqtt_host or host
    data_endpoint = None if mqtt_port is None else broker_host
    server = IotProvisioningServer(
        host,
        port,
        account_id=account_id,
        fresh_keys=fresh_keys,
        data_endpoint=data_endpoint,
        state_dir=state_dir,
        throttle=throttle,
    )
    try:
        server.open_state()  # first: a restored CA hierarchy signs the broker's and every later certificate
    except IncompatibleStateError as exc:
        print(f"mock_iotprov: {exc}", file=sys.stderr)
        return 2
    device = DeviceSide(server, broker_host, mqtt_port)
    if mqtt_port is not None:
        server.connected_clients = device.connected_clients
    try:
        device.prepare(lambdas, ca_file)
    except (ValueError, OSError) as exc:
        server.stop()
        print(f"mock_iotprov: {exc}", file=sys.stderr)
        return 1

    def on_signal(signum: int, frame: FrameType | None) -> None:
        server.request_stop()

    try:
        server.start()
    except OSError as exc:
        server.stop()
        print(f"mock_iotprov: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    try:
        device.start()
    except OSError as exc:
        server.stop()
        print(f"mock_iotprov: cannot listen on {broker_host}:{mqtt_port} (MQTT): {exc}", file=sys.stderr)
        return 1
    if not is_loopback_name(host):
        print(
            f"mock_iotprov: warning: listening on {host}, an address other machines may reach; the endpoint "
            "is unauthenticated (signatures are not checked) and hands out private keys",
            file=sys.stderr,
            flush=True,
        )
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(
            f"mock_iotprov listening on {server.url}{device.address_suffix()} (account {server.account_id})",
            flush=True,
        )
        server.serve_forever()
    finally:
        device.stop()
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
    return serve(
        args.host,
        args.port,
        args.account_id,
        fresh_keys=args.fresh_keys,
        mqtt_host=args.mqtt_host,
        mqtt_port=None if args.no_mqtt else args.mqtt_port,
        lambdas=args.lambdas,
        ca_file=args.ca_file,
        state_dir=args.state_dir,
        throttle=args.throttle,
    )
