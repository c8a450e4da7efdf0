"""The database the Python producers create is the one `obs init` creates: the same tables,
indexes, views and triggers, the same settings, the same schema version."""

import os
import sqlite3
import unittest

import support  # noqa: F401  (puts the package on the path)
from obs_producers._schema import create_schema, load_schema
from support import TempDirTest, obs, rows


def describe(db):
    conn = sqlite3.connect(db)
    try:
        master = sorted(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall(), key=repr)
        meta = conn.execute("SELECT key, value FROM obs_meta ORDER BY key").fetchall()
        fts = conn.execute("SELECT k, v FROM search_fts_config ORDER BY k").fetchall()
        pragmas = [conn.execute("PRAGMA %s" % p).fetchone()[0] for p in ("page_size", "journal_mode")]
        return {"master": master, "meta": meta, "fts": fts, "pragmas": pragmas}
    finally:
        conn.close()


class Schema(TempDirTest):
    def test_a_new_database_is_what_obs_init_makes(self):
        ours = os.path.join(self.dir, "py.db")
        conn = sqlite3.connect(ours, isolation_level=None)
        self.assertTrue(create_schema(conn))
        self.assertFalse(create_schema(conn), "a database with tables is left as it is")
        conn.close()
        theirs = os.path.join(self.dir, "init.db")
        code, _out, err = obs("init", "--db", theirs)
        self.assertEqual(code, 0, err)
        self.assertEqual(describe(ours), describe(theirs))
        code, out, _err = obs("init", "--db", ours)
        self.assertEqual(code, 0)
        self.assertIn("is current", out)

    def test_the_schema_file_names_obs_version_and_the_seeds_objects(self):
        schema = load_schema()
        sql = "\n".join(schema["statements"])
        for name in ("CREATE TABLE transcript_entries", "idx_transcript_exec_sequence", "idx_mbus_log_errors", "tr_event_to_log",
                     "v_wave_progress", "v_active_agents", "CREATE VIRTUAL TABLE search_fts"):
            self.assertIn(name, sql)
        self.assertIn("INSERT INTO obs_meta (key, value) VALUES ('schema_version', '%d')" % schema["schema_version"], schema["statements"])

    def test_a_producer_writing_a_new_file_creates_it_and_obs_reads_it_without_migrating(self):
        w = self.writer("exec-new")
        w.write({"entry_type": "checkpoint", "summary": "first"})
        w.close()
        version = rows(self.db, "SELECT value FROM obs_meta WHERE key = 'schema_version'")[0]["value"]
        self.assertEqual(int(version), load_schema()["schema_version"])
        code, out, err = obs("ls", "--json", "--db", self.db)
        self.assertEqual(code, 0, err)
        self.assertIn('"execution_id": "exec-new"', out)


if __name__ == "__main__":
    unittest.main()
