import type { Endpoint } from "../catalog/endpoints.js";
import type { Hop, Impact, Severity, Status } from "../model.js";
import type { Blocker } from "./path/follow.js";
import type { CandidateRoute } from "./path/routes.js";
import type { ReasonCode } from "../reasons.js";

/** One endpoint IP's outcome on one subnet: the path walk with the subnet's filters applied. */
export interface EndpointOutcome {
  endpoint: Endpoint;
  reachable: boolean | null;
  /** The causes, the deciding one first. */
  causes: ReasonCode[];
  path: Hop[];
  blockers: Blocker[];
  /** The route chosen where the packet leaves the subnet. */
  firstRoute: CandidateRoute | null;
  /** Some route of the subnet would send this IP elsewhere (a bypass route decides it). */
  forced: boolean;
}

export interface Verdict {
  status: Status;
  reasons: ReasonCode[];
  summary: string;
  /** The status without the exemption (the same as status unless it is Exempt). */
  statusWithout: Status;
}

export interface VerdictInput {
  subnetName: string;
  notApplicable: boolean;
  outcomes: EndpointOutcome[];
  /**
   * The exemption that counts, if any: its words for the summary and the reason code (EXEMPTED for
   * the tag, POLICY_EXEMPT for an Azure Policy exemption).
   */
  exemption: { label: string; reason: ReasonCode } | null;
  /** Some exemption covering the subnet expired (or is unreadable): reported, not honoured. */
  unhonouredExemption?: boolean;
}

function ips(outcomes: EndpointOutcome[]): string {
  return outcomes.map((o) => o.endpoint.ip).join(", ");
}

function last(o: EndpointOutcome): string {
  return o.path[o.path.length - 1]?.detail ?? "no path";
}

const ROUTE_CAUSES: ReadonlySet<ReasonCode> = new Set([
  "TUNNELED_ON_PREMISES",
  "VPN_DEFAULT_SITE",
  "DEFAULT_ROUTE_BLACKHOLED",
  "BGP_DEFAULT_ROUTE_LEARNED",
  "FIREWALL_FORCED_TUNNELED",
  "TRAFFIC_STAYS_IN_VNET",
  "NVA_DECLARED_DENIES",
  "NVA_IP_FORWARDING_DISABLED",
  "ROUTE_SERVER_ROUTE_LEARNED",
  "VIRTUAL_HUB_ROUTE_LEARNED",
  "PATH_LOOP",
]);

