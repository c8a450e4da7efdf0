import { MAX_LINE, MAX_LINE_MIB, withoutBom } from "../lines.js";
import { claudeCode } from "./claude-code.js";
import { claudeStreamJson } from "./claude-stream-json.js";
import { codex } from "./codex.js";
import { eventLog } from "./eventlog.js";
import { geminiCli } from "./gemini-cli.js";
import { geminiStreamJson } from "./gemini-stream-json.js";
import { otlpJson } from "./otlp.js";
import { traceStore } from "./trace-store.js";
import { CUT_OFF, documentError, endsBeforeItCloses } from "./shared.js";
import type { Adapter, Head, J } from "./types.js";

/**
 * Every adapter, in the order detection asks them. obs's own event stream is not among them:
 * it is what ingest reads when its first lines are obs events.
 */
export const ADAPTERS: readonly Adapter[] = [traceStore, codex, geminiCli, geminiStreamJson, claudeStreamJson, claudeCode, eventLog, otlpJson];

export function adapterFor(format: string): Adapter | undefined {
  return ADAPTERS.find((a) => a.format === format);
}

const HEAD_OBJECTS = 20;

/** The start of a file, as adapters look at it to say whether it is theirs (without a byte-order mark: no part of the text). */
export function readHead(file: string, start: Buffer): Head {
  const bytes = withoutBom(start);
  const objects: J[] = [];
  let array = false;
  if (!isSqlite(bytes)) {
    const text = bytes.toString("utf8");
    if (startsArray(bytes)) {
      array = true;
      objects.push(...firstElements(text, HEAD_OBJECTS));
    } else {
      for (const line of text.split("\n").slice(0, HEAD_OBJECTS)) {
        try {
          const o = JSON.parse(line);
          if (o && typeof o === "object" && !Array.isArray(o)) objects.push(o);
        } catch {
          /* a partial or bad line; the reader names it */
        }
      }
    }
  }
  return { path: file, bytes, objects, array };
}

export function isSqlite(bytes: Buffer): boolean {
  return bytes.subarray(0, 16).toString("latin1") === "SQLite format 3\0";
}

/** Whether content is one JSON array (its first character other than white space is `[`). */
export function startsArray(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || (i < 3 && (c === 0xef || c === 0xbb || c === 0xbf))) continue;
    return c === 0x5b;
  }
  return false;
}

/**
 * The complete elements at the start of a JSON array's text (which may be cut short): a scan
 * that keeps track of strings and nesting, so a head of a big file still shows what it holds.
 */
export function firstElements(text: string, max: number): J[] {
  const out: J[] = [];
  let i = text.indexOf("[") + 1;
  while (out.length < max && i > 0 && i < text.length) {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
    if (i >= text.length || text[i] === "]") break;
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") depth++;
      else if (c === "}" || c === "]") {
        if (depth === 0) break; // the array's own end
        depth--;
      } else if (c === "," && depth === 0) break;
      if (depth === 0 && (c === "}" || c === "]")) {
        i++;
        break;
      }
    }
    if (depth > 0 || inString) break; // cut short: the rest is not in the head
    try {
      const o = JSON.parse(text.slice(start, i));
      if (o && typeof o === "object" && !Array.isArray(o)) out.push(o);
    } catch {
      break;
    }
  }
  return out;
}

/**
 * A JSON-array transcript as the lines it holds: each element on a line of its own (so line N
 * of what adapters read is element N). An error names what is wrong when it is no array.
 */
export function arrayAsLines(data: Buffer): { lines: Buffer } | { error: string; cutOff: boolean } {
  let parsed: unknown;
  const text = withoutBom(data).toString("utf8");
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    if (endsBeforeItCloses(text)) return { error: CUT_OFF, cutOff: true };
    return { error: `starts like a JSON array but is not one: ${documentError(e, text)}`, cutOff: false };
  }
  if (!Array.isArray(parsed)) return { error: "not a JSON array", cutOff: false };
  return { lines: Buffer.from(parsed.map((el) => JSON.stringify(el)).join("\n") + (parsed.length ? "\n" : "")) };
}

/** What the start of a file looks like, for a user told that obs cannot read it. */
export function describeHead(head: Head): string {
  const first = head.objects[0];
  const keys = (o: J) => Object.keys(o).slice(0, 8).join(", ") + (Object.keys(o).length > 8 ? ", …" : "");
  if (head.array) return first ? `a JSON array whose first element has the keys ${keys(first)}` : "a JSON array of no objects obs knows";
  // Bytes that are not text (a binary, a compressed file) are named as such, never echoed to the terminal.
  const binary = head.bytes.subarray(0, 512).some((b) => b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d));
  if (binary) return `binary, not text (it starts with the bytes ${[...head.bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ")})`;
  // The head holds a first line whole up to the longest line obs reads.
  if (head.bytes.length > MAX_LINE && !head.bytes.includes(0x0a)) return `its first line is over ${MAX_LINE_MIB} MiB, longer than obs reads`;
  const text = head.bytes.toString("utf8");
  const line = text.split("\n", 20).find((l) => l.trim() !== "") ?? "";
  if (!line) return "an empty file";
  if (/^\s*\{\s*$/.test(line)) {
    // A pretty-printed document: its top-level keys are the least indented.
    const top = [...text.matchAll(/^ {1,4}"([^"]+)"\s*:/gm)].map((m) => m[1]!);
    if (top.length) return `a JSON document whose first keys are ${[...new Set(top)].slice(0, 8).join(", ")}`;
  }
  try {
    const o = JSON.parse(line);
    if (o && typeof o === "object" && !Array.isArray(o)) return `its first line has the keys ${keys(o as J) || "(none)"}`;
    return `its first line is JSON but not an object (${JSON.stringify(o).slice(0, 40)})`;
  } catch {
    const shown = line.length > 40 ? `${line.slice(0, 40)}…` : line;
    return /^\s*\{/.test(line) ? `its first line is not complete JSON (${shown})` : `its first line is not JSON (${shown})`;
  }
}

export type { Adapter, AdapterContext, AdapterInput, AdapterRead, AdapterSummary, BadLine, Head, InputLine, J } from "./types.js";
