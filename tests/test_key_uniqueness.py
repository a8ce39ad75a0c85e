"""Within one mock's lifetime every private key handed out is distinct, whichever operation hands it out.

Keys are handed out by CreateKeysAndCertificate (HTTP and MQTT) and CreateProvisioningClaim; RegisterThing
and CreateCertificateFromCsr hand out none. The process-wide key source is replaced by a small one (four
pooled keys, no background generator), so rapid calls outpace the pool as they do in a fast test suite.
Key generation is swapped for RSA-1024 only to keep 200 calls quick: uniqueness comes from how keys are
handed out, not from how they are made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mock_iotprov import MockIotProvisioning, mock_iot_provisioning
from mock_iotprov.pki import KeySource, keys
from tests.device_support import DeviceClient, claim_client, create_template
from tests.helpers import iot_client
from tests.test_pki_keys import run_in_child

RAPID_CALLS = 200


def _fast_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=1024)


def modulus(pem: str) -> int:
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.public_key().public_numbers().n


@pytest.fixture
def small_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[KeySource]:
    monkeypatch.setattr(keys, "generate_rsa_key", _fast_key)
    source = KeySource(pool_size=4, background=False)
    source.fill()
    monkeypatch.setattr(keys, "_default_source", source)
    yield source


def _hand_out(client: Any, device: DeviceClient, index: int) -> str:
    """One private key, from each key-issuing operation in turn (HTTP, claim, MQTT)."""
    which = index % 3
    if which == 0:
        return str(client.create_keys_and_certificate()["keyPair"]["PrivateKey"])
    if which == 1:
        return str(client.create_provisioning_claim(templateName="fleet")["keyPair"]["PrivateKey"])
    return str(device.create_keys()["privateKey"])


@pytest.mark.parametrize("fresh_keys", [False, True], ids=["pooled", "fresh"])
def test_rapid_calls_through_every_key_issuing_operation_never_repeat_a_key(
    small_pool: KeySource, fresh_keys: bool
) -> None:
    with mock_iot_provisioning(fresh_keys=fresh_keys) as mock:
        client = iot_client()
        create_template(client)
        device = claim_client(mock, client)
        handed_out = [modulus(_hand_out(client, device, index)) for index in range(RAPID_CALLS)]
        # RegisterThing hands out no key (the device keeps the one CreateKeysAndCertificate gave it).
        outcome, reply = device.register(
            device.create_keys()["certificateOwnershipToken"], {"SerialNumber": "1"}
        )
        assert outcome == "accepted" and not any("key" in name.lower() for name in reply)
    assert len(set(handed_out)) == RAPID_CALLS


def test_a_forked_child_and_its_parent_never_hand_out_the_same_key(small_pool: KeySource) -> None:
    with MockIotProvisioning() as mock:
        client = iot_client()
        create_template(client)
        device = claim_client(mock, client)
        before = [modulus(_hand_out(client, device, index)) for index in range(3)]
        in_child = run_in_child(lambda: [modulus(_hand_out(client, device, i)) for i in range(6)])
        after = [modulus(_hand_out(client, device, index)) for index in range(6)]
    everything = before + in_child + after
    assert len(in_child) == 6 and len(set(everything)) == len(everything)
