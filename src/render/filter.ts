import { fmtMs } from "./format.js";

/**
 * What a trace view is narrowed to, as a trace viewer's filters narrow it: steps of some types,
 * the errors, the slow ones. A step passes when it passes every filter given.
 */
export interface StepFilter {
  /** Entry types (tool_use, error, …), a producer's own types (a trace store's, an EventLog's) or tool names. */
  types?: string[];
  errors?: boolean;
  minMs?: number;
}

/** What a filter looks at: a step, a task or a skill. */
export interface Filterable {
  entry_type?: string | null;
  category?: string | null;
  source_type?: string | null;
  tool?: string | null;
  status?: string | null;
  duration_ms?: number | null;
}

/** The statuses that mean something went wrong (a blocked call was stopped, not failed: `obs errors` lists it apart). */
const FAILED = new Set(["error", "fail", "failed"]);

export function isError(s: Filterable): boolean {
  return s.entry_type === "error" || FAILED.has(s.status ?? "");
}

export function filtering(f: StepFilter): boolean {
  return Boolean(f.types?.length || f.errors || f.minMs !== undefined);
}

export function passes(s: Filterable, f: StepFilter): boolean {
  if (f.types?.length) {
    const own = [s.entry_type, s.category, s.source_type, s.tool].filter((x): x is string => typeof x === "string").map((x) => x.toLowerCase());
    if (!f.types.some((t) => own.includes(t.toLowerCase()))) return false;
  }
  if (f.errors && !isError(s)) return false;
  if (f.minMs !== undefined && !((s.duration_ms ?? -1) >= f.minMs)) return false;
  return true;
}

/** The filter in words, for a view's heading: "type tool_use, error · errors · ≥ 1.0s". */
export function describeFilter(f: StepFilter): string {
  const parts: string[] = [];
  if (f.types?.length) parts.push(`type ${f.types.join(", ")}`);
  if (f.errors) parts.push("errors");
  if (f.minMs !== undefined) parts.push(`≥ ${fmtMs(f.minMs)}`);
  return parts.join(" · ");
}
