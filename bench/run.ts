/**
 * `npm run bench`: the speed targets, measured and printed (not asserted in tests).
 *
 *   ingest   ~1,000,000 events over ~50 executions, obs's rate against the sqlite3 shell
 *            bulk-loading the same lines (JSON parsed in SQL, one table, three indexes).
 *   queries  every execution-scoped query on that database (target < 50 ms each), the
 *            others once, `obs validate --all` (target < 2 s), and each plan's full scans.
 *   start-up `obs --version` and `obs ls` (on the demo) in CPU time within 1.5× of `node -e 0`.
 *   latency  commit → `obs tail --json` line, from a second process (p50 < 30 ms, p99 < 100 ms);
 *            a line appended to a followed file → its row committed (p50 < 50 ms, p99 < 100 ms).
 *
 * It exits 1 when any target is missed (or could not be measured), naming each, so a CI job or
 * a script can gate on it; 0 when every target is met.
 *
 * Options: --events N (default 1,000,000), --keep (leave the files in bench/out/),
 *          --queries-only (reuse bench/out/bench.db from an earlier run), --latency-only, --startup-only.
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateDemo } from "../src/demo/generate.js";
import { openReadOnly } from "../src/db/open.js";
import { QUERIES } from "../src/queries/index.js";
import { L005, L006, L007 } from "../src/queries/listing.js";
import { runQuery } from "../src/queries/run.js";
import { matchExpression, search } from "../src/queries/search.js";
import { benchFollow, benchLatency } from "./latency.js";
import { benchStartupRatios } from "./startup.js";
import { fmtInt } from "../src/render/format.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const OUT = path.join(ROOT, "bench", "out");
const BIN = path.join(ROOT, "bin", "obs.js");

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}
const TARGET_EVENTS = arg("--events", 1_000_000);
const RUNS = 50;

/** Every target measured this run, met or not; the exit status is decided from them. */
const targets: { name: string; met: boolean; detail: string }[] = [];
/** Records a target and returns how to print it beside its figure. */
function target(name: string, met: boolean, detail: string): string {
  targets.push({ name, met, detail });
  return met ? "met" : "NOT met";
}

function rm(p: string) {
  for (const f of [p, `${p}-wal`, `${p}-shm`]) fs.rmSync(f, { force: true });
}

/** Writes the bench's event file: the demo's task list run 50 times, scaled to the target size. */
function generate(file: string): number {
  // Lines per run grow linearly with the scale: two probes give the slope and the fixed part.
  const at = (scale: number) => generateDemo({ runs: 5, scale, firstRun: 1 }).reduce((a, r) => a + r.lines.length, 0) / 5;
  const [a, b] = [at(10), at(20)];
  const slope = (b - a) / 10;
  const scale = Math.max(1, Math.round((TARGET_EVENTS / RUNS - (a - 10 * slope)) / slope));
  const fd = fs.openSync(file, "w");
  let lines = 0;
  for (let i = 0; i < RUNS; i += 5) {
    const runs = generateDemo({ runs: Math.min(5, RUNS - i), scale, firstRun: 10_000 + i, start: Date.UTC(2026, 9, 1) + i * 86_400_000 });
    for (const r of runs) {
      fs.writeSync(fd, r.lines.join("\n") + "\n");
      lines += r.lines.length;
    }
  }
  fs.closeSync(fd);
  return lines;
}

function shellBaseline(file: string, db: string): number | null {
  const which = spawnSync("sqlite3", ["-version"], { encoding: "utf8" });
  if (which.status !== 0) return null;
  const script = `
PRAGMA journal_mode=WAL;
CREATE TABLE raw(line TEXT);
CREATE TABLE ev(id INTEGER PRIMARY KEY, kind TEXT, execution_id TEXT, timestamp TEXT, body TEXT);
CREATE INDEX ev_kind ON ev(kind);
CREATE INDEX ev_exec ON ev(execution_id);
CREATE INDEX ev_ts ON ev(timestamp);
.mode ascii
.separator "\\037" "\\n"
.import ${file} raw
BEGIN;
INSERT INTO ev(kind, execution_id, timestamp, body)
  SELECT json_extract(line, '$.kind'), json_extract(line, '$.execution_id'), json_extract(line, '$.timestamp'), json(line) FROM raw;
COMMIT;
`;
  rm(db);
  const t0 = performance.now();
  execFileSync("sqlite3", [db], { input: script, stdio: ["pipe", "ignore", "inherit"] });
  return (performance.now() - t0) / 1000;
}

