// The cluster planner: from a snapshot, every pod interface's addresses and every action the
// controller would take, as data (DESIGN §2, §3.1-§3.5, §3.7).
// Order of a plan (and of its output), always the same for the same snapshot:
//   1. existing claims are loaded (ExistingClaims.ts) and the addresses that static requests
//      and ip_pool lists name are held back from dynamic allocation;
//   2. DeleteIP for IP objects no live pod network owns, by name (with `ovn`, each on an OVN
//      Subnet preceded by DeleteLogicalSwitchPort of its port);
//   3. live pods in creation order, then input order: per network in interface order
//      CreateIP/UpdateIP, then (with `ovn`) EnsureLogicalSwitch, EnsureLogicalRouter and
//      EnsureLogicalRouterPort (the Subnet's gateway, OvnRouter.ts) and EnsureLogicalSwitchPort
//      for each written interface on an OVN Subnet, then one PatchPodAnnotations, then an
//      EmitEvent per error;
//   4. UpdateSubnetStatus per Subnet whose status differs, by name, then UpdateIPPoolStatus per
//      IPPool whose status differs, by name (IPPoolStatus.ts), and an error per IPPool that is
//      not ready;
//   5. simulated pods of workloads (allocations and errors only: they have no objects).
// Errors are data: one bad pod, network or Subnet never stops the others.
import * as E from 'fp-ts/lib/Either.js';
import type { AllocationRequest } from './Allocator.js';
import { allocateIn, releaseIn, reserveForPoolsIn } from './Allocator.js';
import { ANNOTATIONS_LIMIT_BYTES, annotationBytes, mayOutgrow, oversizeMessage } from './AnnotationSize.js';
import { Draft, familyDraft } from './Draft.js';
import type { LiveNetwork, Loaded } from './ExistingClaims.js';
import { loadExisting } from './ExistingClaims.js';
import type { Claim } from './IpamState.js';
import { claimIdOf, emptyState } from './IpamState.js';
import type { AllocationError } from './Errors.js';
import { allocationError } from './Errors.js';
import type { PodNetwork } from './Networks.js';
import { podNetworks } from './Networks.js';
import type { Action, AllocationView, Plan, PlanError, PlanErrorCode } from './Plan.js';
import type { NetworkSettings, PlanContext, Problem } from './PlanContext.js';
import { buildContext, chooseSubnet, claimKeyOf, inCreationOrder, ipNameOf, namespacePoolsOf, ownerOf, podKeyOf, podUidOf, requestOf } from './PlanContext.js';
import { ensurePortOf, ensureSwitchOf, portDeleteOf } from './OvnPorts.js';
import { gatewaysOf } from './OvnRouter.js';
import { restoreClaim } from './Rebuild.js';
import { isReservation, RESERVED_LABEL, reservationEventOf } from './Reservations.js';
import { POD_UID_LABEL, addressText, annotationDiff, desiredAnnotations, desiredIpObject, ipObjectMatches, macText, statusMatches, statusOf, subnetTexts } from './Records.js';
import type { PodNetworkRequest } from './schema/annotations.js';
import { parseIpAddresses } from './schema/annotations.js';
import { memoryOf, restoreMemoryIn } from './AllocatorMemory.js';
import type { Pod } from './schema/kube.js';
import type { Snapshot } from './Snapshot.js';
import type { Subnet } from './Subnet.js';
import { givenUp, unpublish } from './Unplug.js';
import { warningText } from './Subnet.js';
import { subnetEventOf } from './SubnetEvents.js';
import { subnetUsage } from './Usage.js';
import { VM_ANNOTATION } from './VirtualMachines.js';
import { isGone, simulatedPods, statefulSetOf } from './Workloads.js';
import type { ReadyPool } from './IPPools.js';
import { declaredRanges } from './IPPools.js';
import { planPoolStatuses } from './IPPoolStatus.js';
import { holdItemsIn } from './PoolHolds.js';

