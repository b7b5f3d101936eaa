// A pod's networks (DESIGN §3.1): the default network plus every attachment named by
// `k8s.v1.cni.cncf.io/networks`, each with its provider and interface name.
// Rules:
// - eth0: a pod's `v1.multus-cni.io/default-network` (one `[ns/]name`, the networks syntax)
//   names the NAD that serves it, as Multus and Kube-OVN read it: a NAD of ours gives eth0 its
//   provider (`<nad>.<ns>.ovn` or `<nad>.<ns>`) and so its Subnet; a NAD not ours means another
//   CNI owns eth0 (nothing for us, no error); a missing or broken NAD is an error of eth0.
//   Without that annotation eth0 is the default network (provider `ovn`), unless the controller
//   runs in non-primary CNI mode (Kube-OVN's --non-primary-cni-mode: another CNI owns every
//   pod's eth0, and we serve attachments only).
// - Attachments are named net1, net2, … by their position in the list unless they name an
//   interface. A NAD with `"type": "kube-ovn"` gives provider `<nad>.<ns>.ovn`; one with
//   `"ipam": {"type": "kube-ovn"}` gives `<nad>.<ns>`. A NAD attached twice gives each of its
//   interfaces its own provider, suffixed with `.<ifName>` (Kube-OVN does so for OVN NADs with
//   interface names; we do it always, so each interface has its own claim, IP object and keys).
// - A pod may name at most MAX_ATTACHMENTS attachments; one that names more is one error and
//   nothing of it is planned (no partial writes).
// - An attachment's interface name must be one Linux takes (at most 15 bytes, no "/", ":" or
//   white space), unique in the pod and not eth0; otherwise that element is InvalidAnnotation.
// - A missing NAD, a NAD that is not ours, a NAD whose config does not parse, and a `provider`
//   field that disagrees with the derived provider are errors of that interface only.
import * as E from 'fp-ts/lib/Either.js';
import type { Pod } from './schema/kube.js';
import type { NetConf } from './schema/netconf.js';
import { parseNetConf } from './schema/netconf.js';
import type { NetworkSelection } from './schema/networks.js';
import { parseNetworksAnnotation } from './schema/networks.js';
import type { Route } from './schema/route.js';
import type { Snapshot } from './Snapshot.js';
import { interfaceNameProblem } from './schema/names.js';
import { DEFAULT_PROVIDER, NETWORKS_ANNOTATION } from './schema/keys.js';

export const DEFAULT_NETWORK_ANNOTATION = 'v1.multus-cni.io/default-network';

export interface PodNetwork {
  readonly provider: string;
  readonly interface: string;
  /** OVN networks (the default network and `type: kube-ovn` NADs) get MACs and logical switch ports. */
  readonly isOvn: boolean;
  /** `namespace/name` of the NAD; undefined for the default network. */
  readonly nad?: string | undefined;
  /** Set when the same NAD is attached twice: the claim is then per interface. */
  readonly claimInterface?: string | undefined;
  /** The network selection element (its `ips` and `mac` are static requests). */
  readonly selection?: NetworkSelection | undefined;
  /** Routes of the NAD config. */
  readonly routes: readonly Route[];
}

export type NetworkProblemCode = 'NetworkNotFound' | 'UnmanagedNetwork' | 'ProviderMismatch' | 'InvalidAnnotation';

export interface NetworkProblem {
  readonly provider: string;
  readonly interface: string;
  readonly code: NetworkProblemCode;
  readonly message: string;
}

/** NAD configs parsed once per snapshot: `namespace/name` → config or the reason it is unusable. */
export type NadIndex = ReadonlyMap<string, E.Either<string, NetConf>>;

export const indexNads = (snapshot: Snapshot): NadIndex =>
  new Map(
    [...snapshot.nads].map(([key, entry]) => {
      const parsed = parseNetConf(entry.object.spec?.config ?? '', `NetworkAttachmentDefinition "${key}"`);
      return [key, E.mapLeft((f: { message: string }) => f.message)(parsed)] as const;
    }),
  );

