"""Several agents writing one execution at once: sequences stay distinct, gap-free and in time
order, across threads, processes, and the Python and TypeScript producers together."""

import json
import os
import subprocess
import sys
import threading
import time
import unittest

from support import DIST, NODE, PYTHON_DIR, TempDirTest, need_obs, obs, rows

# Each child says it is ready, then waits for the word to start, so that all of them write at once.
PY_CHILD = """
import os, sys, time
sys.path.insert(0, %r)
from obs_producers import TranscriptWriter
execution_id, who, n, db, transcripts, gate = sys.argv[1:]
w = TranscriptWriter(execution_id, who, db_path=db, transcripts_dir=transcripts, flush_interval=0.02)
open(gate + "." + who, "w").close()
while not os.path.exists(gate):
    time.sleep(0.002)
for i in range(int(n)):
    w.write({"entry_type": "checkpoint", "category": "lifecycle", "summary": "%%s %%d" %% (who, i)})
    if i %% 25 == 0:
        time.sleep(0.002)
w.close()
""" % PYTHON_DIR

NODE_CHILD = """
import fs from "node:fs";
import { TranscriptWriter } from %s;
const [exec, who, n, db, transcripts, gate] = process.argv.slice(1);
const w = new TranscriptWriter({ executionId: exec, instanceId: who, dbPath: db, transcriptsDir: transcripts, flushIntervalMs: 20 });
fs.writeFileSync(gate + "." + who, "");
while (!fs.existsSync(gate)) await new Promise((r) => setTimeout(r, 2));
for (let i = 0; i < Number(n); i++) {
  w.write({ entryType: "checkpoint", summary: who + " " + i });
  if (i %% 25 === 0) await new Promise((r) => setTimeout(r, 2));
}
w.close();
"""


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
time.sleep(float(sys.argv[2]))
print("released %r" % time.time(), flush=True)
conn.execute("COMMIT")
conn.close()
"""


class Concurrency(TempDirTest):
    def check(self, execution_id, writers, n):
        got = rows(self.db, "SELECT sequence, timestamp, instance_id, summary FROM transcript_entries WHERE execution_id = ? ORDER BY sequence",
                   (execution_id,))
        total = len(writers) * n
        self.assertEqual([r["sequence"] for r in got], list(range(1, total + 1)), "distinct, gap-free sequences 1..%d" % total)
        for a, b in zip(got, got[1:]):
            self.assertLessEqual(a["timestamp"], b["timestamp"], "sequence %d is later than %d" % (a["sequence"], b["sequence"]))
        for who in writers:
            mine = [int(r["summary"].split(" ")[1]) for r in got if r["instance_id"] == who]
            self.assertEqual(mine, list(range(n)), "%s's entries keep its own order" % who)
        switches = sum(1 for a, b in zip(got, got[1:]) if a["instance_id"] != b["instance_id"])
        self.assertGreater(switches, 10, "the writers ran at the same time")
        lines = self.jsonl(execution_id)
        seqs = sorted(l["sequence"] for l in lines if l["kind"] == "transcript:entry")
        self.assertEqual(seqs, list(range(1, total + 1)), "the JSONL holds the same entries, every line whole")

    @property
    def gate(self):
        return os.path.join(self.dir, "go")

    def spawn_python(self, execution_id, who, n):
        return who, subprocess.Popen([sys.executable, "-c", PY_CHILD, execution_id, who, str(n), self.db, self.transcripts, self.gate],
                                     stderr=subprocess.PIPE, text=True)

    def spawn_node(self, execution_id, who, n):
        need_obs()
        script = NODE_CHILD % json.dumps(os.path.join(DIST, "producers", "index.js"))
        return who, subprocess.Popen([NODE, "--input-type=module", "-e", script, execution_id, who, str(n), self.db, self.transcripts, self.gate],
                                     stderr=subprocess.PIPE, text=True)

    def wait(self, children):
        import time

        deadline = time.time() + 60
        while not all(os.path.exists(self.gate + "." + who) for who, _p in children):
            self.assertLess(time.time(), deadline, "the children did not start")
            self.assertTrue(all(p.poll() is None for _w, p in children), "a child died before starting")
            time.sleep(0.01)
        open(self.gate, "w").close()
        for _who, p in children:
            _out, err = p.communicate(timeout=120)
            self.assertEqual(p.returncode, 0, err)

    def test_four_python_processes_times_500_entries(self):
        self.assertEqual(obs("init", "--db", self.db)[0], 0)
        self.wait([self.spawn_python("exec-procs", "p%d" % i, 500) for i in range(4)])
        self.check("exec-procs", ["p0", "p1", "p2", "p3"], 500)
        code, out, err = obs("query", "V001", "exec-procs", "--json", "--db", self.db)
        self.assertEqual((code, json.loads(out)), (0, []), err)

    def test_python_and_typescript_producers_writing_one_execution_share_its_sequence(self):
        self.assertEqual(obs("init", "--db", self.db)[0], 0)
        self.wait([self.spawn_python("exec-mixed", "py0", 300), self.spawn_node("exec-mixed", "ts0", 300),
                   self.spawn_python("exec-mixed", "py1", 300), self.spawn_node("exec-mixed", "ts1", 300)])
        self.check("exec-mixed", ["py0", "ts0", "py1", "ts1"], 300)

    def test_threads_sharing_one_writer_and_threads_with_their_own(self):
        shared = self.writer("exec-threads", flush_interval=0.01)
        own = []

        def work(who, w, n):
            for i in range(n):
                w.write({"entry_type": "checkpoint", "summary": "%s %d" % (who, i)})

        threads = [threading.Thread(target=work, args=("t%d" % i, shared, 250)) for i in range(2)]
        for i in range(2, 4):
            w = self.writer("exec-threads", instance_id="t%d" % i, flush_interval=0.01)
            own.append(w)
            threads.append(threading.Thread(target=work, args=("t%d" % i, w, 250)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for w in [shared] + own:
            w.close()
        got = rows(self.db, "SELECT sequence, summary FROM transcript_entries WHERE execution_id = 'exec-threads' ORDER BY sequence")
        self.assertEqual([r["sequence"] for r in got], list(range(1, 1001)))
        for who in ("t0", "t1", "t2", "t3"):
            self.assertEqual([int(r["summary"].split()[1]) for r in got if r["summary"].split()[0] == who], list(range(250)))

    def test_a_counter_made_anew_starts_after_what_the_file_and_the_database_hold(self):
        w = self.writer("exec-resume")
        for i in range(3):
            w.write({"entry_type": "checkpoint", "summary": str(i)})
        w.close()
        os.remove(os.path.join(self.transcripts, "exec-resume", "unified.seq"))
        w = self.writer("exec-resume")
        self.assertEqual(w.get_sequence(), 3)
        w.write({"entry_type": "checkpoint", "summary": "after"})
        w.close()
        self.assertEqual([r["sequence"] for r in rows(self.db, "SELECT sequence FROM transcript_entries ORDER BY sequence")], [1, 2, 3, 4])

    def hold_write_lock(self, path, seconds):
        """Another process holding a new file's write lock, as one switching it to WAL does; returns
        it once it holds the lock. It prints the time just before it lets go."""
        p = subprocess.Popen([sys.executable, "-c", HOLDER, path, str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(p.wait)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stderr.close)
        self.assertEqual(p.stdout.readline(), "held\n", p.stderr.read() if p.poll() is not None else "")
        return p

    def released(self, holder):
        holder.wait(timeout=60)
        self.assertEqual(holder.returncode, 0, holder.stderr.read())
        return float(holder.stdout.readline().split()[1])

    def test_a_writer_starting_while_another_process_holds_its_new_counter_file_waits_for_it(self):
        # Switching a file to WAL turns a read into a write, which SQLite never waits for: without a
        # wait of the writer's own, "database is locked" at once, from TranscriptWriter(...).
        counter = os.path.join(self.transcripts, "exec-start", "unified.seq")
        os.makedirs(os.path.dirname(counter))
        holder = self.hold_write_lock(counter, 1)
        started = time.time()
        w = self.writer("exec-start")
        made = time.time()
        w.write({"entry_type": "checkpoint", "summary": "first"})
        w.close()
        released = self.released(holder)
        self.assertLess(started, released, "the other process let go before the writer started: a stalled machine, not a wait; run it again")
        self.assertGreaterEqual(made, released, "the writer had its counter before the other process let go of it")
        self.assertEqual([(r["sequence"], r["summary"]) for r in rows(self.db, "SELECT sequence, summary FROM transcript_entries")], [(1, "first")])
        self.assertEqual(self.reports, [])

    def test_a_writer_whose_new_database_another_process_holds_waits_for_it_rather_than_report_it_locked(self):
        holder = self.hold_write_lock(self.db, 1)
        started = time.time()
        w = self.writer("exec-db")
        w.write({"entry_type": "checkpoint", "summary": "first"})
        w.flush()
        written = time.time()
        released = self.released(holder)
        self.assertLess(started, released, "the other process let go before the writer started: a stalled machine, not a wait; run it again")
        self.assertEqual(self.reports, [], "the database was written at the first flush")
        self.assertGreaterEqual(written, released, "the first flush was done before the other process let go of the database")
        self.assertEqual([r["summary"] for r in rows(self.db, "SELECT summary FROM transcript_entries")], ["first"])
        w.close()


if __name__ == "__main__":
    unittest.main()
