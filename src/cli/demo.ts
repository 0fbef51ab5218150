import { fileURLToPath } from "node:url";

/** The bundled sample estate (samples/demo-estate.json at the package root; this file runs from dist/src/cli). */
export const DEMO_ESTATE = fileURLToPath(
  new URL("../../../samples/demo-estate.json", import.meta.url),
);
