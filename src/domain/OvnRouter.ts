// The default VPC's logical router in OVN's northbound database (issue #13 item 7): the gateway
// a pod on an OVN Subnet routes through, and the path between pods of two OVN Subnets.
//
// Rules (Kube-OVN's names and columns, pkg/ovs CreateLogicalPatchPort):
// - One router, `ovn-cluster` (`external_ids:vendor=kube-ovn`), ensured with the first router
//   port and never deleted by us.
// - Every valid OVN Subnet (provider `ovn` or `<nad>.<ns>.ovn`, attachments included: in
//   Kube-OVN every Subnet of the default VPC is connected to it) has the router port
//   `ovn-cluster-<subnet>` with `networks` = its gateway per family with the Subnet's prefix
//   length (`10.16.0.1/16`, IPv4 first) and a MAC derived from the Subnet's name (so every
//   plan writes the same one), and its peer `<subnet>-ovn-cluster` on the Subnet's switch:
//   type `router`, addresses `router`, `options:router-port=ovn-cluster-<subnet>`,
//   `external_ids` `ls` and `vendor`. An IPAM-only Subnet never has one.
// - Of the router ports seen in OVN, one of ours (`vendor=kube-ovn`, named `ovn-cluster-<x>`,
//   or a peer of type router named `<x>-ovn-cluster`) whose `<x>` is not a valid OVN Subnet is
//   deleted with its peer. A port or peer that differs from what its Subnet wants in any
//   column we own is ensured again (a gateway change moves the port's address this way); a
//   peer found on another switch is deleted first, in the same transaction.
// - In the audit, a switch whose only remaining port is a peer this audit deletes counts as
//   empty, so a deleted Subnet's switch goes in the same sweep as its router port.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac, formatValue } from './Address.js';
import type { IpamState } from './IpamState.js';
import { generateMac } from './Mac.js';
import type { SeenOvn } from './OvnPorts.js';
import { OVN_VENDOR, ensureSwitchOf, ovnSubnets, planOvnAudit } from './OvnPorts.js';
import type { Action, LogicalRouterPortRef, LogicalRouterPortView } from './Plan.js';
import type { PlanContext } from './PlanContext.js';
import type { Subnet } from './Subnet.js';
import { poolsOf } from './Subnet.js';

/** The default VPC's router, as Kube-OVN names it. */
export const DEFAULT_ROUTER = 'ovn-cluster';
const PORT_PREFIX = `${DEFAULT_ROUTER}-`;
const PEER_SUFFIX = `-${DEFAULT_ROUTER}`;

export const routerPortName = (subnet: string): string => `${PORT_PREFIX}${subnet}`;
export const routerPeerName = (subnet: string): string => `${subnet}${PEER_SUFFIX}`;

/** The router port's MAC: locally administered, unicast, the same for the same Subnet name. */
export const routerPortMac = (subnet: string): string => formatMac(generateMac(`router-port/${subnet}`, 0));

/** `<gateway>/<prefix>` per family of the Subnet, IPv4 first. */
export const routerNetworks = (subnet: Subnet): string[] =>
  poolsOf(subnet).map((p) => `${formatValue(p.family, p.gateway)}/${p.cidr.prefix}`);

const refOf = (subnet: string): LogicalRouterPortRef => ({ router: DEFAULT_ROUTER, logicalSwitch: subnet, switchPort: routerPeerName(subnet) });

export const routerPortView = (subnet: Subnet): LogicalRouterPortView => ({ ...refOf(subnet.name), mac: routerPortMac(subnet.name), networks: routerNetworks(subnet) });

export const ensureRouter = (): Action => ({
  type: 'EnsureLogicalRouter', target: DEFAULT_ROUTER, reason: `the logical router of the default VPC (${DEFAULT_ROUTER}), the gateway of the OVN subnets`,
});

