/**
 * A realistic demo: one task list ("build the auth service") run three times by build agents
 * in parallel waves. Generated as the event stream of events.md from a fixed seed, so it is
 * the same every time, and loaded through `ingest` like anyone's data.
 *
 * The third run carries the problems obs exists to find: an error cascade, a blocked command,
 * a silent agent, two agents editing one file, an unreleased lock, an assertion that passed
 * in the run before and now fails, and one search that took far longer than its kind. The second run is clean; the first lost two tasks.
 */

export interface DemoOptions {
  /** How many runs of the task list (the demo has 3; the bench asks for more). */
  runs?: number;
  /** First execution number: runs are exec-<n>, exec-<n+1>, … */
  firstRun?: number;
  /** When the first run starts (ms since epoch). */
  start?: number;
  /** Tool calls per task are multiplied by this (the bench uses it to make big runs). */
  scale?: number;
  /** Whether the last run carries the demo's planted problems. */
  problems?: boolean;
}

export interface DemoRun {
  executionId: string;
  lines: string[];
}

/** mulberry32: small, fast and the same on every machine. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TASK_LIST = "tl-auth-service";

interface TaskDef {
  n: number;
  title: string;
  file: string;
  action: "CREATE" | "UPDATE";
}

const TASKS: TaskDef[] = [
  { n: 1, title: "Create user model", file: "src/models/user.ts", action: "CREATE" },
  { n: 2, title: "Create password hashing util", file: "src/auth/hash.ts", action: "CREATE" },
  { n: 3, title: "Add database migration for users", file: "database/migrations/012_users.sql", action: "CREATE" },
  { n: 4, title: "Create config loader", file: "src/config/index.ts", action: "CREATE" },
  { n: 5, title: "Add logger module", file: "src/lib/logger.ts", action: "CREATE" },
  { n: 6, title: "Create user repository", file: "src/repos/user-repo.ts", action: "CREATE" },
  { n: 7, title: "Create session store", file: "src/auth/session.ts", action: "CREATE" },
  { n: 8, title: "Add JWT signing", file: "src/auth/jwt.ts", action: "CREATE" },
  { n: 9, title: "Add session expiry", file: "src/auth/session-expiry.ts", action: "CREATE" },
  { n: 10, title: "Add rate limiter", file: "src/middleware/rate-limit.ts", action: "CREATE" },
  { n: 11, title: "Create login endpoint", file: "src/routes/login.ts", action: "CREATE" },
  { n: 12, title: "Create logout endpoint", file: "src/routes/logout.ts", action: "CREATE" },
  { n: 13, title: "Create registration endpoint", file: "src/routes/register.ts", action: "CREATE" },
  { n: 14, title: "Add auth middleware", file: "src/middleware/auth.ts", action: "CREATE" },
  { n: 15, title: "Add password reset flow", file: "src/routes/reset.ts", action: "CREATE" },
  { n: 16, title: "Write login integration tests", file: "tests/login.test.ts", action: "CREATE" },
  { n: 17, title: "Write session tests", file: "tests/session.test.ts", action: "CREATE" },
  { n: 18, title: "Update API docs", file: "docs/api.md", action: "UPDATE" },
  { n: 19, title: "Wire routes into server", file: "src/server.ts", action: "UPDATE" },
  { n: 20, title: "Add audit logging", file: "src/lib/audit.ts", action: "UPDATE" },
];
/** Tasks per wave: 5, 6, 5, 4 — four waves of four to six agents at once. */
const WAVES = [
  [1, 2, 3, 4, 5],
  [6, 7, 8, 9, 10, 11],
  [12, 13, 14, 15, 16],
  [17, 18, 19, 20],
];

const SKILLS = [
  { name: "code-generation", file: "skills/code-generation.md", line: 12, section: "## Generate from spec" },
  { name: "validation", file: "skills/validation.md", line: 42, section: "## Validation" },
  { name: "refactor", file: "skills/refactor.md", line: 7, section: "## Safe refactor" },
];

const MODEL = "claude-sonnet-4-5";
// Per million tokens: input, output, cache read, cache write (the producer states its own cost).
const PRICE = { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 };

type Line = Record<string, unknown> & { timestamp: number };

/** The kinds of line that make a transcript entry (docs/events.md). */
const ENTRY_KINDS = new Set(["transcript:entry", "tool:start", "skill:start", "skill:end", "assertion:result"]);

