import type { IO, Palette } from "../io.js";
import type { QueryResult } from "../queries/types.js";
import { displayWidth, fmtInt, wrapWords } from "./format.js";
import { renderTable, type Column } from "./table.js";

/** A titled block of a report: its heading, then a table, "none" or why it was skipped. */
export function section<Row>(
  io: IO,
  c: Palette,
  title: string,
  result: QueryResult<Row>,
  columns: Column<Row>[],
  o: { limit: number; lookedFor?: string; empty?: string },
): string {
  const lines: string[] = [];
  const count = result.rows.length;
  // A query id is shown where `obs query` can run it; obs's own lookups go by their title.
  const named = `${title}${result.id ? ` (${result.id})` : ""}`;
  const head = result.id ? `${c.bold(title)} ${c.dim(`(${result.id})`)}` : c.bold(title);
  // Title, id and count on one line when they fit, else the title wrapped and the count after it, whole.
  const headed = (tail: string, style: (s: string) => string) => {
    if (displayWidth(named) + 2 + displayWidth(tail) <= io.columns) return `${head}  ${style(tail)}`;
    const ls = wrapWords(named, io.columns);
    const last = ls.pop()!;
    return [...ls.map((l) => c.bold(l)), displayWidth(last) + 2 + displayWidth(tail) <= io.columns ? `${c.bold(last)}  ${style(tail)}` : `${c.bold(last)}\n  ${style(tail)}`].join("\n");
  };
  if (result.skipped) {
    lines.push(headed(`skipped: ${result.reason}`, c.warn));
    return lines.join("\n");
  }
  lines.push(headed(count === 0 ? (o.empty ?? "none") : fmtInt(count), count === 0 ? c.dim : c.accent));
  if (o.lookedFor) lines.push(...wrapWords(`looked for: ${o.lookedFor}`, io.columns - 4).map((l, i) => c.dim(`${i ? "    " : "  "}${l}`)));
  if (count > 0) {
    const shown = result.rows.slice(0, o.limit);
    lines.push(indent(renderTable(shown, columns, { ...io, columns: io.columns - 2 }), 2));
    if (count > shown.length) lines.push(c.dim(`  … ${fmtInt(count - shown.length)} more (--limit ${count} to see all)`));
  }
  return lines.join("\n");
}

export function indent(text: string, n: number): string {
  const pad = " ".repeat(n);
  return text
    .split("\n")
    .map((l) => (l ? pad + l : l))
    .join("\n");
}
