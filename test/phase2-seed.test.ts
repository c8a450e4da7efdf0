import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { python, ROOT, spawnCli, tmpDir } from "./helpers.js";

/**
 * The seed's own acceptance test of the Python producers (its Phase 2 test), unchanged, run
 * against a database `obs init` made, with the producers where the test imports them from.
 */

const SEED = path.resolve(ROOT, "..", "shared", "seeds", "000_a0c70eecb8386450.txt");
const SEED_TEST = path.join(ROOT, "python", "seed", "test-obs-phase2-producers.py");
/** What the seed says the test prints on success ("Expected Output (Success)"), copied as it is. */
const SEED_OUTPUT = path.join(ROOT, "python", "seed", "expected-output.txt");
/** SHA-256 of the seed's fenced blocks, taken from the seed itself: the copies are checked against them in every clone. */
const SEED_SHA256 = {
  test: "f59265154365e0b8132e5bdd0a116b66602841e9b52539bbea4925fecc45c110",
};


/** The first fenced block after the given headings, in order (each looked for after the one before). */
function seedBlock(text: string, sections: string[], fence: string): string {
  let at = 0;
  for (const section of sections) {
    at = text.indexOf(section, at);
    assert.ok(at >= 0, `the seed has its section ${section}`);
  }
  const start = text.indexOf(fence, at) + fence.length;
  return text.slice(start, text.indexOf("\n```\n", start) + 1);
}

test("the seed's Phase 2 test, unchanged, prints ALL PHASE 2 TESTS PASSED against a database obs init made", () => {
  const dir = tmpDir("obs-phase2-");
  // The layout the test expects: it imports `shared.*` from ../../coding-loops of itself and opens database/ideas.db.
  fs.mkdirSync(path.join(dir, "tests", "e2e"), { recursive: true });
  fs.mkdirSync(path.join(dir, "coding-loops"));
  fs.copyFileSync(SEED_TEST, path.join(dir, "tests", "e2e", "test-obs-phase2-producers.py"));
  fs.symlinkSync(path.join(ROOT, "python", "obs_producers"), path.join(dir, "coding-loops", "shared"), "dir");
  const init = spawnCli(["init", "--db", "database/ideas.db"], { cwd: dir });
  assert.equal(init.code, 0, init.stderr);
  const r = python(["tests/e2e/test-obs-phase2-producers.py"], {
    cwd: dir,
    env: { OBS_DB: "database/ideas.db", OBS_TRANSCRIPTS: path.join(dir, "transcripts") },
  });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^={70}\nALL PHASE 2 TESTS PASSED\n={70}$/m);
  // …and it prints what the seed says it prints on success, line for line. (The seed's example
  // has one blank line before CLEANUP that its own script does not print, so blank lines are
  // left out of the comparison.)
  const lines = (t: string) => t.split("\n").filter((l) => l.trim() !== "");
  assert.deepEqual(lines(r.stdout), lines(fs.readFileSync(SEED_OUTPUT, "utf8")));
  // What the producers wrote while it ran is an obs record: its JSONL ingests cleanly.
  const runs = fs.readdirSync(path.join(dir, "transcripts"));
  assert.equal(runs.length, 1);
  const again = spawnCli(["ingest", path.join(dir, "transcripts", runs[0]!, "unified.jsonl"), "--db", path.join(dir, "copy.db")]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 rejected/);
});

test("the Phase 2 test and its expected output in the repository are the seed's, byte for byte", () => {
  const sha = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");
  assert.equal(sha(SEED_TEST), SEED_SHA256.test);
  // Where the design documents are at hand (beside the repository), against them directly too.
  if (fs.existsSync(SEED)) {
    const seed = fs.readFileSync(SEED, "utf8");
    assert.ok(seed.includes("**File:** `tests/e2e/test-obs-phase2-producers.py`"));
    assert.equal(fs.readFileSync(SEED_TEST, "utf8"), seedBlock(seed, ["### Phase 2 Test Validation Script"], "```python\n"));
    assert.equal(fs.readFileSync(SEED_OUTPUT, "utf8"), seedBlock(seed, ["#### Run Phase 2 Tests", "#### Expected Output (Success)"], "```\n"));
  }
});
