import { inputPart, toolCategory } from "../ingest/shape.js";

/**
 * How the producers turn what an agent hands them into the one-line summaries and JSON values
 * of the record. The rules are ingest's (src/ingest/shape.ts: the same keys name an input, the
 * same 200-character lines), with one difference that matters for a record written twice: a cut
 * never splits a character that JavaScript holds as two UTF-16 units (an emoji), because half of
 * one would reach SQLite as bytes that are not UTF-8 and that other readers (Python's sqlite3)
 * cannot decode. A summary made here is left as it is by ingest, so both copies hold the same.
 * python/obs_producers/_text.py does the same, character for character.
 */

export { toolCategory };
export const SUMMARY_MAX = 200;

/** A lone half of a surrogate pair becomes U+FFFD, as UTF-8 encoders do. */
export function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** One line of at most `max` UTF-16 units, whitespace runs collapsed, cut with an ellipsis between characters. */
export function oneLine(text: string, max = SUMMARY_MAX): string {
  const clean = wellFormed(text);
  // As ingest does: only text with a run, a line break or a tab, or space at an end is flattened.
  const flat = /\s\s|[\n\r\t]|^\s|\s$/.test(clean) ? clean.replace(/\s+/g, " ").trim() : clean;
  if (flat.length <= max) return flat;
  let cut = max - 1;
  const last = flat.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut--;
  return flat.slice(0, cut) + "…";
}

/** The part of a tool's input a person recognises it by, chosen as ingest chooses it. */
export function summariseInput(input: unknown): string {
  return oneLine(inputPart(input));
}

/** The text of a tool result's content: a string, or the text blocks of a content list. */
export function contentText(content: unknown): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    const texts = content.map((b) => (b && typeof b === "object" && typeof (b as { text?: unknown }).text === "string" ? (b as { text: string }).text : typeof b === "string" ? b : JSON.stringify(b)));
    return texts.join("\n");
  }
  return JSON.stringify(content);
}

/**
 * A value as it can travel as JSON: what JSON.stringify would drop or change (undefined,
 * functions, NaN, dates, maps) is made explicit first, so the value written and the value read
 * back are the same. Strings are made well-formed.
 */
export function jsonable(v: unknown, depth = 0): unknown {
  if (depth > 64) return "[too deep]";
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return wellFormed(v);
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "boolean") return v;
  if (typeof v === "bigint") return Number(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Array.isArray(v)) return v.map((x) => jsonable(x, depth + 1));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonable(x, depth + 1)]));
  if (v instanceof Set) return [...v].map((x) => jsonable(x, depth + 1));
  if (typeof v === "object") {
    const withJson = v as { toJSON?: () => unknown };
    if (typeof withJson.toJSON === "function") return jsonable(withJson.toJSON(), depth + 1);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined && typeof x !== "function") out[wellFormed(k)] = jsonable(x, depth + 1);
    return out;
  }
  return String(v);
}
