import fs from "node:fs";
import { UserError } from "./errors.js";

/**
 * What a model call costs: US dollars per million tokens of input, output, cache read, 5-minute
 * cache write and 1-hour cache write, as Anthropic lists them for the current Claude models
 * (a 5-minute write costs 1.25× the input price, a 1-hour write 2×). Where a model has
 * long-context prices, a request whose input (input + cache read + cache writes) is over the
 * threshold pays them for all its tokens. This is the one place prices live; a user's own table
 * (`--prices FILE` or $OBS_PRICES, the same JSON shape, `{"model-name": {"input": 3, "output":
 * 15, "cache_read": 0.3, "cache_write": 3.75, "cache_write_1h": 6}}`, `cache_write_1h` defaulting
 * to twice the input price) is laid over it. A cost the producer gave wins over any table. A
 * model no table knows has its tokens counted and its cost left unknown (NULL), never 0.
 *
 * Model names are matched exactly first, then by their longest listed prefix, so dated names
 * (claude-sonnet-4-20250514) find their family (claude-sonnet-4).
 */
export interface Rates {
  input: number;
  output: number;
  cache_read: number;
  cache_write: number;
  cache_write_1h: number;
}

export interface Price extends Rates {
  /** Rates for a request whose input is over `threshold` tokens. */
  long_context?: Rates & { threshold: number };
}

/** The rates of a model whose cache writes follow Anthropic's multiples of its input price. */
const anthropic = (input: number, output: number, long?: { input: number; output: number }): Price => ({
  input, output, cache_read: input / 10, cache_write: input * 1.25, cache_write_1h: input * 2,
  ...(long ? { long_context: { threshold: 200_000, input: long.input, output: long.output, cache_read: long.input / 10, cache_write: long.input * 1.25, cache_write_1h: long.input * 2 } } : {}),
});

export const PRICES: Record<string, Price> = {
  "claude-opus-4-6": anthropic(5, 25, { input: 10, output: 37.5 }),
  "claude-opus-4-5": anthropic(5, 25),
  "claude-opus-4-1": anthropic(15, 75),
  "claude-opus-4": anthropic(15, 75),
  "claude-sonnet-4-5": anthropic(3, 15, { input: 6, output: 22.5 }),
  "claude-sonnet-4": anthropic(3, 15, { input: 6, output: 22.5 }),
  "claude-haiku-4-5": anthropic(1, 5),
  "claude-3-7-sonnet": anthropic(3, 15),
  "claude-3-5-sonnet": anthropic(3, 15),
  "claude-3-5-haiku": anthropic(0.8, 4),
  "claude-3-opus": anthropic(15, 75),
  "claude-3-haiku": { input: 0.25, output: 1.25, cache_read: 0.03, cache_write: 0.3, cache_write_1h: 0.5 },
};

/**
 * OpenAI (Codex CLI) and Google (Gemini CLI) models, standard tier, as their price pages list
 * them. Neither charges for writing its prompt cache, so a cache write costs what input does;
 * reasoning and thinking tokens are output. Gemini's Pro models cost more for a prompt over 200k
 * tokens (long_context, for a table that prices it).
 */
type ProviderRates = { input: number; output: number; cache_read: number; cache_write: number; cache_write_1h: number };
const flat = (input: number, output: number, cache_read: number): ProviderRates => ({ input, output, cache_read, cache_write: input, cache_write_1h: input });
const longAbove200k = (r: ProviderRates, input: number, output: number, cache_read: number) => ({ ...r, long_context: { threshold: 200_000, ...flat(input, output, cache_read) } });
const OPENAI_AND_GOOGLE = {
  "gpt-5.5": flat(5, 30, 0.5),
  "gpt-5.4-mini": flat(0.75, 4.5, 0.075),
  "gpt-5.4": flat(2.5, 15, 0.25),
  "gpt-5.3-codex": flat(1.75, 14, 0.175),
  "gpt-5.2-codex": flat(1.75, 14, 0.175),
  "gpt-5.2": flat(1.75, 14, 0.175),
  "gpt-5.1-codex-mini": flat(0.25, 2, 0.025),
  "gpt-5.1-codex": flat(1.25, 10, 0.125),
  "gpt-5.1": flat(1.25, 10, 0.125),
  "gpt-5-codex": flat(1.25, 10, 0.125),
  "gpt-5-mini": flat(0.25, 2, 0.025),
  "gpt-5-nano": flat(0.05, 0.4, 0.005),
  "gpt-5": flat(1.25, 10, 0.125),
  "gpt-4.1-mini": flat(0.4, 1.6, 0.1),
  "gpt-4.1": flat(2, 8, 0.5),
  "o4-mini": flat(1.1, 4.4, 0.275),
  "o3-pro": flat(20, 80, 20),
  "o3-mini": flat(1.1, 4.4, 0.55),
  "o3": flat(2, 8, 0.5),
  "codex-mini-latest": flat(1.5, 6, 0.375),
  "gemini-3.1-pro": longAbove200k(flat(2, 12, 0.2), 4, 18, 0.4),
  "gemini-3-pro": longAbove200k(flat(2, 12, 0.2), 4, 18, 0.4),
  "gemini-3-flash": flat(0.5, 3, 0.05),
  "gemini-2.5-pro": longAbove200k(flat(1.25, 10, 0.125), 2.5, 15, 0.25),
  "gemini-2.5-flash-lite": flat(0.1, 0.4, 0.01),
  "gemini-2.5-flash": flat(0.3, 2.5, 0.03),
  "gemini-2.0-flash": flat(0.1, 0.4, 0.025),
};
// Laid into the table apart from the Claude rows, which follow Anthropic's multiples.
Object.assign(PRICES, OPENAI_AND_GOOGLE);

