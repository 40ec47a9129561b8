"""Emails and SMS: sending rules and server-set fields.

Tellescope's constraints are "Email and email consent must be set for enduser" and "Phone number
and phone consent must be set for enduser"; the errors it answers are "Missing email" /
"Missing phone" (and, where consent is enforced, "Missing email consent" / "Missing phone
consent"). `logOnly: true` records skip them, as do inbound messages. The sandbox "delivers"
instantly: an outbound message is `delivered` as soon as it is stored, and shows in the outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.behaviour.base import Behaviour, Record
from sandbox.clock import now_iso
from sandbox.errors import TellescopeError

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService

SANDBOX_FROM_NUMBER = "+15555550100"


def check_can_email(records: RecordService, enduser: dict[str, Any] | None, values: dict) -> None:
    if enduser is None:
        return
    if values.get("isMarketing") and enduser.get("unsubscribedFromMarketing"):
        raise TellescopeError(400, "Unsubscribed from marketing")
    if values.get("logOnly") is True or values.get("inbound") is True:
        return
    if not enduser.get("email") and not values.get("alternateToAddress"):
        raise TellescopeError(400, "Missing email")
    if records.settings.enforce_consent and enduser.get("emailConsent") is False:
        raise TellescopeError(400, "Missing email consent")


def check_can_sms(records: RecordService, enduser: dict[str, Any] | None, values: dict) -> None:
    if values.get("logOnly") is True or values.get("inbound") is True or enduser is None:
        return
    if not enduser.get("phone") and not values.get("enduserPhoneNumber"):
        raise TellescopeError(400, "Missing phone")
    if records.settings.enforce_consent and enduser.get("phoneConsent") is False:
        raise TellescopeError(400, "Missing phone consent")


class EmailBehaviour(Behaviour):
    model = "emails"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        record.setdefault("logOnly", False)
        record.setdefault("inbound", False)
        record.setdefault("userId", caller.user_id)
        record.setdefault("timestamp", now_iso())
        record.setdefault("replyTo", None)
        record.setdefault("threadId", record.get("replyTo") or "")
        record.setdefault("linkOpenTrackingIds", [])
        record["delivered"] = True

    def check_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        check_can_email(records, records.store.get("endusers", record["enduserId"]), record)


class SmsBehaviour(Behaviour):
    model = "sms_messages"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        record.setdefault("logOnly", False)
        record.setdefault("inbound", False)
        record.setdefault("userId", caller.user_id)
        record.setdefault("timestamp", now_iso())
        record.setdefault("linkOpenTrackingIds", [])
        record.setdefault("phoneNumber", SANDBOX_FROM_NUMBER)
        enduser = records.store.get("endusers", record["enduserId"]) or {}
        if enduser.get("phone"):
            record.setdefault("enduserPhoneNumber", enduser["phone"])
        record["delivered"] = True

    def check_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        check_can_sms(records, records.store.get("endusers", record["enduserId"]), record)
