"""Bulk registration (AWS's third provisioning method): StartThingRegistrationTask,
DescribeThingRegistrationTask, ListThingRegistrationTasks, StopThingRegistrationTask,
ListThingRegistrationTaskReports.

Behaviour reproduced (developer guide "Bulk registration", API reference, spec section 3.5):

- ``StartThingRegistrationTask`` checks the template as RegisterThing would (``InvalidRequestException``)
  and answers a ``taskId`` at once; the task then runs in the background, status ``InProgress``.
- The input file (``inputFileBucket``/``inputFileKey``, read through S3, see ``bulk_s3``) holds one JSON
  object of template parameters per line. Each line is provisioned by the same engine and the same
  all-or-nothing apply as ``RegisterThing`` (``registration.apply_plan``): a failing line changes nothing
  and counts in ``failureCount``, a succeeding one in ``successCount``; ``percentageProgress`` is the share
  of lines done.
- Result lines are ``{"response": {"CertificatePem": ..., "ResourceArns": {...}}, "lineNumber": n,
  "offset": n}``; error lines are ``{"errorMessage": "com.amazonaws.services.iot.model.<Code>: <message>
  (Service: AWSIot; Status Code: <status>; Error Code: <Code>; Request ID: <id>; Proxy: null)",
  "lineNumber": n, "offset": n, "response": null}`` (a real error file), ``lineNumber`` counting from 1 and
  ``offset`` the byte offset just past the line; lines are written compact (no spaces after ``,`` and
  ``:``), as in that file.
- Statuses: ``InProgress`` → ``Completed`` (even when lines failed); ``Failed`` when the input file cannot be
  read or the reports cannot be written (``message`` says why); ``StopThingRegistrationTask`` →
  ``Cancelling`` → ``Cancelled`` after the line being provisioned (lines done stay done).
- Only one bulk registration task at a time per account and region: starting another while one is
  ``InProgress`` or ``Cancelling`` is an ``InvalidRequestException`` (the operation declares no other fit).

Where AWS is silent: the report files are written into the input bucket under
``thing-registration-tasks/{taskId}/RESULTS/{taskId}-1`` and ``.../ERRORS/{taskId}-1`` (only when they have
lines) and ``ListThingRegistrationTaskReports`` answers presigned links to them once the task has ended;
``roleArn`` must be an IAM role ARN; an input line whose parameter values are numbers or booleans passes
them as their JSON text, other values are an ``InvalidRequestException`` line; blank lines are skipped;
``ListThingRegistrationTasks`` lists in creation order; stopping a task that has ended is an
``InvalidRequestException``; the reports of an unknown task are an empty list (the operation declares no
``ResourceNotFoundException``, as ``ListCertificatesByCA`` for an unknown CA).

Tests wait for tasks with ``MockIotProvisioning.wait_for_registration_tasks()`` (or poll
``DescribeThingRegistrationTask`` until the status is no longer ``InProgress``/``Cancelling``).
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from mock_iotprov.pagination import page_of_list
from mock_iotprov.protocol.errors import ServiceError, invalid_request, not_found
from mock_iotprov.protocol.serialize import error_status
from mock_iotprov.provisioning import bulk_s3
from mock_iotprov.provisioning.engine import TemplateError, check_template, evaluate_template
from mock_iotprov.provisioning.registration import apply_plan
from mock_iotprov.registry.role_aliases import is_role_arn
from mock_iotprov.state import RequestContext, Store

IN_PROGRESS, COMPLETED, FAILED = "InProgress", "Completed", "Failed"
CANCELLING, CANCELLED = "Cancelling", "Cancelled"
RUNNING = (IN_PROGRESS, CANCELLING)
DEFAULT_PAGE_SIZE = 250


@dataclass
class RegistrationTask:
    """One bulk registration task and its progress."""

    task_id: str
    template_body: str
    bucket: str
    key: str
    role_arn: str
    created: datetime.datetime
    modified: datetime.datetime
    status: str = IN_PROGRESS
    message: str | None = None
    success_count: int = 0
    failure_count: int = 0
    percentage: int = 0
    reports: dict[str, list[str]] = field(default_factory=lambda: {"RESULTS": [], "ERRORS": []})
    cancel_requested: bool = False


@dataclass
class RegistrationTaskTables:
    """The bulk registration tasks of one account and region, in creation order."""

    tasks: dict[str, RegistrationTask] = field(default_factory=dict)


def _tables(ctx: RequestContext) -> RegistrationTaskTables:
    return ctx.store.component(RegistrationTaskTables)


def _find(ctx: RequestContext, task_id: str) -> RegistrationTask:
    found = _tables(ctx).tasks.get(task_id)
    if found is None:
        raise not_found(f"Thing registration task {task_id} does not exist.")
    return found


def wait_for_tasks(stores: list[Store], timeout: float) -> bool:
    """Wait until every task of ``stores`` has ended; False if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    for store in stores:
        for task in list(store.component(RegistrationTaskTables).tasks.values()):
            while task.status in RUNNING:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)
    return True


