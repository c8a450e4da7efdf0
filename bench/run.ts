/**
 * `npm run bench`: the speed targets, measured and printed (not asserted in tests).
 *
 *   ingest   ~1,000,000 events over ~50 executions, obs's rate against the sqlite3 shell
 *            bulk-loading the same lines (JSON parsed in SQL, one table, three indexes).
 *
 * Options: --events N (default 1,000,000), --keep (leave the files in bench/out/).
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateDemo } from "../src/demo/generate.js";
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

function rm(p: string) {
  for (const f of [p, `${p}-wal`, `${p}-shm`]) fs.rmSync(f, { force: true });
}

/** Writes the bench's event file: the demo's task list run 50 times, scaled to the target size. */
function generate(file: string): number {
  // The demo at scale 1 is ~1,000 lines a run; tool calls grow linearly with the scale.
  const probe = generateDemo({ runs: 1, scale: 10, firstRun: 1 })[0]!.lines.length;
  const perScale = probe / 10;
  const scale = Math.max(1, Math.round(TARGET_EVENTS / RUNS / perScale));
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

function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const file = path.join(OUT, "events.jsonl");
  const db = path.join(OUT, "bench.db");
  const shellDb = path.join(OUT, "shell.db");

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
  } else {
    const shellRate = lines / shellSeconds;
    const ratio = stats.lines_per_second / shellRate;
    console.log(`sqlite3 shell:     ${fmtInt(shellRate)} lines/s  (${shellSeconds.toFixed(1)} s; one table, three indexes)`);
    console.log(`ratio obs/shell:   ${ratio.toFixed(2)}  (target ≥ 0.50: ${ratio >= 0.5 ? "met" : "NOT met"})`);
  }
  if (!process.argv.includes("--keep")) {
    rm(shellDb);
    fs.rmSync(file, { force: true });
  }
  console.log(`(the ingested database is kept at ${path.relative(process.cwd(), db)} for the query benchmarks)`);
}

main();
