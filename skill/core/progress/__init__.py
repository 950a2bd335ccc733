"""Progress: run records (records), their merge and folding (merge), summaries (summary).

One package, three parts; everything public is importable from here, so callers write
`from skill.core import progress` and `progress.summarize(...)`.
"""

from __future__ import annotations

from skill.core.progress.merge import (
    _document,
    _fold,
    _readable,
    _run_month,
    check_document,
    forget,
    join_months,
    join_profiles,
    join_runs,
    merge_documents,
    note,
    split_document,
)
from skill.core.progress.records import (
    ABANDON_AFTER,
    ABANDONED,
    COMPLETED,
    HISTORY_DAYS,
    IN_PROGRESS,
    KEEP_DAYS,
    MAX_RUNS,
    MIN_SESSION_SECONDS,
    PERIODS,
    REST_AFTER_DAYS,
    REVISIT_AFTER_DAYS,
    STOPPED_EARLY,
    VERSION,
    RunRecord,
    _iso,
    _month,
    record_run,
)
from skill.core.progress.summary import WINDOW_DAYS, Nudge, Summary, summarize, window_start

__all__ = [
    "ABANDONED", "ABANDON_AFTER", "COMPLETED", "HISTORY_DAYS", "IN_PROGRESS", "KEEP_DAYS", "MAX_RUNS",
    "MIN_SESSION_SECONDS", "PERIODS", "REST_AFTER_DAYS", "REVISIT_AFTER_DAYS", "STOPPED_EARLY", "VERSION",
    "WINDOW_DAYS", "Nudge", "RunRecord", "Summary", "_document", "_fold", "_iso", "_month", "_readable",
    "_run_month", "check_document", "forget", "join_months", "join_profiles", "join_runs", "merge_documents",
    "note", "record_run", "split_document", "summarize", "window_start",
]
