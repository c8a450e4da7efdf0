/**
 * Files obs must read without owning them: one missing a table a query only uses in passing
 * (another producer's, or an older obs's without model calls), and one from a newer obs, which
 * every command refuses without touching it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { spawnCli, tmpDir } from "./helpers.js";
import { cleanRun, dbWith } from "./query-helpers.js";

const sha = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
const beside = (file: string) => fs.readdirSync(path.dirname(file)).sort();

test("a database without llm_calls: every check of validate runs, summary and export skip the model calls", async () => {
  const db = await dbWith(cleanRun("e"));
  const raw = new Database(db);
  raw.exec(`DROP TABLE llm_calls`);
  raw.close();
  // Several queries stand in for llm_calls with different columns on one connection.
  const v = spawnCli(["validate", "e", "--json", "--db", db]);
  assert.equal(v.code, 0, v.stderr);
  const checks = JSON.parse(v.stdout).checks as { id: string; ok: boolean; skipped?: string }[];
  assert.deepEqual(checks.map((c) => [c.id, c.ok, c.skipped ?? null]), [
    ["V001", true, null], ["V002", true, null], ["V003", true, null], ["V004", true, null], ["V005", true, null], ["V006", true, null], ["V007", true, null],
  ]);
  const s = spawnCli(["summary", "e", "--json", "--db", db]);
  assert.equal(s.code, 0, s.stderr);
  assert.deepEqual([JSON.parse(s.stdout).A001[0].tool_calls, JSON.parse(s.stdout).A001[0].input_tokens], [2, null]);
  const jsonl = spawnCli(["export", "e", "--jsonl", "--db", db]);
  assert.equal(jsonl.code, 0, jsonl.stderr);
  const kinds = jsonl.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { kind: string }).kind);
  assert.equal(kinds.filter((k) => k === "llm:call").length, 0);
  assert.equal(kinds.filter((k) => k === "tool:start").length, 2);
  const otlp = spawnCli(["export", "e", "--otlp", "--db", db]);
  assert.equal(otlp.code, 0, otlp.stderr);
  const spans = JSON.parse(otlp.stdout).resourceSpans[0].scopeSpans[0].spans as { name: string }[];
  assert.deepEqual(spans.filter((x) => x.name.startsWith("chat")), []);
  assert.equal(spans.filter((x) => x.name.startsWith("execute_tool")).length, 2);
});

test("a file from a newer obs is refused by every command, writing or reading, and left exactly as it was", async () => {
  // In rollback-journal mode, switching it to WAL would rewrite its header; in WAL mode, a
  // reader would leave a -wal and -shm beside it.
  for (const mode of ["DELETE", "WAL"]) {
    const db = await dbWith(cleanRun("e"));
    const raw = new Database(db);
    raw.pragma(`journal_mode = ${mode}`);
    raw.prepare(`UPDATE obs_meta SET value = '999' WHERE key = 'schema_version'`).run();
    raw.close();
    const before = { hash: sha(db), beside: beside(db) };
    const src = path.join(tmpDir(), "more.jsonl");
    fs.writeFileSync(src, JSON.stringify(cleanRun("f")[0]) + "\n");
    for (const args of [["ingest", src], ["prune", "--older-than", "1d"], ["prune", "--older-than", "1d", "--dry-run"], ["config", "retention", "7"], ["config"], ["ls"], ["validate", "e"], ["search", "--reindex"]]) {
      const r = spawnCli([...args, "--db", db]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /written by a newer obs \(schema version 999; this obs knows up to \d+\)/, args.join(" "));
      assert.deepEqual({ hash: sha(db), beside: beside(db) }, before, `${mode}: obs ${args.join(" ")} changed the file it refused`);
    }
  }
});
