import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { all, spawnCli, tmpDir, withDb } from "./helpers.js";

const TABLES = [
  "transcript_entries", "tool_uses", "skill_traces", "assertion_results", "assertion_chains", "message_bus_log", "events",
  "llm_calls", "agent_heartbeats", "build_agent_instances", "tasks", "parallel_execution_waves", "task_list_execution_runs",
];

test("obs prune removes whole executions older than an age, everything that belongs to them, and nothing else", () => {
  const db = path.join(tmpDir(), "demo.db");
  assert.equal(spawnCli(["demo", "--db", db]).code, 0);
  const env = { OBS_NOW: "2026-11-21T00:00:00.000Z" };
  const rowsOf = (exec: string) =>
    Object.fromEntries(TABLES.map((t) => [t, all(db, `SELECT COUNT(*) AS n FROM ${t} WHERE ${t === "parallel_execution_waves" ? "execution_run_id" : t === "task_list_execution_runs" ? "id" : "execution_id"} = ?`, exec)[0]!.n]));
  const kept = rowsOf("exec-102");

  const dry = spawnCli(["prune", "--older-than", "2d", "--dry-run", "--db", db, "--json"], { env });
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout);
  assert.deepEqual(plan.executions, ["exec-101"], "the demo's runs end on Nov 18, 19 and 20; two days before Nov 21 leaves Nov 18");
  assert.equal(plan.dry_run, true);
  // The plan's counts are the execution's rows, counted here table by table.
  const counted = rowsOf("exec-101");
  for (const [table, n] of Object.entries(counted)) assert.equal(plan.rows[table], n, table);
  assert.equal(plan.rows_total, Object.values(plan.rows as Record<string, number>).reduce((a, b) => a + b, 0));
  assert.ok((counted.transcript_entries as number) > 100, "the demo's run has rows to prune");

  const real = spawnCli(["prune", "--older-than", "2d", "--db", db], { env });
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /^removed 1 execution last active before 2026-11-19 00:00:00 \([\d,]+ rows\)\n {2}exec-101 /);
  for (const [table, n] of Object.entries(rowsOf("exec-101"))) assert.equal(n, 0, `${table} still holds exec-101 rows`);
  assert.equal(all(db, `SELECT COUNT(*) AS n FROM wave_task_assignments WHERE wave_id LIKE 'wave-101-%'`)[0]!.n, 0);
  assert.equal(all(db, `SELECT COUNT(*) AS n FROM task_dependencies WHERE task_id LIKE 'task-101-%'`)[0]!.n, 0);
  assert.deepEqual(rowsOf("exec-102"), kept, "other executions keep every row");
  assert.equal(spawnCli(["validate", "exec-102", "--db", db]).code, 0);

  // A stored retention is what prune applies by default; --vacuum gives the space back.
  assert.equal(spawnCli(["prune", "--db", db]).code, 2, "no age and no retention: obs asks");
  assert.match(spawnCli(["prune", "--db", db]).stderr, /obs config retention 30/);
  assert.match(spawnCli(["config", "retention", "1", "--db", db]).stdout, /retention: 1 days/);
  // Ages as obs writes them elsewhere, and off to remove it, as a budget limit is removed.
  assert.match(spawnCli(["config", "retention", "2w", "--db", db]).stdout, /retention: 14 days/);
  assert.match(spawnCli(["config", "retention", "30d", "--db", db]).stdout, /retention: 30 days/);
  const off = spawnCli(["config", "retention", "off", "--db", db]);
  assert.equal(off.code, 0, off.stderr);
  assert.match(off.stdout, /^retention: not set/);
  assert.match(spawnCli(["config", "retention", "--db", db]).stdout, /^retention: not set/);
  for (const bad of ["0", "12h", "soon"]) {
    const r = spawnCli(["config", "retention", bad, "--db", db]);
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, new RegExp(`retention must be a number of days like 30, 30d or 2w \\(or off\\), got '${bad}'`), bad);
  }
  assert.match(spawnCli(["config", "retention", "1", "--db", db]).stdout, /retention: 1 days/);
  assert.deepEqual(JSON.parse(spawnCli(["config", "--db", db, "--json"]).stdout), { retention_days: 1, max_cost_usd: null, max_tokens: null, max_duration_ms: null, max_errors: null, max_loops: null });
  const vacuumed = JSON.parse(spawnCli(["prune", "--vacuum", "--db", db, "--json"], { env }).stdout);
  assert.deepEqual(vacuumed.executions, ["exec-102"]);
  assert.ok(vacuumed.bytes_after < vacuumed.bytes_before, `${vacuumed.bytes_after} < ${vacuumed.bytes_before}`);
  assert.deepEqual(JSON.parse(spawnCli(["ls", "--db", db, "--json"]).stdout).map((r: { execution_id: string }) => r.execution_id), ["exec-103"]);
  assert.equal(spawnCli(["config", "colour", "on", "--db", db]).code, 2);
});

const DAY = 86_400_000;
/** "Now" for the tests below, and a time `days` before it. */
const NOW = "2026-03-01T12:00:00.000Z";
const ago = (days: number) => new Date(Date.parse(NOW) - days * DAY).toISOString();
const ev = (exec: string, days: number, kind: string, f: Record<string, unknown> = {}) => ({ kind, execution_id: exec, timestamp: ago(days), ...f });

