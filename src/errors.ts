/**
 * Exit statuses follow grep's family so CI can tell "the run has defects" from
 * "obs could not look": 0 nothing wrong, 1 findings, 2 any error.
 */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_ERROR = 2;

/** A problem the user can act on: printed as one line (plus hints), never as a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly hints: string[] = [],
  ) {
    super(message);
    this.name = "UserError";
  }
}

/** A message that echoes a huge argument shows its start: nobody reads 100 kB of it on a terminal. Cut between characters, never inside a surrogate pair. */
function cutLong(text: string): string {
  return text.replace(/\S{200,}/gu, (w) => {
    const chars = [...w];
    return `${chars.slice(0, 80).join("")}… (${chars.length} characters)`;
  });
}

/** Maps any thrown value to what the user sees and the exit status; the one place that does. */
export function describeError(err: unknown): { lines: string[]; code: number } {
  if (err instanceof UserError) {
    return { lines: [`obs: ${cutLong(err.message)}`, ...err.hints.map((h) => `  ${cutLong(h)}`)], code: EXIT_ERROR };
  }
  const e = err as { code?: string; message?: string; stack?: string };
  if (typeof e?.code === "string" && e.code.startsWith("SQLITE_")) {
    return {
      lines: [`obs: database error (${e.code}): ${e.message}`, ...(process.env.OBS_DEBUG && e.stack ? [e.stack] : [])],
      code: EXIT_ERROR,
    };
  }
  // An internal failure: keep the stack, it is a bug report.
  return {
    lines: [`obs: internal error: ${e?.message ?? String(err)}`, ...(e?.stack ? [e.stack] : [])],
    code: EXIT_ERROR,
  };
}
