/**
 * The live paths' cadence as a contract, with the design's own generous bounds (the precise
 * figures are `npm run bench`'s): an event reaches `obs tail --json` within 100 ms of its commit
 * (median over 20), and a line appended to a followed file is in the database within 500 ms
 * (median over 10). Every wait is for a condition against a deadline, never a fixed sleep, so a
 * loaded machine makes the test slower, not wrong.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { BIN, tmpDir } from "./helpers.js";
import { at, dbWith } from "./query-helpers.js";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every few milliseconds until it holds; fails naming `what` after `deadlineMs`. */
async function until(what: string, cond: () => boolean, deadlineMs = 10_000): Promise<void> {
  for (const end = Date.now() + deadlineMs; !cond(); ) {
    if (Date.now() > end) assert.fail(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await pause(2);
  }
}

test("an event another process commits reaches obs tail --json within 100 ms (median of 20)", async (t) => {
  const db = await dbWith([{ kind: "transcript:entry", execution_id: "lat", timestamp: at(0), entry_type: "checkpoint", category: "c", summary: "start" }]);
  const tail = spawn(process.execPath, [BIN, "tail", "lat", "--json", "--last", "1", "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => tail.kill("SIGKILL"));
  const arrived = new Map<string, number>();
  let buf = "";
  tail.stdout!.on("data", (d: Buffer) => {
    const now = performance.now();
    buf += d.toString();
    for (let i; (i = buf.indexOf("\n")) >= 0; buf = buf.slice(i + 1)) {
      const e = JSON.parse(buf.slice(0, i)) as { entry?: { summary?: string } };
      if (e.entry?.summary) arrived.set(e.entry.summary, now);
    }
  });
  await until("tail's backlog line", () => arrived.has("start"));

  // A producer of its own, writing the table directly on its own connection.
  const writer = new Database(db);
  writer.pragma("busy_timeout = 5000");
  writer.pragma("foreign_keys = OFF"); // as another producer's SQLite leaves them
  t.after(() => writer.close());
  const insert = writer.prepare(`INSERT INTO transcript_entries (id, timestamp, sequence, execution_id, entry_type, category, summary)
                                 VALUES (?, ?, ?, 'lat', 'checkpoint', 'c', ?)`);
  const delays: number[] = [];
  for (let n = 1; n <= 20; n++) {
    // Commits land anywhere in tail's polling cycle.
    await pause(5 + Math.random() * 25);
    insert.run(`lat-${n}`, at(n), n + 1, `row ${n}`);
    const committed = performance.now();
    await until(`row ${n} on tail's stdout`, () => arrived.has(`row ${n}`));
    delays.push(arrived.get(`row ${n}`)! - committed);
  }
  const m = median(delays);
  assert.ok(m < 100, `median commit → tail line ${m.toFixed(1)} ms (want < 100); all: ${delays.map((d) => d.toFixed(0)).join(", ")}`);
  tail.kill("SIGINT");
  assert.equal(await new Promise((r) => tail.on("exit", r)), 0);
});

test("a line appended to a file obs ingest --follow reads is in the database within 500 ms (median of 10)", async (t) => {
  const dir = tmpDir();
  const src = path.join(dir, "runs");
  fs.mkdirSync(src);
  const db = path.join(dir, "obs.db");
  const file = path.join(src, "run.jsonl");
  const line = (summary: string, s: number) =>
    JSON.stringify({ kind: "transcript:entry", execution_id: "fol", timestamp: at(s), entry_type: "checkpoint", category: "c", summary }) + "\n";
  fs.writeFileSync(file, line("first", 0));
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", src, "--db", db], { stdio: ["ignore", "ignore", "pipe"] });
  t.after(() => child.kill("SIGKILL"));

  // The follower creates the database and commits the first line; only then can we watch it.
  let reader: Database.Database | undefined;
  t.after(() => reader?.close());
  const has = (summary: string) => {
    try {
      reader ??= new Database(db, { readonly: true, fileMustExist: true });
      return Boolean(reader.prepare(`SELECT 1 FROM transcript_entries WHERE summary = ?`).get(summary));
    } catch {
      reader?.close();
      reader = undefined;
      return false; // not created yet, or its tables not yet made
    }
  };
  await until("the follower's first commit", () => has("first"), 20_000);

  const delays: number[] = [];
  for (let n = 1; n <= 10; n++) {
    await pause(10 + Math.random() * 60);
    fs.appendFileSync(file, line(`line ${n}`, n));
    const written = performance.now();
    await until(`line ${n} in the database`, () => has(`line ${n}`));
    delays.push(performance.now() - written);
  }
  const m = median(delays);
  assert.ok(m < 500, `median append → row ${m.toFixed(1)} ms (want < 500); all: ${delays.map((d) => d.toFixed(0)).join(", ")}`);
  child.kill("SIGINT");
  assert.equal(await new Promise((r) => child.on("exit", r)), 0);
});
