import type { Budget, BudgetField } from "../db/budget.js";
import { UserError } from "../errors.js";
import type { A001Row } from "../queries/aggregation.js";
import type { D007Row } from "../queries/detection.js";
import { fmtInt, fmtMs, fmtUsd } from "../render/format.js";
import { parseDuration } from "./context.js";

/** A limit as the flags and `obs config` take it: its name, what it reads and how it is written. */
export interface Limit {
  field: BudgetField;
  /** The flag (`--max-cost`) and the setting (`max-cost`). */
  name: string;
  /** What is measured, in a word. */
  what: "cost" | "tokens" | "duration" | "errors" | "loops";
  /** The value as the flag takes it (errors name --max-cost). */
  parse: (value: string) => number;
  /** The value as it is named by `label` (`obs config` names the setting, not a flag). */
  parseAs: (label: string) => (value: string) => number;
  show: (n: number) => string;
  example: string;
}

const limit = (l: Omit<Limit, "parse">): Limit => ({ ...l, parse: l.parseAs(`--${l.name}`) });

function parseCost(flag: string) {
  return (value: string): number => {
    const n = Number(value.trim().replace(/^\$/, ""));
    if (!Number.isFinite(n) || n < 0 || value.trim() === "") throw new UserError(`${flag} must be an amount of US dollars like 5 or 0.50, got '${value}'`);
    return n;
  };
}

/** 2M, 1.5k, 2,000,000, 500000. */
function parseTokens(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)$/.exec(value.trim().replace(/[,_]/g, ""));
    if (!m) throw new UserError(`${flag} must be a number of tokens like 2M, 500k or 1500000, got '${value}'`);
    return Math.round(Number(m[1]) * { "": 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"]);
  };
}

function parseCount(flag: string, noun: string) {
  return (value: string): number => {
    const n = Number(value.trim());
    if (!Number.isInteger(n) || n < 0 || value.trim() === "") throw new UserError(`${flag} must be a whole number of ${noun} (0 or more), got '${value}'`);
    return n;
  };
}

function parseLimitDuration(flag: string) {
  const parse = parseDuration(flag);
  return (value: string): number => {
    const v = value.trim();
    // Hours and minutes together (1h30m), as people write a time limit.
    const hm = /^(\d+)h\s*(\d+)m$/.exec(v);
    return hm ? (Number(hm[1]) * 60 + Number(hm[2])) * 60_000 : parse(v);
  };
}

/** Dollars as a limit is written: to the cent when it is a whole number of cents. */
function money(n: number): string {
  return Number.isInteger(Math.round(n * 1e6) / 1e4) ? `$${n.toFixed(2)}` : fmtUsd(n);
}

export const LIMITS: readonly Limit[] = [
  limit({ field: "max_cost_usd", name: "max-cost", what: "cost", parseAs: parseCost, show: money, example: "5" }),
  limit({ field: "max_tokens", name: "max-tokens", what: "tokens", parseAs: parseTokens, show: fmtInt, example: "2M" }),
  limit({ field: "max_duration_ms", name: "max-duration", what: "duration", parseAs: parseLimitDuration, show: fmtMs, example: "30m" }),
  limit({ field: "max_errors", name: "max-errors", what: "errors", parseAs: (label) => parseCount(label, "errors"), show: fmtInt, example: "0" }),
  limit({ field: "max_loops", name: "max-loops", what: "loops", parseAs: (label) => parseCount(label, "loops"), show: fmtInt, example: "0" }),
];

/** One limit held against a run: the figure beside the limit. */
export interface BudgetCheck {
  limit: string;
  max: number;
  /** Null when the run's figure is not known (a cost of models with no price, a run with no times). */
  value: number | null;
  ok: boolean;
  /** Why a figure is partly or not known, or what the loops were. */
  note?: string;
}

/** Holds a run's figures (A001) and loops (D007) to the budget's limits. */
export function checkBudget(budget: Budget, a: A001Row | undefined, loops: D007Row[] | null): BudgetCheck[] {
  const out: BudgetCheck[] = [];
  for (const l of LIMITS) {
    const max = budget[l.field];
    if (max === undefined) continue;
    let value: number | null = null;
    let note: string | undefined;
    if (l.what === "loops") {
      value = loops ? loops.length : null;
      if (!loops) note = "the run's tool calls are not in this database";
      else if (loops.length) note = loops.slice(0, 3).map((x) => `${x.tool} ${x.input_summary ?? ""}`.trim() + ` ×${x.calls}`).join("; ") + (loops.length > 3 ? "; …" : "");
    } else if (!a) {
      note = "the run's figures are not in this database";
    } else if (l.what === "cost") {
      value = a.cost_usd ?? (a.model_calls === 0 ? 0 : null);
      // A cost that leaves out calls of unknown price is a lower bound: within the limit cannot be known.
      if (a.model_calls_unpriced) note = `${fmtInt(a.model_calls_unpriced)} model call${a.model_calls_unpriced === 1 ? "" : "s"} of unknown price`;
    } else if (l.what === "tokens") {
      value = a.total_tokens ?? 0;
    } else if (l.what === "duration") {
      value = a.duration_ms;
      if (value === null) note = "the run has no start or end time";
    } else {
      value = a.errors;
    }
    const ok = value !== null && value <= max && !(l.what === "cost" && a?.model_calls_unpriced);
    out.push({ limit: l.name, max, value, ok, ...(note ? { note } : {}) });
  }
  return out;
}

export function limitOf(name: string): Limit {
  return LIMITS.find((l) => l.name === name)!;
}
