import type { PriceTable } from "../../pricing.js";

/**
 * The one shape every adapter has. An adapter turns one file of another tool's record into obs
 * events (docs/events.md), given one at a time; ingest validates and folds each as it comes, as
 * it does obs's own lines, so nothing makes them text to parse again. Adapters
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
  /**
   * What an adapter remembers between the files of one ingest (a parent session's index, read
   * once for all its subagents' files): `make` runs the first time a key is asked for.
   */
  memo<T>(key: string, make: () => T): T;
}

/** A line of a file as an adapter reads it. */
export interface InputLine {
  text: string;
  /** Its number in the file (1-based). */
  n: number;
  /** Why its bytes are not text (invalid UTF-8), when they are not. */
  invalid?: string;
}

/** A file as an adapter reads it: line by line as it is read, or whole for a format that is one document. */
export interface AdapterInput {
  path: string;
  /** Its lines, read as they are asked for (for a JSON array, one element a line). */
  lines(): Iterable<InputLine>;
  /** Its whole content (a format that is one JSON document; a SQLite file is opened by its path). */
  bytes(): Buffer;
  /** It is one JSON array (ingest reads its elements as lines). */
  array?: boolean;
}

/** What an adapter says of a file once it has given all its events. */
export interface AdapterSummary {
  /** Source lines that carry nothing obs uses (snapshots, progress, system notes). */
  skipped: number;
  bad: BadLine[];
  /** Source lines read (records, for formats without lines). */
  lines: number;
  /** The execution the file belongs to, when it names one. */
  executionId: string | null;
  /**
   * The file is one document that ends before it closes (its tool rewrites it whole and was
   * caught at it): nothing is read, and a file waits for the next ingest.
   */
  cutOff?: true;
}

/** An adapter's events gathered in memory before they are given (formats ordered by time over the whole file). */
export interface AdapterResult extends AdapterSummary {
  events: J[];
}

/** An adapter's reading of a file: its events one by one (folded as they come), then its summary. */
export type AdapterRead = Generator<J, AdapterSummary, void>;

export interface Adapter {
  /** The name `--format` takes. */
  format: string;
  /** What it reads, in a user's words, for help and for "obs cannot read this file". */
  describes: string;
  /** Whether a file with this start is of this format. */
  detect(head: Head): boolean;
  /**
   * The file's events, in the order they are to be folded, from its content as ingest reads it
   * (while following, only its whole lines); then what it found (bad lines, lines skipped).
   */
  read(input: AdapterInput, ctx: AdapterContext): AdapterRead;
}