test("prune ages an execution by its last activity of any kind, not by when it started", async () => {
  // Every run starts 60 days ago; all but `old` did something yesterday, each in another way.
  const started = (exec: string) => ev(exec, 60, "execution:status", { status: "started" });
  const runs: Record<string, Record<string, unknown>[]> = {
    old: [started("old"), ev("old", 60, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "s" }), ev("old", 59, "execution:status", { status: "completed" })],
    entry: [started("entry"), ev("entry", 1, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "still here" })],
    bus: [started("bus"), ev("bus", 1, "messagebus:event", { event_id: "bus-1", source: "agent", event_type: "note", severity: "info", human_summary: "hi" })],
    "tool-end": [started("tool-end"), ev("tool-end", 60, "tool:start", { tool_use_id: "long", tool: "Bash", input: { command: "sleep" } }), ev("tool-end", 1, "tool:end", { tool_use_id: "long", is_error: false })],
    heartbeat: [started("heartbeat"), ev("heartbeat", 1, "agent:heartbeat", { instance_id: "hb-a", status: "working" })],
    model: [started("model"), ev("model", 1, "llm:call", { model: "claude-sonnet-4-5", input_tokens: 1, output_tokens: 1 })],
    task: [started("task"), ev("task", 60, "task:status", { task_id: "task-t", status: "running" }), ev("task", 1, "task:status", { task_id: "task-t", status: "completed" })],
    wave: [started("wave"), ev("wave", 60, "wave:status", { wave_id: "wave-w", wave_number: 1, status: "running" }), ev("wave", 1, "wave:status", { wave_id: "wave-w", wave_number: 1, status: "completed" })],
    ended: [started("ended"), ev("ended", 1, "execution:status", { status: "completed" })],
    recent: [ev("recent", 10, "execution:status", { status: "started" })],
  };
  const db = path.join(tmpDir(), "obs.db");
  const input = Object.values(runs).flat().map((l) => JSON.stringify(l)).join("\n") + "\n";
  assert.equal(spawnCli(["ingest", "-", "--db", db], { input }).code, 0);
  const env = { OBS_NOW: NOW };
  const dry = spawnCli(["prune", "--older-than", "30d", "--dry-run", "--json", "--db", db], { env });
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(JSON.parse(dry.stdout).executions, ["old"]);
  const real = spawnCli(["prune", "--older-than", "30d", "--json", "--db", db], { env });
  assert.deepEqual(JSON.parse(real.stdout).executions, ["old"]);
  const left = all(db, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((r) => r.id);
  assert.deepEqual(left, Object.keys(runs).filter((e) => e !== "old").sort());
});

/**
 * Where each table keeps an execution's rows, read from the schema itself rather than from a
 * list: a column execution_id or execution_run_id, the table those columns reference (by its
 * key), and any table whose foreign key points at a row so owned. A table added later is
 * covered without anyone remembering to add it here.
 */
function ownedBySchema(dbPath: string): Map<string, string> {
  return withDb(dbPath, (db) => {
    const tables = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((t) => t.name);
    const cols = new Map(tables.map((t) => [t, (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(t) as { name: string }[]).map((c) => c.name)]));
    const fks = new Map(tables.map((t) => [t, db.prepare(`SELECT "table" AS parent, "from" AS col, "to" AS key FROM pragma_foreign_key_list(?)`).all(t) as { parent: string; col: string; key: string | null }[]]));
    const where = new Map<string, string[]>();
    const add = (t: string, cond: string) => where.set(t, [...(where.get(t) ?? []), cond]);
    for (const t of tables) {
      for (const c of cols.get(t)!) if (c === "execution_id" || c === "execution_run_id") add(t, `"${c}" = @id`);
      for (const fk of fks.get(t)!) if (fk.col === "execution_id" || fk.col === "execution_run_id") add(fk.parent, `"${fk.key ?? "rowid"}" = @id`);
    }
    // Children of owned rows, until nothing new is found (the schema's chains are short).
    for (let changed = true; changed; ) {
      changed = false;
      for (const t of tables) {
        for (const fk of fks.get(t)!) {
          const parent = where.get(fk.parent);
          const cond = parent && `"${fk.col}" IN (SELECT "${fk.key ?? "rowid"}" FROM "${fk.parent}" WHERE ${parent.join(" OR ")})`;
          if (cond && !cond.includes(`FROM "${t}"`) && !(where.get(t) ?? []).some((w) => w.startsWith(`"${fk.col}" IN`))) {
            add(t, cond);
            changed = true;
          }
        }
      }
    }
    return new Map([...where].map(([t, conds]) => [t, conds.map((c) => `(${c})`).join(" OR ")]));
  });
}

