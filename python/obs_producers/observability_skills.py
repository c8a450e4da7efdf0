"""ObservabilitySkills: obs's 40 queries from Python (seed 000, OBS-007; seed 001).

Usage::

    skills = ObservabilitySkills("obs.db")
    gaps = skills.v001_verify_sequence_integrity("exec-123")
    errors = skills.t001_find_all_errors("exec-123")
    summary = skills.a001_execution_summary("exec-123")

The SQL is obs's own: ``obs_queries.json`` is generated from obs's src/queries/ (``npm run
gen:python``; a test fails when it is stale), so each method returns what ``obs query ID ARG
--json`` returns, as dataclasses with the query's columns. A database that lacks a table or
column a query needs makes that query return nothing, noted in ``skills.skipped`` and as an
ObservabilitySkillsWarning, never an exception.
"""

import dataclasses
import datetime
import json
import os
import re
import sqlite3
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional
from urllib.parse import quote

__all__ = [
    "ObservabilitySkills", "ObservabilitySkillsWarning", "ValidationIssue", "ParallelHealthReport", "AnomalyReport",
    "TaskCompletionSummary", "obs_validate", "obs_errors", "obs_parallel_health", "obs_anomalies", "obs_summary",
]

_HERE = os.path.dirname(os.path.abspath(__file__))


class ObservabilitySkillsWarning(UserWarning):
    """A query could not run on this database (a table or column it needs is missing)."""


def _load_queries():
    with open(os.path.join(_HERE, "obs_queries.json"), encoding="utf-8") as f:
        return {q["id"]: q for q in json.load(f)["queries"]}


QUERIES = _load_queries()

# The seed's method and result type for each query.
_METHODS = {
    "V001": ("v001_verify_sequence_integrity", "SequenceGap"),
    "V002": ("v002_verify_tool_use_linkage", "OrphanedToolUse"),
    "V003": ("v003_verify_temporal_consistency", "TemporalIssue"),
    "V004": ("v004_verify_lock_balance", "UnreleasedLock"),
    "V005": ("v005_verify_chain_completeness", "IncompleteChain"),
    "V006": ("v006_verify_wave_task_counts", "WaveDiscrepancy"),
    "V007": ("v007_verify_foreign_keys", "BrokenFK"),
    "T001": ("t001_find_all_errors", "ErrorRecord"),
    "T002": ("t002_find_blocked_commands", "BlockedCommand"),
    "T003": ("t003_find_first_error_in_chain", "ErrorChainStart"),
    "T004": ("t004_find_incomplete_operations", "IncompleteOp"),
    "T005": ("t005_find_repeated_failures", "RepeatedFailure"),
    "T006": ("t006_find_task_blockers", "TaskBlocker"),
    "I001": ("i001_task_execution_trace", "TraceEntry"),
    "I002": ("i002_tool_usage_patterns", "ToolUsageStats"),
    "I003": ("i003_skill_execution_patterns", "SkillUsageStats"),
    "I004": ("i004_file_access_patterns", "FileAccessStats"),
    "I005": ("i005_related_events_by_correlation", "CorrelatedEvent"),
    "I006": ("i006_reconstruct_decisions", "DecisionEntry"),
    "I007": ("i007_assertion_evidence_analysis", "AssertionWithEvidence"),
    "A001": ("a001_execution_summary", "ExecutionSummary"),
    "A002": ("a002_task_completion_summary", "TaskStatusCount"),
    "A003": ("a003_hourly_activity_heatmap", "HourlyActivity"),
    "A004": ("a004_pass_rate_by_category", "CategoryPassRate"),
    "A005": ("a005_duration_percentiles", "DurationPercentile"),
    "A006": ("a006_cross_execution_comparison", "ExecutionComparison"),
    "P001": ("p001_wave_progress", "WaveProgress"),
    "P002": ("p002_find_stuck_agents", "StuckAgent"),
    "P003": ("p003_detect_file_conflicts", "FileConflict"),
    "P004": ("p004_wave_efficiency", "WaveEfficiency"),
    "P005": ("p005_find_wave_bottlenecks", "WaveBottleneck"),
    "P006": ("p006_concurrent_execution_overlaps", "ConcurrentOverlap"),
    "P007": ("p007_agent_lifecycle", "AgentLifecycle"),
    "D001": ("d001_unusual_duration", "DurationOutlier"),
    "D002": ("d002_error_cascades", "ErrorCascade"),
    "D003": ("d003_assertion_regression", "AssertionRegression"),
    "D004": ("d004_activity_spikes", "ActivitySpike"),
    "D005": ("d005_orphaned_resources", "OrphanedResource"),
    "D006": ("d006_circular_wait_patterns", "CircularWait"),
    "D007": ("d007_repeated_calls", "RepeatedCalls"),
}

