import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { isoNow } from "./record.js";
import { newId, recorderOf, writeEntry, type TranscriptWriter } from "./transcript-writer.js";

/** Seed 000's assertion categories. */
export const AssertionCategory = {
  FILE_CREATED: "file_created",
  FILE_MODIFIED: "file_modified",
  FILE_DELETED: "file_deleted",
  TYPESCRIPT_COMPILES: "typescript_compiles",
  LINT_PASSES: "lint_passes",
  TESTS_PASS: "tests_pass",
  API_RESPONDS: "api_responds",
  SCHEMA_VALID: "schema_valid",
  DEPENDENCY_MET: "dependency_met",
  CUSTOM: "custom",
} as const;
export type AssertionCategory = (typeof AssertionCategory)[keyof typeof AssertionCategory];

export type AssertionOutcome = "pass" | "fail" | "skip" | "warn";
const OUTCOMES: readonly string[] = ["pass", "fail", "skip", "warn"];

/** What supports a result (seed 000's AssertionEvidence, plus the file's size and time and the command's directory). */
export interface AssertionEvidence {
  command?: string;
  exit_code?: number | null;
  stdout?: string;
  stderr?: string;
  file_path?: string;
  file_exists?: boolean;
  error_message?: string;
  cwd?: string;
  timed_out?: boolean;
  file_size?: number;
  file_modified_at?: string;
  [more: string]: unknown;
}

export interface AssertionResult {
  assertionId: string;
  taskId: string;
  chainId: string | null;
  category: string;
  description: string;
  result: AssertionOutcome;
  passed: boolean;
  evidence: AssertionEvidence;
  timestamp: string;
  durationMs: number;
}

export interface ChainResult {
  chainId: string;
  taskId: string;
  description: string;
  /** pass when no result failed, fail otherwise (skip and warn do not fail a chain). */
  overallResult: "pass" | "fail";
  passCount: number;
  failCount: number;
  skipCount: number;
  warnCount: number;
  firstFailureId: string | null;
  results: AssertionResult[];
  startedAt: string;
  completedAt: string;
  durationMs: number;
}

export interface AssertionRecorderOptions {
  /** Where commands run (default: the process's working directory). */
  cwd?: string;
  /** How long a command may run before it is stopped and the assertion fails (default 300 s). */
  timeoutMs?: number;
  /** stdout and stderr kept in the evidence, each (default 4000 characters, the end of the output). */
  outputChars?: number;
  /** The commands the pre-built assertions run; {file} and {pattern} are filled in, quoted. */
  commands?: { typescript?: string; lint?: string; tests?: string };
}

interface Chain {
  id: string;
  taskId: string;
  description: string;
  startedAt: string;
  results: AssertionResult[];
}

/** A value for a POSIX shell, in single quotes. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The end of an output, which is where compilers and test runners say what failed. */
function tail(text: string, max: number): string {
  if (text.length <= max) return text;
  let from = text.length - max + 1;
  const c = text.charCodeAt(from);
  if (c >= 0xdc00 && c <= 0xdfff) from++;
  return "…" + text.slice(from);
}

interface RunResult {
  exit_code: number | null;
  stdout: string;
  stderr: string;
  timed_out: boolean;
  error_message?: string;
}

/** Runs a shell command in its own process group, so a timeout stops everything it started. */
function runCommand(command: string, cwd: string, timeoutMs: number, keep: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const cap = Math.max(keep * 4, 64 * 1024);
    let out = "";
    let err = "";
    let timedOut = false;
    let child;
    try {
      child = spawn(command, { cwd, shell: true, detached: process.platform !== "win32", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      resolve({ exit_code: null, stdout: "", stderr: "", timed_out: false, error_message: (e as Error).message });
      return;
    }
    const grow = (acc: string, chunk: Buffer) => {
      const next = acc + chunk.toString("utf8");
      return next.length > cap ? next.slice(next.length - cap) : next;
    };
    child.stdout!.on("data", (d: Buffer) => (out = grow(out, d)));
    child.stderr!.on("data", (d: Buffer) => (err = grow(err, d)));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ exit_code: null, stdout: tail(out, keep), stderr: tail(err, keep), timed_out: false, error_message: e.message });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({
        exit_code: timedOut ? null : code,
        stdout: tail(out, keep),
        stderr: tail(err, keep),
        timed_out: timedOut,
        ...(timedOut ? { error_message: `timed out after ${timeoutMs} ms; stopped` } : {}),
      });
    });
  });
}

