import { recorderOf, writeEntry, newId, type TranscriptWriter } from "./transcript-writer.js";
import { activeSkillOf, type ToolUseLogger } from "./tool-use-logger.js";

/** Where a skill is defined (seed 000's SkillReference). */
export interface SkillReference {
  skillName: string;
  skillFile: string;
  lineNumber: number;
  sectionTitle: string;
}

export type SkillStatus = "success" | "partial" | "failed";
const STATUSES: readonly string[] = ["success", "partial", "failed"];

interface Active {
  id: string;
  ref: SkillReference;
  taskId?: string;
  toolCalls: string[];
}

/**
 * Traces skill invocations with their file:line (seed 000's SkillTracer): a skill_traces row and a
 * `skill_invoke` entry on traceStart, status and duration and a `skill_complete` entry on
 * traceEnd. Tool calls logged (with the tracer's ToolUseLogger) while a skill is active are
 * within it; skills nest, and getActiveSkill() is the innermost.
 */
export class SkillTracer {
  private readonly stack: Active[] = [];
  private readonly traces = new Map<string, Active>();

  constructor(
    readonly writer: TranscriptWriter,
    readonly toolLogger: ToolUseLogger,
  ) {
    recorderOf(writer); // a TranscriptWriter, or a TypeError now rather than at the first call
    activeSkillOf.set(toolLogger, () => this.getActiveSkill());
  }

  traceStart(ref: SkillReference, opts: { taskId?: string } = {}): string {
    if (!ref || typeof ref.skillName !== "string" || typeof ref.skillFile !== "string" || !Number.isInteger(ref.lineNumber) || typeof ref.sectionTitle !== "string") {
      throw new TypeError("traceStart() takes a SkillReference {skillName, skillFile, lineNumber (integer), sectionTitle}");
    }
    const id = newId();
    const entry = writeEntry(this.writer, {
      entryType: "skill_invoke",
      category: "skill",
      summary: `Skill ${ref.skillName} (${ref.skillFile}:${ref.lineNumber})`,
      taskId: opts.taskId,
      details: { skill_trace_id: id, skill_name: ref.skillName, skill_file: ref.skillFile, line_number: ref.lineNumber, section_title: ref.sectionTitle },
    });
    recorderOf(this.writer).line(
      "skill:start",
      { skill_trace_id: id, skill_name: ref.skillName, skill_file: ref.skillFile, line_number: ref.lineNumber, section_title: ref.sectionTitle, transcript_entry_id: entry.id },
      { taskId: opts.taskId, timestamp: entry.timestamp },
    );
    const a: Active = { id, ref, taskId: opts.taskId, toolCalls: [] };
    this.stack.push(a);
    this.traces.set(id, a);
    return id;
  }

  /** Ends a trace: status success, partial or failed (with the error, if any). */
  traceEnd(traceId: string, status: SkillStatus, error?: string): void {
    if (!STATUSES.includes(status)) throw new RangeError(`status must be success, partial or failed, got ${String(status)}`);
    if (error !== undefined && error !== null && typeof error !== "string") throw new TypeError("error must be a string");
    const a = this.traces.get(traceId);
    const at = this.stack.findIndex((x) => x.id === traceId);
    if (at >= 0) this.stack.splice(at, 1);
    this.traces.delete(traceId);
    const name = a?.ref.skillName ?? traceId;
    const entry = writeEntry(this.writer, {
      entryType: "skill_complete",
      category: "skill",
      summary: `Skill ${name} ${status}${error ? `: ${error}` : ""}`,
      taskId: a?.taskId,
      details: { skill_trace_id: traceId, status, ...(error ? { error } : {}) },
    });
    recorderOf(this.writer).line(
      "skill:end",
      { skill_trace_id: traceId, status, ...(typeof error === "string" ? { error } : {}), transcript_entry_id: entry.id },
      { taskId: a?.taskId, timestamp: entry.timestamp },
    );
  }

  /** Puts a tool call (logged by this tracer's ToolUseLogger) into a skill trace; it shows in the trace's tool_calls. */
  addToolCall(traceId: string, toolUseId: string): void {
    const a = this.traces.get(traceId);
    if (a && !a.toolCalls.includes(toolUseId)) a.toolCalls.push(toolUseId);
    if (!this.toolLogger.setWithinSkill(toolUseId, traceId)) {
      process.emitWarning(`obs producer: addToolCall(${traceId}, ${toolUseId}): that tool call was not started by this tracer's ToolUseLogger, so it cannot be put in the skill`);
    }
  }

  /** The innermost skill trace still running, for nesting; null when none. */
  getActiveSkill(): string | null {
    return this.stack.length ? this.stack[this.stack.length - 1]!.id : null;
  }
}
