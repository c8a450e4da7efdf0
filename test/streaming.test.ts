/**
 * Ingest in bounded memory and bounded transactions (docs/events.md, "All or nothing per
 * source"): a long source written in steps holds the same rows as one written at once, and is
 * never left half-written — not by a bad line after its first step, not by a kill between steps.
 * Many sources share a transaction, and one that fails is taken back alone. Real processes on
 * real files; the step is made small (OBS_INGEST_STEP) so that a test file is long.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { generateDemo } from "../src/demo/generate.js";
import { all, BIN, one, spawn, spawnCli, tableRows, tmpDir } from "./helpers.js";

/** Every row of the tables ingest writes, and the search index, so two databases can be compared whole. */
function dump(db: string): Record<string, string[]> {
  const out = tableRows(db, ["task_list_execution_runs", "transcript_entries", "tool_uses", "tasks", "task_dependencies", "skill_traces", "assertion_chains",
    "assertion_results", "parallel_execution_waves", "wave_task_assignments", "wave_statistics", "build_agent_instances", "agent_heartbeats",
    "events", "message_bus_log", "llm_calls"]);
  out.search = all(db, `SELECT ref, kind, body FROM search_fts`).map((r) => JSON.stringify(r)).sort();
  return out;
}

/** Three demo runs with the entry ids taken out (so entries are known by their text), one file. */
function demoFile(dir: string, extra: string[] = []): string {
  const lines = generateDemo().flatMap((r) => r.lines).map((l) => {
    const o = JSON.parse(l) as Record<string, unknown>;
    delete o.entry_id;
    return JSON.stringify(o);
  });
  const file = path.join(dir, "demo.jsonl");
  fs.writeFileSync(file, [...lines, ...extra].join("\n") + "\n");
  return file;
}

const unfinished = (db: string) => Number(one(db, `SELECT COUNT(*) AS n FROM obs_meta WHERE key LIKE 'unfinished:%'`)?.n);

test("a long source written in steps holds exactly the rows it holds written at once", () => {
  const dir = tmpDir();
  const file = demoFile(dir);
  const whole = path.join(dir, "whole.db");
  const stepped = path.join(dir, "stepped.db");
  assert.equal(spawnCli(["ingest", file, "--db", whole]).code, 0);
  const r = spawnCli(["ingest", file, "--db", stepped], { env: { OBS_INGEST_STEP: "97" } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(dump(stepped), dump(whole));
  assert.equal(unfinished(stepped), 0);
  // Read again, in steps or not, nothing changes.
  assert.equal(spawnCli(["ingest", "-", "--db", stepped], { env: { OBS_INGEST_STEP: "97" }, input: fs.readFileSync(file, "utf8") }).code, 0);
  assert.deepEqual(dump(stepped), dump(whole));
});

test("a bad line after the first step: nothing of the source is written, and what came before it stays", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const first = path.join(dir, "first.jsonl");
  fs.writeFileSync(first, JSON.stringify({ kind: "transcript:entry", execution_id: "kept", timestamp: "2026-01-16T09:00:00Z", entry_type: "checkpoint", category: "c", summary: "kept" }) + "\n");
  assert.equal(spawnCli(["ingest", first, "--db", db]).code, 0);
  const before = dump(db);
  const file = demoFile(dir, ["{not json"]);
  const r = spawnCli(["ingest", file, "--db", db], { env: { OBS_INGEST_STEP: "50" } });
  assert.equal(r.code, 2);
  const lineNo = fs.readFileSync(file, "utf8").trimEnd().split("\n").length;
  assert.match(r.stderr, new RegExp(`demo\\.jsonl:${lineNo}: not JSON`));
  assert.match(r.stderr, /nothing written \(1 bad line\)/);
  assert.deepEqual(dump(db), before);
  assert.equal(unfinished(db), 0);
  assert.equal(Number(one(db, `SELECT COUNT(*) AS n FROM ingest_log`)?.n), 1);
});

test("many sources share a transaction; the one with a bad line is taken back alone", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const src = path.join(dir, "src");
  fs.mkdirSync(src);
  const entry = (exec: string, i: number) => JSON.stringify({ kind: "transcript:entry", execution_id: exec, timestamp: `2026-01-16T09:00:${String(i).padStart(2, "0")}Z`, entry_type: "checkpoint", category: "c", summary: `line ${i}` });
  for (let f = 0; f < 6; f++) {
    const lines = Array.from({ length: 5 }, (_, i) => entry(`exec-${f}`, i));
    if (f === 3) lines.splice(2, 0, `{"kind":"transcript:entry"`);
    fs.writeFileSync(path.join(src, `f${f}.jsonl`), lines.join("\n") + "\n");
  }
  const r = spawnCli(["ingest", src, "--db", db, "--json"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /f3\.jsonl:3: not JSON/);
  const execs = all(db, `SELECT execution_id, COUNT(*) AS n FROM transcript_entries GROUP BY execution_id ORDER BY 1`).map((x) => `${x.execution_id}:${x.n}`);
  assert.deepEqual(execs, ["exec-0:5", "exec-1:5", "exec-2:5", "exec-4:5", "exec-5:5"]);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id = 'exec-3'`)?.n, 0);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM ingest_log`)?.n, 5);
  // The search index holds the sources written, not the one taken back.
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM search_fts`)?.n, 25);
});

test("killed between steps: the next obs that writes takes the source out, says so, and it loads whole again", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "big.jsonl");
  const out = fs.openSync(file, "w");
  let buf = "";
  for (let i = 0; i < 300_000; i++) {
    buf += `{"kind":"transcript:entry","execution_id":"exec-${i % 3}","timestamp":"2026-01-16T09:00:00.000Z","entry_type":"checkpoint","category":"c","summary":"line ${i}"}\n`;
    if (buf.length > 1 << 20) { fs.writeSync(out, buf); buf = ""; }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
  const child = spawn(process.execPath, [BIN, "ingest", file, "--db", db], { stdio: "ignore", env: { ...process.env, OBS_INGEST_STEP: "2000" } });
  const exited = new Promise<[number | null, string | null]>((r) => child.on("exit", (c, s) => r([c, s])));
  // Until a step is committed: the note that the source is unfinished is in the file.
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      if (unfinished(db) > 0) break;
    } catch {
      /* not created yet */
    }
  }
  child.kill("SIGKILL");
  const [code, signal] = await exited;
  assert.equal(signal, "SIGKILL", `ingest finished (exit ${code}) before it could be killed`);
  assert.equal(unfinished(db), 1);
  assert.ok(Number(one(db, `SELECT COUNT(*) AS n FROM transcript_entries`)?.n) > 0, "a step was committed");

  const other = path.join(dir, "other.jsonl");
  fs.writeFileSync(other, JSON.stringify({ kind: "transcript:entry", execution_id: "other", timestamp: "2026-01-16T09:00:00Z", entry_type: "checkpoint", category: "c", summary: "x" }) + "\n");
  const r = spawnCli(["ingest", other, "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /big\.jsonl: obs was stopped while writing it; took out what it had written \(3 executions: exec-0, exec-1, exec-2\)/);
  assert.deepEqual(all(db, `SELECT DISTINCT execution_id FROM transcript_entries`).map((x) => x.execution_id), ["other"]);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM task_list_execution_runs WHERE id LIKE 'exec-%'`)?.n, 0);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM search_fts`)?.n, 1);
  assert.equal(unfinished(db), 0);

  const again = spawnCli(["ingest", file, "--db", db], { env: { OBS_INGEST_STEP: "50000" } });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id LIKE 'exec-%'`)?.n, 300_000);
  assert.equal(one(db, `SELECT COUNT(DISTINCT summary) AS n FROM transcript_entries`)?.n, 300_001);
});

