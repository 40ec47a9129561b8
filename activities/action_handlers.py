"""The handler interface for AI and telephony actions (docs/handlers.md, docs/decisions.md D23).

Journey Engine performs no AI or telephony itself. An operator plugs a handler in per action
type (`aiDecision`, `outboundCall`, ...): an async callable taking a `HandlerRequest` and
returning a `HandlerResult`. Handlers are named as `package.module:attribute` in the
`ACTION_HANDLERS` setting or registered by an installed package under the entry-point group
`journey_engine.action_handlers` (the entry point's name is the action type); the setting wins.
The worker loads them once at start (`load_handlers`): a reference that does not resolve stops
it with one line naming the setting (or entry point) and the reference.

An action type with no handler keeps today's behaviour: the step fails at once with a
non-retryable "not configured" error (docs/decisions.md D12).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from temporalio.exceptions import ApplicationError

from models.actions import AI_ACTION_TYPES
from models.runtime import ActionOutcome, ActionRequest
from settings import action_handler_sources
from tellescope.idempotency import action_key

# The one action whose result is its outcome (onAIDecision fires at once); the others that
# have outcome events (calls, AI conversations) report them later through the API.
DECIDING_ACTIONS = frozenset({"aiDecision"})

# ApplicationError types of a failed handler, as for Tellescope (tellescope/errors.py).
HANDLER_REJECTED = "ActionHandlerRejected"  # non-retryable: the step's error, onError runs
HANDLER_UNAVAILABLE = "ActionHandlerUnavailable"  # retried with the workflow's backoff


@dataclass(frozen=True)
class HandlerRequest:
    """One AutomatedAction for a handler to perform."""

    actionType: str
    info: dict[str, Any]  # the step's `action.info`, as Tellescope's JSON
    enduserId: str
    journeyId: str  # the Tellescope journey id (the readable id is not needed to act)
    stepId: str  # the readable step id
    automationStepId: str  # the Tellescope step id: give it back with the outcome
    automatedActionId: str  # give it back with the outcome
    # Stable across retries of this action: a handler must do the side effect at most once per
    # key (a retried activity after a timeout or a worker crash asks again with the same key).
    idempotencyKey: str
    attempt: int = 1  # Temporal's attempt number (1 on the first try)


@dataclass(frozen=True)
class HandlerResult:
    kind: Literal["decided", "started", "done"]
    outcome: str | None = None
    reference: str | None = None
    detail: str = ""


def decided(outcome: str, detail: str = "") -> HandlerResult:
    """aiDecision: the decision; the onAIDecision branch for it runs at once."""
    return HandlerResult("decided", outcome=outcome, detail=detail)


def started(reference: str, detail: str = "") -> HandlerResult:
    """A call or AI conversation began; its outcome arrives later through
    `POST /v1/step-outcomes` (docs/handlers.md §3). `reference` is the provider's id."""
    return HandlerResult("started", reference=reference, detail=detail)


def done(detail: str = "") -> HandlerResult:
    """The action is performed and has no outcome (generateEnduserSummary, assignInboxItem)."""
    return HandlerResult("done", detail=detail)


class HandlerError(Exception):
    """A handler's failure, mapped as Tellescope's are: `retryable=False` fails the step at once
    (its onError branch runs), `retryable=True` is retried with the workflow's backoff."""

    def __init__(
        self, message: str, *, retryable: bool, next_retry_delay: timedelta | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.next_retry_delay = next_retry_delay


ActionHandler = Callable[[HandlerRequest], Awaitable[HandlerResult]]


class HandlerConfigError(Exception):
    """A handler reference that cannot be used; its message is one line for the operator."""


@dataclass
class ActionHandlers:
    """The loaded handlers, by action type."""

    handlers: dict[str, ActionHandler] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # type -> where it was configured

    def get(self, action_type: str) -> ActionHandler | None:
        return self.handlers.get(action_type)


def resolve_reference(reference: str, where: str, action_type: str) -> ActionHandler:
    def fail(why: str) -> HandlerConfigError:
        return HandlerConfigError(f'{where}: {action_type} -> "{reference}": {why}')

    if action_type not in AI_ACTION_TYPES:
        raise fail(
            "not an AI or telephony action type (one of " + ", ".join(sorted(AI_ACTION_TYPES)) + ")"
        )
    module_name, sep, attribute = reference.partition(":")
    if not sep or not module_name or not attribute:
        raise fail('expected "package.module:attribute"')
    try:
        module = importlib.import_module(module_name)
    except Exception as error:  # ImportError, or the module raised while importing
        raise fail(f"cannot import {module_name}: {error}") from None
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise fail(f"{module_name} has no attribute {attribute}") from None
    if not callable(target):
        raise fail(f"{attribute} is not callable")
    call = getattr(target, "__call__", None)  # noqa: B004 - an instance with async __call__
    if not (inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(call)):
        raise fail(f"{attribute} is not an async function")
    handler: ActionHandler = target
    return handler


def load_handlers(setting: Mapping[str, str]) -> ActionHandlers:
    """Import every configured handler; HandlerConfigError at the first that does not resolve."""
    loaded = ActionHandlers()
    for action_type, (reference, where) in sorted(action_handler_sources(setting).items()):
        loaded.handlers[action_type] = resolve_reference(reference, where, action_type)
        loaded.sources[action_type] = where
    return loaded


# --- running one action -------------------------------------------------------------------------


def handler_request(request: ActionRequest, attempt: int) -> HandlerRequest:
    return HandlerRequest(
        actionType=request.action.type,
        info=request.action.info.to_json(),
        enduserId=request.enduserId,
        journeyId=request.journeyId,
        stepId=request.stepName,
        automationStepId=request.automationStepId,
        automatedActionId=request.automatedActionId,
        idempotencyKey=action_key(request.automatedActionId),
        attempt=attempt,
    )


def rejected(message: str) -> ApplicationError:
    return ApplicationError(message, type=HANDLER_REJECTED, non_retryable=True)


async def run_handler(
    handler: ActionHandler, request: ActionRequest, attempt: int
) -> ActionOutcome:
    """Call the handler and turn its result into the step's outcome."""
    action_type = request.action.type
    try:
        result = await handler(handler_request(request, attempt))
    except HandlerError as error:
        if error.retryable:
            raise ApplicationError(
                error.message,
                type=HANDLER_UNAVAILABLE,
                non_retryable=False,
                next_retry_delay=error.next_retry_delay,
            ) from None
        raise rejected(error.message) from None
    if not isinstance(result, HandlerResult):
        raise rejected(f"the {action_type} handler returned {type(result).__name__}")
    if action_type in DECIDING_ACTIONS:
        if result.kind != "decided" or not result.outcome:
            raise rejected(f"the {action_type} handler returned {result.kind}, not decided()")
        return ActionOutcome(
            outcome=result.outcome, detail=result.detail or f"decided {result.outcome}"
        )
    if result.kind == "decided":
        raise rejected(f"the {action_type} handler returned decided(): only aiDecision decides")
    if result.kind == "started":
        reference = result.reference or ""
        return ActionOutcome(
            recordIds=[reference] if reference else [],
            detail=result.detail or f"{action_type} started ({reference})",
        )
    return ActionOutcome(detail=result.detail or f"{action_type} done")