export const ensureRouterPortOf = (subnet: Subnet): Action => ({
  type: 'EnsureLogicalRouterPort', target: routerPortName(subnet.name),
  reason: `connect OVN subnet ${subnet.name} to router ${DEFAULT_ROUTER} at its gateway ${routerNetworks(subnet).join(',')}`,
  routerPort: routerPortView(subnet),
});

export const deleteRouterPortOf = (subnet: string, reason: string): Action => ({
  type: 'DeleteLogicalRouterPort', target: routerPortName(subnet), reason, routerPort: refOf(subnet),
});

/** The router and one port per Subnet given (none when none is given), for Subnets whose
 *  switches a plan ensures: the gateway is in OVN before any pod of the Subnet is published. */
export const gatewaysOf = (subnets: readonly Subnet[]): Action[] =>
  subnets.length === 0 ? [] : [ensureRouter(), ...subnets.map(ensureRouterPortOf)];

/** A valid OVN Subnet of the snapshot by name, else undefined. */
export const ovnSubnetOf = (ctx: PlanContext, name: string): Subnet | undefined => {
  const s = ctx.subnets.get(name);
  return s !== undefined && E.isRight(s) && s.right.isOvn && ctx.snapshot.subnets.has(name) ? s.right : undefined;
};

/** What a valid OVN Subnet has in OVN, as one transaction: its switch, the router, its router
 *  port. Undefined for any other Subnet name. */
export const subnetOvnActions = (ctx: PlanContext, name: string): readonly Action[] | undefined => {
  const subnet = ovnSubnetOf(ctx, name);
  return subnet === undefined ? undefined : [ensureSwitchOf(subnet), ...gatewaysOf([subnet])];
};

/** A logical router port as read from the NB database. */
export interface SeenRouterPort {
  readonly name: string;
  readonly mac: string;
  readonly networks: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
}

/** A logical switch port of type router as read from the NB database. */
export interface SeenRouterPeer {
  readonly name: string;
  readonly type: string;
  /** The `addresses` column, joined by a space. */
  readonly addresses: string;
  readonly options: Readonly<Record<string, string>>;
  readonly externalIds: Readonly<Record<string, string>>;
}

/** What the NB holds of the router: the router row (undefined when absent), the router ports
 *  with `vendor=kube-ovn`, and the switch ports of type router with `vendor=kube-ovn`. */
