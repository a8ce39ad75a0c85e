"""Hand-editing DER: take certificates and CSRs apart, change a piece, put them back (and re-sign).

Just enough ASN.1 to craft malformed inputs that ``cryptography``'s builders refuse to make: a TLV splitter,
a TLV encoder, and helpers that rebuild a certificate or CSR around an edited to-be-signed part.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SEQUENCE = 0x30
BIT_STRING = 0x03
INTEGER = 0x02
NULL = 0x05
OID = 0x06


def encode(tag: int, content: bytes) -> bytes:
    """One DER TLV."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def split(data: bytes) -> list[tuple[int, bytes]]:
    """The (tag, content) of each TLV in ``data`` (one level, definite lengths)."""
    items = []
    position = 0
    while position < len(data):
        tag = data[position]
        length = data[position + 1]
        position += 2
        if length & 0x80:
            count = length & 0x7F
            length = int.from_bytes(data[position : position + count], "big")
            position += count
        items.append((tag, data[position : position + length]))
        position += length
    return items


def join(items: list[tuple[int, bytes]]) -> bytes:
    """The inverse of :func:`split`."""
    return b"".join(encode(tag, content) for tag, content in items)


def pem(der: bytes, label: str = "CERTIFICATE") -> str:
    """``der`` in a PEM envelope."""
    body = base64.encodebytes(der).decode("ascii")
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n"


def der_of(item: Any) -> bytes:
    """The DER of a ``cryptography`` certificate or CSR."""
    return bytes(item.public_bytes(serialization.Encoding.DER))


def to_be_signed(signed_der: bytes) -> bytes:
    """The content of the to-be-signed part (TBSCertificate / CertificationRequestInfo)."""
    [(_, outer)] = split(signed_der)
    return split(outer)[0][1]


def resign(signed_der: bytes, tbs_content: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """``signed_der`` with its to-be-signed part replaced by ``tbs_content``, signed by ``key``.

    The signature is sha256WithRSA, the algorithm ``signed_der`` names (built with an RSA key and SHA-256).
    """
    [(_, outer)] = split(signed_der)
    algorithm = split(outer)[1]
    tbs = encode(SEQUENCE, tbs_content)
    signature = key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    return encode(SEQUENCE, tbs + join([algorithm]) + encode(BIT_STRING, b"\x00" + signature))


def rsa_spki(modulus: int, exponent: int = 65537) -> bytes:
    """A SubjectPublicKeyInfo for an RSA key with any modulus, even 0 (which no builder makes)."""

    def integer(value: int) -> bytes:
        raw = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
        return encode(INTEGER, raw)

    algorithm = encode(SEQUENCE, encode(OID, bytes.fromhex("2a864886f70d010101")) + encode(NULL, b""))
    key = encode(SEQUENCE, integer(modulus) + integer(exponent))
    return encode(SEQUENCE, algorithm + encode(BIT_STRING, b"\x00" + key))


def replace_spki(tbs_content: bytes, spki_der: bytes) -> bytes:
    """A TBSCertificate or CertificationRequestInfo with its SubjectPublicKeyInfo replaced."""
    items = split(tbs_content)
    [(tag, content)] = split(spki_der)
    for index, (item_tag, item) in enumerate(items):
        # The SPKI is the only SEQUENCE whose first child is an AlgorithmIdentifier followed by a BIT STRING.
        if item_tag == SEQUENCE:
            children = split(item)
            if len(children) == 2 and children[0][0] == SEQUENCE and children[1][0] == BIT_STRING:
                items[index] = (tag, content)
                return join(items)
    raise AssertionError("no SubjectPublicKeyInfo found")
