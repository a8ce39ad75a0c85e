"""Provisioning templates and their versions (the nine template operations of the control plane).

Behaviour reproduced (see the spec, section 5):

- A new template is **disabled** unless ``enabled`` is given, its ``type`` defaults to ``FLEET_PROVISIONING``
  and never changes, and version 1 is created as the default version.
- A pre-provisioning hook is allowed only on ``FLEET_PROVISIONING`` templates; its ``payloadVersion``
  defaults to ``2020-04-01``; only AWS Lambda function ARNs are accepted as targets.
- Version ids start at 1, increase by one and are never reused, even after a delete. At most 5 versions per
  template (``VersionsLimitExceededException``); the default version cannot be deleted
  (``DeleteConflictException``); creating a version bumps the template's ``lastModifiedDate`` even when it
  does not become the default.
- The template body is checked by the same structural validation RegisterThing uses, so a broken template
  is rejected when it is stored.
- At most 256 templates per account and region (``LimitExceededException``).

Where AWS is silent: a template named by a CA certificate's registration config cannot be deleted
(``DeleteConflictException``); ``UpdateProvisioningTemplate`` with both a hook and
``removePreProvisioningHook`` is an ``InvalidRequestException``; list operations return everything in one
page unless ``maxResults`` is given (templates ordered by name, versions by id).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import SortedKeys, page_of_keys, page_of_list
from mock_iotprov.protocol.errors import (
    ServiceError,
    already_exists,
    delete_conflict,
    invalid_request,
    limit_exceeded,
    not_found,
)
from mock_iotprov.provisioning.engine import TemplateError, check_template
from mock_iotprov.registry import memberships
from mock_iotprov.registry import tags as tag_store
from mock_iotprov.state import RequestContext

MAX_TEMPLATES = 256
MAX_VERSIONS = 5
DEFAULT_PAYLOAD_VERSION = "2020-04-01"
FLEET_PROVISIONING = "FLEET_PROVISIONING"
JITP = "JITP"


@dataclass
class TemplateVersion:
    """One stored version of a template body."""

    version_id: int
    body: str
    created: datetime.datetime


@dataclass
class ProvisioningTemplate:
    """A stored provisioning template."""

    name: str
    arn: str
    template_type: str
    role_arn: str
    description: str | None
    enabled: bool
    hook: dict[str, str] | None
    created: datetime.datetime
    modified: datetime.datetime
    versions: dict[int, TemplateVersion]
    default_version_id: int = 1
    last_version_id: int = 1

    @property
    def default_version(self) -> TemplateVersion:
        return self.versions[self.default_version_id]


@dataclass
class TemplateTables:
    """The templates of one account and region."""

    templates: dict[str, ProvisioningTemplate] = field(default_factory=dict)
    names: SortedKeys = field(default_factory=SortedKeys)


def _tables(ctx: RequestContext) -> TemplateTables:
    return ctx.store.component(TemplateTables)


def template_arn(ctx: RequestContext, name: str) -> str:
    """``arn:aws:iot:{region}:{account}:provisioningtemplate/{name}``."""
    return ctx.arn(f"provisioningtemplate/{name}")


def find_template(ctx: RequestContext, name: str) -> ProvisioningTemplate:
    """The template called ``name``, or ``ResourceNotFoundException``."""
    found = _tables(ctx).templates.get(name)
    if found is None:
        raise not_found(f"The provisioning template {name} does not exist.")
    return found


def template_exists(ctx: RequestContext, name: str) -> bool:
    """Whether a template called ``name`` exists (used by tagging)."""
    return name in _tables(ctx).templates


def _checked_body(body: str) -> str:
    try:
        check_template(body)
    except TemplateError as exc:
        raise invalid_request(f"Invalid template body: {exc.message}") from None
    return body


def _checked_hook(hook: dict[str, Any] | None, template_type: str) -> dict[str, str] | None:
    if hook is None:
        return None
    if template_type != FLEET_PROVISIONING:
        raise invalid_request(
            "A pre-provisioning hook can only be used with templates of type FLEET_PROVISIONING."
        )
    target = str(hook["targetArn"])
    if not target.startswith("arn:") or ":lambda:" not in target:
        raise invalid_request(
            f"Invalid pre-provisioning hook target {target}: only AWS Lambda function ARNs are supported."
        )
    return {"targetArn": target, "payloadVersion": str(hook.get("payloadVersion") or DEFAULT_PAYLOAD_VERSION)}


def create_provisioning_template(
    ctx: RequestContext,
    *,
    templateName: str,
    templateBody: str,
    provisioningRoleArn: str,
    description: str | None = None,
    enabled: bool | None = None,
    preProvisioningHook: dict[str, Any] | None = None,
    tags: list[dict[str, str]] | None = None,
    type: str | None = None,  # noqa: A002 - the model's member name
) -> dict[str, Any]:
    """CreateProvisioningTemplate."""
    tables = _tables(ctx)
    arn = template_arn(ctx, templateName)
    if templateName in tables.templates:
        raise already_exists(f"Template with name {templateName} already exists.", templateName, arn)
    template_type = type or FLEET_PROVISIONING
    hook = _checked_hook(preProvisioningHook, template_type)
    body = _checked_body(templateBody)
    if len(tables.templates) >= MAX_TEMPLATES:
        raise limit_exceeded(f"The maximum number of provisioning templates ({MAX_TEMPLATES}) was reached.")
    now = ctx.now()
    template = ProvisioningTemplate(
        name=templateName,
        arn=arn,
        template_type=template_type,
        role_arn=provisioningRoleArn,
        description=description,
        enabled=bool(enabled),
        hook=hook,
        created=now,
        modified=now,
        versions={1: TemplateVersion(1, body, now)},
    )
    if tags:
        tag_store.add_tags(ctx, arn, tags)
    tables.templates[templateName] = template
    tables.names.add(templateName)
    return {"templateArn": arn, "templateName": templateName, "defaultVersionId": 1}


def describe_provisioning_template(ctx: RequestContext, *, templateName: str) -> dict[str, Any]:
    """DescribeProvisioningTemplate: ``templateBody`` is the default version's body."""
    template = find_template(ctx, templateName)
    return {
        "templateArn": template.arn,
        "templateName": template.name,
        "description": template.description,
        "creationDate": template.created,
        "lastModifiedDate": template.modified,
        "defaultVersionId": template.default_version_id,
        "templateBody": template.default_version.body,
        "enabled": template.enabled,
        "provisioningRoleArn": template.role_arn,
        "preProvisioningHook": dict(template.hook) if template.hook else None,
        "type": template.template_type,
    }


