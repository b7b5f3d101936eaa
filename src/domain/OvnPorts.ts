// OVN's northbound rows as the controller keeps them (DESIGN §1, §3.5): a logical switch per
// OVN Subnet and a logical switch port per pod interface on one, named like the interface's IP
// object. This file renders the actions that ensure or delete them, and the audit that compares
// the ports OVN holds with the claims the controller holds.
//
// Rules of the audit (`planOvnAudit`), run by the controller's sweep and at start-up:
// - Every committed claim on an OVN Subnet (a live pod's claim whose IP object exists and whose
//   pod annotations say `allocated: "true"`: both written after the port) has its port, with
//   exactly the claim's addresses as `addresses` and `port_security`, and our external_ids. A
//   missing or drifted port is ensured again, with its switch: the claim is the truth, the
//   address is not re-allocated. A claim not yet committed is its pod plan's to finish (that
//   plan writes the port before the annotations), so the audit never races a plan in flight.
// - A port with `external_ids:vendor=kube-ovn` whose name no IP object and no claim carries is
//   deleted. Nothing else is: a port of another vendor, or one whose IP object still exists
//   (a StatefulSet's retained claim, or an IP object the IP sweep has yet to confirm), stays.
// - Every valid OVN Subnet has its logical switch with exactly its `other_config` (`subnet`,
//   `ipv6_prefix`, `exclude_ips`: see switchOtherConfig); a switch of ours
//   (`external_ids:vendor=kube-ovn`) whose Subnet is gone (or no longer a valid OVN one) is
//   deleted once it has no port left (deleting a switch would take its ports along).
// - A port whose claim moved to another switch is deleted and made again on the new one, in
//   the same transaction (OVN cannot move a port in place).
// - Actions come sorted by target: switch ensures, port ensures (each after its move's delete),
//   port deletes, switch deletes.
import * as E from 'fp-ts/lib/Either.js';
import type { Claim, IpamState } from './IpamState.js';
import type { Action, LogicalSwitchView } from './Plan.js';
import type { PlanContext } from './PlanContext.js';
import { ipName, ownerOf } from './PlanContext.js';
import { POD_UID_LABEL, addressText, macText } from './Records.js';
import { ALLOCATED_TRUE, annotationKey } from './schema/annotations.js';
import type { IP } from './schema/kubeovn.js';
import type { Pod } from './schema/kube.js';
import type { Subnet } from './Subnet.js';
import { isGone } from './Workloads.js';

export const OVN_VENDOR = 'kube-ovn';

/** A logical switch port as read from the NB database. */
export interface SeenPort {
  readonly name: string;
  /** The `addresses` column, its entries joined by a space (ours has one entry). */
  readonly addresses: string;
  /** The `port_security` column, joined the same way. */
  readonly portSecurity: string;
  readonly externalIds: Readonly<Record<string, string>>;
}

/** A logical switch as read from the NB database. */
export interface SeenSwitch {
  readonly name: string;
  readonly otherConfig: Readonly<Record<string, string>>;
  readonly externalIds: Readonly<Record<string, string>>;
  /** How many ports it has (of anyone). */
  readonly ports: number;
}

export const SWITCH_CONFIG_KEYS = ['subnet', 'ipv6_prefix', 'exclude_ips'] as const;
export type SwitchConfigKey = (typeof SWITCH_CONFIG_KEYS)[number];

/** The `other_config` keys we own of a switch, as OVN wants them: `subnet` (the IPv4 CIDR),
 *  `ipv6_prefix` (the IPv6 network address), `exclude_ips` (IPv4 only, space separated, ranges
 *  as `a..b`, as Kube-OVN writes them). A key without a value is absent. */
export const switchOtherConfig = (ls: LogicalSwitchView): Partial<Record<SwitchConfigKey, string>> => {
  const cidrs = ls.cidr.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const v4 = cidrs.find((c) => !c.includes(':'));
  const v6 = cidrs.find((c) => c.includes(':'));
  const excluded = ls.excludeIps.filter((e) => !e.includes(':')).join(' ');
  return {
    ...(v4 === undefined ? {} : { subnet: v4 }),
    ...(v6 === undefined ? {} : { ipv6_prefix: v6.split('/')[0] ?? '' }),
    ...(v4 === undefined || excluded === '' ? {} : { exclude_ips: excluded }),
  };
};

export const ensureSwitchOf = (subnet: Subnet): Action => ({
  type: 'EnsureLogicalSwitch', target: subnet.name, reason: `the logical switch of OVN subnet ${subnet.name} (${subnet.cidrBlock})`,
  logicalSwitch: { cidr: subnet.cidrBlock, excludeIps: subnet.excludeIps },
});

