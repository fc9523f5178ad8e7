"""The database side of `csagent bench`: the bare-insert baseline it measures the agent against,
and when the polled messages reached csagent (SQL stays in store/)."""

from __future__ import annotations

from sqlalchemy import Engine, text


def bench_baseline_thread(engine: Engine) -> int:
    """The thread the bare-insert baseline stores its messages in (created the first time)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO threads (mirakl_thread_id) VALUES ('bench-baseline') "
                "ON CONFLICT DO NOTHING"
            )
        )
        thread_pk: int = conn.execute(
            text("SELECT id FROM threads WHERE mirakl_thread_id = 'bench-baseline'")
        ).scalar_one()
    return thread_pk


def insert_bare_message(engine: Engine, *, message_id: str, thread_pk: int, body: str) -> None:
    """Store an inbound message and nothing else: the least any ingestion has to do."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO messages (mirakl_message_id, thread_id, direction, author_type, body, "
                "created_at) VALUES (:m, :t, 'inbound', 'CUSTOMER', :b, now())"
            ),
            {"m": message_id, "t": thread_pk, "b": body},
        )


def intake_delays_s(engine: Engine, message_ids: list[str]) -> dict[str, float]:
    """Seconds from each message's creation on Mirakl to csagent receiving it, for those of
    `message_ids` stored so far."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT m.mirakl_message_id, extract(epoch FROM e.received_at - m.created_at) "
                "FROM messages m JOIN inbound_events e ON e.dedupe_key = m.mirakl_message_id "
                "WHERE m.mirakl_message_id = ANY(:ids)"
            ),
            {"ids": message_ids},
        ).all()
    return {r[0]: float(r[1]) for r in rows}
