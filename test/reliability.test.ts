/**
 * Faults, load and hostile input (issue 13): each case was reproduced by the test before it was
 * fixed. Real SQLite files, real processes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, BIN, one, spawn, spawnCli, tmpDir } from "./helpers.js";

const entry = (exec: string, i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ kind: "transcript:entry", execution_id: exec, timestamp: new Date(Date.UTC(2026, 0, 16, 9) + i * 1000).toISOString(), entry_type: "checkpoint", category: "c", summary: `line ${i}`, ...extra });

function bigFile(file: string, exec: string, n: number): string {
  const out = fs.openSync(file, "w");
  let buf = "";
  for (let i = 0; i < n; i++) {
    buf += entry(exec, i) + "\n";
    if (buf.length > 1 << 20) { fs.writeSync(out, buf); buf = ""; }
  }
  fs.writeSync(out, buf);
  fs.closeSync(out);
  return file;
}

interface Done { code: number | null; stderr: string }
function run(args: string[], env: Record<string, string> = {}): { done: Promise<Done>; pid: number } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, NO_COLOR: "1", ...env } });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  return { pid: child.pid!, done: new Promise((r) => child.on("exit", (code) => r({ code, stderr }))) };
}

const count = (db: string, exec: string) => Number(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = ?`, exec)?.n);

test("concurrent writers wait their turn: none fails, the one waiting says for whom; --wait gives up naming it", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  // The first holds the database long: one big source, written in one transaction.
  const big = bigFile(path.join(dir, "big.jsonl"), "big", 400_000);
  const small = ["a", "b", "c"].map((x) => bigFile(path.join(dir, `${x}.jsonl`), x, 20_000));
  fs.writeFileSync(path.join(dir, "seed.jsonl"), entry("seed", 0) + "\n");
  assert.equal(spawnCli(["ingest", path.join(dir, "seed.jsonl"), "--db", db]).code, 0);
  const first = run(["ingest", big, "--db", db], { OBS_INGEST_STEP: "10000000" });
  // Until it holds the write lock (its note that it writes is in the file).
  for (let i = 0; i < 400 && !(one(db, `SELECT value FROM obs_meta WHERE key = 'writer'`)?.value); i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 300));
  const impatient = run(["ingest", small[0]!, "--db", db, "--wait", "300ms"]);
  const others = small.map((f) => run(["ingest", f, "--db", db]));
  const gaveUp = await impatient.done;
  assert.equal(gaveUp.code, 2, gaveUp.stderr);
  assert.match(gaveUp.stderr, new RegExp(`obs: gave up after waiting \\d+\\.\\d s for obs ingest \\(pid ${first.pid}, since \\d\\d:\\d\\d:\\d\\d\\) to finish writing .*obs\\.db \\(--wait\\)`));
  const results = await Promise.all([first.done, ...others.map((o) => o.done)]);
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  assert.ok(results.slice(1).some((r) => new RegExp(`waiting for obs ingest \\(pid ${first.pid}`).test(r.stderr)), "a writer that waited long said for whom");
  assert.ok(!results.some((r) => /SQLITE_BUSY|database is locked/.test(r.stderr)));
  assert.equal(count(db, "big"), 400_000);
  for (const x of ["a", "b", "c"]) assert.equal(count(db, x), 20_000);
  assert.equal(one(db, `SELECT value FROM obs_meta WHERE key = 'writer'`), undefined, "the note that a process writes goes with it");
});

test("a payload nested 10,000 deep is a bad line named by file and line; --skip-invalid skips it and later sources are read", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const deep = "[".repeat(10_000) + "]".repeat(10_000);
  const lines = [
    entry("e", 0),
    `{"kind":"transcript:entry","execution_id":"e","timestamp":"2026-01-16T09:00:01Z","entry_type":"checkpoint","category":"c","summary":"deep","details":${deep}}`,
    `{"kind":"tool:start","execution_id":"e","timestamp":"2026-01-16T09:00:02Z","tool_use_id":"t","tool":"Bash","input":{"a":${deep}}}`,
    `{"kind":"messagebus:event","execution_id":"e","timestamp":"2026-01-16T09:00:03Z","event_id":"ev","source":"s","event_type":"x","severity":"info","human_summary":"h","payload":${deep}}`,
    entry("e", 4),
  ];
  const file = path.join(dir, "deep.jsonl");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const later = path.join(dir, "later.jsonl");
  fs.writeFileSync(later, entry("later", 0) + "\n");
  const r = spawnCli(["ingest", file, later, "--db", db]);
  assert.equal(r.code, 2, r.stderr);
  for (const n of [2, 3, 4]) assert.match(r.stderr, new RegExp(`deep\\.jsonl:${n}: .*nested more than \\d+ deep`));
  assert.doesNotMatch(r.stderr, /Maximum call stack|internal error/);
  assert.equal(count(db, "e"), 0);
  assert.equal(count(db, "later"), 1);
  const skip = spawnCli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(skip.code, 0, skip.stderr);
  assert.equal(count(db, "e"), 2);
});

test("a model call with an absurd duration, or an impossible time beside a duration, is a bad line, not a crash", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const llm = (ts: string, d: number) => JSON.stringify({ kind: "llm:call", execution_id: "e", timestamp: ts, model: "m", input_tokens: 1, output_tokens: 1, duration_ms: d });
  const file = path.join(dir, "llm.jsonl");
  fs.writeFileSync(file, [llm("2026-01-16T09:00:00Z", 1e17), llm("2026-01-16T09:00:00Z", -1e17), llm("2026-13-45T99:99:99Z", 10), llm("2026-01-16T09:00:01Z", 1500)].join("\n") + "\n");
  const r = spawnCli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Invalid time value|internal error/);
  assert.match(r.stderr, /llm\.jsonl:1: llm:call: duration_ms number 100000000000000000 is too large/);
  assert.match(r.stderr, /llm\.jsonl:2: llm:call: duration_ms .*cannot be negative/);
  assert.match(r.stderr, /llm\.jsonl:3: timestamp .*2026-13-45T99:99:99Z/);
  assert.deepEqual(all(db, `SELECT start_time, duration_ms FROM llm_calls`).map((x) => ({ ...x })), [{ start_time: "2026-01-16T08:59:59.500Z", duration_ms: 1500 }]);
});

test("what cannot be true is rejected with file:line; what is merely huge is capped", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const base = { execution_id: "e", timestamp: "2026-01-16T09:00:00Z" };
  const bad = [
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", timestamp: "2026-13-45T99:99:99Z" },
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", timestamp: "2026-02-30" },
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", timestamp: "2026-02-30T10:00:00.000Z" },
    { ...base, kind: "llm:call", model: "m", input_tokens: -5, output_tokens: 1 },
    { ...base, kind: "llm:call", model: "m", input_tokens: 1, output_tokens: 1, cost_usd: -0.5 },
    { ...base, kind: "llm:call", model: "m", input_tokens: 1e300, output_tokens: 1 },
    { ...base, kind: "llm:call", model: "m", input_tokens: 2 ** 63, output_tokens: 1 },
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", sequence: -1 },
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", duration_ms: -3 },
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", id: "x".repeat(10 * 1024 * 1024) },
    { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "s", execution_id: "y".repeat(5000) },
  ];
  const huge = { ...base, kind: "task:status", task_id: "t", status: "running", title: "T".repeat(1_000_000) };
  const good = { ...base, kind: "transcript:entry", entry_type: "c", category: "c", summary: "fine", timestamp: "2024-02-29T23:59:59.999Z" };
  const file = path.join(dir, "hostile.jsonl");
  fs.writeFileSync(file, [...bad, huge, good].map((o) => JSON.stringify(o)).join("\n") + "\n");
  const r = spawnCli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(r.code, 0, r.stderr);
  const reasons = r.stderr.split("\n").filter((l) => l.includes("hostile.jsonl:"));
  assert.equal(reasons.length, bad.length, r.stderr.slice(0, 3000));
  for (let i = 0; i < bad.length; i++) assert.match(reasons[i]!, new RegExp(`hostile\\.jsonl:${i + 1}: `));
  assert.match(reasons[3]!, /input_tokens cannot be negative/);
  assert.match(reasons[4]!, /cost_usd cannot be negative/);
  assert.match(reasons[5]!, /input_tokens .*too large/);
  assert.match(reasons[6]!, /input_tokens .*too large/);
  assert.match(reasons[9]!, /id is 10485760 characters long/);
  assert.ok(r.stderr.length < 20_000, "no line echoes a 10 MB value");
  // Stored: the good line, and the huge title cut.
  assert.equal(count(db, "e"), 1);
  const title = String(one(db, `SELECT title FROM tasks WHERE id = 't'`)?.title);
  assert.ok(title.length <= 65_536 && title.length > 1000, `title cut to the cap (${title.length})`);
  assert.match(title, /…$/);
});

test("invalid UTF-8 is named by file and line: a bad line, or skipped and counted with --skip-invalid", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "latin.jsonl");
  const badLine = Buffer.concat([Buffer.from(entry("e", 1).replace("line 1", "caf")), Buffer.from([0xe9])]);
  // The bad byte sits inside the summary string: ...,"summary":"caf\xe9"}
  const fixed = Buffer.from(badLine.toString("latin1").replace('caf"}\xe9', 'caf\xe9"}'), "latin1");
  fs.writeFileSync(file, Buffer.concat([Buffer.from(entry("e", 0) + "\n"), fixed, Buffer.from("\n" + entry("e", 2) + "\n")]));
  const r = spawnCli(["ingest", file, "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /latin\.jsonl:2: not valid UTF-8/);
  assert.equal(fs.existsSync(db), false, "nothing written: no database made for it");
  const s = spawnCli(["ingest", file, "--db", db, "--skip-invalid"]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stderr, /latin\.jsonl:2: not valid UTF-8/);
  assert.match(s.stderr, /skipped 1 bad line/);
  assert.equal(count(db, "e"), 2);
  assert.equal(one(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE summary LIKE '%\ufffd%'`)?.n, 0);
});

test("after a last line without newline was read, the lines appended after it keep their numbers", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "grow.jsonl");
  fs.writeFileSync(file, entry("e", 0) + "\n" + entry("e", 1));
  assert.equal(spawnCli(["ingest", file, "--db", db]).code, 0);
  // The producer finishes line 2 with its newline and writes a bad line 3.
  fs.appendFileSync(file, "\n{oops\n");
  const r = spawnCli(["ingest", file, "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /grow\.jsonl:3: not JSON/);
  assert.doesNotMatch(r.stderr, /grow\.jsonl:4/);
  fs.writeFileSync(file, entry("e", 0) + "\n" + entry("e", 1) + "\n" + entry("e", 2) + "\n");
  assert.equal(spawnCli(["ingest", file, "--db", db]).code, 0);
  assert.equal(one(db, `SELECT lines FROM ingest_log`)?.lines, 3);
});

test("ingest --follow over a file rewritten in place, longer than before: read again from its start, nothing lost", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "run.jsonl");
  fs.writeFileSync(file, [0, 1, 2].map((i) => entry("e", i)).join("\n") + "\n");
  const f = run(["ingest", "--follow", file, "--db", db]);
  const until = async (n: number) => {
    for (let i = 0; i < 400; i++) {
      try {
        if (count(db, "e") >= n) return;
      } catch {
        /* not created yet */
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await until(3);
  // Truncated and written again, other lines and more of them, between two looks.
  fs.writeFileSync(file, [10, 11, 12, 13, 14, 15].map((i) => entry("e", i, { summary: `rewritten ${i}` })).join("\n") + "\n");
  await until(9);
  process.kill(f.pid, "SIGINT");
  const done = await f.done;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /run\.jsonl: rewritten; reading it from the start/);
  assert.deepEqual(all(db, `SELECT summary FROM transcript_entries WHERE summary LIKE 'rewritten%' ORDER BY summary`).map((x) => x.summary),
    [10, 11, 12, 13, 14, 15].map((i) => `rewritten ${i}`));
});

