"""A short run with every kind of record the producers write, and values that are hard to copy
exactly: floats, big integers, keys JavaScript reorders, emoji where a summary is cut, Unicode
spaces, an output too big to store whole."""

import os
import time

import support  # noqa: F401  (puts the package on the path)
from obs_producers import AssertionRecorder, SkillReference, SkillTracer, ToolUseLogger


def run(test, execution_id):
    w = test.writer(execution_id)
    tools = ToolUseLogger(w)
    skills = SkillTracer(w, tools)
    rec = AssertionRecorder(w, execution_id, cwd=test.dir)
    ids = {}
    ids["phase"] = w.write({"entry_type": "phase_start", "category": "lifecycle", "summary": "Prime\u00a0 phase\nstarts",
                            "details": {"ratio": 1.0, "third": 1 / 3, "tiny": 1.5e-7, "huge": 1e21, "big": 2 ** 60,
                                        "10": "ten", "2": "two", "name": "x", "nested": {"k": [1, 2.5, None, True]}}})
    w.write({"entry_type": "task_start", "task_id": "T-1", "summary": "Starting task T-1", "details": {"title": "Create user.ts"}})
    ids["read"] = tools.log_start({"id": "toolu_read", "name": "Read", "input": {"file_path": "src/user.ts"}}, task_id="T-1")
    tools.log_end(ids["read"], {"content": "export {}", "is_error": False})
    ids["skill"] = skills.trace_start(SkillReference("code-generation", "skills/code-generation.md", 12, "## Generate"), task_id="T-1")
    ids["inner"] = skills.trace_start(SkillReference("formatting", "skills/format.md", 3, "## Format"), task_id="T-1")
    ids["write"] = tools.log_start({"id": "toolu_write", "name": "Write", "input": {"file_path": "src/user.ts", "content": "x" * 300}}, task_id="T-1")
    tools.log_end(ids["write"], {"content": [{"type": "text", "text": "written"}]})
    skills.trace_end(ids["inner"], "success")
    ids["bash"] = tools.log_start({"id": "toolu_bash", "name": "Bash", "input": {"command": "npm run build"}}, task_id="T-1")
    time.sleep(0.02)
    tools.log_end(ids["bash"], {"content": "error TS2304: Cannot find name 'x'", "is_error": True})
    skills.trace_end(ids["skill"], "partial", "one build failed")
    ids["blocked"] = tools.log_start({"id": "toolu_rm", "name": "Bash", "input": {"command": "rm -rf /"}}, task_id="T-1")
    tools.log_blocked(ids["blocked"], "Dangerous command blocked by security policy")
    ids["late"] = tools.log_start({"name": "Grep", "input": {"pattern": "TODO", "path": "src"}}, task_id="T-1", within_skill=None)
    ids["late_skill"] = skills.trace_start(SkillReference("review", "skills/review.md", 1, "## Review"))
    skills.add_tool_call(ids["late_skill"], ids["late"])
    tools.log_end(ids["late"], "3 matches")
    skills.trace_end(ids["late_skill"], "success")
    # An output past the stored limit, full of characters JSON escapes: stored cut, the same in both copies.
    ids["big"] = tools.log_start({"id": "toolu_big", "name": "Bash", "input": {"command": "cat big"}}, task_id="T-1")
    tools.log_end(ids["big"], {"content": ('"quoted" \\ back\n' * 5000) + "🚀" * 10})
    w.flush()  # a batch boundary in the middle of the run, as the flush interval makes them
    with open(os.path.join(test.dir, "user.ts"), "w") as f:
        f.write("export {}\n")
    ids["chain"] = rec.start_chain("T-1", "Validate CREATE task")
    created = rec.assert_file_created("T-1", "user.ts")
    missing = rec.assert_file_created("T-1", "missing.ts")
    custom = rec.assert_custom("T-1", "custom", "prints and fails", "echo out; echo oops >&2; exit 3")
    chain = rec.end_chain(ids["chain"])
    w.write({"entry_type": "task_end", "task_id": "T-1", "summary": "Task T-1 done", "details": {"status": "failed"}})
    # An emoji is two UTF-16 units: here one straddles the cut (units 198-199), there one ends before it.
    w.write({"entry_type": "discovery", "summary": "a" * 198 + "🚀 and more"})
    w.write({"entry_type": "discovery", "summary": "b" * 197 + "🚀 and more"})
    w.set_execution_status("completed", "all done")
    w.close()
    return {"ids": ids, "created": created, "missing": missing, "custom": custom, "chain": chain}