def list_provisioning_templates(
    ctx: RequestContext, *, maxResults: int | None = None, nextToken: str | None = None
) -> dict[str, Any]:
    """ListProvisioningTemplates, ordered by name."""
    tables = _tables(ctx)
    names, token = page_of_keys(tables.names, nextToken, maxResults, default_limit=250)
    summaries = []
    for name in names:
        template = tables.templates[name]
        summaries.append(
            {
                "templateArn": template.arn,
                "templateName": template.name,
                "description": template.description,
                "creationDate": template.created,
                "lastModifiedDate": template.modified,
                "enabled": template.enabled,
                "type": template.template_type,
            }
        )
    return {"templates": summaries, "nextToken": token}


def update_provisioning_template(
    ctx: RequestContext,
    *,
    templateName: str,
    description: str | None = None,
    enabled: bool | None = None,
    defaultVersionId: int | None = None,
    provisioningRoleArn: str | None = None,
    preProvisioningHook: dict[str, Any] | None = None,
    removePreProvisioningHook: bool | None = None,
) -> dict[str, Any]:
    """UpdateProvisioningTemplate: every check runs before anything changes."""
    template = find_template(ctx, templateName)
    if preProvisioningHook is not None and removePreProvisioningHook:
        raise invalid_request("preProvisioningHook and removePreProvisioningHook cannot be used together.")
    hook = _checked_hook(preProvisioningHook, template.template_type)
    if defaultVersionId is not None and defaultVersionId not in template.versions:
        raise not_found(f"Version {defaultVersionId} of provisioning template {templateName} does not exist.")
    if description is not None:
        template.description = description
    if enabled is not None:
        template.enabled = enabled
    if defaultVersionId is not None:
        template.default_version_id = defaultVersionId
    if provisioningRoleArn is not None:
        template.role_arn = provisioningRoleArn
    if hook is not None:
        template.hook = hook
    if removePreProvisioningHook:
        template.hook = None
    template.modified = ctx.now()
    return {}