function fileFacts(p: string): Pick<AssertionEvidence, "file_exists" | "file_size" | "file_modified_at"> & { mtimeMs?: number } {
  try {
    const st = fs.statSync(p);
    return { file_exists: true, file_size: st.size, file_modified_at: st.mtime.toISOString(), mtimeMs: st.mtimeMs };
  } catch {
    return { file_exists: false };
  }
}

/**
 * Records test assertions with their evidence (seed 000's AssertionRecorder): chains with their
 * pass and fail counts and first failure, a result row and an `assertion` entry for each. The
 * pre-built assertions do what they say: assertTypescriptCompiles runs `tsc --noEmit` in the
 * working directory, assertFileCreated looks at the file, each command under a timeout.
 */
export class AssertionRecorder {
  private readonly chains = new Map<string, Chain>();
  private readonly open: Chain[] = [];
  private readonly createdAt = Date.now();
  readonly cwd: string;
  readonly timeoutMs: number;
  readonly outputChars: number;
  private readonly commands: Required<NonNullable<AssertionRecorderOptions["commands"]>>;

  constructor(
    readonly writer: TranscriptWriter,
    readonly executionId: string = writer.executionId,
    opts: AssertionRecorderOptions = {},
  ) {
    recorderOf(writer); // a TranscriptWriter, or a TypeError now rather than at the first call
    if (executionId !== writer.executionId) {
      throw new RangeError(`the recorder's execution (${executionId}) is not its writer's (${writer.executionId})`);
    }
    this.cwd = opts.cwd ?? process.cwd();
    this.timeoutMs = opts.timeoutMs ?? 300_000;
    this.outputChars = opts.outputChars ?? 4000;
    this.commands = {
      typescript: opts.commands?.typescript ?? "tsc --noEmit",
      lint: opts.commands?.lint ?? "eslint {file}",
      tests: opts.commands?.tests ?? "npm test -- {pattern}",
    };
  }

  private checkTask(taskId: string): void {
    if (typeof taskId !== "string" || taskId === "") throw new TypeError("taskId must be a non-empty string");
  }

  startChain(taskId: string, description: string): string {
    this.checkTask(taskId);
    const id = newId();
    const chain: Chain = { id, taskId, description: String(description ?? ""), startedAt: isoNow(), results: [] };
    recorderOf(this.writer).line("assertion:chain_start", { chain_id: id, description: chain.description }, { taskId, timestamp: chain.startedAt });
    this.chains.set(id, chain);
    this.open.push(chain);
    return id;
  }

  /** Ends a chain and returns its result, from the assertions recorded in it. */
  endChain(chainId: string): ChainResult {
    const chain = this.chains.get(chainId);
    const completedAt = isoNow();
    const i = this.open.findIndex((c) => c.id === chainId);
    if (i >= 0) this.open.splice(i, 1);
    recorderOf(this.writer).line("assertion:chain_end", { chain_id: chainId }, { taskId: chain?.taskId, timestamp: completedAt });
    const results = chain?.results ?? [];
    const count = (r: AssertionOutcome) => results.filter((x) => x.result === r).length;
    const firstFailure = [...results].filter((x) => x.result === "fail").sort((a, b) => (a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.assertionId < b.assertionId ? -1 : 1))[0];
    return {
      chainId,
      taskId: chain?.taskId ?? "",
      description: chain?.description ?? "",
      overallResult: count("fail") ? "fail" : "pass",
      passCount: count("pass"),
      failCount: count("fail"),
      skipCount: count("skip"),
      warnCount: count("warn"),
      firstFailureId: firstFailure?.assertionId ?? null,
      results: [...results],
      startedAt: chain?.startedAt ?? completedAt,
      completedAt,
      durationMs: chain ? Date.parse(completedAt) - Date.parse(chain.startedAt) : 0,
    };
  }

  /** The open chain an assertion of this task belongs to: its latest, else the latest of any task. */
  private chainFor(taskId: string): Chain | undefined {
    for (let i = this.open.length - 1; i >= 0; i--) if (this.open[i]!.taskId === taskId) return this.open[i];
    return this.open[this.open.length - 1];
  }

