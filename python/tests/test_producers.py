"""What each producer writes, worked out by hand from the calls made."""

import http.server
import json
import os
import shutil
import threading
import time
import unittest

import scenario
from obs_producers import AssertionEvidence, AssertionRecorder, SkillReference, SkillTracer, ToolUseLogger, TranscriptEntry
from support import ROOT, TempDirTest, obs, rows, snapshot


class Writer(TempDirTest):
    def test_entries_sequences_summaries_and_the_jsonl(self):
        w = self.writer("exec-w")
        a = w.write({"entry_type": "phase_start", "category": "lifecycle", "summary": "x" * 250, "details": {"k": 1}})
        b = w.write(TranscriptEntry(entry_type="task_start", task_id="T-9", summary="Starting: T-9"))
        self.assertEqual(len(a), 36, "ids are UUIDs")
        self.assertEqual(w.get_sequence(), 2)
        self.assertFalse(os.path.exists(w.jsonl_path), "nothing is written before a flush")
        w.flush()
        got = rows(self.db, "SELECT id, sequence, entry_type, category, summary, task_id, instance_id FROM transcript_entries ORDER BY sequence")
        self.assertEqual([(r["id"], r["sequence"]) for r in got], [(a, 1), (b, 2)])
        self.assertEqual(got[0]["summary"], "x" * 199 + "\u2026")
        self.assertEqual(got[1]["category"], "lifecycle", "a task_start's category when none is given")
        self.assertEqual(got[1]["instance_id"], "agent-1")
        self.assertEqual(rows(self.db, "SELECT status FROM tasks WHERE id = 'T-9'")[0]["status"], "running")
        lines = self.jsonl("exec-w")
        self.assertEqual([l["kind"] for l in lines], ["execution:status", "transcript:entry", "task:status", "transcript:entry"])
        self.assertEqual(lines[1]["entry_id"], a)
        self.assertEqual(lines[1]["sequence"], 1)
        self.assertEqual(w.jsonl_path, os.path.join(self.transcripts, "exec-w", "unified.jsonl"))
        w.close()
        with self.assertRaisesRegex(ValueError, "closed"):
            w.write({"entry_type": "checkpoint", "summary": "late"})

    def test_the_flush_interval_writes_by_itself(self):
        w = self.writer("exec-interval", flush_interval=0.05)
        w.write({"entry_type": "checkpoint", "summary": "one"})
        deadline = time.time() + 5
        while time.time() < deadline and not os.path.exists(self.db):
            time.sleep(0.02)
        while time.time() < deadline and not rows(self.db, "SELECT 1 FROM transcript_entries"):
            time.sleep(0.02)
        self.assertEqual(len(rows(self.db, "SELECT 1 FROM transcript_entries")), 1)
        w.close()

    def test_defaults_come_from_obs_db_and_obs_transcripts(self):
        from obs_producers import TranscriptWriter

        old = dict(os.environ)
        try:
            os.environ["OBS_DB"] = os.path.join(self.dir, "env.db")
            os.environ["OBS_TRANSCRIPTS"] = os.path.join(self.dir, "t")
            w = TranscriptWriter("exec/../env", "a", flush_interval=0)
            w.write({"entry_type": "checkpoint", "summary": "env"})
            w.close()
        finally:
            os.environ.clear()
            os.environ.update(old)
        self.assertEqual(len(rows(os.path.join(self.dir, "env.db"), "SELECT 1 FROM transcript_entries WHERE execution_id = 'exec/../env'")), 1)
        self.assertTrue(os.path.exists(os.path.join(self.dir, "t", "exec%2F..%2Fenv", "unified.jsonl")), "the id cannot leave the folder")

    def test_bad_entries_are_refused_at_the_call(self):
        w = self.writer("exec-bad")
        for entry, message in [({"entry_type": "checkpoint"}, "summary must be a string"),
                               ({"summary": "x"}, "entry_type must be"),
                               ({"entry_type": "checkpoint", "summary": "x", "sumary": "typo"}, "unknown entry field"),
                               ({"entry_type": "checkpoint", "summary": "x", "duration_ms": 1.5}, "duration_ms must be an integer"),
                               ({"entry_type": "checkpoint", "summary": "x", "task_id": 7}, "task_id must be a string")]:
            with self.assertRaisesRegex((TypeError, ValueError), message):
                w.write(entry)
        with self.assertRaises(ValueError):
            w.set_execution_status("done")
        w.close()


