"""obs's producers for Python agents: the four classes that write obs's record while an agent
works, and the query class that asks obs's 40 questions of it (seeds 000 and 001).

    from obs_producers import TranscriptWriter, ToolUseLogger, SkillTracer, AssertionRecorder

Standard library only; Python 3.9 or later.
"""

from .assertion_recorder import AssertionCategory, AssertionEvidence, AssertionRecorder, AssertionResult, ChainResult
from .skill_tracer import SkillReference, SkillTracer
from .tool_use_logger import ToolCategory, ToolUseLogger
from .transcript_writer import EntryCategory, ExecutionStatus, TaskStatus, TranscriptEntry, TranscriptEntryType, TranscriptWriter
from .observability_skills import (ObservabilitySkills, obs_anomalies, obs_errors, obs_parallel_health, obs_summary,
                                   obs_validate)

__version__ = "0.1.0"

__all__ = [
    "TranscriptWriter", "TranscriptEntry", "TranscriptEntryType", "EntryCategory", "ExecutionStatus", "TaskStatus",
    "ToolUseLogger", "ToolCategory",
    "SkillTracer", "SkillReference",
    "AssertionRecorder", "AssertionCategory", "AssertionEvidence", "AssertionResult", "ChainResult",
    "ObservabilitySkills", "obs_validate", "obs_errors", "obs_parallel_health", "obs_anomalies", "obs_summary",
]
