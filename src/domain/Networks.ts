// A pod's networks (DESIGN §3.1): the default network plus every attachment named by
// `k8s.v1.cni.cncf.io/networks`, each with its provider and interface name.
// Rules:
// - The default network (provider `ovn`, interface eth0) is always there unless the pod sets
//   `v1.multus-cni.io/default-network` (then another CNI owns eth0).
// - Attachments are named net1, net2, … by their position in the list unless they name an
//   interface. A NAD with `"type": "kube-ovn"` gives provider `<nad>.<ns>.ovn`; one with
//   `"ipam": {"type": "kube-ovn"}` gives `<nad>.<ns>`. A NAD attached twice gives each of its
//   interfaces its own provider, suffixed with `.<ifName>` (Kube-OVN does so for OVN NADs with
//   interface names; we do it always, so each interface has its own claim, IP object and keys).
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
      const parsed = parseNetConf(entry.object.spec.config, `NetworkAttachmentDefinition "${key}"`);
      return [key, E.mapLeft((f: { message: string }) => f.message)(parsed)] as const;
    }),
  );

export const defaultNetwork: PodNetwork = { provider: DEFAULT_PROVIDER, interface: 'eth0', isOvn: true, routes: [] };

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

/** Every network of `pod`, in interface order, with the problems of those that cannot be served. */
export const podNetworks = (nads: NadIndex, pod: Pod): ResolvedNetworks => {
  const annotations = pod.metadata.annotations ?? {};
  const namespace = pod.metadata.namespace ?? 'default';
  const networks: PodNetwork[] = annotations[DEFAULT_NETWORK_ANNOTATION] === undefined ? [defaultNetwork] : [];
  const problems: NetworkProblem[] = [];
  const value = annotations[NETWORKS_ANNOTATION];
  if (value === undefined) return { networks, problems };
  const parsed = parseNetworksAnnotation(value, namespace);
  if (E.isLeft(parsed)) {
    problems.push({ provider: '', interface: '', code: 'InvalidAnnotation', message: parsed.left.message });
    return { networks, problems };
  }
  const counts = new Map<string, number>();
  for (const sel of parsed.right) counts.set(`${sel.namespace}/${sel.name}`, (counts.get(`${sel.namespace}/${sel.name}`) ?? 0) + 1);
  parsed.right.forEach((sel, i) => {
    const ifName = sel.interface ?? `net${i + 1}`;
    const r = resolveOne(nads, sel, ifName, (counts.get(`${sel.namespace}/${sel.name}`) ?? 0) > 1);
    if (E.isLeft(r)) problems.push(r.left);
    else networks.push(r.right);
  });
  return { networks, problems };
};
