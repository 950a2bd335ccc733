"""Progress: run records (records), their merge and folding (merge), summaries (summary).

One package, three parts; everything public is importable from here, so callers write
`from skill.core import progress` and `progress.summarize(...)`. The check-in rules ("how did
it feel", issue 12) are their own module: `from skill.core.progress import feelings`.
The summary's names load on first use: every request records and merges, few summarise.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from skill.core.progress.merge import (
    LAYOUT,
    _document,
    _fold,
    _readable,
    _run_month,
    check_document,
    close_run,
    fold_before,
    fold_month,
    forget,
    is_split_profile,
    join_devices,
    join_months,
    join_profiles,
    join_runs,
    merge_documents,
    note,
    split_document,
    split_profile,
)
from skill.core.progress.records import (
    ABANDON_AFTER,
    ABANDONED,
    ASKED,
    COMPLETED,
    FEELINGS,
    HISTORY_DAYS,
    IN_PROGRESS,
    KEEP_DAYS,
    MAX_RUNS,
    MIN_SESSION_SECONDS,
    PERIODS,
    REST_AFTER_DAYS,
    REVISIT_AFTER_DAYS,
    SKIPPED,
    STOPPED_EARLY,
    VERSION,
    RunRecord,
    _iso,
    _month,
    record_run,
)

if TYPE_CHECKING:
    from skill.core.progress.summary import WINDOW_DAYS, Day, Felt, Nudge, Summary, summarize, window_start

_SUMMARY = frozenset({"WINDOW_DAYS", "Day", "Felt", "Nudge", "Summary", "summarize", "window_start"})

__all__ = [
    "ABANDONED",
    "ABANDON_AFTER",
    "ASKED",
    "COMPLETED",
    "FEELINGS",
    "HISTORY_DAYS",
    "IN_PROGRESS",
    "KEEP_DAYS",
    "LAYOUT",
    "MAX_RUNS",
    "MIN_SESSION_SECONDS",
    "PERIODS",
    "REST_AFTER_DAYS",
    "REVISIT_AFTER_DAYS",
    "SKIPPED",
    "STOPPED_EARLY",
    "VERSION",
    "WINDOW_DAYS",
    "Day",
    "Felt",
    "Nudge",
    "RunRecord",
    "Summary",
    "_document",
    "_fold",
    "_iso",
    "_month",
    "_readable",
    "_run_month",
    "check_document",
    "close_run",
    "fold_before",
    "fold_month",
    "forget",
    "is_split_profile",
    "join_devices",
    "join_months",
    "join_profiles",
    "join_runs",
    "merge_documents",
    "note",
    "record_run",
    "split_document",
    "split_profile",
    "summarize",
    "window_start",
]


def __getattr__(name: str) -> Any:
    if name not in _SUMMARY:
        raise AttributeError(f"module 'skill.core.progress' has no attribute {name!r}")
    return getattr(import_module("skill.core.progress.summary"), name)
