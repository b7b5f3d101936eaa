// The node planner (DESIGN §2): from a CNI request, the pod's allocation for the request's
// provider and what is on the host now, the netlink and OVS actions that plug (ADD) or unplug
// (DEL) one pod interface. Pure: the daemon observes the host, plans, and applies.
//
// Rules:
// - Names come from the container ID and the interface, as in Kube-OVN: the veth pair is
//   `<id[:12]>_h`/`_c` for eth0 and `<id[:12-len(if)]>_<if>_h`/`_c` otherwise (at most 15 bytes,
//   the kernel's limit). An interface name too long to leave 4 characters of the ID is hashed.
// - ADD is level-based. A finished plug (the host end and the pod's link one veth pair, both
//   up, the pod's link with the MAC, MTU and addresses, our port the only one with our
//   iface-id and carrying our external_ids) is left in place: only its routes (`replace`) and
//   the wait are planned, so a repeated ADD or the plugin's CHECK never cuts the pod off.
//   Anything less is plugged afresh: a port and a host end left by an earlier ADD are deleted
//   (the host end takes its peer along) and made again (a veth recreated under an old port's
//   name is not picked up again by the userspace datapath; a fresh Interface row makes
//   ovn-controller bind anew). Another port with our iface-id (an earlier sandbox of the same
//   pod) is removed: two ports must not bind one logical port.
// - In the pod: the container end is moved, renamed to if_name, given the MAC, MTU and `up` in
//   one step; then the addresses with the subnet's prefix, the default route via the gateway
//   (default-route interface only), then the routes of the NAD and the annotation.
// - An interface whose subnet overlaps another allocated interface's of the same pod also gets
//   source routing (SourceRouting.ts): its connected route and its routes again in a table of
//   its own, and the rules `from <its address> lookup <table>`; the main table is unchanged.
//   The rules are planned only when those in the pod differ (then all of that table's rules are
//   replaced), and a DEL removes the rules it finds; the table's routes go with the link.
// - DEL removes exactly what ADD made, by name: the source rules, the OVS port, then the host
//   end (its peer goes with it). What is absent is not planned, so DEL of nothing is an empty plan.
// - Every action is idempotent and carries a reason.
import * as E from 'fp-ts/lib/Either.js';
import type { Family } from '../Address.js';
import { annotationKey, DEFAULT_PROVIDER } from '../schema/annotations.js';
import type { Route } from '../schema/route.js';
import { interfaceNameProblem } from '../schema/names.js';
import type { CniRequest, CniResponse } from './Protocol.js';
import type { Allocation, FamilyRoute } from './Routes.js';
import { cniIpsOf, defaultRouteFamilies, isDefaultDst, parseRequestRoutes, protocolOf, responseIps, toCniRoutes } from './Routes.js';
import { cidrsOverlap, fnv1a32, SOURCE_RULE_PRIORITY, sourceTableOf } from './SourceRouting.js';

// ---- requests --------------------------------------------------------------------------------

export type NodeError =
  | { readonly code: 'InvalidRequest'; readonly message: string }
  | { readonly code: 'UnknownProvider'; readonly provider: string; readonly message: string }
  | { readonly code: 'InvalidAllocation'; readonly message: string };

/** A CNI request whose fields have been checked; provider canonical (`''` is `ovn`). */
export interface ValidRequest {
  readonly podName: string;
  readonly podNamespace: string;
  readonly containerId: string;
  /** The pod's network namespace (a path); empty on a DEL whose sandbox is gone. */
  readonly netns: string;
  readonly ifName: string;
  readonly provider: string;
  readonly routes: readonly Route[];
  readonly podUid?: string | undefined;
  readonly deadlineMs?: number | undefined;
}

/** The OVS port's external_ids key for the pod's netns path (Kube-OVN's; audit --node reads it). */
export const POD_NETNS = 'pod_netns';

const containerIdPattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const invalidRequest = (message: string): NodeError => ({ code: 'InvalidRequest', message });

