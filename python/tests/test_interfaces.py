"""The seed's interfaces, exactly: module and class names, method names and their arguments,
and the enums' values (seed 000 Phase 2, seed 001)."""

import importlib
import inspect
import unittest

import support  # noqa: F401  (puts the package on the path)


def params(fn):
    return [p for p in inspect.signature(fn).parameters if p != "self"]


class SeedInterfaces(unittest.TestCase):
    def test_modules_and_classes(self):
        for module, names in {
            "obs_producers.transcript_writer": ["TranscriptWriter", "TranscriptEntryType", "TranscriptEntry"],
            "obs_producers.tool_use_logger": ["ToolUseLogger", "ToolCategory"],
            "obs_producers.skill_tracer": ["SkillTracer", "SkillReference"],
            "obs_producers.assertion_recorder": ["AssertionRecorder", "AssertionCategory", "AssertionEvidence", "AssertionResult", "ChainResult"],
            "obs_producers.observability_skills": ["ObservabilitySkills", "obs_validate", "obs_errors", "obs_parallel_health", "obs_anomalies", "obs_summary"],
        }.items():
            m = importlib.import_module(module)
            for n in names:
                self.assertTrue(hasattr(m, n), "%s.%s" % (module, n))

    def test_producer_methods_and_arguments(self):
        from obs_producers import AssertionRecorder, SkillTracer, ToolUseLogger, TranscriptWriter

        self.assertEqual(params(TranscriptWriter.__init__)[:3], ["execution_id", "instance_id", "wave_id"])
        self.assertEqual(params(TranscriptWriter.write), ["entry"])
        for m in ("flush", "close", "get_sequence"):
            self.assertEqual(params(getattr(TranscriptWriter, m)), [])
        self.assertEqual(params(ToolUseLogger.__init__), ["transcript_writer"])
        self.assertEqual(params(ToolUseLogger.log_start)[0], "tool_use_block")
        self.assertEqual(params(ToolUseLogger.log_end)[:2], ["tool_use_id", "tool_result_block"])
        self.assertEqual(params(ToolUseLogger.log_blocked), ["tool_use_id", "reason"])
        self.assertEqual(params(SkillTracer.__init__), ["transcript_writer", "tool_logger"])
        self.assertEqual(params(SkillTracer.trace_start)[0], "skill_ref")
        self.assertEqual(params(SkillTracer.trace_end), ["trace_id", "status", "error"])
        self.assertEqual(params(SkillTracer.add_tool_call), ["trace_id", "tool_use_id"])
        self.assertEqual(params(SkillTracer.get_active_skill), [])
        self.assertEqual(params(AssertionRecorder.__init__)[:2], ["transcript_writer", "execution_id"])
        self.assertEqual(params(AssertionRecorder.start_chain), ["task_id", "description"])
        self.assertEqual(params(AssertionRecorder.end_chain), ["chain_id"])
        for m, first in {"assert_file_created": ["task_id", "file_path"], "assert_file_modified": ["task_id", "file_path"],
                         "assert_file_deleted": ["task_id", "file_path"], "assert_typescript_compiles": ["task_id"],
                         "assert_lint_passes": ["task_id", "file_path"], "assert_tests_pass": ["task_id", "pattern"],
                         "assert_custom": ["task_id", "category", "desc", "cmd"], "assert_api_responds": ["task_id"],
                         "assert_schema_valid": ["task_id"], "assert_dependency_met": ["task_id"]}.items():
            self.assertEqual(params(getattr(AssertionRecorder, m))[:len(first)], first, m)
        # seed 001 names two of them otherwise; both are accepted.
        self.assertIn("test_pattern", params(AssertionRecorder.assert_tests_pass))
        self.assertTrue({"description", "command"} <= set(params(AssertionRecorder.assert_custom)))

    def test_enums(self):
        from obs_producers import AssertionCategory, ToolCategory, TranscriptEntryType

        self.assertEqual({e.name: e.value for e in TranscriptEntryType}, {
            "PHASE_START": "phase_start", "PHASE_END": "phase_end", "TASK_START": "task_start", "TASK_END": "task_end",
            "TOOL_USE": "tool_use", "SKILL_INVOKE": "skill_invoke", "SKILL_COMPLETE": "skill_complete", "DECISION": "decision",
            "VALIDATION": "validation", "ASSERTION": "assertion", "DISCOVERY": "discovery", "ERROR": "error",
            "CHECKPOINT": "checkpoint", "LOCK_ACQUIRE": "lock_acquire", "LOCK_RELEASE": "lock_release"})
        self.assertEqual({e.name: e.value for e in ToolCategory}, {
            "FILE_READ": "file_read", "FILE_WRITE": "file_write", "SHELL": "shell", "BROWSER": "browser", "NETWORK": "network",
            "AGENT": "agent", "CUSTOM": "custom"})
        self.assertEqual({e.name: e.value for e in AssertionCategory}, {
            "FILE_CREATED": "file_created", "FILE_MODIFIED": "file_modified", "FILE_DELETED": "file_deleted",
            "TYPESCRIPT_COMPILES": "typescript_compiles", "LINT_PASSES": "lint_passes", "TESTS_PASS": "tests_pass",
            "API_RESPONDS": "api_responds", "SCHEMA_VALID": "schema_valid", "DEPENDENCY_MET": "dependency_met", "CUSTOM": "custom"})
        for enum in (AssertionCategory, ToolCategory, TranscriptEntryType):
            self.assertTrue(issubclass(enum, str))

    def test_dataclasses(self):
        import dataclasses

        from obs_producers import AssertionEvidence, SkillReference

        self.assertEqual([f.name for f in dataclasses.fields(SkillReference)], ["skill_name", "skill_file", "line_number", "section_title"])
        self.assertEqual([f.name for f in dataclasses.fields(AssertionEvidence)][:7],
                         ["command", "exit_code", "stdout", "stderr", "file_path", "file_exists", "error_message"])

    def test_the_40_query_methods(self):
        from obs_producers import ObservabilitySkills

        names = """v001_verify_sequence_integrity v002_verify_tool_use_linkage v003_verify_temporal_consistency v004_verify_lock_balance
        v005_verify_chain_completeness v006_verify_wave_task_counts v007_verify_foreign_keys t001_find_all_errors
        t002_find_blocked_commands t003_find_first_error_in_chain t004_find_incomplete_operations t005_find_repeated_failures
        t006_find_task_blockers i001_task_execution_trace i002_tool_usage_patterns i003_skill_execution_patterns
        i004_file_access_patterns i005_related_events_by_correlation i006_reconstruct_decisions i007_assertion_evidence_analysis
        a001_execution_summary a002_task_completion_summary a003_hourly_activity_heatmap a004_pass_rate_by_category
        a005_duration_percentiles a006_cross_execution_comparison p001_wave_progress p002_find_stuck_agents
        p003_detect_file_conflicts p004_wave_efficiency p005_find_wave_bottlenecks p006_concurrent_execution_overlaps
        p007_agent_lifecycle d001_unusual_duration d002_error_cascades d003_assertion_regression d004_activity_spikes
        d005_orphaned_resources d006_circular_wait_patterns d007_repeated_calls""".split()
        self.assertEqual(len(names), 40)
        first = {"t006": "task_id", "i001": "task_id", "i005": "correlation_id", "a006": "task_list_id"}
        for n in names:
            fn = getattr(ObservabilitySkills, n)
            want = [] if n.startswith("d006") else [first.get(n[:4], "execution_id")]
            self.assertEqual(params(fn)[:len(want)], want, n)
        for n in ("validate", "find_errors", "find_blocked", "find_incomplete", "parallel_health", "find_wave_bottlenecks",
                  "detect_anomalies", "execution_summary", "tool_usage_stats", "trace_task"):
            self.assertTrue(callable(getattr(ObservabilitySkills, n)), n)
        self.assertEqual(params(ObservabilitySkills.__init__), ["db_path"])


if __name__ == "__main__":
    unittest.main()