export const defaultNetwork: PodNetwork = { provider: DEFAULT_PROVIDER, interface: 'eth0', isOvn: true, routes: [] };

/** Who serves the eth0 of a pod that does not name its default network: us (`ovn`, the
 *  default), or another CNI (`none`: non-primary CNI mode). */
export type DefaultNetworkMode = 'ovn' | 'none';

/** The provider a NAD serves, from its name, namespace and kind. */
export const providerOf = (nadName: string, namespace: string, conf: NetConf, suffix?: string): string | undefined => {
  const tail = suffix === undefined ? '' : `.${suffix}`;
  if (conf.kind === 'kube-ovn') return `${nadName}.${namespace}.ovn${tail}`;
  if (conf.kind === 'kube-ovn-ipam') return `${nadName}.${namespace}${tail}`;
  return undefined;
};

export interface ResolvedNetworks {
  readonly networks: readonly PodNetwork[];
  readonly problems: readonly NetworkProblem[];
}

const resolveOne = (
  nads: NadIndex,
  sel: NetworkSelection,
  ifName: string,
  twice: boolean,
): E.Either<NetworkProblem, PodNetwork> => {
  const key = `${sel.namespace}/${sel.name}`;
  const guess = `${sel.name}.${sel.namespace}`;
  const conf = nads.get(key);
  if (conf === undefined) {
    return E.left({ provider: guess, interface: ifName, code: 'NetworkNotFound', message: `NetworkAttachmentDefinition ${key} does not exist` });
  }
  if (E.isLeft(conf)) return E.left({ provider: guess, interface: ifName, code: 'NetworkNotFound', message: conf.left });
  const suffix = twice ? ifName : undefined;
  const provider = providerOf(sel.name, sel.namespace, conf.right, suffix);
  if (provider === undefined) {
    return E.left({
      provider: guess, interface: ifName, code: 'UnmanagedNetwork',
      message: `NetworkAttachmentDefinition ${key} (type ${conf.right.mainType}) does not use kube-ovn as its plugin or IPAM, so no address is allocated for it`,
    });
  }
  const base = suffix === undefined ? provider : provider.slice(0, -(suffix.length + 1));
  if (conf.right.provider !== undefined && conf.right.provider !== base) {
    return E.left({
      provider, interface: ifName, code: 'ProviderMismatch',
      message: `NetworkAttachmentDefinition ${key} says provider "${conf.right.provider}" but its provider is "${base}" (<name>.<namespace>${conf.right.kind === 'kube-ovn' ? '.ovn' : ''}); the CNI plugin would wait for annotations that never come`,
    });
  }
  return E.right({
    provider,
    interface: ifName,
    isOvn: conf.right.kind === 'kube-ovn',
    nad: key,
    claimInterface: twice ? ifName : undefined,
    selection: sel,
    routes: conf.right.routes,
  });
};

/** The NAD `pod` names for eth0 (undefined when it names none), or the problem with the name. */
const defaultSelection = (pod: Pod): E.Either<NetworkProblem, NetworkSelection | undefined> => {
  const value = pod.metadata.annotations?.[DEFAULT_NETWORK_ANNOTATION];
  if (value === undefined) return E.right(undefined);
  const parsed = parseNetworksAnnotation(value, pod.metadata.namespace ?? 'default', DEFAULT_NETWORK_ANNOTATION);
  if (E.isLeft(parsed)) return E.left({ provider: '', interface: 'eth0', code: 'InvalidAnnotation', message: parsed.left.message });
  const [sel, ...more] = parsed.right;
  if (sel === undefined || more.length > 0) {
    return E.left({ provider: '', interface: 'eth0', code: 'InvalidAnnotation', message: `annotation ${DEFAULT_NETWORK_ANNOTATION}: names ${parsed.right.length} networks; eth0 has exactly one` });
  }
  return E.right({ name: sel.name, namespace: sel.namespace });
};

/** Why an attachment cannot have interface `ifName` (Linux's rules; unique in the pod, and
 *  never eth0), or undefined. `taken` maps the names given so far to their holders. */
