"""Budgets of tenants, apps and consumer keys: requests, tokens or cost per UTC day, month or in
all. A budget's id is never reused: it names the budget's counter in shared memory, and a changed
amount keeps it (what was used stays used)."""

from __future__ import annotations

from .database import where
from .records import BudgetRecord, BudgetRule, BudgetScope
from .tenants import Tenants


class Budgets(Tenants):
    def set_budgets(self, scope: BudgetScope, subject: str, rules: list[BudgetRule]) -> list[BudgetRecord]:
        """Make `rules` the budgets of `subject`. A rule of the same kind and period keeps its id
        (and so what was used of it), whatever its new amount; others are added or removed."""
        self._check_subject(scope, subject)
        wanted = {(r.kind, r.period): r.amount for r in rules}
        if len(wanted) != len(rules):
            raise ValueError("give at most one budget of each kind per period")

        def replace() -> None:
            # Read inside the write: another process may have changed them since.
            current = self._current(scope, subject)
            for (kind, period), amount in wanted.items():
                if (kind, period) in current:
                    self._db.run(
                        "UPDATE budgets SET amount = ? WHERE id = ?", (amount, current[kind, period].id)
                    )
                else:
                    self._db.run(
                        "INSERT INTO budgets (scope, subject, kind, period, amount) VALUES (?, ?, ?, ?, ?)",
                        (scope, subject, kind, period, amount),
                    )
            for key, record in current.items():
                if key not in wanted:
                    self._db.run("DELETE FROM budgets WHERE id = ?", (record.id,))

        # Skip writes (and generation bumps) that would change nothing.
        if {key: r.amount for key, r in self._current(scope, subject).items()} != wanted:
            self._write(replace)
        return self.list_budgets(scope, subject)

    def list_budgets(
        self, scope: BudgetScope | None = None, subject: str | None = None
    ) -> list[BudgetRecord]:
        clause, args = where({"scope": scope, "subject": subject})
        sql = "SELECT id, scope, subject, kind, amount, period FROM budgets"
        sql += clause + " ORDER BY scope, subject, kind, period"
        return [
            BudgetRecord(id=r[0], scope=r[1], subject=r[2], kind=r[3], amount=r[4], period=r[5])
            for r in self._db.all(sql, args)
        ]

    def _current(self, scope: BudgetScope, subject: str) -> dict[tuple[str, str], BudgetRecord]:
        return {(r.kind, r.period): r for r in self.list_budgets(scope, subject)}
