import type { ObservabilityDataEvent } from "../live/events.js";
import type { ObservabilityStreamService } from "../live/stream.js";

type Line = Record<string, unknown>;
const s = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/**
 * A producer's lines as the stream's events, the same as the database's feed would make of
 * their rows, sent as they are recorded (a server with its agents in-process need not wait for
 * a flush). The tool and skill starts are remembered, for their ends' names and durations.
 */
export function streamBridge(stream: ObservabilityStreamService): (line: Line) => void {
  const tools = new Map<string, { tool: string; at: string; taskId?: string; instanceId?: string }>();
  const skills = new Map<string, { name: string; at: string; taskId?: string; instanceId?: string }>();
  let pass = 0;
  let counted = 0;
  const ms = (end: string, start: string | undefined) => (start ? Date.parse(end) - Date.parse(start) : null);
  return (l) => {
    const executionId = l.execution_id as string;
    const timestamp = l.timestamp as string;
    const taskId = s(l.task_id);
    const task = taskId ? { taskId } : {};
    const agent = (instanceId: string | undefined) => (instanceId ? { instanceId } : {});
    let e: ObservabilityDataEvent | undefined;
    switch (l.kind) {
      case "transcript:entry":
        e = {
          type: "transcript:entry", timestamp, executionId, isLatest: true,
          entry: {
            id: l.entry_id as string, timestamp, sequence: l.sequence as number, executionId, taskId: taskId ?? null, instanceId: s(l.instance_id) ?? null,
            waveNumber: typeof l.wave_number === "number" ? l.wave_number : null, entryType: l.entry_type as string, category: s(l.category) ?? null,
            summary: s(l.summary) ?? null, details: l.details ?? null, durationMs: typeof l.duration_ms === "number" ? l.duration_ms : null,
          },
        };
        break;
      case "tool:start": {
        const id = l.tool_use_id as string;
        if (tools.has(id)) return; // the same start again, with the skill it runs in
        tools.set(id, { tool: l.tool as string, at: timestamp, taskId, instanceId: s(l.instance_id) });
        e = { type: "tool:start", timestamp, executionId, toolUseId: id, tool: l.tool as string, inputSummary: s(l.input_summary) ?? "", ...task, ...(s(l.instance_id) ? { instanceId: s(l.instance_id) } : {}) };
        break;
      }
      case "tool:end":
      case "tool:blocked": {
        const id = l.tool_use_id as string;
        const start = tools.get(id);
        const blocked = l.kind === "tool:blocked";
        e = {
          type: "tool:end", timestamp, executionId, toolUseId: id, ...(start ? { tool: start.tool } : {}),
          resultStatus: blocked ? "blocked" : l.is_error ? "error" : "done", durationMs: ms(timestamp, start?.at),
          ...(s(l.output_summary) ? { outputSummary: s(l.output_summary) } : {}), isError: !blocked && Boolean(l.is_error), isBlocked: blocked,
          ...(start?.taskId ? { taskId: start.taskId } : task), ...(s(l.error_message) ? { errorMessage: s(l.error_message) } : {}),
          ...(blocked ? { blockReason: l.reason as string } : {}), ...agent(start?.instanceId ?? s(l.instance_id)),
        };
        break;
      }
      case "skill:start":
        skills.set(l.skill_trace_id as string, { name: l.skill_name as string, at: timestamp, taskId, instanceId: s(l.instance_id) });
        e = {
          type: "skill:start", timestamp, executionId, skillTraceId: l.skill_trace_id as string, skillName: l.skill_name as string,
          skillFile: l.skill_file as string, lineNumber: l.line_number as number, ...task, ...agent(s(l.instance_id)),
        };
        break;
      case "skill:end": {
        const start = skills.get(l.skill_trace_id as string);
        e = {
          type: "skill:end", timestamp, executionId, skillTraceId: l.skill_trace_id as string, skillName: start?.name ?? (l.skill_trace_id as string),
          status: l.status as "success" | "partial" | "failed", durationMs: ms(timestamp, start?.at), ...task, ...(s(l.error) ? { error: s(l.error) } : {}),
          ...agent(start?.instanceId ?? s(l.instance_id)),
        };
        break;
      }
      case "assertion:result": {
        if (l.result !== "skip") counted++;
        if (l.result === "pass") pass++;
        e = {
          type: "assertion:result", timestamp, executionId, taskId: taskId ?? "",
          assertion: {
            id: l.assertion_id as string, taskId: taskId ?? "", executionId, chainId: s(l.chain_id) ?? null, category: l.category as string,
            description: l.description as string, result: l.result as string, evidence: l.evidence ?? null, timestamp,
            durationMs: typeof l.duration_ms === "number" ? l.duration_ms : null,
          },
          runningPassRate: counted ? pass / counted : 1,
          ...agent(s(l.instance_id)),
        };
        break;
      }
      case "execution:status":
        e = { type: "execution:status", timestamp, executionId, status: l.status as string, ...(s(l.message) ? { message: s(l.message) } : {}) };
        break;
      default:
        return;
    }
    stream.publish(e);
  };
}