/** The port of one interface: `"<mac> <ip>…"` as addresses and port security. */
export const ensurePortOf = (name: string, podKey: string, uid: string, subnet: Subnet, claim: Claim, reason: string): Action => ({
  type: 'EnsureLogicalSwitchPort', target: name, reason,
  port: {
    logicalSwitch: subnet.name,
    addresses: [macText(claim), ...addressText(claim).split(',')].filter((x) => x !== '').join(' '),
    externalIds: { pod: podKey, ls: subnet.name, vendor: OVN_VENDOR, [POD_UID_LABEL]: uid },
  },
});

/** The logical switch port of an IP object about to be deleted, when it lies on an OVN Subnet
 *  (by its Subnet, else by the provider its name carries). Deleting an absent port is success. */
export const portDeleteOf = (ctx: PlanContext, ip: IP, reason: string): Action | undefined => {
  const s = ctx.subnets.get(ip.spec.subnet);
  const base = `${ip.spec.podName}.${ip.spec.namespace}`;
  const name = ip.metadata.name;
  const provider = name === base ? 'ovn' : name.startsWith(`${base}.`) ? name.slice(base.length + 1) : '';
  const isOvn = s !== undefined && E.isRight(s) ? s.right.isOvn : provider === 'ovn' || provider.endsWith('.ovn');
  return isOvn ? { type: 'DeleteLogicalSwitchPort', target: name, reason } : undefined;
};

/** What a port must hold and why, for one durable claim on an OVN Subnet. */
interface WantedPort {
  readonly name: string;
  readonly subnet: Subnet;
  readonly action: Extract<Action, { type: 'EnsureLogicalSwitchPort' }>;
}

/** The live pod that commits a claim: the pod of its owner's name, or a live pod of the VM
 *  whose claim it is (the pods of a VM share one). */
const committerOf = (ctx: PlanContext): ((claim: Claim) => Pod | undefined) => {
  let vmPods: Map<string, Pod> | undefined;
  return (claim) => {
    if (!claim.key.podUid.startsWith('vm:')) return ctx.snapshot.pods.get(`${claim.owner.namespace}/${claim.owner.name}`)?.object;
    if (vmPods === undefined) {
      vmPods = new Map();
      for (const { object: pod } of ctx.snapshot.pods.values()) {
        const key = ownerOf(pod).uid;
        if (key.startsWith('vm:') && !isGone(pod) && pod.spec.hostNetwork !== true && !vmPods.has(key)) vmPods.set(key, pod);
      }
    }
    return vmPods.get(claim.key.podUid);
  };
};

const wantedPorts = (ctx: PlanContext, ipam: IpamState): Map<string, WantedPort> => {
  const out = new Map<string, WantedPort>();
  const committer = committerOf(ctx);
  for (const claim of ipam.claims.values()) {
    const s = ctx.subnets.get(claim.subnet);
    if (s === undefined || E.isLeft(s) || !s.right.isOvn || claim.shelteredFrom !== undefined) continue;
    const podKey = `${claim.owner.namespace}/${claim.owner.name}`;
    const pod = committer(claim);
    if (pod === undefined || pod.spec.hostNetwork === true || isGone(pod) || ownerOf(pod).uid !== claim.key.podUid) continue;
    const name = ipName(claim.owner.name, claim.owner.namespace, claim.key.provider);
    if (!ctx.snapshot.ips.has(name) || pod.metadata.annotations?.[annotationKey(claim.key.provider, 'allocated')] !== ALLOCATED_TRUE) continue;
    const action = ensurePortOf(name, podKey, claim.key.podUid, s.right, claim, `plug ${name} (pod ${podKey}: ${addressText(claim)} in ${s.right.name}) into OVN`);
    if (action.type === 'EnsureLogicalSwitchPort') out.set(name, { name, subnet: s.right, action });
  }
  return out;
};

/** Why the port OVN holds is not the one the claim wants, or undefined when it is. */
const drift = (want: WantedPort, seen: SeenPort | undefined): string | undefined => {
  if (seen === undefined) return 'it is missing from OVN';
  const port = want.action.port;
  if (seen.addresses !== port.addresses) return `its addresses are "${seen.addresses}", not "${port.addresses}"`;
  if (seen.portSecurity !== port.addresses) return `its port security is "${seen.portSecurity}", not "${port.addresses}"`;
  const wrong = Object.entries(port.externalIds).filter(([k, v]) => seen.externalIds[k] !== v).map(([k]) => k);
  return wrong.length > 0 ? `its external_ids ${wrong.join(', ')} differ` : undefined;
};

