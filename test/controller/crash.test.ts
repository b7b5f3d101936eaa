// Crash safety of the controller (DESIGN §3.5, lessons.md bug classes 1-3), with the built CLI
// against a real kube-apiserver: the test-only fault hook (KUBE_OVN_IPAM_FAULT) SIGKILLs the
// controller at one write of a pod plan; a fresh controller then has to converge with no
// duplicate, no leak and no disagreement between IP objects, annotations and Subnet status.
//
// Every case adds its own namespace of pods to the same cluster, so each restart also has to
// keep everything the earlier cases left. The checks read the world (kubectl), not the logs:
// - every live pod network is allocated (`allocated: "true"`) and has its IP object;
// - no address is given twice in a subnet, neither in annotations nor in IP objects;
// - every IP object belongs to a live pod (name and UID label) and says what its pod says;
// - each Subnet's status counts exactly its IP objects.
// The faulted run uses one worker, so "the n-th write" is a write of one known pod.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess } from '../harness/controllerProcess.js';
import { waitForNoProblems } from '../harness/exec.js';

const EXAMPLES = new URL('../../examples/macvlan-ipam/', import.meta.url);
const MACVLAN = 'macvlan.default';
/** The Subnet of each provider, and how many addresses it has for pods (size - network,
 *  broadcast, gateway and excludeIps). */
const SUBNET_OF: Readonly<Record<string, string>> = { ovn: 'ovn-default', [MACVLAN]: 'macvlan' };
const CAPACITY: Readonly<Record<string, number>> = { 'ovn-default': 65_536 - 3, macvlan: 65_536 - 2 - 10 };

interface Meta {
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly deletionTimestamp?: string;
}
interface PodObj { readonly kind: 'Pod'; readonly metadata: Meta }
interface IpObj {
  readonly kind: 'IP';
  readonly metadata: Meta;
  readonly spec: { readonly podName: string; readonly namespace: string; readonly subnet: string; readonly ipAddress: string; readonly v4IpAddress: string; readonly macAddress: string };
}
interface SubnetObj { readonly kind: 'Subnet'; readonly metadata: Meta; readonly status?: { readonly v4usingIPs?: number; readonly v4availableIPs?: number } }
interface World {
  readonly pods: readonly PodObj[];
  readonly ips: readonly IpObj[];
  readonly subnets: readonly SubnetObj[];
}

let api: ApiServer;
let kubeconfig: string;
const controllers: ControllerProcess[] = [];

const world = async (): Promise<World> => {
  const list = JSON.parse(await api.kubectlOk(['get', 'pods,ips.kubeovn.io,subnets.kubeovn.io', '--all-namespaces', '-o', 'json'])) as { items: (PodObj | IpObj | SubnetObj)[] };
  return {
    pods: list.items.filter((o): o is PodObj => o.kind === 'Pod' && o.metadata.deletionTimestamp === undefined),
    ips: list.items.filter((o): o is IpObj => o.kind === 'IP'),
    subnets: list.items.filter((o): o is SubnetObj => o.kind === 'Subnet'),
  };
};

const podKey = (m: Meta): string => `${m.namespace ?? 'default'}/${m.name}`;
const providersOf = (pod: PodObj): string[] => ['ovn', ...(pod.metadata.annotations?.['k8s.v1.cni.cncf.io/networks'] !== undefined ? [MACVLAN] : [])];
const ipNameOf = (pod: PodObj, provider: string): string => `${pod.metadata.name}.${pod.metadata.namespace}${provider === 'ovn' ? '' : `.${provider}`}`;
const ann = (pod: PodObj, provider: string, key: string): string | undefined => pod.metadata.annotations?.[`${provider}.kubernetes.io/${key}`];

