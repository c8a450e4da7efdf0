/**
 * The live view as a person meets it: a clock that moves with nothing landing, a pause that holds
 * still, "errors only" that gives back what it held, a finished run, narrow and resized
 * terminals, NO_COLOR — and `obs tail` in a pipe: filters before the backlog, every event's
 * agent, and an end when the run is over.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import path from "node:path";
import React from "react";
import { render } from "ink-testing-library";
import { ChangeFeed } from "../src/live/feed.js";
import { TailApp, TailView, type TailViewProps } from "../src/live/view.js";
import type { IO } from "../src/io.js";
import { BIN, cli, spawnCli, tmpDir, writeJsonl } from "./helpers.js";
import { at, dbWith, line, T0 } from "./query-helpers.js";

const E = (s: number, kind: string, f: Record<string, unknown> = {}) => line("e", s, kind, f);

async function ingest(db: string, lines: Record<string, unknown>[]): Promise<void> {
  const r = await cli(["ingest", writeJsonl(path.join(tmpDir(), "more.jsonl"), lines), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
}

const io = (env: NodeJS.ProcessEnv = {}) => ({ env, columns: 100, isTTY: true, color: false }) as unknown as IO;

/** Renders the live app on a database; `clock` is the view's clock, moved by the test. */
function app(db: string, o: { clock?: () => number; filter?: Record<string, unknown> } = {}) {
  const feed = new ChangeFeed(db, { executionId: "e" });
  const backlog = feed.backlog(20);
  const r = render(React.createElement(TailApp, { src: { feed, backlog, filter: o.filter ?? {}, dbPath: db, executionId: "e", io: io(), clock: o.clock } }));
  const frame = () => r.lastFrame() ?? "";
  return {
    ...r,
    frame,
    async until(re: RegExp, deadlineMs = 10_000): Promise<string> {
      for (const end = Date.now() + deadlineMs; Date.now() < end; await new Promise((res) => setTimeout(res, 20))) if (re.test(frame())) return frame();
      assert.match(frame(), re);
      return frame();
    },
    /** The live box alone, without the feed printed above it. */
    box: () => frame().slice(frame().indexOf("┌")),
  };
}

const running = [
  E(0, "execution:status", { status: "started" }),
  E(1, "agent:heartbeat", { instance_id: "a1", status: "working", current_task_id: "t1", task_id: "t1" }),
  E(1, "agent:heartbeat", { instance_id: "a2", status: "working", current_task_id: "t2", task_id: "t2" }),
];

test("the clock moves with nothing landing: elapsed counts, a quiet agent turns SILENT, a failed one shows failed", async (t) => {
  const db = await dbWith(running);
  let now = T0 + 10_000;
  const v = app(db, { clock: () => now });
  t.after(() => v.unmount());
  await v.until(/│ e {2}started {2}elapsed 10\.0s/);
  assert.match(v.frame(), /a1 {2}working {2}t1 {2}last heartbeat 9\.0s ago +│/);
  // 400 s in, and not one row written: 399 s since the heartbeat is past P002's 5 minutes.
  now = T0 + 400_000;
  await v.until(/elapsed 6m 40s/, 3000);
  assert.match(v.frame(), /a1 {2}working {2}t1 {2}last heartbeat 6m 39s ago {2}SILENT/);
  await ingest(db, [E(401, "agent:heartbeat", { instance_id: "a2", status: "failed", current_task_id: "t2" })]);
  await v.until(/a2 {2}failed {3}t2/, 3000);
  assert.doesNotMatch(v.box(), /a2 .*SILENT/, "a failed agent is failed, not silent");
  assert.match(v.box(), /following/);
});