const byTarget = (a: Action, b: Action): number => (a.target < b.target ? -1 : a.target > b.target ? 1 : 0);

/** The valid OVN Subnets, by name. */
export const ovnSubnets = (ctx: PlanContext): Map<string, Subnet> =>
  new Map(ctx.subnetOrder.flatMap((name) => {
    const s = ctx.subnets.get(name);
    return s !== undefined && E.isRight(s) && s.right.isOvn ? [[name, s.right] as const] : [];
  }));

/** The switch a Subnet wants: an ensure for a valid OVN Subnet, else undefined. */
export const switchOfSubnet = (ctx: PlanContext, name: string): Action | undefined => {
  const s = ctx.subnets.get(name);
  return s !== undefined && E.isRight(s) && s.right.isOvn && ctx.snapshot.subnets.has(name) ? ensureSwitchOf(s.right) : undefined;
};

/** Why a switch OVN holds is not the one the Subnet wants, or undefined when it is. */
const switchDrift = (subnet: Subnet, seen: SeenSwitch | undefined): string | undefined => {
  if (seen === undefined) return 'it is missing from OVN';
  const want = switchOtherConfig({ cidr: subnet.cidrBlock, excludeIps: subnet.excludeIps });
  const wrong = SWITCH_CONFIG_KEYS.filter((k) => seen.otherConfig[k] !== want[k]);
  if (wrong.length > 0) return `its other_config ${wrong.join(', ')} differ`;
  return seen.externalIds['vendor'] === OVN_VENDOR ? undefined : 'it lacks external_ids:vendor=kube-ovn';
};

/** What the NB database holds of ours, as the audit reads it. */
export interface SeenOvn {
  readonly ports: readonly SeenPort[];
  readonly switches: readonly SeenSwitch[];
}

/** The actions that bring OVN's switches and ports in line with the Subnets and the claims
 *  (see the rules above). */
export const planOvnAudit = (ctx: PlanContext, ipam: IpamState, seenOvn: SeenOvn): readonly Action[] => {
  const seen = seenOvn.ports;
  const wanted = wantedPorts(ctx, ipam);
  const seenByName = new Map(seen.map((p) => [p.name, p]));
  const subnets = ovnSubnets(ctx);
  const seenSwitches = new Map(seenOvn.switches.map((s) => [s.name, s]));
  const switches = new Map<string, Action>();
  for (const subnet of subnets.values()) {
    const why = switchDrift(subnet, seenSwitches.get(subnet.name));
    if (why !== undefined) switches.set(subnet.name, { ...ensureSwitchOf(subnet), reason: `${ensureSwitchOf(subnet).reason}: ${why}` });
  }
  const ensures: Action[] = [];
  for (const want of wanted.values()) {
    const seenPort = seenByName.get(want.name);
    const why = drift(want, seenPort);
    if (why === undefined) continue;
    switches.set(want.subnet.name, ensureSwitchOf(want.subnet));
    const from = seenPort?.externalIds['ls'];
    // A port on another switch goes first (a port cannot change switch in place); the stable sort keeps it first.
    if (seenPort !== undefined && from !== want.subnet.name) ensures.push({ type: 'DeleteLogicalSwitchPort', target: want.name, reason: `move it from ${from ?? 'an unknown switch'} to ${want.subnet.name}` });
    ensures.push({ ...want.action, reason: `${want.action.reason}: ${why}` });
  }
  const deletes: Action[] = seen
    .filter((p) => p.externalIds['vendor'] === OVN_VENDOR && !wanted.has(p.name) && !ctx.snapshot.ips.has(p.name))
    .map((p) => ({ type: 'DeleteLogicalSwitchPort', target: p.name, reason: `no claim: no IP object is named ${p.name} (the port says pod ${p.externalIds['pod'] ?? '?'})` }));
  // A switch whose ports this audit deletes goes at the next one, once it is seen empty.
  const switchDeletes: Action[] = seenOvn.switches
    .filter((sw) => sw.externalIds['vendor'] === OVN_VENDOR && !subnets.has(sw.name) && sw.ports === 0)
    .map((sw) => ({ type: 'DeleteLogicalSwitch', target: sw.name, reason: `no OVN subnet ${sw.name}: the Subnet is gone or not a valid OVN subnet, and the switch has no port left` }));
  return [...[...switches.values()].sort(byTarget), ...ensures.sort(byTarget), ...deletes.sort(byTarget), ...switchDeletes.sort(byTarget)];
};
