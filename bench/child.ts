/**
 * Runs the obs CLI as bin/obs.js does and, as it exits, writes what it used (peak RSS, CPU
 * time) to the file named by OBS_BENCH_USAGE: the bench's way to measure one obs process.
 */
import fs from "node:fs";
import { main } from "../src/cli.js";

const code = await main(process.argv.slice(2));
process.exitCode = code;
process.on("exit", () => {
  const u = process.resourceUsage();
  if (process.env.OBS_BENCH_USAGE) {
    fs.writeFileSync(process.env.OBS_BENCH_USAGE, JSON.stringify({ maxRssKiB: u.maxRSS, cpuSeconds: (u.userCPUTime + u.systemCPUTime) / 1e6 }));
  }
});