def delete_provisioning_template(ctx: RequestContext, *, templateName: str) -> dict[str, Any]:
    """DeleteProvisioningTemplate: deletes every version and the template's tags.

    A template still named by a CA certificate's registration config (JITP) cannot be deleted
    (``DeleteConflictException``); AWS documents the error, this is the case that plainly triggers it.
    """
    template = find_template(ctx, templateName)
    if memberships.template_in_use(ctx, templateName):
        raise delete_conflict(
            f"The provisioning template {templateName} is used by a CA certificate's registration config."
        )
    tables = _tables(ctx)
    del tables.templates[templateName]
    tables.names.discard(templateName)
    tag_store.forget(ctx, template.arn)
    return {}


def create_provisioning_template_version(
    ctx: RequestContext, *, templateName: str, templateBody: str, setAsDefault: bool | None = None
) -> dict[str, Any]:
    """CreateProvisioningTemplateVersion: the next id; default only with ``setAsDefault=true``."""
    template = find_template(ctx, templateName)
    if len(template.versions) >= MAX_VERSIONS:
        raise ServiceError(
            "VersionsLimitExceededException",
            f"The provisioning template {templateName} already has the maximum of {MAX_VERSIONS} versions.",
        )
    body = _checked_body(templateBody)
    now = ctx.now()
    version_id = template.last_version_id + 1
    template.last_version_id = version_id
    template.versions[version_id] = TemplateVersion(version_id, body, now)
    if setAsDefault:
        template.default_version_id = version_id
    template.modified = now
    return {
        "templateArn": template.arn,
        "templateName": template.name,
        "versionId": version_id,
        "isDefaultVersion": template.default_version_id == version_id,
    }


def _find_version(template: ProvisioningTemplate, version_id: int) -> TemplateVersion:
    found = template.versions.get(version_id)
    if found is None:
        raise not_found(f"Version {version_id} of provisioning template {template.name} does not exist.")
    return found


def describe_provisioning_template_version(
    ctx: RequestContext, *, templateName: str, versionId: int
) -> dict[str, Any]:
    """DescribeProvisioningTemplateVersion."""
    template = find_template(ctx, templateName)
    version = _find_version(template, versionId)
    return {
        "versionId": version.version_id,
        "creationDate": version.created,
        "templateBody": version.body,
        "isDefaultVersion": template.default_version_id == version.version_id,
    }


def list_provisioning_template_versions(
    ctx: RequestContext,
    *,
    templateName: str,
    maxResults: int | None = None,
    nextToken: str | None = None,
) -> dict[str, Any]:
    """ListProvisioningTemplateVersions, ascending by version id."""
    template = find_template(ctx, templateName)
    ordered = [template.versions[k] for k in sorted(template.versions)]
    page, token = page_of_list(ordered, nextToken, maxResults, default_limit=250)
    return {
        "versions": [
            {
                "versionId": v.version_id,
                "creationDate": v.created,
                "isDefaultVersion": template.default_version_id == v.version_id,
            }
            for v in page
        ],
        "nextToken": token,
    }


def delete_provisioning_template_version(
    ctx: RequestContext, *, templateName: str, versionId: int
) -> dict[str, Any]:
    """DeleteProvisioningTemplateVersion: the default version cannot be deleted."""
    template = find_template(ctx, templateName)
    _find_version(template, versionId)
    if versionId == template.default_version_id:
        raise delete_conflict(
            f"Version {versionId} is the default version of provisioning template {templateName} "
            "and cannot be deleted."
        )
    del template.versions[versionId]
    return {}