/** Everything wrong with the world, one line each; empty when it is consistent. */
const problemsOf = (w: World): string[] => {
  const problems: string[] = [];
  const pods = new Map(w.pods.map((p) => [podKey(p.metadata), p]));
  const ips = new Map(w.ips.map((ip) => [ip.metadata.name, ip]));
  const annotated = new Map<string, string>();
  for (const pod of w.pods) {
    for (const provider of providersOf(pod)) {
      const where = `pod ${podKey(pod.metadata)} (${provider})`;
      if (ann(pod, provider, 'allocated') !== 'true') {
        problems.push(`${where}: not allocated`);
        continue;
      }
      const address = `${SUBNET_OF[provider]} ${ann(pod, provider, 'ip_address')}`;
      const other = annotated.get(address);
      if (other !== undefined) problems.push(`${where}: address ${address} also annotated on ${other}`);
      annotated.set(address, where);
      if (!ips.has(ipNameOf(pod, provider))) problems.push(`${where}: allocated but no IP object ${ipNameOf(pod, provider)}`);
    }
  }
  const claimed = new Map<string, string>();
  for (const ip of w.ips) {
    const name = ip.metadata.name;
    const address = `${ip.spec.subnet} ${ip.spec.v4IpAddress}`;
    const other = claimed.get(address);
    if (other !== undefined) problems.push(`IP ${name}: address ${address} also claimed by IP ${other}`);
    claimed.set(address, name);
    const pod = pods.get(`${ip.spec.namespace}/${ip.spec.podName}`);
    if (pod === undefined) {
      problems.push(`IP ${name}: its pod ${ip.spec.namespace}/${ip.spec.podName} does not exist`);
      continue;
    }
    if (ip.metadata.labels?.['ipam.kube-ovn.io/pod-uid'] !== pod.metadata.uid) {
      problems.push(`IP ${name}: pod-uid label ${ip.metadata.labels?.['ipam.kube-ovn.io/pod-uid']} is not the live pod's ${pod.metadata.uid}`);
    }
    const provider = providersOf(pod).find((p) => ipNameOf(pod, p) === name);
    if (provider === undefined) {
      problems.push(`IP ${name}: no network of pod ${podKey(pod.metadata)} has this name`);
      continue;
    }
    if (ann(pod, provider, 'allocated') !== 'true') continue; // reported above
    const says = { subnet: SUBNET_OF[provider], ipAddress: ann(pod, provider, 'ip_address'), mac: (ann(pod, provider, 'mac_address') ?? '').toLowerCase() };
    const has = { subnet: ip.spec.subnet, ipAddress: ip.spec.ipAddress, mac: ip.spec.macAddress.toLowerCase() };
    if (JSON.stringify(says) !== JSON.stringify(has)) problems.push(`IP ${name}: says ${JSON.stringify(has)}, its pod ${JSON.stringify(says)}`);
  }
  for (const subnet of w.subnets) {
    const name = subnet.metadata.name;
    const using = w.ips.filter((ip) => ip.spec.subnet === name).length;
    const status = { using: subnet.status?.v4usingIPs, available: subnet.status?.v4availableIPs };
    const want = { using, available: (CAPACITY[name] ?? NaN) - using };
    if (JSON.stringify(status) !== JSON.stringify(want)) problems.push(`Subnet ${name}: status ${JSON.stringify(status)}, IP objects say ${JSON.stringify(want)}`);
  }
  return problems;
};

/** Waits until the world has no problem; fails with the last list of problems. */
const converged = (timeoutMs = 20_000): Promise<World> =>
  waitForNoProblems(world, problemsOf, { timeoutMs, intervalMs: 200, context: () => controllers.at(-1)?.tail() ?? '' });

const podDoc = (namespace: string, name: string, annotations: Record<string, string>): object => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/macvlan', ...annotations } },
  spec: { containers: [{ name: 'c', image: 'pause' }] },
});

const apply = (docs: readonly object[]): Promise<string> =>
  api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: docs }) });

/** Namespace `ns` with pods p0..p3 (dynamic) and p4 (static on both networks). */
const applyPods = (ns: string, n: number): Promise<string> => apply([
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
  ...[0, 1, 2, 3].map((i) => podDoc(ns, `p${i}`, {})),
  podDoc(ns, 'p4', { 'ovn.kubernetes.io/ip_address': `10.16.1.${n}`, [`${MACVLAN}.kubernetes.io/ip_address`]: `172.17.1.${n}` }),
]);

