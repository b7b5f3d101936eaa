// The objects of the controller benchmarks (bench/controller.ts), written straight to the API
// server through the REST chokepoint: the seed's ovn-default, macvlan NAD and Subnet, a second
// IPAM-only network `macvlan2`, pods, and for the restart benchmark pods that already carry
// complete allocations with the IP objects the controller would have written for them.
// Rules:
// - Every NAD lives in `default` (providers `macvlan.default`, `macvlan2.default`); pods live in
//   their own namespace and name the NADs as `default/<nad>`.
// - Seeded allocations are exactly what the controller writes (Records.ts): the same annotation
//   keys and values, IP objects named `<pod>.<ns>` and `<pod>.<ns>.<provider>` with our
//   finalizer, the subnet and pod-UID labels, and the full spec; so a restart plans no writes.
// - Writes go `concurrency` at a time; the first failure rejects (after the others settle).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../src/adapters/kube/config.js';
import { makeRest, type Request } from '../src/adapters/kube/rest.js';
import { startApiServer, type ApiServer } from '../test/harness/apiserver.js';
import { IP_FINALIZER } from '../src/adapters/kube/kube.js';
import { formatValue } from '../src/domain/Address.js';
import type { IpObject } from '../src/domain/Plan.js';
import { POD_UID_LABEL, SUBNET_LABEL } from '../src/domain/Records.js';

const SEED = new URL('../../examples/macvlan-ipam/', import.meta.url);
const CRDS = fileURLToPath(new URL('../../config/crd/', import.meta.url));
const IPS = '/apis/kubeovn.io/v1/ips';
const SUBNETS = '/apis/kubeovn.io/v1/subnets';
const NADS = '/apis/k8s.cni.cncf.io/v1/namespaces/default/network-attachment-definitions';

/** A network a benchmark pod attaches: its provider, NAD and Subnet. */
export interface Network {
  readonly provider: string;
  readonly nad: string | undefined;
  readonly subnet: string;
  readonly cidr: string;
  readonly gateway: string;
  /** The first address dynamic allocation hands out (after the gateway and excludes). */
  readonly first: bigint;
  readonly isOvn: boolean;
}

const v4 = (text: string): bigint => text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(o), 0n);

export const OVN_DEFAULT: Network = { provider: 'ovn', nad: undefined, subnet: 'ovn-default', cidr: '10.16.0.0/16', gateway: '10.16.0.1', first: v4('10.16.0.2'), isOvn: true };
export const MACVLAN: Network = { provider: 'macvlan.default', nad: 'macvlan', subnet: 'macvlan', cidr: '172.17.0.0/16', gateway: '172.17.0.1', first: v4('172.17.0.11'), isOvn: false };
export const MACVLAN2: Network = { provider: 'macvlan2.default', nad: 'macvlan2', subnet: 'macvlan2', cidr: '172.18.0.0/16', gateway: '172.18.0.1', first: v4('172.18.0.2'), isOvn: false };

