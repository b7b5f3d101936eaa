// Loading the claims a cluster already holds, before anything is allocated (DESIGN §3.5).
// Sources, per live pod network: the pod's annotations when `allocated` is "true" (what the
// daemon acted on), else an IP object the pod owns (written just before a crash, or kept for
// a StatefulSet pod recreated under a new UID). When both exist and disagree the annotations
// win and the disagreement is reported. IP objects no live pod network owns are released
// (DeleteIP), except those a StatefulSet still wants and those labelled reserved, which keep
// their addresses. A claim that collides with an earlier one is reported and not restored.
import * as E from 'fp-ts/lib/Either.js';
import type { Address } from './Address.js';
import { parseMac } from './Address.js';
import type { Draft } from './Draft.js';
import type { Claim, ClaimKey } from './IpamState.js';
import { claimIdOf } from './IpamState.js';
import type { PodNetwork } from './Networks.js';
import type { PlanContext } from './PlanContext.js';
import { podKeyOf, podUidOf } from './PlanContext.js';
import { addressText, POD_UID_LABEL } from './Records.js';
import { restoreClaim } from './Rebuild.js';
import { releaseIn } from './Allocator.js';
import { ALLOCATED_TRUE, annotationKey, parseIpAddresses } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';
import type { IP } from './schema/kubeovn.js';
import { statefulSetOf, statefulSetWants } from './Workloads.js';

export const RESERVED_LABEL = 'ovn.kubernetes.io/ip_reserved';

export interface LiveNetwork {
  readonly pod: Pod;
  readonly net: PodNetwork;
  readonly key: ClaimKey;
  readonly ipName: string;
  /** Subnet the planner chose for it (when it could), used when nothing else says. */
  readonly subnet: string | undefined;
}

export interface Loaded {
  /** Claim ids that could not be restored, with the reason (the network is then left alone). */
  readonly conflicts: ReadonlyMap<string, string>;
  /** Disagreements resolved without loss, as messages per pod key. */
  readonly notes: readonly { readonly pod: string; readonly provider: string; readonly interface: string; readonly message: string }[];
  /** IP objects to delete: name → reason. */
  readonly deletions: ReadonlyMap<string, string>;
}

const addressesOf = (text: string): readonly Address[] | undefined => {
  const parsed = parseIpAddresses(text);
  return E.isRight(parsed) ? parsed.right : undefined;
};

const claimOf = (live: LiveNetwork, subnet: string, addresses: readonly Address[], mac: bigint | undefined): Claim => ({
  id: claimIdOf(live.key),
  key: live.key,
  owner: { namespace: live.pod.metadata.namespace ?? 'default', name: live.pod.metadata.name },
  subnet,
  v4: addresses.find((a) => a.family === 4)?.value,
  v6: addresses.find((a) => a.family === 6)?.value,
  mac,
  source: 'existing',
});

const macOf = (text: string | undefined): bigint | undefined => {
  if (text === undefined || text === '') return undefined;
  const m = parseMac(text);
  return E.isRight(m) ? m.right : undefined;
};

/** Is `ip` this pod's (by UID label, or by name when it has no UID label)? */
const owns = (pod: Pod, ip: IP): boolean => {
  const uid = ip.metadata.labels?.[POD_UID_LABEL];
  const sameName = ip.spec.podName === pod.metadata.name && ip.spec.namespace === (pod.metadata.namespace ?? 'default');
  return sameName && (uid === undefined || uid === podUidOf(pod));
};

/** A StatefulSet pod recreated under a new UID adopts the IP object of its predecessor. */
const adopts = (pod: Pod, ip: IP): boolean =>
  statefulSetOf(pod) !== undefined && ip.spec.podType === 'StatefulSet' && ip.spec.podName === pod.metadata.name && ip.spec.namespace === (pod.metadata.namespace ?? 'default');

const fromIp = (live: LiveNetwork, ip: IP): Claim | undefined => {
  const addresses = addressesOf(ip.spec.ipAddress);
  return addresses === undefined ? undefined : claimOf(live, ip.spec.subnet, addresses, macOf(ip.spec.macAddress));
};

const fromAnnotations = (live: LiveNetwork, ip: IP | undefined): Claim | undefined => {
  const a = live.pod.metadata.annotations ?? {};
  const p = live.net.provider;
  if (a[annotationKey(p, 'allocated')] !== ALLOCATED_TRUE) return undefined;
  const addresses = addressesOf(a[annotationKey(p, 'ip_address')] ?? '');
  if (addresses === undefined) return undefined;
  const subnet = ip?.spec.subnet ?? a[annotationKey(p, 'logical_switch')] ?? live.subnet;
  return subnet === undefined ? undefined : claimOf(live, subnet, addresses, macOf(a[annotationKey(p, 'mac_address')]));
};

const sameClaim = (a: Claim, b: Claim): boolean => a.subnet === b.subnet && a.v4 === b.v4 && a.v6 === b.v6 && a.mac === b.mac;

