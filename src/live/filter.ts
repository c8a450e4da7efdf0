import { agentOf, isErrorEvent, taskOf, type StreamEvent } from "./events.js";

/** Which events of the feed to show: what `obs tail` was asked for, applied alike in a pipe and in the view. */
export interface EventFilter {
  /** Event types (`tool:end`, …); a type the feed learns later passes only when named. */
  types?: ReadonlySet<string>;
  task?: string;
  agent?: string;
  errorsOnly?: boolean;
}

/** Transcript entries that only restate an event of their own kind (a tool call, a skill, an assertion). */
const RESTATED = new Set(["tool_use", "skill_invoke", "skill_complete", "assertion"]);

/** Whether an event passes; people are spared the entries that restate another event, scripts get every one. */
export function passes(e: StreamEvent, f: EventFilter, forPeople: boolean): boolean {
  if (f.types && !f.types.has(e.type)) return false;
  if (forPeople && !f.types && e.type === "transcript:entry" && RESTATED.has(e.entry.entryType)) return false;
  if (f.task && taskOf(e) !== f.task) return false;
  if (f.agent && agentOf(e) !== f.agent) return false;
  if (f.errorsOnly && !isErrorEvent(e)) return false;
  return true;
}

/** Whether an event says the run `executionId` (or, following every run, any run) has ended. */
export function endsRun(e: StreamEvent, executionId: string | undefined): boolean {
  return e.type === "execution:status" && (e.status === "completed" || e.status === "failed") && (!executionId || e.executionId === executionId);
}
