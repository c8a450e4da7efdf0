import type { Palette } from "../io.js";
import { displayWidth, fitWords, fmtInt, fmtMs, wrapWords } from "./format.js";

/** What `obs show` prints of a record: its kind and id, its fields, its payloads, its links. */
export interface RecordView {
  kind: string;
  noun: string;
  id: string;
  record: Record<string, unknown>;
  links: { rel: string; kind: string; id: string; label: string | null }[];
  /** The same id in other executions (`<id>@<execution>`), and other kinds of record with this id. */
  also: { kind: string; id: string }[];
}

/** A column holding JSON text, parsed (text that is not JSON stays text). */
export function parsed(v: unknown): unknown {
  if (typeof v !== "string" || !/^\s*[[{"]/.test(v)) return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** How a person reads a command to look at a linked record. */
export function showCommand(kind: string, id: string): string {
  if (kind === "correlation") return `obs trace --correlation ${id}`;
  return `obs show ${id}`;
}

const LINK_ROWS = 10;

/**
 * A record for a person: short fields as `name  value` lines (long ones wrapped, never cut),
 * payloads (objects, arrays, text of several lines) pretty-printed below them, then its links.
 */
export function renderRecord(v: RecordView, width: number, c: Palette): string {
  const out: string[] = [`${c.bold(v.noun)} ${c.id(v.id)}`];
  const fields = Object.entries(v.record).filter(([k]) => k !== "id");
  const payloads: [string, unknown][] = [];
  const nameW = Math.max(...fields.map(([k]) => k.length), 4);
  const room = Math.max(20, width - nameW - 4);
  for (const [k, raw] of fields) {
    const val = parsed(raw);
    if ((val !== null && typeof val === "object") || (typeof val === "string" && (val.includes("\n") || val.length > room * 3))) {
      payloads.push([k, val]);
      continue;
    }
    const text = val === null || val === undefined ? "—" : /_ms$/.test(k) && typeof val === "number" ? `${fmtMs(val)} (${fmtInt(val)} ms)` : String(val);
    wrapWords(text, room).forEach((l, i) => out.push(`  ${i ? " ".repeat(nameW) : c.dim(k.padEnd(nameW))}  ${val === null || val === undefined ? c.dim(l) : l}`));
  }
  for (const [k, val] of payloads) {
    out.push("", c.bold(k));
    const text = typeof val === "string" ? val : JSON.stringify(val, null, 2);
    for (const l of text.split("\n")) {
      const lead = /^ */.exec(l)![0].length;
      wrapWords(l.slice(lead) || " ", Math.max(10, width - 2 - lead)).forEach((w) => out.push(`  ${" ".repeat(lead)}${w}`.trimEnd()));
    }
  }
  if (v.links.length) {
    out.push("", c.bold("Links"));
    const relW = Math.max(...v.links.map((l) => l.rel.length));
    const byRel = new Map<string, typeof v.links>();
    for (const l of v.links) byRel.set(l.rel, [...(byRel.get(l.rel) ?? []), l]);
    for (const [rel, ls] of byRel) {
      for (const l of ls.slice(0, LINK_ROWS)) {
        const head = `  ${rel.padEnd(relW)}  `;
        const label = l.label ? `  ${l.label}` : "";
        const line = `${head}${l.id}${label}`;
        if (displayWidth(line) <= width) out.push(`  ${c.dim(rel.padEnd(relW))}  ${c.id(l.id)}${c.dim(label)}`);
        else if (displayWidth(head + l.id) > width) {
          // No room for the id beside its relation: the id on a line of its own, whole.
          out.push(`  ${c.dim(rel)}`, `    ${c.id(l.id)}`);
          for (const w of wrapWords(l.label ?? "", Math.max(10, width - 4))) out.push("    " + c.dim(w));
        } else {
          out.push(`  ${c.dim(rel.padEnd(relW))}  ${c.id(l.id)}`);
          for (const w of wrapWords(l.label ?? "", Math.max(10, width - head.length))) out.push(" ".repeat(head.length) + c.dim(w));
        }
      }
      if (ls.length > LINK_ROWS) out.push(c.dim(`  ${" ".repeat(relW)}  … ${fmtInt(ls.length - LINK_ROWS)} more (--json lists ${ls.length === 50 ? "the first 50" : "them all"})`));
    }
    const first = v.links.find((l) => l.kind !== "execution") ?? v.links[0]!;
    out.push(c.dim(fitWords(`  (${showCommand(first.kind, first.id)} to follow one)`, width, 3)));
  }
  if (v.also.length) {
    out.push("", c.bold("The same id elsewhere"));
    for (const a of v.also) out.push(`  ${c.dim(a.kind.replace("_", " ").padEnd(10))}  ${c.id(a.id)}`);
  }
  return out.join("\n");
}
