import type { IO } from "../io.js";
import { renderTable, type Column } from "./table.js";

export type Format = "table" | "json" | "ndjson";

export function formatOf(opts: { json?: boolean; ndjson?: boolean }): Format {
  return opts.ndjson ? "ndjson" : opts.json ? "json" : "table";
}

/**
 * Prints exactly JSON: the value and a newline, nothing else on stdout. `deep` says it is
 * nested too deep to indent (a tree of a long chain of parent links): it is printed unindented.
 */
export function printJson(io: IO, value: unknown, o: { deep?: boolean } = {}): void {
  if (o.deep) return io.out(deepJson(value) + "\n");
  let text: string;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (e) {
    // A tree thousands of levels deep (a long chain of parent links) is past JSON.stringify's stack.
    if (!(e instanceof RangeError)) throw e;
    text = deepJson(value);
  }
  io.out(text + "\n");
}

/**
 * JSON.stringify(value) without recursion, for values nested too deep for it (and too deep to
 * indent: the indentation alone would grow with the square of the depth): plain objects, arrays,
 * strings, numbers, booleans and null, as the query and view rows are.
 */
export function deepJson(value: unknown): string {
  const out: string[] = [];
  type Frame = { items: unknown[]; i: number; close: string } | { entries: [string, unknown][]; i: number; close: string };
  const stack: Frame[] = [];
  const open = (v: unknown): void => {
    if (v === null || v === undefined || typeof v === "function") return void out.push("null");
    if (typeof v !== "object") return void out.push(JSON.stringify(v) ?? "null");
    if (Array.isArray(v)) {
      out.push("[");
      stack.push({ items: v, i: 0, close: "]" });
      return;
    }
    out.push("{");
    stack.push({ entries: Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined && typeof x !== "function"), i: 0, close: "}" });
  };
  open(value);
  while (stack.length) {
    const f = stack[stack.length - 1]!;
    const items = "items" in f ? f.items : f.entries;
    if (f.i === items.length) {
      stack.pop();
      out.push(f.close);
      continue;
    }
    if (f.i > 0) out.push(",");
    if ("items" in f) open(f.items[f.i++]);
    else {
      const [k, v] = f.entries[f.i++]!;
      out.push(JSON.stringify(k), ":");
      open(v);
    }
  }
  return out.join("");
}

/**
 * The one output path of the read commands: a table for people, a JSON array, or one JSON
 * object a line. `empty` is what a person sees when there are no rows (JSON prints []).
 */
export function printRows<Row>(io: IO, rows: Row[], columns: Column<Row>[], format: Format, empty = "(none)"): void {
  if (format === "json") return printJson(io, rows);
  if (format === "ndjson") {
    for (const r of rows) io.out(JSON.stringify(r) + "\n");
    return;
  }
  if (rows.length === 0) {
    io.out(empty + "\n");
    return;
  }
  io.out(renderTable(rows, columns, io) + "\n");
}
