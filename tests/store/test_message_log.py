"""The message policy's counts (store/message_log.py) on SQLite and PostgreSQL: exact when many
journeys message one patient at the same moment, and once per AutomatedAction."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from models.message_policy import FrequencyCap, MessagePolicy
from rules.message_policy import decide
from store.db import upgrade_database
from store.message_log import MessageLog
from tests.store.databases import fresh_process_prints

NOW = datetime(2026, 12, 7, 17, 0, tzinfo=UTC)
TWO_SMS_A_DAY = MessagePolicy(caps=[FrequencyCap(channel="sms", max=2, per="day")])


def _decide(log: MessageLog, action_id: str, enduser: str = "p1", now: datetime = NOW):
    return log.decide_and_record(
        automated_action_id=action_id,
        enduser_id=enduser,
        channel="sms",
        journey_id=f"journey-of-{action_id}",
        now=now,
        decide=lambda sends: decide(now, TWO_SMS_A_DAY, "sms", "America/New_York", sends),
    )


def test_concurrent_sends_to_one_patient_are_all_counted(database_url):
    """Twelve journeys send an SMS to one patient in the same second: exactly two go out."""
    log = MessageLog(upgrade_database(database_url))
    with ThreadPoolExecutor(max_workers=12) as pool:
        decisions = list(pool.map(lambda n: _decide(log, f"action-{n}"), range(12)))
    verdicts = sorted(d.verdict for d in decisions)
    assert verdicts == ["drop"] * 10 + ["send"] * 2
    assert len(log.sends_for("p1")) == 2
    # Another patient is counted apart.
    assert _decide(log, "other-1", enduser="p2").sends


def test_a_retried_decision_is_the_first_one(database_url):
    log = MessageLog(upgrade_database(database_url))
    assert _decide(log, "a1").sends and _decide(log, "a2").sends
    assert _decide(log, "a3").verdict == "drop"
    # The activity of a1 retried after a crash, with the cap now full: it still sends, and
    # nothing is counted twice.
    assert _decide(log, "a1").sends
    assert [action for _, action, _ in log.sends_for("p1")] == ["a1", "a2"]


def test_the_window_rolls(database_url):
    log = MessageLog(upgrade_database(database_url))
    assert _decide(log, "d1", now=NOW - timedelta(hours=25)).sends
    assert _decide(log, "d2", now=NOW - timedelta(hours=1)).sends
    assert _decide(log, "d3").sends  # d1 left the 24 hours
    assert _decide(log, "d4").verdict == "drop"


def test_each_process_loads_only_its_own_databases_dialect(database_url):
    """store.db.insert_for imports a dialect's INSERT when first used: a worker on SQLite (the
    embedded default) never loads PostgreSQL's dialect (2.2 MiB per process); one on PostgreSQL
    does, and both record the send. (The first migration of a new database loads both, through
    Alembic's scripts; a worker starts on a migrated one.)"""
    upgrade_database(database_url)
    script = (
        "import sys\n"
        "import worker\n"
        "from store.db import upgrade_database\n"
        "from store.message_log import MessageLog\n"
        "from tests.store.test_message_log import _decide\n"
        "log = MessageLog(upgrade_database(sys.argv[1]))\n"
        "assert _decide(log, 'dialect-check').sends\n"
        "print('sqlalchemy.dialects.postgresql' in sys.modules)\n"
    )
    postgresql = not database_url.startswith("sqlite")
    assert fresh_process_prints(script, database_url) == str(postgresql)
