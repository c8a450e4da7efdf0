"""ObservabilitySkills runs obs's own SQL: each of the 40 methods returns exactly what
`obs query ID ARG --json` returns on the same database, as dataclasses; a database without
the tables a query needs makes it return nothing, with the reason, never an exception."""

import dataclasses
import json
import os
import sqlite3
import unittest
import warnings

import scenario
from obs_producers import observability_skills as osk
from obs_producers.observability_skills import (ObservabilitySkills, ObservabilitySkillsWarning, obs_anomalies, obs_errors,
                                                obs_parallel_health, obs_summary, obs_validate)
from support import TempDirTest, cli_many, obs

NOW = "2026-11-20T10:00:00.000Z"
ARGS = {"execution": "exec-103", "task": "task-103-13", "correlation": "corr-task-103-13", "task_list": "tl-auth-service", "none": None}


def _close(v):
    """Floats to 9 significant digits: SQLite 3.43 and later add up SUM() more exactly (Kahan-Babuska-
    Neumaier), so the last digits of a sum differ between the SQLite of Python and of obs."""
    if isinstance(v, float):
        return float("%.9g" % v)
    if isinstance(v, list):
        return [_close(x) for x in v]
    if isinstance(v, dict):
        return {k: _close(x) for k, x in v.items()}
    return v


