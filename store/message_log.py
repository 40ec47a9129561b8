"""The patient-facing messages the message policy let through, and the decision itself, taken
under a per-patient lock (docs/message-policy.md).

Frequency caps count sends across journeys, so the count and the new send must be one atomic
step: two journeys messaging a patient in the same second must not both see "0 sent today".
Each decision first updates the patient's row in `message_policy_locks`; PostgreSQL holds that
row lock, and SQLite its database write lock, until the transaction ends, so decisions about one
patient take turns while other patients' go on. A decision is recorded per AutomatedAction: a
retried activity finds its own row and sends, whatever the count is by then.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from rules.dates import epoch_ms, from_epoch_ms
from rules.message_policy import LONGEST_WINDOW, SEND, PolicyDecision
from store.db import insert_for
from store.tables import MessagePolicyLockRow, MessageSendRow

sends_table = MessageSendRow.__table__  # type: ignore[attr-defined]
locks_table = MessagePolicyLockRow.__table__  # type: ignore[attr-defined]

Decide = Callable[[Sequence[datetime]], PolicyDecision]


class MessageLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def decide_and_record(
        self,
        *,
        automated_action_id: str,
        enduser_id: str,
        channel: str,
        journey_id: str,
        now: datetime,
        decide: Decide,
    ) -> PolicyDecision:
        """Run `decide` on the patient's recent sends on `channel` and, if it says send, record
        this message, in one transaction under the patient's lock."""
        with self.engine.begin() as connection:
            self._lock(connection, enduser_id)
            already = connection.execute(
                select(sends_table.c.id).where(
                    sends_table.c.automated_action_id == automated_action_id
                )
            ).first()
            if already is not None:  # a retry of a message already let through
                return SEND
            since = epoch_ms(now - LONGEST_WINDOW)
            sends = [
                from_epoch_ms(row.sent_at_ms)
                for row in connection.execute(
                    select(sends_table.c.sent_at_ms).where(
                        sends_table.c.enduser_id == enduser_id,
                        sends_table.c.channel == channel,
                        sends_table.c.sent_at_ms > since,
                    )
                )
            ]
            decision = decide(sends)
            if decision.sends:
                connection.execute(
                    sends_table.insert().values(
                        automated_action_id=automated_action_id,
                        enduser_id=enduser_id,
                        channel=channel,
                        journey_id=journey_id[:200],
                        sent_at_ms=epoch_ms(now),
                    )
                )
            return decision

    def sends_for(self, enduser_id: str) -> list[tuple[str, str, datetime]]:
        """(channel, automated action id, sent at) of a patient's counted messages, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(
                    sends_table.c.channel,
                    sends_table.c.automated_action_id,
                    sends_table.c.sent_at_ms,
                )
                .where(sends_table.c.enduser_id == enduser_id)
                .order_by(sends_table.c.sent_at_ms, sends_table.c.id)
            )
            return [(r.channel, r.automated_action_id, from_epoch_ms(r.sent_at_ms)) for r in rows]

    def _lock(self, connection: Connection, enduser_id: str) -> None:
        """Take the patient's lock for the rest of the transaction (a write comes first, so
        SQLite's snapshot is taken after the lock)."""
        insert = insert_for(connection.dialect.name)
        connection.execute(
            insert(locks_table)
            .values(enduser_id=enduser_id, decisions=0)
            .on_conflict_do_nothing(index_elements=["enduser_id"])
        )
        connection.execute(
            update(locks_table)
            .where(locks_table.c.enduser_id == enduser_id)
            .values(decisions=locks_table.c.decisions + 1)
        )