/** The tables big enough that scanning one whole for one execution's question is a defect. */
const BIG = ["transcript_entries", "tool_uses", "assertion_results", "message_bus_log", "agent_heartbeats", "llm_calls", "skill_traces"];
/** Indexes that span every run in the file: a scoped query driven by one of them slows as history grows. */
const WIDE = /USING (?:COVERING )?INDEX (idx_transcript_type|idx_tool_use_(?:tool|category|status|errors|blocked)|idx_skill_trace_(?:status|skill)|idx_assertion_(?:result|failures|category)|idx_mbus_log_(?:severity|errors|category|source|event_type))\b/;

function benchQueries(dbPath: string): void {
  const db = openReadOnly(dbPath);
  const executions = (db.prepare(`SELECT id FROM task_list_execution_runs ORDER BY started_at`).all() as { id: string }[]).map((r) => r.id);
  const events = (db.prepare(`SELECT SUM(lines) AS n FROM ingest_log`).get() as { n: number }).n;
  const sample = executions.filter((_, i) => i % Math.max(1, Math.floor(executions.length / 10)) === 0).slice(0, 10);
  const someTask = (db.prepare(`SELECT id FROM tasks WHERE execution_id = ? LIMIT 1 OFFSET 7`).get(sample[0]) as { id: string }).id;
  const someCorrelation = (db.prepare(`SELECT correlation_id AS id FROM message_bus_log WHERE execution_id = ? AND correlation_id IS NOT NULL LIMIT 1`).get(sample[0]) as { id: string }).id;
  const taskList = (db.prepare(`SELECT task_list_id AS id FROM task_list_execution_runs LIMIT 1`).get() as { id: string }).id;
  console.log(`\nqueries on ${fmtInt(events)} events, ${executions.length} executions (each execution-scoped query on ${sample.length} of them; target < 50 ms):`);
  let worst = 0;
  const fullScans: string[] = [];
  // The 39, and the queries `obs trace --exec` adds to them (a whole run's steps, tasks and header).
  for (const q of [...QUERIES, ...([L005, L006, L007] as unknown as typeof QUERIES)]) {
    const params: Record<string, unknown> = { now: null, execution_id: null, task_id: null, correlation_id: null, task_list_id: null };
    for (const o of q.options ?? []) params[o.name] = o.default;
    const runs = q.arg === "execution" ? sample.map((e) => ({ ...params, execution_id: e }))
      : q.arg === "task" ? [{ ...params, task_id: someTask }]
      : q.arg === "correlation" ? [{ ...params, correlation_id: someCorrelation }]
      : q.arg === "task_list" ? [{ ...params, task_list_id: taskList }]
      : [params];
    runQuery(db, q, runs[0]!); // warm the page cache and the statement
    const times = runs.map((p) => {
      const t0 = performance.now();
      runQuery(db, q, p);
      return performance.now() - t0;
    });
    const max = Math.max(...times);
    if (q.executionScoped) worst = Math.max(worst, max);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(bindAll(q.sql, runs[0]!)) as { detail: string }[]).map((r) => r.detail);
    const scans = plan.filter((d) => BIG.some((t) => new RegExp(`^SCAN ${t}\\b(?! USING)`).test(d)) || (q.arg !== "none" && WIDE.test(d)));
    if (scans.length) fullScans.push(`${q.id}: ${scans.join("; ")}`);
    const scope = q.executionScoped || q.arg === "execution" ? "per execution" : q.arg === "none" ? "whole database" : `per ${q.arg}`;
    console.log(`  ${q.id}  ${max.toFixed(1).padStart(7)} ms max  ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(1).padStart(7)} ms mean  (${scope})${q.executionScoped && max >= 50 ? "  ← over 50 ms" : ""}`);
  }
  db.close();
  console.log(`slowest execution-scoped query: ${worst.toFixed(1)} ms (target < 50 ms: ${target("execution-scoped query < 50 ms", worst < 50, `${worst.toFixed(1)} ms`)})`);
  target("every scoped query driven by its scope's index", fullScans.length === 0, fullScans.join("; "));
  console.log(fullScans.length ? `plans that read beyond their scope:\n  ${fullScans.join("\n  ")}` : "query plans: no full scan of a big table, and every scoped query driven by its scope's index");

  const t0 = performance.now();
  const v = spawnSync(process.execPath, [BIN, "validate", "--all", "--json", "--db", dbPath], { encoding: "utf8", maxBuffer: 1 << 28 });
  const secs = (performance.now() - t0) / 1000;
  const verdicts = JSON.parse(v.stdout) as { ok: boolean }[];
  console.log(`obs validate --all: ${secs.toFixed(2)} s for ${verdicts.length} executions, process start included (target < 2 s: ${target("obs validate --all < 2 s", secs < 2, `${secs.toFixed(2)} s`)})`);
  benchSearch(dbPath, executions[0]!);
  benchUsage(dbPath);
}

