import { claudeCode } from "./claude-code.js";
import { eventLog } from "./eventlog.js";
import { traceStore } from "./trace-store.js";
import type { Adapter, Head, J } from "./types.js";

/**
 * Every adapter, in the order detection asks them. obs's own event stream is not among them:
 * it is what ingest reads when no adapter claims a file.
 */
export const ADAPTERS: readonly Adapter[] = [traceStore, claudeCode, eventLog];

export function adapterFor(format: string): Adapter | undefined {
  return ADAPTERS.find((a) => a.format === format);
}

/** The start of a file, as adapters look at it to say whether it is theirs. */
export function readHead(file: string, bytes: Buffer): Head {
  const objects: J[] = [];
  if (!isSqlite(bytes)) {
    for (const line of bytes.toString("utf8").split("\n").slice(0, 20)) {
      try {
        const o = JSON.parse(line);
        if (o && typeof o === "object" && !Array.isArray(o)) objects.push(o);
      } catch {
        /* a partial or bad line; the reader names it */
      }
    }
  }
  return { path: file, bytes, objects };
}

export function isSqlite(bytes: Buffer): boolean {
  return bytes.subarray(0, 16).toString("latin1") === "SQLite format 3\0";
}

export type { Adapter, AdapterContext, AdapterResult, BadLine, Head, J } from "./types.js";
