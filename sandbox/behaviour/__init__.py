"""Resource-specific rules on top of generic CRUD, one module per resource family."""

from __future__ import annotations

from sandbox.behaviour.base import Behaviour
from sandbox.behaviour.chats import ChatBehaviour, ChatRoomBehaviour
from sandbox.behaviour.endusers import EnduserBehaviour, EnduserStatusUpdateBehaviour
from sandbox.behaviour.forms import FormResponseBehaviour
from sandbox.behaviour.journeys import JourneyBehaviour
from sandbox.behaviour.messages import EmailBehaviour, SmsBehaviour
from sandbox.behaviour.tickets import TicketBehaviour


def all_behaviours() -> dict[str, Behaviour]:
    behaviours: list[Behaviour] = [
        EnduserBehaviour(),
        EnduserStatusUpdateBehaviour(),
        JourneyBehaviour(),
        EmailBehaviour(),
        SmsBehaviour(),
        ChatRoomBehaviour(),
        ChatBehaviour(),
        FormResponseBehaviour(),
        TicketBehaviour(),
    ]
    return {b.model: b for b in behaviours}