class Tools(TempDirTest):
    def test_status_duration_blocking_categories_and_linking(self):
        run = scenario.run(self, "exec-tools")
        ids = run["ids"]
        t = {r["id"]: r for r in rows(self.db, "SELECT * FROM tool_uses")}
        self.assertEqual(set(t), {"toolu_read", "toolu_write", "toolu_bash", "toolu_rm", "toolu_big", ids["late"]})
        self.assertEqual((t["toolu_read"]["result_status"], t["toolu_read"]["tool_category"], t["toolu_read"]["is_error"]), ("done", "file_read", 0))
        self.assertEqual((t["toolu_bash"]["result_status"], t["toolu_bash"]["is_error"], t["toolu_bash"]["error_message"]),
                         ("error", 1, "error TS2304: Cannot find name 'x'"))
        self.assertGreaterEqual(t["toolu_bash"]["duration_ms"], 20)
        self.assertEqual((t["toolu_rm"]["result_status"], t["toolu_rm"]["is_blocked"], t["toolu_rm"]["block_reason"]),
                         ("blocked", 1, "Dangerous command blocked by security policy"))
        self.assertEqual(t["toolu_write"]["within_skill"], ids["inner"], "within the innermost active skill")
        self.assertEqual(t["toolu_bash"]["within_skill"], ids["skill"])
        self.assertIsNone(t["toolu_read"]["within_skill"])
        self.assertEqual(t[ids["late"]]["within_skill"], ids["late_skill"], "add_tool_call puts an earlier call into the skill")
        self.assertEqual(t[ids["late"]]["input_summary"], "TODO in src")
        self.assertEqual(t["toolu_write"]["output_summary"], "written")
        for r in t.values():
            entry = rows(self.db, "SELECT entry_type, details FROM transcript_entries WHERE id = ?", (r["transcript_entry_id"],))[0]
            self.assertEqual(entry["entry_type"], "tool_use")
            self.assertEqual(json.loads(entry["details"]), {"tool_use_id": r["id"], "tool": r["tool"]})

    def test_names_another_execution_already_has_are_this_executions_own_in_both_copies(self):
        for exec_id in ("exec-a", "exec-b"):
            if exec_id == "exec-b":
                # The agent's name is an agent row of exec-a (from its heartbeats).
                code, _out, err = obs("ingest", "-", "--db", self.db, input=json.dumps({
                    "kind": "agent:heartbeat", "execution_id": "exec-a", "timestamp": "2026-01-01T00:00:00.000Z",
                    "instance_id": "agent-1", "status": "working"}) + "\n")
                self.assertEqual(code, 0, err)
            w = self.writer(exec_id)
            w.write({"entry_type": "task_start", "task_id": "T-1", "summary": "T-1 in " + exec_id, "details": {"title": "T-1 of " + exec_id}})
            log = ToolUseLogger(w)
            got = log.log_start({"id": "mock-tool-id", "name": "Read", "input": {"file_path": exec_id}}, task_id="T-1")
            log.log_end("mock-tool-id", "out " + exec_id)
            w.write({"entry_type": "task_end", "task_id": "T-1", "summary": "done"})
            w.close()
        self.assertEqual(got, "mock-tool-id@exec-b")
        self.assertEqual(rows(self.db, "SELECT id, execution_id, output_summary, task_id FROM tool_uses ORDER BY id"),
                         [{"id": "mock-tool-id", "execution_id": "exec-a", "output_summary": "out exec-a", "task_id": "T-1"},
                          {"id": "mock-tool-id@exec-b", "execution_id": "exec-b", "output_summary": "out exec-b", "task_id": "T-1@exec-b"}])
        self.assertEqual(rows(self.db, "SELECT id, execution_id, title, status FROM tasks ORDER BY id"),
                         [{"id": "T-1", "execution_id": "exec-a", "title": "T-1 of exec-a", "status": "completed"},
                          {"id": "T-1@exec-b", "execution_id": "exec-b", "title": "T-1 of exec-b", "status": "completed"}])
        self.assertEqual(rows(self.db, "SELECT DISTINCT instance_id FROM transcript_entries WHERE execution_id = 'exec-b'"), [{"instance_id": "agent-1@exec-b"}])
        fresh = os.path.join(self.dir, "fresh.db")
        self.assertEqual(obs("ingest", os.path.join(self.transcripts, "exec-b", "unified.jsonl"), "--db", fresh)[0], 0)
        self.assertEqual(snapshot(fresh, "exec-b"), snapshot(self.db, "exec-b"))

    def test_blocks_as_objects_and_results_as_exceptions(self):
        w = self.writer("exec-objects")
        log = ToolUseLogger(w)

        class Block:
            id = "toolu_obj"
            name = "WebFetch"
            input = {"url": "https://example.com"}

        tid = log.log_start(Block())
        log.log_end(tid, RuntimeError("connection refused"))
        w.close()
        r = rows(self.db, "SELECT tool_category, input_summary, result_status, error_message FROM tool_uses")[0]
        self.assertEqual(r, {"tool_category": "network", "input_summary": "https://example.com", "result_status": "error",
                             "error_message": "connection refused"})


