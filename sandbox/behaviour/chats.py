"""Chat rooms and chat messages.

A chat whose sender is an enduser is inbound (the patient wrote it); Tellescope's
`updateChatroomCache` side effect keeps the room's message count and most recent message current.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.behaviour.base import Behaviour, Record
from sandbox.clock import now_iso, now_ms

if TYPE_CHECKING:
    from sandbox.records import Caller, RecordService


class ChatRoomBehaviour(Behaviour):
    model = "chat_rooms"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        record.setdefault("type", "internal")
        record.setdefault("userIds", [])
        record.setdefault("enduserIds", [])
        record["numMessages"] = 0
        record["recentMessage"] = ""
        record["recentSender"] = ""


class ChatBehaviour(Behaviour):
    model = "chats"

    def prepare_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        record.setdefault("senderId", caller.user_id)
        record.setdefault("timestamp", now_iso())
        record.setdefault("linkOpenTrackingIds", [])
        if records.store.exists("endusers", record["senderId"]):
            record.setdefault("enduserId", record["senderId"])

    def after_create(self, records: RecordService, caller: Caller, record: Record) -> None:
        room = records.store.get("chat_rooms", record["roomId"])
        if room is None:
            return
        sent_at = now_ms()
        cache: dict[str, Any] = {
            "numMessages": (room.get("numMessages") or 0) + 1,
            "recentMessage": record["message"],
            "recentSender": record["senderId"],
            "recentMessageSentAt": sent_at,
        }
        if is_inbound_chat(records, record):
            cache["recentEnduserMessage"] = record["message"]
            cache["recentEnduserMessageSentAt"] = sent_at
        records.update(caller, "chat_rooms", room["id"], cache, internal=True)


def is_inbound_chat(records: RecordService, chat: dict[str, Any]) -> bool:
    return records.store.exists("endusers", chat.get("senderId") or "")
