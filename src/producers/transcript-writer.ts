import { randomUUID } from "node:crypto";
import type { ObservabilityStreamService } from "../live/stream.js";
import { Recorder, type RecorderOptions, type Stamp } from "./record.js";
import { streamBridge } from "./stream-bridge.js";
import { oneLine } from "./text.js";

/** Seed 000's entry types, and seed 001's `decision`. */
export const TranscriptEntryType = {
  PHASE_START: "phase_start",
  PHASE_END: "phase_end",
  TASK_START: "task_start",
  TASK_END: "task_end",
  TOOL_USE: "tool_use",
  SKILL_INVOKE: "skill_invoke",
  SKILL_COMPLETE: "skill_complete",
  DECISION: "decision",
  VALIDATION: "validation",
  ASSERTION: "assertion",
  DISCOVERY: "discovery",
  ERROR: "error",
  CHECKPOINT: "checkpoint",
  LOCK_ACQUIRE: "lock_acquire",
  LOCK_RELEASE: "lock_release",
} as const;
export type TranscriptEntryType = (typeof TranscriptEntryType)[keyof typeof TranscriptEntryType];

/** What an entry is about, for grouping; the category an entry gets when none is given follows its type. */
export const EntryCategory = {
  LIFECYCLE: "lifecycle",
  TOOL: "tool",
  SKILL: "skill",
  VALIDATION: "validation",
  DECISION: "decision",
  DISCOVERY: "discovery",
  ERROR: "error",
  COORDINATION: "coordination",
} as const;
export type EntryCategory = (typeof EntryCategory)[keyof typeof EntryCategory];

const CATEGORY_OF: Record<string, EntryCategory> = {
  phase_start: "lifecycle", phase_end: "lifecycle", task_start: "lifecycle", task_end: "lifecycle", checkpoint: "lifecycle",
  tool_use: "tool", skill_invoke: "skill", skill_complete: "skill", validation: "validation", assertion: "validation",
  decision: "decision", discovery: "discovery", error: "error", lock_acquire: "coordination", lock_release: "coordination",
};

/** The category an entry of this type gets when the caller names none. */
export function defaultCategory(entryType: string): string {
  return CATEGORY_OF[entryType] ?? "lifecycle";
}

export type ExecutionStatus = "started" | "running" | "paused" | "completed" | "failed";
export type TaskStatus = "pending" | "running" | "completed" | "failed" | "blocked" | "skipped";
const EXECUTION_STATUSES: readonly string[] = ["started", "running", "paused", "completed", "failed"];
const TASK_STATUSES: readonly string[] = ["pending", "running", "completed", "failed", "blocked", "skipped"];

/**
 * The status a task_end entry gives its task: its details' `status` when that is a task status,
 * failed when `details.success` is false, else completed.
 */
function endStatus(details: unknown): TaskStatus {
  const d = details && typeof details === "object" ? (details as Record<string, unknown>) : {};
  if (typeof d.status === "string" && TASK_STATUSES.includes(d.status)) return d.status as TaskStatus;
  return d.success === false ? "failed" : "completed";
}

export interface TranscriptEntryInput {
  entryType: TranscriptEntryType | (string & {});
  /** Defaults from the entry type (task_start → lifecycle, error → error, …). */
  category?: EntryCategory | (string & {});
  /** One line; cut at 200 characters. */
  summary: string;
  taskId?: string;
  /** The writer's wave unless given. */
  waveId?: string;
  waveNumber?: number;
  details?: unknown;
  durationMs?: number;
}

export interface TranscriptWriterOptions {
  executionId: string;
  /** The agent writing (build agent instance id). */
  instanceId: string;
  waveId?: string;
  /** Default $OBS_DB, else ./obs.db. */
  dbPath?: string;
  /** Where {executionId}/unified.jsonl goes; default $OBS_TRANSCRIPTS, else ./transcripts. */
  transcriptsDir?: string;
  /** How often buffered lines are written (default 1000 ms; 0 writes only on flush() and close()). */
  flushIntervalMs?: number;
  /** false: JSONL only, for `obs ingest` later. */
  database?: boolean;
  /** Where problems are said once (default stderr). */
  report?: (message: string) => void;
  /** A stream service to send every record to as it is made (for a server with its agents in-process). */
  stream?: ObservabilityStreamService;
}

/** The recorder behind a writer, for the other producers of this package (not exported from it). */
const recorders = new WeakMap<TranscriptWriter, Recorder>();
export function recorderOf(w: TranscriptWriter): Recorder {
  const r = recorders.get(w);
  if (!r) throw new TypeError("expected a TranscriptWriter");
  return r;
}

type LineListener = (line: Record<string, unknown>) => void;

