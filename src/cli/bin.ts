#!/usr/bin/env node
import type { CommandIo } from "./scan-command.js";
import { readStdin } from "../sources/files/load-estate.js";
import { main } from "./program.js";

const io: CommandIo = {
  stdout: process.stdout,
  env: process.env,
  stdin: readStdin,
};
// A stdout that fails (`> /dev/full`, a reader that stopped early) is reported by the writer as
// one line with exit code 2, after the run has finished (a --log-analytics delivery still
// matters); an error event after that must not crash the process with a stack trace.
process.stdout.on("error", () => undefined);
process.exitCode = await main(process.argv.slice(2), io, process.stderr);