/** Checks a request of `command`; every problem is named, joined with "; ". */
export const validateRequest = (req: CniRequest, command: 'add' | 'del'): E.Either<NodeError, ValidRequest> => {
  const problems: string[] = [];
  if (!containerIdPattern.test(req.container_id)) {
    problems.push(`container_id ${JSON.stringify(req.container_id)} must be letters, digits, "_", "-" and "." (CNI_CONTAINERID)`);
  }
  const ifProblem = interfaceNameProblem(req.if_name);
  if (ifProblem !== undefined) problems.push(`if_name ${JSON.stringify(req.if_name)} ${ifProblem}`);
  if (command === 'add') {
    if (req.pod_name === '') problems.push('pod_name is empty (K8S_POD_NAME in CNI_ARGS)');
    if (req.pod_namespace === '') problems.push('pod_namespace is empty (K8S_POD_NAMESPACE in CNI_ARGS)');
  }
  if (req.deadline_ms !== undefined && !(Number.isInteger(req.deadline_ms) && req.deadline_ms > 0)) {
    problems.push(`deadline_ms ${String(req.deadline_ms)} must be a positive integer`);
  }
  const routes = parseRequestRoutes(req.routes);
  if (E.isLeft(routes)) problems.push(routes.left);
  if (problems.length > 0 || E.isLeft(routes)) return E.left(invalidRequest(`invalid CNI request: ${problems.join('; ')}`));
  return E.right({
    podName: req.pod_name,
    podNamespace: req.pod_namespace,
    containerId: req.container_id,
    netns: req.net_ns,
    ifName: req.if_name,
    provider: req.provider === '' ? DEFAULT_PROVIDER : req.provider,
    routes: routes.right,
    ...(req.pod_uid === undefined || req.pod_uid === '' ? {} : { podUid: req.pod_uid }),
    ...(req.deadline_ms === undefined ? {} : { deadlineMs: req.deadline_ms }),
  });
};

// ---- names -----------------------------------------------------------------------------------

