import type { IO } from "../io.js";
import { renderTable, type Column } from "./table.js";

export type Format = "table" | "json" | "ndjson";

export function formatOf(opts: { json?: boolean; ndjson?: boolean }): Format {
  return opts.ndjson ? "ndjson" : opts.json ? "json" : "table";
}

/** Prints exactly JSON: the value and a newline, nothing else on stdout. */
export function printJson(io: IO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2) + "\n");
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