/** Runs `work` on every item, `concurrency` at a time, in order of start; resolves with the results. */
export const mapLimit = async <A, B>(items: readonly A[], concurrency: number, work: (item: A, index: number) => Promise<B>): Promise<B[]> => {
  const out: B[] = new Array<B>(items.length);
  let next = 0;
  let failed: unknown;
  const lane = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        out[i] = await work(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  if (failed !== undefined) throw failed;
  return out;
};

/** Applies config/crd and waits until each CRD is Established and served, and 2 s more: the
 *  API server holds every create of a resource whose CRD is younger than that (as the harness). */
export const applyCrds = async (api: ApiServer): Promise<void> => {
  const names = (await api.kubectlOk(['apply', '-f', CRDS, '-o', 'name'])).split('\n').filter((l) => l !== '');
  await api.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...names], { timeoutMs: 70_000 });
  const resources = names.map((n) => n.slice(n.indexOf('/') + 1)).join(',');
  for (let tries = 0; (await api.kubectl(['get', resources, '--all-namespaces', '-o', 'name'])).code !== 0; tries++) {
    if (tries > 600) throw new Error(`CRDs ${resources} not served after 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 2_100));
};

const seedObject = (file: string): unknown => parse(readFileSync(new URL(file, SEED), 'utf8')) as unknown;

/** The cluster-wide objects: namespaces, ovn-default, the seed's macvlan NAD and Subnet, and
 *  with `second` the macvlan2 NAD and Subnet. */
export const createNetworks = async (rest: Request, namespaces: readonly string[], second: boolean): Promise<void> => {
  for (const name of namespaces) await rest('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } });
  await rest('POST', SUBNETS, { body: seedObject('00-subnet-ovn-default.yaml') });
  await rest('POST', NADS, { body: seedObject('01-nad-macvlan.yaml') });
  await rest('POST', SUBNETS, { body: seedObject('02-subnet-macvlan.yaml') });
  if (!second) return;
  await rest('POST', NADS, {
    body: {
      apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan2', namespace: 'default' },
      spec: { config: JSON.stringify({ cniVersion: '0.3.0', type: 'macvlan', master: 'eth0', mode: 'bridge', ipam: { type: 'kube-ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock', provider: MACVLAN2.provider } }) },
    },
  });
  await rest('POST', SUBNETS, {
    body: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: MACVLAN2.subnet }, spec: { protocol: 'IPv4', provider: MACVLAN2.provider, cidrBlock: MACVLAN2.cidr, gateway: MACVLAN2.gateway } },
  });
};

/** A pending pod (no node) attaching `attachments` by `default/<nad>`, with `annotations` added. */
export const podBody = (namespace: string, name: string, attachments: readonly Network[], annotations: Readonly<Record<string, string>> = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace, annotations: { 'k8s.v1.cni.cncf.io/networks': attachments.map((n) => `default/${n.nad ?? ''}`).join(','), ...annotations } },
  spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
});

/** POSTs the pod; resolves with its UID. */
export const createPod = async (rest: Request, body: unknown): Promise<string> => {
  const namespace = (body as { metadata: { namespace: string } }).metadata.namespace;
  const created = (await rest('POST', `/api/v1/namespaces/${namespace}/pods`, { body })) as { metadata: { uid: string } };
  return created.metadata.uid;
};

/** The i-th address of `net` and a MAC for it (OVN networks only), as the allocator would give. */
export const addressOf = (net: Network, i: number): { readonly ip: string; readonly mac: string } => {
  const ip = formatValue(4, net.first + BigInt(i));
  const mac = net.isOvn ? `0a:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}` : '';
  return { ip, mac };
};

/** The annotations the controller writes for one network (Records.desiredAnnotations). */
export const allocatedAnnotations = (net: Network, i: number): Record<string, string> => {
  const { ip, mac } = addressOf(net, i);
  const p = `${net.provider}.kubernetes.io`;
  return {
    [`${p}/ip_address`]: ip,
    ...(mac === '' ? {} : { [`${p}/mac_address`]: mac }),
    [`${p}/cidr`]: net.cidr,
    [`${p}/gateway`]: net.gateway,
    ...(net.isOvn ? { [`${p}/logical_switch`]: net.subnet } : {}),
    [`${p}/allocated`]: 'true',
  };
};

/** The IP object the controller writes for one network of a pod (Records.desiredIpObject). */
export const ipObjectOf = (net: Network, namespace: string, pod: string, uid: string, i: number): IpObject => {
  const { ip, mac } = addressOf(net, i);
  return {
    name: net.provider === 'ovn' ? `${pod}.${namespace}` : `${pod}.${namespace}.${net.provider}`,
    labels: { [SUBNET_LABEL]: net.subnet, [POD_UID_LABEL]: uid },
    spec: {
      podName: pod, namespace, subnet: net.subnet, nodeName: '', ipAddress: ip, v4IpAddress: ip, v6IpAddress: '', macAddress: mac,
      containerID: '', podType: '', attachIps: [], attachMacs: [], attachSubnets: [],
    },
  };
};

/** POSTs an IP object as kube.ts's createIP does (with our finalizer). */
export const createIpObject = (rest: Request, ip: IpObject): Promise<unknown> =>
  rest('POST', IPS, { body: { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: ip.name, labels: ip.labels, finalizers: [IP_FINALIZER] }, spec: ip.spec } });

/** Every page of a LIST of `path` (500 per page): how many items, and (when `sized`) their size
 *  as JSON, which costs this process time (so not in a timed LIST). */
export const listAll = async (rest: Request, path: string, sized = false): Promise<{ readonly items: number; readonly bytes: number }> => {
  let items = 0;
  let bytes = 0;
  let cont: string | undefined;
  do {
    const page = (await rest('GET', path, { query: { limit: 500, continue: cont } })) as { items?: unknown[]; metadata?: { continue?: string } };
    items += page.items?.length ?? 0;
    if (sized) for (const o of page.items ?? []) bytes += JSON.stringify(o).length;
    cont = page.metadata?.continue === '' ? undefined : page.metadata?.continue;
  } while (cont !== undefined);
  return { items, bytes };
};

/** Starts an API server with the project's CRDs, runs `body`, and stops the server whatever
 *  happens. The harness's own CRD step looks for config/crd beside its source, which from
 *  dist/test/harness is dist/config/crd: so the CRDs are applied here, from the repository. */
export const withApiServer = async (body: (api: ApiServer, kc: KubeConfig, rest: Request) => Promise<void>): Promise<void> => {
  const api = await startApiServer({ crds: false });
  try {
    await applyCrds(api);
    const kc = loadKubeConfig(api.kubeconfigPath);
    await body(api, kc, makeRest(kc));
  } finally {
    await api.stop();
  }
};

/** Does the pod carry `allocated: "true"` for every one of `nets`? */
export const allocatedOn = (pod: unknown, nets: readonly Network[]): boolean => {
  const a = (pod as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations ?? {};
  return nets.every((n) => a[`${n.provider}.kubernetes.io/allocated`] === 'true');
};

/** `pod-00000`, `pod-00001`, … from `from`. */
export const podNames = (count: number, from = 0): string[] => Array.from({ length: count }, (_, i) => `pod-${String(from + i).padStart(5, '0')}`);

/** The annotations the controller writes on a pod of `nets` that holds their i-th addresses. */
export const annotationsOf = (nets: readonly Network[], i: number): Record<string, string> => Object.assign({}, ...nets.map((n) => allocatedAnnotations(n, i))) as Record<string, string>;