export interface LinkNames {
  /** The host end, also the OVS port's name. */
  readonly host: string;
  /** The container end before it is renamed in the pod. */
  readonly container: string;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short stable tag for a long interface name. */
const hashTag = (text: string): string => fnv1a32(text).toString(16).padStart(8, '0');

export const linkNamesOf = (containerId: string, ifName: string): LinkNames => {
  let stem: string;
  if (ifName === 'eth0') stem = containerId.slice(0, 12);
  else if (12 - ifName.length >= 4) stem = `${containerId.slice(0, 12 - ifName.length)}_${ifName}`;
  else stem = `${containerId.slice(0, 4)}_${hashTag(ifName)}`;
  return { host: `${stem}_h`, container: `${stem}_c` };
};

/** The logical port (and IP object) name: `<pod>.<ns>` for `ovn`, else `<pod>.<ns>.<provider>`. */
export const ifaceIdOf = (podName: string, podNamespace: string, provider: string): string =>
  provider === DEFAULT_PROVIDER ? `${podName}.${podNamespace}` : `${podName}.${podNamespace}.${provider}`;

// ---- plans -----------------------------------------------------------------------------------

export interface NodeConfig {
  /** The integration bridge, `br-int`. */
  readonly bridge: string;
  /** The namespace (a path) of the host ends and of ovs-vswitchd; undefined: the daemon's own. */
  readonly hostNetns?: string | undefined;
  /** The MTU when the Subnet has none. */
  readonly defaultMtu: number;
  /** How long ADD waits for ovn-controller to bind the port; 0: it does not wait. */
  readonly ovnInstalledTimeoutMs: number;
}

/** A link by name in a namespace (a path; undefined: the daemon's own). */
export interface LinkAt {
  readonly name: string;
  readonly netns?: string | undefined;
}

export interface LinkChangeSet {
  readonly netns?: string;
  readonly newName?: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly up?: boolean;
}

/** A link as it is (the Netlink port's LinkInfo). */
export interface SeenLink {
  readonly ifindex: number;
  readonly peerIfindex?: number | undefined;
  readonly mac: string;
  readonly mtu: number;
  readonly up: boolean;
  readonly addresses: readonly string[];
}

/** What is on the host now for one pod interface. */
export interface HostState {
  /** The host end of the veth pair exists. */
  readonly hostLink: boolean;
  /** An OVS port named like the host end exists. */
  readonly port: boolean;
  /** Interfaces whose external_ids:iface-id is this interface's (ADD only). */
  readonly ifacePorts: readonly string[];
  /** ADD only: the host end, the pod's `if_name` and our port's external_ids as they are, so a
   *  finished plug (a repeated ADD, or the plugin's CHECK) is left in place. */
  readonly hostEnd?: SeenLink | undefined;
  readonly podLink?: SeenLink | undefined;
  readonly portIds?: Readonly<Record<string, string>> | undefined;
  /** The `from` addresses of the rules that look up this interface's source table
   *  (sourceTableOf) in the pod's netns; absent: none. */
  readonly sourceRules?: readonly string[] | undefined;
}

export type NodeAction =
  | { readonly type: 'DeleteLink'; readonly target: string; readonly reason: string; readonly link: LinkAt }
  | { readonly type: 'CreateVethPair'; readonly target: string; readonly reason: string; readonly host: LinkAt; readonly peer: string; readonly mtu: number }
  | { readonly type: 'AddOvsPort'; readonly target: string; readonly reason: string; readonly bridge: string; readonly externalIds: Readonly<Record<string, string>> }
  | { readonly type: 'DeleteOvsPort'; readonly target: string; readonly reason: string; readonly bridge: string }
  | { readonly type: 'SetLink'; readonly target: string; readonly reason: string; readonly link: LinkAt; readonly changes: LinkChangeSet }
  | { readonly type: 'ReplaceAddresses'; readonly target: string; readonly reason: string; readonly link: LinkAt; readonly addresses: readonly string[] }
  | {
    readonly type: 'AddRoute'; readonly target: string; readonly reason: string; readonly link: LinkAt; readonly route: FamilyRoute;
    /** A table other than main, and the preferred source (source routing). */
    readonly table?: number; readonly src?: string;
  }
  | {
    /** Makes `sources` the only rules `from <source> lookup <table>` in the netns (none: removes them). */
    readonly type: 'SetSourceRules'; readonly target: string; readonly reason: string; readonly netns: string;
    readonly table: number; readonly priority: number; readonly sources: readonly string[];
  }
  | { readonly type: 'DeleteDefaultRoutes'; readonly target: string; readonly reason: string; readonly netns: string; readonly family: Family }
  | { readonly type: 'WaitOvnInstalled'; readonly target: string; readonly reason: string; readonly timeoutMs: number };

export interface AddInput {
  readonly request: ValidRequest;
  /** The provider whose annotations were read (allocatedProvider). */
  readonly provider: string;
  readonly allocation: Allocation;
  /** Is this the default-route interface (Routes.isDefaultRouteInterface)? */
  readonly defaultRoute: boolean;
  /** The NAD's and the annotation's routes (Routes.interfaceRoutes). */
  readonly routes: readonly FamilyRoute[];
  /** The CIDRs of the pod's other allocated interfaces (SourceRouting.siblingCidrs); OVN only. */
  readonly siblingCidrs?: readonly string[];
  /** The name the logical port (and IP object) carries when it is not the pod's: a KubeVirt
   *  VM's (the pod's `ovn.kubernetes.io/virtualmachine`), whose pods share one port. */
  readonly portOwner?: string | undefined;
}

export interface OvnAddInput extends AddInput {
  /** The Subnet's `mtu`, when it has one. */
  readonly subnetMtu?: number | undefined;
  readonly host: HostState;
}

export interface AddPlan {
  readonly actions: readonly NodeAction[];
  /** The success response, once every action has been applied. */
  readonly response: CniResponse;
  /** Routes left out, each with why (the daemon logs them). */
  readonly skipped: readonly string[];
}

/** The DEL plan of one interface: its source rules, the OVS port, then the host end (its peer
 *  goes with it). */
export const planDel = (
  request: Pick<ValidRequest, 'containerId' | 'ifName'> & { readonly netns?: string },
  config: NodeConfig,
  host: Pick<HostState, 'hostLink' | 'port' | 'sourceRules'>,
): readonly NodeAction[] => {
  const names = linkNamesOf(request.containerId, request.ifName);
  const what = `container ${request.containerId.slice(0, 12)} interface ${request.ifName}`;
  const netns = request.netns ?? '';
  // The host side first: the pod's rules are the only thing in its netns, and they go with it.
  return [
    ...(host.port ? [{ type: 'DeleteOvsPort', target: names.host, reason: `unplug ${what} from ${config.bridge}`, bridge: config.bridge } as const] : []),
    ...(host.hostLink ? [{ type: 'DeleteLink', target: names.host, reason: `remove the veth pair of ${what}`, link: { name: names.host, netns: config.hostNetns } } as const] : []),
    ...(netns !== '' && (host.sourceRules ?? []).length > 0
      ? [{ type: 'SetSourceRules', target: request.ifName, reason: `remove the source rules of ${what}`, netns, table: sourceTableOf(request.ifName), priority: SOURCE_RULE_PRIORITY, sources: [] } as const]
      : []),
  ];
};

/** Everything an OVN ADD plan is made of, worked out once. */
interface OvnPlug {
  readonly what: string;
  readonly names: LinkNames;
  readonly ifaceId: string;
  readonly mtu: number;
  readonly mac: string;
  readonly hostEnd: LinkAt;
  readonly podLink: LinkAt;
  readonly addresses: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
  /** The gateway's default routes (default-route interface only), then the other routes. */
  readonly routes: readonly FamilyRoute[];
  readonly gatewayRoutes: number;
  /** Source routing, when another interface of the pod shares the subnet: the rules' sources
   *  and the table's routes (the connected routes of those addresses, then `routes`). */
  readonly source: { readonly table: number; readonly sources: readonly string[]; readonly routes: readonly { readonly route: FamilyRoute; readonly src?: string }[] } | undefined;
  readonly skipped: readonly string[];
}

/** The source routing of an interface whose subnet another interface of the pod shares. */
const sourceOf = (input: OvnAddInput, routes: readonly FamilyRoute[]): OvnPlug['source'] => {
  const siblings = input.siblingCidrs ?? [];
  const shared = input.allocation.addresses.filter((a) => siblings.some((c) => cidrsOverlap(a.cidr, c)));
  if (shared.length === 0) return undefined;
  const families = new Set(shared.map((a) => a.family));
  return {
    table: sourceTableOf(input.request.ifName),
    sources: shared.map((a) => a.ip),
    routes: [
      ...shared.map((a) => ({ route: { family: a.family, dst: a.cidr }, src: a.ip })),
      ...routes.filter((r) => families.has(r.family)).map((route) => ({ route })),
    ],
  };
};

const ovnPlugOf = (input: OvnAddInput, config: NodeConfig, mac: string): OvnPlug => {
  const { request: req, allocation } = input;
  const families = new Set(allocation.addresses.map((a) => a.family));
  const routes = input.routes.filter((r) => families.has(r.family));
  const gatewayRoutes: FamilyRoute[] = input.defaultRoute
    ? allocation.addresses.flatMap((a) =>
      a.gateway === undefined || routes.some((r) => r.family === a.family && isDefaultDst(r)) ? [] : [{ family: a.family, dst: a.family === 4 ? '0.0.0.0/0' : '::/0', gw: a.gateway }])
    : [];
  const ifaceId = ifaceIdOf(input.portOwner ?? req.podName, req.podNamespace, input.provider);
  const names = linkNamesOf(req.containerId, req.ifName);
  return {
    what: `${req.podNamespace}/${req.podName} ${req.ifName}`,
    names,
    ifaceId,
    mtu: input.subnetMtu ?? config.defaultMtu,
    mac,
    hostEnd: { name: names.host, netns: config.hostNetns },
    podLink: { name: req.ifName, netns: req.netns },
    addresses: allocation.addresses.map((a) => `${a.ip}/${a.prefix}`),
    externalIds: { 'iface-id': ifaceId, vendor: 'kube-ovn', pod_name: req.podName, pod_namespace: req.podNamespace, ip: allocation.addresses.map((a) => a.ip).join(','), [POD_NETNS]: req.netns },
    routes: [...gatewayRoutes, ...routes],
    gatewayRoutes: gatewayRoutes.length,
    source: sourceOf(input, [...gatewayRoutes, ...routes]),
    skipped: input.routes.filter((r) => !families.has(r.family)).map((r) => `route ${r.dst}${r.gw === undefined ? '' : ` via ${r.gw}`}: ${req.ifName} has no IPv${r.family} address`),
  };
};

/** Removes what an earlier ADD left (our port, our host end) and ports of an earlier sandbox. */
const clearActions = (p: OvnPlug, host: HostState, config: NodeConfig): NodeAction[] => [
  ...(host.port ? [{ type: 'DeleteOvsPort', target: p.names.host, reason: `an earlier ADD of ${p.what} left its port: plug afresh`, bridge: config.bridge } as const] : []),
  ...(host.hostLink ? [{ type: 'DeleteLink', target: p.names.host, reason: `an earlier ADD of ${p.what} left its host end: plug afresh`, link: p.hostEnd } as const] : []),
  ...host.ifacePorts.filter((port) => port !== p.names.host).map((port): NodeAction => ({
    type: 'DeleteOvsPort', target: port, reason: `port ${port} carries iface-id ${p.ifaceId} (an earlier sandbox): one logical port binds one interface`, bridge: config.bridge,
  })),
];

/** The veth pair, the port, and the pod's link with its MAC, MTU and addresses. */
const plugActions = (p: OvnPlug, input: OvnAddInput, config: NodeConfig): NodeAction[] => [
  { type: 'CreateVethPair', target: p.names.host, reason: `the veth pair of ${p.what}`, host: p.hostEnd, peer: p.names.container, mtu: p.mtu },
  { type: 'AddOvsPort', target: p.names.host, reason: `plug ${p.what} into ${config.bridge} as logical port ${p.ifaceId}`, bridge: config.bridge, externalIds: p.externalIds },
  { type: 'SetLink', target: p.names.host, reason: 'bring the host end up', link: p.hostEnd, changes: { up: true } },
  {
    type: 'SetLink', target: p.names.container,
    reason: `move the container end into ${input.request.netns} as ${input.request.ifName} with the logical port's MAC and the MTU ${p.mtu}${input.subnetMtu === undefined ? ' (the daemon\'s default)' : ' of the Subnet'}`,
    link: { name: p.names.container, netns: config.hostNetns }, changes: { netns: input.request.netns, newName: input.request.ifName, mac: p.mac, mtu: p.mtu, up: true },
  },
  { type: 'ReplaceAddresses', target: input.request.ifName, reason: `the allocated addresses of ${p.what}`, link: p.podLink, addresses: p.addresses },
];

/** The source table's routes, then its rules when those in the pod differ (or are stale). */
const sourceActions = (p: OvnPlug, host: HostState, netns: string): NodeAction[] => {
  const seen = [...(host.sourceRules ?? [])].sort();
  const want = [...(p.source?.sources ?? [])].sort();
  const table = p.source?.table ?? sourceTableOf(p.podLink.name);
  const same = seen.length === want.length && seen.every((s, i) => s === want[i]);
  return [
    ...(p.source?.routes ?? []).map(({ route, src }): NodeAction => ({
      type: 'AddRoute', target: p.podLink.name, link: p.podLink, route, table, ...(src === undefined ? {} : { src }),
      reason: `source routing: what leaves from ${p.source?.sources.join(', ') ?? ''} leaves through ${p.podLink.name} (another interface of the pod shares its subnet)`,
    })),
    ...(same ? [] : [{
      type: 'SetSourceRules', target: p.podLink.name, netns, table, priority: SOURCE_RULE_PRIORITY, sources: want,
      reason: want.length === 0
        ? `no other interface of the pod shares the subnet of ${p.podLink.name}: remove its source rules`
        : `another interface of the pod shares the subnet of ${p.podLink.name}: its addresses look up table ${table}`,
    } as const]),
  ];
};

/** The routes (`replace`d, so applying them again changes nothing), the source routing, then
 *  the wait for OVN. */
const finishActions = (p: OvnPlug, host: HostState, config: NodeConfig, netns: string): NodeAction[] => [
  ...p.routes.map((route, i): NodeAction => ({
    type: 'AddRoute', target: p.podLink.name, link: p.podLink, route,
    reason: i < p.gatewayRoutes ? `${p.podLink.name} is the default-route interface: default route via the gateway` : 'a route of the NetworkAttachmentDefinition or the routes annotation',
  })),
  ...sourceActions(p, host, netns),
  ...(config.ovnInstalledTimeoutMs > 0
    ? [{ type: 'WaitOvnInstalled', target: p.names.host, reason: `wait until ovn-controller has bound ${p.ifaceId} to this chassis`, timeoutMs: config.ovnInstalledTimeoutMs } as const]
    : []),
];

/** The ADD plan of an OVN network (the default network `ovn`, or a `…ovn` attachment). A
 *  finished plug is left in place (only its routes and the wait are planned again). */
export const planOvnAdd = (input: OvnAddInput, config: NodeConfig): E.Either<NodeError, AddPlan> => {
  const { request: req, allocation, host } = input;
  if (req.netns === '') return E.left(invalidRequest('invalid CNI request: net_ns is empty (CNI_NETNS): an OVN interface needs the pod\'s network namespace'));
  if (allocation.mac === undefined) {
    return E.left({ code: 'InvalidAllocation', message: `annotation ${annotationKey(input.provider, 'mac_address')} is missing: an OVN interface needs the MAC of its logical port` });
  }
  const p = ovnPlugOf(input, config, allocation.mac);
  const ips = cniIpsOf(allocation);
  const response: CniResponse = {
    protocol: protocolOf(ips), ips: responseIps(ips, input.defaultRoute), mac_address: p.mac, mtu: p.mtu, nicname: req.ifName, routes: toCniRoutes(p.routes),
  };
  const actions = isPlugged(host, p)
    ? [...relabelActions(p, host, config), ...finishActions(p, host, config, req.netns)]
    : [...clearActions(p, host, config), ...plugActions(p, input, config), ...finishActions(p, host, config, req.netns)];
  return E.right({ actions, response, skipped: p.skipped });
};

/** A finished plug whose port lacks (or has another) pod_netns, as a port an earlier daemon
 *  plugged: the port is labelled again in place (add-port --may-exist sets the external_ids),
 *  not re-plugged, so the pod's traffic is not cut for a label. */
const relabelActions = (p: OvnPlug, host: HostState, config: NodeConfig): NodeAction[] =>
  host.portIds?.[POD_NETNS] === p.externalIds[POD_NETNS] ? []
    : [{ type: 'AddOvsPort', target: p.names.host, reason: `record ${p.what}'s netns on its port (external_ids:${POD_NETNS})`, bridge: config.bridge, externalIds: p.externalIds }];

/** Is the interface plugged as the plan would plug it: the host end and the pod's link are
 *  one veth pair, both up, the pod's link has the MAC, MTU and addresses, and our port (the
 *  only one with our iface-id) carries the external_ids (but pod_netns: see relabelActions)? */
const isPlugged = (host: HostState, p: OvnPlug): boolean => {
  const { hostEnd, podLink, portIds } = host;
  if (hostEnd === undefined || podLink === undefined || portIds === undefined || !host.port) return false;
  const pair = podLink.peerIfindex === hostEnd.ifindex && hostEnd.peerIfindex === podLink.ifindex;
  const sameAddresses = podLink.addresses.length === p.addresses.length && p.addresses.every((a) => podLink.addresses.includes(a));
  return pair && hostEnd.up && podLink.up && podLink.mac === p.mac && podLink.mtu === p.mtu && sameAddresses &&
    host.ifacePorts.every((port) => port === p.names.host) && Object.entries(p.externalIds).every(([k, v]) => k === POD_NETNS || portIds[k] === v);
};

/** The ADD plan of an IPAM-only network: addresses and routes for the main plugin, and room
 *  for its default route when it installs one. */
export const planIpamAdd = (input: AddInput): AddPlan => {
  const { request: req } = input;
  const ips = cniIpsOf(input.allocation);
  const actions: NodeAction[] = req.netns === ''
    ? []
    : defaultRouteFamilies(input.routes).map((family) => ({
      type: 'DeleteDefaultRoutes', target: req.netns, family, netns: req.netns,
      reason: `the routes of ${req.ifName} hold an IPv${family} default route: remove the pod's current one so the main plugin can install it`,
    }));
  return {
    actions,
    response: { protocol: protocolOf(ips), ips: responseIps(ips, input.defaultRoute), routes: toCniRoutes(input.routes) },
    skipped: [],
  };
};
