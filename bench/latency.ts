/**
 * Latency from commit to output: this process commits rows the way another producer would
 * (plain SQL, its own connection) while `obs tail --json` follows the execution; each row's
 * delay is the time from its commit to its line arriving on tail's stdout. Seed 003's bar:
 * p99 under 100 ms; obs's own target: p50 under 30 ms.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { openWritable } from "../src/db/open.js";

const SAMPLES = 300;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function benchLatency(bin: string, dir: string): Promise<void> {
  const db = path.join(dir, "latency.db");
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  openWritable(db).close();
  const writer = new Database(db);
  writer.pragma("journal_mode = WAL");
  writer.pragma("busy_timeout = 5000");
  // As a Python producer would: sqlite3 there leaves foreign keys unenforced.
  writer.pragma("foreign_keys = OFF");
  const insert = writer.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type, category, summary)
                                 VALUES (?, ?, ?, 'lat', 'checkpoint', 'bench', ?)`);
  insert.run("lat-0", new Date().toISOString(), 0, "start");

  const tail = spawn(process.execPath, [bin, "tail", "lat", "--json", "--last", "1", "--db", db], { stdio: ["ignore", "pipe", "inherit"] });
  const committed = new Map<number, number>();
  const delays: number[] = [];
  let buf = "";
  let ready: () => void;
  const started = new Promise<void>((r) => (ready = r));
  tail.stdout.on("data", (d: Buffer) => {
    const now = performance.now();
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const e = JSON.parse(buf.slice(0, i)) as { entry?: { summary?: string } };
      buf = buf.slice(i + 1);
      const n = Number(e.entry?.summary);
      if (e.entry?.summary === "start") ready();
      else if (committed.has(n)) delays.push(now - committed.get(n)!);
    }
  });
  await started;
  for (let n = 1; n <= SAMPLES; n++) {
    // Spread commits out at random, so they land anywhere in tail's polling cycle.
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 20));
    insert.run(`lat-${n}`, new Date().toISOString(), n, String(n));
    committed.set(n, performance.now());
  }
  for (let waited = 0; delays.length < SAMPLES && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  tail.kill("SIGINT");
  writer.close();
  const sorted = [...delays].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  console.log(`\nlatency, commit → obs tail --json line (${delays.length} of ${SAMPLES} rows seen):`);
  console.log(`  p50 ${p50.toFixed(1)} ms (target < 30: ${p50 < 30 ? "met" : "NOT met"}), p99 ${p99.toFixed(1)} ms (target < 100: ${p99 < 100 ? "met" : "NOT met"}), max ${sorted[sorted.length - 1]!.toFixed(1)} ms`);
}