class Skills(TempDirTest):
    def test_traces_nest_and_collect_their_tool_calls(self):
        run = scenario.run(self, "exec-skills")
        ids = run["ids"]
        s = {r["id"]: r for r in rows(self.db, "SELECT * FROM skill_traces")}
        outer = s[ids["skill"]]
        self.assertEqual((outer["skill_name"], outer["skill_file"], outer["line_number"], outer["section_title"], outer["status"], outer["error_message"]),
                         ("code-generation", "skills/code-generation.md", 12, "## Generate", "partial", "one build failed"))
        self.assertEqual(json.loads(outer["tool_calls"]), ["toolu_bash"])
        self.assertEqual(json.loads(s[ids["inner"]]["tool_calls"]), ["toolu_write"])
        self.assertEqual(outer["duration_ms"], round((_ms(outer["end_time"]) - _ms(outer["start_time"]))))
        kinds = [r["entry_type"] for r in rows(self.db, "SELECT entry_type FROM transcript_entries WHERE entry_type LIKE 'skill_%' ORDER BY sequence")]
        self.assertEqual(kinds, ["skill_invoke", "skill_invoke", "skill_complete", "skill_complete", "skill_invoke", "skill_complete"])

    def test_get_active_skill_is_the_innermost(self):
        w = self.writer("exec-active")
        tracer = SkillTracer(w, ToolUseLogger(w))
        self.assertIsNone(tracer.get_active_skill())
        a = tracer.trace_start(SkillReference("a", "A.md", 1, "# A"))
        b = tracer.trace_start(SkillReference("b", "B.md", 2, "# B"))
        self.assertEqual(tracer.get_active_skill(), b)
        tracer.trace_end(b, "success")
        self.assertEqual(tracer.get_active_skill(), a)
        tracer.trace_end(a, "failed", "broke")
        self.assertIsNone(tracer.get_active_skill())
        with self.assertRaises(ValueError):
            tracer.trace_end(a, "done")
        w.close()


def _ms(iso):
    import datetime

    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000