test("a follower that stops at a bad line says how many bad lines, not 0", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "run.jsonl");
  fs.writeFileSync(file, entry("e", 0) + "\n{bad\n");
  const f = run(["ingest", "--follow", file, "--db", db]);
  for (let i = 0; i < 200 && !/stopped following/.test(await Promise.race([f.done.then((d) => d.stderr), new Promise<string>((r) => setTimeout(() => r(""), 25))])); i++);
  await new Promise((r) => setTimeout(r, 300));
  process.kill(f.pid, "SIGINT");
  const done = await f.done;
  assert.equal(done.code, 2);
  assert.match(done.stderr, /run\.jsonl:2: not JSON/);
  assert.match(done.stderr, /nothing written \(1 bad line\)/);
  assert.doesNotMatch(done.stderr, /0 bad lines/);
});

test("a follower's closing line says what it read and for how long, not a rate: idle time made it 0 lines/s", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const file = path.join(dir, "run.jsonl");
  fs.writeFileSync(file, entry("e", 0) + "\n");
  const f = run(["ingest", "--follow", file, "--db", db]);
  for (let i = 0; i < 400; i++) {
    try {
      if (count(db, "e") >= 1) break;
    } catch {
      /* not created yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  // Idle: one line over three seconds read as "0 lines/s".
  await new Promise((r) => setTimeout(r, 3000));
  process.kill(f.pid, "SIGINT");
  const done = await f.done;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stderr, /^followed 1 source for (\d+\.\d)s: 1 lines, 1 events \(transcript:entry 1\), 0 rejected$/m);
  const seconds = Number(/for (\d+\.\d)s/.exec(done.stderr)![1]);
  assert.ok(seconds >= 3, `it followed for ${seconds} s`);
  assert.doesNotMatch(done.stderr, /lines\/s/);
});

test("a follower's --json says what its closing line says: sources, seconds followed, lines, events, and no rate; a plain ingest --json keeps its rate", async () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const a = path.join(dir, "a.jsonl");
  const b = path.join(dir, "b.jsonl");
  fs.writeFileSync(a, entry("e", 0) + "\n" + entry("e", 1) + "\n");
  fs.writeFileSync(b, entry("f", 0) + "\n");
  const child = spawn(process.execPath, [BIN, "ingest", "--follow", "--json", a, b, "--db", db], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  const started = Date.now();
  for (let i = 0; i < 400; i++) {
    try {
      if (count(db, "e") === 2 && count(db, "f") === 1) break;
    } catch {
      /* not created yet */
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  // A line appended while it follows is counted with the others.
  fs.appendFileSync(a, entry("e", 2) + "\n");
  for (let i = 0; i < 400 && count(db, "e") < 3; i++) await new Promise((r) => setTimeout(r, 25));
  await new Promise((r) => setTimeout(r, 1000));
  child.kill("SIGINT");
  assert.equal(await exited, 0, stderr);
  const waited = (Date.now() - started) / 1000;
  const stats = JSON.parse(stdout);
  assert.equal(stats.followed, true);
  assert.equal(stats.sources, 2);
  assert.equal(stats.lines, 4);
  assert.equal(stats.events, 4);
  assert.deepEqual(stats.by_kind, { "transcript:entry": 4 });
  assert.equal(stats.rejected, 0);
  assert.ok(!("lines_per_second" in stats), `no rate in ${stdout}`);
  // Seconds followed: at least the second it idled, at most the time the test waited for it.
  assert.ok(stats.seconds >= 1 && stats.seconds <= waited, `followed ${stats.seconds} s of ${waited} s`);
  assert.doesNotMatch(stderr, /^followed/m, "with --json the closing line is the JSON");

  const plain = spawnCli(["ingest", "--json", b, "--db", path.join(dir, "plain.db")]);
  assert.equal(plain.code, 0, plain.stderr);
  const once = JSON.parse(plain.stdout);
  assert.equal(once.followed, undefined);
  assert.equal(once.lines, 1);
  assert.equal(typeof once.lines_per_second, "number");
  assert.deepEqual(Object.keys(once).slice(-3), ["seconds", "lines_per_second", "sources_detail"]);
});

test("errors a user can act on: a directory as --db, a path that does not exist, a bad --fts query, a 100 kB argument", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  fs.writeFileSync(path.join(dir, "e.jsonl"), entry("e", 0) + "\n");
  assert.equal(spawnCli(["ingest", path.join(dir, "e.jsonl"), "--db", db]).code, 0);
  const cases: [string[], RegExp][] = [
    [["ls", "--db", dir], new RegExp(`obs: ${dir} is a directory; --db names a database file`)],
    [["ingest", path.join(dir, "e.jsonl"), "--db", dir], new RegExp(`obs: ${dir} is a directory; --db names a database file`)],
    [["ls", "--db", "/nonexistent/x.db"], /obs: no database at \/nonexistent\/x\.db/],
    [["ingest", path.join(dir, "e.jsonl"), "--db", "/nonexistent/x.db"], /obs: cannot create the database \/nonexistent\/x\.db: no directory \/nonexistent/],
    [["export", "e", "--jsonl", "--db", db, "-o", "/nonexistent/x.jsonl"], /obs: cannot write \/nonexistent\/x\.jsonl: no directory \/nonexistent/],
    [["search", "AND OR (", "--fts", "--db", db], /obs: --fts: 'AND OR \(' is not an FTS5 query/],
    [["search", "\"unclosed", "--fts", "--db", db], /obs: --fts: '"unclosed' is not an FTS5 query/],
  ];
  for (const [args, want] of cases) {
    const r = spawnCli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, want, args.join(" "));
    assert.doesNotMatch(r.stderr, /internal error|disk I\/O error|database error|    at /, args.join(" "));
  }
  const long = "x".repeat(100_000);
  const r = spawnCli(["validate", long, "--db", db]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no execution 'x{20,}…/);
  assert.ok(r.stderr.length < 2000, `the error is short (${r.stderr.length} characters)`);
});

