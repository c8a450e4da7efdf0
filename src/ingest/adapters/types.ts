import type { PriceTable } from "../../pricing.js";

/**
 * The one shape every adapter has. An adapter turns one file of another tool's record into obs
 * events (docs/events.md); ingest validates and folds them as it does obs's own lines. Adapters
 * live side by side in this folder and never import one another: what several need (cost,
 * ids) lives in shared modules (../../pricing.ts, ./shared.ts).
 */

export type J = Record<string, unknown>;

/** A line obs could not use, with where it is and why. */
export interface BadLine {
  source: string;
  line: number;
  reason: string;
}

/** What a file looks like from its start: the bytes, and the JSON objects among its first lines. */
export interface Head {
  path: string;
  bytes: Buffer;
  /** The first lines (up to 20) that parse as JSON objects; for a JSON array, its first elements. */
  objects: J[];
  /** The file is one JSON array, read as its elements (each a line of the format it holds). */
  array?: boolean;
}

export interface AdapterContext {
  /** Prices for model calls whose producer gave no cost. */
  prices: PriceTable;
}

export interface AdapterResult {
  /** obs events, in the order they are to be folded. */
  events: J[];
  /** Source lines that carry nothing obs uses (snapshots, progress, system notes). */
  skipped: number;
  bad: BadLine[];
  /** Source lines read (records, for formats without lines). */
  lines: number;
  /** The execution the file belongs to, when it names one. */
  executionId: string | null;
}

export interface Adapter {
  /** The name `--format` takes. */
  format: string;
  /** What it reads, in a user's words, for help and for "obs cannot read this file". */
  describes: string;
  /** Whether a file with this start is of this format. */
  detect(head: Head): boolean;
  /**
   * The file's events, from its content as ingest read it (while following, only its whole
   * lines). An adapter of a binary format (SQLite) opens `file` itself.
   */
  read(file: string, data: Buffer, ctx: AdapterContext): AdapterResult;
}
