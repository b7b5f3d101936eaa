// `audit`: what is wrong in a live cluster's claims, and the plan that repairs it (issue 14).
// Pure: a snapshot, what OVN's NB and (with a node) the node's OVS hold, in; findings and repair
// actions out. Every rule is the controller's own, reused, not derived again:
// - the start-up rebuild (IncrementalPlanner.prepare, ExistingClaims.loadExisting) decides which
//   claims stand: a claim it could not restore because another holds its address or MAC is
//   `AddressHeldTwice`; an IP object it would release (no live pod network owns it, and no
//   StatefulSet, VM or reservation retains it) is `ClaimWithoutPod`; a pod whose annotations and
//   IP object disagree is `ClaimAnnotationMismatch` (its notes);
// - a live pod network whose annotations say `allocated: "true"` with no IP object of its own is
//   `PodAnnotatedWithoutClaim`; a pod not yet allocated is no finding;
// - a Subnet whose status counts or ranges are not those of the rebuilt claims is
//   `StatusCountsDisagree` (the allocator's memory and conditions are not compared);
// - the controller's OVN audit (planOvnAuditWithRouter) against the NB: a port of ours with no
//   claim is `PortWithoutClaim`, a committed claim with no port `ClaimWithoutPort`, any other
//   repair (a drifted port, a missing or drifted switch or router port) `OvnDrift`;
// - with a node: an OVS interface of ours (`external_ids:vendor=kube-ovn`) whose iface-id names
//   no claim, or whose pod is not a live pod of that node, is `PortWithoutClaim`; one with a
//   standing claim is compared with its pod's netns (`NetnsMismatch`, `NetnsGone`): the node's
//   rules are NodeAudit.ts's.
// Repairs: each finding's actions, the repair the controller itself plans where it has one.
// AddressHeldTwice, which the controller only reports, is decided by the conflict rule the
// rebuild applies (pod annotations first, then IP objects by creation time, then name): the
// loser's port and IP object are deleted, its pod's published annotations withdrawn, and its pod
// gets a ClaimConflict Warning Event saying it must be recreated to get a new address.
// Order: findings by kind (in KINDS order), then object, then message; actions in apply order
// (port deletes, IP object deletes, IP object writes, OVN repairs, annotation patches, Events,
// Subnet status, node ports), each (type, target) once.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac, formatValue } from './Address.js';
import type { PlanOptions } from './ClusterPlanner.js';
import { planAll, resolvePod } from './ClusterPlanner.js';
import type { PlannerState } from './IncrementalPlanner.js';
import { prepare, releaseOrphan, statusViewWith, subnetStatusWith } from './IncrementalPlanner.js';
import type { Claim, IpamState } from './IpamState.js';
import { claimIdOf } from './IpamState.js';
import type { SeenOvn } from './OvnPorts.js';
import { ensureSwitchOf, OVN_VENDOR, ovnSubnets, portDeleteOf } from './OvnPorts.js';
import type { SeenRouter } from './OvnRouter.js';
import { planOvnAuditWithRouter } from './OvnRouter.js';
import type { NetnsRead, NodeRepair, PortVerdict, SeenNode } from './NodeAudit.js';
import { netnsReadsOf, nodeFound } from './NodeAudit.js';
import type { Action } from './Plan.js';
import { inCreationOrder, ipName, podKeyOf } from './PlanContext.js';
import { addressText } from './Records.js';
import { ALLOCATED_TRUE, annotationKey } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';
import type { Snapshot } from './Snapshot.js';
import { unpublish } from './Unplug.js';
import { isGone } from './Workloads.js';

export const KINDS = [
  'AddressHeldTwice', 'ClaimWithoutPod', 'PodAnnotatedWithoutClaim', 'ClaimAnnotationMismatch', 'StatusCountsDisagree', 'PortWithoutClaim', 'ClaimWithoutPort', 'OvnDrift', 'NetnsMismatch', 'NetnsGone',
] as const;
export type FindingKind = (typeof KINDS)[number];

export interface Finding {
  readonly kind: FindingKind;
  /** `IP/<name>`, `Pod/<ns>/<name>`, `Subnet/<name>`, `LogicalSwitchPort/<name>`, `OvsPort/<node>/<name>`, … */
  readonly object: string;
  readonly message: string;
}