test("a finished run: times are the run's own, it says the run is over, and it stands still", async (t) => {
  const db = await dbWith([...running.slice(0, 2), E(400, "execution:status", { status: "failed", message: "aborted" })]);
  let now = T0 + 1e9;
  const v = app(db, { clock: () => now });
  t.after(() => v.unmount());
  // Ended at 400 s; the agent's last heartbeat at 1 s: 399 s, as `obs waves` measures it.
  const frame = await v.until(/e failed: the run is over/);
  assert.match(frame, /│ e {2}failed {2}elapsed 6m 40s/);
  assert.match(frame, /a1 {2}working {2}t1 {2}last heartbeat 6m 39s ago {2}SILENT/);
  assert.doesNotMatch(frame, /following/);
  const waves = spawnCli(["waves", "e", "--db", db]);
  assert.match(waves.stdout, /a1 +working +t1 +2026-01-16 09:00:01 +6m 39s/);
  now += 3_600_000;
  await new Promise((r) => setTimeout(r, 1300));
  assert.equal(v.box(), frame.slice(frame.indexOf("┌")), "an hour later on the clock, nothing moved");
});

/** The numbers of the "step N" lines in a frame or on a screen, in the order they are drawn. */
const steps = (f: string) => [...f.matchAll(/step (\d+)\b/g)].map((m) => Number(m[1]));
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const step = (n: number, s = 1 + n) => E(s, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: `step ${n}`, instance_id: "a1" });

test("paused, the screen holds still: new events are counted, no line is drawn again in the box; p prints them once each, in order", async (t) => {
  const db = await dbWith([...running, ...range(1, 12).map((n) => step(n))]);
  const v = app(db);
  t.after(() => v.unmount());
  const before = await v.until(/step 12[\s\S]*following/);
  const above = (f: string) => f.slice(0, f.indexOf("┌"));
  const height = v.box().split("\n").length;
  assert.deepEqual(steps(before), range(1, 12));
  v.stdin.write("p");
  const paused = await v.until(/PAUSED \(0 new\) {2}· {2}p resume {2}e errors only {2}q quit/);
  assert.doesNotMatch(paused, /p pause/, "one action for p");
  assert.deepEqual(steps(paused), range(1, 12), "every line once: none drawn again inside the box");
  assert.equal(above(paused), above(before), "the feed above the box as it was");
  assert.equal(v.box().split("\n").length, height, "the box no taller paused");
  await ingest(db, [step(13, 20), step(14, 21)]);
  const later = await v.until(/PAUSED \(2 new\)/);
  assert.equal(above(later), above(before), "new events are not drawn while paused");
  v.stdin.write("p");
  const resumed = await v.until(/step 14[\s\S]*following {2}· {2}p pause/);
  assert.deepEqual(steps(resumed), range(1, 14), "what came meanwhile, after the rest, once each and in order");
  assert.doesNotMatch(resumed, /PAUSED/);
  assert.equal(v.box().split("\n").length, height, "the box no shorter resumed");
  // Following again: the next event lands below them.
  await ingest(db, [step(15, 22)]);
  assert.deepEqual(steps(await v.until(/step 15/)), range(1, 15));
});

test("paused, errors only turned on and off is held back with the events and shown in its place on resume", async (t) => {
  const db = await dbWith([...running, step(1)]);
  const v = app(db);
  t.after(() => v.unmount());
  await v.until(/step 1[\s\S]*following/);
  v.stdin.write("p");
  await v.until(/PAUSED \(0 new\)/);
  await ingest(db, [step(2, 10)]);
  await v.until(/PAUSED \(1 new\)/);
  v.stdin.write("e");
  await v.until(/PAUSED \(2 new\) {2}\[errors only\]/);
  assert.doesNotMatch(v.frame(), /errors only from here/, "the note waits with the events");
  v.stdin.write("p");
  const f = await v.until(/errors only from here[\s\S]*following/);
  assert.ok(f.indexOf("step 2") < f.indexOf("errors only from here"), "in the order they came");
  assert.deepEqual(steps(f), [1, 2]);
});

