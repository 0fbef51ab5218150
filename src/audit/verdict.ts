import type { Endpoint } from "../catalog/endpoints.js";
import type { Severity, Status } from "../model.js";
import type { ReasonCode } from "./reasons.js";
import type { RouteDecision } from "./route-decision.js";

export interface EndpointOutcome {
  endpoint: Endpoint;
  decision: RouteDecision;
  /** Some route of the table would tunnel this IP (even if a more specific one bypasses it). */
  tunneledByAnyRoute: boolean;
}

export interface Verdict {
  status: Status;
  severity: Severity;
  reasons: ReasonCode[];
  summary: string;
  missingRoutes: string[];
}

export interface VerdictInput {
  subnetName: string;
  notApplicable: boolean;
  outcomes: EndpointOutcome[];
  hasInvalidRoutes: boolean;
  /** Justification of an exemption tag on the route table or VNet, if any. */
  exemption: string | null;
}

function describeIps(outcomes: EndpointOutcome[]): string {
  return outcomes.map((o) => o.endpoint.ip).join(", ");
}

function describeRoute(decision: RouteDecision): string {
  const hop = decision.nextHopType ?? "no next hop";
  const route = decision.routeName
    ? `route '${decision.routeName}' ${decision.addressPrefix}`
    : decision.addressPrefix;
  return `${hop} (${route})`;
}

/** Status, severity, reasons and missing routes from per-endpoint outcomes (DESIGN.md section 3). */
export function judge(input: VerdictInput): Verdict {
  const { outcomes } = input;
  const bypassed = outcomes.filter((o) => o.decision.bypassed === true);
  const refused = outcomes.filter((o) => o.decision.bypassed === false);
  const unknown = outcomes.filter((o) => o.decision.bypassed === null);
  const reasons = new Set<ReasonCode>();

  if (input.notApplicable) {
    return {
      status: "NotApplicable",
      severity: "none",
      reasons: ["NOT_APPLICABLE_SUBNET"],
      summary: `${input.subnetName} is a platform subnet that never hosts customer VMs.`,
      missingRoutes: [],
    };
  }

  const tunneled = refused.filter((o) => !o.decision.hostRoute);
  if (refused.length > 0 && bypassed.length > 0) reasons.add("KMS_ROUTES_INCOMPLETE");
  else if (tunneled.length > 0) reasons.add("KMS_ROUTES_MISSING");
  if (refused.length > 0 && bypassed.length > 0 && bypassed.every((o) => o.endpoint.legacy)) {
    reasons.add("LEGACY_KMS_IP_ONLY");
  }
  if (refused.some((o) => o.decision.hostRoute)) reasons.add("KMS_ROUTE_WRONG_NEXT_HOP");
  if (tunneled.some((o) => o.decision.nextHopType?.toLowerCase() === "none"))
    reasons.add("DEFAULT_ROUTE_BLACKHOLED");
  for (const o of unknown) if (o.decision.unknownCause) reasons.add(o.decision.unknownCause);

  let status: Status;
  let severity: Severity;
  let summary: string;
  if (refused.length > 0) {
    status = "NonCompliant";
    // An appliance may still source-NAT to an Azure public IP (Azure Firewall does), so activation
    // can survive it; a gateway, None or any other hop never reaches KMS from an Azure IP.
    const viaAppliance = refused.every(
      (o) => o.decision.nextHopType?.toLowerCase() === "virtualappliance",
    );
    severity = viaAppliance ? "medium" : "high";
    const first = refused[0]!.decision;
    summary = `${refused.length} of ${outcomes.length} endpoint IPs (${describeIps(refused)}) go to ${describeRoute(first)} instead of the Internet; add routes with next hop Internet.`;
  } else if (unknown.length > 0) {
    status = "Unverified";
    severity = "low";
    summary = `${unknown.length} of ${outcomes.length} endpoint IPs (${describeIps(unknown)}) cannot be decided from the data: ${[...reasons].join(", ")}.`;
  } else {
    status = "Compliant";
    severity = "none";
    const forced = outcomes.some((o) => o.tunneledByAnyRoute);
    reasons.add(forced ? "KMS_ROUTES_PRESENT" : "NO_FORCED_TUNNEL");
    summary = forced
      ? `All ${outcomes.length} endpoint IPs bypass forced tunneling to the Internet.`
      : `No route sends the ${outcomes.length} endpoint IPs anywhere but the Internet.`;
  }
  if (input.hasInvalidRoutes) reasons.add("INVALID_ROUTE_PREFIX");
  if (input.exemption !== null && (status === "NonCompliant" || status === "Unverified")) {
    reasons.add("EXEMPTED");
    summary = `Exempt (${input.exemption}); otherwise ${status}: ${summary}`;
    status = "Exempt";
    severity = "none";
  }

  const missingRoutes = unbypassedEndpoints(outcomes).map((e) => `${e.ip}/32`);
  return { status, severity, reasons: [...reasons], summary, missingRoutes };
}

/** The endpoints a /32 route must still bypass, once per IP (the first set that names it). */
export function unbypassedEndpoints(outcomes: EndpointOutcome[]): { set: string; ip: string }[] {
  const seen = new Set<string>();
  const missing: { set: string; ip: string }[] = [];
  for (const { endpoint, decision } of outcomes) {
    if (decision.bypassed === true || seen.has(endpoint.ip)) continue;
    seen.add(endpoint.ip);
    missing.push({ set: endpoint.set, ip: endpoint.ip });
  }
  return missing;
}
