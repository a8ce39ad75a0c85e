"""Policy-variable values taken from a real X.509 certificate and from a connection's facts, as AWS lists them
(cert-policy-variables.html, use-policy-variables.html, thing-policy-variables.html)."""

from __future__ import annotations

import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mock_iotprov.policy import evaluate, parse_policy
from mock_iotprov.policy.context import ThingFacts, certificate_variables, connection_variables

ARN = "arn:aws:iot:us-east-1:123456789012:"


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


@pytest.fixture(scope="module")
def aws_example_certificate() -> x509.Certificate:
    """The example certificate of AWS's "Using X.509 certificate policy variables" page."""
    issuer = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "IoT Devices"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "SmartHome"),
        (NameOID.STATE_OR_PROVINCE_NAME, "WA"),
        (NameOID.COMMON_NAME, "IoT Devices Primary CA"),
        (NameOID.GIVEN_NAME, "Primary CA1"),
        (NameOID.INITIALS, "XY"),
        (NameOID.DN_QUALIFIER, "Example corp"),
        (NameOID.SURNAME, "SmartHome"),
        (NameOID.TITLE, "CA1"),
        (NameOID.PSEUDONYM, "Primary_CA"),
        (NameOID.GENERATION_QUALIFIER, "2"),
        (NameOID.SERIAL_NUMBER, "987"),
    )
    subject = _name(
        (NameOID.COUNTRY_NAME, "US"),
        (NameOID.ORGANIZATION_NAME, "IoT Devices"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "LightBulb"),
        (NameOID.STATE_OR_PROVINCE_NAME, "NY"),
        (NameOID.COMMON_NAME, "LightBulb Device Cert"),
        (NameOID.GIVEN_NAME, "Bulb"),
        (NameOID.INITIALS, "ZZ"),
        (NameOID.DN_QUALIFIER, "Bulb001"),
        (NameOID.SURNAME, "Multi Color"),
        (NameOID.TITLE, "RGB"),
        (NameOID.PSEUDONYM, "RGB Device"),
        (NameOID.GENERATION_QUALIFIER, "4"),
        (NameOID.SERIAL_NUMBER, "123"),
    )
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName(
        [
            x509.DNSName("example.com"),
            x509.IPAddress(ipaddress.ip_address("1.2.3.4")),
            x509.UniformResourceIdentifier("ResourceIdentifier001"),
            x509.RFC822Name("device1@example.com"),
            x509.DirectoryName(
                _name(
                    (NameOID.COUNTRY_NAME, "US"),
                    (NameOID.ORGANIZATION_NAME, "IoT"),
                    (NameOID.ORGANIZATIONAL_UNIT_NAME, "SmartHome"),
                    (NameOID.COMMON_NAME, "LightBulbCert"),
                )
            ),
        ]
    )
    ian = x509.IssuerAlternativeName([x509.DNSName("issuer.com"), x509.RFC822Name("primary@issuer.com")])
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(0x921285CBB7A5E086)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(san, critical=False)
        .add_extension(ian, critical=False)
        .sign(key, hashes.SHA256())
    )


