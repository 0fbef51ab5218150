import type { TokenCredential } from "@azure/identity";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import type { EstateSource } from "../../src/sources/source.js";

/** A bearer token for the loopback ARM emulator, without a token endpoint. */
export const staticCredential: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

async function* toAsync(rows: ArmRow[]): AsyncGenerator<ArmRow> {
  await Promise.resolve();
  yield* rows;
}

/** An estate source over rows in memory. */
export function memorySource(rows: ArmRow[]): EstateSource {
  return {
    kind: "file",
    inputs: ["memory"],
    scope: { subscriptions: [], managementGroups: [] },
    read: () => toAsync(rows),
  };
}