/** `obs usage` reads every execution's model calls, tool calls and errors: timed as a user runs it. */
function benchUsage(dbPath: string): void {
  console.log(`\nobs usage over the whole database, process start included:`);
  for (const args of [["--by", "day"], ["--by", "day,model", "--tz", "Europe/Paris"], ["--by", "agent,tool"], ["--blocks"]]) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, "usage", ...args, "--json", "--db", dbPath], { encoding: "utf8", maxBuffer: 1 << 28 });
    const secs = (performance.now() - t0) / 1000;
    if (r.status !== 0) throw new Error(`obs usage ${args.join(" ")}: ${r.stderr}`);
    console.log(`  ${args.join(" ").padEnd(34)} ${secs.toFixed(2).padStart(5)} s  (${JSON.parse(r.stdout).length} rows)`);
  }
}

/** `obs search` on the bench database: a rare word, a common one, and each within one execution. */
function benchSearch(dbPath: string, execution: string): void {
  const db = openReadOnly(dbPath);
  const docs = (db.prepare(`SELECT COUNT(*) AS n FROM search_fts`).get() as { n: number }).n;
  console.log(`\nobs search over ${fmtInt(docs)} documents (best 20, snippets included):`);
  for (const [words, exec] of [["ECONNREFUSED", null], ["migrations", null], ["src", null], ["src", execution], ["vitest run", execution]] as const) {
    const params = { match: matchExpression(words), execution_id: exec, kind: null, since: null, until: null, limit: 20 };
    search(db, params);
    const t0 = performance.now();
    const n = search(db, params).rows.length;
    const matching = (db.prepare(`SELECT COUNT(*) AS n FROM search_fts WHERE search_fts MATCH ?`).get(params.match) as { n: number }).n;
    console.log(`  ${`"${words}"${exec ? " --exec" : ""}`.padEnd(26)} ${(performance.now() - t0).toFixed(1).padStart(7)} ms  (${fmtInt(matching)} documents match, ${n} shown)`);
  }
  db.close();
}

/** Parameters for EXPLAIN: every @name the SQL uses. */
function bindAll(sql: string, params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of sql.matchAll(/@([a-z_]+)/g)) out[m[1]!] = params[m[1]!] ?? null;
  return out;
}

/** The live paths: tail's delivery and the follower's commits. */
async function benchLive(): Promise<void> {
  const tail = await benchLatency(BIN, OUT);
  target("commit → tail line p50 < 30 ms", tail.seen === tail.samples && tail.p50 < 30, `p50 ${tail.p50.toFixed(1)} ms, ${tail.seen}/${tail.samples} seen`);
  target("commit → tail line p99 < 100 ms", tail.seen === tail.samples && tail.p99 < 100, `p99 ${tail.p99.toFixed(1)} ms, ${tail.seen}/${tail.samples} seen`);
  const follow = await benchFollow(BIN, OUT);
  target("append → followed row p50 < 50 ms", follow.seen === follow.samples && follow.p50 < 50, `p50 ${follow.p50.toFixed(1)} ms, ${follow.seen}/${follow.samples} seen`);
  target("append → followed row p99 < 100 ms", follow.seen === follow.samples && follow.p99 < 100, `p99 ${follow.p99.toFixed(1)} ms, ${follow.seen}/${follow.samples} seen`);
}

