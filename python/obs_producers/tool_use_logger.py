"""ToolUseLogger: every tool invocation with its input, output and timing (seed 000, OBS-004).

Usage::

    logger = ToolUseLogger(transcript_writer)
    tool_id = logger.log_start(tool_use_block)
    # ... tool executes ...
    logger.log_end(tool_id, tool_result_block)

Result status follows seed 001: ``done`` when not is_error and not blocked, ``error`` when
is_error, ``blocked`` when a security hook stopped it (log_blocked).
"""

from enum import Enum
from typing import Any, Optional

from ._record import iso_now, new_id
from ._text import content_text, one_line, summarise_input, tool_category
from .transcript_writer import TranscriptWriter, write_entry

__all__ = ["ToolUseLogger", "ToolCategory"]


class ToolCategory(str, Enum):
    FILE_READ = "file_read"      # Read, Glob, Grep
    FILE_WRITE = "file_write"    # Write, Edit
    SHELL = "shell"              # Bash
    BROWSER = "browser"          # WebFetch, puppeteer
    NETWORK = "network"          # API calls
    AGENT = "agent"              # Task tool
    CUSTOM = "custom"


_UNSET = object()


def _get(block, name, default=None):
    if isinstance(block, dict):
        return block.get(name, default)
    return getattr(block, name, default)


class ToolUseLogger:
    """Logs every tool invocation with inputs, outputs, and timing."""

    def __init__(self, transcript_writer: TranscriptWriter):
        """Initialize with transcript writer for cross-referencing."""
        if not isinstance(transcript_writer, TranscriptWriter):
            raise TypeError("ToolUseLogger takes a TranscriptWriter")
        self.transcript_writer = transcript_writer
        self._rec = transcript_writer._rec
        self._started = {}
        self._row_of = {}
        #: Set by a SkillTracer made with this logger: the innermost active skill.
        self._active_skill = None

    def log_start(self, tool_use_block: Any, task_id: Optional[str] = None, parent_tool_use_id: Optional[str] = None,
                  tool_category: Optional[str] = None, within_skill: Any = _UNSET) -> str:
        """Log start of tool invocation and return the tool_use_id for log_end.

        tool_use_block: a Claude SDK ToolUseBlock (or a dict, or any object) with id, name, input.
        The id is the block's, unless another execution already used it (then a new one).
        ``within_skill`` defaults to the active skill of a SkillTracer made with this logger.
        """
        name = _get(tool_use_block, "name")
        if not isinstance(name, str) or name == "":
            raise TypeError("log_start() takes a tool use block with a name")
        block_id = _get(tool_use_block, "id")
        # Ids are an execution's own: a block id another execution already used names a new row here.
        tool_use_id = self._rec.scoped("tool_uses", block_id) if isinstance(block_id, str) and block_id != "" else new_id()
        if isinstance(block_id, str):
            self._row_of[block_id] = tool_use_id
        tool_input = _get(tool_use_block, "input")
        input_summary = summarise_input(tool_input)
        if within_skill is _UNSET:
            within_skill = self._active_skill() if self._active_skill else None
        entry_id, _seq, timestamp = write_entry(self._rec, {
            "entry_type": "tool_use", "category": "tool", "summary": "%s: %s" % (name, input_summary), "task_id": task_id,
            "details": {"tool_use_id": tool_use_id, "tool": name},
        })
        category = tool_category.value if isinstance(tool_category, Enum) else tool_category
        fields = {
            "tool_use_id": tool_use_id,
            "tool": name,
            "input": tool_input,
            "input_summary": input_summary,
            "tool_category": category or _category_of(name),
            "transcript_entry_id": entry_id,
        }
        if parent_tool_use_id:
            fields["parent_tool_use_id"] = self._row_of.get(parent_tool_use_id) or self._rec.scoped("tool_uses", parent_tool_use_id)
        if within_skill:
            fields["within_skill"] = within_skill
        line = self._rec.line("tool:start", fields, task_id=task_id, timestamp=timestamp)
        self._started[tool_use_id] = {"line": line, "within_skill": within_skill}
        return tool_use_id

    def _row_id(self, tool_use_id):
        return tool_use_id if tool_use_id in self._started else self._row_of.get(tool_use_id, tool_use_id)

    def _task_of(self, row_id):
        s = self._started.get(row_id)
        return s["line"].get("task_id") if s else None

    def log_end(self, tool_use_id: str, tool_result_block: Any, error_message: Optional[str] = None) -> None:
        """Log completion of tool invocation: content (str or list) and is_error of a ToolResultBlock."""
        row_id = self._row_id(tool_use_id)
        if isinstance(tool_result_block, str):
            content, is_error = tool_result_block, False
        elif isinstance(tool_result_block, BaseException):
            content, is_error = str(tool_result_block), True
        else:
            content, is_error = _get(tool_result_block, "content"), _get(tool_result_block, "is_error") is True
        text = content_text(content)
        fields = {"tool_use_id": row_id, "is_error": is_error}
        if content is not None:
            fields["output"] = content
        fields["output_summary"] = one_line(text)
        if is_error or error_message:
            fields["error_message"] = one_line(error_message or text or "tool failed", 1000)
        self._rec.line("tool:end", fields, task_id=self._task_of(row_id), timestamp=iso_now())

    def log_blocked(self, tool_use_id: str, reason: str) -> None:
        """Log security-blocked tool invocation, with why it was blocked."""
        if not isinstance(reason, str):
            raise TypeError("log_blocked() takes the reason as a string")
        row_id = self._row_id(tool_use_id)
        self._rec.line("tool:blocked", {"tool_use_id": row_id, "reason": reason}, task_id=self._task_of(row_id))

    def _set_within_skill(self, tool_use_id, trace_id):
        """Puts a call this logger started into a skill trace; a call not in it yet is recorded
        again with the skill (the same start, linked to its entry). False when unknown here."""
        row_id = self._row_id(tool_use_id)
        s = self._started.get(row_id)
        if s is None:
            return False
        if s["within_skill"] == trace_id:
            return True
        s["within_skill"] = trace_id
        line = s["line"]
        fields = {k: v for k, v in line.items() if k not in ("kind", "execution_id", "timestamp", "instance_id", "task_id", "wave_id")}
        fields["within_skill"] = trace_id
        self._rec.line("tool:start", fields, task_id=line.get("task_id"), wave_id=line.get("wave_id"), timestamp=line["timestamp"])
        return True


def _category_of(name):
    return tool_category(name)