test("validate --all, one pass per check, finds in every execution exactly what validating it alone finds", async () => {
  const { generateDemo } = await import("../src/demo/generate.js");
  const { openWritable } = await import("../src/db/write.js");
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const runs = generateDemo({ runs: 4, firstRun: 500 });
  fs.writeFileSync(path.join(dir, "demo.jsonl"), runs.flatMap((r) => r.lines).join("\n") + "\n");
  assert.equal(spawnCli(["ingest", path.join(dir, "demo.jsonl"), "--db", db]).code, 0);
  // Another producer's defects, one of each kind, spread over the executions.
  const w = openWritable(db);
  w.exec(`
    UPDATE transcript_entries SET sequence = sequence + 5 WHERE execution_id = 'exec-500' AND sequence > 40;
    UPDATE transcript_entries SET sequence = 7 WHERE execution_id = 'exec-501' AND sequence = 8;
    INSERT INTO tool_uses (id, execution_id, tool, start_time) VALUES ('orphan-1', 'exec-501', 'Bash', '2026-01-01T00:00:00.000Z');
    INSERT INTO tool_uses (id, execution_id, tool, transcript_entry_id, start_time, end_time) VALUES ('orphan-2', 'exec-502', 'Read', 'nowhere', '2026-01-01T00:00:09.000Z', '2026-01-01T00:00:01.000Z');
    UPDATE assertion_chains SET overall_result = NULL WHERE id IN (SELECT id FROM assertion_chains WHERE execution_id = 'exec-502' LIMIT 2);
    UPDATE wave_statistics SET task_count = task_count + 1 WHERE execution_id = 'exec-503';
    UPDATE tool_uses SET within_skill = 'no-such-skill' WHERE id IN (SELECT id FROM tool_uses WHERE execution_id = 'exec-503' LIMIT 3);
    UPDATE tasks SET execution_id = 'exec-gone' WHERE id IN (SELECT id FROM tasks WHERE execution_id = 'exec-500' LIMIT 1);
    INSERT INTO task_dependencies (task_id, depends_on_task_id) SELECT id, 'no-such-task' FROM tasks WHERE execution_id = 'exec-501' LIMIT 1;
  `);
  w.close();
  const every = spawnCli(["validate", "--all", "--json", "--db", db]);
  assert.equal(every.code, 1, every.stderr);
  const verdicts = JSON.parse(every.stdout) as { execution_id: string; ok: boolean; checks: { id: string; count: number }[] }[];
  const found = new Set<string>();
  for (const v of verdicts) {
    const alone = JSON.parse(spawnCli(["validate", v.execution_id, "--json", "--db", db]).stdout);
    assert.deepEqual(v, alone, v.execution_id);
    for (const c of v.checks) if (c.count) found.add(c.id);
  }
  assert.deepEqual([...found].sort(), ["V001", "V002", "V003", "V004", "V005", "V006", "V007"], "every check finds something somewhere");
});
