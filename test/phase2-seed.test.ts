import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, spawnCli, tmpDir } from "./helpers.js";

/**
 * The seed's own acceptance test of the Python producers (its Phase 2 test), unchanged, run
 * against a database `obs init` made, with the producers where the test imports them from.
 */

const PYTHON = process.env.PYTHON || "python3";
const SEED = path.resolve(ROOT, "..", "shared", "seeds", "000_a0c70eecb8386450.txt");
const SEED_TEST = path.join(ROOT, "python", "seed", "test-obs-phase2-producers.py");

function python(args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(PYTHON, args, {
    cwd: o.cwd ?? ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: "C.UTF-8", PYTHONIOENCODING: "utf-8", ...o.env },
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`cannot run ${PYTHON} (${r.error.message}): the Python producers' tests need python3 on PATH`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

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
  if (fs.existsSync(SEED)) {
    // …and it prints what the seed says it prints on success, line for line. (The seed's
    // example has one blank line before CLEANUP that its own script does not print, so blank
    // lines are left out of the comparison.)
    const expected = seedBlock(fs.readFileSync(SEED, "utf8"), ["#### Run Phase 2 Tests", "#### Expected Output (Success)"], "```\n");
    const lines = (t: string) => t.split("\n").filter((l) => l.trim() !== "");
    assert.deepEqual(lines(r.stdout), lines(expected));
  }
  // What the producers wrote while it ran is an obs record: its JSONL ingests cleanly.
  const runs = fs.readdirSync(path.join(dir, "transcripts"));
  assert.equal(runs.length, 1);
  const again = spawnCli(["ingest", path.join(dir, "transcripts", runs[0]!, "unified.jsonl"), "--db", path.join(dir, "copy.db")]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /0 rejected/);
});

test("the Phase 2 test in the repository is the seed's, byte for byte", (t) => {
  if (!fs.existsSync(SEED)) return t.skip(`the seeds are not here (${SEED}): a clone without ../shared`);
  const block = seedBlock(fs.readFileSync(SEED, "utf8"), ["### Phase 2 Test Validation Script"], "```python\n");
  assert.ok(fs.readFileSync(SEED, "utf8").includes("**File:** `tests/e2e/test-obs-phase2-producers.py`"));
  assert.equal(fs.readFileSync(SEED_TEST, "utf8"), block);
});
