import Table from "cli-table3";
import type { IO } from "../io.js";
import { cut } from "./format.js";

/**
 * One table renderer for every read command. Columns that hold ids are never cut; the others
 * share what is left of the terminal width and are cut with "…", so rows never wrap.
 */
export interface Column<Row> {
  key: string;
  header: string;
  /** Text for a cell (plain, uncoloured). */
  get?: (row: Row) => string;
  /** Colours the already-cut text. */
  color?: (text: string, row: Row) => string;
  align?: "left" | "right";
  /** Ids stay whole. */
  keep?: boolean;
}

export function renderTable<Row>(rows: Row[], columns: Column<Row>[], io: IO): string {
  const cells = rows.map((r) =>
    columns.map((c) => {
      const v = c.get ? c.get(r) : (r as Record<string, unknown>)[c.key];
      return v === null || v === undefined ? "—" : String(v).replace(/\s+/g, " ");
    }),
  );
  const natural = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i]!.length)));
  const widths = fitWidths(natural, columns.map((c) => Boolean(c.keep)), io.columns);
  const table = new Table({
    head: columns.map((c, i) => cut(c.header, widths[i]!)),
    style: { head: io.color ? ["bold"] : [], border: io.color ? ["grey"] : [], compact: true, "padding-left": 1, "padding-right": 1 },
    colAligns: columns.map((c) => c.align ?? "left"),
    chars: {
      top: "", "top-mid": "", "top-left": "", "top-right": "",
      bottom: "", "bottom-mid": "", "bottom-left": "", "bottom-right": "",
      left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: " ",
    },
    wordWrap: false,
  });
  rows.forEach((r, ri) => {
    table.push(
      columns.map((c, i) => {
        const text = cut(cells[ri]![i]!, widths[i]!);
        return c.color && io.color ? c.color(text, r) : text;
      }),
    );
  });
  return table
    .toString()
    .split("\n")
    .map((l) => l.replace(/\s+$/, ""))
    .join("\n");
}

/** Shrinks the widest cuttable columns until the table fits in `total` characters. */
export function fitWidths(natural: number[], keep: boolean[], total: number): number[] {
  const widths = [...natural];
  // Each column takes its text plus one space each side and one separator.
  const overhead = widths.length * 3;
  let excess = widths.reduce((a, b) => a + b, 0) + overhead - total;
  const MIN = 6;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (keep[i] || widths[i]! <= MIN) continue;
      if (widest === -1 || widths[i]! > widths[widest]!) widest = i;
    }
    if (widest === -1) break;
    const next = Math.max(MIN, ...widths.filter((w, i) => i !== widest && !keep[i] && w < widths[widest]!));
    const step = Math.min(excess, Math.max(1, widths[widest]! - next));
    widths[widest] = Math.max(MIN, widths[widest]! - step);
    excess -= step;
  }
  return widths;
}