export type { NetnsRead, NodeRepair, SeenNetns, SeenNode, SeenOvsInterface } from './NodeAudit.js';
export type AuditAction = Action | NodeRepair;

export interface AuditInput {
  readonly snapshot: Snapshot;
  /** As the controller plans: `ovn` set when the NB is read. */
  readonly options: PlanOptions;
  /** What OVN's NB holds of ours; absent: OVN is not audited. */
  readonly ovn?: { readonly seen: SeenOvn; readonly router: SeenRouter } | undefined;
  readonly node?: SeenNode | undefined;
}

export interface AuditResult {
  readonly findings: readonly Finding[];
  readonly actions: readonly AuditAction[];
}

/** A finding and its repair; a repair without a finding goes with another's (a port's switch). */
type Found = { readonly finding: Finding | undefined; readonly actions: readonly AuditAction[] };

const live = (pod: Pod): boolean => pod.spec.hostNetwork !== true && !isGone(pod);

/** The IP object name a claim stands for: its retained IP object's, else its owner's. */
const claimIpName = (claim: Claim): string =>
  claim.key.podUid.startsWith('retained:') ? claim.key.podUid.slice('retained:'.length) : ipName(claim.owner.name, claim.owner.namespace, claim.key.provider);

const baseId = (id: string): string => id.split('#')[0]!;

/** What another claim in `ipam` holds of what `claim` asks for (its address in its Subnet, or
 *  its MAC), or undefined when nothing of it is held twice. */
const heldBy = (ipam: IpamState, claim: Claim): { readonly what: string; readonly holder: Claim } | undefined => {
  const s = ipam.subnets.get(claim.subnet);
  if (s === undefined) return undefined;
  for (const family of [4, 6] as const) {
    const value = family === 4 ? claim.v4 : claim.v6;
    const id = value === undefined ? undefined : (family === 4 ? s.v4 : s.v6)?.used.get(value);
    const holder = id === undefined ? undefined : ipam.claims.get(id);
    if (holder !== undefined && baseId(holder.id) !== claim.id) return { what: formatValue(family, value!), holder };
  }
  const id = claim.mac === undefined ? undefined : s.macs.get(claim.mac);
  const holder = id === undefined ? undefined : ipam.claims.get(id);
  return holder !== undefined && baseId(holder.id) !== claim.id ? { what: `MAC ${formatMac(claim.mac!)}`, holder } : undefined;
};

const podText = (c: Claim): string => (c.key.podUid.startsWith('retained:') ? 'no pod (retained)' : `pod ${c.owner.namespace}/${c.owner.name}`);

/** AddressHeldTwice: each claim the rebuild could not restore because another holds it. */
const heldTwice = (input: AuditInput, ps: PlannerState): Found[] => {
  const { snapshot, options } = input;
  const ctx = { ...ps.ctx, snapshot };
  return [...(ps.loaded.unrestored ?? new Map<string, Claim>()).values()].flatMap((claim): Found[] => {
    const held = heldBy(ps.ipam, claim);
    if (held === undefined) return [];
    const name = claimIpName(claim);
    const winner = claimIpName(held.holder);
    const podKey = `${claim.owner.namespace}/${claim.owner.name}`;
    const pod = claim.key.podUid.startsWith('retained:') ? undefined : snapshot.pods.get(podKey)?.object;
    const recreate = pod === undefined ? '' : `; pod ${podKey} must be recreated to get a new address`;
    const message = `${held.what} in subnet ${claim.subnet} is held by IP object ${winner} (${podText(held.holder)}) and by IP object ${name} (${podText(claim)}, ${addressText(claim)}); `
      + `${name} came later (pod annotations first, then IP objects by creation time, then name), so its claim is released${recreate}`;
    const ip = snapshot.ips.get(name)?.object;
    const port = options.ovn === true && ip !== undefined ? portDeleteOf(ctx, ip, `unplug it from OVN: ${message}`) : undefined;
    const patch = pod === undefined ? {} : unpublish(pod, [claim.key.provider]);
    const actions: AuditAction[] = [
      ...(port === undefined ? [] : [port]),
      ...(ip === undefined ? [] : [{ type: 'DeleteIP' as const, target: name, reason: `release its addresses: ${message}` }]),
      ...(Object.keys(patch).length === 0 ? [] : [{ type: 'PatchPodAnnotations' as const, target: podKey, reason: `withdraw the addresses of ${claim.key.provider}: ${held.what} is another's`, annotations: patch }]),
      ...(pod === undefined ? [] : [{
        type: 'EmitEvent' as const, target: podKey, reason: message,
        event: { type: 'Warning' as const, reason: 'ClaimConflict', message: `ClaimConflict: ${message}` },
      }]),
    ];
    return [{ finding: { kind: 'AddressHeldTwice', object: `IP/${name}`, message }, actions }];
  });
};

