import { palette, type IO } from "../io.js";
import { cutAtWord, displayWidth, visibleWidth, wrapWords } from "./format.js";

/**
 * One table renderer for every read command. Columns that hold ids, times and numbers are never
 * cut; text shares what is left of the terminal width, cut with "…" after a word or, in a `wrap`
 * column, wrapped onto more lines; an `under` column the row has no room for goes on lines beneath
 * it. A table that does not fit even so is stacked: each row a block of `HEADER  value` lines,
 * every value whole.
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
  /** Narrowest this column may be cut to (default 6). */
  min?: number;
  /** When even the narrowest columns do not fit, the highest `drop` goes first; columns without one stay. */
  drop?: number;
  /** Text that wraps within its column instead of being cut (an error's message). */
  wrap?: boolean;
  /**
   * Where the row cannot give this column its `min`, its text goes on the lines beneath the
   * row (wrapped or cut as in the row) rather than the table being stacked or the column dropped.
   */
  under?: boolean;
}

export function renderTable<Row>(rows: Row[], allColumns: Column<Row>[], io: IO): string {
  const allCells = rows.map((r) =>
    allColumns.map((c) => {
      const v = c.get ? c.get(r) : (r as Record<string, unknown>)[c.key];
      return v === null || v === undefined ? "—" : String(v).replace(/\s+/g, " ");
    }),
  );
  // Measured in terminal columns: a Chinese summary or an emoji takes two a character.
  const allNatural = allColumns.map((c, i) => Math.max(displayWidth(c.header), ...allCells.map((row) => displayWidth(row[i]!))));
  const fitted = visibleColumns(allColumns.map((c, i) => ({ ...c, natural: allNatural[i]! })), io.columns);
  // What the row cannot give an `under` column's narrowest goes on lines of its own beneath it.
  const lowered = narrowest(fitted) - 1 > io.columns && fitted.some((c) => c.under && fitted.some((o) => !o.under));
  const shown = lowered ? fitted.filter((c) => !c.under) : fitted;
  const keepIdx = shown.map((c) => allColumns.findIndex((a) => a.key === c.key));
  const underIdx = lowered ? fitted.filter((c) => c.under).map((c) => allColumns.findIndex((a) => a.key === c.key)) : [];
  const columns = keepIdx.map((i) => allColumns[i]!);
  const cells = allCells.map((row) => keepIdx.map((i) => row[i]!));
  const natural = keepIdx.map((i) => allNatural[i]!);
  const widths = fitWidths(natural, columns, io.columns);
  if (widths.reduce((a, b) => a + b, 0) + widths.length * PER_COLUMN - 1 > io.columns) return renderStacked(rows, allColumns, allCells, io);
  const bold = palette(io.color).bold;
  // A space before each column and two after it (cut cells are as wide as their column at most).
  const line = (texts: string[], paint: (t: string, i: number) => string) =>
    texts
      .map((t, i) => {
        const pad = " ".repeat(Math.max(0, widths[i]! - displayWidth(t)));
        const cell = t ? paint(t, i) : t;
        return " " + (columns[i]!.align === "right" ? pad + cell : cell + pad) + " ";
      })
      .join(" ")
      .replace(/\s+$/, "");
  // Lowered text starts under the row's second column (the first names the row: a time, an id)
  // while that leaves it twice its narrowest (or half the width), else near the left edge.
  const under = underPlacement(widths, underIdx.map((i) => allColumns[i]!), io.columns);
  // A header narrower than its column's room is wrapped at its spaces, never cut: every column
  // is at least as wide as its header's widest word.
  const headers = columns.map((c, i) => wrapWords(c.header, widths[i]!));
  const headHeight = Math.max(1, ...headers.map((h) => h.length));
  const head = [
    ...Array.from({ length: headHeight }, (_, k) => line(headers.map((h) => h[k] ?? ""), (t) => bold(t))),
    ...underIdx.flatMap((i) => wrapWords(allColumns[i]!.header, under.room).map((h) => " ".repeat(under.indent) + bold(h))),
  ].join("\n");
  const body = rows.flatMap((r, ri) => {
    const parts = columns.map((c, i) => (c.wrap ? wrapWords(cells[ri]![i]!, widths[i]!) : [cutAtWord(cells[ri]![i]!, widths[i]!)]));
    const height = Math.max(...parts.map((p) => p.length));
    const inRow = Array.from({ length: height }, (_, k) =>
      line(parts.map((p) => p[k] ?? ""), (t, i) => {
        const c = columns[i]!;
        return c.color && io.color ? c.color(t, r) : t;
      }),
    );
    const beneath = underIdx.flatMap((i) => {
      const c = allColumns[i]!;
      const text = allCells[ri]![i]!;
      if (!text) return [];
      return (c.wrap ? wrapWords(text, under.room) : [cutAtWord(text, under.room)]).map((t) => " ".repeat(under.indent) + (c.color && io.color ? c.color(t, r) : t));
    });
    return [...inRow, ...beneath];
  });
  return [head, ...body].join("\n");
}

