"""TranscriptWriter: an execution's transcript, written to JSONL and SQLite (seed 000, OBS-003).

Usage::

    writer = TranscriptWriter(execution_id="exec-123", instance_id="ba-001")
    entry_id = writer.write({
        "entry_type": "task_start",
        "category": "lifecycle",
        "summary": "Starting task T-042",
        "task_id": "task-uuid",
        "details": {"title": "Create user.ts"},
    })
    writer.flush()
    writer.close()

Entries go to ``$OBS_TRANSCRIPTS/{execution_id}/unified.jsonl`` (default ``transcripts/``) as
obs events, and to the database ``$OBS_DB`` (default ``./obs.db``), buffered and written every
``flush_interval`` seconds, on ``flush()`` and on ``close()``. Several writers — threads,
processes, this package's and the TypeScript one — may write one execution at once.
"""

import dataclasses
from enum import Enum
from typing import Any, Dict, Optional, Union

from ._record import DEFAULT_FLUSH_INTERVAL, Recorder, new_id
from ._text import one_line

__all__ = ["TranscriptWriter", "TranscriptEntry", "TranscriptEntryType", "EntryCategory", "ExecutionStatus", "TaskStatus"]


class TranscriptEntryType(str, Enum):
    PHASE_START = "phase_start"
    PHASE_END = "phase_end"
    TASK_START = "task_start"
    TASK_END = "task_end"
    TOOL_USE = "tool_use"
    SKILL_INVOKE = "skill_invoke"
    SKILL_COMPLETE = "skill_complete"
    DECISION = "decision"
    VALIDATION = "validation"
    ASSERTION = "assertion"
    DISCOVERY = "discovery"
    ERROR = "error"
    CHECKPOINT = "checkpoint"
    LOCK_ACQUIRE = "lock_acquire"
    LOCK_RELEASE = "lock_release"


class EntryCategory(str, Enum):
    """What an entry is about; an entry given none gets the category of its type."""

    LIFECYCLE = "lifecycle"
    TOOL = "tool"
    SKILL = "skill"
    VALIDATION = "validation"
    DECISION = "decision"
    DISCOVERY = "discovery"
    ERROR = "error"
    COORDINATION = "coordination"


class ExecutionStatus(str, Enum):
    STARTED = "started"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"


class TaskStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"


_CATEGORY_OF = {
    "phase_start": "lifecycle", "phase_end": "lifecycle", "task_start": "lifecycle", "task_end": "lifecycle",
    "checkpoint": "lifecycle", "tool_use": "tool", "skill_invoke": "skill", "skill_complete": "skill",
    "validation": "validation", "assertion": "validation", "decision": "decision", "discovery": "discovery",
    "error": "error", "lock_acquire": "coordination", "lock_release": "coordination",
}

_TASK_STATUSES = tuple(s.value for s in TaskStatus)
_EXECUTION_STATUSES = tuple(s.value for s in ExecutionStatus)


def default_category(entry_type):
    """The category an entry of this type gets when none is given."""
    return _CATEGORY_OF.get(entry_type, "lifecycle")


@dataclasses.dataclass
class TranscriptEntry:
    """An entry to write (seed 001): without id, timestamp and sequence, which the writer gives."""

    entry_type: Union[TranscriptEntryType, str]
    summary: str
    category: Optional[Union[EntryCategory, str]] = None
    task_id: Optional[str] = None
    wave_id: Optional[str] = None
    wave_number: Optional[int] = None
    details: Optional[Any] = None
    duration_ms: Optional[int] = None


_FIELDS = tuple(f.name for f in dataclasses.fields(TranscriptEntry))


def _value(v):
    return v.value if isinstance(v, Enum) else v


def _as_int(name, v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and not v.is_integer()):
        raise TypeError("%s must be an integer, got %r" % (name, v))
    return int(v)


def _entry_fields(entry):
    """An entry given as a dict, a TranscriptEntry or any object with those attributes, checked."""
    if isinstance(entry, dict):
        unknown = sorted(set(entry) - set(_FIELDS))
        if unknown:
            raise TypeError("unknown entry field(s) %s (an entry has %s; the writer gives id, timestamp and sequence)"
                            % (", ".join(unknown), ", ".join(_FIELDS)))
        e = {k: entry.get(k) for k in _FIELDS}
    else:
        e = {k: getattr(entry, k, None) for k in _FIELDS}
    e["entry_type"] = _value(e["entry_type"])
    e["category"] = _value(e["category"])
    if not isinstance(e["entry_type"], str) or e["entry_type"] == "":
        raise TypeError("entry_type must be a non-empty string (a TranscriptEntryType)")
    if not isinstance(e["summary"], str):
        raise TypeError("summary must be a string")
    if e["category"] is not None and not isinstance(e["category"], str):
        raise TypeError("category must be a string (an EntryCategory)")
    for k in ("task_id", "wave_id"):
        if e[k] is not None and not isinstance(e[k], str):
            raise TypeError("%s must be a string" % k)
    e["wave_number"] = _as_int("wave_number", e["wave_number"])
    e["duration_ms"] = _as_int("duration_ms", e["duration_ms"])
    if e["duration_ms"] is not None and e["duration_ms"] < 0:
        raise ValueError("duration_ms must be >= 0")
    return e