/** The actions of `plan` for one IP object name: its record, and with OVN its port. */
const recordActions = (planned: readonly Action[], name: string): Action[] =>
  planned.filter((a) => a.target === name && (a.type === 'CreateIP' || a.type === 'UpdateIP' || a.type === 'EnsureLogicalSwitchPort'));

/** ClaimWithoutPod, PodAnnotatedWithoutClaim and ClaimAnnotationMismatch. */
const claimFindings = (input: AuditInput, ps: PlannerState, planned: readonly Action[]): Found[] => {
  const { snapshot, options } = input;
  const out: Found[] = [];
  const rewritten = new Set(planned.flatMap((a) => (a.type === 'UpdateIP' ? [a.target] : [])));
  for (const [name, reason] of ps.loaded.deletions) {
    const ip = snapshot.ips.get(name)?.object;
    const message = `IP object ${name} holds ${ip?.spec.ipAddress ?? '?'} in subnet ${ip?.spec.subnet ?? '?'}, but ${reason}`;
    // A new pod of that name writes its own claim over it (planAll): that write is the repair.
    const actions = rewritten.has(name) ? recordActions(planned, name) : releaseOrphan(ps, snapshot, name, reason, options);
    out.push({ finding: { kind: 'ClaimWithoutPod', object: `IP/${name}`, message }, actions });
  }
  const pods = inCreationOrder(snapshot.pods.values()).map((e) => e.object).filter(live);
  for (const pod of pods) {
    for (const item of resolvePod(ps.ctx, pod).items) {
      const { net, ipName: name } = item.live;
      const annotations = pod.metadata.annotations ?? {};
      if (annotations[annotationKey(net.provider, 'allocated')] !== ALLOCATED_TRUE || ps.loaded.conflicts.has(claimIdOf(item.live.key))) continue;
      const ip = snapshot.ips.get(name)?.object;
      if (ip !== undefined && !ps.loaded.deletions.has(name)) continue;
      const address = annotations[annotationKey(net.provider, 'ip_address')] ?? '';
      const message = `pod ${podKeyOf(pod)} ${net.interface} (${net.provider}) is annotated allocated with ${address}, but ${ip === undefined ? `no IP object ${name} exists` : `IP object ${name} is another pod's`}`;
      out.push({ finding: { kind: 'PodAnnotatedWithoutClaim', object: `Pod/${podKeyOf(pod)}`, message }, actions: recordActions(planned, name) });
    }
  }
  for (const note of ps.loaded.notes) {
    const pod = snapshot.pods.get(note.pod)?.object;
    const item = pod === undefined ? undefined : resolvePod(ps.ctx, pod).items.find((i) => i.net.provider === note.provider && i.net.interface === note.interface);
    const name = item?.live.ipName ?? note.pod;
    const event: Action = { type: 'EmitEvent', target: note.pod, reason: note.message, event: { type: 'Warning', reason: 'ClaimDisagreement', message: note.message } };
    out.push({ finding: { kind: 'ClaimAnnotationMismatch', object: `IP/${name}`, message: note.message }, actions: [...recordActions(planned, name), event] });
  }
  return out;
};

const COUNT_FIELDS = ['v4usingIPs', 'v4availableIPs', 'v4usingIPrange', 'v4availableIPrange', 'v6usingIPs', 'v6availableIPs', 'v6usingIPrange', 'v6availableIPrange'] as const;