export type PriceTable = Record<string, Price>;

export function priceOf(table: PriceTable, model: string): Price | undefined {
  if (table[model]) return table[model];
  let best: string | undefined;
  for (const name of Object.keys(table)) {
    if (model.startsWith(name) && (!best || name.length > best.length)) best = name;
  }
  return best ? table[best] : undefined;
}

export interface Usage {
  model: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens?: number | null;
  /** 5-minute cache writes. */
  cache_write_tokens?: number | null;
  cache_write_1h_tokens?: number | null;
}

/** The cost of one call in US dollars, or null when the model's price is unknown. */
export function costOf(table: PriceTable, u: Usage): number | null {
  const p = priceOf(table, u.model);
  if (!p) return null;
  const read = u.cache_read_tokens ?? 0;
  const w5 = u.cache_write_tokens ?? 0;
  const w1 = u.cache_write_1h_tokens ?? 0;
  const long = p.long_context && u.input_tokens + read + w5 + w1 > p.long_context.threshold ? p.long_context : p;
  const usd = (u.input_tokens * long.input + u.output_tokens * long.output + read * long.cache_read + w5 * long.cache_write + w1 * long.cache_write_1h) / 1e6;
  return Math.round(usd * 1e8) / 1e8;
}

/** The built-in table with a user's file laid over it; the file's errors name it. */
export function loadPrices(file: string | undefined): PriceTable {
  if (!file) return PRICES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new UserError(`cannot read the price table ${file}: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UserError(`${file}: a price table is an object of model names`);
  const out: PriceTable = { ...PRICES };
  for (const [model, p] of Object.entries(parsed as Record<string, unknown>)) {
    out[model] = checkedPrice(file, model, p, true);
  }
  return out;
}

/** A price from a user's table: every rate a number; `cache_write_1h` defaults to twice the input price. */
function checkedPrice(file: string, model: string, p: unknown, nested: boolean): Price {
  const q = p as Record<string, unknown>;
  if (typeof q !== "object" || q === null || Array.isArray(q)) throw new UserError(`${file}: ${model} must be an object of prices (US dollars per million tokens)`);
  for (const k of ["input", "output", "cache_read", "cache_write"]) {
    if (typeof q[k] !== "number" || !Number.isFinite(q[k]) || (q[k] as number) < 0) {
      throw new UserError(`${file}: ${model}.${k} must be a number of US dollars per million tokens`);
    }
  }
  if (q.cache_write_1h !== undefined && (typeof q.cache_write_1h !== "number" || q.cache_write_1h < 0)) {
    throw new UserError(`${file}: ${model}.cache_write_1h must be a number of US dollars per million tokens`);
  }
  const price: Price = {
    input: q.input as number, output: q.output as number, cache_read: q.cache_read as number, cache_write: q.cache_write as number,
    cache_write_1h: (q.cache_write_1h as number | undefined) ?? (q.input as number) * 2,
  };
  if (nested && q.long_context !== undefined) {
    const l = q.long_context as Record<string, unknown>;
    if (typeof l?.threshold !== "number" || l.threshold <= 0) throw new UserError(`${file}: ${model}.long_context.threshold must be a number of input tokens`);
    price.long_context = { ...checkedPrice(file, `${model}.long_context`, l, false), threshold: l.threshold };
  }
  return price;
}
