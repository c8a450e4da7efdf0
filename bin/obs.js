#!/usr/bin/env node
// The launcher only finds the compiled CLI; everything else lives in dist/ (built by `npm install` via prepare).
import { main } from "../dist/src/cli.js";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