/** StatusCountsDisagree: each valid Subnet whose status counts are not those of the claims. */
const statusFindings = (input: AuditInput, ps: PlannerState): Found[] =>
  [...input.snapshot.subnets.keys()].sort().flatMap((name): Found[] => {
    const s = ps.ctx.subnets.get(name);
    const want = statusViewWith(ps, input.snapshot, name);
    if (s === undefined || E.isLeft(s) || want === undefined) return [];
    const current = (input.snapshot.subnets.get(name)?.object.status ?? {}) as Readonly<Record<string, unknown>>;
    const wrong = COUNT_FIELDS.filter((f) => String(current[f] ?? '') !== String(want[f]));
    if (wrong.length === 0) return [];
    const message = `Subnet ${name}'s status says ${wrong.map((f) => `${f} ${JSON.stringify(current[f] ?? null)}`).join(', ')}; the claims give ${wrong.map((f) => `${f} ${JSON.stringify(want[f])}`).join(', ')}`;
    const action = subnetStatusWith(ps, input.snapshot, name);
    return [{ finding: { kind: 'StatusCountsDisagree', object: `Subnet/${name}`, message }, actions: action === undefined ? [] : [action] }];
  });

const OVN_OBJECT: Readonly<Partial<Record<Action['type'], string>>> = {
  EnsureLogicalSwitch: 'LogicalSwitch', DeleteLogicalSwitch: 'LogicalSwitch', EnsureLogicalSwitchPort: 'LogicalSwitchPort', DeleteLogicalSwitchPort: 'LogicalSwitchPort',
  EnsureLogicalRouter: 'LogicalRouter', EnsureLogicalRouterPort: 'LogicalRouterPort', DeleteLogicalRouterPort: 'LogicalRouterPort',
};

/** The OVN audit's repairs, each as a finding. A port named for a claim the rebuild holds (a
 *  pod annotated without its IP object) is that claim's, not one without a claim. */
const ovnFindings = (input: AuditInput, ps: PlannerState, planned: readonly Action[]): Found[] => {
  if (input.ovn === undefined) return [];
  const claimed = new Set([...ps.ipam.claims.values()].map(claimIpName));
  const ensured = new Set(planned.flatMap((a) => (a.type === 'EnsureLogicalSwitchPort' ? [a.target] : [])));
  const seen = new Set(input.ovn.seen.ports.map((p) => p.name));
  const subnets = ovnSubnets({ ...ps.ctx, snapshot: input.snapshot });
  return planned.flatMap((a): Found[] => {
    const object = `${OVN_OBJECT[a.type] ?? a.type}/${a.target}`;
    // The switch a port's ensure brings along, not itself drifted (its reason carries no why).
    const subnet = subnets.get(a.target);
    if (a.type === 'EnsureLogicalSwitch' && subnet !== undefined && a.reason === ensureSwitchOf(subnet).reason) return [{ finding: undefined, actions: [a] }];
    if (a.type === 'DeleteLogicalSwitchPort' && !ensured.has(a.target)) {
      return claimed.has(a.target) ? [] : [{ finding: { kind: 'PortWithoutClaim', object, message: `logical switch port ${a.target}: ${a.reason}` }, actions: [a] }];
    }
    if (a.type === 'EnsureLogicalSwitchPort' && !seen.has(a.target)) {
      return [{ finding: { kind: 'ClaimWithoutPort', object: `IP/${a.target}`, message: `IP object ${a.target} (pod ${a.port.externalIds['pod'] ?? '?'}: ${a.port.addresses}) is allocated, but OVN has no logical switch port ${a.target}` }, actions: [a] }];
    }
    return [{ finding: { kind: 'OvnDrift', object, message: `${object}: ${a.reason}` }, actions: [a] }];
  });
};

/** Each OVS interface of ours on the node, in name order, with its verdict: no claim (why), or
 *  the claim behind it and the pod's interface name (NodeAudit.ts takes it from there). */