export interface PlanOptions extends NetworkSettings {
  /** The clock, as data (milliseconds since the epoch). */
  readonly now: number;
  /** Milliseconds a released address rests before reuse. */
  readonly cooldownMs?: number;
  /** Addresses released before this plan (by earlier plans), so they are reused last and only
   *  after their cooldown: each with its subnet and release time. */
  readonly released?: readonly ReleasedAddresses[];
  /** Keep OVN's northbound database in step: plan logical switches and ports for interfaces on
   *  OVN Subnets (off unless the controller has an OVN NB database). */
  readonly ovn?: boolean;
}

export interface ReleasedAddresses {
  readonly subnet: string;
  /** `v4`, `v6` or `v4,v6`. */
  readonly ipAddress: string;
  readonly at: number;
}

/** Puts earlier releases back into the draft as released addresses (skipping any that are in
 *  use again). */
/** @internal (IncrementalPlanner) */
export const rememberReleases = (d: Draft, released: readonly ReleasedAddresses[]): void => {
  released.forEach((r, i) => {
    const parsed = parseIpAddresses(r.ipAddress);
    if (E.isLeft(parsed)) return;
    const key = { podUid: `released-earlier:${i}`, provider: 'ovn' };
    const claim = {
      id: claimIdOf(key), key, owner: { namespace: '', name: '' }, subnet: r.subnet, source: 'existing' as const,
      v4: parsed.right.find((a) => a.family === 4)?.value, v6: parsed.right.find((a) => a.family === 6)?.value,
    };
    if (E.isRight(restoreClaim(d, claim))) releaseIn(d, claim.id, r.at);
  });
};

/** Restores every valid Subnet's allocator memory from its status (AllocatorMemory.ts);
 *  returns the Subnets whose record was unreadable (ignored), with why. */
/** @internal (IncrementalPlanner) */
export const restoreMemories = (ctx: PlanContext, d: Draft): readonly { readonly subnet: string; readonly message: string }[] =>
  ctx.subnetOrder.flatMap((name) => {
    if (E.isLeft(ctx.subnets.get(name)!)) return [];
    const message = restoreMemoryIn(d, name, ctx.snapshot.subnets.get(name)?.object.status?.allocator);
    return message === undefined ? [] : [{ subnet: name, message }];
  });

/** One network of one pod, resolved as far as it goes. */
export interface Item {
  readonly net: PodNetwork;
  readonly live: LiveNetwork;
  /** `pools`: the namespace's IPPools to try in order (PlanContext namespacePoolsOf). */
  readonly resolved: E.Either<readonly Problem[], { readonly request: PodNetworkRequest; readonly subnet: Subnet; readonly pools?: readonly ReadyPool[] }>;
}

export interface PodItems {
  readonly pod: Pod;
  /** Set for simulated pods: the workload they stand for. */
  readonly simulated?: string;
  readonly items: readonly Item[];
  readonly problems: readonly (Problem & { readonly provider: string; readonly interface: string })[];
}

/** @internal (IncrementalPlanner) */
export const resolvePod = (ctx: PlanContext, pod: Pod, simulated?: string): PodItems => {
  const { networks, problems } = podNetworks(ctx.nads, pod, ctx.defaultNetwork);
  const items = networks.map((net): Item => {
    const request = requestOf(pod, net);
    const subnet = E.isRight(request) ? chooseSubnet(ctx, pod, net, request.right) : undefined;
    const live: LiveNetwork = { pod, net, key: claimKeyOf(pod, net), ipName: ipNameOf(pod, net), subnet: subnet && E.isRight(subnet) ? subnet.right.name : undefined };
    if (E.isLeft(request)) return { net, live, resolved: request };
    if (E.isLeft(subnet!)) return { net, live, resolved: E.left([subnet.left]) };
    const pools = namespacePoolsOf(ctx, pod, net, request.right, subnet!.right);
    if (pools !== undefined && E.isLeft(pools)) return { net, live, resolved: E.left([pools.left]) };
    return { net, live, resolved: E.right({ request: request.right, subnet: subnet!.right, ...(pools === undefined ? {} : { pools: pools.right }) }) };
  });
  return { pod, ...(simulated !== undefined ? { simulated } : {}), items, problems };
};

