import { isoNow } from "./record.js";
import { contentText, oneLine, summariseInput, toolCategory } from "./text.js";
import { newId, recorderOf, writeEntry, type TranscriptWriter } from "./transcript-writer.js";

/** Seed 000's tool categories; a tool's category comes from its name unless given. */
export const ToolCategory = {
  FILE_READ: "file_read",
  FILE_WRITE: "file_write",
  SHELL: "shell",
  BROWSER: "browser",
  NETWORK: "network",
  AGENT: "agent",
  CUSTOM: "custom",
} as const;
export type ToolCategory = (typeof ToolCategory)[keyof typeof ToolCategory];

/** What the Claude SDKs call a ToolUseBlock: the call the model asked for. */
export interface ToolUseBlock {
  id?: string;
  name: string;
  input?: unknown;
}

/** What the Claude SDKs call a ToolResultBlock: `content` a string or a list of content blocks. */
export interface ToolResultBlock {
  content?: unknown;
  is_error?: boolean | null;
}

export interface LogStartOptions {
  taskId?: string;
  parentToolUseId?: string;
  category?: ToolCategory | (string & {});
  /** The skill trace this call runs in; by default the innermost active skill of a SkillTracer made with this logger. */
  withinSkill?: string | null;
}

interface Started {
  line: Record<string, unknown>;
  withinSkill: string | null;
}

/** Lets a SkillTracer made with this logger put calls in its active skill (package-internal). */
export const activeSkillOf = new WeakMap<ToolUseLogger, () => string | null>();

/**
 * Logs every tool call (seed 000's ToolUseLogger): a tool_uses row and a `tool_use` transcript
 * entry on logStart, result and duration on logEnd, `blocked` on logBlocked. Status follows seed
 * 001: done unless is_error (error) or blocked by a security hook (blocked).
 */
export class ToolUseLogger {
  private readonly started = new Map<string, Started>();
  /** The id a call's block had, to the row id it was given (they differ only when that id was another execution's). */
  private readonly rowOf = new Map<string, string>();

  constructor(readonly writer: TranscriptWriter) {
    recorderOf(writer); // a TranscriptWriter, or a TypeError now rather than at the first call
  }

  /** Logs the start of a call and returns the id to end it with (the block's id, or a new one). */
  logStart(block: ToolUseBlock, opts: LogStartOptions = {}): string {
    if (!block || typeof block.name !== "string" || block.name === "") throw new TypeError("logStart() takes a tool use block with a name");
    const r = recorderOf(this.writer);
    // Ids are an execution's own: a block id another execution already used names a new row here.
    const id = typeof block.id === "string" && block.id !== "" ? r.scoped("tool_uses", block.id) : newId();
    if (typeof block.id === "string") this.rowOf.set(block.id, id);
    const input = block.input === undefined ? null : block.input;
    const inputSummary = summariseInput(input);
    const withinSkill = opts.withinSkill !== undefined ? opts.withinSkill : (activeSkillOf.get(this)?.() ?? null);
    const entry = writeEntry(this.writer, {
      entryType: "tool_use",
      category: "tool",
      summary: `${block.name}: ${inputSummary}`,
      taskId: opts.taskId,
      details: { tool_use_id: id, tool: block.name },
    });
    const fields: Record<string, unknown> = {
      tool_use_id: id,
      tool: block.name,
      input,
      input_summary: inputSummary,
      tool_category: opts.category ?? toolCategory(block.name),
      transcript_entry_id: entry.id,
      ...(opts.parentToolUseId ? { parent_tool_use_id: this.rowOf.get(opts.parentToolUseId) ?? r.scoped("tool_uses", opts.parentToolUseId) } : {}),
      ...(withinSkill ? { within_skill: withinSkill } : {}),
    };
    const line = r.line("tool:start", fields, { taskId: opts.taskId, timestamp: entry.timestamp });
    this.started.set(id, { line, withinSkill });
    return id;
  }

  private rowId(toolUseId: string): string {
    return this.started.has(toolUseId) ? toolUseId : (this.rowOf.get(toolUseId) ?? toolUseId);
  }

  /** Logs a call's result: `done`, or `error` when the result says is_error. */
  logEnd(toolUseId: string, result: ToolResultBlock | string, opts: { errorMessage?: string } = {}): void {
    const id = this.rowId(toolUseId);
    const block: ToolResultBlock = typeof result === "string" ? { content: result } : (result ?? {});
    const isError = block.is_error === true || (block as { isError?: unknown }).isError === true;
    const text = contentText(block.content);
    const task = this.started.get(id)?.line.task_id as string | undefined;
    recorderOf(this.writer).line(
      "tool:end",
      {
        tool_use_id: id,
        is_error: isError,
        ...(block.content !== undefined ? { output: block.content } : {}),
        output_summary: oneLine(text),
        ...(isError || opts.errorMessage ? { error_message: oneLine(opts.errorMessage ?? (text || "tool failed"), 1000) } : {}),
      },
      { taskId: task, timestamp: isoNow() },
    );
  }

  /** Logs a call that a security hook stopped, with why. */
  logBlocked(toolUseId: string, reason: string): void {
    if (typeof reason !== "string") throw new TypeError("logBlocked() takes the reason as a string");
    const id = this.rowId(toolUseId);
    const task = this.started.get(id)?.line.task_id as string | undefined;
    recorderOf(this.writer).line("tool:blocked", { tool_use_id: id, reason }, { taskId: task });
  }

  /**
   * Puts a call this logger started into a skill trace (SkillTracer.addToolCall). A call that is
   * not in it yet is recorded again with the skill: the same start, linked to its entry.
   */
  setWithinSkill(toolUseId: string, traceId: string): boolean {
    const id = this.rowId(toolUseId);
    const s = this.started.get(id);
    if (!s) return false;
    if (s.withinSkill === traceId) return true;
    s.withinSkill = traceId;
    const { kind: _k, execution_id: _e, timestamp, instance_id: _i, task_id, wave_id, ...fields } = s.line;
    void _k, void _e, void _i;
    recorderOf(this.writer).line("tool:start", { ...fields, within_skill: traceId }, {
      taskId: task_id as string | undefined, waveId: wave_id as string | undefined, timestamp: timestamp as string,
    });
    return true;
  }
}
