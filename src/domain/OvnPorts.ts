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
// - Actions come sorted by target: ensures (switch, then port), then deletes.
import * as E from 'fp-ts/lib/Either.js';
import type { Claim, IpamState } from './IpamState.js';
import type { Action } from './Plan.js';
import type { PlanContext } from './PlanContext.js';
import { ipName, podUidOf } from './PlanContext.js';
import { POD_UID_LABEL, addressText, macText } from './Records.js';
import { ALLOCATED_TRUE, annotationKey } from './schema/annotations.js';
import type { IP } from './schema/kubeovn.js';
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

const wantedPorts = (ctx: PlanContext, ipam: IpamState): Map<string, WantedPort> => {
  const out = new Map<string, WantedPort>();
  for (const claim of ipam.claims.values()) {
    const s = ctx.subnets.get(claim.subnet);
    if (s === undefined || E.isLeft(s) || !s.right.isOvn) continue;
    const podKey = `${claim.owner.namespace}/${claim.owner.name}`;
    const pod = ctx.snapshot.pods.get(podKey)?.object;
    if (pod === undefined || pod.spec.hostNetwork === true || isGone(pod) || podUidOf(pod) !== claim.key.podUid) continue;
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

/** The actions that bring OVN's ports in line with the claims (see the rules above). */
export const planOvnAudit = (ctx: PlanContext, ipam: IpamState, seen: readonly SeenPort[]): readonly Action[] => {
  const wanted = wantedPorts(ctx, ipam);
  const seenByName = new Map(seen.map((p) => [p.name, p]));
  const switches = new Map<string, Action>();
  const ensures: Action[] = [];
  for (const want of wanted.values()) {
    const why = drift(want, seenByName.get(want.name));
    if (why === undefined) continue;
    switches.set(want.subnet.name, ensureSwitchOf(want.subnet));
    ensures.push({ ...want.action, reason: `${want.action.reason}: ${why}` });
  }
  const deletes: Action[] = seen
    .filter((p) => p.externalIds['vendor'] === OVN_VENDOR && !wanted.has(p.name) && !ctx.snapshot.ips.has(p.name))
    .map((p) => ({ type: 'DeleteLogicalSwitchPort', target: p.name, reason: `no claim: no IP object is named ${p.name} (the port says pod ${p.externalIds['pod'] ?? '?'})` }));
  return [...[...switches.values()].sort(byTarget), ...ensures.sort(byTarget), ...deletes.sort(byTarget)];
};