def _end_status(details):
    """The status a task_end entry gives its task: details' `status` when that is a task
    status, failed when `details["success"]` is False, else completed."""
    d = details if isinstance(details, dict) else {}
    status = _value(d.get("status"))
    if isinstance(status, str) and status in _TASK_STATUSES:
        return status
    return "failed" if d.get("success") is False else "completed"


def write_entry(recorder, e, stamp=None):
    """Writes a transcript:entry line with a fresh id and sequence; returns (id, sequence, timestamp)."""
    sequence, timestamp = stamp or recorder.stamp()
    entry_id = new_id()
    fields = {
        "entry_id": entry_id,
        "sequence": sequence,
        "entry_type": e["entry_type"],
        "category": e.get("category") or default_category(e["entry_type"]),
        "summary": one_line(e["summary"]),
    }
    if e.get("wave_number") is not None:
        fields["wave_number"] = e["wave_number"]
    if e.get("details") is not None:
        fields["details"] = e["details"]
    if e.get("duration_ms") is not None:
        fields["duration_ms"] = e["duration_ms"]
    recorder.line("transcript:entry", fields, task_id=e.get("task_id"), wave_id=e.get("wave_id"), timestamp=timestamp)
    return entry_id, sequence, timestamp


class TranscriptWriter:
    """Unified transcript writer that writes to both JSONL files and SQLite (seed 000).

    Keyword arguments beyond the seed's: ``db_path`` (default ``$OBS_DB``, else ``obs.db``),
    ``transcripts_dir`` (default ``$OBS_TRANSCRIPTS``, else ``transcripts``), ``flush_interval``
    in seconds (default 1; 0 writes only on flush() and close()), ``database=False`` to write
    the JSONL alone (``obs ingest`` makes the rows later), and ``report`` to receive the one
    line said about a problem instead of stderr.
    """

    def __init__(self, execution_id: str, instance_id: str, wave_id: Optional[str] = None, *,
                 db_path: Optional[str] = None, transcripts_dir: Optional[str] = None,
                 flush_interval: float = DEFAULT_FLUSH_INTERVAL, database: bool = True, report=None):
        """Initialize writer with execution context."""
        self._rec = Recorder(execution_id, instance_id, wave_id, db_path=db_path, transcripts_dir=transcripts_dir,
                             flush_interval=flush_interval, database=database, report=report)
        self.execution_id = execution_id
        self.instance_id = instance_id
        self.wave_id = wave_id

    @property
    def jsonl_path(self) -> str:
        """The JSONL file this writer appends to."""
        return self._rec.jsonl_path

    @property
    def db_path(self) -> str:
        return self._rec.db_path

    def write(self, entry: Union[Dict[str, Any], TranscriptEntry]) -> str:
        """Write a transcript entry and return its id (a UUID string).

        Required: entry_type (a TranscriptEntryType), summary (cut at 200 characters);
        category defaults from the entry type. Optional: task_id, wave_id (else the writer's),
        wave_number, details, duration_ms.
        """
        e = _entry_fields(entry)
        # task_start and task_end entries also say what became of their task.
        if e["task_id"] and e["entry_type"] == "task_start":
            title = e["details"].get("title") if isinstance(e["details"], dict) else None
            self.set_task_status(e["task_id"], "running", title=title if isinstance(title, str) else None)
        entry_id = write_entry(self._rec, e)[0]
        if e["task_id"] and e["entry_type"] == "task_end":
            self.set_task_status(e["task_id"], _end_status(e["details"]))
        return entry_id

    def set_execution_status(self, status: Union[ExecutionStatus, str], message: Optional[str] = None) -> None:
        """Record the execution's status: started, running, paused, completed or failed."""
        status = _value(status)
        if status not in _EXECUTION_STATUSES:
            raise ValueError("status must be one of %s, got %r" % (", ".join(_EXECUTION_STATUSES), status))
        fields = {"status": status}
        if message is not None:
            fields["message"] = str(message)
        self._rec.line("execution:status", fields)

    def set_task_status(self, task_id: str, status: Union[TaskStatus, str], title: Optional[str] = None,
                        display_id: Optional[str] = None, file_path: Optional[str] = None) -> None:
        """Record a task's status (pending, running, completed, failed, blocked, skipped), with its title."""
        if not isinstance(task_id, str) or task_id == "":
            raise TypeError("task_id must be a non-empty string")
        status = _value(status)
        if status not in _TASK_STATUSES:
            raise ValueError("status must be one of %s, got %r" % (", ".join(_TASK_STATUSES), status))
        fields = {"status": status}
        for k, v in (("title", title), ("display_id", display_id), ("file_path", file_path)):
            if v is not None:
                fields[k] = str(v)
        self._rec.line("task:status", fields, task_id=task_id)

    def flush(self) -> None:
        """Flush buffered entries to disk and database."""
        self._rec.flush()

    def close(self) -> None:
        """Close file handles and database connections (flushing first)."""
        self._rec.close()

    def get_sequence(self) -> int:
        """Get current sequence number for this execution: the highest any writer of it has given out."""
        return self._rec.current_sequence()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
