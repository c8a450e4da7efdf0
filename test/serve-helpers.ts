import { spawn } from "node:child_process";
import { BIN } from "./helpers.js";

/** A running `obs serve` on a free port of 127.0.0.1: its WebSocket URL, its stderr, and a stop that returns its exit code. */
export interface Served {
  url: string;
  pid: number;
  stderr: () => string;
  stop: () => Promise<number | null>;
}

export async function startServe(db: string, extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "--json", "--db", db, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const where = await new Promise<{ url: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`obs serve did not say where it listens within 10 s: ${stderr}`)), 10_000);
    child.stdout!.on("data", (d) => {
      stdout += d;
      const nl = stdout.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(stdout.slice(0, nl)));
      }
    });
    child.on("exit", (code) => reject(new Error(`obs serve exited ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    url: where.url,
    pid: child.pid!,
    stderr: () => stderr,
    stop: () => {
      child.kill("SIGINT");
      return exited;
    },
  };
}