test("errors only: what it held back comes back when it is turned off, after a note that says so", async (t) => {
  const db = await dbWith(running);
  const v = app(db);
  t.after(() => v.unmount());
  await v.until(/following/);
  v.stdin.write("e");
  await v.until(/── errors only from here \(e shows every event again\) ──[\s\S]*\[errors only\]/);
  await ingest(db, [
    E(5, "tool:start", { tool_use_id: "ok", tool: "Read", input: { file_path: "a.ts" }, instance_id: "a1" }),
    E(6, "tool:end", { tool_use_id: "ok", is_error: false }),
    E(7, "tool:start", { tool_use_id: "bad", tool: "Bash", input: { command: "make" }, instance_id: "a1" }),
    E(8, "tool:end", { tool_use_id: "bad", is_error: true, error_message: "no rule" }),
  ]);
  await v.until(/tool:end +Bash error 1\.0s — no rule/);
  assert.doesNotMatch(v.frame(), /Read a\.ts/);
  v.stdin.write("e");
  // Held back: both Read events and the Bash call's start (the entries restating them are not shown to people).
  const f = await v.until(/── errors only off: 3 other events arrived meanwhile ──/);
  const after = f.slice(f.indexOf("errors only off"));
  assert.match(after, /tool:start +Read a\.ts[\s\S]*tool:end +Read done 1\.0s[\s\S]*tool:start +Bash make/);
  assert.doesNotMatch(f.slice(f.indexOf("┌")), /\[errors only\]/);
});