const portVerdicts = (input: AuditInput, ps: PlannerState): PortVerdict[] => {
  const node = input.node;
  if (node === undefined) return [];
  // A pod's own claim over one that only shelters its address (both name its IP object).
  const standing = [...ps.ipam.claims.values()].filter((c) => !c.key.podUid.startsWith('retained:')).sort((a, b) => Number(a.shelteredFrom === undefined) - Number(b.shelteredFrom === undefined));
  const claims = new Map(standing.map((c) => [claimIpName(c), c]));
  return [...node.interfaces].filter((i) => i.externalIds['vendor'] === OVN_VENDOR).sort((a, b) => (a.name < b.name ? -1 : 1)).map((iface): PortVerdict => {
    const ifaceId = iface.externalIds['iface-id'] ?? '';
    const podKey = `${iface.externalIds['pod_namespace'] ?? ''}/${iface.externalIds['pod_name'] ?? ''}`;
    const pod = input.snapshot.pods.get(podKey)?.object;
    const claim = claims.get(ifaceId);
    if (claim === undefined) return { iface, why: `its iface-id ${JSON.stringify(ifaceId)} names no claim (no live pod network's IP object or annotations)` };
    if (pod === undefined || !live(pod)) return { iface, why: `its pod ${podKey} is gone` };
    if (pod.spec.nodeName !== node.name) return { iface, why: `its pod ${podKey} runs on ${pod.spec.nodeName === undefined || pod.spec.nodeName === '' ? 'no node yet' : `node ${pod.spec.nodeName}`}, not ${node.name}` };
    return { iface, claim, ifName: resolvePod(ps.ctx, pod).items.find((i) => i.live.ipName === ifaceId)?.net.interface };
  });
};

/** With a node: where its pods' interfaces are to be read (the caller reads them into
 *  `node.netns` before `audit`). */
export const netnsReads = (input: AuditInput): readonly NetnsRead[] => netnsReadsOf(portVerdicts(input, prepare(input.snapshot, input.options)));

/** Where an action goes in the repair plan (see the header's order). */
const rankOf = (a: AuditAction): number => {
  switch (a.type) {
    case 'DeleteIP': return 1;
    case 'CreateIP': case 'UpdateIP': return 2;
    case 'PatchPodAnnotations': return 4;
    case 'EmitEvent': return 5;
    case 'UpdateSubnetStatus': case 'UpdateIPPoolStatus': return 6;
    case 'DeleteOvsPort': case 'DeleteLink': return 7;
    default: return 3;
  }
};

const compareFindings = (a: Finding, b: Finding): number =>
  KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || (a.object < b.object ? -1 : a.object > b.object ? 1 : 0) || (a.message < b.message ? -1 : a.message > b.message ? 1 : 0);

/** The audit of a snapshot (see the rules above). */
export const audit = (input: AuditInput): AuditResult => {
  const ps = prepare(input.snapshot, input.options);
  const planned = planAll(input.snapshot, input.options).actions;
  const ovn = input.ovn === undefined ? [] : planOvnAuditWithRouter({ ...ps.ctx, snapshot: input.snapshot }, ps.ipam, input.ovn.seen, input.ovn.router);
  const found = [...heldTwice(input, ps), ...claimFindings(input, ps, planned), ...statusFindings(input, ps), ...ovnFindings(input, ps, ovn), ...(input.node === undefined ? [] : nodeFound(input.node, portVerdicts(input, ps)))];
  const findings = found.flatMap((f) => (f.finding === undefined ? [] : [f.finding])).sort(compareFindings);
  // Repairs in the findings' order; an accompanying one (no finding) after them all.
  const keyOf = (f: Found): number => (f.finding === undefined ? Number.MAX_SAFE_INTEGER : findings.indexOf(f.finding));
  found.sort((a, b) => keyOf(a) - keyOf(b));
  // Port deletes of released claims go first (no port outlives its claim); the OVN audit's own
  // repairs keep their order (a move stays one transaction).
  const first = (a: AuditAction): number => (a.type === 'DeleteLogicalSwitchPort' && found.some((f) => f.finding !== undefined && f.finding.kind !== 'PortWithoutClaim' && f.finding.kind !== 'OvnDrift' && f.actions.includes(a)) ? 0 : rankOf(a));
  const seen = new Set<string>();
  const actions = found.flatMap((f) => f.actions).filter((a) => {
    const id = `${a.type} ${a.target}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
  // The OVN audit's repairs keep its order among themselves (a switch before its ports).
  const ovnAt = new Map<AuditAction, number>(ovn.map((a, i) => [a, i]));
  const ranked = actions.map((a, i) => ({ a, r: first(a), k: ovnAt.get(a) ?? ovn.length + i }))
    .sort((x, y) => x.r - y.r || x.k - y.k).map((x) => x.a);
  return { findings, actions: ranked };
};

/** `--output json`: findings and the actions' type, target and reason. */
export const auditJson = (result: AuditResult): unknown => ({
  findings: result.findings,
  actions: result.actions.map((a) => ({ type: a.type, target: a.target, reason: a.reason })),
});
