#!/usr/bin/env node
import type { CommandIo } from "./scan-command.js";
import { main } from "./program.js";

const io: CommandIo = {
  stdout: process.stdout,
  env: process.env,
  stdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  },
};
process.exitCode = await main(process.argv.slice(2), io, process.stderr);