test("after prune no table holds a row of a pruned execution (tables found from the schema), and the others keep theirs", async () => {
  const { cleanRun } = await import("./query-helpers.js");
  const full = (exec: string, start: number) => [
    ...cleanRun(exec, `tl-${exec}`, start),
    // cleanRun's tasks have no dependencies; one that does fills task_dependencies.
    { kind: "task:status", execution_id: exec, timestamp: new Date(Date.parse("2026-01-16T09:00:00.000Z") + (start + 1) * 1000).toISOString(), task_id: `${exec}-t3`, status: "pending", depends_on: [`${exec}-t1`] },
  ];
  const db = path.join(tmpDir(), "obs.db");
  // cleanRun starts at 2026-01-16T09:00; "now" is 60 days later, so `gone` is 60 days old and `kept` 1 day.
  const input = [...full("gone", 0), ...full("kept", 59 * 86_400)].map((l) => JSON.stringify(l)).join("\n") + "\n";
  assert.equal(spawnCli(["ingest", "-", "--db", db], { input }).code, 0);
  const owned = ownedBySchema(db);
  const count = (exec: string) => withDb(db, (d) => Object.fromEntries([...owned].map(([t, w]) => [t, (d.prepare(`SELECT COUNT(*) AS n FROM "${t}" WHERE ${w}`).get({ id: exec }) as { n: number }).n])));
  const before = count("gone");
  // The fixture must put rows in every such table, or a table prune forgets would pass unseen.
  assert.deepEqual(Object.entries(before).filter(([, n]) => n === 0).map(([t]) => t), [], "tables the fixture leaves empty");
  for (const t of ["task_list_execution_runs", "wave_statistics", "task_dependencies", "wave_task_assignments", "search_fts"]) assert.ok(owned.has(t), `${t} found from the schema`);
  const kept = count("kept");

  const r = spawnCli(["prune", "--older-than", "30d", "--json", "--db", db], { env: { OBS_NOW: "2026-03-17T09:00:00.000Z" } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).executions, ["gone"]);
  assert.deepEqual(Object.entries(count("gone")).filter(([, n]) => n > 0), [], "rows left of the pruned execution");
  assert.deepEqual(count("kept"), kept, "the other execution keeps every row");
});

test("a pruned run stays pruned when the same files are ingested again; ingest --again reads it back, obs demo writes its runs again", () => {
  const dir = tmpDir();
  const db = path.join(dir, "obs.db");
  const env = { OBS_NOW: "2026-11-21T00:00:00.000Z" };
  const file = path.join(dir, "run.jsonl");
  const at = (s: number) => new Date(Date.UTC(2026, 10, 1, 9, 0, s)).toISOString();
  fs.writeFileSync(file, [
    { kind: "execution:status", execution_id: "old", timestamp: at(0), status: "running" },
    { kind: "transcript:entry", execution_id: "old", timestamp: at(1), entry_type: "checkpoint", category: "lifecycle", summary: "one" },
    { kind: "transcript:entry", execution_id: "old", timestamp: at(2), entry_type: "checkpoint", category: "lifecycle", summary: "one" },
    { kind: "execution:status", execution_id: "old", timestamp: at(3), status: "completed" },
  ].map((l) => JSON.stringify(l)).join("\n") + "\n");
  const entries = () => Number(all(db, `SELECT COUNT(*) AS n FROM transcript_entries WHERE execution_id = 'old'`)[0]!.n);
  assert.equal(spawnCli(["ingest", file, "--db", db]).code, 0);
  assert.equal(entries(), 2);
  const pruned = spawnCli(["prune", "--older-than", "7d", "--db", db], { env });
  assert.equal(pruned.code, 0, pruned.stderr);
  assert.match(pruned.stdout, /their files are not read again while unchanged; `obs ingest --again FILE` reads one back/);
  assert.equal(entries(), 0);
  // Retention holds: the unchanged file is passed over.
  const again = spawnCli(["ingest", file, "--db", db]);
  assert.match(again.stderr, /1 already up to date/);
  assert.equal(entries(), 0);
  // --again reads it from its start: the run comes back whole, and a second time adds nothing.
  for (let i = 0; i < 2; i++) {
    const back = spawnCli(["ingest", "--again", file, "--db", db]);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(entries(), 2);
    assert.deepEqual(all(db, `SELECT status FROM task_list_execution_runs WHERE id = 'old'`).map((r) => r.status), ["completed"]);
  }

  // The demo after its runs were pruned writes them again, as it says it does.
  const demo = path.join(dir, "demo.db");
  assert.equal(spawnCli(["demo", "--db", demo]).code, 0);
  const before = Number(all(demo, `SELECT COUNT(*) AS n FROM transcript_entries`)[0]!.n);
  assert.equal(spawnCli(["prune", "--older-than", "0d", "--db", demo], { env }).code, 0);
  assert.equal(Number(all(demo, `SELECT COUNT(*) AS n FROM transcript_entries`)[0]!.n), 0);
  const redo = spawnCli(["demo", "--db", demo]);
  assert.equal(redo.code, 0, redo.stderr);
  assert.equal(Number(all(demo, `SELECT COUNT(*) AS n FROM transcript_entries`)[0]!.n), before);
  assert.deepEqual(all(demo, `SELECT id FROM task_list_execution_runs ORDER BY id`).map((r) => r.id), ["exec-101", "exec-102", "exec-103"]);
});