  /** Records a result the agent established itself. */
  recordResult(taskId: string, category: string, description: string, result: AssertionOutcome, evidence: AssertionEvidence = {}, durationMs = 0): AssertionResult {
    this.checkTask(taskId);
    if (!OUTCOMES.includes(result)) throw new RangeError(`result must be pass, fail, skip or warn, got ${String(result)}`);
    if (typeof category !== "string" || category === "") throw new TypeError("category must be a non-empty string");
    const chain = this.chainFor(taskId);
    const id = newId();
    const desc = String(description ?? "");
    const duration = Math.max(0, Math.round(durationMs));
    const entry = writeEntry(this.writer, {
      entryType: "assertion",
      category: "validation",
      summary: `${result.toUpperCase()} ${category}: ${desc}`,
      taskId,
      details: { assertion_id: id, chain_id: chain?.id ?? null, result, category },
      durationMs: duration,
    });
    recorderOf(this.writer).line(
      "assertion:result",
      {
        assertion_id: id, category, description: desc, result, ...(chain ? { chain_id: chain.id } : {}),
        evidence, duration_ms: duration, transcript_entry_id: entry.id,
      },
      { taskId, timestamp: entry.timestamp },
    );
    const r: AssertionResult = {
      assertionId: id, taskId, chainId: chain?.id ?? null, category, description: desc, result, passed: result === "pass",
      evidence, timestamp: entry.timestamp, durationMs: duration,
    };
    chain?.results.push(r);
    return r;
  }

  private resolve(p: string): string {
    return path.resolve(this.cwd, p);
  }

  async assertFileCreated(taskId: string, filePath: string): Promise<AssertionResult> {
    const t0 = Date.now();
    const { mtimeMs: _m, ...facts } = fileFacts(this.resolve(filePath));
    void _m;
    const evidence: AssertionEvidence = { file_path: filePath, ...facts, ...(facts.file_exists ? {} : { error_message: `${filePath} does not exist` }) };
    return this.recordResult(taskId, "file_created", `${filePath} exists`, facts.file_exists ? "pass" : "fail", evidence, Date.now() - t0);
  }

  /**
   * Whether a file was changed during the work being checked: it exists and was modified at or
   * after `since` — by default the start of the assertion's chain, else this recorder's creation.
   */
  async assertFileModified(taskId: string, filePath: string, opts: { since?: Date } = {}): Promise<AssertionResult> {
    const t0 = Date.now();
    const chain = this.chainFor(taskId);
    const sinceMs = opts.since?.getTime() ?? (chain ? Date.parse(chain.startedAt) : this.createdAt);
    const { mtimeMs, ...facts } = fileFacts(this.resolve(filePath));
    // File times can be coarser than milliseconds; a change within the same second counts.
    const ok = facts.file_exists && mtimeMs !== undefined && Math.floor(mtimeMs / 1000) >= Math.floor(sinceMs / 1000);
    const evidence: AssertionEvidence = {
      file_path: filePath, ...facts, since: new Date(sinceMs).toISOString(),
      ...(ok ? {} : { error_message: facts.file_exists ? `${filePath} was last modified ${facts.file_modified_at}, before ${new Date(sinceMs).toISOString()}` : `${filePath} does not exist` }),
    };
    return this.recordResult(taskId, "file_modified", `${filePath} was modified`, ok ? "pass" : "fail", evidence, Date.now() - t0);
  }

  async assertFileDeleted(taskId: string, filePath: string): Promise<AssertionResult> {
    const t0 = Date.now();
    const { mtimeMs: _m, ...facts } = fileFacts(this.resolve(filePath));
    void _m;
    const evidence: AssertionEvidence = { file_path: filePath, ...facts, ...(facts.file_exists ? { error_message: `${filePath} still exists` } : {}) };
    return this.recordResult(taskId, "file_deleted", `${filePath} is gone`, facts.file_exists ? "fail" : "pass", evidence, Date.now() - t0);
  }

  /** Runs a command; the assertion passes when it exits 0. */
  private async command(taskId: string, category: string, description: string, command: string, timeoutMs?: number): Promise<AssertionResult> {
    const t0 = Date.now();
    const r = await runCommand(command, this.cwd, timeoutMs ?? this.timeoutMs, this.outputChars);
    const evidence: AssertionEvidence = {
      command, cwd: this.cwd, exit_code: r.exit_code, stdout: r.stdout, stderr: r.stderr,
      ...(r.timed_out ? { timed_out: true } : {}),
      ...(r.error_message ? { error_message: r.error_message } : r.exit_code !== 0 ? { error_message: `exit code ${r.exit_code}` } : {}),
    };
    return this.recordResult(taskId, category, description, r.exit_code === 0 ? "pass" : "fail", evidence, Date.now() - t0);
  }

  /** A project's own binary (node_modules/.bin) before one on PATH. */
  private localBin(command: string): string {
    const [bin, ...rest] = command.split(" ");
    const local = path.join(this.cwd, "node_modules", ".bin", bin!);
    return fs.existsSync(local) ? [shellQuote(local), ...rest].join(" ") : command;
  }

  async assertTypescriptCompiles(taskId: string, opts: { timeoutMs?: number } = {}): Promise<AssertionResult> {
    return this.command(taskId, "typescript_compiles", "TypeScript compiles (tsc --noEmit)", this.localBin(this.commands.typescript), opts.timeoutMs);
  }

