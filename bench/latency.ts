/**
 * Latency from commit to output: this process commits rows the way another producer would
 * (plain SQL, its own connection) while `obs tail --ndjson` follows the execution; each row's
 * delay is the time from its commit to its line arriving on tail's stdout. Seed 003's bar:
 * p99 under 100 ms; obs's own target: p50 under 30 ms.
 *
 * And the follower's cadence: lines appended to a file `obs ingest --follow` reads, each
 * timed from its write to its row being readable in the database (the follower commits at
 * least every 50 ms).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { openWritable } from "../src/db/write.js";

const SAMPLES = 300;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export interface Latency {
  samples: number;
  seen: number;
  p50: number;
  p99: number;
}

export async function benchLatency(bin: string, dir: string): Promise<Latency> {
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

  const tail = spawn(process.execPath, [bin, "tail", "lat", "--ndjson", "--last", "1", "--db", db], { stdio: ["ignore", "pipe", "inherit"] });
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
  const p50 = sorted.length ? percentile(sorted, 50) : Infinity;
  const p99 = sorted.length ? percentile(sorted, 99) : Infinity;
  console.log(`\nlatency, commit → obs tail --ndjson line (${delays.length} of ${SAMPLES} rows seen):`);
  console.log(`  p50 ${p50.toFixed(1)} ms (target < 30: ${p50 < 30 ? "met" : "NOT met"}), p99 ${p99.toFixed(1)} ms (target < 100: ${p99 < 100 ? "met" : "NOT met"}), max ${(sorted[sorted.length - 1] ?? Infinity).toFixed(1)} ms`);
  return { samples: SAMPLES, seen: delays.length, p50, p99 };
}

const FOLLOW_SAMPLES = 100;

export async function benchFollow(bin: string, dir: string): Promise<Latency> {
  const db = path.join(dir, "follow.db");
  const src = path.join(dir, "follow");
  for (const f of [db, `${db}-wal`, `${db}-shm`]) fs.rmSync(f, { force: true });
  fs.rmSync(src, { recursive: true, force: true });
  fs.mkdirSync(src);
  const file = path.join(src, "run.jsonl");
  const line = (n: number) => JSON.stringify({ kind: "transcript:entry", execution_id: "fol", timestamp: new Date().toISOString(), entry_type: "checkpoint", category: "bench", summary: String(n) }) + "\n";
  fs.writeFileSync(file, line(0));
  const child = spawn(process.execPath, [bin, "ingest", "--follow", src, "--db", db], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  let reader: Database.Database | undefined;
  const has = (n: number) => {
    try {
      reader ??= new Database(db, { readonly: true, fileMustExist: true });
      return Boolean(reader.prepare(`SELECT 1 FROM transcript_entries WHERE summary = ?`).get(String(n)));
    } catch {
      reader?.close();
      reader = undefined;
      return false; // the follower has not made the database yet
    }
  };
  const waitFor = async (n: number, ms: number) => {
    for (const end = performance.now() + ms; performance.now() < end; await new Promise((r) => setTimeout(r, 1))) if (has(n)) return true;
    return false;
  };
  await waitFor(0, 20_000);
  const delays: number[] = [];
  for (let n = 1; n <= FOLLOW_SAMPLES; n++) {
    // Appends land anywhere in the follower's polling cycle.
    await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
    fs.appendFileSync(file, line(n));
    const written = performance.now();
    if (await waitFor(n, 2000)) delays.push(performance.now() - written);
  }
  child.kill("SIGINT");
  // Its closing line is noise here; anything else it said matters.
  if ((await new Promise((r) => child.on("exit", r))) !== 0) process.stderr.write(stderr);
  reader?.close();
  const sorted = [...delays].sort((a, b) => a - b);
  const p50 = sorted.length ? percentile(sorted, 50) : Infinity;
  const p99 = sorted.length ? percentile(sorted, 99) : Infinity;
  console.log(`\nfollow, line appended → its row readable (${delays.length} of ${FOLLOW_SAMPLES} lines seen):`);
  console.log(`  p50 ${p50.toFixed(1)} ms (target < 50: ${p50 < 50 ? "met" : "NOT met"}), p99 ${p99.toFixed(1)} ms (target < 100: ${p99 < 100 ? "met" : "NOT met"}), max ${(sorted[sorted.length - 1] ?? Infinity).toFixed(1)} ms`);
  return { samples: FOLLOW_SAMPLES, seen: delays.length, p50, p99 };
}