const interfaceProblem = (sel: NetworkSelection, ifName: string, taken: ReadonlyMap<string, string>): string | undefined => {
  const what = `interface "${ifName}" of ${sel.namespace}/${sel.name}`;
  const problem = interfaceNameProblem(ifName);
  if (problem !== undefined) return `${what} ${problem}`;
  const holder = taken.get(ifName);
  if (holder === undefined) return undefined;
  return holder === 'the default network' ? `${what} is the default network's (eth0); an attachment needs another name` : `${what} is also the interface of ${holder}`;
};

/** The most attachments one pod may name. Far above what a NIC-heavy pod uses (telco and RDMA
 *  pods have tens), and low enough that a pod's annotations and IP objects stay well inside the
 *  API server's limits (256 KiB of annotations: a network publishes about 300 bytes). */
export const MAX_ATTACHMENTS = 128;

/** Every network of `pod`, in interface order, with the problems of those that cannot be
 *  served. `mode` says who serves eth0 when the pod does not name its default network. A NAD
 *  named both for eth0 and in the list counts as attached twice. */
export const podNetworks = (nads: NadIndex, pod: Pod, mode: DefaultNetworkMode = 'ovn'): ResolvedNetworks => {
  const annotations = pod.metadata.annotations ?? {};
  const networks: PodNetwork[] = [];
  const problems: NetworkProblem[] = [];
  const eth0 = defaultSelection(pod);
  if (E.isLeft(eth0)) problems.push(eth0.left);
  else if (eth0.right === undefined && mode === 'ovn') networks.push(defaultNetwork);
  const value = annotations[NETWORKS_ANNOTATION];
  const parsed = value === undefined ? E.right([]) : parseNetworksAnnotation(value, pod.metadata.namespace ?? 'default');
  if (E.isLeft(parsed)) problems.push({ provider: '', interface: '', code: 'InvalidAnnotation', message: parsed.left.message });
  const listed = E.isRight(parsed) ? parsed.right : [];
  if (listed.length > MAX_ATTACHMENTS) {
    // Over the limit nothing of the pod is planned (eth0 neither): one error, no partial writes.
    const message = `annotation ${NETWORKS_ANNOTATION}: names ${listed.length} attachments; a pod may have at most ${MAX_ATTACHMENTS}`;
    return { networks: [], problems: [...problems, { provider: '', interface: '', code: 'InvalidAnnotation', message }] };
  }
  const counts = new Map<string, number>();
  const chosen = E.isRight(eth0) ? eth0.right : undefined;
  for (const sel of [...(chosen === undefined ? [] : [chosen]), ...listed]) counts.set(`${sel.namespace}/${sel.name}`, (counts.get(`${sel.namespace}/${sel.name}`) ?? 0) + 1);
  const twice = (sel: NetworkSelection) => (counts.get(`${sel.namespace}/${sel.name}`) ?? 0) > 1;
  if (chosen !== undefined) {
    const r = resolveOne(nads, chosen, 'eth0', twice(chosen));
    // A NAD that is not ours on eth0: another CNI serves it, and we have nothing to do.
    if (E.isLeft(r) && r.left.code !== 'UnmanagedNetwork') problems.push(r.left);
    else if (E.isRight(r)) networks.push(r.right);
  }
  const taken = new Map<string, string>([['eth0', 'the default network']]);
  listed.forEach((sel, i) => {
    const ifName = sel.interface ?? `net${i + 1}`;
    const problem = interfaceProblem(sel, ifName, taken);
    if (problem !== undefined) {
      problems.push({ provider: `${sel.name}.${sel.namespace}`, interface: ifName, code: 'InvalidAnnotation', message: `annotation ${NETWORKS_ANNOTATION}: ${problem}` });
      return;
    }
    taken.set(ifName, `${sel.namespace}/${sel.name}`);
    const r = resolveOne(nads, sel, ifName, twice(sel));
    if (E.isLeft(r)) problems.push(r.left);
    else networks.push(r.right);
  });
  return { networks, problems };
};
