"""AutomatedAction: one scheduled or executed instance of a step for one enduser
(docs/semantics.md §6)."""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

from pydantic import Field

from models.actions import AutomationAction
from models.base import CompoundFilter, OmitNoneInJson, TellescopeModel, TellescopeRecord
from models.events import AutomationEvent, CancelCondition

AutomatedActionStatus = Literal["active", "finished", "cancelled", "error"]


class CancelReason(IntEnum):
    """Tellescope's AUTOMATED_ACTION_CANCEL_REASONS; `cancelReason` stores the index
    (docs/semantics.md §3.6)."""

    REMOVED_BY_USER = 0
    RESTARTED_IN_JOURNEY = 1
    FORM_SUBMISSION = 2
    INCOMING_COMMUNICATION = 3
    REMOVED_BY_AUTOMATION = 4
    JOURNEY_DELETED = 5

    @property
    def label(self) -> str:
        return _CANCEL_LABELS[self]


_CANCEL_LABELS = {
    CancelReason.REMOVED_BY_USER: "Removed by User",
    CancelReason.RESTARTED_IN_JOURNEY: "Restarted in Journey",
    CancelReason.FORM_SUBMISSION: "Form Submission",
    CancelReason.INCOMING_COMMUNICATION: "Incoming Communication",
    CancelReason.REMOVED_BY_AUTOMATION: "Removed by Automation",
    CancelReason.JOURNEY_DELETED: "Journey Deleted",
}


class JourneyContext(OmitNoneInJson, TellescopeModel):
    """Records that caused or accompany an enrollment, handed from parent to child
    (docs/semantics.md §6.4)."""

    calendarEventId: str | None = None
    formResponseId: str | None = None
    purchaseId: str | None = None
    templateId: str | None = None
    orderId: str | None = None
    observationId: str | None = None
    phoneCallId: str | None = None
    smsId: str | None = None
    formGroupId: str | None = None
    publicIdentifier: str | None = None
    chatId: str | None = None
    emailId: str | None = None
    databaseRecordId: str | None = None
    databaseRecordCreator: str | None = None
    eligibilityResultId: str | None = None
    fileId: str | None = None
    chatRoomId: str | None = None
    twilioNumber: str | None = None
    ticketThreadId: str | None = None
    ticketThreadCommentId: str | None = None
    medicationId: str | None = None
    faxLogId: str | None = None

    def merged(self, other: JourneyContext | None) -> JourneyContext:
        """This context with `other`'s given fields laid over it."""
        if other is None:
            return self
        return self.model_copy(update=other.model_dump(exclude_unset=True, exclude_none=True))


class AutomatedAction(TellescopeRecord):
    enduserId: str
    automationStepId: str
    journeyId: str
    event: AutomationEvent
    action: AutomationAction
    status: AutomatedActionStatus
    processAfter: int = Field(ge=0)  # epoch milliseconds
    cancelReason: int | None = None
    cancelConditions: list[CancelCondition] | None = None
    didDelayForOutOfOffice: bool | None = None
    errorMessage: str | None = None
    enduserConditions: CompoundFilter | None = None
    isNOP: bool | None = None
    cancelledBy: str | None = None
    journeyContext: JourneyContext | None = None
    externalId: str | None = None
    # read-only worker bookkeeping
    source: str | None = None
    triggerId: str | None = None
    lockedAt: int | None = None
    lockId: str | None = None
    lockCount: int | None = None
    processedAt: str | None = None
