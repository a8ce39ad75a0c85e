"""The service table: each implemented ``iot`` operation and the one domain function that answers it.

A handler takes the request context and the validated input members as keyword arguments (named as in
the model) and returns the output members as a dict; it never sees a raw request nor formats a response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_iotprov.indexing import configuration as indexing
from mock_iotprov.indexing import search
from mock_iotprov.provisioning import bulk_registration, claims, registration, templates
from mock_iotprov.registry import (
    billing_groups,
    ca_certificates,
    certificate_listing,
    certificates,
    endpoint,
    events,
    groups,
    policies,
    policy_attachments,
    principals,
    role_aliases,
    tags,
    thing_types,
    things,
)

Handler = Callable[..., dict[str, Any]]

OPERATIONS: dict[str, Handler] = {
    # Provisioning templates and versions
    "CreateProvisioningTemplate": templates.create_provisioning_template,
    "DescribeProvisioningTemplate": templates.describe_provisioning_template,
    "ListProvisioningTemplates": templates.list_provisioning_templates,
    "UpdateProvisioningTemplate": templates.update_provisioning_template,
    "DeleteProvisioningTemplate": templates.delete_provisioning_template,
    "CreateProvisioningTemplateVersion": templates.create_provisioning_template_version,
    "DescribeProvisioningTemplateVersion": templates.describe_provisioning_template_version,
    "ListProvisioningTemplateVersions": templates.list_provisioning_template_versions,
    "DeleteProvisioningTemplateVersion": templates.delete_provisioning_template_version,
    # Policies, policy versions and attachments, thing principals, endpoint
    "CreatePolicy": policies.create_policy,
    "GetPolicy": policies.get_policy,
    "ListPolicies": policies.list_policies,
    "DeletePolicy": policies.delete_policy,
    "CreatePolicyVersion": policies.create_policy_version,
    "GetPolicyVersion": policies.get_policy_version,
    "ListPolicyVersions": policies.list_policy_versions,
    "SetDefaultPolicyVersion": policies.set_default_policy_version,
    "DeletePolicyVersion": policies.delete_policy_version,
    "AttachPolicy": policy_attachments.attach_policy,
    "DetachPolicy": policy_attachments.detach_policy,
    "ListAttachedPolicies": policy_attachments.list_attached_policies,
    "ListTargetsForPolicy": policy_attachments.list_targets_for_policy,
    "AttachPrincipalPolicy": policy_attachments.attach_principal_policy,
    "DetachPrincipalPolicy": policy_attachments.detach_principal_policy,
    "ListPrincipalPolicies": policy_attachments.list_principal_policies,
    "ListPolicyPrincipals": policy_attachments.list_policy_principals,
    "AttachThingPrincipal": principals.attach_thing_principal,
    "DetachThingPrincipal": principals.detach_thing_principal,
    "ListThingPrincipals": principals.list_thing_principals,
    "ListThingPrincipalsV2": principals.list_thing_principals_v2,
    "ListPrincipalThings": principals.list_principal_things,
    "ListPrincipalThingsV2": principals.list_principal_things_v2,
    "DescribeEndpoint": endpoint.describe_endpoint,
    # Provisioning: claims and RegisterThing
    "CreateProvisioningClaim": claims.create_provisioning_claim,
    "RegisterThing": registration.register_thing,
    "StartThingRegistrationTask": bulk_registration.start_thing_registration_task,
    "DescribeThingRegistrationTask": bulk_registration.describe_thing_registration_task,
    "ListThingRegistrationTasks": bulk_registration.list_thing_registration_tasks,
    "StopThingRegistrationTask": bulk_registration.stop_thing_registration_task,
    "ListThingRegistrationTaskReports": bulk_registration.list_thing_registration_task_reports,
    # Certificates and CA certificates
    "CreateKeysAndCertificate": certificates.create_keys_and_certificate,
    "CreateCertificateFromCsr": certificates.create_certificate_from_csr,
    "RegisterCertificate": certificates.register_certificate,
    "RegisterCertificateWithoutCA": certificates.register_certificate_without_ca,
    "DescribeCertificate": certificates.describe_certificate,
    "ListCertificates": certificate_listing.list_certificates,
    "ListCertificatesByCA": certificate_listing.list_certificates_by_ca,
    "UpdateCertificate": certificates.update_certificate,
    "DeleteCertificate": certificates.delete_certificate,
    "GetRegistrationCode": ca_certificates.get_registration_code,
    "RegisterCACertificate": ca_certificates.register_ca_certificate,
    "DescribeCACertificate": ca_certificates.describe_ca_certificate,
    "ListCACertificates": ca_certificates.list_ca_certificates,
    "UpdateCACertificate": ca_certificates.update_ca_certificate,
    "DeleteCACertificate": ca_certificates.delete_ca_certificate,
    # Things, thing types, thing groups, billing groups
    "CreateThing": things.create_thing,
    "DescribeThing": things.describe_thing,
    "ListThings": things.list_things,
    "UpdateThing": things.update_thing,
    "DeleteThing": things.delete_thing,
    "CreateThingType": thing_types.create_thing_type,
    "DescribeThingType": thing_types.describe_thing_type,
    "ListThingTypes": thing_types.list_thing_types,
    "UpdateThingType": thing_types.update_thing_type,
    "DeprecateThingType": thing_types.deprecate_thing_type,
    "DeleteThingType": thing_types.delete_thing_type,
    "CreateThingGroup": groups.create_thing_group,
    "DescribeThingGroup": groups.describe_thing_group,
    "ListThingGroups": groups.list_thing_groups,
    "UpdateThingGroup": groups.update_thing_group,
    "DeleteThingGroup": groups.delete_thing_group,
    "AddThingToThingGroup": groups.add_thing_to_thing_group,
    "RemoveThingFromThingGroup": groups.remove_thing_from_thing_group,
    "ListThingsInThingGroup": groups.list_things_in_thing_group,
    "ListThingGroupsForThing": groups.list_thing_groups_for_thing,
    "UpdateThingGroupsForThing": groups.update_thing_groups_for_thing,
    "CreateBillingGroup": billing_groups.create_billing_group,
    "DescribeBillingGroup": billing_groups.describe_billing_group,
    "ListBillingGroups": billing_groups.list_billing_groups,
    "UpdateBillingGroup": billing_groups.update_billing_group,
    "DeleteBillingGroup": billing_groups.delete_billing_group,
    "AddThingToBillingGroup": billing_groups.add_thing_to_billing_group,
    "RemoveThingFromBillingGroup": billing_groups.remove_thing_from_billing_group,
    "ListThingsInBillingGroup": billing_groups.list_things_in_billing_group,
    # Role aliases
    "CreateRoleAlias": role_aliases.create_role_alias,
    "DescribeRoleAlias": role_aliases.describe_role_alias,
    "ListRoleAliases": role_aliases.list_role_aliases,
    "UpdateRoleAlias": role_aliases.update_role_alias,
    "DeleteRoleAlias": role_aliases.delete_role_alias,
    # Fleet indexing
    "UpdateIndexingConfiguration": indexing.update_indexing_configuration,
    "GetIndexingConfiguration": indexing.get_indexing_configuration,
    "DescribeIndex": indexing.describe_index,
    "ListIndices": indexing.list_indices,
    "SearchIndex": search.search_index,
    # Registry events
    "DescribeEventConfigurations": events.describe_event_configurations,
    "UpdateEventConfigurations": events.update_event_configurations,
    # Tags
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
}


def is_implemented(operation_name: str) -> bool:
    """Whether this mock answers ``operation_name``."""
    return operation_name in OPERATIONS
