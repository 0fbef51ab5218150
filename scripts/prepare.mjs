// npm's `prepare` (runs after `npm ci` / `npm install` in a clone, and before `npm pack`):
// compiles the TypeScript when the compiler is installed. A production install
// (`npm ci --omit=dev`) has no TypeScript and nothing to compile: it runs the dist/ that
// `npm run build` or `npm run package` made, so this step says so and succeeds.
// Plain JavaScript on purpose: it must run before anything is compiled.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
function resolveTsc() {
  try {
    return createRequire(import.meta.url).resolve("typescript/bin/tsc");
  } catch {
    return null;
  }
}
const tsc = resolveTsc();

if (tsc === null || !existsSync(new URL("../tsconfig.json", import.meta.url))) {
  const built = existsSync(new URL("../dist/functions", import.meta.url));
  process.stdout.write(
    `kms-route-audit: prepare: TypeScript is not installed (production install): nothing to compile; ${
      built
        ? "using the compiled dist/"
        : "dist/ is missing: run npm run build where the dev dependencies are installed"
    }\n`,
  );
  process.exit(0);
}

const build = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], {
  cwd: root,
  stdio: "inherit",
});
process.exit(build.status ?? 1);
