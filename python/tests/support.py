"""What the producers' tests share: the repository, the obs CLI, temporary places, snapshots."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON_DIR = os.path.dirname(HERE)
ROOT = os.path.dirname(PYTHON_DIR)
sys.path.insert(0, PYTHON_DIR)

OBS_BIN = os.path.join(ROOT, "bin", "obs.js")
DIST = os.path.join(ROOT, "dist", "src")
NODE = os.environ.get("NODE") or shutil.which("node")


def need_obs():
    """The built CLI (npm run build); its absence is a failure, not a reason to skip."""
    if not NODE:
        raise AssertionError("node is not on PATH: these tests check the record against obs itself")
    if not os.path.exists(os.path.join(DIST, "cli.js")):
        raise AssertionError("obs is not built (%s missing): run `npm run build` first" % os.path.join(DIST, "cli.js"))


def obs(*args, cwd=None, env=None, input=None):
    """Runs the obs CLI; returns (exit code, stdout, stderr)."""
    need_obs()
    e = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "NO_COLOR": "1", "TZ": "UTC"}
    e.update(env or {})
    p = subprocess.run([NODE, OBS_BIN] + list(args), cwd=cwd, env=e, capture_output=True, text=True, timeout=120, input=input)
    return p.returncode, p.stdout, p.stderr


def cli_many(calls, env=None):
    """Runs several obs command lines in one node process, through the CLI's own entry point
    (what bin/obs.js runs); returns (exit code, stdout, stderr) of each."""
    script = """
    import { run } from %s;
    import { Readable } from "node:stream";
    const calls = JSON.parse(await new Promise((r) => { let s = ""; process.stdin.on("data", (d) => (s += d)); process.stdin.on("end", () => r(s)); }));
    const out = [];
    for (const argv of calls) {
      let stdout = "", stderr = "";
      const io = { out: (t) => void (stdout += t), err: (t) => void (stderr += t), isTTY: false, errIsTTY: false, columns: Infinity,
                   color: false, env: { ...process.env }, stdin: Readable.from([]) };
      out.push([await run(argv, io), stdout, stderr]);
    }
    process.stdout.write(JSON.stringify(out));
    """ % json.dumps(os.path.join(DIST, "cli.js"))
    need_obs()
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(calls), capture_output=True, text=True, timeout=300, env=e)
    if p.returncode != 0:
        raise AssertionError("node failed: %s" % p.stderr)
    return [tuple(x) for x in json.loads(p.stdout)]


def node_eval(script, payload):
    """Runs an ES module snippet with `input` bound to the JSON payload; returns its JSON output."""
    need_obs()
    p = subprocess.run([NODE, "--input-type=module", "-e", script], input=json.dumps(payload), capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    if p.returncode != 0:
        raise AssertionError("node failed: %s" % p.stderr)
    return json.loads(p.stdout)


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="obs-py-")
        self.db = os.path.join(self.dir, "obs.db")
        self.transcripts = os.path.join(self.dir, "transcripts")
        self.reports = []

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def writer(self, execution_id, instance_id="agent-1", **kw):
        from obs_producers import TranscriptWriter

        kw.setdefault("db_path", self.db)
        kw.setdefault("transcripts_dir", self.transcripts)
        kw.setdefault("flush_interval", 0)
        kw.setdefault("report", self.reports.append)
        return TranscriptWriter(execution_id, instance_id, **kw)

    def jsonl(self, execution_id):
        path = os.path.join(self.transcripts, execution_id, "unified.jsonl")
        with open(path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]


def rows(db, sql, params=()):
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


RECORD_TABLES = {
    "task_list_execution_runs": "SELECT * FROM task_list_execution_runs WHERE id = ?",
    "tasks": "SELECT * FROM tasks WHERE execution_id = ? ORDER BY id",
    "wave_task_assignments": "SELECT * FROM wave_task_assignments WHERE task_id IN (SELECT id FROM tasks WHERE execution_id = ?) ORDER BY 1, 2",
    "transcript_entries": "SELECT * FROM transcript_entries WHERE execution_id = ? ORDER BY id",
    "tool_uses": "SELECT * FROM tool_uses WHERE execution_id = ? ORDER BY id",
    "skill_traces": "SELECT * FROM skill_traces WHERE execution_id = ? ORDER BY id",
    "assertion_chains": "SELECT * FROM assertion_chains WHERE execution_id = ? ORDER BY id",
    "assertion_results": "SELECT * FROM assertion_results WHERE execution_id = ? ORDER BY id",
}


def snapshot(db, execution_id):
    """Every record table's rows of one execution, without how each copy came to be (source, created_at)."""
    out = {}
    for table, sql in RECORD_TABLES.items():
        out[table] = [{k: v for k, v in r.items() if k not in ("source", "created_at")} for r in rows(db, sql, (execution_id,))]
    return out


def row_counts(db):
    names = [r["name"] for r in rows(db, "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' "
                                         "AND name NOT LIKE 'search_fts_%' AND name NOT IN ('ingest_log', 'search_pending')")]
    return {n: rows(db, 'SELECT COUNT(*) AS n FROM "%s"' % n)[0]["n"] for n in names}