def test_serial_number_is_the_decimal_integer_aws_documents(
    aws_example_certificate: x509.Certificate,
) -> None:
    values = certificate_variables(aws_example_certificate, "c0ffee")
    assert values["iot:Certificate.SerialNumber"] == ["10525622389124227206"]


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("iot:Certificate.Subject.Country", "US"),
        ("iot:Certificate.Subject.Organization", "IoT Devices"),
        ("iot:Certificate.Subject.OrganizationalUnit", "LightBulb"),
        ("iot:Certificate.Subject.State", "NY"),
        ("iot:Certificate.Subject.CommonName", "LightBulb Device Cert"),
        ("iot:Certificate.Subject.GivenName", "Bulb"),
        ("iot:Certificate.Subject.Initials", "ZZ"),
        ("iot:Certificate.Subject.DistinguishedNameQualifier", "Bulb001"),
        ("iot:Certificate.Subject.Surname", "Multi Color"),
        ("iot:Certificate.Subject.Title", "RGB"),
        ("iot:Certificate.Subject.Pseudonym", "RGB Device"),
        ("iot:Certificate.Subject.GenerationQualifier", "4"),
        ("iot:Certificate.Subject.SerialNumber", "123"),
        ("iot:Certificate.Issuer.Country", "US"),
        ("iot:Certificate.Issuer.Organization", "IoT Devices"),
        ("iot:Certificate.Issuer.OrganizationalUnit", "SmartHome"),
        ("iot:Certificate.Issuer.State", "WA"),
        ("iot:Certificate.Issuer.CommonName", "IoT Devices Primary CA"),
        ("iot:Certificate.Issuer.GivenName", "Primary CA1"),
        ("iot:Certificate.Issuer.Initials", "XY"),
        ("iot:Certificate.Issuer.DistinguishedNameQualifier", "Example corp"),
        ("iot:Certificate.Issuer.Surname", "SmartHome"),
        ("iot:Certificate.Issuer.Title", "CA1"),
        ("iot:Certificate.Issuer.Pseudonym", "Primary_CA"),
        ("iot:Certificate.Issuer.GenerationQualifier", "2"),
        ("iot:Certificate.Issuer.SerialNumber", "987"),
        ("iot:Certificate.Subject.AlternativeName.DNSName", "example.com"),
        ("iot:Certificate.Subject.AlternativeName.IPAddress", "1.2.3.4"),
        ("iot:Certificate.Subject.AlternativeName.UniformResourceIdentifier", "ResourceIdentifier001"),
        ("iot:Certificate.Subject.AlternativeName.RFC822Name", "device1@example.com"),
        (
            "iot:Certificate.Subject.AlternativeName.DirectoryName",
            "C=US, O=IoT, OU=SmartHome, CN=LightBulbCert",
        ),
        ("iot:Certificate.Issuer.AlternativeName.DNSName", "issuer.com"),
        ("iot:Certificate.Issuer.AlternativeName.RFC822Name", "primary@issuer.com"),
        ("iot:CertificateId", "c0ffee"),
    ],
)
def test_certificate_variable(
    aws_example_certificate: x509.Certificate, variable: str, expected: str
) -> None:
    variables = connection_variables("c", certificate=aws_example_certificate, certificate_id="c0ffee")
    assert variables.value(variable) == expected
    policy = parse_policy(
        {
            "Statement": [
                {"Effect": "Allow", "Action": "iot:Publish", "Resource": ARN + "topic/${%s}" % variable}
            ]
        }
    )
    assert evaluate([policy], "iot:Publish", ARN + "topic/" + expected, variables).allowed


def test_available_keys_lists_the_certificate_variables_with_values(
    aws_example_certificate: x509.Certificate,
) -> None:
    variables = connection_variables("c", certificate=aws_example_certificate, certificate_id="c0ffee")
    keys = variables.values("iot:Certificate.AvailableKeys.List")
    assert keys is not None
    assert "iot:Certificate.Subject.CommonName" in keys
    assert "iot:Certificate.Issuer.AlternativeName.DNSName" in keys
    assert "iot:Certificate.Subject.Locality" not in keys


def test_special_characters_are_backslash_escaped() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name((NameOID.COMMON_NAME, "Amazon Web Services O=Amazon.com Inc. L=Seattle"))
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    values = certificate_variables(certificate, "id")
    assert values["iot:Certificate.Issuer.CommonName"] == [
        "Amazon Web Services O\\=Amazon.com Inc. L\\=Seattle"
    ]


def test_thing_variables_only_with_an_attached_thing() -> None:
    bare = connection_variables("dev1")
    assert bare.value("iot:ClientId") == "dev1"
    assert bare.value("iot:Connection.Thing.IsAttached") == "false"
    assert bare.value("iot:Connection.Thing.ThingName") is None
    thing = ThingFacts("dev1", "Lamp", {"color": "blue"})
    attached = connection_variables("dev1", thing=thing, source_ip="127.0.0.1", domain_name="iot.local")
    assert attached.value("iot:Connection.Thing.IsAttached") == "true"
    assert attached.value("iot:Connection.Thing.ThingName") == "dev1"
    assert attached.value("iot:Connection.Thing.ThingTypeName") == "Lamp"
    assert attached.value("iot:Connection.Thing.Attributes[color]") == "blue"
    assert attached.value("aws:SourceIp") == "127.0.0.1"
    assert attached.value("iot:DomainName") == "iot.local"
