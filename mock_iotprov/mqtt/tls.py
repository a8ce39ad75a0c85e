"""TLS for the broker: TLS 1.2+, a client certificate required but not judged by the TLS layer.

AWS IoT authenticates a device at CONNECT, and the broker must accept certificates it cannot chain itself
(registered without a CA, issued by a user's registered CA, or unknown ones that CONNECT then refuses
with "not authorized"). Python's :mod:`ssl` always verifies a presented client certificate against its
trust store, so the server side uses pyOpenSSL, whose verify callback lets any certificate through the
handshake; nothing is trusted because of the handshake alone. The handshake runs over memory BIOs so it
fits asyncio streams.

ALPN: ``x-amzn-mqtt-ca`` (what the AWS IoT Device SDK offers on port 443) is selected when offered; a
client offering no ALPN, or other protocols only, proceeds without one.
"""

from __future__ import annotations

import asyncio

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL, crypto

ALPN_MQTT = b"x-amzn-mqtt-ca"
_READ_SIZE = 65536
CLOSE_GRACE = 5.0
"""Seconds a closing connection has to deliver its last bytes before it is dropped."""


def _accept_any(
    connection: SSL.Connection, certificate: crypto.X509, errno: int, depth: int, ok: int
) -> bool:
    return True


def _select_alpn(connection: SSL.Connection, offered: list[bytes]) -> bytes | object:
    return ALPN_MQTT if ALPN_MQTT in offered else SSL.NO_OVERLAPPING_PROTOCOLS


def server_context(certificate_chain_pem: str, private_key_pem: str) -> SSL.Context:
    """A server context presenting ``certificate_chain_pem`` (leaf first) with ``private_key_pem``."""
    certificates = x509.load_pem_x509_certificates(certificate_chain_pem.encode("ascii"))
    key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate(certificates[0])
    for extra in certificates[1:]:
        context.add_extra_chain_cert(extra)
    if not isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise ValueError("the broker's private key must be RSA or elliptic-curve")
    context.use_privatekey(key)
    context.check_privatekey()
    context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, _accept_any)
    context.set_alpn_select_callback(_select_alpn)  # type: ignore[arg-type]
    context.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_NO_RENEGOTIATION)
    return context


class TlsStream:
    """One server-side TLS connection over an asyncio stream pair (pyOpenSSL with memory BIOs).

    All calls happen on the event loop's thread.
    """

    def __init__(self, context: SSL.Context, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self._tls = SSL.Connection(context, None)
        self._tls.set_accept_state()
        self._reader = reader
        self.writer = writer
        self.closed = False

    def _flush(self) -> None:
        while True:
            try:
                data = self._tls.bio_read(_READ_SIZE)
            except SSL.WantReadError:
                return
            if not data:
                return
            if not self.closed:
                self.writer.write(data)

    async def _fill(self) -> bool:
        data = await self._reader.read(_READ_SIZE)
        if not data:
            return False
        self._tls.bio_write(data)
        return True

    async def handshake(self) -> None:
        """Complete the TLS handshake; raises :class:`ConnectionError` if it fails or the peer leaves."""
        while True:
            try:
                self._tls.do_handshake()
                self._flush()
                return
            except SSL.WantReadError:
                self._flush()
                if not await self._fill():
                    raise ConnectionError("peer closed during the TLS handshake") from None
            except SSL.Error as error:
                self._flush()
                raise ConnectionError(f"TLS handshake failed: {error}") from error

    async def read(self) -> bytes:
        """Application bytes as they arrive; ``b""`` when the peer has closed."""
        while True:
            try:
                data = self._tls.recv(_READ_SIZE)
                self._flush()
                return data
            except SSL.WantReadError:
                self._flush()
                if not await self._fill():
                    return b""
            except SSL.ZeroReturnError:
                return b""
            except SSL.Error as error:
                raise ConnectionError(f"TLS error: {error}") from error

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._tls.sendall(data)
        except SSL.Error as error:
            raise ConnectionError(f"TLS error: {error}") from error
        self._flush()

    def pending_write_bytes(self) -> int:
        return self.writer.transport.get_write_buffer_size()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._tls.shutdown()
            self._flush()
        except SSL.Error:
            pass
        self.closed = True
        self.writer.close()
        # a peer that reads nothing would hold a graceful close (and its connection) open forever
        asyncio.get_running_loop().call_later(CLOSE_GRACE, self.writer.transport.abort)

    def abort(self) -> None:
        """Drop the connection at once, discarding whatever is still waiting to be sent."""
        self.closed = True
        self.writer.transport.abort()

    def peer_certificates(self) -> tuple[bytes, tuple[bytes, ...]]:
        """The peer's leaf certificate (DER) and the further certificates it sent."""
        leaf = self._tls.get_peer_certificate(as_cryptography=True)
        leaf_der = leaf.public_bytes(Encoding.DER) if leaf is not None else b""
        chain = self._tls.get_peer_cert_chain(as_cryptography=True) or []
        extra = tuple(der for der in (c.public_bytes(Encoding.DER) for c in chain) if der != leaf_der)
        return leaf_der, extra

    def server_name(self) -> str | None:
        name = self._tls.get_servername()
        return name.decode("ascii", "replace") if name else None

    def alpn_protocol(self) -> str | None:
        proto = self._tls.get_alpn_proto_negotiated()
        return proto.decode("ascii", "replace") if proto else None
