// What the cluster tier's tests ask of pods on the real node: their annotations, the addresses
// and routes inside them (`kubectl exec … ip`), Multus's network-status, pings between them,
// and the claims (IP objects) the controller wrote. Everything goes through kubectl, as a user
// would look, so a test checks the state of the world, not how it got there.
import { describe } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, type Cluster } from './cluster.js';
import { runOk, waitFor } from './exec.js';
import { NODE_LINK } from './node.js';

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

/** `describe` as root; the tier needs root (globalSetup skips the cluster otherwise). */
export const describeOnCluster = process.getuid?.() === 0 ? describe : describe.skip;

/** The seed's example 01 (the macvlan NAD), verbatim but for `master`: the node's link. */
export const seedMacvlanNad = (): string =>
  readFileSync(join(REPO, 'examples', 'macvlan-ipam', '01-nad-macvlan.yaml'), 'utf8').replace('"master": "eth0"', `"master": "${NODE_LINK}"`);

/** The seed's pods' command: a shell that sleeps and exits at once on SIGTERM. */
export const SLEEPER = ['/bin/ash', '-c', 'trap : TERM INT; sleep infinity & wait'] as const;

/** What `plan --kubeconfig` against the cluster, with `files` laid over it, would allocate. */
export interface Planned { readonly pod: string; readonly interface: string; readonly ipAddress: string }
export async function planWith(c: Cluster, files: readonly string[]): Promise<readonly Planned[]> {
  const out = await runOk([join(REPO, 'kube-ovn-ipam'), 'plan', '--kubeconfig', c.kubeconfigPath, ...files.flatMap((f) => ['-s', f]), '--output', 'json']);
  return (JSON.parse(out) as { allocations: Planned[] }).allocations;
}

/**
 * Leaves the cluster as a test file found it: deletes `files`' objects in reverse with their
 * dependents first (foreground cascade: a Deployment's pods go before it does), waits until no
 * pod of `default` is left, every claim is released and no logical port of ours remains (the
 * router's peers, type router, are the Subnets', not pods'), so the
 * next file starts from a clean cluster and a leak fails the file that made it.
 */
export async function leaveClean(c: Cluster, files: readonly string[]): Promise<void> {
  if (files.length > 0) {
    await c.kubectlOk(['delete', '--ignore-not-found', '--cascade=foreground', '--wait=true', '--timeout=180s', ...[...files].reverse().flatMap((f) => ['-f', f])], { timeoutMs: 190_000 });
  }
  await waitFor('no pod left in default, every claim released, no logical port of ours', async () => {
    const [pods, ips, ports] = await Promise.all([
      c.kubectlOk(['-n', 'default', 'get', 'pods', '-o', 'name']),
      c.kubectlOk(['get', 'ips', '-o', 'name']),
      runOk(['ovn-nbctl', `--db=${c.ovsDb.nb ?? ''}`, '--timeout=20', '--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'external_ids:vendor=kube-ovn', 'type!=router']),
    ]);
    return [pods, ips, ports].every((x) => x.trim() === '') ? true : undefined;
  }, { timeoutMs: 120_000, intervalMs: 500 });
}
