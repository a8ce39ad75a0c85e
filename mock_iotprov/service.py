"""The service table: each implemented ``iot`` operation and the one domain function that answers it.

A handler takes the request context and the validated input members as keyword arguments (named as in
the model) and returns the output members as a dict; it never sees a raw request nor formats a response.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_iotprov.provisioning import templates
from mock_iotprov.registry import tags

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
    # Tags
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
}


def is_implemented(operation_name: str) -> bool:
    """Whether this mock answers ``operation_name``."""
    return operation_name in OPERATIONS
