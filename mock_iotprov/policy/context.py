"""The variable values of one connection, assembled from plain facts (pure: no registry access).

Supported variables (AWS IoT developer guide: basic-policy-variables.html, thing-policy-variables.html,
cert-policy-variables.html, use-policy-variables.html, certificate-policy-examples.html):

- ``iot:ClientId``; ``iot:DomainName`` (the server name the client asked for in TLS, when it sent one);
  ``aws:SourceIp`` (the client's address, for ``IpAddress`` conditions).
- ``iot:Connection.Thing.ThingName``, ``...ThingTypeName``, ``...Attributes[<name>]`` (only when the
  connection has a thing, see :class:`ThingFacts`) and ``iot:Connection.Thing.IsAttached`` (``true`` or
  ``false``, always present).
- ``iot:CertificateId``; ``iot:Certificate.SerialNumber`` (the serial as a decimal integer, as AWS documents);
  ``iot:Certificate.Subject.<attr>`` and ``iot:Certificate.Issuer.<attr>`` for ``DistinguishedNameQualifier``,
  ``Country``, ``Organization``, ``OrganizationalUnit``, ``State``, ``CommonName``, ``SerialNumber``,
  ``Title``, ``Surname``, ``GivenName``, ``Initials``, ``Pseudonym``, ``GenerationQualifier`` (each with
  ``.N`` and ``.List`` forms); ``iot:Certificate.Subject.AlternativeName.<kind>`` and
  ``iot:Certificate.Issuer.AlternativeName.<kind>`` for ``RFC822Name``, ``DNSName``, ``DirectoryName``,
  ``UniformResourceIdentifier``, ``IPAddress``; ``iot:Certificate.AvailableKeys`` (the names of the
  certificate variables that have values). Distinguished-name special characters (``, " \\ + = < > ;``) are
  backslash-escaped in the values, as AWS documents; a ``DirectoryName`` is written ``C=US, O=...`` in the
  certificate's attribute order (AWS's exact rendering is not documented).

Not supported (no value, so a statement entry using them never matches): variables of other transports and
services (Cognito identity, ``iot:Connection.Thing.*`` outside MQTT, Greengrass, jobs and shadows' own
variables), ``aws:CurrentTime``/``aws:EpochTime`` unless a caller supplies them, and anything AWS does not
list — in particular there are no ``iot:Certificate.Validity.*`` or ``iot:Certificate.FingerPrint``
variables in AWS's lists; subject ``Locality`` is not a policy variable either.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from mock_iotprov.policy.variables import PolicyVariables

NAME_ATTRIBUTES: dict[str, x509.ObjectIdentifier] = {
    "DistinguishedNameQualifier": NameOID.DN_QUALIFIER,
    "Country": NameOID.COUNTRY_NAME,
    "Organization": NameOID.ORGANIZATION_NAME,
    "OrganizationalUnit": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "State": NameOID.STATE_OR_PROVINCE_NAME,
    "CommonName": NameOID.COMMON_NAME,
    "SerialNumber": NameOID.SERIAL_NUMBER,
    "Title": NameOID.TITLE,
    "Surname": NameOID.SURNAME,
    "GivenName": NameOID.GIVEN_NAME,
    "Initials": NameOID.INITIALS,
    "Pseudonym": NameOID.PSEUDONYM,
    "GenerationQualifier": NameOID.GENERATION_QUALIFIER,
}
_SPECIAL = {c: "\\" + c for c in ',"\\+=<>;'}
_SHORT_NAMES = {
    NameOID.COUNTRY_NAME: "C",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.COMMON_NAME: "CN",
    NameOID.LOCALITY_NAME: "L",
}


@dataclass(frozen=True)
class ThingFacts:
    """The registry's facts about the connection's thing."""

    name: str
    thing_type_name: str | None = None
    attributes: Mapping[str, str] = field(default_factory=dict)


def _escaped(value: str) -> str:
    return "".join(_SPECIAL.get(character, character) for character in value)


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def _name_values(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [_escaped(_text(attribute.value)) for attribute in name.get_attributes_for_oid(oid)]


def _directory_name(name: x509.Name) -> str:
    parts = []
    for attribute in name:
        label = _SHORT_NAMES.get(attribute.oid, attribute.oid.dotted_string)
        parts.append(f"{label}={_text(attribute.value)}")
    return ", ".join(parts)


def _alternative_names(names: Iterable[x509.GeneralName]) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for general in names:
        if isinstance(general, x509.RFC822Name):
            kinds.setdefault("RFC822Name", []).append(general.value)
        elif isinstance(general, x509.DNSName):
            kinds.setdefault("DNSName", []).append(general.value)
        elif isinstance(general, x509.UniformResourceIdentifier):
            kinds.setdefault("UniformResourceIdentifier", []).append(general.value)
        elif isinstance(general, x509.IPAddress):
            kinds.setdefault("IPAddress", []).append(str(general.value))
        elif isinstance(general, x509.DirectoryName):
            kinds.setdefault("DirectoryName", []).append(_directory_name(general.value))
    return kinds


def _extension_names(certificate: x509.Certificate, oid: x509.ObjectIdentifier) -> dict[str, list[str]]:
    try:
        extension = certificate.extensions.get_extension_for_oid(oid)
    except (x509.ExtensionNotFound, ValueError):
        return {}
    value = extension.value
    if isinstance(value, (x509.SubjectAlternativeName, x509.IssuerAlternativeName)):
        return _alternative_names(value)
    return {}


def certificate_variables(certificate: x509.Certificate, certificate_id: str) -> dict[str, list[str]]:
    """The ``iot:Certificate*`` variables of a certificate."""
    cached = _certificate_variables(certificate, certificate_id)
    return {name: list(values) for name, values in cached.items()}


@functools.lru_cache(maxsize=4096)
def _certificate_variables(certificate: x509.Certificate, certificate_id: str) -> dict[str, list[str]]:
    """Computed once per certificate (the broker asks on every publish and delivery); callers copy."""
    found: dict[str, list[str]] = {"iot:Certificate.SerialNumber": [str(certificate.serial_number)]}
    for part, name in (("Subject", certificate.subject), ("Issuer", certificate.issuer)):
        for attribute, oid in NAME_ATTRIBUTES.items():
            values = _name_values(name, oid)
            if values:
                found[f"iot:Certificate.{part}.{attribute}"] = values
    for part, oid in (
        ("Subject", ExtensionOID.SUBJECT_ALTERNATIVE_NAME),
        ("Issuer", ExtensionOID.ISSUER_ALTERNATIVE_NAME),
    ):
        for kind, values in _extension_names(certificate, oid).items():
            found[f"iot:Certificate.{part}.AlternativeName.{kind}"] = values
    found["iot:Certificate.AvailableKeys"] = sorted(found)
    found["iot:CertificateId"] = [certificate_id]
    return found


def connection_variables(
    client_id: str,
    *,
    certificate: x509.Certificate | None = None,
    certificate_id: str | None = None,
    thing: ThingFacts | None = None,
    source_ip: str | None = None,
    domain_name: str | None = None,
    extra: Mapping[str, str | Sequence[str]] | None = None,
) -> PolicyVariables:
    """Every variable value of a connection; ``thing`` is the thing attached to its certificate, if any."""
    values: dict[str, str | Sequence[str]] = {"iot:ClientId": client_id}
    values["iot:Connection.Thing.IsAttached"] = "true" if thing is not None else "false"
    if thing is not None:
        values["iot:Connection.Thing.ThingName"] = thing.name
        if thing.thing_type_name is not None:
            values["iot:Connection.Thing.ThingTypeName"] = thing.thing_type_name
        for attribute, value in thing.attributes.items():
            values[f"iot:Connection.Thing.Attributes[{attribute}]"] = value
    if certificate is not None and certificate_id is not None:
        values.update(certificate_variables(certificate, certificate_id))
    if source_ip:
        values["aws:SourceIp"] = source_ip
    if domain_name:
        values["iot:DomainName"] = domain_name
    values.update(extra or {})
    return PolicyVariables(values)