def _java_error(error: ServiceError) -> str:
    code = error.code
    return (
        f"com.amazonaws.services.iot.model.{code}: {error.message} (Service: AWSIot; Status Code: "
        f"{error_status(error)}; Error Code: {code}; Request ID: {uuid.uuid4()}; Proxy: null)"
    )


def _report_line(entry: dict[str, Any]) -> str:
    """One report line, compact as in AWS's report files (``{"errorMessage":"...","lineNumber":1,...}``)."""
    return json.dumps(entry, separators=(",", ":"))


def _line_parameters(text: str) -> dict[str, str]:
    try:
        parsed = json.loads(text)
    except ValueError:
        raise invalid_request("The input line is not a JSON object.") from None
    if not isinstance(parsed, dict):
        raise invalid_request("The input line is not a JSON object.")
    parameters: dict[str, str] = {}
    for name, value in parsed.items():
        if isinstance(value, str):
            parameters[name] = value
        elif isinstance(value, (bool, int, float)):
            parameters[name] = json.dumps(value)
        else:
            raise invalid_request(f"The value of parameter {name} must be a string.")
    return parameters


def _register_line(ctx: RequestContext, template_body: str, text: str) -> dict[str, Any]:
    """Provision one input line (all or nothing); the result line's ``response``, or ``ServiceError``."""
    parameters = _line_parameters(text)
    with ctx.store.lock:
        try:
            plan = evaluate_template(template_body, parameters)
        except TemplateError as exc:
            raise invalid_request(exc.message) from None
        result = apply_plan(ctx, plan)
    response: dict[str, Any] = {"ResourceArns": dict(result.resource_arns)}
    if result.certificate_pem is not None:
        response = {"CertificatePem": result.certificate_pem, **response}
    return response


def _finish(ctx: RequestContext, task: RegistrationTask, status: str, message: str | None = None) -> None:
    with ctx.store.lock:
        task.status = status
        task.message = message
        if status != FAILED:
            task.percentage = 100 if status == COMPLETED else task.percentage
        task.modified = ctx.now()


def _lines(data: bytes) -> list[tuple[int, int, str]]:
    """(line number from 1, offset just past the line, text) of every non-blank line."""
    found: list[tuple[int, int, str]] = []
    offset = 0
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        offset += len(raw)
        text = raw.decode("utf-8", errors="replace").strip()
        if text:
            found.append((number, offset, text))
    return found


def _run(ctx: RequestContext, task: RegistrationTask) -> None:
    """The task's thread: read, provision line by line, write the reports."""
    try:
        client = bulk_s3.s3_client(ctx.region)
        data = bulk_s3.read_input(client, task.bucket, task.key)
    except Exception as exc:  # S3Unavailable, or no credentials / no region for the client
        _finish(ctx, task, FAILED, f"Unable to read the input file s3://{task.bucket}/{task.key}: {exc}")
        return
    lines = _lines(data)
    results: list[str] = []
    errors: list[str] = []
    for done, (number, offset, text) in enumerate(lines, start=1):
        if task.cancel_requested:
            break
        try:
            response = _register_line(ctx, task.template_body, text)
        except ServiceError as error:
            entry = {
                "errorMessage": _java_error(error),
                "lineNumber": number,
                "offset": offset,
                "response": None,
            }
            errors.append(_report_line(entry))
        except Exception as exc:  # never let a line kill the task
            failure = ServiceError("InternalFailureException", f"Unexpected failure: {exc!r}")
            entry = {
                "errorMessage": _java_error(failure),
                "lineNumber": number,
                "offset": offset,
                "response": None,
            }
            errors.append(_report_line(entry))
        else:
            results.append(_report_line({"response": response, "lineNumber": number, "offset": offset}))
        with ctx.store.lock:
            task.success_count, task.failure_count = len(results), len(errors)
            task.percentage = done * 100 // len(lines)
            task.modified = ctx.now()
    try:
        links = {}
        for kind, report in (("RESULTS", results), ("ERRORS", errors)):
            if report:
                key = f"thing-registration-tasks/{task.task_id}/{kind}/{task.task_id}-1"
                links[kind] = [bulk_s3.write_report(client, task.bucket, key, report)]
    except Exception as exc:
        _finish(ctx, task, FAILED, f"Unable to write the task reports to s3://{task.bucket}: {exc}")
        return
    with ctx.store.lock:
        task.reports.update(links)
    _finish(ctx, task, CANCELLED if task.cancel_requested else COMPLETED)


