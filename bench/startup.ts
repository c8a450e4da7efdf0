import { spawnSync } from "node:child_process";

/**
 * CPU time (user + system, ms) one run of a command takes, as the shell accounts its child —
 * CPU rather than wall time, so a machine shared with other work still measures the command.
 */
export function cpuMs(argv: string[], cwd: string): number {
  const r = spawnSync("bash", ["-c", '"$@" >/dev/null 2>&1; times', "_", ...argv], { cwd, encoding: "utf8" });
  const children = r.stdout.trim().split("\n").pop() ?? "";
  const [user, sys] = children.split(/\s+/).map((t) => {
    const m = /^(\d+)m([\d.]+)s$/.exec(t);
    return m ? (Number(m[1]) * 60 + Number(m[2])) * 1000 : NaN;
  });
  return user! + sys!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Start-up against bare Node: each command run `runs` times, interleaved with `node -e 0` so
 * both see the same load, and compared by their medians.
 */
export function benchStartupRatios(commands: Record<string, string[]>, cwd: string, runs = 25): { baseline: number; medians: Record<string, number> } {
  const samples: Record<string, number[]> = { baseline: [] };
  for (const name of Object.keys(commands)) samples[name] = [];
  for (let i = 0; i < runs; i++) {
    samples.baseline!.push(cpuMs([process.execPath, "-e", "0"], cwd));
    for (const [name, argv] of Object.entries(commands)) samples[name]!.push(cpuMs(argv, cwd));
  }
  const medians = Object.fromEntries(Object.keys(commands).map((n) => [n, median(samples[n]!)]));
  return { baseline: median(samples.baseline!), medians };
}