/** Start-up: what every command pays before it does anything, against bare Node. */
function benchStartup(): void {
  const dir = path.join(OUT, "startup");
  fs.mkdirSync(dir, { recursive: true });
  const demo = spawnSync(process.execPath, [BIN, "demo", "--db", "demo.db"], { cwd: dir, encoding: "utf8" });
  if (demo.status !== 0) throw new Error(`obs demo failed: ${demo.stderr}`);
  const { baseline, medians } = benchStartupRatios({ "obs --version": [process.execPath, BIN, "--version"], "obs ls": [process.execPath, BIN, "ls", "--db", "demo.db"] }, dir);
  console.log(`\nstart-up, CPU time (median of 25 runs each, interleaved): node -e 0 ${baseline.toFixed(0)} ms`);
  for (const [name, ms] of Object.entries(medians)) {
    const ratio = ms / baseline;
    console.log(`  ${name.padEnd(14)} ${ms.toFixed(0)} ms, ${ratio.toFixed(2)}× (target ≤ 1.5×: ${target(`${name} start-up ≤ 1.5× node -e 0`, ratio <= 1.5, `${ratio.toFixed(2)}×`)})`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  if (process.argv.includes("--latency-only")) return benchLive();
  if (process.argv.includes("--startup-only")) return benchStartup();
  const file = path.join(OUT, "events.jsonl");
  const db = path.join(OUT, "bench.db");
  const shellDb = path.join(OUT, "shell.db");
  if (process.argv.includes("--queries-only")) {
    if (!fs.existsSync(db)) throw new Error(`no ${db}: run npm run bench once without --queries-only`);
    benchQueries(db);
    return;
  }

  process.stdout.write(`generating ~${fmtInt(TARGET_EVENTS)} events over ${RUNS} executions… `);
  const lines = generate(file);
  const bytes = fs.statSync(file).size;
  console.log(`${fmtInt(lines)} lines, ${(bytes / 1048576).toFixed(0)} MiB`);

  rm(db);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, "ingest", file, "--db", db, "--json"], { encoding: "utf8", maxBuffer: 1 << 26 });
  const obsSeconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    console.error(r.stderr);
    process.exit(1);
  }
  const stats = JSON.parse(r.stdout) as { lines: number; seconds: number; lines_per_second: number };
  const dbSize = fs.statSync(db).size;
  console.log(`obs ingest:        ${fmtInt(stats.lines_per_second)} lines/s  (${stats.seconds.toFixed(1)} s in ingest, ${obsSeconds.toFixed(1)} s with start-up and checkpoint)`);
  console.log(`database size:     ${(dbSize / 1048576).toFixed(0)} MiB (${(dbSize / stats.lines).toFixed(0)} bytes/event)`);

  const shellSeconds = shellBaseline(file, shellDb);
  if (shellSeconds === null) {
    console.log("sqlite3 shell:     not found (apt-get install sqlite3) — ratio not measured");
    target("ingest ≥ 0.5× the sqlite3 shell", false, "not measured: no sqlite3 shell (apt-get install sqlite3)");
  } else {
    const shellRate = lines / shellSeconds;
    const ratio = stats.lines_per_second / shellRate;
    console.log(`sqlite3 shell:     ${fmtInt(shellRate)} lines/s  (${shellSeconds.toFixed(1)} s; one table, three indexes)`);
    console.log(`ratio obs/shell:   ${ratio.toFixed(2)}  (target ≥ 0.50: ${target("ingest ≥ 0.5× the sqlite3 shell", ratio >= 0.5, ratio.toFixed(2))})`);
  }
  if (!process.argv.includes("--keep")) {
    rm(shellDb);
    fs.rmSync(file, { force: true });
  }
  benchQueries(db);
  benchStartup();
  await benchLive();
  console.log(`(the bench database is kept at ${path.relative(process.cwd(), db)}; --queries-only reruns the query part on it)`);
}

await main();
const missed = targets.filter((t) => !t.met);
console.log(`\ntargets: ${targets.length - missed.length} of ${targets.length} met${missed.length ? `; missed: ${missed.map((t) => `${t.name} (${t.detail})`).join("; ")}` : ""}`);
// A missed target fails the run, as a failed test would.
process.exitCode = missed.length ? 1 : 0;
