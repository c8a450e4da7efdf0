"""SkillTracer: skill invocations with their file:line references (seed 000, OBS-005).

Usage::

    tracer = SkillTracer(transcript_writer, tool_logger)
    trace_id = tracer.trace_start(SkillReference(
        skill_name="validation", skill_file="SKILLS.md", line_number=42, section_title="## Validation"))
    # ... skill executes with tool calls ...
    tracer.trace_end(trace_id, status="success")

Tool calls logged with the tracer's ToolUseLogger while a skill is active are within it; skills
nest, and get_active_skill() is the innermost (seed 001).
"""

import sys
import threading
from dataclasses import dataclass
from typing import Optional

from ._record import new_id
from .tool_use_logger import ToolUseLogger
from .transcript_writer import TranscriptWriter, write_entry

__all__ = ["SkillTracer", "SkillReference"]

_STATUSES = ("success", "partial", "failed")


@dataclass
class SkillReference:
    """Reference to a skill definition."""

    skill_name: str
    skill_file: str
    line_number: int
    section_title: str


class SkillTracer:
    """Traces skill invocations with file:line references."""

    def __init__(self, transcript_writer: TranscriptWriter, tool_logger: ToolUseLogger):
        """Initialize with transcript and tool logger for linking."""
        if not isinstance(transcript_writer, TranscriptWriter) or not isinstance(tool_logger, ToolUseLogger):
            raise TypeError("SkillTracer takes a TranscriptWriter and a ToolUseLogger")
        self.transcript_writer = transcript_writer
        self.tool_logger = tool_logger
        self._rec = transcript_writer._rec
        self._lock = threading.Lock()
        self._stack = []
        self._traces = {}
        tool_logger._active_skill = self.get_active_skill

    def trace_start(self, skill_ref: SkillReference, task_id: Optional[str] = None) -> str:
        """Start tracing a skill invocation; returns the trace_id for trace_end."""
        name, file_ = getattr(skill_ref, "skill_name", None), getattr(skill_ref, "skill_file", None)
        line_no, title = getattr(skill_ref, "line_number", None), getattr(skill_ref, "section_title", None)
        if not (isinstance(name, str) and isinstance(file_, str) and isinstance(title, str)
                and isinstance(line_no, int) and not isinstance(line_no, bool)):
            raise TypeError("trace_start() takes a SkillReference(skill_name, skill_file, line_number: int, section_title)")
        trace_id = new_id()
        details = {"skill_trace_id": trace_id, "skill_name": name, "skill_file": file_, "line_number": line_no, "section_title": title}
        entry_id, _seq, timestamp = write_entry(self._rec, {
            "entry_type": "skill_invoke", "category": "skill", "summary": "Skill %s (%s:%d)" % (name, file_, line_no),
            "task_id": task_id, "details": details,
        })
        fields = dict(details)
        fields["transcript_entry_id"] = entry_id
        self._rec.line("skill:start", fields, task_id=task_id, timestamp=timestamp)
        with self._lock:
            self._stack.append(trace_id)
            self._traces[trace_id] = {"name": name, "task_id": task_id, "tool_calls": []}
        return trace_id

    def trace_end(self, trace_id: str, status: str, error: Optional[str] = None) -> None:
        """End skill trace with status "success", "partial" or "failed" (and the error, if failed)."""
        status = getattr(status, "value", status)
        if status not in _STATUSES:
            raise ValueError("status must be success, partial or failed, got %r" % (status,))
        if error is not None and not isinstance(error, str):
            raise TypeError("error must be a string")
        with self._lock:
            t = self._traces.pop(trace_id, None)
            if trace_id in self._stack:
                self._stack.remove(trace_id)
        name = t["name"] if t else trace_id
        task_id = t["task_id"] if t else None
        details = {"skill_trace_id": trace_id, "status": status}
        if error:
            details["error"] = error
        entry_id, _seq, timestamp = write_entry(self._rec, {
            "entry_type": "skill_complete", "category": "skill",
            "summary": "Skill %s %s%s" % (name, status, ": " + error if error else ""), "task_id": task_id, "details": details,
        })
        fields = {"skill_trace_id": trace_id, "status": status}
        if error is not None:
            fields["error"] = error
        fields["transcript_entry_id"] = entry_id
        self._rec.line("skill:end", fields, task_id=task_id, timestamp=timestamp)

    def add_tool_call(self, trace_id: str, tool_use_id: str) -> None:
        """Associate a tool use (logged by this tracer's ToolUseLogger) with this skill trace."""
        with self._lock:
            t = self._traces.get(trace_id)
            if t is not None and tool_use_id not in t["tool_calls"]:
                t["tool_calls"].append(tool_use_id)
        if not self.tool_logger._set_within_skill(tool_use_id, trace_id):
            sys.stderr.write("obs producer: add_tool_call(%s, %s): that tool call was not started by this tracer's "
                             "ToolUseLogger, so it cannot be put in the skill\n" % (trace_id, tool_use_id))

    def get_active_skill(self) -> Optional[str]:
        """Get ID of currently active skill trace (the innermost, for nesting); None when none."""
        with self._lock:
            return self._stack[-1] if self._stack else None