const poolRangesOf = (ctx: PlanContext, request: PodNetworkRequest): AllocationRequest['poolRanges'] => {
  if (request.ipPool?.kind !== 'pool') return undefined;
  const verdict = ctx.pools.get(request.ipPool.name);
  return verdict !== undefined && E.isRight(verdict) ? verdict.right.ranges : undefined;
};

/** Keeps every IPPool's ranges (ready or not, see IPPools.ts) out of dynamic allocation. */
/** @internal (IncrementalPlanner) */
export const reservePoolsIn = (ctx: PlanContext, d: Draft): void => {
  for (const e of ctx.snapshot.ippools.values()) reserveForPoolsIn(d, e.object.spec.subnet, declaredRanges(e.object));
};

const requestFor = (ctx: PlanContext, item: Item, request: PodNetworkRequest, subnet: Subnet, now: number): AllocationRequest => {
  const { pod } = item.live;
  const sts = statefulSetOf(pod);
  return {
    key: item.live.key,
    owner: { namespace: pod.metadata.namespace ?? 'default', name: ownerOf(pod).name },
    subnet: subnet.name,
    ipAddresses: request.ipAddresses,
    pool: request.ipPool?.kind === 'addresses' ? request.ipPool.entries : undefined,
    poolRanges: poolRangesOf(ctx, request),
    ordinal: request.ipPool?.kind === 'addresses' && sts !== undefined ? sts.ordinal : undefined,
    family: request.ipFamily,
    mac: request.mac,
    macSeed: item.net.isOvn ? `${item.live.key.podUid}/${item.net.provider}/${item.live.key.interface ?? ''}` : undefined,
    now,
  };
};

/** Collects the plan's parts in order. */
/** @internal (IncrementalPlanner) */
export class PlanBuilder {
  readonly allocations: AllocationView[] = [];
  readonly actions: Action[] = [];
  readonly errors: PlanError[] = [];

  /** Records an error; its Event goes to `events`, which the caller appends after the pod's writes. */
  error(p: PodItems, provider: string, iface: string, code: PlanErrorCode, cause: string, event: string, events: Action[]): void {
    const pod = podKeyOf(p.pod);
    const where = [iface, provider === '' ? '' : `(${provider})`].filter((x) => x !== '').join(' ');
    const message = `pod ${pod}${where === '' ? '' : ` ${where}`}${p.simulated !== undefined ? ` [simulated for ${p.simulated}]` : ''}: ${cause}`;
    this.errors.push({ pod, provider, ...(iface !== '' ? { interface: iface } : {}), code, message, ...(p.simulated !== undefined ? { simulated: true as const } : {}) });
    // The Event says the code first, so `kubectl describe pod` shows what went wrong at a glance.
    if (p.simulated === undefined) events.push({ type: 'EmitEvent', target: pod, reason: message, event: { type: 'Warning', reason: event, message: `${code}: ${message}` } });
  }

  build(): Plan {
    return { allocations: this.allocations, actions: this.actions, errors: this.errors };
  }
}

const eventReason = (code: PlanErrorCode): string =>
  code === 'InvalidAnnotation' || code === 'NetworkNotFound' || code === 'UnmanagedNetwork' || code === 'ProviderMismatch' ? 'ValidatePodNetworkFailed'
  : code === 'ClaimConflict' ? 'ClaimConflict'
  : 'AcquireAddressFailed';

/** A StatefulSet pod (recreated, or simulated) or a VM's pod (the VM restarted) takes over the
 *  claim its predecessor kept: the one its IP object kept after the old pod was gone
 *  (`retained:<ip name>`, see ExistingClaims), or (StatefulSet) the old pod's own claim when
 *  the new pod shows up first (a VM's pods share one claim key, so they need no such step). */
