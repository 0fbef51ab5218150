import type { ArmRow } from "../arm-row.js";
import {
  arrayField,
  bag,
  idOf,
  isObject,
  keyOfRef,
  list,
  optionalFlag,
  Problems,
  propertiesOf,
  stringsOf,
  text,
  type Bag,
} from "../fields.js";
import { keyOf, nameOf, parentOfChild } from "../resource-id.js";
import type {
  AzureFirewall,
  FirewallPolicy,
  FirewallRule,
  FirewallRuleCollection,
  IpGroup,
  RuleCollectionGroup,
} from "../types.js";

function strings(owner: Bag, name: string, problems: Problems, path: string): string[] {
  const raw = arrayField(owner, name, problems, path);
  // A malformed list is a problem of the rule: the matcher leaves such a rule undecided.
  return raw ? stringsOf(raw, problems, `${path}.${name}`) : [];
}

/** One network or application rule, classic (protocols) or policy (ipProtocols / protocols). */
function ruleOf(raw: unknown, kind: "network" | "application", problems: Problems, path: string) {
  if (!isObject(raw)) {
    problems.wrongType(path, raw, "a rule object");
    return null;
  }
  const r = propertiesOf(raw);
  const before = problems.all.length;
  const protocols: FirewallRule["protocols"] = [];
  if (kind === "network") {
    const field = Array.isArray(r.ipProtocols) ? "ipProtocols" : "protocols";
    for (const p of strings(r, field, problems, path)) protocols.push({ protocol: p, port: null });
  } else {
    const raws = arrayField(r, "protocols", problems, path) ?? [];
    raws.forEach((p, i) => {
      const b = bag(p);
      const protocol = text(b.protocolType);
      const port = typeof b.port === "number" ? b.port : Number(b.port);
      if (!protocol) problems.add(`${path}.protocols[${i}]`, "has no protocolType");
      else protocols.push({ protocol, port: Number.isFinite(port) ? port : null });
    });
  }
  const unresolvable: string[] = [];
  if (kind === "application") {
    for (const t of strings(r, "fqdnTags", problems, path)) unresolvable.push(`FQDN tag ${t}`);
    for (const c of strings(r, "webCategories", problems, path))
      unresolvable.push(`web category ${c}`);
    for (const u of strings(r, "targetUrls", problems, path)) unresolvable.push(`URL ${u}`);
  }
  const rule: FirewallRule = {
    name: text(raw.name) ?? text(r.name) ?? "(unnamed)",
    kind,
    protocols,
    sourceAddresses: strings(r, "sourceAddresses", problems, path),
    sourceIpGroups: strings(r, "sourceIpGroups", problems, path).map(keyOf),
    destinationAddresses: strings(r, "destinationAddresses", problems, path),
    destinationIpGroups: strings(r, "destinationIpGroups", problems, path).map(keyOf),
    destinationFqdns:
      kind === "network"
        ? strings(r, "destinationFqdns", problems, path)
        : strings(r, "targetFqdns", problems, path),
    destinationPorts: kind === "network" ? strings(r, "destinationPorts", problems, path) : [],
    unresolvable,
    malformed: problems.all.slice(before),
  };
  return rule;
}

function action(value: unknown): "Allow" | "Deny" | null {
  const type = text(bag(value).type)?.toLowerCase() ?? text(value)?.toLowerCase();
  return type === "allow" ? "Allow" : type === "deny" ? "Deny" : null;
}

function priorityOf(value: unknown): number | null {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}

function classicCollections(props: Bag, problems: Problems): FirewallRuleCollection[] {
  const out: FirewallRuleCollection[] = [];
  for (const [field, kind] of [
    ["networkRuleCollections", "network"],
    ["applicationRuleCollections", "application"],
  ] as const) {
    const raw = arrayField(props, field, problems, "properties") ?? [];
    raw.forEach((c, i) => {
      const path = `properties.${field}[${i}]`;
      if (!isObject(c)) return problems.wrongType(path, c, "a rule collection");
      const p = propertiesOf(c);
      const rules = (arrayField(p, "rules", problems, `${path}.properties`) ?? [])
        .map((r, j) => ruleOf(r, kind, problems, `${path}.properties.rules[${j}]`))
        .filter((r): r is FirewallRule => r !== null);
      out.push({
        name: text(c.name) ?? `collection-${i}`,
        priority: priorityOf(p.priority),
        action: action(p.action),
        kind,
        rules,
      });
    });
  }
  return out;
}