function checkEntry(e: TranscriptEntryInput): void {
  if (!e || typeof e !== "object") throw new TypeError("write() takes an entry object");
  if (typeof e.entryType !== "string" || e.entryType === "") throw new TypeError("entry.entryType must be a non-empty string (a TranscriptEntryType)");
  if (typeof e.summary !== "string") throw new TypeError("entry.summary must be a string");
  if (e.category !== undefined && typeof e.category !== "string") throw new TypeError("entry.category must be a string");
  for (const k of ["taskId", "waveId"] as const) if (e[k] !== undefined && typeof e[k] !== "string") throw new TypeError(`entry.${k} must be a string`);
  for (const k of ["waveNumber", "durationMs"] as const) if (e[k] !== undefined && !Number.isInteger(e[k])) throw new TypeError(`entry.${k} must be an integer`);
  if (e.durationMs !== undefined && e.durationMs < 0) throw new RangeError("entry.durationMs must be >= 0");
}

/**
 * Writes an execution's transcript (seed 000's TranscriptWriter): each entry to
 * `transcripts/{executionId}/unified.jsonl` and to the database's transcript_entries, buffered and
 * written every flushIntervalMs, on flush() and on close(). Safe to use from several writers,
 * worker threads and processes on one execution at once: sequences stay distinct and gap-free.
 */
export class TranscriptWriter {
  readonly executionId: string;
  readonly instanceId: string;
  readonly waveId: string | undefined;

  constructor(opts: TranscriptWriterOptions) {
    const onLine: LineListener | undefined = opts.stream ? streamBridge(opts.stream) : undefined;
    const o: RecorderOptions = { ...opts, onLine };
    const r = new Recorder(o);
    recorders.set(this, r);
    this.executionId = r.executionId;
    this.instanceId = r.instanceId;
    this.waveId = r.waveId;
  }

  /** The JSONL file this writer appends to. */
  get jsonlPath(): string {
    return recorderOf(this).jsonlPath;
  }

  get dbPath(): string {
    return recorderOf(this).dbPath;
  }

  /** Writes an entry and returns its id. */
  write(entry: TranscriptEntryInput): string {
    checkEntry(entry);
    // task_start and task_end entries also say what became of their task.
    if (entry.taskId && entry.entryType === "task_start") {
      const d = entry.details && typeof entry.details === "object" ? (entry.details as Record<string, unknown>) : {};
      this.setTaskStatus(entry.taskId, "running", typeof d.title === "string" ? { title: d.title } : {});
    }
    const id = writeEntry(this, entry).id;
    if (entry.taskId && entry.entryType === "task_end") this.setTaskStatus(entry.taskId, endStatus(entry.details));
    return id;
  }

  /** Writes what is buffered to the JSONL and the database. */
  flush(): void {
    recorderOf(this).flush();
  }

  /** Records the execution's status (started, running, paused, completed, failed), with a message. */
  setExecutionStatus(status: ExecutionStatus, message?: string): void {
    if (!EXECUTION_STATUSES.includes(status)) throw new RangeError(`status must be one of ${EXECUTION_STATUSES.join(", ")}, got ${String(status)}`);
    recorderOf(this).line("execution:status", { status, ...(message !== undefined ? { message: String(message) } : {}) });
  }

  /** Records a task's status (pending, running, completed, failed, blocked, skipped), with its title. */
  setTaskStatus(taskId: string, status: TaskStatus, opts: { title?: string; displayId?: string; filePath?: string } = {}): void {
    if (typeof taskId !== "string" || taskId === "") throw new TypeError("taskId must be a non-empty string");
    if (!TASK_STATUSES.includes(status)) throw new RangeError(`status must be one of ${TASK_STATUSES.join(", ")}, got ${String(status)}`);
    recorderOf(this).line("task:status", {
      status,
      ...(opts.title !== undefined ? { title: String(opts.title) } : {}),
      ...(opts.displayId !== undefined ? { display_id: String(opts.displayId) } : {}),
      ...(opts.filePath !== undefined ? { file_path: String(opts.filePath) } : {}),
    }, { taskId });
  }

  /** Flushes and lets go of the files; the writer takes no more entries. */
  close(): void {
    recorderOf(this).close();
  }

  /** The execution's current sequence number: the highest any writer of it has given out. */
  getSequence(): number {
    return recorderOf(this).currentSequence();
  }
}

/** A new id (a UUID, as seed 000's interface says). */
export function newId(): string {
  return randomUUID();
}

/** Writes a transcript:entry line with a fresh id and sequence; the other producers make theirs here too. */
export function writeEntry(w: TranscriptWriter, e: TranscriptEntryInput, stamp?: Stamp): { id: string } & Stamp {
  const r = recorderOf(w);
  const s = stamp ?? r.stampEntry();
  const id = newId();
  r.line(
    "transcript:entry",
    {
      entry_id: id,
      sequence: s.sequence,
      entry_type: e.entryType,
      category: e.category ?? defaultCategory(e.entryType),
      summary: oneLine(e.summary),
      ...(e.waveNumber !== undefined ? { wave_number: e.waveNumber } : {}),
      ...(e.details !== undefined ? { details: e.details } : {}),
      ...(e.durationMs !== undefined ? { duration_ms: e.durationMs } : {}),
    },
    { taskId: e.taskId, waveId: e.waveId, timestamp: s.timestamp },
  );
  return { id, ...s };
}
