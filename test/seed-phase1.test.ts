/**
 * The seed's Phase 1 schema test, unchanged (test/seed-tests/e2e/), run as its document says:
 * after the migrations, against the database its `../../database/db` module opens — with
 * better-sqlite3, which enforces foreign keys. Its TEST 9 inserts a transcript entry for an
 * execution no run row names; the registering trigger must let it in, while references that
 * really dangle are still reported by PRAGMA foreign_key_check and V007.
 */
import Database from "better-sqlite3";
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";
import { openWritable } from "../src/db/write.js";
import { V007 } from "../src/queries/validation.js";
import { cli, ROOT, tmpDir } from "./helpers.js";
import { rows } from "./query-helpers.js";

const SEED_TEST = path.join(ROOT, "test", "seed-tests", "e2e", "test-obs-phase1-schema.ts");
/** SHA-256 of the seed's fenced block ("Phase 1 Test Validation Script"), taken from the seed itself. */
const SEED_SHA256 = "ebeebf7d94d3989eabc17db561baf98c3353bdce2e872dae9659a5f4c1dc853f";

test("the Phase 1 test in the repository is the seed's, unchanged", () => {
  assert.equal(crypto.createHash("sha256").update(fs.readFileSync(SEED_TEST)).digest("hex"), SEED_SHA256);
});

/** Lays the seed's test out as its project would have it, compiled to CommonJS as tsx would run it. */
function harness(dbPath: string): string {
  const dir = tmpDir("obs-phase1-");
  const js = (src: string) => ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
  fs.mkdirSync(path.join(dir, "tests", "e2e"), { recursive: true });
  fs.mkdirSync(path.join(dir, "database"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "commonjs" }));
  fs.writeFileSync(path.join(dir, "tests", "e2e", "test-obs-phase1-schema.js"), js(fs.readFileSync(SEED_TEST, "utf8")));
  // The project's database module, as the seed's code base has it: one better-sqlite3 connection.
  fs.writeFileSync(path.join(dir, "database", "db.js"), js(`import Database from "better-sqlite3";\nexport const db = new Database(${JSON.stringify(dbPath)});\n`));
  return path.join(dir, "tests", "e2e", "test-obs-phase1-schema.js");
}

function runSeedTest(dbPath: string) {
  const r = spawnSync(process.execPath, [harness(dbPath)], {
    encoding: "utf8",
    env: { PATH: process.env.PATH, NODE_PATH: path.join(ROOT, "node_modules") },
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

test("the seed's Phase 1 schema test passes unchanged on a new database, foreign keys enforced", () => {
  const db = path.join(tmpDir(), "ideas.db");
  openWritable(db).close();
  const r = runSeedTest(db);
  assert.equal(r.code, 0, r.out);
  for (let n = 1; n <= 10; n++) assert.match(r.out, new RegExp(`✓ TEST ${n} PASSED`), `TEST ${n}`);
  assert.match(r.out, /TEST 5 PASSED: (\d+)\/\1 required indexes exist/);
  assert.doesNotMatch(r.out, /WARNING/);
  assert.match(r.out, /ALL PHASE 1 TESTS PASSED/);
});

test("on a database with runs in it too; a reference that really dangles is still reported", async () => {
  const db = path.join(tmpDir(), "ideas.db");
  assert.equal((await cli(["demo", "--db", db])).code, 0);
  const r = runSeedTest(db);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ALL PHASE 1 TESTS PASSED/);
  // A producer enforcing foreign keys writes a tool call for a new execution: registered, accepted.
  const producer = new Database(db);
  assert.equal(producer.pragma("foreign_keys", { simple: true }), 1);
  producer.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type) VALUES ('p-1', '2026-11-21T10:00:00.000Z', 1, 'exec-new', 'tool_use')`).run();
  producer.prepare(`INSERT INTO tool_uses (id, execution_id, transcript_entry_id, tool) VALUES ('p-tu', 'exec-new', 'p-1', 'Read')`).run();
  assert.deepEqual(producer.pragma("foreign_key_check"), []);
  // …but a reference to an entry that does not exist is refused while enforced,
  assert.throws(() => producer.prepare(`INSERT INTO tool_uses (id, execution_id, transcript_entry_id, tool) VALUES ('p-tu2', 'exec-new', 'no-entry', 'Read')`).run(), /FOREIGN KEY/);
  // and, written by a producer that does not enforce them, found by SQLite's check and by V007.
  producer.pragma("foreign_keys = OFF");
  producer.prepare(`INSERT INTO tool_uses (id, execution_id, transcript_entry_id, tool) VALUES ('p-tu2', 'exec-new', 'no-entry', 'Read')`).run();
  assert.deepEqual((producer.pragma("foreign_key_check") as object[]).map((x) => ({ ...x })), [{ table: "tool_uses", rowid: (producer.prepare(`SELECT rowid AS r FROM tool_uses WHERE id = 'p-tu2'`).get() as { r: number }).r, parent: "transcript_entries", fkid: 2 }]);
  producer.close();
  assert.deepEqual(rows(db, V007, { execution_id: "exec-new" }), [
    { table: "tool_uses", id: "p-tu2", column: "transcript_entry_id", missing_parent: "transcript_entries(no-entry)", rows: 1 },
  ]);
  const ls = JSON.parse((await cli(["ls", "--json", "--db", db])).stdout) as { execution_id: string }[];
  assert.ok(ls.some((e) => e.execution_id === "exec-new"), "the registered execution is listed");
});