const adoptRetained = (ctx: PlanContext, d: Draft, item: Item): void => {
  const { pod } = item.live;
  const owner = ownerOf(pod);
  const reserved = ctx.snapshot.ips.get(item.live.ipName)?.object;
  // A reservation (Reservations.ts) is taken over by the pod of its name, whatever its UID.
  if ((owner.podType === '' && (reserved === undefined || !isReservation(reserved))) || d.claims.has(claimIdOf(item.live.key))) return;
  let retained = d.claims.get(claimIdOf({ podUid: `retained:${item.live.ipName}`, provider: item.net.provider }));
  if (retained === undefined && owner.podType === 'StatefulSet') {
    const ip = ctx.snapshot.ips.get(item.live.ipName)?.object;
    const uid = ip?.metadata.labels?.[POD_UID_LABEL];
    if (ip?.spec.podType === 'StatefulSet' && uid !== undefined && uid !== podUidOf(pod)) {
      retained = d.claims.get(claimIdOf({ podUid: uid, provider: item.net.provider, interface: item.live.key.interface }));
    }
  }
  if (retained === undefined) return;
  releaseIn(d, retained.id, 0);
  for (const family of [4, 6] as const) {
    const value = family === 4 ? retained.v4 : retained.v6;
    const f = value === undefined ? undefined : familyDraft(d.subnet(retained.subnet)!, family);
    f?.released.delete(value!);
  }
  restoreClaim(d, { ...retained, id: claimIdOf(item.live.key), key: item.live.key, owner: { namespace: pod.metadata.namespace ?? 'default', name: owner.name } });
};

/** Allocates one network in its subnet; or, bound by its namespace to IPPools, in the first
 *  of them with a free address (the one whose subnet holds its current claim first, so an
 *  allocated pod keeps its address). */
const allocateFor = (ctx: PlanContext, d: Draft, item: Item, resolved: Extract<Item['resolved'], { _tag: 'Right' }>['right'], now: number): E.Either<AllocationError, { readonly claim: Claim; readonly subnet: Subnet }> => {
  const { request, subnet, pools } = resolved;
  if (pools === undefined) return E.map((claim: Claim) => ({ claim, subnet }))(allocateIn(d, requestFor(ctx, item, request, subnet, now)));
  const held = d.claims.get(claimIdOf(item.live.key));
  const ordered = held === undefined ? pools : [...pools.filter((p) => p.subnet === held.subnet), ...pools.filter((p) => p.subnet !== held.subnet)];
  const reasons: string[] = [];
  for (const pool of ordered) {
    const s = ctx.subnets.get(pool.subnet);
    if (s === undefined || E.isLeft(s)) continue;
    const result = allocateIn(d, { ...requestFor(ctx, item, request, s.right, now), poolRanges: pool.ranges });
    if (E.isRight(result)) return E.right({ claim: result.right, subnet: s.right });
    if (result.left.code !== 'NoAvailableAddress') return result;
    reasons.push(`${pool.name}: ${result.left.message}`);
  }
  const namespace = item.live.pod.metadata.namespace ?? 'default';
  return E.left(allocationError('NoAvailableAddress', `no IPPool of namespace ${namespace} has a free address (${reasons.join('; ')})`));
};

