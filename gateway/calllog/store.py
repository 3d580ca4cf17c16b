"""The call-log interface: what the recorder writes through and the analytics read through.

SQLite implements it (gateway/calllog/sqlite.py); a cluster backend implements the same methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import msgspec

from ..config.observability import Retention
from .record import CallRecord
from .rollup import Dimension


class CallFilter(msgspec.Struct, kw_only=True, frozen=True):
    """Which calls a query covers. Unset fields do not filter. Times are Unix seconds,
    `since` inclusive, `until` exclusive; statuses an inclusive range."""

    since: float | None = None
    until: float | None = None
    tenant: str | None = None
    app: str | None = None
    key_id: str | None = None
    model: str | None = None
    provider: str | None = None
    upstream_key: str | None = None
    status_min: int | None = None
    status_max: int | None = None
    # Call log only (rollups do not keep request ids, nor the fields searched).
    request_id: str | None = None
    # Words each found, case-insensitively, in one of the fields sql.SEARCHED names.
    search: str | None = None


class CallPage(msgspec.Struct, kw_only=True):
    """Newest first. Pass `next_cursor` back for the next (older) page; None: this was the last."""

    calls: list[CallRecord]
    next_cursor: str | None = None


class Aggregate(msgspec.Struct, kw_only=True, gc=False):
    """Summed rollup rows of one group (and one time bucket, when asked by bucket)."""

    group: tuple[str | int, ...]
    bucket: int | None = None
    calls: int = 0
    errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cost: float = 0.0
    latency_ms_sum: float = 0.0
    upstream_ms_sum: float = 0.0
    histogram: list[int] = msgspec.field(default_factory=list)


class Pruned(msgspec.Struct, kw_only=True):
    calls: int = 0
    rollups: int = 0


class CallLog(ABC):
    """Durable call records and their rollups. Methods block (disk I/O): call them off the event
    loop. One instance may be used from several threads."""

    @abstractmethod
    def insert(self, records: Sequence[CallRecord]) -> None:
        """Store `records` and add them to every rollup, atomically: rollups always agree with
        the records."""

    @abstractmethod
    def calls(self, where: CallFilter, *, cursor: str | None = None, limit: int = 100) -> CallPage:
        """Matching calls, newest first, keyset-paginated."""

    @abstractmethod
    def tail(self, where: CallFilter, after_id: int, limit: int = 500) -> list[CallRecord]:
        """Matching calls stored after row `after_id`, oldest first (for following the log)."""

    @abstractmethod
    def last_id(self) -> int:
        """The newest row id (0 when empty)."""

    @abstractmethod
    def aggregate(
        self, grain: int, where: CallFilter, group_by: Sequence[Dimension] = (), by_bucket: bool = False
    ) -> list[Aggregate]:
        """Rollup rows of `grain` seconds whose bucket starts in [since, until), summed per group
        (and per bucket when `by_bucket`)."""

    @abstractmethod
    def prune(self, retention: Retention, now: float) -> Pruned: ...

    @abstractmethod
    def close(self) -> None: ...
