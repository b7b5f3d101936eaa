// What a plan reads from a snapshot once, before it plans any pod: the subnets in precedence
// order (validated, the overlap rule applied), the NAD configs, and for each pod network its
// subnet, its request (the user-written annotations) and its claim key.
// Rules for the subnet of a network (DESIGN §3.1-3.3):
// - `<provider>.kubernetes.io/logical_switch` names it; an IPAM-only network may only use a
//   subnet of its own provider, an OVN network only an OVN subnet;
// - else an `ip_pool` that names an IPPool selects the IPPool's subnet (a pool that is not
//   ready, see IPPools.ts, allocates nothing: NoAvailableAddress);
// - else, for the default network: the namespace's `ovn.kubernetes.io/logical_switch` (its
//   first entry), then a subnet listing the namespace in `spec.namespaces`, then the default
//   Subnet (`ovn-default` unless the controller's --default-subnet names another);
// - else, for an attachment: the first subnet (in precedence order) bound to its provider.
// Namespace precedence for the default network of a pod that names no ip_pool, ip_address or
// logical_switch itself (namespacePoolsOf; Kube-OVN's pod.go acquireAddress with namespace.go):
// - pools before subnets: a namespace with IPPools gives its pods a pool's address, and the
//   pool's Subnet is the pod's;
// - its pools: those its `ovn.kubernetes.io/ip_pool` annotation names, in order, then those
//   whose spec.namespaces lists it, by creation time then name (IPPools.ts poolsOfNamespace);
// - a pool serves only when ready and inside one of the namespace's subnets: the subnet chosen
//   above, the entries of its `ovn.kubernetes.io/logical_switch` annotation, and the Subnets
//   whose spec.namespaces lists it (Kube-OVN writes that annotation from them; with neither,
//   ovn-default); the first such pool with a free address gives it;
// - a pool the annotation names that does not exist, or no pool that may serve: NoAvailableAddress
//   (naming each pool with why it does not serve: its not-ready reason, or its other Subnet).
// Kube-OVN's namespace controller rewrites both annotations from the spec.namespaces lists; we
// write no Namespace and read both (annotation first).
// Subnet precedence (subnetsInPrecedence): creation time, then claims held, then our Ready
// record, then the name; never input order (the earlier wins an overlap).
import * as E from 'fp-ts/lib/Either.js';
import { parseMac } from './Address.js';
import type { ClaimKey } from './IpamState.js';
import type { DefaultNetworkMode, NadIndex, PodNetwork } from './Networks.js';
import { indexNads } from './Networks.js';
import type { PlanErrorCode } from './Plan.js';
import type { PodNetworkRequest } from './schema/annotations.js';
import { annotationKey, parseIpAddresses, parsePodNetworkRequest } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';
import type { Subnet as SubnetObject } from './schema/kubeovn.js';
import type { Entry, Snapshot } from './Snapshot.js';
import type { Subnet, SubnetInvalid } from './Subnet.js';
import { validateSubnets } from './Subnet.js';
import type { PoolVerdicts, ReadyPool } from './IPPools.js';
import { judgePools, NAMESPACE_POOLS_ANNOTATION, poolsByNamespace, poolsOfNamespace } from './IPPools.js';
import type { ClaimOwner } from './VirtualMachines.js';
import { claimOwnerOf } from './VirtualMachines.js';

export const DEFAULT_SUBNET = 'ovn-default';

/** How the cluster's default network is set up (the controller's flags, which `plan` takes too). */
export interface NetworkSettings {
  /** Who serves eth0 of a pod that names no default network (default `ovn`). */
  readonly defaultNetwork?: DefaultNetworkMode;
  /** The default network's Subnet (default `ovn-default`). */
  readonly defaultSubnet?: string;
}

export interface PlanContext {
  readonly snapshot: Snapshot;
  readonly nads: NadIndex;
  readonly defaultNetwork: DefaultNetworkMode;
  readonly defaultSubnet: string;
  /** Every Subnet by name: canonical, or why it is invalid. */
  readonly subnets: ReadonlyMap<string, E.Either<SubnetInvalid, Subnet>>;
  /** Subnet names in precedence order. */
  readonly subnetOrder: readonly string[];
  /** Every IPPool by name: ready, or why not (IPPools.ts). */
  readonly pools: PoolVerdicts;
  /** Namespace → IPPools listing it in spec.namespaces, in precedence order. */
  readonly poolsByNamespace: ReadonlyMap<string, readonly string[]>;
}

