import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ROOT, tmpDir } from "./helpers.js";

/**
 * obs as another project uses it: `import … from "obs"` resolves through package.json's exports
 * to the built library, with its types; a TypeScript consumer compiles against them, and a
 * Node one records a run and serves it.
 */

function consumer(): string {
  const dir = tmpDir("obs-consumer-");
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(ROOT, path.join(dir, "node_modules", "obs"), "dir");
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", type: "module", private: true }));
  return dir;
}

test("a TypeScript project compiles against the package's types", () => {
  const dir = consumer();
  fs.writeFileSync(path.join(dir, "agent.ts"), `
    import { TranscriptWriter, ToolUseLogger, SkillTracer, AssertionRecorder, TranscriptEntryType, ToolCategory, AssertionCategory,
             ObservabilityStreamService, attachObservabilityStream } from "obs";
    import type { ObservabilityEvent, ClientMessage, ToolUseEndEvent, ChainResult, SkillReference } from "obs";
    const w = new TranscriptWriter({ executionId: "e", instanceId: "a" });
    const id: string = w.write({ entryType: TranscriptEntryType.TASK_START, summary: "s", taskId: "t" });
    const tools = new ToolUseLogger(w);
    const call: string = tools.logStart({ id: "toolu_1", name: "Bash", input: {} }, { category: ToolCategory.SHELL });
    tools.logEnd(call, { content: "ok", is_error: false });
    const ref: SkillReference = { skillName: "x", skillFile: "x.md", lineNumber: 1, sectionTitle: "# x" };
    const tracer = new SkillTracer(w, tools);
    tracer.traceEnd(tracer.traceStart(ref), "success");
    const rec = new AssertionRecorder(w);
    const done: Promise<ChainResult> = rec.assertFileCreated("t", "x").then(() => rec.endChain(rec.startChain("t", "d")));
    const category: string = AssertionCategory.FILE_CREATED;
    const s = new ObservabilityStreamService();
    s.emitToolStart("e", "t1", "Bash", "ls");
    declare const server: import("node:http").Server;
    attachObservabilityStream(server, { stream: s });
    function onEvent(e: ObservabilityEvent): string {
      if (e.type === "tool:end") { const end: ToolUseEndEvent = e; return end.resultStatus; }
      return e.type;
    }
    const ping: ClientMessage = { type: "ping" };
    // @ts-expect-error: not a status the seed allows
    tracer.traceEnd("x", "done");
    void [id, done, category, onEvent, ping];
  `);
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
    compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, noEmit: true, skipLibCheck: true, typeRoots: [path.join(ROOT, "node_modules", "@types")], types: ["node"] },
    files: ["agent.ts"],
  }));
  const r = spawnSync(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test("a Node project imports the producers and the stream service from \"obs\" and records a run", () => {
  const dir = consumer();
  fs.writeFileSync(path.join(dir, "agent.mjs"), `
    import { TranscriptWriter, ToolUseLogger, ObservabilityStreamService, attachObservabilityStream } from "obs";
    const seen = [];
    const stream = new ObservabilityStreamService();
    stream.subscribe("e", (ev) => seen.push(ev.type));
    const w = new TranscriptWriter({ executionId: "e", instanceId: "a", stream });
    const tools = new ToolUseLogger(w);
    tools.logEnd(tools.logStart({ id: "toolu_1", name: "Read", input: { file_path: "x" } }), "ok");
    w.close();
    console.log(JSON.stringify({ seen, attach: typeof attachObservabilityStream }));
  `);
  const r = spawnSync(process.execPath, ["agent.mjs"], { cwd: dir, encoding: "utf8", env: { PATH: process.env.PATH } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { seen: ["execution:status", "transcript:entry", "tool:start", "tool:end"], attach: "function" });
  assert.ok(fs.existsSync(path.join(dir, "obs.db")), "the database is ./obs.db by default");
  assert.ok(fs.existsSync(path.join(dir, "transcripts", "e", "unified.jsonl")), "the JSONL goes to ./transcripts/{execution}/unified.jsonl");
});

test("the CLI does not load the library entry (nor, through it, the producers or the WebSocket server)", () => {
  const cli = fs.readFileSync(path.join(ROOT, "dist", "src", "cli.js"), "utf8");
  assert.doesNotMatch(cli, /from "\.\/index\.js"/);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  assert.equal(pkg.exports["."].types, "./dist/src/index.d.ts");
  assert.ok(fs.existsSync(path.join(ROOT, pkg.exports["."].types)), "npm run build writes the declarations");
});

test("reading a database loads neither the migrations nor the driver through ESM: obs ls loads what it reads with", () => {
  const dir = tmpDir("obs-loads-");
  const db = path.join(dir, "demo.db");
  assert.equal(spawnSync(process.execPath, [path.join(ROOT, "bin", "obs.js"), "demo", "--db", db], { encoding: "utf8" }).status, 0);
  // A loader hook sees every module the ESM loader loads, and how (CommonJS through ESM is lexed for its exports first).
  const hook = `data:text/javascript,${encodeURIComponent(
    `import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent("export async function load(u, c, n) { const r = await n(u, c); process.stderr.write('LOAD ' + r.format + ' ' + u + '\\\\n'); return r; }"));`,
  )}`;
  const r = spawnSync(process.execPath, ["--import", hook, path.join(ROOT, "bin", "obs.js"), "ls", "--db", db], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /exec-103/);
  const loaded = [...r.stderr.matchAll(/^LOAD (\S+) (\S+)$/gm)].map((m) => ({ format: m[1]!, url: m[2]! }));
  const dist = loaded.filter((l) => l.url.includes("/dist/src/")).map((l) => l.url.replace(/^.*\/dist\/src\//, ""));
  assert.ok(dist.includes("db/open.js") && dist.includes("commands/ls.js"), dist.join(" "));
  for (const never of ["db/migrations.js", "db/write.js", "db/search.js", "db/register.js", "ingest/ingest.js"]) assert.ok(!dist.includes(never), `obs ls loaded ${never}`);
  assert.deepEqual(loaded.filter((l) => l.format === "commonjs").map((l) => l.url), [], "CommonJS packages are required, not imported");
});
