// What the validating webhook says about one pod (a real one under admission, the pod of a
// workload template, or a pod the planner simulates for a workload): the planner's errors for
// it, each sorted into deny or warn and worded to name the annotation at fault.
// Rules (issue 12):
// - deny what the pod itself gets wrong, which no later object can fix: InvalidAnnotation,
//   InvalidIPFamily, AddressOutOfRange, AddressConflict (a static address or MAC another pod
//   claims, or the gateway);
// - warn about what another object may still fix or free: NetworkNotFound, ProviderMismatch,
//   NoSubnet, SubnetInvalid, NoAvailableAddress, ClaimConflict;
// - say nothing about a NAD that is not ours (UnmanagedNetwork): another IPAM serves it.
// Wording: `annotation "<key>": <cause>`, the key being the annotation the value came from
// (the plain, the per-interface or the networks annotation's element); `network <if>
// (<provider>): <cause>` when no annotation is at fault (a subnet with no free address).
// The cause is the planner's message without its `pod <ns/name> <if> (<provider>): ` prefix.
// Cost: checkPodWith plans the pod against a prepared state (Prepared.ts) in O(log n), the
// same decision as checkPod, which rebuilds every claim; a pod the cluster already knows by
// name (Prepared.knownByName) takes checkPod's way.
import * as E from 'fp-ts/lib/Either.js';
import type { PlanOptions } from '../ClusterPlanner.js';
import { holdItemsIn } from '../PoolHolds.js';
import { PlanBuilder, planPod, planPodIn, resolvePod } from '../ClusterPlanner.js';
import { Draft } from '../Draft.js';
import type { PodNetwork } from '../Networks.js';
import { DEFAULT_NETWORK_ANNOTATION, podNetworks } from '../Networks.js';
import type { PlanError, PlanErrorCode } from '../Plan.js';
import { baseProvider, podKeyOf, requestOf } from '../PlanContext.js';
import type { PodNetworkRequest } from '../schema/annotations.js';
import { AnnotationName, annotationKey, NETWORKS_ANNOTATION, perInterfaceKey } from '../schema/keys.js';
import type { Pod } from '../schema/kube.js';
import { parseNetworksAnnotation } from '../schema/networks.js';
import type { Snapshot } from '../Snapshot.js';
import { podEntry, withEntry } from './AdmittedObject.js';
import type { AdmissionState } from './Prepared.js';
import { knownByName, live } from './Prepared.js';
import { nadIndexFor } from './StaticMac.js';

export type Verdict = 'deny' | 'warn';

export interface Finding {
  readonly verdict: Verdict;
  readonly code: PlanErrorCode;
  readonly message: string;
}

export const verdictOf = (code: PlanErrorCode): Verdict | undefined => {
  switch (code) {
    case 'InvalidAnnotation':
    case 'InvalidIPFamily':
    case 'AddressOutOfRange':
    case 'AddressConflict':
      return 'deny';
    case 'NetworkNotFound':
    case 'ProviderMismatch':
    case 'NoSubnet':
    case 'SubnetInvalid':
    case 'NoAvailableAddress':
    case 'ClaimConflict':
      return 'warn';
    case 'UnmanagedNetwork':
      return undefined;
  }
};

/** The pod's networks as the planner resolves them (NADs looked up by key, not all parsed). */
export const networksOf = (snapshot: Snapshot, pod: Pod): readonly PodNetwork[] => {
  const selections = [NETWORKS_ANNOTATION, DEFAULT_NETWORK_ANNOTATION].flatMap((annotation) => {
    const value = pod.metadata.annotations?.[annotation];
    const parsed = value === undefined ? undefined : parseNetworksAnnotation(value, pod.metadata.namespace ?? 'default');
    return parsed !== undefined && E.isRight(parsed) ? parsed.right : [];
  });
  return podNetworks(nadIndexFor(snapshot, selections), pod).networks;
};

const valued = (pod: Pod, key: string): boolean => (pod.metadata.annotations?.[key]?.trim() ?? '') !== '';

/** The annotation a static address or MAC of `net` came from, in requestOf's precedence. */
export const staticKey = (pod: Pod, net: PodNetwork, name: 'ip_address' | 'mac_address'): string | undefined => {
  const base = baseProvider(net);
  const candidates = [
    annotationKey(net.provider, name),
    ...(net.claimInterface === undefined ? [] : [perInterfaceKey(base, name, net.claimInterface), annotationKey(base, name)]),
  ];
  const found = candidates.find((key) => valued(pod, key));
  if (found !== undefined) return found;
  const fromElement = name === 'ip_address' ? (net.selection?.ips ?? []).length > 0 : net.selection?.mac !== undefined;
  return fromElement ? NETWORKS_ANNOTATION : undefined;
};