/** Plans one pod's networks into the draft and the builder. */
/** @internal (IncrementalPlanner) */
export const planPodIn = (ctx: PlanContext, d: Draft, p: PodItems, loaded: Loaded, out: PlanBuilder, now: number, ovn = false): void => {
  const podKey = podKeyOf(p.pod);
  const owner = ownerOf(p.pod);
  // The OVN port's `pod`: the VM for a VM's pod (one port for all its pods, as Kube-OVN's).
  const portOwner = `${p.pod.metadata.namespace ?? 'default'}/${owner.name}`;
  const events: Action[] = [];
  for (const prob of p.problems) out.error(p, prob.provider, prob.interface, prob.code, prob.message, eventReason(prob.code), events);
  const patch: Record<string, string | null> = {};
  // Near the API server's annotation limit the pod is planned on a draft that can be rolled back.
  const subnetsOf = p.items.map((i) => ({ provider: i.net.provider, subnet: E.isRight(i.resolved) ? i.resolved.right.subnet.name : '' }));
  const before = p.simulated === undefined && mayOutgrow(p.pod.metadata.annotations ?? {}, subnetsOf) ? { state: d.commit(), allocations: out.allocations.length } : undefined;
  const ipActions: Action[] = [];
  const switches: Action[] = [];
  const gateways: Subnet[] = [];
  const ports: Action[] = [];
  for (const item of p.items) {
    const { net, live } = item;
    const fail = (code: PlanErrorCode, cause: string) => out.error(p, net.provider, net.interface, code, cause, eventReason(code), events);
    const reservation = ctx.snapshot.ips.get(live.ipName)?.object;
    const reserved = reservation !== undefined && isReservation(reservation);
    const conflict = loaded.conflicts.get(claimIdOf(live.key)) ?? (reserved ? loaded.conflicts.get(claimIdOf({ podUid: `retained:${live.ipName}`, provider: net.provider })) : undefined);
    if (conflict !== undefined) {
      fail('ClaimConflict', conflict);
      continue;
    }
    if (E.isLeft(item.resolved)) {
      for (const prob of item.resolved.left) fail(prob.code, prob.message);
      continue;
    }
    adoptRetained(ctx, d, item);
    const result = allocateFor(ctx, d, item, item.resolved.right, now);
    if (E.isLeft(result)) {
      fail(result.left.code, result.left.message);
      continue;
    }
    const { claim, subnet } = result.right;
    const texts = subnetTexts(claim, subnet);
    out.allocations.push({
      pod: podKey, provider: net.provider, interface: net.interface, subnet: subnet.name, ipAddress: addressText(claim), macAddress: macText(claim),
      cidr: texts.cidr, gateway: texts.gateway, source: claim.source, ...(p.simulated !== undefined ? { simulated: true as const } : {}),
    });
    if (p.simulated !== undefined) continue;
    const diff = annotationDiff(p.pod, desiredAnnotations(net.provider, claim, subnet));
    Object.assign(patch, diff);
    const existing = ctx.snapshot.ips.get(live.ipName)?.object;
    // The IP object of an earlier pod of this name (recreated under a new UID, Kube-OVN #4304):
    // the new claim is written over it in one update, so the name never lacks a record.
    const stale = existing === undefined ? undefined : loaded.deletions.get(live.ipName);
    const record = desiredIpObject(live.ipName, p.pod, claim, stale === undefined ? existing : undefined, owner);
    // A reservation stays one: the full record keeps the address for the next pod of the name.
    const ip = reserved ? { ...record, labels: { ...record.labels, [RESERVED_LABEL]: 'true' } } : record;
    const what = `${net.interface} of pod ${podKey}: ${addressText(claim)} in ${subnet.name}`;
    if (existing === undefined) ipActions.push({ type: 'CreateIP', target: live.ipName, reason: `record the claim of ${what}`, ip });
    else if (stale !== undefined) ipActions.push({ type: 'UpdateIP', target: live.ipName, reason: `record the claim of ${what} over the earlier pod's (${stale})`, ip });
    else if (!ipObjectMatches(existing, ip)) ipActions.push({ type: 'UpdateIP', target: live.ipName, reason: `bring the IP object in line with ${what}`, ip });
    // Only an interface this plan writes gets its port ensured, so a converged pod plans nothing.
    const writes = ipActions.some((a) => a.target === live.ipName) || Object.keys(diff).length > 0;
    if (ovn && subnet.isOvn && writes) {
      if (!switches.some((a) => a.target === subnet.name)) {
        switches.push(ensureSwitchOf(subnet));
        gateways.push(subnet);
      }
      // A port cannot change switch in place: it goes, and comes back on the new one (one transaction).
      if (existing !== undefined && existing.spec.subnet !== subnet.name) ports.push({ type: 'DeleteLogicalSwitchPort', target: live.ipName, reason: `move it from ${existing.spec.subnet} to ${subnet.name}` });
      ports.push(ensurePortOf(live.ipName, portOwner, owner.uid, subnet, claim, `plug ${what} into OVN`));
    }
  }
  if (owner.vm !== undefined && p.simulated === undefined && p.pod.metadata.annotations?.[VM_ANNOTATION] !== owner.vm) patch[VM_ANNOTATION] = owner.vm;
  const dropped = givenUpOf(p);
  const keys = Object.keys(patch);
  Object.assign(patch, unpublish(p.pod, dropped));
  const size = before === undefined || Object.keys(patch).length === 0 ? 0 : annotationBytes(p.pod.metadata.annotations ?? {}, patch);
  if (before !== undefined && size > ANNOTATIONS_LIMIT_BYTES) {
    // Refused as a whole: no claim, no IP object, no port, no patch (AnnotationSize.ts).
    d.rollback(before.state);
    out.allocations.length = before.allocations;
    out.error(p, '', '', 'InvalidAnnotation', oversizeMessage(size), eventReason('InvalidAnnotation'), events);
    out.actions.push(...events);
    return;
  }
  out.actions.push(...ipActions, ...switches, ...gatewaysOf(gateways), ...ports);
  if (Object.keys(patch).length > 0) {
    const nets = [...new Set(p.items.filter((i) => keys.some((k) => k !== VM_ANNOTATION && k.startsWith(`${i.net.provider}.kubernetes.io/`))).map((i) => i.net.interface))];
    const reason = [
      nets.length > 0 ? `publish the addresses of ${nets.join(', ')} (allocated: "true")` : '',
      dropped.length > 0 ? `withdraw those of ${dropped.join(', ')} (no longer attached)` : '',
      nets.length === 0 && dropped.length === 0 ? `name the VM it runs (${VM_ANNOTATION}: ${owner.vm ?? ''})` : '',
    ].filter((x) => x !== '').join('; ');
    out.actions.push({ type: 'PatchPodAnnotations', target: podKey, reason, annotations: sortKeys(patch) });
  }
  out.actions.push(...events);
};