/** Status, reasons and the deciding path from per-endpoint outcomes (DESIGN.md section 3, rules 4–5). */
export function judge(input: VerdictInput): Verdict {
  const { outcomes } = input;
  if (input.notApplicable) {
    return {
      status: "NotApplicable",
      reasons: ["NOT_APPLICABLE_SUBNET"],
      summary: `${input.subnetName} is a platform subnet that never hosts customer VMs.`,
      statusWithout: "NotApplicable",
    };
  }
  const reached = outcomes.filter((o) => o.reachable === true);
  const refused = outcomes.filter((o) => o.reachable === false);
  const unknown = outcomes.filter((o) => o.reachable === null);
  const reasons = new Set<ReasonCode>();

  // Schema 1's route-table codes, for the KMS set, where they still say what happened.
  const kms = (list: EndpointOutcome[]) => list.filter((o) => o.endpoint.set === "kms");
  const kmsRefused = kms(refused);
  const kmsReached = kms(reached);
  if (kmsRefused.length > 0 && kmsReached.length > 0) reasons.add("KMS_ROUTES_INCOMPLETE");
  else if (kmsRefused.some((o) => o.causes.some((c) => ROUTE_CAUSES.has(c))))
    reasons.add("KMS_ROUTES_MISSING");
  if (kmsRefused.length > 0 && kmsReached.length > 0 && kmsReached.every((o) => o.endpoint.legacy))
    reasons.add("LEGACY_KMS_IP_ONLY");
  if (kmsRefused.some(isWrongHostRoute)) reasons.add("KMS_ROUTE_WRONG_NEXT_HOP");
  for (const o of refused) for (const c of o.causes) reasons.add(c);
  for (const o of unknown) for (const c of o.causes) reasons.add(c);

  let status: Status;
  let summary: string;
  let decider: EndpointOutcome;
  if (refused.length > 0) {
    status = "NonCompliant";
    decider = refused[0]!;
    summary = `${refused.length} of ${outcomes.length} endpoint IPs (${ips(refused)}) are not reachable: ${last(decider)}.`;
  } else if (unknown.length > 0) {
    status = "Unverified";
    decider = unknown[0]!;
    summary = `${unknown.length} of ${outcomes.length} endpoint IPs (${ips(unknown)}) cannot be decided from the data: ${last(decider)}.`;
  } else {
    status = "Compliant";
    const via = new Set(reached.map((o) => o.causes[0]!));
    const viaFirewall = via.has("REACHABLE_VIA_FIREWALL");
    const viaAppliance = via.has("NVA_DECLARED_ALLOWS");
    if (viaFirewall) reasons.add("REACHABLE_VIA_FIREWALL");
    if (viaAppliance) reasons.add("NVA_DECLARED_ALLOWS");
    const direct = reached.filter((o) => o.causes[0] === "REACHABLE_DIRECT");
    if (direct.length > 0)
      reasons.add(direct.some((o) => o.forced) ? "KMS_ROUTES_PRESENT" : "NO_FORCED_TUNNEL");
    summary =
      outcomes.length === 0
        ? "No endpoint set applies to the subnet."
        : `All ${outcomes.length} endpoint IPs are reachable${viaFirewall ? " through the firewall" : viaAppliance ? " through a declared appliance" : direct.some((o) => o.forced) ? ": routes bypass forced tunneling to the Internet" : " directly"}.`;
  }
  const statusWithout = status;
  const needsAttention = status === "NonCompliant" || status === "Unverified";
  if (input.unhonouredExemption && needsAttention) reasons.add("EXEMPTION_EXPIRED");
  if (input.exemption !== null && needsAttention) {
    reasons.add(input.exemption.reason);
    summary = `Exempt (${input.exemption.label}); otherwise ${status}: ${summary}`;
    status = "Exempt";
  }
  return {
    status,
    statusWithout,
    reasons: [...reasons],
    // Kept by every finding of the situation: flat, not a tree of template-literal pieces.
    summary: summary.normalize(),
  };
}

/** A /32 route for exactly this IP whose next hop is not the Internet. */
function isWrongHostRoute(o: EndpointOutcome): boolean {
  const r = o.firstRoute;
  return (
    r !== null &&
    r.source === "UserDefinedRoute" &&
    r.length === 32 &&
    r.nextHopType.toLowerCase() !== "internet"
  );
}

/** Who is affected when an endpoint set fails: the VMs (and instances) of the OS family it serves. */
function affectedBy(endpoint: Endpoint, impact: Impact): number | null {
  // KMS serves Windows; another set judged for every subnet may serve any VM.
  const family =
    endpoint.set === "kms" ? "windows" : endpoint.appliesTo === "all" ? "any" : endpoint.appliesTo;
  switch (family) {
    case "any":
      return impact.networkInterfaces;
    case "windows":
      return impact.windowsVirtualMachines === null && impact.windowsScaleSetInstances === null
        ? null
        : (impact.windowsVirtualMachines ?? 0) + (impact.windowsScaleSetInstances ?? 0);
    case "rhelPayGo":
      return impact.rhelPayAsYouGoVirtualMachines;
    case "slesPayGo":
      return impact.slesPayAsYouGoVirtualMachines;
  }
}

/**
 * Severity is certainty × impact (DESIGN.md section 3, rule 6): high for NonCompliant with VMs of
 * a failing set's OS family, or when that is unknown; medium for NonCompliant with none today; low
 * for Unverified; none otherwise.
 */
export function severityOf(status: Status, outcomes: EndpointOutcome[], impact: Impact): Severity {
  if (status === "Unverified") return "low";
  if (status !== "NonCompliant") return "none";
  let zero = false;
  const sets = new Map<string, Endpoint>();
  for (const o of outcomes) if (o.reachable === false) sets.set(o.endpoint.set, o.endpoint);
  for (const endpoint of sets.values()) {
    const affected = affectedBy(endpoint, impact);
    if (affected === null || affected > 0) return "high";
    zero = true;
  }
  return zero ? "medium" : "high";
}