  async assertLintPasses(taskId: string, filePath?: string, opts: { timeoutMs?: number } = {}): Promise<AssertionResult> {
    const cmd = this.localBin(this.commands.lint.replace("{file}", shellQuote(filePath ?? ".")));
    return this.command(taskId, "lint_passes", `lint passes${filePath ? ` on ${filePath}` : ""}`, cmd, opts.timeoutMs);
  }

  async assertTestsPass(taskId: string, pattern?: string, opts: { timeoutMs?: number } = {}): Promise<AssertionResult> {
    const cmd = this.commands.tests.replace("{pattern}", pattern ? shellQuote(pattern) : "").trim().replace(/ --$/, "");
    return this.command(taskId, "tests_pass", `tests pass${pattern ? ` (${pattern})` : ""}`, cmd, opts.timeoutMs);
  }

  /** Runs any shell command in the working directory; passes when it exits 0. */
  async assertCustom(taskId: string, category: string, description: string, command: string, opts: { timeoutMs?: number } = {}): Promise<AssertionResult> {
    if (typeof command !== "string" || command.trim() === "") throw new TypeError("assertCustom() takes the command to run");
    return this.command(taskId, category, description, command, opts.timeoutMs);
  }

  /** An HTTP request; passes on the expected status (by default any 2xx). */
  async assertApiResponds(taskId: string, url: string, opts: { method?: string; expectedStatus?: number; timeoutMs?: number } = {}): Promise<AssertionResult> {
    const t0 = Date.now();
    const method = (opts.method ?? "GET").toUpperCase();
    const evidence: AssertionEvidence = { command: `${method} ${url}` };
    let ok = false;
    try {
      const res = await fetch(url, { method, signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000) });
      const body = await res.text();
      evidence.exit_code = res.status;
      evidence.stdout = tail(body, this.outputChars);
      ok = opts.expectedStatus !== undefined ? res.status === opts.expectedStatus : res.status >= 200 && res.status < 300;
      if (!ok) evidence.error_message = `status ${res.status}, expected ${opts.expectedStatus ?? "2xx"}`;
    } catch (e) {
      evidence.exit_code = null;
      evidence.error_message = (e as Error).message;
    }
    return this.recordResult(taskId, "api_responds", `${method} ${url} responds`, ok ? "pass" : "fail", evidence, Date.now() - t0);
  }

  /** A JSON file that parses and (optionally) has the given top-level keys. */
  async assertSchemaValid(taskId: string, filePath: string, requiredKeys: string[] = []): Promise<AssertionResult> {
    const t0 = Date.now();
    const evidence: AssertionEvidence = { file_path: filePath };
    let ok = false;
    try {
      const value = JSON.parse(fs.readFileSync(this.resolve(filePath), "utf8")) as unknown;
      evidence.file_exists = true;
      const missing = requiredKeys.filter((k) => !(value && typeof value === "object" && !Array.isArray(value) && k in (value as object)));
      ok = missing.length === 0;
      if (!ok) evidence.error_message = `missing keys: ${missing.join(", ")}`;
    } catch (e) {
      evidence.file_exists = fs.existsSync(this.resolve(filePath));
      evidence.error_message = (e as Error).message;
    }
    return this.recordResult(taskId, "schema_valid", `${filePath} is valid JSON${requiredKeys.length ? ` with ${requiredKeys.join(", ")}` : ""}`, ok ? "pass" : "fail", evidence, Date.now() - t0);
  }

  /** Whether a task this one depends on has completed, as the database records it. */
  async assertDependencyMet(taskId: string, dependsOnTaskId: string): Promise<AssertionResult> {
    const t0 = Date.now();
    const dbPath = this.writer.dbPath;
    const evidence: AssertionEvidence = { depends_on_task_id: dependsOnTaskId };
    let ok = false;
    let db;
    try {
      db = new Database(dbPath, { readonly: true, fileMustExist: true });
      const row = db.prepare(`SELECT status FROM tasks WHERE id = ?`).get(dependsOnTaskId) as { status: string | null } | undefined;
      evidence.status = row?.status ?? null;
      ok = row?.status === "completed";
      if (!ok) evidence.error_message = row ? `${dependsOnTaskId} is ${row.status ?? "without a status"}` : `no task ${dependsOnTaskId} in ${dbPath}`;
    } catch (e) {
      evidence.error_message = `cannot read ${dbPath}: ${(e as Error).message}`;
    } finally {
      db?.close();
    }
    return this.recordResult(taskId, "dependency_met", `dependency ${dependsOnTaskId} completed`, ok ? "pass" : "fail", evidence, Date.now() - t0);
  }
}
