import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatTimeSpan } from "../kit/emulators/resource-graph.js";
import {
  QuotaPacer,
  parseRemaining,
  parseResetsAfter,
} from "../src/sources/resource-graph/quota.js";
import {
  cloudEndpoints,
  createResourceGraphSource,
  RESOURCES_QUERY,
  SUBSCRIPTIONS_QUERY,
} from "../src/sources/resource-graph/index.js";
import { retryAfterInMs } from "../src/azure/retry-after.js";

function headers(values: Record<string, string>) {
  return { get: (name: string) => values[name.toLowerCase()] };
}

void describe("Resource Graph quota headers", () => {
  void it("parses hh:mm:ss durations, with days and fractions, and refuses anything else", () => {
    assert.equal(parseResetsAfter("00:00:05"), 5_000);
    assert.equal(parseResetsAfter("00:01:02"), 62_000);
    assert.equal(parseResetsAfter("1.00:00:00"), 86_400_000);
    assert.equal(parseResetsAfter("00:00:02.5000000"), 2_500);
    assert.equal(parseResetsAfter("00:00:00.0400000"), 40);
    assert.equal(parseResetsAfter("5"), null);
    assert.equal(parseResetsAfter(""), null);
    assert.equal(parseResetsAfter(undefined), null);
    assert.equal(parseRemaining("12"), 12);
    assert.equal(parseRemaining("x"), null);
    assert.equal(parseRemaining(undefined), null);
  });

  void it("round-trips the emulator's TimeSpan format", () => {
    for (const ms of [0, 40, 999, 1_000, 2_345, 65_000]) {
      assert.equal(parseResetsAfter(formatTimeSpan(ms)), ms);
    }
  });

  void it("waits only when the quota is spent, until the reported reset plus a small margin", () => {
    let now = 10_000;
    const pacer = new QuotaPacer({ now: () => now });
    assert.equal(pacer.delayBeforeNextInMs(), 0, "nothing known yet");
    pacer.observe(
      headers({ "x-ms-user-quota-remaining": "3", "x-ms-user-quota-resets-after": "00:00:04" }),
    );
    assert.equal(pacer.delayBeforeNextInMs(), 0, "quota left");
    pacer.observe(
      headers({ "x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:04" }),
    );
    const wait = pacer.delayBeforeNextInMs();
    assert.ok(wait >= 4_000 && wait <= 4_000 * 1.05, `wait ${wait}`);
    now += 2_500;
    const later = pacer.delayBeforeNextInMs();
    assert.ok(later >= 1_500 && later < 1_700, `later ${later}`);
    now += 1_600;
    assert.equal(pacer.delayBeforeNextInMs(), 0, "window over");
    pacer.forgetIfReset();
    assert.equal(pacer.waitForResetInMs(), null);
  });

  void it("reads Retry-After as seconds, as a date, and the millisecond variants", () => {
    const now = Date.parse("2026-11-28T10:00:00Z");
    assert.equal(retryAfterInMs(headers({ "retry-after": "3" }), now), 3_000);
    assert.equal(retryAfterInMs(headers({ "retry-after-ms": "250" }), now), 250);
    assert.equal(
      retryAfterInMs(headers({ "retry-after": "Sat, 28 Nov 2026 10:00:02 GMT" }), now),
      2_000,
    );
    assert.equal(retryAfterInMs(headers({}), now), null);
    assert.equal(retryAfterInMs(null, now), null);
  });
});

void describe("Resource Graph source options", () => {
  void it("knows each cloud's endpoint, token scope and authority", () => {
    assert.deepEqual(cloudEndpoints("AzureCloud"), {
      armEndpoint: "https://management.azure.com",
      armScope: "https://management.azure.com/.default",
      authorityHost: "https://login.microsoftonline.com",
    });
    assert.equal(
      cloudEndpoints("AzureUSGovernment").armScope,
      "https://management.usgovcloudapi.net/.default",
    );
    assert.equal(
      cloudEndpoints("AzureUSGovernment").authorityHost,
      "https://login.microsoftonline.us",
    );
    assert.equal(
      cloudEndpoints("AzureChinaCloud").armEndpoint,
      "https://management.chinacloudapi.cn",
    );
    assert.equal(cloudEndpoints("AzureChinaCloud").authorityHost, "https://login.chinacloudapi.cn");
  });

  void it("reports its scope and endpoint, and refuses bad options at construction", () => {
    const source = createResourceGraphSource({
      cloud: "AzureChinaCloud",
      subscriptions: ["00000000-0000-4000-8000-00000000000A"],
    });
    assert.equal(source.kind, "resource-graph");
    assert.deepEqual(source.inputs, [
      "https://management.chinacloudapi.cn/providers/Microsoft.ResourceGraph/resources",
    ]);
    assert.deepEqual(source.scope, {
      subscriptions: ["00000000-0000-4000-8000-00000000000a"],
      managementGroups: [],
    });
    const bad: [object, RegExp][] = [
      [{ subscriptions: ["not-a-guid"] }, /not a subscription ID/],
      [{ managementGroups: ["bad group!"] }, /management group/],
      [{ pageSize: 1001 }, /pageSize/],
      [{ subscriptionBatchSize: 0 }, /subscriptionBatchSize/],
      [{ armEndpoint: "http://127.0.0.1:1" }, /https/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => createResourceGraphSource({ cloud: "AzureCloud", ...options }),
        (e: Error) => e.name === "InputError" && message.test(e.message),
      );
    }
  });

  void it("keeps scope out of the query text", () => {
    for (const q of [RESOURCES_QUERY, SUBSCRIPTIONS_QUERY]) {
      assert.match(q, /order by id asc/);
      assert.doesNotMatch(q, /subscriptionId\s*(==|=~|in)/i);
      assert.doesNotMatch(q, /\b(take|limit)\b/i, "take/limit would disable skip-token paging");
    }
  });
});