/** The providers a live pod gave up (Unplug.ts): none while one of its networks cannot be
 *  resolved, and none for a simulated pod. */
/** @internal (IncrementalPlanner) */
export const givenUpOf = (p: PodItems): readonly string[] =>
  p.problems.length > 0 || p.simulated !== undefined ? [] : givenUp(p.pod, new Set(p.items.map((i) => i.net.provider)));

const sortKeys = <V>(r: Record<string, V>): Record<string, V> => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));

export type PlanScope = { readonly kind: 'all' } | { readonly kind: 'pod'; readonly key: string };

/** Plans the snapshot: everything (`all`) or one pod (`pod`, with only its actions and the
 *  status of the subnets it uses). */
export const planSnapshot = (snapshot: Snapshot, options: PlanOptions, scope: PlanScope): Plan => {
  const ctx = buildContext(snapshot, options);
  const valid = ctx.subnetOrder.flatMap((name) => {
    const s = ctx.subnets.get(name)!;
    return E.isRight(s) ? [s.right] : [];
  });
  const pods = inCreationOrder(snapshot.pods.values()).map((e) => e.object).filter((p) => p.spec.hostNetwork !== true && !isGone(p));
  const resolved = pods.map((p) => resolvePod(ctx, p));
  const simulated = scope.kind === 'all' ? simulatedPods(snapshot).map((s) => resolvePod(ctx, s.pod, s.workload)) : [];
  const d = new Draft(emptyState(valid, { cooldownMs: options.cooldownMs ?? 0 }));
  const loaded = loadExisting(ctx, d, resolved.flatMap((r) => r.items.map((i) => i.live)), options.now);
  restoreMemories(ctx, d);
  rememberReleases(d, options.released ?? []);
  reservePoolsIn(ctx, d);
  holdItemsIn(d, [...resolved, ...simulated]);
  const out = new PlanBuilder();
  const inScope = (p: PodItems) => scope.kind === 'all' || podKeyOf(p.pod) === scope.key;
  for (const note of loaded.notes) {
    if (scope.kind === 'all' || note.pod === scope.key) out.actions.push({ type: 'EmitEvent', target: note.pod, reason: note.message, event: { type: 'Warning', reason: 'ClaimDisagreement', message: note.message } });
  }
  for (const r of resolved) if (inScope(r)) planPodIn(ctx, d, r, loaded, out, options.now, options.ovn === true);
  if (scope.kind === 'all') {
    // Every IP object without a live owner goes first, but those a pod's new claims are written
    // over (see planPodIn).
    const replaced = new Set(out.actions.flatMap((a) => (a.type === 'UpdateIP' ? [a.target] : [])));
    const releases: Action[] = [];
    for (const [name, reason] of [...loaded.deletions].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (replaced.has(name)) continue;
      const ip = snapshot.ips.get(name)?.object;
      const port = options.ovn === true && ip !== undefined ? portDeleteOf(ctx, ip, `unplug it from OVN: ${reason}`) : undefined;
      if (port !== undefined) releases.push(port);
      releases.push({ type: 'DeleteIP', target: name, reason: `release its addresses: ${reason}` });
    }
    out.actions.unshift(...releases);
    for (const [name, lost] of loaded.reservations) out.actions.push(reservationEventOf(name, lost));
  }
  const state = d.commit();
  const touched = new Set(out.allocations.map((a) => a.subnet));
  for (const name of [...snapshot.subnets.keys()].sort()) {
    if (scope.kind === 'pod' && !touched.has(name)) continue;
    const action = planSubnetStatusOf(ctx, state, name);
    if (action !== undefined) out.actions.push(action);
    const event = subnetEventOf(ctx, name);
    if (event !== undefined) out.actions.push(event);
  }
  out.actions.push(...planPoolStatuses(ctx, state, scope.kind === 'pod' ? touched : undefined));
  const sim = new Draft(state);
  for (const r of simulated) planPodIn(ctx, sim, r, loaded, out, options.now);
  return out.build();
};