/** Where lowered columns' lines start and how many columns they have. */
function underPlacement(widths: number[], under: Fit[], total: number): { indent: number; room: number } {
  const want = Math.max(0, ...under.map((c) => c.min ?? DEFAULT_MIN));
  const second = widths.length > 1 ? 1 + widths[0]! + PER_COLUMN : 1;
  const indent = total - second >= Math.min(want * 2, total / 2) ? second : Math.min(4, second);
  return { indent, room: Math.max(1, total - indent) };
}

/** Rows as blocks of `HEADER  value` lines, for a table too wide for the terminal: nothing dropped or cut. */
function renderStacked<Row>(rows: Row[], columns: Column<Row>[], cells: string[][], io: IO): string {
  const c = palette(io.color);
  const paint = (col: Column<Row>, v: string, r: Row) => (col.color && io.color ? col.color(v, r) : v);
  const named = columns.map((col, i) => [col, i] as const).filter(([col]) => col.header.trim() !== "");
  // A column without a header is a mark (▶ the root cause): it goes after the row's first line.
  const marks = columns.map((col, i) => [col, i] as const).filter(([col]) => col.header.trim() === "");
  const headW = Math.max(...named.map(([col]) => col.header.length));
  const room = Math.max(10, io.columns - headW - 3);
  return rows
    .map((r, ri) => {
      const lines = named.flatMap(([col, i]) =>
        wrapWords(cells[ri]![i]!, room).map((v, k) => ` ${k ? " ".repeat(headW) : c.dim(col.header.padEnd(headW))}  ${paint(col, v, r)}`),
      );
      // Measured plain (a bar pads itself with spaces to its width): the mark goes on the first
      // line where it fits beside the value, else on a line of its own where the values start.
      const shownMarks = marks.filter(([, i]) => cells[ri]![i]! && cells[ri]![i]! !== "—");
      const plain = shownMarks.map(([, i]) => cells[ri]![i]!.trimEnd()).join(" ");
      const mark = shownMarks.map(([col, i]) => paint(col, cells[ri]![i]!.trimEnd(), r)).join(" ");
      if (mark && lines.length) {
        if (visibleWidth(lines[0]!) + 2 + displayWidth(plain) <= io.columns) lines[0] += `  ${mark}`;
        else lines.splice(1, 0, ` ${" ".repeat(headW)}  ${mark}`);
      }
      return lines.join("\n");
    })
    .join("\n\n");
}

const DEFAULT_MIN = 6;
/** Each column takes its text plus one space each side and one separator. */
const PER_COLUMN = 3;

type Fit = Pick<Column<unknown>, "keep" | "min" | "drop" | "header" | "align" | "under">;

/** The widest word of a header: what the column keeps so that its header is never cut (SEVER…). */
function headerWord(header: string): number {
  return Math.max(0, ...header.split(/ +/).map(displayWidth));
}

/**
 * How narrow a column may get: ids and numbers never shrink; text down to its `min`, but never
 * below its header's widest word (a header of more words wraps onto more lines instead).
 */
function minWidth(c: Fit, natural: number): number {
  if (c.keep || c.align === "right") return natural;
  return Math.min(Math.max(c.min ?? DEFAULT_MIN, headerWord(c.header)), natural);
}

/** Columns' narrowest forms side by side, each with its spaces. */
function narrowest(cs: (Fit & { natural: number })[]): number {
  return cs.reduce((a, c) => a + minWidth(c, c.natural) + PER_COLUMN, 0);
}

/** Leaves out droppable columns, highest `drop` first, while even their narrowest forms do not fit. */
export function visibleColumns<C extends Fit & { natural: number }>(columns: C[], total: number): C[] {
  let shown = [...columns];
  while (narrowest(shown) > total) {
    const droppable = shown.filter((c) => c.drop !== undefined);
    if (droppable.length === 0) break;
    const worst = droppable.reduce((a, b) => (b.drop! > a.drop! ? b : a));
    shown = shown.filter((c) => c !== worst);
  }
  return shown;
}

/**
 * Shrinks the widest cuttable column one character at a time until the table fits in `total`
 * characters, so columns of equal width give up room evenly.
 */
export function fitWidths(natural: number[], columns: Fit[], total: number): number[] {
  const widths = [...natural];
  const min = columns.map((c, i) => minWidth(c, natural[i]!));
  let excess = widths.reduce((a, b) => a + b, 0) + widths.length * PER_COLUMN - total;
  while (excess > 0) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! <= min[i]!) continue;
      if (widest === -1 || widths[i]! > widths[widest]!) widest = i;
    }
    if (widest === -1) break;
    widths[widest]!--;
    excess--;
  }
  return widths;
}
