import type { TokenCredential } from "@azure/identity";
import type { ArmNetworkOptions } from "../../src/azure/network-client.js";
import type { ArmRow } from "../../src/inventory/arm-row.js";
import type { EstateBatch, EstateSource } from "../../src/sources/source.js";

/** A bearer token for the loopback ARM emulator, without a token endpoint. */
export const staticCredential: TokenCredential = {
  getToken: () =>
    Promise.resolve({ token: "test-token", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

/**
 * ARM network options that reach the loopback emulator: its endpoint and certificate, the static
 * token, and no SDK retries (tests choose their own timeouts and polling on top).
 */
export function emulatorNetwork(emulator: {
  url: string;
  certificate: { cert: string };
}): ArmNetworkOptions {
  return {
    cloud: "AzureCloud",
    armEndpoint: emulator.url,
    credential: staticCredential,
    clientOptions: {
      tlsOptions: { ca: emulator.certificate.cert },
      retryOptions: { maxRetries: 0 },
    },
  };
}

async function* toAsync(rows: ArmRow[]): AsyncGenerator<EstateBatch> {
  await Promise.resolve();
  yield rows;
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
