"""Rate limits of tenants, apps, consumer keys, model groups and services. A limit's id is never
reused: it names the limit's GCRA bucket in shared memory."""

from __future__ import annotations

from .database import marks, where
from .records import LimitRecord, LimitRule, LimitScope
from .tenants import Tenants


class Limits(Tenants):
    def set_limits(self, scope: LimitScope, subject: str, rules: list[LimitRule]) -> list[LimitRecord]:
        """Make `rules` the limits of `subject`. A rule of the same kind and period keeps its id
        (and so its bucket's state); others are added or removed."""
        self._check_subject(scope, subject)

        def replace() -> None:
            kept = []
            for rule in rules:
                burst = rule.burst or rule.amount
                row = self._db.one(
                    "SELECT id, amount FROM limits "
                    "WHERE scope = ? AND subject = ? AND kind = ? AND period_s = ?",
                    (scope, subject, rule.kind, rule.period_s),
                )
                if row and row[1] == rule.amount:
                    # Same rate: keep the id, and so the bucket's state; only the burst may change.
                    self._db.run("UPDATE limits SET burst = ? WHERE id = ?", (burst, row[0]))
                    kept.append(row[0])
                    continue
                if row:
                    # A new rate starts afresh in a new bucket: time owed at the old rate means
                    # nothing at the new one.
                    self._db.run("DELETE FROM limits WHERE id = ?", (row[0],))
                kept.append(
                    self._db.insert(
                        "INSERT INTO limits (scope, subject, kind, amount, period_s, burst) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (scope, subject, rule.kind, rule.amount, rule.period_s, burst),
                    )
                )
            others = f" AND id NOT IN ({marks(len(kept))})" if kept else ""
            self._db.run(
                f"DELETE FROM limits WHERE scope = ? AND subject = ?{others}", (scope, subject, *kept)
            )

        # Skip writes (and generation bumps) that would change nothing.
        current = sorted((r.kind, r.period_s, r.amount, r.burst) for r in self.list_limits(scope, subject))
        wanted = sorted({(r.kind, r.period_s, r.amount, r.burst or r.amount) for r in rules})
        if current != wanted:
            self._write(replace)
        return self.list_limits(scope, subject)

    def list_limits(self, scope: LimitScope | None = None, subject: str | None = None) -> list[LimitRecord]:
        clause, args = where({"scope": scope, "subject": subject})
        sql = "SELECT id, scope, subject, kind, amount, period_s, burst FROM limits"
        sql += clause + " ORDER BY scope, subject, kind, period_s"
        return [
            LimitRecord(id=r[0], scope=r[1], subject=r[2], kind=r[3], amount=r[4], period_s=r[5], burst=r[6])
            for r in self._db.all(sql, args)
        ]