def start_thing_registration_task(
    ctx: RequestContext, *, templateBody: str, inputFileBucket: str, inputFileKey: str, roleArn: str
) -> dict[str, Any]:
    """StartThingRegistrationTask: checks, then provisions in a background thread."""
    try:
        check_template(templateBody)
    except TemplateError as exc:
        raise invalid_request(exc.message) from None
    if not is_role_arn(roleArn):
        raise invalid_request(f"Invalid roleArn: {roleArn} is not the ARN of an IAM role.")
    tables = _tables(ctx)
    for running in tables.tasks.values():
        if running.status in RUNNING:
            raise invalid_request(
                f"Thing registration task {running.task_id} is still running: only one bulk registration "
                "task can run at a time."
            )
    now = ctx.now()
    task = RegistrationTask(str(uuid.uuid4()), templateBody, inputFileBucket, inputFileKey, roleArn, now, now)
    tables.tasks[task.task_id] = task
    worker = threading.Thread(target=_run, args=(ctx, task), name=f"thing-registration-{task.task_id}")
    worker.daemon = True
    worker.start()
    return {"taskId": task.task_id}


def describe_thing_registration_task(ctx: RequestContext, *, taskId: str) -> dict[str, Any]:
    """DescribeThingRegistrationTask."""
    task = _find(ctx, taskId)
    return {
        "taskId": task.task_id,
        "creationDate": task.created,
        "lastModifiedDate": task.modified,
        "templateBody": task.template_body,
        "inputFileBucket": task.bucket,
        "inputFileKey": task.key,
        "roleArn": task.role_arn,
        "status": task.status,
        "message": task.message,
        "successCount": task.success_count,
        "failureCount": task.failure_count,
        "percentageProgress": task.percentage,
    }


def list_thing_registration_tasks(
    ctx: RequestContext,
    *,
    nextToken: str | None = None,
    maxResults: int | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """ListThingRegistrationTasks, in creation order, optionally of one status."""
    ids = [t.task_id for t in _tables(ctx).tasks.values() if status is None or t.status == status]
    page, token = page_of_list(ids, nextToken, maxResults, DEFAULT_PAGE_SIZE)
    return {"taskIds": page, "nextToken": token}


def stop_thing_registration_task(ctx: RequestContext, *, taskId: str) -> dict[str, Any]:
    """StopThingRegistrationTask: ``InProgress`` becomes ``Cancelling``, then ``Cancelled``."""
    task = _find(ctx, taskId)
    if task.status not in RUNNING:
        raise invalid_request(f"Thing registration task {taskId} is {task.status}: it cannot be stopped.")
    task.status = CANCELLING
    task.modified = ctx.now()
    task.cancel_requested = True
    return {}


def list_thing_registration_task_reports(
    ctx: RequestContext,
    *,
    taskId: str,
    reportType: str,
    nextToken: str | None = None,
    maxResults: int | None = None,
) -> dict[str, Any]:
    """ListThingRegistrationTaskReports: links to the task's report files once it has ended."""
    task = _tables(ctx).tasks.get(taskId)
    links = [] if task is None else list(task.reports.get(reportType, []))
    page, token = page_of_list(links, nextToken, maxResults, DEFAULT_PAGE_SIZE)
    return {"resourceLinks": page, "reportType": reportType, "nextToken": token}
