"""API key hashes in a table; each collection's latest case state and stage.

Existing rows are filled in: every creditor's `api_key_hashes`, each
collection's latest case, and the reasons of disputes the engine's state
was saved without (the history kept them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from collections import Counter
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

# The tables as this revision knows them, whatever the models say later.
creditors = sa.table(
    "creditors",
    sa.column("id", sa.String()),
    sa.column("profile", sa.JSON()),
    sa.column("policy", sa.JSON()),
)
collections = sa.table(
    "collections",
    sa.column("creditor_id", sa.String()),
    sa.column("debtor_id", sa.String()),
    sa.column("state", sa.JSON()),
    sa.column("history", sa.JSON()),
    sa.column("case_state", sa.String()),
    sa.column("case_stage", sa.String()),
)
api_keys = sa.table(
    "api_keys", sa.column("hash", sa.String()), sa.column("creditor_id", sa.String())
)

CHUNK = 500
"""Collections read and rewritten at a time, so memory stays flat."""

NO_REASON = "(no reason recorded)"
"""For a dispute whose reason neither the state nor the history kept."""


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("hash", sa.String(length=100), nullable=False),
        sa.Column("creditor_id", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("hash"),
    )
    op.create_index("ix_api_keys_creditor", "api_keys", ["creditor_id"])
    op.add_column(
        "collections", sa.Column("case_state", sa.String(length=20), nullable=True)
    )
    op.add_column(
        "collections", sa.Column("case_stage", sa.String(length=100), nullable=True)
    )
    op.create_index(
        "ix_collections_case_state",
        "collections",
        ["creditor_id", "case_state", "debtor_id"],
    )
    op.create_index(
        "ix_collections_case_stage",
        "collections",
        ["creditor_id", "case_stage", "debtor_id"],
    )

    connection = op.get_bind()
    ladders = _fill_keys(connection)
    _fill_collections(connection, ladders)


def _fill_keys(connection: sa.Connection) -> dict[str, list[str]]:
    """Every creditor's key hashes; returns each creditor's ladder's stage names."""
    ladders: dict[str, list[str]] = {}
    held: set[str] = set()
    for creditor_id, profile, policy in connection.execute(
        sa.select(creditors.c.id, creditors.c.profile, creditors.c.policy).order_by(
            creditors.c.id
        )
    ):
        ladders[creditor_id] = [s["stage"] for s in (policy or {}).get("ladder", [])]
        for stored in dict.fromkeys((profile or {}).get("api_key_hashes") or []):
            if stored not in held:  # one creditor per key, as the service keeps it
                held.add(stored)
                connection.execute(
                    api_keys.insert().values(hash=stored, creditor_id=creditor_id)
                )
    return ladders


def _fill_collections(connection: sa.Connection, ladders: dict[str, list[str]]) -> None:
    """Each collection's latest case, a chunk of rows at a time."""
    key = sa.tuple_(collections.c.creditor_id, collections.c.debtor_id)
    after: tuple[str, str] | None = None
    while True:
        query = (
            sa.select(
                collections.c.creditor_id,
                collections.c.debtor_id,
                collections.c.state,
                collections.c.history,
            )
            .order_by(collections.c.creditor_id, collections.c.debtor_id)
            .limit(CHUNK)
        )
        if after is not None:
            query = query.where(key > sa.tuple_(*after))
        rows = connection.execute(query).all()
        for creditor_id, debtor_id, state, history in rows:
            _fill_collection(
                connection, ladders, creditor_id, debtor_id, state, history
            )
        if len(rows) < CHUNK:
            return
        after = (rows[-1][0], rows[-1][1])


def _fill_collection(
    connection: sa.Connection,
    ladders: dict[str, list[str]],
    creditor_id: str,
    debtor_id: str,
    state: dict[str, Any] | None,
    history: list[dict[str, Any]] | None,
) -> None:
    state = dict(state or {})
    cases = state.get("cases") or []
    latest = cases[-1] if cases else None
    values: dict[str, Any] = {
        "case_state": latest["state"] if latest else None,
        "case_stage": _stage(latest, ladders.get(creditor_id, [])),
    }
    log = _with_reasons(state.get("dispute_log") or [], history or [])
    if log != (state.get("dispute_log") or []):
        values["state"] = state | {"dispute_log": log}
    connection.execute(
        collections.update()
        .where(
            collections.c.creditor_id == creditor_id,
            collections.c.debtor_id == debtor_id,
        )
        .values(**values)
    )


def _stage(case: dict[str, Any] | None, ladder: list[str]) -> str | None:
    """The ladder stage the case sends next, as the scheduler names it."""
    if case is None or case["state"] in ("resolved", "escalated"):
        return None
    index = case.get("next_stage", 0)
    return ladder[index] if index < len(ladder) else None


def _with_reasons(
    log: list[dict[str, Any]], history: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each dispute's reason: the n-th dispute of an invoice in the history has
    the n-th one's reason."""
    reasons: dict[str, list[str]] = {}
    for line in history:
        if line.get("kind") == "dispute":
            reasons.setdefault(line["invoice"], []).append(line.get("reason") or "")
    counted: Counter[str] = Counter()
    filled = []
    for dispute in log:
        number = counted[dispute["invoice"]]
        counted[dispute["invoice"]] += 1
        if dispute.get("reason"):
            filled.append(dispute)
            continue
        known = reasons.get(dispute["invoice"], [])
        reason = known[number] if number < len(known) and known[number] else None
        filled.append(dispute | {"reason": reason or NO_REASON})
    return filled


def downgrade() -> None:
    op.drop_index("ix_collections_case_stage", table_name="collections")
    op.drop_index("ix_collections_case_state", table_name="collections")
    with op.batch_alter_table("collections") as batch:
        batch.drop_column("case_stage")
        batch.drop_column("case_state")
    op.drop_index("ix_api_keys_creditor", table_name="api_keys")
    op.drop_table("api_keys")