/** @internal (IncrementalPlanner) */
export const planSubnetStatusOf = (ctx: PlanContext, state: ReturnType<Draft['commit']>, name: string): Action | undefined => {
  const s = ctx.subnets.get(name);
  const current = ctx.snapshot.subnets.get(name)?.object.status;
  if (s === undefined) return undefined;
  const status = E.isRight(s) ? statusOf(subnetUsage(state, name), { ok: true, warning: warningText(s.right) }, memoryOf(state, name)) : statusOf(undefined, { ok: false, message: s.left.message });
  if (statusMatches(current, status)) return undefined;
  const reason = E.isLeft(s)
    ? `mark it not ready: ${s.left.message}`
    : [s.right.v4 && `IPv4 ${status.v4usingIPs} in use, ${status.v4availableIPs} available`, s.right.v6 && `IPv6 ${status.v6usingIPs} in use, ${status.v6availableIPs} available`].filter(Boolean).join('; ');
  return { type: 'UpdateSubnetStatus', target: name, reason, status };
};

/** The whole snapshot in one deterministic pass. */
export const planAll = (snapshot: Snapshot, options: PlanOptions): Plan => planSnapshot(snapshot, options, { kind: 'all' });

/** One pod (by `namespace/name`), given everything else the snapshot holds. */
export const planPod = (snapshot: Snapshot, podKey: string, options: PlanOptions): Plan => planSnapshot(snapshot, options, { kind: 'pod', key: podKey });

/** A deleted pod: `snapshot` no longer holds it (or holds it terminating). The plan releases
 *  its IP objects, except those its StatefulSet still wants, and recounts its subnets. */
export const planPodDeleted = (snapshot: Snapshot, pod: Pod, options: PlanOptions): Plan => {
  const namespace = pod.metadata.namespace ?? 'default';
  const name = ownerOf(pod).name;
  const ownIps = new Set([...snapshot.ips.values()].filter((e) => e.object.spec.podName === name && e.object.spec.namespace === namespace).map((e) => e.object.metadata.name));
  const full = planAll({ ...snapshot, deployments: new Map(), replicasets: new Map() }, options);
  const deletes = full.actions.filter((a) => a.type === 'DeleteIP' && ownIps.has(a.target));
  const subnets = new Set([...snapshot.ips.values()].filter((e) => ownIps.has(e.object.metadata.name)).map((e) => e.object.spec.subnet));
  const statuses = full.actions.filter((a) => a.type === 'UpdateSubnetStatus' && subnets.has(a.target));
  return { allocations: [], actions: [...deletes, ...statuses], errors: [] };
};

/** The status action of one Subnet for the snapshot, if its status is not already right. */
export const planSubnetStatus = (snapshot: Snapshot, subnet: string, options: PlanOptions): Action | undefined =>
  planAll(snapshot, options).actions.find((a) => a.type === 'UpdateSubnetStatus' && a.target === subnet);