test("following every execution: each line names its own by a short id that begins no other, dated when the lines span days, in time order", async (t) => {
  const DAY = 86_400;
  const entry = (exec: string, s: number, summary: string) => line(exec, s, "transcript:entry", { entry_type: "checkpoint", category: "c", summary });
  const started = (exec: string, s: number) => line(exec, s, "execution:status", { status: "started" });
  // The latest run ingested first. run-2026-a7 is only started: no line of it passes the filter,
  // yet it is an execution "run-2026-a" would begin, so run-2026-a1 needs its whole id.
  const db = await dbWith([started("run-2026-b2", 2 * DAY), entry("run-2026-b2", 2 * DAY + 1, "b one"), entry("run-2026-b2", 2 * DAY + 2, "b two")]);
  await ingest(db, [started("run-2026-a1", 0), entry("run-2026-a1", 1, "a one"), started("run-2026-a7", 5), started("solo", DAY), entry("solo", DAY + 1, "solo one")]);
  const filter = { types: new Set(["transcript:entry"]) };
  const feed = new ChangeFeed(db, {});
  const backlog = feed.backlog(20, undefined, (e) => e.type === "transcript:entry");
  const v = render(React.createElement(TailApp, { src: { feed, backlog, filter, dbPath: db, executionId: undefined, io: io() } }));
  t.after(() => v.unmount());
  const lineOf = (f: string, text: string) => f.split("\n").find((l) => l.includes(text)) ?? `(no line with ${text})`;
  for (let end = Date.now() + 10_000; !/b two/.test(v.lastFrame() ?? "") && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  const f = v.lastFrame()!;
  // The execution column as wide as its widest id (11), then the agent's 14 and the type's 16.
  const row = (when: string, id: string, text: string) => `${when}  ${id.padEnd(11)}  ${"".padEnd(14)}  ${"transcript:entry".padEnd(16)}  checkpoint: ${text}`;
  assert.equal(lineOf(f, "a one"), row("2026-01-16 09:00:01.000", "run-2026-a1", "a one"));
  assert.equal(lineOf(f, "solo one"), row("2026-01-17 09:00:01.000", "solo", "solo one"));
  assert.equal(lineOf(f, "b one"), row("2026-01-18 09:00:01.000", "run-2026-b", "b one"));
  assert.ok(f.indexOf("a one") < f.indexOf("solo one") && f.indexOf("solo one") < f.indexOf("b one") && f.indexOf("b one") < f.indexOf("b two"), `in time order:\n${f}`);
  assert.match(f, /│ all executions +│/);
  // A new execution that run-2026-b would begin too: from here on both go by their whole ids.
  await ingest(db, [started("run-2026-b5", 2 * DAY + 10), entry("run-2026-b5", 2 * DAY + 11, "b5 one"), entry("run-2026-b2", 2 * DAY + 12, "b three")]);
  for (let end = Date.now() + 10_000; !/b three/.test(v.lastFrame() ?? "") && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  const g = v.lastFrame()!;
  assert.equal(lineOf(g, "b5 one"), row("2026-01-18 09:00:11.000", "run-2026-b5", "b5 one"));
  assert.equal(lineOf(g, "b three"), row("2026-01-18 09:00:12.000", "run-2026-b2", "b three"));
});

test("following one execution, lines carry no execution column, nor a date while they are all of one day", async (t) => {
  const db = await dbWith([...running, step(1)]);
  const v = app(db);
  t.after(() => v.unmount());
  const f = await v.until(/step 1/);
  assert.match(f, /^09:00:02\.000 {2}a1 {12} {2}transcript:entry {2}checkpoint: step 1$/m);
  // A line of the next day: it and those after it carry their dates.
  await ingest(db, [E(86_400 + 5, "transcript:entry", { entry_type: "checkpoint", category: "c", summary: "next day", instance_id: "a1" })]);
  assert.match(await v.until(/next day/), /^2026-01-17 09:00:05\.000 {2}a1 +transcript:entry {2}checkpoint: next day$/m);
});

const WIDE: TailViewProps = {
  header: { executionId: "exec-20261120-0934", status: "running", elapsedMs: 7_925_000, toolCalls: 12_345, errors: 321, passRate: 0.9512, tokens: 1_800_763, costUsd: 5.0999 },
  waves: [{ waveNumber: 4, status: "running", total: 14, completed: 11, failed: 1, running: 2 }],
  agents: [
    { instanceId: "agent-103-19-subagent", status: "working", taskId: "task-103-19", sinceHeartbeatMs: 550_000, silent: true },
    { instanceId: "agent-103-02", status: "idle", taskId: null, sinceHeartbeatMs: 1_500, silent: false },
  ],
  lines: [{ key: 1, event: { type: "tool:end", timestamp: "2026-11-20T09:37:23.500Z", executionId: "e", toolUseId: "tu-103-13-012", tool: "Bash", resultStatus: "error", durationMs: 4_612, isError: true, instanceId: "agent-103-13", errorMessage: "Error: connect ECONNREFUSED 127.0.0.1:5432 (test database not running)" } }],
  paused: false,
  pending: 0,
  errorsOnly: false,
  finished: null,
  width: 100,
};

for (const width of [60, 100]) {
  test(`at ${width} columns every line fits and no number is cut: header, waves, agents, SILENT, durations, the cost`, () => {
    const v = render(React.createElement(TailView, { ...WIDE, width }));
    const frame = v.lastFrame()!;
    v.unmount();
    for (const l of frame.split("\n")) assert.ok([...l].length <= width, `wider than ${width}: ${l}`);
    const text = frame.replace(/[│┌┐└┘─]/g, " ").replace(/\s+/g, " ");
    for (const whole of ["exec-20261120-0934", "elapsed 2h 12m", "tool calls 12,345", "errors 321", "pass rate 95.1%", "tokens 1,800,763", "cost $5.0999",
      "11/14 done, 1 failed, 2 running", "agent-103-19-subagent", "task-103-19", "last heartbeat 9m 10s ago", "SILENT", "last heartbeat 1.5s ago",
      "Bash error 4.6s", "127.0.0.1:5432", "agent-103-13", "tool:end"]) {
      assert.ok(text.includes(whole), `'${whole}' whole at ${width} columns:\n${frame}`);
    }
  });
}

/** The demo's exec-103 as it ends: two waves done, one with a failure, one still running with one. */
const DEMO_WAVES: TailViewProps["waves"] = [
  { waveNumber: 1, status: "completed", total: 5, completed: 5, failed: 0, running: 0 },
  { waveNumber: 2, status: "completed", total: 6, completed: 6, failed: 0, running: 0 },
  { waveNumber: 3, status: "failed", total: 5, completed: 4, failed: 1, running: 0 },
  { waveNumber: 4, status: "running", total: 4, completed: 2, failed: 1, running: 1 },
];

test("wave bars: one width for all that fits the line, and done, failed and running told apart without colour", () => {
  const bars = (width: number, color = false) => {
    const v = render(React.createElement(TailView, { ...WIDE, waves: DEMO_WAVES, width, color }));
    const frame = v.lastFrame()!;
    v.unmount();
    return frame;
  };
  const cellsOf = (frame: string) => frame.split("\n").filter((l) => /wave {1,2}\d/.test(l)).map((l) => /wave +\d+ ([█▓▒·]+) /.exec(l)![1]!);
  // At 100 columns there is room for 20 cells each. At 60 (56 inside the box), wave 4's line is
  // "wave  4 " + bar + "  2/4 done, 1 failed, 1 running  running": 8 + 2 + 29 + 9 = 48, so 8 cells.
  assert.deepEqual(cellsOf(bars(100)), ["█".repeat(20), "█".repeat(20), "█".repeat(16) + "▓".repeat(4), "█".repeat(10) + "▓".repeat(5) + "▒".repeat(5)]);
  const narrow = bars(60);
  // 4 of 5 done and 1 failed in 8 cells: 6.4 and 1.6, so 6 and 2; 2, 1 and 1 of 4: 4, 2 and 2.
  assert.deepEqual(cellsOf(narrow), ["█".repeat(8), "█".repeat(8), "██████▓▓", "████▓▓▒▒"]);
  for (const l of narrow.split("\n")) assert.ok([...l].length <= 60, `wider than 60: ${l}`);
  assert.match(narrow, /│ wave {2}4 ████▓▓▒▒ {2}2\/4 done, 1 failed, 1 running {2}running +│/, "the counts on the bar's line");
  assert.match(narrow, /█ done {2}▓ failed {2}▒ running {2}· not started/, "what the characters mean");
  // In colour each part has its own: done green, failed red, running yellow — not the whole bar red.
  // (ink leaves out a colour's end where the next colour begins.)
  const coloured = bars(60, true).replace(/\x1b\[39m(?=\x1b\[3\dm)/g, "");
  assert.match(coloured, /wave {2}4 \x1b\[22m\x1b\[32m████\x1b\[31m▓▓\x1b\[33m▒▒\x1b\[39m/, "wave 4 in its parts' colours");
  assert.match(coloured, /wave {2}3 \x1b\[22m\x1b\[32m██████\x1b\[31m▓▓\x1b\[39m/, "wave 3 in its parts' colours");
  // A wave with nothing but done and not started needs no legend.
  const plain = render(React.createElement(TailView, { ...WIDE, waves: [{ waveNumber: 1, status: "running", total: 4, completed: 1, failed: 0, running: 0 }], width: 60 }));
  assert.match(plain.lastFrame()!, /wave {2}1 █████···············  1\/4 done  running/);
  assert.doesNotMatch(plain.lastFrame()!, /not started/);
  plain.unmount();
});

/** Why tmux (the terminal these tests read the screen of) cannot run here, or null. */
function noTmux(): string | null {
  const r = spawnSync("tmux", ["-V"], { encoding: "utf8" });
  return r.status === 0 ? null : "these tests read a real terminal's screen with tmux (apt-get install tmux)";
}
function needTmux(t: { skip: (why: string) => void }): boolean {
  const why = noTmux();
  if (!why) return true;
  if (process.env.CI && !/^(0|false)$/i.test(process.env.CI)) assert.fail(`${why}; on CI it fails rather than skips`);
  t.skip(why);
  return false;
}

/** obs tail in a tmux pane of its own server (a private socket), whose screen the test reads. */
function inTmux(args: string[], env: Record<string, string>, width = 100, height = 30) {
  const sock = `obs-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const tmux = (...a: string[]) => spawnSync("tmux", ["-L", sock, ...a], { encoding: "utf8" });
  // A clean environment: no CI (ink draws differently there), the terminal's own size (no COLUMNS).
  const cmd = ["env", "-i", `PATH=${process.env.PATH}`, `HOME=${process.env.HOME}`, "TERM=xterm-256color", "TZ=UTC", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, BIN, ...args];
  const started = tmux("new-session", "-d", "-s", "t", "-x", String(width), "-y", String(height), "--", ...cmd);
  assert.equal(started.status, 0, started.stderr);
  tmux("set-option", "-t", "t", "remain-on-exit", "on");
  const screen = (escapes = false) => tmux("capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", "t").stdout;
  return {
    screen,
    resize: (w: number) => assert.equal(tmux("resize-window", "-t", "t", "-x", String(w), "-y", String(height)).status, 0),
    keys: (k: string) => tmux("send-keys", "-t", "t", k),
    async until(re: RegExp, deadlineMs = 15_000): Promise<string> {
      for (const end = Date.now() + deadlineMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (re.test(screen())) return screen();
      assert.fail(`the screen never showed ${re}:\n${screen()}`);
    },
    close: () => tmux("kill-server"),
  };
}

/** The box on a screen: every line of it intact at `width`, and no piece of another box left anywhere. */
function assertOneBox(screen: string, width: number) {
  const lines = screen.split("\n").filter((l) => l.trim() !== "");
  for (const l of lines) assert.ok([...l.trimEnd()].length <= width, `wider than ${width}: '${l}'\n${screen}`);
  const tops = lines.filter((l) => l.includes("┌"));
  const bottoms = lines.filter((l) => l.includes("└"));
  assert.deepEqual([tops.length, bottoms.length], [1, 1], `one box:\n${screen}`);
  assert.equal(tops[0]!.trimEnd(), `┌${"─".repeat(width - 2)}┐`, `the top at ${width}:\n${screen}`);
  assert.equal(bottoms[0]!.trimEnd(), `└${"─".repeat(width - 2)}┘`, `the bottom at ${width}:\n${screen}`);
  const inside = lines.slice(lines.indexOf(tops[0]!) + 1, lines.indexOf(bottoms[0]!));
  for (const l of inside) assert.match(l.trimEnd(), new RegExp(`^│.{${width - 2}}│$`, "u"), `a side of the box:\n${screen}`);
  for (const l of lines.slice(0, lines.indexOf(tops[0]!))) assert.doesNotMatch(l, /[│┌┐└┘]/, `a piece of an old box above:\n${screen}`);
}

test("resizing the terminal redraws the view at the new width, narrower and wider, with no half-box left", async (t) => {
  if (!needTmux(t)) return;
  const db = await dbWith([...running, E(400, "execution:status", { status: "failed" })]);
  const term = inTmux(["tail", "e", "--db", db], { NO_COLOR: "1" });
  t.after(() => term.close());
  assertOneBox(await term.until(/q quit/), 100);
  term.resize(60);
  assertOneBox(await term.until(/^┌─{58}┐/m), 60);
  assert.match(term.screen(), /last heartbeat 6m 39s ago {2}SILENT/);
  term.resize(100);
  assertOneBox(await term.until(/^┌─{98}┐/m), 100);
  term.keys("q");
});

test("NO_COLOR: the view draws without one colour or style sequence; without it, in colour", async (t) => {
  if (!needTmux(t)) return;
  const db = await dbWith([...running, E(400, "execution:status", { status: "failed" })]);
  const sgr = /\x1b\[[0-9;]*m/g;
  for (const [env, coloured] of [[{ NO_COLOR: "1" }, false], [{}, true]] as const) {
    const term = inTmux(["tail", "e", "--db", db], env);
    try {
      await term.until(/q quit/);
      const n = (term.screen(true).match(sgr) ?? []).length;
      if (coloured) assert.ok(n > 5, `in colour: ${n} sequences`);
      else assert.equal(n, 0, `NO_COLOR: ${JSON.stringify(term.screen(true).match(sgr))}`);
    } finally {
      term.close();
    }
  }
});

test("in a terminal, pause and resume leave the screen whole: nothing drawn twice, nothing lost, no blank block", async (t) => {
  if (!needTmux(t)) return;
  // More of the feed than the screen holds, so a box that grew would scroll lines away.
  const db = await dbWith([...running, ...range(1, 40).map((n) => step(n))]);
  const term = inTmux(["tail", "e", "--last", "30", "--db", db], { NO_COLOR: "1", OBS_NOW: at(60) });
  t.after(() => term.close());
  const footer = (s: string) => s.replace(/^│ (following|PAUSED).*│$/m, "│ the footer │");
  const first = await term.until(/following {2}· {2}p pause/);
  assert.deepEqual(steps(first).slice(-3), [38, 39, 40]);
  term.keys("p");
  assert.equal(footer(await term.until(/PAUSED \(0 new\)/)), footer(first), "paused, the screen is as it was");
  await ingest(db, [step(41, 50), step(42, 51)]);
  assert.equal(footer(await term.until(/PAUSED \(2 new\)/)), footer(first), "new events are counted, not drawn");
  term.keys("p");
  const resumed = await term.until(/step 42[\s\S]*following/);
  assertOneBox(resumed, 100);
  const shown = steps(resumed);
  assert.deepEqual(shown, range(shown[0]!, 42), `the lines that were on the screen and those that came, once each, in order:\n${resumed}`);
  assert.equal(shown[0], steps(first)[0]! + 2, "two lines came, so two scrolled away: no more");
  const rows = resumed.split("\n");
  const bottom = rows.findIndex((l) => l.startsWith("└"));
  assert.ok(rows.slice(bottom + 1).every((l) => l.trim() === "") && bottom >= rows.length - 3, `the box at the bottom, no blank block above it:\n${resumed}`);
  assert.ok(rows.slice(0, bottom).every((l) => l.trim() !== ""), `no blank line in the screen:\n${resumed}`);
  term.keys("q");
});

/** A small finished run: agent a1's tool call, skill and assertion, agent a2's tool call. */
const byAgents = [
  E(0, "execution:status", { status: "started" }),
  E(1, "tool:start", { tool_use_id: "tu1", tool: "Read", input: { file_path: "a.ts" }, instance_id: "a1", task_id: "t1" }),
  E(2, "tool:end", { tool_use_id: "tu1", is_error: false }),
  E(3, "skill:start", { skill_trace_id: "s1", skill_name: "gen", skill_file: "S.md", line_number: 1, section_title: "x", instance_id: "a1", task_id: "t1" }),
  E(4, "skill:end", { skill_trace_id: "s1", status: "success" }),
  E(5, "assertion:result", { assertion_id: "r1", task_id: "t1", category: "tests_pass", description: "tests pass", result: "pass", instance_id: "a1" }),
  E(6, "tool:start", { tool_use_id: "tu2", tool: "Bash", input: { command: "ls" }, instance_id: "a2", task_id: "t2" }),
  E(7, "tool:end", { tool_use_id: "tu2", is_error: false }),
  E(8, "execution:status", { status: "completed" }),
];

test("every event shows and filters by its agent: tool:end, skills and assertions too", async () => {
  const db = await dbWith(byAgents);
  const r = spawnCli(["tail", "e", "--agent", "a1", "--ndjson", "--last", "50", "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  const events = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { type: string; instanceId?: string; entry?: { instanceId: string } });
  assert.deepEqual(events.filter((e) => e.type !== "transcript:entry").map((e) => `${e.type} ${e.instanceId}`), [
    "tool:start a1", "tool:end a1", "skill:start a1", "skill:end a1", "assertion:result a1",
  ]);
  assert.ok(events.filter((e) => e.type === "transcript:entry").every((e) => e.entry!.instanceId === "a1"));
  const plain = spawnCli(["tail", "e", "--last", "50", "--db", db]);
  assert.match(plain.stdout, /^09:00:02\.000 {2}a1 +tool:end +Read done 1\.0s$/m);
  assert.match(plain.stdout, /^09:00:07\.000 {2}a2 +tool:end +Bash done 1\.0s$/m);
  assert.match(plain.stdout, /^09:00:04\.000 {2}a1 +skill:end +skill gen success 1\.0s$/m);
});

test("filters apply before the backlog is taken: --type tool:end --last 5 starts with the last 5 calls' ends", async () => {
  const calls = Array.from({ length: 30 }, (_, i) => [
    E(1 + 2 * i, "tool:start", { tool_use_id: `tu${i + 1}`, tool: "Read", input: { file_path: `f${i + 1}.ts` }, instance_id: "a1" }),
    E(2 + 2 * i, "tool:end", { tool_use_id: `tu${i + 1}`, is_error: false }),
  ]).flat();
  const beats = Array.from({ length: 40 }, (_, i) => E(100 + i, "agent:heartbeat", { instance_id: "a1", status: "working" }));
  const db = await dbWith([E(0, "execution:status", { status: "started" }), ...calls, ...beats, E(200, "execution:status", { status: "completed" })]);
  const r = spawnCli(["tail", "e", "--type", "tool:end", "--last", "5", "--ndjson", "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split("\n").map((l) => JSON.parse(l).toolUseId), ["tu26", "tu27", "tu28", "tu29", "tu30"]);
  const agent = spawnCli(["tail", "e", "--agent", "a1", "--type", "tool:start", "--last", "3", "--db", db]);
  assert.deepEqual(agent.stdout.trim().split("\n").map((l) => /Read (f\d+\.ts)/.exec(l)?.[1]), ["f28.ts", "f29.ts", "f30.ts"]);
});

test("in a pipe, tail ends once the run is over (exit 0), unless --follow; an unknown agent is refused with the closest", async (t) => {
  const db = await dbWith(byAgents);
  const r = spawnCli(["tail", "e", "--last", "2", "--db", db]);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim().split("\n").length, 2);
  assert.match(r.stderr, /^obs: e completed — the run is over \(--follow keeps following\)$/m);
  // Its end not among the events shown (filtered out): over all the same.
  const typed = spawnCli(["tail", "e", "--type", "tool:start", "--db", db]);
  assert.equal(typed.code, 0);
  assert.match(typed.stderr, /e completed — the run is over/);

  const child = spawn(process.execPath, [BIN, "tail", "e", "--follow", "--last", "1", "--db", db], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  for (const end = Date.now() + 10_000; !out.includes("execution completed") && Date.now() < end; ) await new Promise((res) => setTimeout(res, 20));
  await ingest(db, [E(30, "tool:start", { tool_use_id: "late", tool: "Grep", input: { pattern: "TODO" } })]);
  for (const end = Date.now() + 10_000; !out.includes("Grep TODO") && Date.now() < end; ) await new Promise((res) => setTimeout(res, 20));
  assert.match(out, /tool:start +Grep TODO/, "--follow keeps following");
  child.kill("SIGINT");
  assert.equal(await new Promise((res) => child.on("exit", res)), 0);

  const nope = spawnCli(["tail", "e", "--agent", "a3", "--db", db]);
  assert.equal(nope.code, 2);
  assert.match(nope.stderr, /^obs: no agent 'a3' in e\n {2}closest in e: a1, a2$/m);
});

test("the feed's tool:end carries its call's agent even when the call was open as the feed attached", async () => {
  const db = await dbWith([E(0, "execution:status", { status: "started" }), E(1, "tool:start", { tool_use_id: "open", tool: "Bash", input: { command: "sleep 9" }, instance_id: "a9" })]);
  const feed = new ChangeFeed(db, { executionId: "e" });
  feed.skipToEnd();
  await ingest(db, [E(10, "tool:end", { tool_use_id: "open", is_error: false })]);
  const ends = feed.poll().filter((e) => e.type === "tool:end");
  feed.close();
  assert.deepEqual(ends.map((e) => [e.timestamp, (e as { instanceId?: string }).instanceId]), [[at(10), "a9"]]);
});
