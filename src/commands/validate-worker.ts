/**
 * Validates a slice of executions on its own read-only connection, so `obs validate --all`
 * uses every core. The parent hands over the database path and ids and gets verdicts back.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { Budget } from "../db/budget.js";
import type { IO } from "../io.js";
import { ReadContext } from "./context.js";
import { validateExecution, type Verdict } from "./validate.js";

interface Job {
  db: string;
  ids: string[];
  env: NodeJS.ProcessEnv;
  budget: Budget;
}

const job = workerData as Job;
const io = { env: job.env } as IO;
const ctx = new ReadContext(job.db, io);
try {
  const verdicts: Verdict[] = job.ids.map((id) => validateExecution(ctx, id, job.budget));
  parentPort!.postMessage(verdicts);
} finally {
  ctx.close();
}
