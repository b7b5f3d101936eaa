// The API server's limit on a pod's annotations (issue #14 item 5). apimachinery's
// ValidateAnnotationsSize sums the byte lengths of every key and every value and refuses an
// object whose total passes 256 KiB (`may not be more than 262144 bytes`, 422). Our merge patch
// of a pod's annotations comes after its IP objects (DESIGN §3.5), so a refused patch would leave
// claims behind with nothing to tell why: the planner checks the size first, and a pod the patch
// would take past the limit gets one InvalidAnnotation error and nothing written.
// Rules:
// - The size is counted as the API server counts it: UTF-8 bytes of keys and values, after the
//   patch (a null value removes the key).
// - `mayOutgrow` is a cheap upper bound, checked before anything is allocated, so the exact
//   check (and the rollback it may need) costs nothing for the pods that cannot reach the limit.
import { boundedMemo } from './schema/memo.js';
import { VM_ANNOTATION } from './VirtualMachines.js';

/** apimachinery's TotalAnnotationSizeLimitB. */
export const ANNOTATIONS_LIMIT_BYTES = 256 * 1024;

// eslint-disable-next-line no-control-regex
const ascii = /^[\x00-\x7f]*$/;
/** UTF-8 length of `text`, counted without encoding it (an encoder allocates a buffer per
 *  call, which a plan of 100,000 pods pays several times per pod, and which was half a pod's
 *  plan with a 10,000-address ip_pool list). ASCII, the common case, is its length (a native
 *  test); otherwise a lone surrogate counts as U+FFFD (3 bytes), as TextEncoder would write it. */
const countBytes = (text: string): number => {
  if (ascii.test(text)) return text.length;
  let total = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) total += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      total += 2;
      i++;
    } else total += 2;
  }
  return total;
};

/** A long value many pods share (a workload's `ip_pool` list) is counted once while it is
 *  kept (schema/memo.ts): the test above scans it, and a 10,000-address list was scanned at
 *  every plan of every replica, most of a pod's plan. */
const bytes = boundedMemo(countBytes, { minLength: 4096, maxValues: 256, maxChars: 64 * 1024 * 1024 });

/** The annotations' size as the API server counts it, after `patch` (null removes a key). */
export const annotationBytes = (annotations: Readonly<Record<string, string>>, patch: Readonly<Record<string, string | null>> = {}): number => {
  let total = 0;
  for (const [k, v] of Object.entries(annotations)) if (!(k in patch)) total += bytes(k) + bytes(v);
  for (const [k, v] of Object.entries(patch)) if (v !== null) total += bytes(k) + bytes(v);
  return total;
};

/** The keys the controller publishes per network, and the longest value each can have
 *  (`v4,v6` addresses, a MAC, two CIDRs, two gateways, `true`); the Subnet's name is added. */
const PUBLISHED: readonly (readonly [string, number])[] = [
  ['ip_address', 55], ['mac_address', 17], ['cidr', 62], ['gateway', 55], ['logical_switch', 0], ['allocated', 4],
];

/** Can publishing these networks (provider, Subnet name) take the annotations past the limit?
 *  An upper bound: false means the patch certainly fits. */
export const mayOutgrow = (annotations: Readonly<Record<string, string>>, networks: readonly { readonly provider: string; readonly subnet: string }[]): boolean => {
  let bound = annotationBytes(annotations) + bytes(VM_ANNOTATION) + 253;
  for (const n of networks) {
    for (const [key, longest] of PUBLISHED) bound += bytes(`${n.provider}.kubernetes.io/${key}`) + longest;
    bound += bytes(n.subnet);
  }
  return bound > ANNOTATIONS_LIMIT_BYTES;
};

/** Why the patch is refused, for the pod's InvalidAnnotation error. */
export const oversizeMessage = (size: number): string =>
  `annotations: publishing its addresses would make the pod's annotations ${size} bytes (keys and values), ` +
  `more than the API server's limit of ${ANNOTATIONS_LIMIT_BYTES}; nothing is written for it`;