export function azureFirewallOf(row: ArmRow): AzureFirewall {
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const privateIpAddresses: string[] = [];
  const publicIpAddressIds: string[] = [];
  let subnetKey: string | null = null;
  let virtualNetworkKey: string | null = null;
  let publicIpCount = 0;
  const configs = arrayField(props, "ipConfigurations", problems, "properties") ?? [];
  for (const config of configs) {
    const p = propertiesOf(bag(config));
    const ip = text(p.privateIPAddress);
    if (ip) privateIpAddresses.push(ip);
    const subnetId = idOf(p.subnet);
    if (subnetId) {
      subnetKey ??= keyOf(subnetId);
      const vnetId = parentOfChild(subnetId, "subnets");
      if (vnetId) virtualNetworkKey ??= keyOf(vnetId);
    }
    const publicIp = idOf(p.publicIPAddress);
    if (publicIp) {
      publicIpAddressIds.push(publicIp);
      publicIpCount += 1;
    }
  }
  const hub = bag(props.hubIPAddresses);
  const hubPrivate = text(hub.privateIPAddress);
  if (hubPrivate) privateIpAddresses.push(hubPrivate);
  const hubPublic = bag(hub.publicIPs);
  const hubCount = typeof hubPublic.count === "number" ? hubPublic.count : 0;
  publicIpCount += Math.max(hubCount, list(hubPublic.addresses).length);
  const policyId = idOf(props.firewallPolicy);
  const additional = bag(props.additionalProperties);
  let dnsProxy: boolean | null = null;
  let snatPrivateRanges: string[] | null = null;
  for (const name in additional) {
    const lower = name.toLowerCase();
    if (lower === "network.dns.enableproxy") dnsProxy = optionalFlag(additional[name]) ?? null;
    else if (lower === "network.snat.privateranges") {
      const ranges = additional[name];
      if (typeof ranges === "string") snatPrivateRanges = ranges.split(",").map((r) => r.trim());
    }
  }
  if (props.ipConfigurations === undefined && props.hubIPAddresses === undefined)
    problems.add("properties.ipConfigurations", "is missing (and no hubIPAddresses)");
  return {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    skuName: text(bag(props.sku).name) ?? text(bag(row.sku).name),
    virtualNetworkKey,
    subnetKey,
    virtualHubKey: keyOfRef(props.virtualHub),
    privateIpAddresses,
    publicIpAddressIds,
    publicIpCount,
    forcedTunnel: isObject(props.managementIpConfiguration),
    policyKey: policyId ? keyOf(policyId) : null,
    policyId,
    classicCollections: classicCollections(props, problems),
    dnsProxy,
    snatPrivateRanges,
    malformed: problems.all,
  };
}

export function firewallPolicyOf(row: ArmRow): FirewallPolicy {
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const base = idOf(props.basePolicy);
  const groups = (arrayField(props, "ruleCollectionGroups", problems, "properties") ?? [])
    .map(keyOfRef)
    .filter((k): k is string => k !== null);
  const enableProxy = optionalFlag(bag(props.dnsSettings).enableProxy);
  if (enableProxy === undefined)
    problems.wrongType(
      "properties.dnsSettings.enableProxy",
      bag(props.dnsSettings).enableProxy,
      "a boolean",
    );
  return {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    basePolicyKey: base ? keyOf(base) : null,
    basePolicyId: base,
    ruleCollectionGroupKeys: groups,
    // A policy without dnsSettings has DNS proxy off (ARM's default).
    dnsProxy: props.dnsSettings === undefined ? false : (enableProxy ?? null),
    snatPrivateRanges: Array.isArray(bag(props.snat).privateRanges)
      ? stringsOf(list(bag(props.snat).privateRanges), problems, "properties.snat.privateRanges")
      : null,
    malformed: problems.all,
  };
}

export function ruleCollectionGroupOf(row: ArmRow): RuleCollectionGroup | null {
  const policyId = parentOfChild(row.id, "ruleCollectionGroups");
  if (!policyId) return null;
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const collections: FirewallRuleCollection[] = [];
  const raw = arrayField(props, "ruleCollections", problems, "properties") ?? [];
  raw.forEach((c, i) => {
    const path = `properties.ruleCollections[${i}]`;
    if (!isObject(c)) return problems.wrongType(path, c, "a rule collection");
    const p = propertiesOf(c);
    const type = text(p.ruleCollectionType)?.toLowerCase() ?? "";
    if (type.includes("nat")) return;
    const rules: FirewallRule[] = [];
    (arrayField(p, "rules", problems, path) ?? []).forEach((r, j) => {
      const ruleType = text(bag(r).ruleType)?.toLowerCase();
      const kind =
        ruleType === "networkrule"
          ? "network"
          : ruleType === "applicationrule"
            ? "application"
            : null;
      if (kind === null) {
        if (ruleType !== "natrule") problems.add(`${path}.rules[${j}]`, "has no known ruleType");
        return;
      }
      const parsed = ruleOf(r, kind, problems, `${path}.rules[${j}]`);
      if (parsed) rules.push(parsed);
    });
    collections.push({
      name: text(c.name) ?? `collection-${i}`,
      priority: priorityOf(p.priority),
      action: action(p.action),
      kind: rules.some((r) => r.kind === "application") ? "application" : "network",
      rules,
    });
  });
  return {
    id: row.id,
    name: text(row.name) ?? nameOf(row.id),
    policyKey: keyOf(policyId),
    priority: priorityOf(props.priority),
    collections,
    malformed: problems.all,
  };
}

export function ipGroupOf(row: ArmRow): IpGroup {
  const props = bag(row.properties);
  const problems = new Problems(row.id);
  const raw = arrayField(props, "ipAddresses", problems, "properties");
  if (props.ipAddresses === undefined) problems.add("properties.ipAddresses", "is missing");
  return {
    id: row.id,
    ipAddresses: raw ? stringsOf(raw, problems, "properties.ipAddresses") : [],
    malformed: problems.all,
  };
}