const start = (fault?: string, workers = 3): ControllerProcess => {
  const c = startController({
    name: fault === undefined ? 'controller' : `controller (${fault})`,
    args: ['--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0', '--workers', String(workers), '--identity', 'crash-test',
      '--lease-namespace', 'default', '--lease-duration', '4s'],
    ...(fault === undefined ? {} : { env: { KUBE_OVN_IPAM_FAULT: fault } }),
  });
  controllers.push(c);
  return c;
};

beforeAll(async () => {
  await Promise.all([
    buildCli(),
    (async () => {
      api = await startApiServer();
    })(),
  ]);
  kubeconfig = api.kubeconfigPath;
  for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) {
    await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL(f, EXAMPLES), 'utf8') });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await api?.stop();
}, 60_000);

/** What the faulted run left in its namespace: IP objects (by pod) and allocated pods. */
const leftIn = (w: World, ns: string) => ({
  ipsByPod: [...new Set(w.ips.filter((ip) => ip.spec.namespace === ns).map((ip) => ip.spec.podName))].map((pod) => ({
    pod, ips: w.ips.filter((ip) => ip.spec.namespace === ns && ip.spec.podName === pod).length,
  })),
  allocatedPods: w.pods.filter((p) => p.metadata.namespace === ns && providersOf(p).some((pr) => ann(p, pr, 'allocated') === 'true')).map((p) => p.metadata.name),
});

/** IP object name → address, of the pods of `ns`. */
const claimsIn = (w: World, ns: string): Record<string, string> =>
  Object.fromEntries(w.ips.filter((ip) => ip.spec.namespace === ns).map((ip) => [ip.metadata.name, ip.spec.ipAddress]));
/** The claims of `before` as `after` holds them. */
const keptClaims = (before: World, after: World, ns: string): Record<string, string | undefined> => {
  const now = claimsIn(after, ns);
  return Object.fromEntries(Object.keys(claimsIn(before, ns)).map((name) => [name, now[name]]));
};

