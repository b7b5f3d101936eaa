// IP objects written by hand to reserve an address for a pod that may not exist yet (issue #13
// item 4). Kube-OVN allocates such a pre-created IP CR and labels it `ip_reserved: "true"`, but
// does not replay it into IPAM after a restart (#1843); we honour it on purpose, always.
// Rules:
// - A reservation is an IP object named for its pod (`<podName>.<namespace>[.<provider>]`, as
//   Kube-OVN requires) and labelled `ovn.kubernetes.io/ip_reserved: "true"`, or one that no
//   controller wrote: no pod-UID label and no finalizer (Kube-OVN's and ours both add one),
//   unless labelled `ip_reserved: "false"`. One written by hand but not named for its pod is
//   malformed: neither held nor deleted (it is not ours to delete).
// - It holds its address from the moment it is read, for the pod `spec.podName` in
//   `spec.namespace`; that pod (any UID) takes it over, and the controller then writes the full
//   record over it, labelled `ip_reserved: "true"` so it survives the pod as Kube-OVN's does.
// - On an OVN Subnet a reservation without a MAC gets one generated from its name (the same in
//   every plan and every controller), written when its pod comes.
// - Claims loaded from IP objects rather than pod annotations are restored in creation order,
//   then by name (as Subnets are, PlanContext.subnetsInPrecedence): the earlier keeps a
//   contested address, the later is a ClaimConflict naming both. A pod's annotations (what it
//   runs with) come before every IP object.
// - A reservation that loses is never silent (issue #14 item 4): the IP object itself gets a
//   Warning Event ClaimConflict naming both (it is cluster-scoped: the Event lives in
//   `default`), and its pod, when it comes, a ClaimConflict and no address. It waits: once the
//   claim that holds its address is released (that pod is gone), the reservation holds it
//   again and its pod is given it, as a fresh plan would decide (retryReservations).
import { formatValue } from './Address.js';
import * as E from 'fp-ts/lib/Either.js';
import type { Draft } from './Draft.js';
import { familyDraft } from './Draft.js';
import type { Claim } from './IpamState.js';
import { generateMac } from './Mac.js';
import type { Action } from './Plan.js';
import { restoreClaim } from './Rebuild.js';
import { addressText, POD_UID_LABEL } from './Records.js';
import type { IP } from './schema/kubeovn.js';

export const RESERVED_LABEL = 'ovn.kubernetes.io/ip_reserved';

/** Written by hand (no controller's pod-UID label or finalizer), and not opted out. */
const handWritten = (ip: IP): boolean =>
  ip.metadata.labels?.[RESERVED_LABEL] !== 'false' && ip.metadata.labels?.[POD_UID_LABEL] === undefined && (ip.metadata.finalizers ?? []).length === 0;

const namedForItsPod = (ip: IP): boolean => {
  const prefix = `${ip.spec.podName}.${ip.spec.namespace}`;
  return ip.spec.podName !== '' && ip.spec.namespace !== '' && (ip.metadata.name === prefix || ip.metadata.name.startsWith(`${prefix}.`));
};

/** Is this IP object a reservation (see the rules above)? */
export const isReservation = (ip: IP): boolean =>
  namedForItsPod(ip) && (ip.metadata.labels?.[RESERVED_LABEL] === 'true' || handWritten(ip));

/** Written by hand as a reservation but not named for its pod: left alone. */
export const isMalformedReservation = (ip: IP): boolean => handWritten(ip) && !namedForItsPod(ip);

/** The order IP-object claims are restored in: creation time, then name. */
export const byCreationThenName = (a: { readonly ip: IP; readonly name: string }, b: { readonly ip: IP; readonly name: string }): number => {
  const ta = a.ip.metadata.creationTimestamp ?? '\uffff';
  const tb = b.ip.metadata.creationTimestamp ?? '\uffff';
  return ta < tb ? -1 : ta > tb ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
};

/** A reservation's claim with a MAC when its Subnet is an OVN one and it names none: generated
 *  from the IP object's name, unique in the Subnet. */
export const withReservedMac = (d: Draft, claim: Claim, ipName: string): Claim => {
  const s = d.subnet(claim.subnet);
  if (claim.mac !== undefined || s === undefined || !s.subnet.isOvn) return claim;
  for (let attempt = 0; attempt < 64; attempt++) {
    const mac = generateMac(`reserved/${ipName}`, attempt);
    if (!s.macs.has(mac)) return { ...claim, mac };
  }
  return claim;
};

/** Who holds what `claim` asks for in the draft (the first contested address), by IP object
 *  name when known, else by pod. */
const holderText = (d: Draft, claim: Claim, ipNames: ReadonlyMap<string, string>): string | undefined => {
  const s = d.subnet(claim.subnet);
  if (s === undefined) return undefined;
  for (const family of [4, 6] as const) {
    const value = family === 4 ? claim.v4 : claim.v6;
    const id = value === undefined ? undefined : familyDraft(s, family)?.used.get(value);
    if (id === undefined) continue;
    const holder = d.claims.get(id);
    const name = ipNames.get(id);
    const pod = holder === undefined ? id : `pod ${holder.owner.namespace}/${holder.owner.name}`;
    return `${formatValue(family, value!)} is already held by ${name === undefined ? pod : `IP object ${name} (${pod})`}`;
  }
  return undefined;
};

/** The ClaimConflict message of an IP object whose claim could not be restored. */
export const reservationConflict = (d: Draft, claim: Claim, ipName: string, why: string, ipNames: ReadonlyMap<string, string>): string => {
  const held = holderText(d, claim, ipNames);
  return `IP object ${ipName} reserves ${addressText(claim)} in subnet ${claim.subnet} for pod ${claim.owner.namespace}/${claim.owner.name}, but ${held ?? why}` +
    (held === undefined ? '' : ', which came first (by creation time, then name)');
};

/** A reservation that could not hold its address: its claim and the ClaimConflict message. */
export interface LostReservation {
  readonly claim: Claim;
  readonly message: string;
}

/** The Warning Event on a reservation's IP object that lost its address. */
export const reservationEventOf = (ipName: string, lost: LostReservation): Action => ({
  type: 'EmitEvent', kind: 'IP', target: ipName, reason: lost.message,
  event: { type: 'Warning', reason: 'ClaimConflict', message: `ClaimConflict: ${lost.message}` },
});

/** Restores into `d`, in the order they lost (creation time, then name), each lost reservation
 *  whose address is free again: its holder was released. Returns the names of those restored
 *  (undefined when none), so the caller drops their conflicts. A restored address is no longer
 *  a recent release. */
export const retryReservations = (d: Draft, lost: ReadonlyMap<string, LostReservation>): ReadonlySet<string> | undefined => {
  const restored = new Set<string>();
  for (const [name, { claim }] of lost) {
    if (E.isLeft(restoreClaim(d, claim))) continue;
    restored.add(name);
    const s = d.subnet(claim.subnet)!;
    for (const family of [4, 6] as const) {
      const value = family === 4 ? claim.v4 : claim.v6;
      if (value !== undefined) familyDraft(s, family)?.released.delete(value);
    }
  }
  return restored.size === 0 ? undefined : restored;
};
