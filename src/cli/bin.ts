#!/usr/bin/env node
import type { CommandIo } from "./scan-command.js";
import { readStdin } from "../inventory/load-estate.js";
import { main } from "./program.js";

const io: CommandIo = {
  stdout: process.stdout,
  env: process.env,
  stdin: readStdin,
};
// A reader that stops early (`| head`) closes the pipe: stop caring about stdout, but finish the
// run (a --log-analytics delivery still matters) instead of crashing with a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
});
process.exitCode = await main(process.argv.slice(2), io, process.stderr);