/** A tool call as a line of obs's stream (start and end), at second `s` of a minute. */
function toolCall(exec: string, id: string, s: number): string[] {
  const ts = `2026-01-16T09:${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}Z`;
  return [
    JSON.stringify({ kind: "tool:start", execution_id: exec, timestamp: ts, tool_use_id: id, tool: "Read", input: { file_path: `${id}.ts` } }),
    JSON.stringify({ kind: "tool:end", execution_id: exec, timestamp: ts, tool_use_id: id, output: `read ${id}`, is_error: false }),
  ];
}

test("an id one execution used several steps before is another execution's row of its own", () => {
  const dir = tmpDir();
  // exec-a's t-shared is written in the first step; exec-b names the same id 300 calls later,
  // long after the step that holds it is out of what the source keeps in memory.
  const lines = [...toolCall("exec-a", "t-shared", 0)];
  for (let i = 0; i < 300; i++) lines.push(...toolCall(i % 2 ? "exec-a" : "exec-b", `t-${i}`, i + 1));
  // t-8 is exec-b's (an even call); exec-a names it last.
  lines.push(...toolCall("exec-b", "t-shared", 400), ...toolCall("exec-a", "t-8", 401));
  const file = path.join(dir, "calls.jsonl");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const whole = path.join(dir, "whole.db");
  const stepped = path.join(dir, "stepped.db");
  assert.equal(spawnCli(["ingest", file, "--db", whole]).code, 0);
  const r = spawnCli(["ingest", file, "--db", stepped], { env: { OBS_INGEST_STEP: "40" } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(dump(stepped), dump(whole));
  assert.deepEqual(all(stepped, `SELECT id, execution_id FROM tool_uses WHERE id IN ('t-shared', 't-shared@exec-b', 't-8', 't-8@exec-a') ORDER BY id`), [
    { id: "t-8", execution_id: "exec-b" },
    { id: "t-8@exec-a", execution_id: "exec-a" },
    { id: "t-shared", execution_id: "exec-a" },
    { id: "t-shared@exec-b", execution_id: "exec-b" },
  ]);
});