/** The provider part of an IP object's name (`<pod>.<ns>[.<provider>]`). */
const providerOfIpName = (ip: IP): string => {
  const prefix = `${ip.spec.podName}.${ip.spec.namespace}`;
  return ip.metadata.name.length > prefix.length + 1 ? ip.metadata.name.slice(prefix.length + 1) : 'ovn';
};

/** Restores every existing claim into the draft. `live` is every network of every live pod,
 *  in planning order. */
export const loadExisting = (ctx: PlanContext, d: Draft, live: readonly LiveNetwork[], now: number): Loaded => {
  const conflicts = new Map<string, string>();
  const notes: { pod: string; provider: string; interface: string; message: string }[] = [];
  const consumed = new Set<string>();
  const restore = (claim: Claim): boolean => {
    const r = restoreClaim(d, claim);
    if (E.isLeft(r)) conflicts.set(claim.id, `existing allocation ${addressText(claim)} in subnet ${claim.subnet} cannot be kept: ${r.left.message}`);
    return E.isRight(r);
  };
  for (const l of live) {
    const ip = ctx.snapshot.ips.get(l.ipName)?.object;
    const mine = ip !== undefined && (owns(l.pod, ip) || adopts(l.pod, ip)) ? ip : undefined;
    if (mine !== undefined) consumed.add(l.ipName);
    const byAnnotations = fromAnnotations(l, mine);
    const byIp = mine && fromIp(l, mine);
    const claim = byAnnotations ?? byIp;
    if (claim === undefined) continue;
    if (byAnnotations !== undefined && byIp !== undefined && !sameClaim(byAnnotations, byIp)) {
      notes.push({
        pod: podKeyOf(l.pod), provider: l.net.provider, interface: l.net.interface,
        message: `pod annotations say ${addressText(byAnnotations)} in ${byAnnotations.subnet} but IP object ${l.ipName} says ${addressText(byIp)} in ${byIp.subnet}; keeping the annotations (what the pod uses) and correcting the IP object`,
      });
    }
    restore(claim);
  }
  const deletions = new Map<string, string>();
  for (const [name, entry] of ctx.snapshot.ips) {
    if (consumed.has(name)) continue;
    const ip = entry.object;
    const owner = ctx.snapshot.pods.get(`${ip.spec.namespace}/${ip.spec.podName}`)?.object;
    const retained = retainedBy(ctx, ip);
    if (retained !== undefined) {
      const key: ClaimKey = { podUid: `retained:${name}`, provider: providerOfIpName(ip) };
      const claim = fromIp({ pod: { metadata: { name: ip.spec.podName, namespace: ip.spec.namespace }, spec: {} }, net: { provider: key.provider, interface: '', isOvn: false, routes: [] }, key, ipName: name, subnet: ip.spec.subnet }, ip);
      if (claim !== undefined) restore(claim);
      continue;
    }
    deletions.set(name, owner === undefined ? `pod ${ip.spec.namespace}/${ip.spec.podName} is gone` : `pod ${ip.spec.namespace}/${ip.spec.podName} no longer uses this network (or was recreated under a new UID)`);
    // Released, not forgotten: its addresses are reused only when no never-used one is left.
    const key: ClaimKey = { podUid: `released:${name}`, provider: providerOfIpName(ip) };
    const claim = fromIp({ pod: { metadata: { name: ip.spec.podName, namespace: ip.spec.namespace }, spec: {} }, net: { provider: key.provider, interface: '', isOvn: false, routes: [] }, key, ipName: name, subnet: ip.spec.subnet }, ip);
    if (claim !== undefined && E.isRight(restoreClaim(d, claim))) releaseIn(d, claim.id, now);
  }
  return { conflicts, notes, deletions };
};

/** Why an IP object without a live owner keeps its address, or undefined when it does not. */
export const retainedBy = (ctx: PlanContext, ip: IP): string | undefined => {
  if (ip.metadata.labels?.[RESERVED_LABEL] === 'true') return 'reserved';
  const owner = ctx.snapshot.pods.get(`${ip.spec.namespace}/${ip.spec.podName}`)?.object;
  const uidLabel = ip.metadata.labels?.[POD_UID_LABEL];
  if (owner !== undefined && (uidLabel === undefined || uidLabel === podUidOf(owner)) && owner.metadata.deletionTimestamp === undefined && owner.status?.phase !== 'Failed' && owner.status?.phase !== 'Succeeded') {
    return undefined; // a live owner that no longer attaches this network
  }
  if (ip.spec.podType !== 'StatefulSet') return undefined;
  const stsName = [...ctx.snapshot.statefulsets.values()]
    .map((e) => e.object)
    .find((s) => s.metadata.namespace === ip.spec.namespace && ip.spec.podName.startsWith(`${s.metadata.name}-`));
  if (stsName === undefined) return undefined;
  const tail = ip.spec.podName.slice(ip.spec.podName.lastIndexOf('-') + 1);
  const member = { statefulSet: stsName.metadata.name, ordinal: /^\d+$/.test(tail) ? Number(tail) : 0, ownerUid: '' };
  return statefulSetWants(ctx.snapshot, ip.spec.namespace, member) ? `StatefulSet ${ip.spec.namespace}/${member.statefulSet} still wants ordinal ${member.ordinal}` : undefined;
};
