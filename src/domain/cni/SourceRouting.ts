// Source routing for a pod with two interfaces on one subnet (seed example 11: eth0 and net1
// both on my-subnet). The kernel sends everything to that subnet through the first connected
// route, so a reply from net1's address would leave through eth0, and OVN's port security
// (the logical port allows only its own "<mac> <ip>") drops it. The node planner gives each
// such interface a routing table of its own and a rule `from <its address> lookup <table>`;
// the main table is left as it is.
//
// Rules:
// - An interface takes part when one of its addresses lies in a CIDR that overlaps the CIDR of
//   another interface the controller has allocated to the same pod (any provider whose
//   `allocated` is "true", read from the pod's annotations), whichever interface is plugged
//   first: both sides get their rule, so the result does not depend on the order of the ADDs.
// - The table is derived from the interface name alone (unique in the pod's netns):
//   SOURCE_TABLE_BASE + FNV-1a-32(ifName) mod SOURCE_TABLE_SPAN, so a DEL, which knows only the
//   container and the interface, finds it again. It avoids the kernel's reserved tables
//   (0, 253-255) and the small numbers people pick by hand. Two interface names of one pod
//   sharing a table has a chance of about one in 2·10⁹.
// - The rules sit at SOURCE_RULE_PRIORITY, after `local` (0) and before `main` (32766).
import * as E from 'fp-ts/lib/Either.js';
import { parseStrictCidr } from '../RangeSet.js';
import { ALLOCATED_TRUE, annotationKey } from '../schema/keys.js';

export const SOURCE_TABLE_BASE = 10_000;
export const SOURCE_TABLE_SPAN = 2_000_000_000;
export const SOURCE_RULE_PRIORITY = 30_000;

const utf8 = new TextEncoder();
const ALLOCATED_SUFFIX = `.kubernetes.io/allocated`;

/** FNV-1a, 32 bits. */
export const fnv1a32 = (text: string): number => {
  let h = 0x811c9dc5;
  for (const byte of utf8.encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
};

/** The routing table of an interface's source routing (see the rules above). */
export const sourceTableOf = (ifName: string): number => SOURCE_TABLE_BASE + (fnv1a32(ifName) % SOURCE_TABLE_SPAN);

/** The CIDRs (`cidr` annotations) of every other allocated interface of the pod, in key order. */
export const siblingCidrs = (annotations: Readonly<Record<string, string>>, provider: string): readonly string[] =>
  Object.keys(annotations).sort().flatMap((key) => {
    if (!key.endsWith(ALLOCATED_SUFFIX) || annotations[key] !== ALLOCATED_TRUE) return [];
    const other = key.slice(0, -ALLOCATED_SUFFIX.length);
    if (other === provider) return [];
    return (annotations[annotationKey(other, 'cidr')] ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
  });

/** Do two CIDRs share an address? (False when either is not a CIDR.) */
export const cidrsOverlap = (a: string, b: string): boolean => {
  const [x, y] = [parseStrictCidr(a), parseStrictCidr(b)];
  return E.isRight(x) && E.isRight(y) && x.right.family === y.right.family && x.right.start <= y.right.end && y.right.start <= x.right.end;
};
