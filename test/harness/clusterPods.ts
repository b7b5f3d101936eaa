// What the cluster tier's tests ask of pods on the real node: their annotations, the addresses
// and routes inside them (`kubectl exec … ip`), Multus's network-status, pings between them,
// and the claims (IP objects) the controller wrote. Everything goes through kubectl, as a user
// would look, so a test checks the state of the world, not how it got there.
import { waitFor } from './exec.js';
import type { Cluster } from './cluster.js';

export interface PodObject {
  readonly metadata: {
    readonly name: string; readonly namespace: string; readonly uid: string;
    readonly annotations?: Readonly<Record<string, string>>; readonly labels?: Readonly<Record<string, string>>;
    readonly ownerReferences?: readonly { readonly kind: string; readonly name: string }[];
  };
  readonly spec: { readonly nodeName?: string; readonly serviceAccountName?: string };
  readonly status: { readonly phase?: string; readonly conditions?: readonly { readonly type: string; readonly status: string }[] };
}

export interface NetworkStatus {
  readonly name: string;
  readonly interface?: string;
  readonly ips?: readonly string[];
  readonly mac?: string;
  readonly default?: boolean;
}

export const getJson = async <T>(c: Cluster, args: readonly string[]): Promise<T> =>
  JSON.parse(await c.kubectlOk([...args, '-o', 'json'])) as T;

export const getPod = (c: Cluster, ns: string, name: string): Promise<PodObject> => getJson<PodObject>(c, ['-n', ns, 'get', 'pod', name]);

export const listPods = async (c: Cluster, ns: string, selector?: string): Promise<readonly PodObject[]> =>
  (await getJson<{ items: PodObject[] }>(c, ['-n', ns, 'get', 'pods', ...(selector === undefined ? [] : ['-l', selector])])).items;

/** Waits until every named pod (or every pod of `selector`) is Ready. */
export async function waitReadyPods(c: Cluster, ns: string, target: { names?: readonly string[]; selector?: string }, timeoutS = 180): Promise<void> {
  const what = target.names !== undefined ? target.names.map((n) => `pod/${n}`) : ['pods', '-l', target.selector ?? ''];
  await c.kubectlOk(['-n', ns, 'wait', '--for=condition=Ready', ...what, `--timeout=${timeoutS}s`], { timeoutMs: timeoutS * 1000 + 10_000 });
}

/** Runs a command in the pod's (first) container. */
export const exec = (c: Cluster, ns: string, pod: string, argv: readonly string[], timeoutMs = 60_000): Promise<string> =>
  c.kubectlOk(['-n', ns, 'exec', pod, '--', ...argv], { timeoutMs });

/** The addresses (`a.b.c.d/len`, global scope) of `ifName` inside the pod, as `ip addr` shows them. */
export async function addressesIn(c: Cluster, ns: string, pod: string, ifName: string): Promise<readonly string[]> {
  const out = await exec(c, ns, pod, ['ip', 'addr', 'show', 'dev', ifName]);
  return [...out.matchAll(/^\s+inet6? (\S+) .*scope global/gm)].map((m) => m[1] ?? '');
}

/** The MAC of `ifName` inside the pod. */
export async function macIn(c: Cluster, ns: string, pod: string, ifName: string): Promise<string> {
  const out = await exec(c, ns, pod, ['ip', 'link', 'show', 'dev', ifName]);
  return /link\/ether (\S+)/.exec(out)?.[1] ?? '';
}

/** The IPv4 routes inside the pod, one per line as `ip route` prints them, trimmed. */
export async function routesIn(c: Cluster, ns: string, pod: string, table?: string): Promise<readonly string[]> {
  const out = await exec(c, ns, pod, ['ip', 'route', 'show', ...(table === undefined ? [] : ['table', table])]);
  return out.split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => l !== '');
}

/** Multus's `k8s.v1.cni.cncf.io/network-status` of the pod. */
export function networkStatus(pod: PodObject): readonly NetworkStatus[] {
  const raw = pod.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'];
  return raw === undefined ? [] : (JSON.parse(raw) as NetworkStatus[]);
}

/** Pings `address` from inside the pod; resolves with ping's output, rejects when nothing answered. */
export const ping = (c: Cluster, ns: string, pod: string, address: string): Promise<string> =>
  exec(c, ns, pod, ['ping', '-c', '2', '-W', '3', address], 30_000);

/** The IP objects (kubectl's view), by name. */
export async function ipObjects(c: Cluster): Promise<ReadonlyMap<string, { readonly spec: Readonly<Record<string, unknown>> & { readonly ipAddress: string; readonly podName: string; readonly subnet: string } }>> {
  const list = await getJson<{ items: { metadata: { name: string }; spec: Record<string, unknown> & { ipAddress: string; podName: string; subnet: string } }[] }>(c, ['get', 'ips']);
  return new Map(list.items.map((i) => [i.metadata.name, i]));
}

/** Deletes the objects of `files` (kubectl delete -f) and waits until their pods are gone. */
export async function deleteFiles(c: Cluster, files: readonly string[], timeoutS = 120): Promise<void> {
  await c.kubectlOk(['delete', '--ignore-not-found', '--wait=true', `--timeout=${timeoutS}s`, ...files.flatMap((f) => ['-f', f])], { timeoutMs: timeoutS * 1000 + 10_000 });
}

/** Waits until no IP object names a pod of `ns` that is not in `keep`. */
export async function waitForReleased(c: Cluster, ns: string, keep: readonly string[] = [], timeoutMs = 60_000): Promise<void> {
  await waitFor(`the IP objects of deleted pods in ${ns} released`, async () => {
    const left = [...(await ipObjects(c)).values()].filter((i) => i.spec['namespace'] === ns && !keep.includes(i.spec.podName));
    return left.length === 0 ? true : undefined;
  }, { timeoutMs, intervalMs: 500 });
}