# Fields a result type has beyond its query's columns (seed 001's ErrorRecord.is_root_cause).
_EXTRA = {"ErrorRecord": [("is_root_cause", bool, False)]}

#: The result dataclass of each query, by id, made from the columns its SQL returns.
ROW_TYPES = {}
for _qid, (_method, _type) in _METHODS.items():
    _cls = dataclasses.make_dataclass(
        _type,
        [(c, Any, field(default=None)) for c in QUERIES[_qid]["columns"]] + [(n, t, field(default=d)) for n, t, d in _EXTRA.get(_type, [])],
        namespace={"__doc__": "%s %s: %s" % (_qid, QUERIES[_qid]["title"], QUERIES[_qid]["description"]), "query_id": _qid},
    )
    _cls.__module__ = __name__
    ROW_TYPES[_qid] = _cls
    globals()[_type] = _cls
    __all__.append(_type)

#: seed 001's name for an operation that never finished.
StuckOperation = ROW_TYPES["T004"]
__all__.append("StuckOperation")


@dataclass
class TaskCompletionSummary:
    """A002 for an execution: its tasks by status."""

    execution_id: str
    total: int
    completed: int
    failed: int
    by_status: List[Any]


@dataclass
class ValidationIssue:
    """A row a validation query found: which check, and what."""

    check_id: str
    title: str
    description: str
    details: Dict[str, Any]


@dataclass
class ParallelHealthReport:
    execution_id: str
    is_healthy: bool
    issues: List[str]
    waves: List[Any]
    stuck_agents: List[Any]
    file_conflicts: List[Any]
    wave_discrepancies: List[Any]
    efficiency: List[Any]
    bottlenecks: List[Any]


@dataclass
class AnomalyReport:
    execution_id: str
    has_anomalies: bool
    unusual_durations: List[Any]
    error_cascades: List[Any]
    assertion_regressions: List[Any]
    activity_spikes: List[Any]
    orphaned_resources: List[Any]
    circular_waits: List[Any]


_PARAM = re.compile(r"@([a-z_][a-z0-9_]*)", re.IGNORECASE)
_ARG_NAMES = {"execution": "execution_id", "task": "task_id", "correlation": "correlation_id", "task_list": "task_list_id"}


def _now():
    """'Now' for runs still going (P002, T004); OBS_NOW fixes it, as it does for the CLI."""
    fixed = os.environ.get("OBS_NOW")
    if fixed:
        try:
            t = datetime.datetime.fromisoformat(fixed.replace("Z", "+00:00"))
            if t.tzinfo is None:
                t = t.replace(tzinfo=datetime.timezone.utc)
            t = t.astimezone(datetime.timezone.utc)
            return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
        except ValueError:
            pass
    t = datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def _default_db():
    return os.environ.get("OBS_DB") or "obs.db"