class Assertions(TempDirTest):
    def test_chains_count_and_point_at_their_first_failure(self):
        run = scenario.run(self, "exec-chain")
        chain = run["chain"]
        self.assertEqual((chain.overall_result, chain.pass_count, chain.fail_count, chain.first_failure_id),
                         ("fail", 1, 2, run["missing"].assertion_id))
        row = rows(self.db, "SELECT * FROM assertion_chains")[0]
        self.assertEqual((row["overall_result"], row["pass_count"], row["fail_count"], row["first_failure_id"], row["task_id"], row["description"]),
                         ("fail", 1, 2, run["missing"].assertion_id, "T-1", "Validate CREATE task"))
        ev = json.loads(rows(self.db, "SELECT evidence FROM assertion_results WHERE id = ?", (run["custom"].assertion_id,))[0]["evidence"])
        self.assertEqual(ev, {"command": "echo out; echo oops >&2; exit 3", "exit_code": 3, "stdout": "out\n", "stderr": "oops\n",
                              "error_message": "exit code 3", "cwd": self.dir})
        ev = json.loads(rows(self.db, "SELECT evidence FROM assertion_results WHERE id = ?", (run["missing"].assertion_id,))[0]["evidence"])
        self.assertEqual(ev, {"file_path": "missing.ts", "file_exists": False, "error_message": "missing.ts does not exist"})
        entries = rows(self.db, "SELECT summary FROM transcript_entries WHERE entry_type = 'assertion' ORDER BY sequence")
        self.assertEqual([e["summary"] for e in entries], ["PASS file_created: user.ts exists", "FAIL file_created: missing.ts exists",
                                                          "FAIL custom: prints and fails"])

    def test_typescript_compiles_really_runs_tsc_in_the_working_directory(self):
        tsc = os.path.join(ROOT, "node_modules", ".bin", "tsc")
        self.assertTrue(os.path.exists(tsc), "the repository's TypeScript is installed (npm ci)")
        project = os.path.join(self.dir, "project")
        os.makedirs(os.path.join(project, "node_modules", ".bin"))
        os.symlink(tsc, os.path.join(project, "node_modules", ".bin", "tsc"))
        with open(os.path.join(project, "tsconfig.json"), "w") as f:
            json.dump({"compilerOptions": {"strict": True, "noEmit": True, "types": []}, "files": ["ok.ts"]}, f)
        with open(os.path.join(project, "ok.ts"), "w") as f:
            f.write("export const n: number = 1;\n")
        w = self.writer("exec-tsc")
        rec = AssertionRecorder(w, "exec-tsc", cwd=project)
        good = rec.assert_typescript_compiles("T-1")
        with open(os.path.join(project, "ok.ts"), "w") as f:
            f.write("export const n: number = 'one';\n")
        bad = rec.assert_typescript_compiles("T-1")
        w.close()
        self.assertEqual((good.result, good.evidence.exit_code), ("pass", 0), good.evidence)
        self.assertEqual(bad.result, "fail")
        self.assertNotEqual(bad.evidence.exit_code, 0)
        self.assertIn("TS2322", bad.evidence.stdout)
        self.assertIn("node_modules/.bin/tsc", bad.evidence.command)
        self.assertTrue(bad.evidence.command.endswith(" --noEmit"))

    def test_a_command_past_its_timeout_is_stopped_and_fails(self):
        w = self.writer("exec-timeout")
        rec = AssertionRecorder(w, cwd=self.dir, timeout=0.5)
        t0 = time.time()
        r = rec.assert_custom("T-1", "custom", "sleeps", "sleep 30")
        w.close()
        self.assertLess(time.time() - t0, 10)
        self.assertEqual((r.result, r.evidence.exit_code, r.evidence.timed_out), ("fail", None, True))
        self.assertEqual(r.evidence.error_message, "timed out after 0.5 s; stopped")

    def test_files_modified_deleted_schema_api_and_dependency(self):
        w = self.writer("exec-files")
        rec = AssertionRecorder(w, cwd=self.dir)
        chain = rec.start_chain("T-2", "checks")
        with open(os.path.join(self.dir, "changed.txt"), "w") as f:
            f.write("new")
        old = os.path.join(self.dir, "old.txt")
        with open(old, "w") as f:
            f.write("old")
        os.utime(old, (time.time() - 3600, time.time() - 3600))
        with open(os.path.join(self.dir, "conf.json"), "w") as f:
            json.dump({"name": "x"}, f)
        results = [
            rec.assert_file_modified("T-2", "changed.txt"),
            rec.assert_file_modified("T-2", "old.txt"),
            rec.assert_file_deleted("T-2", "gone.txt"),
            rec.assert_file_deleted("T-2", "old.txt"),
            rec.assert_schema_valid("T-2", "conf.json", ["name"]),
            rec.assert_schema_valid("T-2", "conf.json", ["name", "version"]),
        ]
        server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            base = "http://127.0.0.1:%d" % server.server_address[1]
            results.append(rec.assert_api_responds("T-2", base + "/ok"))
            results.append(rec.assert_api_responds("T-2", base + "/missing"))
            results.append(rec.assert_api_responds("T-2", base + "/missing", expected_status=404))
        finally:
            server.shutdown()
            server.server_close()
        w.set_task_status("T-1", "completed")
        w.flush()
        results.append(rec.assert_dependency_met("T-2", "T-1"))
        results.append(rec.assert_dependency_met("T-2", "T-nope"))
        results.append(rec.record_result("T-2", "custom", "looked fine", "warn", AssertionEvidence(error_message="slow")))
        end = rec.end_chain(chain)
        w.close()
        self.assertEqual([r.result for r in results], ["pass", "fail", "pass", "fail", "pass", "fail", "pass", "fail", "pass", "pass", "fail", "warn"])
        self.assertEqual(results[1].evidence.error_message.split(" was last modified ")[0], "old.txt")
        self.assertEqual(results[5].evidence.error_message, "missing keys: version")
        self.assertEqual((results[7].evidence.exit_code, results[7].evidence.error_message), (404, "status 404, expected 2xx"))
        self.assertEqual(results[10].evidence.error_message, "no task T-nope in %s" % self.db)
        self.assertEqual((end.pass_count, end.fail_count, end.warn_count, end.overall_result), (6, 5, 1, "fail"))
        row = rows(self.db, "SELECT pass_count, fail_count, skip_count, overall_result FROM assertion_chains")[0]
        self.assertEqual(row, {"pass_count": 6, "fail_count": 5, "skip_count": 0, "overall_result": "fail"})


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/ok" else 404
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"hello" if code == 200 else b"nope")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    unittest.main()