class RunBuilder {
  readonly lines: Line[] = [];
  private n = 0;
  constructor(
    readonly exec: string,
    readonly rand: () => number,
  ) {}

  push(t: number, kind: string, fields: Record<string, unknown>): void {
    // The order key keeps lines of one timestamp in the order they were produced.
    this.lines.push({ kind, execution_id: this.exec, timestamp: t, _o: this.n++, ...fields });
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rand() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }
}

interface Problems {
  cascade: boolean;
  blocked: boolean;
  silentAgent: boolean;
  sharedEdit: boolean;
  unreleasedLock: boolean;
  regression: boolean;
  /** Tasks that simply fail (the first run's trouble). */
  failTasks: number[];
}

function buildRun(runIndex: number, execNum: number, start: number, scale: number, problems: Problems): DemoRun {
  const exec = `exec-${execNum}`;
  const b = new RunBuilder(exec, prng(0x0b5 + runIndex * 7919));
  const taskId = (n: number) => `task-${execNum}-${String(n).padStart(2, "0")}`;
  const waveId = (w: number) => `wave-${execNum}-${w}`;
  const agentId = (n: number) => `agent-${execNum}-${String(n).padStart(2, "0")}`;

  b.push(start, "execution:status", { status: "started", task_list_id: TASK_LIST, message: "Build the auth service (20 tasks, 4 waves)" });
  b.push(start + 5, "transcript:entry", { entry_type: "phase_start", category: "lifecycle", summary: "Phase: iterate (build tasks in waves)", details: { phase: "iterate" } });
  for (let w = 0; w < WAVES.length; w++) {
    for (const n of WAVES[w]!) {
      const t = TASKS[n - 1]!;
      const deps = w === 0 ? [] : WAVES[w - 1]!.filter((d) => (d + n) % 3 === 0 || d === WAVES[w - 1]![0]).map(taskId);
      b.push(start + 10, "task:status", {
        task_id: taskId(n), status: "pending", title: t.title, display_id: `T-${String(n).padStart(2, "0")}`,
        file_path: t.file, depends_on: deps,
      });
    }
  }

  let waveStart = start + 2_000;
  let runFailed = false;
  let busN = 0;
  for (let w = 0; w < WAVES.length; w++) {
    const wave = WAVES[w]!;
    const wid = waveId(w + 1);
    b.push(waveStart, "wave:status", { wave_id: wid, wave_number: w + 1, status: "running", task_ids: wave.map(taskId) });
    b.push(waveStart + 1, "messagebus:event", {
      event_id: `evt-${execNum}-${++busN}`, source: "orchestrator", event_type: "wave.started", severity: "info",
      category: "lifecycle", human_summary: `Wave ${w + 1} started with ${wave.length} agents`, correlation_id: `corr-${wid}`, wave_id: wid,
    });
    let waveEnd = waveStart;
    let waveFailed = false;
    for (const n of wave) {
      const res = buildTask(b, { execNum, n, w, wid, tid: taskId(n), agent: agentId(n), start: waveStart + b.int(200, 4_000), scale, problems, busN });
      busN = res.busN;
      waveEnd = Math.max(waveEnd, res.end);
      if (res.failed) waveFailed = true;
      if (res.silent) runFailed = true;
    }
    waveEnd += 1_500;
    const silentHere = problems.silentAgent && w === WAVES.length - 1;
    if (!silentHere) {
      b.push(waveEnd, "wave:status", { wave_id: wid, wave_number: w + 1, status: waveFailed ? "failed" : "completed" });
      b.push(waveEnd + 1, "messagebus:event", {
        event_id: `evt-${execNum}-${++busN}`, source: "orchestrator", event_type: "wave.completed",
        severity: waveFailed ? "warning" : "info", category: "lifecycle",
        human_summary: `Wave ${w + 1} ${waveFailed ? "finished with failures" : "completed"}`, correlation_id: `corr-${wid}`, wave_id: wid,
      });
    }
    waveStart = waveEnd + 3_000;
  }
  if (problems.silentAgent) {
    // The run is declared failed by the supervisor when the agent's lease expires.
    const end = waveStart + 8 * 60_000;
    b.push(end, "messagebus:event", {
      event_id: `evt-${execNum}-${++busN}`, source: "supervisor", event_type: "agent.unresponsive", severity: "critical",
      category: "health", human_summary: `${agentId(19)} sent no heartbeat for 8 minutes; run aborted`, correlation_id: `corr-${taskId(19)}`, task_id: taskId(19),
    });
    b.push(end + 10, "transcript:entry", { entry_type: "phase_end", category: "lifecycle", summary: "Phase: iterate aborted", details: { phase: "iterate", status: "aborted" } });
    b.push(end + 20, "execution:status", { status: "failed", message: `Aborted: ${agentId(19)} unresponsive` });
  } else {
    b.push(waveStart, "transcript:entry", { entry_type: "phase_end", category: "lifecycle", summary: "Phase: iterate complete", details: { phase: "iterate" } });
    const failed = problems.failTasks.length > 0 || runFailed;
    b.push(waveStart + 10, "execution:status", {
      status: "completed",
      message: failed ? `Completed with ${problems.failTasks.length} failed tasks` : "All 20 tasks completed",
    });
  }

  b.lines.sort((x, y) => x.timestamp - y.timestamp || (x._o as number) - (y._o as number));
  // As a producer does, each line that makes a transcript entry names it; the numbers follow
  // the order in which the entries take their sequence numbers.
  let entries = 0;
  const lines = b.lines.map((l) => {
    const { _o, timestamp, ...rest } = l;
    void _o;
    const { kind, execution_id, ...fields } = rest;
    const entry = ENTRY_KINDS.has(kind as string) ? { entry_id: `${exec}:${++entries}` } : {};
    return JSON.stringify({ kind, execution_id, timestamp: new Date(timestamp).toISOString(), ...fields, ...entry });
  });
  return { executionId: exec, lines };
}

