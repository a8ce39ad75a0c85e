"""``python -m mock_iotprov``: the command line (see :mod:`mock_iotprov.cli`)."""

from __future__ import annotations

from mock_iotprov.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