class Skills(TempDirTest):
    @classmethod
    def setUpClass(cls):
        import tempfile

        cls.demo_dir = tempfile.mkdtemp(prefix="obs-py-demo-")
        cls.demo = os.path.join(cls.demo_dir, "demo.db")
        code, _out, err = obs("demo", "--db", cls.demo)
        assert code == 0, err

    @classmethod
    def tearDownClass(cls):
        import shutil

        shutil.rmtree(cls.demo_dir, ignore_errors=True)

    def setUp(self):
        super().setUp()
        self._env = os.environ.get("OBS_NOW")
        os.environ["OBS_NOW"] = NOW

    def tearDown(self):
        if self._env is None:
            os.environ.pop("OBS_NOW", None)
        else:
            os.environ["OBS_NOW"] = self._env
        super().tearDown()

    def test_every_method_returns_what_obs_query_returns(self):
        skills = ObservabilitySkills(self.demo)
        self.assertEqual(len(osk.QUERIES), 40)
        found = 0
        calls = [["query", qid] + ([ARGS[q["arg"]]] if ARGS[q["arg"]] else []) + ["--json", "--db", self.demo] for qid, q in osk.QUERIES.items()]
        answers = dict(zip(osk.QUERIES, cli_many(calls, {"OBS_NOW": NOW})))
        for qid, (method, type_name) in osk._METHODS.items():
            q = osk.QUERIES[qid]
            arg = ARGS[q["arg"]]
            code, out, err = answers[qid]
            self.assertIn(code, (0, 1), err)
            expected = json.loads(out)
            fn = getattr(skills, method)
            got = fn(arg) if arg is not None else fn()
            if qid in ("T003", "A001"):
                got = [got] if got is not None else []
            elif qid == "A002":
                self.assertEqual(got.total, sum(r.count for r in got.by_status))
                got = got.by_status
            for row in got:
                self.assertEqual(type(row).__name__, type_name)
                self.assertTrue(dataclasses.is_dataclass(row))
            as_dicts = [{k: v for k, v in dataclasses.asdict(r).items() if k != "is_root_cause"} for r in got]
            self.assertEqual(_close(as_dicts), _close(expected), "%s (%s) differs from obs query %s" % (method, qid, qid))
            found += bool(expected)
        self.assertGreater(found, 30, "the demo gives most queries rows to compare")

    def test_seed_001_summaries_and_the_convenience_functions(self):
        skills = ObservabilitySkills(self.demo)
        issues = skills.validate("exec-103")
        self.assertTrue(issues)
        code, out, _err = obs("validate", "exec-103", "--json", "--db", self.demo, env={"OBS_NOW": NOW})
        self.assertEqual(code, 1)
        checks = json.loads(out)["checks"]
        self.assertEqual([(i.check_id, i.details) for i in issues], [(c["id"], r) for c in checks for r in c["rows"]])
        self.assertTrue(all(i.check_id.startswith("V") and i.description.startswith(i.title) for i in issues))
        errors = skills.find_errors("exec-103")
        roots = [e for e in errors if e.is_root_cause]
        self.assertEqual(len(roots), 1)
        self.assertEqual(roots[0].id, skills.t003_find_first_error_in_chain("exec-103").id)
        health = skills.parallel_health("exec-103")
        self.assertEqual(health.is_healthy, not health.issues)
        self.assertEqual(len(health.stuck_agents), len(skills.p002_find_stuck_agents("exec-103")))
        anomalies = skills.detect_anomalies("exec-103")
        self.assertEqual(anomalies.has_anomalies, any([anomalies.unusual_durations, anomalies.error_cascades, anomalies.assertion_regressions,
                                                       anomalies.activity_spikes, anomalies.orphaned_resources, anomalies.circular_waits]))
        self.assertEqual(skills.execution_summary("exec-103")["execution_id"], "exec-103")
        self.assertEqual(skills.find_blocked("exec-103"), skills.query("T002", "exec-103"))
        self.assertEqual(skills.trace_task("task-103-13"), skills.query("I001", "task-103-13"))
        old = os.environ.get("OBS_DB")
        os.environ["OBS_DB"] = self.demo
        try:
            self.assertEqual(len(obs_validate("exec-103")), len(issues))
            self.assertEqual([e.id for e in obs_errors("exec-103")], [e.id for e in errors])
            self.assertEqual(obs_parallel_health("exec-103").issues, health.issues)
            self.assertEqual(obs_anomalies("exec-103").has_anomalies, anomalies.has_anomalies)
            self.assertEqual(obs_summary("exec-103")["tool_calls"], skills.a001_execution_summary("exec-103").tool_calls)
        finally:
            if old is None:
                os.environ.pop("OBS_DB", None)
            else:
                os.environ["OBS_DB"] = old

    def test_on_the_producers_record(self):
        scenario.run(self, "exec-py")
        skills = ObservabilitySkills(self.db)
        blocked = skills.t002_find_blocked_commands("exec-py")
        self.assertEqual([(b.tool_use_id, b.block_reason) for b in blocked], [("toolu_rm", "Dangerous command blocked by security policy")])
        self.assertEqual(skills.v001_verify_sequence_integrity("exec-py"), [])
        s = skills.a001_execution_summary("exec-py")
        self.assertEqual((s.tool_calls, s.blocked, s.assertions, s.skills, s.status), (6, 1, 3, 3, "completed"))
        self.assertEqual(skills.a002_task_completion_summary("exec-py").failed, 1)
        tools = {t.tool: t.calls for t in skills.i002_tool_usage_patterns("exec-py")}
        self.assertEqual(tools, {"Bash": 3, "Read": 1, "Write": 1, "Grep": 1})

    def test_a_database_without_the_tables_returns_nothing_and_says_why(self):
        db = os.path.join(self.dir, "bare.db")
        conn = sqlite3.connect(db)
        conn.execute("CREATE TABLE transcript_entries (id TEXT PRIMARY KEY, execution_id TEXT, sequence INTEGER, timestamp TEXT, entry_type TEXT)")
        conn.execute("INSERT INTO transcript_entries VALUES ('a', 'e', 1, '2026-01-01T00:00:00.000Z', 'x'), ('b', 'e', 3, '2026-01-01T00:00:01.000Z', 'x')")
        conn.commit()
        conn.close()
        skills = ObservabilitySkills(db)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.assertEqual([(g.sequence, g.gap) for g in skills.v001_verify_sequence_integrity("e")], [(3, 2)])
            self.assertEqual(skills.t002_find_blocked_commands("e"), [])
            self.assertIsNone(skills.a001_execution_summary("e"))
            self.assertEqual(skills.d006_circular_wait_patterns(), [])
        self.assertEqual(skills.skipped["T002"], "no table tool_uses")
        self.assertIn("A001", skills.skipped)
        self.assertTrue(any(issubclass(w.category, ObservabilitySkillsWarning) and "T002 skipped" in str(w.message) for w in caught))
        with open(db, "rb") as f:
            before = f.read()
        skills.v007_verify_foreign_keys()
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before, "queries never change the file")

    def test_arguments_and_options(self):
        skills = ObservabilitySkills(self.demo)
        loose = skills.d001_unusual_duration("exec-103", factor=1.5)
        self.assertGreaterEqual(len(loose), len(skills.d001_unusual_duration("exec-103")))
        self.assertTrue(all(r.ratio >= 1.5 for r in loose))
        with self.assertRaisesRegex(TypeError, "D001 takes no option window_ms"):
            skills.query("D001", "exec-103", window_ms=5)
        with self.assertRaisesRegex(TypeError, "V001 needs an execution id"):
            skills.query("V001")
        with self.assertRaisesRegex(KeyError, "no query 'X001'"):
            skills.query("X001", "e")
        with self.assertRaisesRegex(FileNotFoundError, "no database at .*nowhere.db: create one with `obs init"):
            ObservabilitySkills(os.path.join(self.dir, "nowhere.db"))


if __name__ == "__main__":
    unittest.main()
