// Hot-unplug: a live pod whose networks annotation no longer names an attachment (Multus's
// dynamic networks controller removes the element after its CNI DEL) gives that attachment up,
// and a pod in non-primary CNI mode gives up an eth0 it had from us before.
// Rules:
// - A network is given up only when the pod names every network it wants in a way that
//   resolves: while its networks annotation does not parse, or one element cannot be resolved
//   (a NAD deleted, misspelt, broken), nothing is given up, since the pod may still use it.
// - Given up are the providers whose `<provider>.kubernetes.io/allocated` is "true" on the pod
//   (what we published) but that none of its networks has any more. Their published keys
//   (ip_address, mac_address, cidr, gateway, logical_switch, allocated) are removed in the pod's
//   one patch, so a network plugged again later starts afresh and never reads an old address as
//   its own. A pod that writes annotations ahead of a hot-plug (no `allocated`) keeps them, and
//   so do the keys only users write (ip_pool, routes, ip_family).
// - The attachment's IP object (and its OVN port) goes and its claim is released: in `plan` as
//   any IP object no live pod network owns (ExistingClaims), in the controller's incremental
//   planner by `unplugged` below.
import { ALLOCATED_TRUE, annotationKey } from './schema/annotations.js';
import type { Pod } from './schema/kube.js';

/** The annotation names we publish per network, removed when a network is given up. */
export const PUBLISHED = ['ip_address', 'mac_address', 'cidr', 'gateway', 'logical_switch', 'allocated'] as const;

/** The providers `pod` had published for (allocated "true") that are not in `wanted`, sorted.
 *  The caller asks only when every network the pod names resolved (see the header). */
export const givenUp = (pod: Pod, wanted: ReadonlySet<string>): readonly string[] => {
  const annotations = pod.metadata.annotations ?? {};
  return Object.keys(annotations)
    .flatMap((key) => {
      const m = /^(.+)\.kubernetes\.io\/allocated$/.exec(key);
      return m !== null && annotations[key] === ALLOCATED_TRUE && !wanted.has(m[1]!) ? [m[1]!] : [];
    })
    .sort();
};

/** The merge patch that removes the published keys of `providers` from `pod`. */
export const unpublish = (pod: Pod, providers: readonly string[]): Record<string, null> => {
  const annotations = pod.metadata.annotations ?? {};
  const out: Record<string, null> = {};
  for (const provider of providers) {
    for (const name of PUBLISHED) {
      const key = annotationKey(provider, name);
      if (Object.prototype.hasOwnProperty.call(annotations, key)) out[key] = null;
    }
  }
  return out;
};
