/**
 * Other tools' real records at 60 and 100 columns: every line fits the terminal but one that is a
 * single id wider than it (an id is never cut), and the layouts that overflowed a user's trial —
 * a search hit's heading, usage's bar beside a stacked row, a run's heading — laid out by hand.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { cli, ROOT, spawnCli, tmpDir } from "./helpers.js";
import { displayWidth } from "../src/render/format.js";

const FIXTURES = path.join(ROOT, "test", "fixtures");
const CODEX = "019b7f94-51b4-7593-922e-ba12b5b73b52";
const STREAM = "a0122a74-998a-46ef-8793-308559460bb6";

let ingested: string | undefined;
function fixturesDb(): string {
  if (ingested) return ingested;
  const db = path.join(tmpDir(), "obs.db");
  const r = spawnCli(["ingest", ...["codex", "gemini-cli", "claude-code", "claude-stream-json"].map((d) => path.join(FIXTURES, d)), "--db", db]);
  assert.equal(r.code, 0, r.stderr);
  return (ingested = db);
}

/** The lines wider than `width` that are more than one unbreakable word (an id alone, under its indentation or tree lines). */
function overflowing(text: string, width: number): string[] {
  return text.split("\n").filter((l) => displayWidth(l) > width && /\S\s+\S/.test(l.replace(/^[\s│├└─┊]+/, "")));
}

test("other tools' records at 60 and 100 columns: no line wider than the terminal but an id alone", async () => {
  const db = fixturesDb();
  const commands = [
    "ls", "validate --all", `errors ${CODEX}`, `summary ${CODEX}`, `summary ${STREAM}`, `waves ${CODEX}`, "usage --by model", "usage --by day", "usage --by session",
    `trace --exec ${CODEX}`, `trace --exec ${STREAM}`, `trace ${CODEX} --tree`, `trace ${STREAM} --tree`, `show ${CODEX}`, `show ${STREAM}`, "search opencode", "search error",
  ];
  for (const width of [60, 100]) {
    for (const command of commands) {
      const r = spawnCli([...command.split(" "), "--db", db], { env: { COLUMNS: String(width) } });
      assert.ok(r.code === 0 || r.code === 1, `${command}: ${r.stderr}`);
      assert.deepEqual(overflowing(r.stdout, width), [], `${command} at ${width}`);
    }
    // Usage's bars are drawn on a terminal only (and the first column to go where there is no room).
    for (const by of ["session", "model", "day"]) {
      const r = await cli(["usage", "--by", by, "--db", db], { tty: true, columns: width });
      assert.equal(r.code, 0, r.stderr);
      if (by === "session" && width === 60) assert.match(r.stdout, /█/, `usage --by ${by} at ${width}: bars drawn`);
      assert.deepEqual(overflowing(r.stdout, width), [], `usage --by ${by} at ${width} on a terminal`);
    }
  }
});

test("obs search at 60 and 100 columns: a hit's execution, task, agent, time, tool and id, whole, on as many lines as they take", () => {
  const db = fixturesDb();
  const EXEC = "019e1625-789d-76c0-80ab-3724b5ddb799";
  const TASK = "019e162b-0011-7240-abbc-f7b732e49728";
  const AGENT = `${EXEC}/main`;
  const hit = (width: number) => {
    const out = spawnCli(["search", "opencode", "--limit", "40", "--db", db], { env: { COLUMNS: String(width) } }).stdout;
    const lines = out.split("\n");
    const end = lines.indexOf("  call_ZeTgRBLMsTlMdkTlQDYJJjNS");
    assert.ok(end > 0, out);
    return lines.slice(0, end + 1).slice(-5).join("\n");
  };
  // 36 + 2 + 36 columns is more than 60 and 100: the task goes on, and each field after it while
  // the line has room (at 60: 2 + 41 + 2 + 19 is 64; at 100, 2 + 41 + 2 + 19 + 2 + 16 + 2 + 29 is 113).
  assert.equal(hit(60), `${EXEC}\n  ${TASK}\n  ${AGENT}\n  2026-05-11 08:34:29  tool write_stdin\n  call_ZeTgRBLMsTlMdkTlQDYJJjNS`);
  assert.equal(hit(100).split("\n").slice(-3).join("\n"), `${EXEC}  ${TASK}\n  ${AGENT}  2026-05-11 08:34:29  tool write_stdin\n  call_ZeTgRBLMsTlMdkTlQDYJJjNS`);
});

test("usage on a 60-column terminal: a stacked row's bar goes under the value it has no room beside", async () => {
  const db = fixturesDb();
  const r = await cli(["usage", "--by", "session", "--db", db], { tty: true, columns: 60 });
  // The costliest session has the whole bar; " SESSION" padded to "MODEL CALLS" (11) and two spaces: 14 columns in.
  assert.match(r.stdout, /^ SESSION {6}fa812bfe-b295-4cca-9c2f-fdf01028cb46\n {14}█{12}\n INPUT /m);
  const wide = await cli(["usage", "--by", "session", "--db", db], { tty: true, columns: 100 });
  assert.doesNotMatch(wide.stdout, /^ {14}█/m, "at 100 the table is a table");
});

test("a run's heading breaks between the run's id and 'by agent', and a task's id too long for its label has it beneath", () => {
  const db = fixturesDb();
  const at = (width: number, ...args: string[]) => spawnCli([...args, "--db", db], { env: { COLUMNS: String(width) } }).stdout;
  // "Run <36> by agent (1 agent)" is 59 columns.
  assert.match(at(60, "trace", "--exec", CODEX), new RegExp(`^Run ${CODEX} by agent \\(1 agent\\)\n {2}completed {2}2026-01-02 16:39:45 · 13\\.5s\n`));
  assert.match(at(58, "trace", "--exec", CODEX), new RegExp(`^Run ${CODEX}\n {2}by agent \\(1 agent\\) {2}completed\n {2}2026-01-02 16:39:45 · 13\\.5s\n`));
  // The stream-json run's task id is 80 columns: alone on its line, its title on the next.
  const tree = at(60, "trace", STREAM, "--tree").split("\n");
  const i = tree.findIndex((l) => l.startsWith(`└─ ${STREAM}/run-`));
  assert.ok(i > 0, tree.join("\n"));
  assert.match(tree[i]!, /^└─ \S+$/);
  assert.ok(displayWidth(tree[i + 1]!) <= 60 && /\w/.test(tree[i + 1]!), tree[i + 1]);
  // summary's first line: the run, its task list and its status, each whole.
  assert.match(at(60, "summary", STREAM), new RegExp(`^${STREAM}\n {2}-Users-developer-Projects-Personal-laravel-claude-agents\n {2}completed\n`));
});