const byCreation = <A extends { readonly metadata: { readonly creationTimestamp?: string | undefined } }>(a: Entry<A>, b: Entry<A>): number => {
  const ta = a.object.metadata.creationTimestamp ?? '\uffff';
  const tb = b.object.metadata.creationTimestamp ?? '\uffff';
  return ta < tb ? -1 : ta > tb ? 1 : a.order - b.order;
};

/** Entries in creation order, then input order (objects without a creation time come last). */
export const inCreationOrder = <A extends { readonly metadata: { readonly creationTimestamp?: string | undefined } }>(entries: Iterable<Entry<A>>): Entry<A>[] =>
  [...entries].sort(byCreation);

/** Did this controller record the Subnet as valid (our Ready condition, `Validated`)? */
const recordedReady = (subnet: SubnetObject): boolean =>
  (subnet.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True' && c.reason === 'Validated');

/** Subnets in precedence order: the earlier one wins an overlap (DESIGN §3.3). The order must be
 *  the same in every controller, after every restart and in `plan`, whatever order the objects
 *  arrive in (a re-list returns them by name, a watch by event): creation time first; on a tie
 *  (creationTimestamp has second precision) the Subnet that already holds claims (IP objects
 *  naming it), then the one we recorded Ready; then the name. Once one of two Subnets created in
 *  the same second has been used, the choice acted on is the choice kept. */
export const subnetsInPrecedence = (snapshot: Snapshot): Entry<SubnetObject>[] => {
  const claimed = new Set<string>();
  for (const e of snapshot.ips.values()) claimed.add(e.object.spec.subnet);
  const keyOf = (e: Entry<SubnetObject>) => ({
    time: e.object.metadata.creationTimestamp ?? '\uffff',
    claimed: claimed.has(e.object.metadata.name) ? 0 : 1,
    ready: recordedReady(e.object) ? 0 : 1,
    name: e.object.metadata.name,
  });
  const keyed = [...snapshot.subnets.values()].map((e) => ({ e, k: keyOf(e) }));
  keyed.sort(({ k: a }, { k: b }) =>
    a.time < b.time ? -1 : a.time > b.time ? 1 : a.claimed - b.claimed || a.ready - b.ready || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return keyed.map(({ e }) => e);
};

export const buildContext = (snapshot: Snapshot, settings: NetworkSettings = {}): PlanContext => {
  const ordered = subnetsInPrecedence(snapshot);
  const results = validateSubnets(ordered.map((e) => e.object));
  const subnets = new Map(ordered.map((e, i) => [e.object.metadata.name, results[i]!]));
  return {
    snapshot,
    nads: indexNads(snapshot),
    defaultNetwork: settings.defaultNetwork ?? 'ovn',
    defaultSubnet: settings.defaultSubnet ?? DEFAULT_SUBNET,
    subnets,
    subnetOrder: ordered.map((e) => e.object.metadata.name),
    pools: judgePools(snapshot, subnets),
    poolsByNamespace: poolsByNamespace(snapshot),
  };
};

export const podKeyOf = (pod: Pod): string => `${pod.metadata.namespace ?? 'default'}/${pod.metadata.name}`;

/** The pod's UID; a pod read from a file may lack one, and then its key stands in. */
export const podUidOf = (pod: Pod): string => pod.metadata.uid ?? `name:${podKeyOf(pod)}`;

/** Whom the pod's claims belong to: itself (by UID), or its KubeVirt VM (VirtualMachines.ts). */
export const ownerOf = (pod: Pod): ClaimOwner => claimOwnerOf(pod, podUidOf(pod));

export const claimKeyOf = (pod: Pod, net: PodNetwork): ClaimKey => ({ podUid: ownerOf(pod).uid, provider: net.provider, interface: net.claimInterface });

/** `<pod>.<ns>` for the default network, `<pod>.<ns>.<provider>` for attachments (`<vm>` for
 *  a VM's pod). */
export const ipNameOf = (pod: Pod, net: PodNetwork): string => ipName(ownerOf(pod).name, pod.metadata.namespace ?? 'default', net.provider);

/** The IP object name of a pod's network by its parts (see ipNameOf). */
export const ipName = (podName: string, namespace: string, provider: string): string =>
  provider === 'ovn' ? `${podName}.${namespace}` : `${podName}.${namespace}.${provider}`;

export interface Problem {
  readonly code: PlanErrorCode;
  readonly message: string;
}

/** The user's request for one network: its annotations, plus the selection element's `ips`
 *  and `mac` where the annotations give none. */
export const requestOf = (pod: Pod, net: PodNetwork): E.Either<readonly Problem[], PodNetworkRequest> => {
  const annotations = pod.metadata.annotations ?? {};
  const parsed = parsePodNetworkRequest(annotations, { provider: net.provider });
  if (E.isLeft(parsed)) return E.left(parsed.left.map((p) => ({ code: p.code, message: p.message })));
  let request = parsed.right;
  if (net.claimInterface !== undefined && request.ipAddresses === undefined && request.mac === undefined) {
    // Kube-OVN's per-interface keys: <nad>.<ns>.kubernetes.io/ip_address.<ifName>.
    const perInterface = parsePodNetworkRequest(annotations, { provider: baseProvider(net), ifName: net.claimInterface });
    if (E.isLeft(perInterface)) return E.left(perInterface.left.map((p) => ({ code: p.code, message: p.message })));
    request = {
      ...request,
      ...(perInterface.right.ipAddresses ? { ipAddresses: perInterface.right.ipAddresses } : {}),
      ...(perInterface.right.mac !== undefined ? { mac: perInterface.right.mac } : {}),
    };
  }
  const sel = net.selection;
  if (request.ipAddresses === undefined && sel?.ips !== undefined && sel.ips.length > 0) {
    const ips = parseIpAddresses(sel.ips.join(','));
    if (E.isLeft(ips)) return E.left([{ code: 'InvalidAnnotation', message: `annotation k8s.v1.cni.cncf.io/networks: ips of ${sel.namespace}/${sel.name}: ${ips.left}` }]);
    request = { ...request, ipAddresses: ips.right };
  }
  if (request.mac === undefined && sel?.mac !== undefined) {
    const mac = parseMac(sel.mac);
    if (E.isLeft(mac)) return E.left([{ code: 'InvalidAnnotation', message: `annotation k8s.v1.cni.cncf.io/networks: mac of ${sel.namespace}/${sel.name}: ${mac.left}` }]);
    request = { ...request, mac: mac.right };
  }
  return E.right(request);
};

const usable = (ctx: PlanContext, name: string, why: string): E.Either<Problem, Subnet> => {
  const s = ctx.subnets.get(name);
  if (s === undefined) return E.left({ code: 'NoSubnet', message: `subnet ${name} (${why}) does not exist` });
  if (E.isLeft(s)) return E.left({ code: 'SubnetInvalid', message: `${s.left.message} (${why})` });
  return E.right(s.right);
};

/** The base provider of a network (without the `.<ifName>` of a NAD attached twice). */
export const baseProvider = (net: PodNetwork): string =>
  net.claimInterface !== undefined && net.provider.endsWith(`.${net.claimInterface}`) ? net.provider.slice(0, -(net.claimInterface.length + 1)) : net.provider;

const fits = (net: PodNetwork, s: Subnet, why: string): E.Either<Problem, Subnet> => {
  if (net.isOvn && !s.isOvn) return E.left({ code: 'NoSubnet', message: `subnet ${s.name} (${why}) serves IPAM-only provider ${s.provider}, not an OVN network` });
  if (!net.isOvn && s.provider !== baseProvider(net)) {
    return E.left({ code: 'NoSubnet', message: `subnet ${s.name} (${why}) serves provider ${s.provider}, not ${baseProvider(net)}` });
  }
  return E.right(s);
};

export const chooseSubnet = (ctx: PlanContext, pod: Pod, net: PodNetwork, request: PodNetworkRequest): E.Either<Problem, Subnet> => {
  if (request.ipPool?.kind === 'pool' && !ctx.snapshot.ippools.has(request.ipPool.name)) {
    return E.left({ code: 'NoAvailableAddress', message: `IPPool ${request.ipPool.name} named by annotation ${annotationKey(net.provider, 'ip_pool')} does not exist` });
  }
  if (request.logicalSwitch !== undefined) {
    const why = `named by annotation ${annotationKey(net.provider, 'logical_switch')}`;
    return E.chain((s: Subnet) => fits(net, s, why))(usable(ctx, request.logicalSwitch, why));
  }
  if (request.ipPool?.kind === 'pool') {
    const pool = ctx.snapshot.ippools.get(request.ipPool.name)?.object;
    if (pool === undefined) return E.left({ code: 'NoAvailableAddress', message: `IPPool ${request.ipPool.name} named by annotation ${annotationKey(net.provider, 'ip_pool')} does not exist` });
    const verdict = ctx.pools.get(pool.metadata.name);
    if (verdict !== undefined && E.isLeft(verdict)) {
      return E.left({ code: 'NoAvailableAddress', message: `IPPool ${pool.metadata.name} named by annotation ${annotationKey(net.provider, 'ip_pool')} is not ready: ${verdict.left}` });
    }
    const why = `of IPPool ${pool.metadata.name}`;
    return E.chain((s: Subnet) => fits(net, s, why))(usable(ctx, pool.spec.subnet, why));
  }
  const namespace = pod.metadata.namespace ?? 'default';
  if (net.provider === 'ovn') {
    const fromNamespace = ctx.snapshot.namespaces.get(namespace)?.object.metadata.annotations?.['ovn.kubernetes.io/logical_switch'];
    const first = fromNamespace?.split(',').map((x) => x.trim()).find((x) => x !== '');
    if (first !== undefined) return usable(ctx, first, `named by namespace ${namespace}'s annotation ovn.kubernetes.io/logical_switch`);
    const bound = ctx.subnetOrder.find((name) => {
      const s = ctx.subnets.get(name);
      return s !== undefined && E.isRight(s) && s.right.isOvn && s.right.namespaces.includes(namespace);
    });
    if (bound !== undefined) return usable(ctx, bound, `bound to namespace ${namespace}`);
    return usable(ctx, ctx.defaultSubnet, 'the default subnet');
  }
  const provider = baseProvider(net);
  const bound = ctx.subnetOrder.find((name) => {
    const s = ctx.subnets.get(name)!;
    return (E.isRight(s) ? s.right.provider : ctx.snapshot.subnets.get(name)?.object.spec.provider) === provider;
  });
  if (bound === undefined) return E.left({ code: 'NoSubnet', message: `provider ${provider} is not bound to any subnet (no Subnet has spec.provider: ${provider})` });
  return usable(ctx, bound, `bound to provider ${provider}`);
};

/** The namespace's IPPools that may serve this network (see the file's rules), in order;
 *  undefined when the namespace binds none or the pod's own annotations decide. */
export const namespacePoolsOf = (ctx: PlanContext, pod: Pod, net: PodNetwork, request: PodNetworkRequest, chosen: Subnet): E.Either<Problem, readonly ReadyPool[]> | undefined => {
  if (net.provider !== 'ovn' || request.ipPool !== undefined || request.ipAddresses !== undefined || request.logicalSwitch !== undefined) return undefined;
  const name = pod.metadata.namespace ?? 'default';
  const namespace = ctx.snapshot.namespaces.get(name)?.object;
  const names = poolsOfNamespace(namespace, ctx.poolsByNamespace.get(name) ?? []);
  if (names.length === 0) return undefined;
  const missing = names.find((n) => !ctx.snapshot.ippools.has(n));
  if (missing !== undefined) return E.left({ code: 'NoAvailableAddress', message: `IPPool ${missing} named by namespace ${name}'s annotation ${NAMESPACE_POOLS_ANNOTATION} does not exist` });
  const annotated = (namespace?.metadata.annotations?.['ovn.kubernetes.io/logical_switch'] ?? '').split(',').map((x) => x.trim());
  const bound = ctx.subnetOrder.filter((s) => ctx.snapshot.subnets.get(s)?.object.spec.namespaces?.includes(name) === true);
  const candidates = [...new Set([chosen.name, ...annotated, ...bound])].filter((s) => {
    const v = ctx.subnets.get(s);
    return v !== undefined && E.isRight(v) && v.right.isOvn;
  });
  const pools = names.flatMap((n) => {
    const v = ctx.pools.get(n);
    return v !== undefined && E.isRight(v) && candidates.includes(v.right.subnet) ? [v.right] : [];
  });
  if (pools.length === 0) {
    // Each pool is named with why it does not serve: not ready (its condition's reason), or in another Subnet.
    const why = names.map((n) => {
      const v = ctx.pools.get(n);
      return v !== undefined && E.isLeft(v) ? `IPPool ${n} is not ready: ${v.left}` : `IPPool ${n} is of subnet ${ctx.snapshot.ippools.get(n)?.object.spec.subnet ?? '?'}`;
    });
    return E.left({ code: 'NoAvailableAddress', message: `no IPPool of namespace ${name} is ready in its subnets (${candidates.join(', ')}): ${why.join('; ')}` });
  }
  return E.right(pools);
};
