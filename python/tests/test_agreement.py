"""One record, two copies that agree: what the Python producers write to SQLite is what
`obs ingest` makes of the JSONL they write, and ingesting that JSONL again adds nothing."""

import os
import unittest

import scenario
from support import TempDirTest, obs, row_counts, rows, snapshot

WANT = {
    "transcript:entry": ("entry_id", "sequence"),
    "tool:start": ("tool_use_id", "transcript_entry_id"),
    "skill:start": ("skill_trace_id", "transcript_entry_id"),
    "skill:end": ("skill_trace_id", "transcript_entry_id"),
    "assertion:result": ("assertion_id", "transcript_entry_id"),
    "assertion:chain_start": ("chain_id",),
    "assertion:chain_end": ("chain_id",),
}


class Agreement(TempDirTest):
    def test_ingest_of_the_jsonl_gives_the_producers_rows_and_adds_nothing_to_its_database(self):
        scenario.run(self, "exec-agree")
        for line in self.jsonl("exec-agree"):
            for f in WANT.get(line["kind"], ()):
                self.assertIn(f, line, "%s carries its %s" % (line["kind"], f))
        jsonl = os.path.join(self.transcripts, "exec-agree", "unified.jsonl")
        fresh = os.path.join(self.dir, "fresh.db")
        code, _out, err = obs("ingest", jsonl, "--db", fresh)
        self.assertEqual(code, 0, err)
        mine = snapshot(self.db, "exec-agree")
        theirs = snapshot(fresh, "exec-agree")
        for table in mine:
            if table != "wave_task_assignments":  # the run has no waves
                self.assertTrue(mine[table], "%s has rows to compare" % table)
            self.assertEqual(theirs[table], mine[table], "%s differs between the producer's database and obs ingest of its JSONL" % table)
        before = row_counts(self.db)
        code, _out, err = obs("ingest", jsonl, "--db", self.db)
        self.assertEqual(code, 0, err)
        self.assertEqual(row_counts(self.db), before)
        self.assertEqual(snapshot(self.db, "exec-agree"), mine)

    def test_the_hard_values_are_stored_as_javascript_would_store_them(self):
        scenario.run(self, "exec-values")
        details = rows(self.db, "SELECT details FROM transcript_entries WHERE entry_type = 'phase_start'")[0]["details"]
        # Worked out from ECMAScript: index-like keys first, 1.0 is 1, 1e21 stays exponential, 2**60 loses its last digits.
        self.assertEqual(details, '{"2":"two","10":"ten","ratio":1,"third":0.3333333333333333,"tiny":1.5e-7,"huge":1e+21,'
                                  '"big":1152921504606847000,"name":"x","nested":{"k":[1,2.5,null,true]}}')
        big = rows(self.db, "SELECT output, output_summary FROM tool_uses WHERE id = 'toolu_big'")[0]
        self.assertTrue(big["output"].startswith('{"_obs_cut":true,"original_chars":'))
        self.assertEqual(rows(self.db, "SELECT summary FROM transcript_entries WHERE entry_type = 'phase_start'")[0]["summary"], "Prime phase starts")

    def test_a_clean_run_validates_clean(self):
        scenario.run(self, "exec-valid")
        code, out, err = obs("validate", "exec-valid", "--db", self.db)
        self.assertEqual(code, 0, out + err)
        self.assertIn("all 7 checks passed", out)


if __name__ == "__main__":
    unittest.main()
