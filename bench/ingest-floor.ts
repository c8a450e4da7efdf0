/**
 * The floor under `obs ingest`: what any program that stores obs's rows must spend, with none of
 * obs's own work. Given the event file and the database obs made of it, it
 *   - parses every line of the file (JSON.parse, nothing checked or kept), and
 *   - writes every row obs wrote to the record's tables (not the search index), as it is, into a new file of obs's schema (every index obs's
 *     schema has, its triggers dropped as obs's ingest drops them), in one transaction,
 * and prints its CPU seconds for those two as JSON. Reading the rows out of obs's database is
 * measured apart and taken off, so the figure is parsing and writing alone. What obs takes above
 * this is what it does itself: validating, folding, ids, the search index.
 *
 *   node dist/bench/ingest-floor.js EVENTS.jsonl|FOLDER OBS.db OUT.db
 */
import fs from "node:fs";
import path from "node:path";
import { openWritable } from "../src/db/write.js";
import { openReadOnly } from "../src/db/open.js";

const [input, obsDb, outDb] = process.argv.slice(2);
if (!input || !obsDb || !outDb) {
  console.error("usage: ingest-floor EVENTS.jsonl OBS.db OUT.db");
  process.exit(2);
}

const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** The file, or every *.jsonl file under the folder. */
function files(p: string): string[] {
  if (!fs.statSync(p).isDirectory()) return [p];
  return fs.readdirSync(p, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? files(path.join(p, d.name)) : d.name.endsWith(".jsonl") ? [path.join(p, d.name)] : []));
}

// Parsing: each file read in chunks of lines, as a streaming reader would.
const parse0 = cpu();
const buf = Buffer.alloc(1 << 22);
let lines = 0;
for (const file of files(input)) {
  const fd = fs.openSync(file, "r");
  let rest = "";
  for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) {
    const parts = (rest + buf.toString("utf8", 0, n)).split("\n");
    rest = parts.pop()!;
    for (const l of parts) if (l.trim()) (JSON.parse(l), lines++);
  }
  if (rest.trim()) (JSON.parse(rest), lines++);
  fs.closeSync(fd);
}
const parseSeconds = cpu() - parse0;

for (const f of [outDb, `${outDb}-wal`, `${outDb}-shm`]) fs.rmSync(f, { force: true });
const out = openWritable(outDb);
for (const name of out.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`).pluck().all() as string[]) out.exec(`DROP TRIGGER ${name}`);
const src = openReadOnly(obsDb);
// The record's tables: not obs's own bookkeeping (its meta, its log of sources) nor the search index.
const tables = src.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('obs_meta', 'ingest_log') AND name NOT LIKE 'search%' AND sql NOT LIKE 'CREATE VIRTUAL%'`).pluck().all() as string[];

/** Every row of every table obs wrote, read in rowid order; with `write`, each written to the new file as it comes. */
function pass(write: boolean): { seconds: number; rows: number } {
  const t0 = cpu();
  let rows = 0;
  if (write) out.exec("BEGIN");
  for (const t of tables) {
    const columns = (src.prepare(`SELECT name FROM pragma_table_info(?)`).pluck().all(t) as string[]).map((c) => `"${c}"`);
    const read = src.prepare(`SELECT ${columns.join(", ")} FROM ${t} ORDER BY rowid`).raw();
    const insert = write ? out.prepare(`INSERT INTO ${t} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`) : null;
    for (const row of read.iterate() as Iterable<unknown[]>) {
      insert?.run(row);
      rows++;
    }
  }
  if (write) out.exec("COMMIT");
  return { seconds: cpu() - t0, rows };
}

const readOnly = pass(false);
const written = pass(true);
out.pragma("wal_checkpoint(TRUNCATE)");
src.close();
out.close();
const writeSeconds = Math.max(0, written.seconds - readOnly.seconds);
console.log(JSON.stringify({ lines, rows: written.rows, parseSeconds, writeSeconds, cpuSeconds: parseSeconds + writeSeconds }));
