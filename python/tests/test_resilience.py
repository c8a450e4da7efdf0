"""The producers never take the agent down: a locked, missing or foreign database is tried again
(or given up), said once, and the JSONL goes on; `obs ingest` catches a database up from it."""

import os
import sqlite3
import unittest

from support import TempDirTest, obs, rows, snapshot


class Resilience(TempDirTest):
    def entries(self, db, execution_id):
        return [r["summary"] for r in rows(db, "SELECT summary FROM transcript_entries WHERE execution_id = ? ORDER BY sequence", (execution_id,))]

    def test_a_locked_database_is_retried_at_each_flush_said_once_and_caught_up(self):
        self.assertEqual(obs("init", "--db", self.db)[0], 0)
        w = self.writer("exec-locked")
        w.write({"entry_type": "checkpoint", "summary": "before"})
        w.flush()
        holder = sqlite3.connect(self.db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("INSERT INTO obs_meta (key, value) VALUES ('held', 'yes')")
        w.write({"entry_type": "checkpoint", "summary": "while locked 1"})
        w.flush()
        w.write({"entry_type": "checkpoint", "summary": "while locked 2"})
        w.flush()
        self.assertEqual(len(self.reports), 1, self.reports)
        self.assertRegex(self.reports[0], r"^obs producer: cannot write .*obs\.db \(database is locked\); the record goes on in "
                                          r".*exec-locked/unified\.jsonl, and the database is tried again at each flush — "
                                          r"`obs ingest .*unified\.jsonl` brings a database up to date\n$")
        self.assertEqual([l["summary"] for l in self.jsonl("exec-locked") if l["kind"] == "transcript:entry"],
                         ["before", "while locked 1", "while locked 2"], "the JSONL kept everything")
        holder.execute("ROLLBACK")
        holder.close()
        self.assertEqual(self.entries(self.db, "exec-locked"), ["before"])
        w.write({"entry_type": "checkpoint", "summary": "after"})
        w.close()
        self.assertEqual(self.entries(self.db, "exec-locked"), ["before", "while locked 1", "while locked 2", "after"])
        self.assertEqual(len(self.reports), 2)
        self.assertIn("is written again; 3 waiting line(s) caught up", self.reports[1])

    def test_a_database_whose_directory_is_missing_waits_for_it_and_obs_ingest_can_catch_up(self):
        db = os.path.join(self.dir, "later", "obs.db")
        w = self.writer("exec-missing", db_path=db)
        w.write({"entry_type": "checkpoint", "summary": "one"})
        w.flush()
        w.write({"entry_type": "checkpoint", "summary": "two"})
        w.flush()
        self.assertEqual(len(self.reports), 1)
        self.assertIn("cannot write %s" % db, self.reports[0])
        jsonl = os.path.join(self.transcripts, "exec-missing", "unified.jsonl")
        other = os.path.join(self.dir, "other.db")
        code, _out, err = obs("ingest", jsonl, "--db", other)
        self.assertEqual(code, 0, err)
        self.assertEqual(self.entries(other, "exec-missing"), ["one", "two"])
        os.makedirs(os.path.dirname(db))
        w.write({"entry_type": "checkpoint", "summary": "three"})
        w.close()
        self.assertEqual(self.entries(db, "exec-missing"), ["one", "two", "three"], "made from obs's schema and caught up")
        code, out, _err = obs("init", "--db", db)
        self.assertEqual(code, 0)
        self.assertIn("is current", out, "the database the producer made is the one obs init makes")
        obs("ingest", jsonl, "--db", other)
        self.assertEqual(snapshot(other, "exec-missing"), snapshot(db, "exec-missing"))

    def test_a_file_that_is_not_a_database_is_given_up_once_and_the_jsonl_goes_on(self):
        db = os.path.join(self.dir, "notes.db")
        with open(db, "w") as f:
            f.write("not a database\n" * 100)
        w = self.writer("exec-foreign", db_path=db)
        for i in range(3):
            w.write({"entry_type": "checkpoint", "summary": str(i)})
            w.flush()
        w.close()
        self.assertEqual(len(self.reports), 1, self.reports)
        self.assertIn("file is not a database", self.reports[0])
        self.assertNotIn("tried again", self.reports[0])
        with open(db) as f:
            self.assertEqual(f.read(), "not a database\n" * 100, "the file is left alone")
        self.assertEqual(len([l for l in self.jsonl("exec-foreign") if l["kind"] == "transcript:entry"]), 3)


if __name__ == "__main__":
    unittest.main()