interface TaskCtx {
  execNum: number;
  n: number;
  w: number;
  wid: string;
  tid: string;
  agent: string;
  start: number;
  scale: number;
  problems: Problems;
  busN: number;
}

function buildTask(b: RunBuilder, c: TaskCtx): { end: number; failed: boolean; silent: boolean; busN: number } {
  const t = TASKS[c.n - 1]!;
  const { tid, wid, agent, execNum } = c;
  const common = { task_id: tid, wave_id: wid, instance_id: agent, wave_number: c.w + 1 };
  let now = c.start;
  let busN = c.busN;
  let tu = 0;
  const tuId = () => `tu-${execNum}-${String(c.n).padStart(2, "0")}-${String(++tu).padStart(3, "0")}`;
  const silent = c.problems.silentAgent && c.n === 19;
  const failsOutright = c.problems.failTasks.includes(c.n);
  const cascade = c.problems.cascade && c.n === 13;
  const cascadeNeighbour = c.problems.cascade && c.n === 14;
  const regressed = c.problems.regression && c.n === 17;
  const slowGrep = c.problems.cascade && c.n === 5;
  const sharedEdit = c.problems.sharedEdit && (c.n === 7 || c.n === 9);
  const keepsLock = c.problems.unreleasedLock && c.n === 9;
  const blocked = c.problems.blocked && c.n === 15;

  const heartbeat = (status: string) =>
    b.push(now, "agent:heartbeat", { ...common, status, current_task_id: tid, metrics: { toolCalls: tu, memoryMb: b.int(180, 420), cpuPercent: b.int(5, 95) } });
  let lastBeat = now;
  const maybeBeat = () => {
    if (now - lastBeat >= 30_000) {
      lastBeat = now;
      heartbeat("working");
    }
  };
  const llm = (inTok: number, outTok: number) => {
    const cacheRead = Math.round(inTok * 0.6);
    const cacheWrite = b.int(0, 2_000);
    const cost = (inTok * PRICE.input + outTok * PRICE.output + cacheRead * PRICE.cacheRead + cacheWrite * PRICE.cacheWrite) / 1e6;
    const dur = b.int(1_500, 9_000);
    now += dur;
    b.push(now, "llm:call", {
      ...common, id: `llm-${execNum}-${c.n}-${tu}-${now % 100000}`, model: MODEL, provider: "anthropic", input_tokens: inTok, output_tokens: outTok,
      cache_read_tokens: cacheRead, cache_write_tokens: cacheWrite, cost_usd: Math.round(cost * 1e6) / 1e6, duration_ms: dur,
    });
  };
  const tool = (name: string, input: Record<string, unknown>, o: { ms?: number; error?: string; output?: string; skill?: string; blockedBy?: string; neverEnds?: boolean } = {}) => {
    const id = tuId();
    b.push(now, "tool:start", { ...common, tool_use_id: id, tool: name, input, ...(o.skill ? { within_skill: o.skill } : {}) });
    if (o.neverEnds) return id;
    if (o.blockedBy) {
      now += 15;
      b.push(now, "tool:blocked", { ...common, tool_use_id: id, reason: o.blockedBy });
      return id;
    }
    now += o.ms ?? b.int(40, 1_800);
    b.push(now, "tool:end", {
      ...common, tool_use_id: id, is_error: Boolean(o.error),
      output: o.error ?? o.output ?? (name === "Read" ? `(${b.int(20, 400)} lines)` : "ok"),
      ...(o.error ? { error_message: o.error } : {}),
    });
    now += b.int(50, 600);
    maybeBeat();
    return id;
  };
  const bus = (event_type: string, severity: string, summary: string, extra: Record<string, unknown> = {}) =>
    b.push(now, "messagebus:event", {
      task_id: tid, event_id: `evt-${execNum}-${++busN}`, source: agent, event_type, severity, category: "task",
      human_summary: summary, correlation_id: `corr-${tid}`, ...extra,
    });

  b.push(now, "agent:heartbeat", { ...common, status: "spawned", current_task_id: tid, metrics: { toolCalls: 0 } });
  now += b.int(100, 900);
  b.push(now, "task:status", { ...common, status: "running" });
  b.push(now, "transcript:entry", { ...common, entry_type: "task_start", category: "lifecycle", summary: `Starting ${`T-${String(c.n).padStart(2, "0")}`}: ${t.title}`, details: { title: t.title, file: t.file, action: t.action } });
  bus("task.started", "info", `${agent} started ${t.title}`);
  heartbeat("working");
  llm(b.int(4_000, 12_000), b.int(300, 1_200));

  // Prime: read around the target.
  const reads = Math.max(2, Math.round(b.int(3, 6) * c.scale));
  for (let i = 0; i < reads; i++) {
    const which = b.int(0, 2);
    if (which === 0) tool("Read", { file_path: b.pick(["src/index.ts", "package.json", "tsconfig.json", t.file.replace(/[^/]+$/, "index.ts"), "docs/spec.md", "src/types.ts"]) });
    else if (which === 1) tool("Grep", { pattern: b.pick(["export function", "TODO", "session", "userId", "import .* from"]), path: "src" });
    else tool("Glob", { pattern: b.pick(["src/**/*.ts", "tests/**/*.test.ts", "src/auth/*"]) });
  }
  if (slowGrep) {
    // A search that wandered into node_modules: one call far slower than Grep usually is.
    tool("Grep", { pattern: "createLogger", path: "." }, { ms: 41_000, output: "(3,112 matches)" });
  }
  if (c.n % 4 === 0 || c.n === 11) {
    tool("WebFetch", { url: b.pick(["https://datatracker.ietf.org/doc/html/rfc7519", "https://owasp.org/www-project-cheat-sheets/"]) }, { ms: b.int(800, 3_000) });
  }
  b.push(now, "transcript:entry", {
    ...common, entry_type: "decision", category: "planning",
    summary: `Chose ${c.n % 2 ? "a pure function module" : "a class with injected deps"} for ${t.file}`,
    details: {
      options: ["pure function module", "class with injected deps", "extend existing module"],
      chosen: c.n % 2 ? "pure function module" : "class with injected deps",
      reason: c.n % 2 ? "no state to hold; easiest to test" : "needs the repository and clock injected for tests",
    },
  });
  llm(b.int(8_000, 20_000), b.int(1_500, 4_000));

  // Iterate: write the file under its lock, in a skill.
  const gen = SKILLS[0]!;
  const genId = `sk-${execNum}-${c.n}-gen`;
  b.push(now, "skill:start", { ...common, skill_trace_id: genId, skill_name: gen.name, skill_file: gen.file, line_number: gen.line, section_title: gen.section });
  now += 20;
  const lockFile = sharedEdit ? "src/auth/session.ts" : t.file;
  if (sharedEdit && c.n === 7) {
    // T-07 wants the file T-09 holds and waits its turn.
    b.push(now, "transcript:entry", { ...common, entry_type: "lock_acquire", category: "coordination", summary: `Waiting for lock on ${lockFile}`, details: { file_path: lockFile, state: "waiting", held_by: `agent-${execNum}-09` } });
    now += 4_000;
  }
  b.push(now, "transcript:entry", { ...common, entry_type: "lock_acquire", category: "coordination", summary: `Lock acquired on ${lockFile}`, details: { file_path: lockFile, state: "acquired" } });
  tool(t.action === "CREATE" ? "Write" : "Edit", { file_path: t.file, ...(t.action === "CREATE" ? { content: `// ${t.title}\n…` } : { old_string: "…", new_string: "…" }) }, { skill: genId });
  const edits = Math.max(1, Math.round(b.int(2, 4) * c.scale));
  // Each edit changes something else (the same edit again and again would be a loop, D007).
  for (let i = 0; i < edits; i++) tool("Edit", { file_path: sharedEdit ? "src/auth/session.ts" : t.file, old_string: `/* draft ${i} */`, new_string: `/* draft ${i + 1} */` }, { skill: genId });
  if (!keepsLock) {
    b.push(now, "transcript:entry", { ...common, entry_type: "lock_release", category: "coordination", summary: `Lock released on ${lockFile}`, details: { file_path: lockFile } });
  }
  now += 30;
  b.push(now, "skill:end", { ...common, skill_trace_id: genId, status: "success" });
  llm(b.int(10_000, 25_000), b.int(800, 2_500));

  if (silent) {
    // The agent starts its checks and is never heard from again.
    b.push(now, "assertion:chain_start", { ...common, chain_id: `ch-${execNum}-${c.n}`, description: `Validate ${t.action} ${t.file}` });
    b.push(now + 5, "assertion:result", { ...common, assertion_id: `as-${execNum}-${c.n}-1`, chain_id: `ch-${execNum}-${c.n}`, category: "file_modified", description: `${t.file} modified`, result: "pass", evidence: { file_path: t.file, file_exists: true }, duration_ms: 4 });
    now += 10;
    tool("Bash", { command: "npm run test:e2e -- --grep session" }, { neverEnds: true });
    return { end: now, failed: false, silent: true, busN };
  }

  if (blocked) {
    tool("Bash", { command: "rm -rf node_modules/.cache ../shared/fixtures" }, { blockedBy: "Security policy: rm -rf outside the workspace is not allowed" });
    b.push(now, "transcript:entry", { ...common, entry_type: "discovery", category: "learning", summary: "Cache clean was blocked; cleared node_modules/.cache only" });
    tool("Bash", { command: "rm -rf node_modules/.cache" }, { ms: 300 });
  }

  // Validate: a skill running the checks, then the assertion chain.
  const val = SKILLS[1]!;
  const valId = `sk-${execNum}-${c.n}-val`;
  b.push(now, "skill:start", { ...common, skill_trace_id: valId, skill_name: val.name, skill_file: val.file, line_number: val.line, section_title: val.section });
  now += 15;
  tool("Bash", { command: "npx tsc --noEmit" }, { ms: b.int(3_000, 9_000), skill: valId, output: "" });
  let testsFail = failsOutright || cascade || regressed;
  const testCmd = `npx vitest run ${t.file.replace(/^src\//, "tests/").replace(/\.ts$/, ".test.ts")}`;
  const testError = cascade
    ? "Error: connect ECONNREFUSED 127.0.0.1:5432 (test database not running)"
    : regressed
      ? "AssertionError: expected session to be refreshed before expiry (got 'expired')"
      : "FAIL  1 test failed: expected token to be defined";
  tool("Bash", { command: testCmd }, { ms: b.int(4_000, 20_000), skill: valId, ...(testsFail ? { error: testError } : { output: `✓ ${b.int(3, 14)} tests passed` }) });
  if (cascade) {
    // The root cause: the test database is down, and everything after it fails within a minute.
    b.push(now, "transcript:entry", { ...common, entry_type: "error", category: "failure", summary: "Test database refused connections on 127.0.0.1:5432", details: { error: testError } });
    bus("task.error", "error", "Test DB unreachable (ECONNREFUSED 127.0.0.1:5432)");
    now += 4_000;
    tool("Bash", { command: testCmd }, { ms: 6_000, skill: valId, error: testError });
    now += 3_000;
    tool("Bash", { command: "npm run db:migrate" }, { ms: 2_500, skill: valId, error: "Error: connect ECONNREFUSED 127.0.0.1:5432" });
  }
  if (cascadeNeighbour) testsFail = false;
  now += 20;
  b.push(now, "skill:end", { ...common, skill_trace_id: valId, status: testsFail ? "failed" : "success", ...(testsFail ? { error: testError } : {}) });

  const chain = `ch-${execNum}-${c.n}`;
  b.push(now, "assertion:chain_start", { ...common, chain_id: chain, description: `Validate ${t.action} ${t.file}` });
  const assertions: [string, string, boolean, Record<string, unknown>][] = [
    [t.action === "CREATE" ? "file_created" : "file_modified", `${t.file} ${t.action === "CREATE" ? "created" : "modified"}`, true, { file_path: t.file, file_exists: true }],
    ["typescript_compiles", "TypeScript compiles", true, { command: "npx tsc --noEmit", exit_code: 0, stderr: "" }],
    ["lint_passes", `lint passes for ${t.file}`, !(failsOutright && c.n % 2 === 0), { command: `npx eslint ${t.file}`, exit_code: failsOutright && c.n % 2 === 0 ? 1 : 0, stderr: failsOutright && c.n % 2 === 0 ? `${t.file}:14:7  error  'token' is assigned a value but never used` : "" }],
    ["tests_pass", `tests pass for ${t.title.toLowerCase()}`, !testsFail, { command: testCmd, exit_code: testsFail ? 1 : 0, stderr: testsFail ? testError : "" }],
  ];
  let ai = 0;
  let anyFail = false;
  for (const [category, description, pass, evidence] of assertions) {
    now += b.int(20, 400);
    anyFail ||= !pass;
    b.push(now, "assertion:result", { ...common, assertion_id: `as-${execNum}-${c.n}-${++ai}`, chain_id: chain, category, description, result: pass ? "pass" : "fail", evidence, duration_ms: b.int(5, 300) });
  }
  now += 10;
  b.push(now, "assertion:chain_end", { ...common, chain_id: chain });

  if (cascade) {
    now += 2_000;
    b.push(now, "transcript:entry", { ...common, entry_type: "error", category: "failure", summary: "T-13 failed: registration tests could not reach the test database" });
    bus("task.failed", "error", `T-13 failed: ${testError}`);
  }
  const failed = anyFail;
  if (cascadeNeighbour) {
    // Its own retry of the suite hits the same dead database, then succeeds once it is back.
    tool("Bash", { command: "npx vitest run tests/middleware/auth.test.ts" }, { ms: 5_000, error: "Error: connect ECONNREFUSED 127.0.0.1:5432" });
  }
  llm(b.int(6_000, 15_000), b.int(200, 900));
  now += b.int(200, 1_000);
  b.push(now, "task:status", { ...common, status: failed ? "failed" : "completed" });
  b.push(now, "transcript:entry", { ...common, entry_type: "task_end", category: "lifecycle", summary: `${failed ? "Failed" : "Completed"} T-${String(c.n).padStart(2, "0")}: ${t.title}`, duration_ms: now - c.start });
  bus(failed ? "task.failed" : "task.completed", failed ? "error" : "info", `${agent} ${failed ? "failed" : "completed"} ${t.title}`);
  now += 50;
  b.push(now, "agent:heartbeat", { ...common, status: failed ? "failed" : "completed", current_task_id: tid, metrics: { toolCalls: tu } });
  return { end: now, failed, silent: false, busN };
}

const DAY = 86_400_000;
/** 2026-11-18T09:00:00Z: the demo's runs are on three consecutive mornings. */
const DEMO_START = Date.UTC(2026, 10, 18, 9, 0, 0);

export function generateDemo(opts: DemoOptions = {}): DemoRun[] {
  const runs = opts.runs ?? 3;
  const first = opts.firstRun ?? 101;
  const start = opts.start ?? DEMO_START;
  const out: DemoRun[] = [];
  for (let i = 0; i < runs; i++) {
    const last = i === runs - 1;
    const problems: Problems = {
      cascade: last && opts.problems !== false,
      blocked: last && opts.problems !== false,
      silentAgent: last && opts.problems !== false,
      sharedEdit: last && opts.problems !== false,
      unreleasedLock: last && opts.problems !== false,
      regression: last && opts.problems !== false,
      failTasks: i === 0 ? [6, 16] : [],
    };
    out.push(buildRun(i, first + i, start + i * DAY + (i % 3) * 17 * 60_000, opts.scale ?? 1, problems));
  }
  return out;
}