class ObservabilitySkills:
    """Query class implementing the 40 SQL tools, with obs's own SQL.

    The database is opened read-only for each call and closed after it; the file is never changed.
    """

    def __init__(self, db_path: Optional[str] = None):
        """Initialize with database path (default $OBS_DB, else obs.db)."""
        self.db_path = db_path or _default_db()
        if not os.path.isfile(self.db_path):
            raise FileNotFoundError("no database at %s: create one with `obs init --db %s`, or give the path of one" % (self.db_path, self.db_path))
        #: Queries of the last calls that could not run here, with why (e.g. "no table wave_statistics").
        self.skipped: Dict[str, str] = {}

    # --- running a query ------------------------------------------------------------------------

    def _connect(self):
        conn = sqlite3.connect("file:%s?mode=ro" % quote(os.path.abspath(self.db_path)), uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        _add_missing_functions(conn)
        return conn

    @staticmethod
    def _columns(conn, table, cache):
        if table not in cache:
            cols = [r[1] for r in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]
            cache[table] = set(cols) if cols else None
        return cache[table]

    def _missing(self, conn, q, cache):
        for table, cols in q["needs"].items():
            have = self._columns(conn, table, cache)
            if have is None:
                return "no table %s" % table
            missing = [c for c in cols if c not in have]
            if missing:
                return "no column %s" % ", ".join("%s.%s" % (table, c) for c in missing)
        return None

    def _shim(self, conn, q, cache):
        # As obs does: an optional table that is missing is stood in for by an empty TEMP table,
        # one missing columns by a TEMP view adding them as NULL (TEMP objects live outside the file).
        for table, cols in q["optional"].items():
            have = self._columns(conn, table, cache)
            if have is None:
                conn.execute('CREATE TEMP TABLE IF NOT EXISTS "%s" (%s)' % (table, ", ".join('"%s"' % c for c in cols)))
            else:
                missing = [c for c in cols if c not in have]
                if missing:
                    conn.execute('CREATE TEMP VIEW "%s" AS SELECT *, %s FROM main."%s"' % (table, ", ".join('NULL AS "%s"' % c for c in missing), table))
            cache.pop(table, None)

    def _rows(self, conn, q, params, cache):
        reason = self._missing(conn, q, cache)
        if reason:
            self.skipped[q["id"]] = reason
            warnings.warn("%s skipped on %s: %s" % (q["id"], self.db_path, reason), ObservabilitySkillsWarning, stacklevel=4)
            return []
        self.skipped.pop(q["id"], None)
        if q["optional"]:
            self._shim(conn, q, cache)
        bound = {name: params.get(name) for name in set(_PARAM.findall(q["sql"]))}
        out = []
        for r in conn.execute(q["sql"], bound):
            row = dict(zip(r.keys(), tuple(r)))
            for col, how in q["json_columns"].items():
                if col in row:
                    row[col] = _parse_json(row[col], how["on_null"])
            out.append(row)
        return out

    def query(self, query_id: str, arg: Optional[str] = None, **options) -> List[Dict[str, Any]]:
        """Runs one of the 40 queries by id and returns its rows as dicts (as `obs query ID ARG --json`).

        Options (window_ms, factor, silent_ms, …) default to obs's; give them as keywords.
        """
        q = QUERIES.get(query_id.upper())
        if q is None:
            raise KeyError("no query %r; the queries are %s" % (query_id, ", ".join(QUERIES)))
        unknown = set(options) - {o["name"] for o in q["options"]}
        if unknown:
            raise TypeError("%s takes no option %s (its options: %s)" % (q["id"], ", ".join(sorted(unknown)),
                                                                        ", ".join(o["name"] for o in q["options"]) or "none"))
        params = {"now": _now(), "execution_id": None, "task_id": None, "correlation_id": None, "task_list_id": None}
        for o in q["options"]:
            params[o["name"]] = options.get(o["name"], o["default"])
        if q["arg"] != "none":
            if arg is None and not q["arg_optional"]:
                raise TypeError("%s needs a%s %s id" % (q["id"], "n" if q["arg"] == "execution" else "", q["arg"].replace("_", " ")))
            params[_ARG_NAMES[q["arg"]]] = arg
        conn = self._connect()
        try:
            return self._rows(conn, q, params, {})
        finally:
            conn.close()

    def run(self, query_id: str, arg: Optional[str] = None, **options) -> List[Any]:
        """Runs a query by id and returns its rows as its dataclass."""
        cls = ROW_TYPES[query_id.upper()]
        return [cls(**r) for r in self.query(query_id, arg, **options)]

    def executions(self) -> List[str]:
        """Every execution id in the database, newest first."""
        conn = self._connect()
        try:
            parts = []
            cache = {}
            if self._columns(conn, "task_list_execution_runs", cache):
                parts.append("SELECT id, started_at FROM task_list_execution_runs")
            if self._columns(conn, "transcript_entries", cache):
                parts.append("SELECT execution_id AS id, MIN(timestamp) AS started_at FROM transcript_entries GROUP BY execution_id")
            if not parts:
                return []
            sql = "SELECT id, MAX(started_at) AS started_at FROM (%s) GROUP BY id ORDER BY started_at DESC, id DESC" % " UNION ALL ".join(parts)
            return [r[0] for r in conn.execute(sql)]
        finally:
            conn.close()

    def _one(self, query_id, arg, **options):
        rows = self.run(query_id, arg, **options)
        return rows[0] if rows else None

    # --- Validation (V001-V007) ----------------------------------------------------------------

    def v001_verify_sequence_integrity(self, execution_id: str) -> List[Any]:
        return self.run("V001", execution_id)

    def v002_verify_tool_use_linkage(self, execution_id: str) -> List[Any]:
        return self.run("V002", execution_id)

    def v003_verify_temporal_consistency(self, execution_id: str) -> List[Any]:
        return self.run("V003", execution_id)

    def v004_verify_lock_balance(self, execution_id: str) -> List[Any]:
        return self.run("V004", execution_id)

    def v005_verify_chain_completeness(self, execution_id: str) -> List[Any]:
        return self.run("V005", execution_id)

    def v006_verify_wave_task_counts(self, execution_id: str) -> List[Any]:
        return self.run("V006", execution_id)

    def v007_verify_foreign_keys(self, execution_id: Optional[str] = None) -> List[Any]:
        """Broken references of one execution, or (as the seed calls it, without one) of every execution."""
        if execution_id is not None:
            return self.run("V007", execution_id)
        out = []
        for e in self.executions():
            out.extend(self.run("V007", e))
        return out

    # --- Troubleshooting (T001-T006) -----------------------------------------------------------

    def t001_find_all_errors(self, execution_id: str) -> List[Any]:
        return self.run("T001", execution_id)

    def t002_find_blocked_commands(self, execution_id: str) -> List[Any]:
        return self.run("T002", execution_id)

    def t003_find_first_error_in_chain(self, execution_id: str, window_ms: Optional[int] = None) -> Optional[Any]:
        """The root of the first error cascade, or None when the execution has no errors."""
        return self._one("T003", execution_id, **({"window_ms": window_ms} if window_ms is not None else {}))

    def t004_find_incomplete_operations(self, execution_id: str) -> List[Any]:
        return self.run("T004", execution_id)

    def t005_find_repeated_failures(self, execution_id: str) -> List[Any]:
        return self.run("T005", execution_id)

    def t006_find_task_blockers(self, task_id: str, silent_ms: Optional[int] = None) -> List[Any]:
        return self.run("T006", task_id, **({"silent_ms": silent_ms} if silent_ms is not None else {}))

    # --- Investigation (I001-I007) -------------------------------------------------------------

    def i001_task_execution_trace(self, task_id: str) -> List[Any]:
        return self.run("I001", task_id)

    def i002_tool_usage_patterns(self, execution_id: str) -> List[Any]:
        return self.run("I002", execution_id)

    def i003_skill_execution_patterns(self, execution_id: str) -> List[Any]:
        return self.run("I003", execution_id)

    def i004_file_access_patterns(self, execution_id: str) -> List[Any]:
        return self.run("I004", execution_id)

    def i005_related_events_by_correlation(self, correlation_id: str) -> List[Any]:
        return self.run("I005", correlation_id)

    def i006_reconstruct_decisions(self, execution_id: str) -> List[Any]:
        return self.run("I006", execution_id)

    def i007_assertion_evidence_analysis(self, execution_id: str) -> List[Any]:
        return self.run("I007", execution_id)

    # --- Aggregation (A001-A006) ---------------------------------------------------------------

    def a001_execution_summary(self, execution_id: str) -> Optional[Any]:
        return self._one("A001", execution_id)

    def a002_task_completion_summary(self, execution_id: str) -> TaskCompletionSummary:
        rows = self.run("A002", execution_id)
        count = lambda s: sum(r.count for r in rows if r.status == s)  # noqa: E731
        return TaskCompletionSummary(execution_id=execution_id, total=sum(r.count for r in rows), completed=count("completed"),
                                     failed=count("failed"), by_status=rows)

    def a003_hourly_activity_heatmap(self, execution_id: str) -> List[Any]:
        return self.run("A003", execution_id)

    def a004_pass_rate_by_category(self, execution_id: str) -> List[Any]:
        return self.run("A004", execution_id)

    def a005_duration_percentiles(self, execution_id: str) -> List[Any]:
        return self.run("A005", execution_id)

    def a006_cross_execution_comparison(self, task_list_id: Optional[str] = None) -> List[Any]:
        return self.run("A006", task_list_id)

    # --- Parallel execution (P001-P007) --------------------------------------------------------

    def p001_wave_progress(self, execution_id: str) -> List[Any]:
        return self.run("P001", execution_id)

    def p002_find_stuck_agents(self, execution_id: str, silent_ms: Optional[int] = None) -> List[Any]:
        return self.run("P002", execution_id, **({"silent_ms": silent_ms} if silent_ms is not None else {}))

    def p003_detect_file_conflicts(self, execution_id: str) -> List[Any]:
        return self.run("P003", execution_id)

    def p004_wave_efficiency(self, execution_id: str) -> List[Any]:
        return self.run("P004", execution_id)

    def p005_find_wave_bottlenecks(self, execution_id: str, min_ratio: Optional[float] = None) -> List[Any]:
        return self.run("P005", execution_id, **({"min_ratio": min_ratio} if min_ratio is not None else {}))

    def p006_concurrent_execution_overlaps(self, execution_id: str) -> List[Any]:
        return self.run("P006", execution_id)

    def p007_agent_lifecycle(self, execution_id: str) -> List[Any]:
        return self.run("P007", execution_id)

    # --- Anomaly detection (D001-D007) ---------------------------------------------------------

    def d001_unusual_duration(self, execution_id: str, factor: Optional[float] = None) -> List[Any]:
        return self.run("D001", execution_id, **({"factor": factor} if factor is not None else {}))

    def d002_error_cascades(self, execution_id: str, window_ms: Optional[int] = None, min_errors: Optional[int] = None) -> List[Any]:
        opts = {k: v for k, v in (("window_ms", window_ms), ("min_errors", min_errors)) if v is not None}
        return self.run("D002", execution_id, **opts)

    def d003_assertion_regression(self, execution_id: str) -> List[Any]:
        return self.run("D003", execution_id)

    def d004_activity_spikes(self, execution_id: str, sigma: Optional[float] = None) -> List[Any]:
        return self.run("D004", execution_id, **({"sigma": sigma} if sigma is not None else {}))

    def d005_orphaned_resources(self, execution_id: str) -> List[Any]:
        return self.run("D005", execution_id)

    def d006_circular_wait_patterns(self) -> List[Any]:
        return self.run("D006")

    def d007_repeated_calls(self, execution_id: str, min_calls: Optional[int] = None, window_ms: Optional[int] = None) -> List[Any]:
        """One agent making the same tool call again and again (a loop), with what it cost meanwhile."""
        opts = {k: v for k, v in (("min_calls", min_calls), ("window_ms", window_ms)) if v is not None}
        return self.run("D007", execution_id, **opts)

    # --- seed 001's summaries ------------------------------------------------------------------

    def validate(self, execution_id: str) -> List[ValidationIssue]:
        """Run all validation checks (V001-V007) on an execution; every row found is an issue."""
        issues = []
        for qid in ("V001", "V002", "V003", "V004", "V005", "V006", "V007"):
            q = QUERIES[qid]
            for row in self.query(qid, execution_id):
                what = ", ".join("%s=%s" % (k, v) for k, v in row.items() if v is not None)
                issues.append(ValidationIssue(check_id=qid, title=q["title"], description="%s: %s" % (q["title"], what), details=row))
        return issues

    def find_errors(self, execution_id: str) -> List[Any]:
        """Every error in time order (T001), the root of the first cascade (T003) marked is_root_cause."""
        errors = self.run("T001", execution_id)
        root = self.t003_find_first_error_in_chain(execution_id)
        for e in errors:
            e.is_root_cause = root is not None and e.id == root.id and e.error_type == root.error_type
        return errors

    def find_blocked(self, execution_id: str) -> List[Dict[str, Any]]:
        """Security-blocked commands (T002)."""
        return self.query("T002", execution_id)

    def find_incomplete(self, execution_id: str) -> List[Any]:
        """Operations that never completed (T004)."""
        return self.run("T004", execution_id)

    def parallel_health(self, execution_id: str) -> ParallelHealthReport:
        """Health of a parallel execution: waves (P001), silent agents (P002), file conflicts (P003),
        wave statistics that disagree with their assignments (V006), efficiency (P004) and the
        slowest tasks (P005). Healthy when no agent is stuck, no file was written by two agents of
        a wave, no wave failed and every wave's count agrees."""
        waves = self.p001_wave_progress(execution_id)
        stuck = self.p002_find_stuck_agents(execution_id)
        conflicts = self.p003_detect_file_conflicts(execution_id)
        discrepancies = self.v006_verify_wave_task_counts(execution_id)
        issues = ["wave %s failed" % w.wave_number for w in waves if w.status == "failed"]
        issues += ["agent %s (%s) silent for %s ms" % (a.instance_id, a.status, a.silent_ms) for a in stuck]
        issues += ["%s written by %s in wave %s" % (c.file_path, ", ".join(c.agents or []), c.wave_number) for c in conflicts]
        issues += ["wave %s records %s tasks but has %s" % (d.wave_number, d.recorded, d.actual) for d in discrepancies]
        return ParallelHealthReport(execution_id=execution_id, is_healthy=not issues, issues=issues, waves=waves, stuck_agents=stuck,
                                    file_conflicts=conflicts, wave_discrepancies=discrepancies,
                                    efficiency=self.p004_wave_efficiency(execution_id), bottlenecks=self.p005_find_wave_bottlenecks(execution_id))

    def find_wave_bottlenecks(self, execution_id: str) -> List[Dict[str, Any]]:
        """The slowest tasks of each wave (P005)."""
        return self.query("P005", execution_id)

    def detect_anomalies(self, execution_id: str) -> AnomalyReport:
        """Unusual patterns (D001-D006); the wait-for cycles are those that involve this execution."""
        parts = dict(
            unusual_durations=self.d001_unusual_duration(execution_id),
            error_cascades=self.d002_error_cascades(execution_id),
            assertion_regressions=self.d003_assertion_regression(execution_id),
            activity_spikes=self.d004_activity_spikes(execution_id),
            orphaned_resources=self.d005_orphaned_resources(execution_id),
            circular_waits=[c for c in self.d006_circular_wait_patterns() if c.execution_id == execution_id],
        )
        return AnomalyReport(execution_id=execution_id, has_anomalies=any(parts.values()), **parts)

    def execution_summary(self, execution_id: str) -> Dict[str, Any]:
        """High-level execution metrics (A001)."""
        rows = self.query("A001", execution_id)
        return rows[0] if rows else {}

    def tool_usage_stats(self, execution_id: str) -> List[Dict[str, Any]]:
        """Tool usage patterns (I002)."""
        return self.query("I002", execution_id)

    def trace_task(self, task_id: str) -> List[Dict[str, Any]]:
        """The complete execution path of a task (I001)."""
        return self.query("I001", task_id)


class _Percentile:
    """SQLite's percentile(Y, P) (built in from SQLite 3.47, its ext/misc/percentile.c before):
    the P-th percentile (0-100) of the non-NULL Y, interpolating linearly between values."""

    def __init__(self):
        self.values = []
        self.p = None

    def step(self, y, p):
        if p is None or not 0 <= p <= 100:
            raise ValueError("2nd argument to percentile() is not a number between 0.0 and 100.0")
        if self.p is not None and p != self.p:
            raise ValueError("2nd argument to percentile() is not the same for all input rows")
        self.p = p
        if y is not None:
            self.values.append(float(y))

    def finalize(self):
        if not self.values:
            return None
        a = sorted(self.values)
        ix = self.p * (len(a) - 1) * 0.01
        i1 = int(ix)
        i2 = i1 if ix == i1 or i1 == len(a) - 1 else i1 + 1
        return a[i1] + (a[i2] - a[i1]) * (ix - i1)


def _sqrt(x):
    import math

    return None if x is None or x < 0 else math.sqrt(x)


def _add_missing_functions(conn):
    # obs's SQLite (better-sqlite3) is newer than many a Python's: what its SQL calls and this
    # SQLite lacks is given here, with SQLite's own definition.
    for probe, add in (("SELECT percentile(1, 50)", lambda: conn.create_aggregate("percentile", 2, _Percentile)),
                       ("SELECT sqrt(4)", lambda: conn.create_function("sqrt", 1, _sqrt, deterministic=True))):
        try:
            conn.execute(probe).fetchone()
        except sqlite3.OperationalError:
            add()


def _parse_json(v, on_null):
    if v is None:
        return on_null
    if not isinstance(v, str):
        return v
    try:
        return json.loads(v)
    except ValueError:
        return v


# Convenience functions (seed 001): the database is $OBS_DB, else obs.db, unless given.

def obs_validate(execution_id: str, db_path: Optional[str] = None) -> List[ValidationIssue]:
    return ObservabilitySkills(db_path).validate(execution_id)


def obs_errors(execution_id: str, db_path: Optional[str] = None) -> List[Any]:
    return ObservabilitySkills(db_path).find_errors(execution_id)


def obs_parallel_health(execution_id: str, db_path: Optional[str] = None) -> ParallelHealthReport:
    return ObservabilitySkills(db_path).parallel_health(execution_id)


def obs_anomalies(execution_id: str, db_path: Optional[str] = None) -> AnomalyReport:
    return ObservabilitySkills(db_path).detect_anomalies(execution_id)


def obs_summary(execution_id: str, db_path: Optional[str] = None) -> Dict[str, Any]:
    return ObservabilitySkills(db_path).execution_summary(execution_id)
