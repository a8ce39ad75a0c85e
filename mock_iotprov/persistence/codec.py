"""A store's domain tables to bytes and back.

The tables are plain Python objects (dataclasses, dicts, sorted indexes) that hold some ``cryptography``
objects (parsed certificates, CSRs, private keys), which do not pickle. The encoder writes those as their
DER bytes; everything else is pickled as it is, one pickle per store, so that objects shared between tables
stay shared after a restart.

Loading is restricted: only the classes of this package, the standard library's containers and date types,
``sortedcontainers`` and the ``cryptography`` loaders written by the encoder may be named in the data, so a
state file can rebuild tables and nothing else. (Still: use state directories you made yourself.)
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

_PROTOCOL = 5
_ALLOWED_MODULE_PREFIXES = ("mock_iotprov.", "sortedcontainers.")
_ALLOWED_GLOBALS = {
    ("builtins", name)
    for name in ("dict", "list", "set", "frozenset", "tuple", "bytearray")
} | {
    ("collections", "OrderedDict"),
    ("collections", "defaultdict"),
    ("collections", "deque"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("copyreg", "_reconstructor"),
    ("copyreg", "__newobj__"),
    ("uuid", "UUID"),
    ("decimal", "Decimal"),
    ("re", "_compile"),
    ("mock_iotprov.persistence.codec", "_certificate"),
    ("mock_iotprov.persistence.codec", "_csr"),
    ("mock_iotprov.persistence.codec", "_private_key"),
}


class StateFormatError(ValueError):
    """The stored bytes are not state this version can read."""


def _certificate(der: bytes) -> x509.Certificate:
    return x509.load_der_x509_certificate(der)


def _csr(der: bytes) -> x509.CertificateSigningRequest:
    return x509.load_der_x509_csr(der)


def _private_key(der: bytes) -> PrivateKeyTypes:
    return serialization.load_der_private_key(der, password=None)


_PRIVATE_KEY_TYPES = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey)


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, x509.Certificate):
            return _certificate, (obj.public_bytes(serialization.Encoding.DER),)
        if isinstance(obj, x509.CertificateSigningRequest):
            return _csr, (obj.public_bytes(serialization.Encoding.DER),)
        if isinstance(obj, _PRIVATE_KEY_TYPES):
            der = obj.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return _private_key, (der,)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS or (
            module.startswith(_ALLOWED_MODULE_PREFIXES) and not name.startswith("_")
        ):
            return super().find_class(module, name)
        raise StateFormatError(f"state data names {module}.{name}, which is not a state class")


def encode(value: Any) -> bytes:
    """``value`` (a store's tables) as bytes."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=_PROTOCOL).dump(value)
    return buffer.getvalue()


def decode(data: bytes) -> Any:
    """The value :func:`encode` wrote; ``StateFormatError`` for anything else."""
    try:
        return _Unpickler(io.BytesIO(data)).load()
    except StateFormatError:
        raise
    except Exception as exc:  # noqa: BLE001 - any corruption is one kind of failure for the caller
        raise StateFormatError(f"unreadable state data ({exc.__class__.__name__}: {exc})") from exc