describe('controller crash at a write of a pod plan, then restart', () => {
  // `left`: what the killed controller must have written (one worker, pods in name order). A
  // pod's IP objects are written together, so when the first answer kills the process the
  // second may have landed too: `after:CreateIP` leaves one or two.
  const cases = [
    { fault: 'after:CreateIP', left: { ipsByPod: [{ pod: 'p0', ips: 1 }], allocatedPods: [] }, orIps: 2 },
    { fault: 'after:CreateIP:2', left: { ipsByPod: [{ pod: 'p0', ips: 2 }], allocatedPods: [] } },
    { fault: 'before:PatchPodAnnotations', left: { ipsByPod: [{ pod: 'p0', ips: 2 }], allocatedPods: [] } },
    { fault: 'after:PatchPodAnnotations', left: { ipsByPod: [{ pod: 'p0', ips: 2 }], allocatedPods: ['p0'] } },
  ].map((c, i) => ({ ...c, n: i + 1, ns: `crash-${i + 1}` }));

  it.each(cases)('$fault: the next controller converges with no duplicate and no leak', async (c) => {
    const { fault, left, n, ns } = c;
    await applyPods(ns, n);
    const faulted = start(fault, 1);
    expect(await faulted.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const crashed = await world();
    const found = leftIn(crashed, ns);
    const tolerated = 'orIps' in c && found.ipsByPod.length === 1 && found.ipsByPod[0]!.ips === c.orIps ? { ...found, ipsByPod: [{ ...found.ipsByPod[0]!, ips: left.ipsByPod[0]!.ips }] } : found;
    expect(tolerated).toEqual(left);

    const next = start();
    const w = await converged();
    expect(problemsOf(w)).toEqual([]);
    // The claims written before the crash are honoured, not replaced.
    expect(keptClaims(crashed, w, ns)).toEqual(claimsIn(crashed, ns));
    const p4 = w.pods.find((p) => p.metadata.namespace === ns && p.metadata.name === 'p4')!;
    expect([ann(p4, 'ovn', 'ip_address'), ann(p4, MACVLAN, 'ip_address')]).toEqual([`10.16.1.${n}`, `172.17.1.${n}`]);
    expect(w.pods.filter((p) => p.metadata.namespace === ns)).toHaveLength(5);
    await next.stop();
  }, 60_000);

  it('after:CreateIP:5 with three workers: the next controller converges and keeps every claim', async () => {
    await applyPods('crash-5', 5);
    const faulted = start('after:CreateIP:5', 3);
    expect(await faulted.waitForExit(30_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const crashed = await world();
    expect(Object.keys(claimsIn(crashed, 'crash-5')).length).toBeGreaterThanOrEqual(5);

    const next = start();
    const w = await converged();
    expect(problemsOf(w)).toEqual([]);
    expect(keptClaims(crashed, w, 'crash-5')).toEqual(claimsIn(crashed, 'crash-5'));
    await next.stop();
  }, 60_000);

  it('after:DeleteIP of a deleted pod: the next controller deletes the rest and frees the addresses', async () => {
    const faulted = start('after:DeleteIP', 1);
    // Deleted only once it watches: a pod gone before the start is the sweep's (not faulted).
    await faulted.waitForLog((l) => l.msg.startsWith('caches synced'));
    await converged();
    const before = await world();
    const p1 = before.pods.find((p) => podKey(p.metadata) === 'crash-2/p1')!;
    const freed = [ann(p1, 'ovn', 'ip_address')!, ann(p1, MACVLAN, 'ip_address')!];
    await api.kubectlOk(['delete', 'pod', '-n', 'crash-2', 'p1']);
    expect(await faulted.waitForExit(20_000)).toEqual({ code: null, signal: 'SIGKILL' });
    // The kill came between the two deletes: one IP object of p1 is left.
    expect((await world()).ips.filter((ip) => ip.spec.namespace === 'crash-2' && ip.spec.podName === 'p1')).toHaveLength(1);

    const next = start();
    await converged();
    await apply([podDoc('crash-2', 'reuse', { 'ovn.kubernetes.io/ip_address': freed[0]!, [`${MACVLAN}.kubernetes.io/ip_address`]: freed[1]! })]);
    const w = await converged();
    const reuse = w.pods.find((p) => podKey(p.metadata) === 'crash-2/reuse')!;
    expect([ann(reuse, 'ovn', 'ip_address'), ann(reuse, MACVLAN, 'ip_address')]).toEqual(freed);
    await next.stop();
  }, 60_000);

  it('a pod deleted, and one recreated under its name, while no controller runs (Kube-OVN #4304)', async () => {
    const before = await world();
    const p1 = before.pods.find((p) => podKey(p.metadata) === 'crash-1/p1')!;
    const freed = [ann(p1, 'ovn', 'ip_address')!, ann(p1, MACVLAN, 'ip_address')!];
    const oldP2 = before.pods.find((p) => podKey(p.metadata) === 'crash-1/p2')!;
    await api.kubectlOk(['delete', 'pod', '-n', 'crash-1', 'p1', 'p2']);
    // While no controller runs: p2 comes back (a new UID), and a pod asks for p1's addresses.
    await apply([
      podDoc('crash-1', 'p2', {}),
      podDoc('crash-1', 'reuse', { 'ovn.kubernetes.io/ip_address': freed[0]!, [`${MACVLAN}.kubernetes.io/ip_address`]: freed[1]! }),
    ]);

    const next = start();
    const w = await converged();
    expect(w.ips.filter((ip) => ip.spec.namespace === 'crash-1' && ip.spec.podName === 'p1')).toEqual([]);
    const newP2 = w.pods.find((p) => podKey(p.metadata) === 'crash-1/p2')!;
    expect(newP2.metadata.uid).not.toBe(oldP2.metadata.uid);
    expect(w.ips.filter((ip) => ip.spec.namespace === 'crash-1' && ip.spec.podName === 'p2').map((ip) => ip.metadata.labels?.['ipam.kube-ovn.io/pod-uid']))
      .toEqual([newP2.metadata.uid, newP2.metadata.uid]);
    // p1's addresses were free for the static pod.
    const reuse = w.pods.find((p) => podKey(p.metadata) === 'crash-1/reuse')!;
    expect([ann(reuse, 'ovn', 'ip_address'), ann(reuse, MACVLAN, 'ip_address')]).toEqual(freed);
    await next.stop();
  }, 60_000);
});