/** The annotation at fault for a planner error of `net`, when one is. */
const keyFor = (pod: Pod, net: PodNetwork, request: PodNetworkRequest | undefined, code: PlanErrorCode, cause: string): string | undefined => {
  const poolKey = request?.ipPool === undefined ? undefined : annotationKey(net.provider, AnnotationName.ipPool);
  switch (code) {
    case 'AddressConflict':
      // The allocator words a MAC conflict `MAC <mac> is already used by …`.
      return cause.startsWith('MAC ') ? staticKey(pod, net, 'mac_address') : staticKey(pod, net, 'ip_address') ?? poolKey;
    case 'AddressOutOfRange':
      return staticKey(pod, net, 'ip_address') ?? poolKey;
    case 'InvalidIPFamily':
      return annotationKey(net.provider, AnnotationName.ipFamily);
    case 'NoAvailableAddress':
      return poolKey;
    case 'NoSubnet':
    case 'SubnetInvalid':
      return request?.logicalSwitch !== undefined ? annotationKey(net.provider, AnnotationName.logicalSwitch) : request?.ipPool?.kind === 'pool' ? poolKey : undefined;
    default:
      return undefined;
  }
};

const BROADCAST = /^ff([:-]ff){5}$/i;

/** `annotation <key>: <detail>` (schema/keys.ts) as `annotation "<key>": <detail>`; a
 *  broadcast MAC, which the parser calls multicast (it is), is called broadcast. */
const quoteAnnotation = (pod: Pod, cause: string): string | undefined => {
  const m = /^annotation (\S+): ([\s\S]*)$/.exec(cause);
  if (m === null) return undefined;
  const [, key, detail] = m as unknown as [string, string, string];
  const value = pod.metadata.annotations?.[key]?.trim() ?? '';
  const isMacKey = /\/mac_address(\.[^/]+)?$/.test(key);
  return `annotation "${key}": ${isMacKey && BROADCAST.test(value) ? `"${value}" is the broadcast MAC address` : detail}`;
};

/** The planner's prefix of an error message (ClusterPlanner's PlanBuilder.error). */
const prefixOf = (e: PlanError, simulated: string | undefined): string => {
  const where = [e.interface ?? '', e.provider === '' ? '' : `(${e.provider})`].filter((x) => x !== '').join(' ');
  return `pod ${e.pod}${where === '' ? '' : ` ${where}`}${simulated !== undefined ? ` [simulated for ${simulated}]` : ''}: `;
};

/** The cause of a planner error, without the prefix that names the pod. */
export const causeOf = (e: PlanError, simulated?: string): string => {
  const prefix = prefixOf(e, simulated);
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
};

const NETWORK_CODES: readonly PlanErrorCode[] = ['NetworkNotFound', 'ProviderMismatch', 'UnmanagedNetwork'];

/** The message of one planner error of `pod`, naming the annotation at fault. */
export const describe = (pod: Pod, networks: readonly PodNetwork[], e: PlanError, cause: string): string => {
  const quoted = quoteAnnotation(pod, cause);
  if (quoted !== undefined) return quoted;
  if (NETWORK_CODES.includes(e.code)) return `annotation "${NETWORKS_ANNOTATION}": ${e.interface ?? ''}: ${cause}`;
  const net = networks.find((n) => n.provider === e.provider && n.interface === e.interface);
  if (net === undefined) return cause;
  const request = requestOf(pod, net);
  const key = keyFor(pod, net, E.isRight(request) ? request.right : undefined, e.code, cause);
  if (key === undefined) return `network ${net.interface} (${net.provider}): ${cause}`;
  return key === NETWORKS_ANNOTATION ? `annotation "${key}": ${net.interface}: ${cause}` : `annotation "${key}": ${cause}`;
};

/** Sorts and words the planner's errors of `pod`. */
export const findingsOf = (snapshot: Snapshot, pod: Pod, errors: readonly PlanError[], simulated?: string): readonly Finding[] => {
  const networks = errors.length === 0 ? [] : networksOf(snapshot, pod);
  return errors.flatMap((e) => {
    const verdict = verdictOf(e.code);
    return verdict === undefined ? [] : [{ verdict, code: e.code, message: describe(pod, networks, e, causeOf(e, simulated)) }];
  });
};

/** Plans `pod` as if the snapshot held it (planPod: this pod only, against every claim the
 *  snapshot holds) and returns what the webhook says about it. */
export const checkPod = (snapshot: Snapshot, pod: Pod, options: PlanOptions): readonly Finding[] => {
  const key = podKeyOf(pod);
  const withPod = withEntry(snapshot, 'pods', key, podEntry(pod));
  const plan = planPod(withPod, key, options);
  return findingsOf(withPod, pod, plan.errors.filter((e) => e.pod === key && e.simulated === undefined));
};

/** checkPod against a prepared state of `snapshot`: the pod's holds and its plan go into a
 *  Draft over the prepared claims (never into the prepared state), as planPod would plan it
 *  after the same rebuild. */
export const checkPodWith = (state: AdmissionState, snapshot: Snapshot, pod: Pod, options: PlanOptions): readonly Finding[] => {
  if (!live(pod)) return [];
  const ctx = { ...state.planner.ctx, snapshot };
  const r = resolvePod(ctx, pod);
  if (knownByName(state, snapshot, r)) return checkPod(snapshot, pod, options);
  const d = new Draft(state.planner.ipam);
  holdItemsIn(d, [r], state.planner.heldPools);
  const out = new PlanBuilder();
  planPodIn(ctx, d, r, state.planner.loaded, out, options.now);
  return findingsOf(snapshot, pod, out.errors);
};