export interface SeenRouter {
  readonly router: { readonly externalIds: Readonly<Record<string, string>> } | undefined;
  readonly ports: readonly SeenRouterPort[];
  readonly peers: readonly SeenRouterPeer[];
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => [...a].sort().join(' ') === [...b].sort().join(' ');

/** Why the router port of `subnet` in OVN is not the one it wants, or undefined when it is. */
const portDrift = (want: LogicalRouterPortView, port: SeenRouterPort | undefined, peer: SeenRouterPeer | undefined): string | undefined => {
  if (port === undefined) return 'it is missing from OVN';
  if (port.mac !== want.mac) return `its MAC is ${port.mac}, not ${want.mac}`;
  if (!sameSet(port.networks, want.networks)) return `its networks are ${port.networks.join(',')}, not ${want.networks.join(',')}`;
  if (port.externalIds['vendor'] !== OVN_VENDOR) return 'it lacks external_ids:vendor=kube-ovn';
  if (peer === undefined) return `its peer ${want.switchPort} is missing from OVN`;
  const at = peer.externalIds['ls'];
  if (at !== want.logicalSwitch) return `its peer ${want.switchPort} is on switch ${at ?? '(unknown)'}, not ${want.logicalSwitch}`;
  if (peer.type !== 'router' || peer.addresses !== 'router' || peer.options['router-port'] !== routerPortName(want.logicalSwitch)) return `its peer ${want.switchPort} is not a router port for it`;
  return peer.externalIds['vendor'] === OVN_VENDOR ? undefined : `its peer ${want.switchPort} lacks external_ids:vendor=kube-ovn`;
};

/** The Subnet a router port or peer of ours stands for, by its name. */
const subnetNamed = (name: string, affix: 'port' | 'peer'): string | undefined =>
  affix === 'port' ? (name.startsWith(PORT_PREFIX) ? name.slice(PORT_PREFIX.length) : undefined) : (name.endsWith(PEER_SUFFIX) ? name.slice(0, -PEER_SUFFIX.length) : undefined);

export interface RouterAudit {
  readonly ensures: readonly Action[];
  readonly deletes: readonly Action[];
}

/** The router's repairs for the valid OVN Subnets (see the rules above). */
export const planRouterAudit = (subnets: ReadonlyMap<string, Subnet>, seen: SeenRouter): RouterAudit => {
  const ports = new Map(seen.ports.map((p) => [p.name, p]));
  const peers = new Map(seen.peers.map((p) => [p.name, p]));
  const ensures: Action[] = [];
  for (const subnet of [...subnets.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const want = routerPortView(subnet);
    const peer = peers.get(want.switchPort);
    const why = portDrift(want, ports.get(routerPortName(subnet.name)), peer);
    if (why === undefined) continue;
    const ensure = ensureRouterPortOf(subnet);
    const elsewhere = peer?.externalIds['ls'];
    if (peer !== undefined && elsewhere !== subnet.name) ensures.push(deleteRouterPortOf(subnet.name, `move its peer ${want.switchPort} from ${elsewhere ?? 'an unknown switch'} to ${subnet.name}`));
    ensures.push({ ...ensure, reason: `${ensure.reason}: ${why}` });
  }
  const wantsRouter = subnets.size > 0 && seen.router?.externalIds['vendor'] !== OVN_VENDOR;
  const router = ensureRouter();
  const routerEnsure = wantsRouter ? [{ ...router, reason: `${router.reason}: ${seen.router === undefined ? 'it is missing from OVN' : 'it lacks external_ids:vendor=kube-ovn'}` }] : [];
  const strays = new Set([
    ...seen.ports.filter((p) => p.externalIds['vendor'] === OVN_VENDOR).map((p) => subnetNamed(p.name, 'port')),
    ...seen.peers.filter((p) => p.externalIds['vendor'] === OVN_VENDOR && p.type === 'router').map((p) => subnetNamed(p.name, 'peer')),
  ].filter((x): x is string => x !== undefined && x !== '' && !subnets.has(x)));
  const deletes = [...strays].sort().map((x) => deleteRouterPortOf(x, `no OVN subnet ${x}: the Subnet is gone or not a valid OVN subnet`));
  return { ensures: [...routerEnsure, ...ensures], deletes };
};

/** The whole OVN audit: switches and pod ports (planOvnAudit) with the router's repairs after
 *  the switch ensures and its deletes before the switch deletes. A switch whose peer this
 *  audit deletes counts one port fewer. */
export const planOvnAuditWithRouter = (ctx: PlanContext, ipam: IpamState, seen: SeenOvn, router: SeenRouter): readonly Action[] => {
  const audit = planRouterAudit(ovnSubnets(ctx), router);
  const unplugged = new Map<string, number>();
  for (const a of audit.deletes) {
    if (a.type !== 'DeleteLogicalRouterPort') continue;
    const peer = router.peers.find((p) => p.name === a.routerPort.switchPort);
    const sw = peer?.externalIds['ls'];
    if (sw !== undefined) unplugged.set(sw, (unplugged.get(sw) ?? 0) + 1);
  }
  const base = planOvnAudit(ctx, ipam, { ...seen, switches: seen.switches.map((sw) => ({ ...sw, ports: sw.ports - (unplugged.get(sw.name) ?? 0) })) });
  const head = base.filter((a) => a.type === 'EnsureLogicalSwitch');
  const tail = base.filter((a) => a.type === 'DeleteLogicalSwitch');
  const middle = base.filter((a) => a.type !== 'EnsureLogicalSwitch' && a.type !== 'DeleteLogicalSwitch');
  return [...head, ...audit.ensures, ...middle, ...audit.deletes, ...tail];
};
