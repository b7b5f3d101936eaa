// The seed's examples 01-05 (examples/macvlan-ipam, with the implicit ovn-default Subnet)
// applied with `kubectl apply` to a real kube-apiserver + etcd + kube-controller-manager, with
// the controller running in-process (DESIGN §4): every pod, including the two the Deployment's
// ReplicaSet creates, carries its addresses within a second of its creation, with the exact
// values the seed promises; the IP objects and the Subnets' status agree with the annotations,
// and `kubectl get ips` / `kubectl get subnets` read right.
//
// Timing is measured by an independent watch of the pods (client-node's Watch, not the
// controller's adapter): from the first event that shows a pod to the first that shows it
// allocated. creationTimestamp has whole seconds only, so it is checked with that slack.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Watch } from '@kubernetes/client-node';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { memoryLog } from '../harness/inProcess.js';
import { parseTable } from '../harness/kubectl.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/macvlan-ipam/', import.meta.url));
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const OVN = 'ovn.kubernetes.io';
const MACVLAN = 'macvlan.default.kubernetes.io';
/** A generated MAC: locally administered (bit 1 of the first octet set), unicast (bit 0 clear). */
const GENERATED_MAC = /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/;

interface Pod {
  readonly metadata: {
    readonly name: string; readonly uid: string; readonly creationTimestamp: string;
    readonly annotations?: Record<string, string>; readonly labels?: Record<string, string>;
  };
}
interface Ip {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string>; readonly finalizers?: string[] };
  readonly spec: Record<string, unknown> & { readonly podName: string; readonly ipAddress: string; readonly macAddress: string; readonly subnet: string };
}

/** A Log that keeps every line (the controller's warnings are asserted on, and shown on failure). */
/** When the independent watch first saw each pod (by UID), and first saw it allocated. */
interface Seen { name: string; firstSeen: number; allocatedAt?: number; creationTimestamp: string }

const allocated = (pod: Pod): boolean => {
  const a = pod.metadata.annotations ?? {};
  return a[`${OVN}/allocated`] === 'true' && a[`${MACVLAN}/allocated`] === 'true';
};

const v4 = (text: string): number => text.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
const v4Text = (n: number): string => [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
/** IPv4 addresses in the status's range form: sorted, runs as `a-b`, joined by `,`. */
const rangesOf = (addresses: readonly string[]): string => {
  const values = [...new Set(addresses.map(v4))].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const v of values) {
    const last = runs.at(-1);
    if (last !== undefined && last[1] + 1 === v) last[1] = v;
    else runs.push([v, v]);
  }
  return runs.map(([a, b]) => (a === b ? v4Text(a) : `${v4Text(a)}-${v4Text(b)}`)).join(',');
};

/** The controller-written and user-written annotations, without kubectl's record. */
const own = (pod: Pod): Record<string, string> =>
  Object.fromEntries(Object.entries(pod.metadata.annotations ?? {}).filter(([k]) => k !== LAST_APPLIED));

describe('seed examples 01-05 with the controller on a real API server', () => {
  let api: ApiServer;
  let controller: Controller;
  const log = memoryLog();
  const seen = new Map<string, Seen>();
  let stopObserver: AbortController | undefined;
  const observerErrors: string[] = [];
  const applied = new Map<string, { started: number; returned: number }>();

  const getJson = async <T>(args: readonly string[]): Promise<T> => JSON.parse(await api.kubectlOk([...args, '-o', 'json'])) as T;
  const pods = async (): Promise<Pod[]> => (await getJson<{ items: Pod[] }>(['get', 'pods'])).items;
  const workloadPods = async (): Promise<Pod[]> =>
    (await pods()).filter((p) => p.metadata.labels?.['app'] === 'static-workload').sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));

  beforeAll(async () => {
    api = await startApiServer({ controllerManager: true });
    process.stderr.write(`seed: kube-apiserver ready in ${api.startup.readyMs} ms, with CRDs and kube-controller-manager in ${api.startup.totalMs} ms\n`);
    const kc = loadKubeConfig(api.kubeconfigPath);
    // From resourceVersion 0 (the watch cache's state, then every change): a watch from a list's
    // resourceVersion waits for the watch cache to reach it, and with no pod written yet and
    // etcd 3.4 (no progress notifications) it ends in a 504 "Too large resource version".
    stopObserver = await new Watch(kc).watch('/api/v1/namespaces/default/pods', { resourceVersion: '0' }, (phase, obj: Pod) => {
      if (phase === 'ERROR') {
        observerErrors.push(JSON.stringify(obj));
        return;
      }
      const now = Date.now();
      const s = seen.get(obj.metadata.uid) ?? { name: obj.metadata.name, firstSeen: now, creationTimestamp: obj.metadata.creationTimestamp };
      if (s.allocatedAt === undefined && allocated(obj)) s.allocatedAt = now;
      seen.set(obj.metadata.uid, s);
    }, (err: unknown) => {
      if (err !== null && err !== undefined && !(err instanceof Error && err.name === 'AbortError')) observerErrors.push(String(err));
    });
    controller = new Controller(
      { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: makeMetrics(), canWrite: () => true },
      { workers: 2, gcIntervalMs: 0, cooldownMs: 0 },
    );
    controller.start();
    await controller.ready;
  }, 90_000);

  afterAll(async () => {
    stopObserver?.abort();
    await controller?.stop();
    await api?.stop();
  }, 60_000);

  it.each([
    ['00-subnet-ovn-default.yaml', 'subnet.kubeovn.io/ovn-default created'],
    ['01-nad-macvlan.yaml', 'networkattachmentdefinition.k8s.cni.cncf.io/macvlan created'],
    ['02-subnet-macvlan.yaml', 'subnet.kubeovn.io/macvlan created'],
    ['03-pod-random.yaml', 'pod/samplepod created'],
    ['04-pod-static-ip.yaml', 'pod/static-ip created'],
    ['05-deployment-ip-pool.yaml', 'deployment.apps/static-workload created'],
  ])('kubectl apply -f %s: %s', async (file, printed) => {
    const started = Date.now();
    const result = await api.kubectl(['apply', '-f', `${EXAMPLES}${file}`]);
    applied.set(file, { started, returned: Date.now() });
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 0, stdout: `${printed}\n`, stderr: '' });
  });

  it('the Deployment\'s ReplicaSet creates two pods (kube-controller-manager)', async () => {
    const names = await waitFor('two static-workload pods', async () => {
      const found = await workloadPods();
      return found.length === 2 ? found.map((p) => p.metadata.name) : undefined;
    }, { timeoutMs: 15_000 });
    for (const name of names) expect(name).toMatch(/^static-workload-[0-9a-z]+-[0-9a-z]{5}$/);
  });

  it('annotates every pod within a second of its creation', async () => {
    await waitFor('4 pods seen allocated by the watch', async () => {
      if (observerErrors.length > 0) throw new Error(`the pod watch failed: ${observerErrors.join('; ')}`);
      return [...seen.values()].filter((s) => s.allocatedAt !== undefined).length === 4 ? true : undefined;
    }, { timeoutMs: 10_000 });
    const latency = [...seen.values()].map((s) => ({
      name: s.name,
      // From the watch's first sight of the pod to its first sight allocated.
      sinceSeenMs: (s.allocatedAt ?? Infinity) - s.firstSeen,
      // creationTimestamp is cut to the second: allow that second.
      sinceCreatedMs: (s.allocatedAt ?? Infinity) - Date.parse(s.creationTimestamp),
    }));
    process.stderr.write(`seed: allocation latency ${JSON.stringify(latency)}\n`);
    for (const [file, pod] of [['03-pod-random.yaml', 'samplepod'], ['04-pod-static-ip.yaml', 'static-ip']] as const) {
      const s = [...seen.values()].find((x) => x.name === pod);
      const sinceApplyReturned = (s?.allocatedAt ?? Infinity) - (applied.get(file)?.returned ?? 0);
      expect({ pod, sinceApplyReturnedUnder1s: sinceApplyReturned < 1000 }).toEqual({ pod, sinceApplyReturnedUnder1s: true });
    }
    expect(latency.map((l) => ({ name: l.name, seenUnder1s: l.sinceSeenMs < 1000, createdUnder2s: l.sinceCreatedMs < 2000 })))
      .toEqual(latency.map((l) => ({ name: l.name, seenUnder1s: true, createdUnder2s: true })));
    expect(observerErrors).toEqual([]);
  }, 15_000);

  it('samplepod: eth0 10.16.0.2 with a generated MAC, net1 172.17.0.11 (no MAC on the IPAM-only network)', async () => {
    const pod = await getJson<Pod>(['get', 'pod', 'samplepod']);
    expect(own(pod)).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
      [`${OVN}/ip_address`]: '10.16.0.2',
      [`${OVN}/mac_address`]: expect.stringMatching(GENERATED_MAC),
      [`${OVN}/cidr`]: '10.16.0.0/16',
      [`${OVN}/gateway`]: '10.16.0.1',
      [`${OVN}/logical_switch`]: 'ovn-default',
      [`${OVN}/allocated`]: 'true',
      [`${MACVLAN}/ip_address`]: '172.17.0.11',
      [`${MACVLAN}/cidr`]: '172.17.0.0/16',
      [`${MACVLAN}/gateway`]: '172.17.0.1',
      [`${MACVLAN}/allocated`]: 'true',
    });
  });

  it('static-ip: its static addresses and MACs (MACs canonical, lower case)', async () => {
    const pod = await getJson<Pod>(['get', 'pod', 'static-ip']);
    expect(own(pod)).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
      [`${OVN}/ip_address`]: '10.16.0.15',
      [`${OVN}/mac_address`]: '00:00:00:53:6b:b6',
      [`${OVN}/cidr`]: '10.16.0.0/16',
      [`${OVN}/gateway`]: '10.16.0.1',
      [`${OVN}/logical_switch`]: 'ovn-default',
      [`${OVN}/allocated`]: 'true',
      [`${MACVLAN}/ip_address`]: '172.17.0.100',
      [`${MACVLAN}/mac_address`]: '00:00:00:53:6b:bb',
      [`${MACVLAN}/cidr`]: '172.17.0.0/16',
      [`${MACVLAN}/gateway`]: '172.17.0.1',
      [`${MACVLAN}/allocated`]: 'true',
    });
  });

  it('the Deployment\'s pods: eth0 from {10.16.0.16, 10.16.0.17}, net1 from {172.17.0.200, 172.17.0.201}, all different', async () => {
    const found = await workloadPods();
    const annotations = found.map(own);
    for (const a of annotations) {
      expect(a).toEqual({
        'k8s.v1.cni.cncf.io/networks': 'macvlan',
        [`${OVN}/ip_pool`]: '10.16.0.15,10.16.0.16,10.16.0.17',
        [`${MACVLAN}/ip_pool`]: '172.17.0.200,172.17.0.201,172.17.0.202',
        [`${OVN}/ip_address`]: expect.stringMatching(/^10\.16\.0\.1[67]$/),
        [`${OVN}/mac_address`]: expect.stringMatching(GENERATED_MAC),
        [`${OVN}/cidr`]: '10.16.0.0/16',
        [`${OVN}/gateway`]: '10.16.0.1',
        [`${OVN}/logical_switch`]: 'ovn-default',
        [`${OVN}/allocated`]: 'true',
        [`${MACVLAN}/ip_address`]: expect.stringMatching(/^172\.17\.0\.20[01]$/),
        [`${MACVLAN}/cidr`]: '172.17.0.0/16',
        [`${MACVLAN}/gateway`]: '172.17.0.1',
        [`${MACVLAN}/allocated`]: 'true',
      });
    }
    expect(annotations.map((a) => a[`${OVN}/ip_address`]).sort()).toEqual(['10.16.0.16', '10.16.0.17']);
    expect(annotations.map((a) => a[`${MACVLAN}/ip_address`]).sort()).toEqual(['172.17.0.200', '172.17.0.201']);
    // Every pod's generated MAC is its own.
    const macs = (await pods()).map((p) => p.metadata.annotations?.[`${OVN}/mac_address`]);
    expect(new Set(macs).size).toBe(4);
  });

  it('kubectl get ips -o json: one IP object per pod interface, agreeing with the annotations', async () => {
    const ips = (await getJson<{ items: Ip[] }>(['get', 'ips'])).items;
    const expected = (await pods()).flatMap((pod) => {
      const a = pod.metadata.annotations ?? {};
      const object = (name: string, subnet: string, address: string | undefined, mac: string) => ({
        name,
        labels: { 'ovn.kubernetes.io/subnet': subnet, 'ipam.kube-ovn.io/pod-uid': pod.metadata.uid },
        finalizers: ['kube-ovn-ipam.io/ip'],
        spec: {
          podName: pod.metadata.name, namespace: 'default', subnet, nodeName: '', ipAddress: address, v4IpAddress: address,
          v6IpAddress: '', macAddress: mac, containerID: '', podType: '', attachIps: [], attachMacs: [], attachSubnets: [],
        },
      });
      return [
        object(`${pod.metadata.name}.default`, 'ovn-default', a[`${OVN}/ip_address`], a[`${OVN}/mac_address`] ?? '?'),
        object(`${pod.metadata.name}.default.macvlan.default`, 'macvlan', a[`${MACVLAN}/ip_address`], a[`${MACVLAN}/mac_address`] ?? ''),
      ];
    });
    const byName = <T extends { name: string }>(list: T[]): T[] => [...list].sort((x, y) => (x.name < y.name ? -1 : 1));
    expect(byName(ips.map((ip) => ({ name: ip.metadata.name, labels: ip.metadata.labels, finalizers: ip.metadata.finalizers, spec: ip.spec }))))
      .toEqual(byName(expected));
    expect(ips).toHaveLength(8);
  });

  it('kubectl get ips reads right', async () => {
    const found = await pods();
    const rows = found.flatMap((pod) => {
      const a = pod.metadata.annotations ?? {};
      return [
        { NAME: `${pod.metadata.name}.default`, V4IP: a[`${OVN}/ip_address`], V6IP: '', MAC: a[`${OVN}/mac_address`], NODE: '', SUBNET: 'ovn-default' },
        { NAME: `${pod.metadata.name}.default.macvlan.default`, V4IP: a[`${MACVLAN}/ip_address`], V6IP: '', MAC: a[`${MACVLAN}/mac_address`] ?? '', NODE: '', SUBNET: 'macvlan' },
      ];
    }).sort((x, y) => (x.NAME < y.NAME ? -1 : 1));
    const table = parseTable(await api.kubectlOk(['get', 'ips']));
    expect(table.header).toEqual(['NAME', 'V4IP', 'V6IP', 'MAC', 'NODE', 'SUBNET']);
    expect(table.rows).toEqual(rows);
    expect(table.rows.filter((r) => r['NAME']?.startsWith('s')).slice(0, 4)).toEqual([
      { NAME: 'samplepod.default', V4IP: '10.16.0.2', V6IP: '', MAC: expect.stringMatching(GENERATED_MAC), NODE: '', SUBNET: 'ovn-default' },
      { NAME: 'samplepod.default.macvlan.default', V4IP: '172.17.0.11', V6IP: '', MAC: '', NODE: '', SUBNET: 'macvlan' },
      { NAME: 'static-ip.default', V4IP: '10.16.0.15', V6IP: '', MAC: '00:00:00:53:6b:b6', NODE: '', SUBNET: 'ovn-default' },
      { NAME: 'static-ip.default.macvlan.default', V4IP: '172.17.0.100', V6IP: '', MAC: '00:00:00:53:6b:bb', NODE: '', SUBNET: 'macvlan' },
    ]);
  });

  const STATUS = {
    'ovn-default': {
      v4usingIPs: 4, v4availableIPs: 65529,
      v4usingIPrange: '10.16.0.2,10.16.0.15-10.16.0.17',
      v4availableIPrange: '10.16.0.3-10.16.0.14,10.16.0.18-10.16.255.254',
    },
    macvlan: {
      // 65534 hosts less the ten excluded (the gateway among them), less 4 in use.
      v4usingIPs: 4, v4availableIPs: 65520,
      v4usingIPrange: '172.17.0.11,172.17.0.100,172.17.0.200-172.17.0.201',
      v4availableIPrange: '172.17.0.12-172.17.0.99,172.17.0.101-172.17.0.199,172.17.0.202-172.17.255.254',
    },
  } as const;

  it.each(Object.entries(STATUS))('Subnet %s: status counts and ranges agree with the annotations', async (name, want) => {
    type Status = Record<string, unknown>;
    const status = await waitFor(`Subnet ${name} status`, async () => {
      const s = (await getJson<{ status?: Status }>(['get', 'subnet', name])).status;
      return s?.['v4usingIPs'] === want.v4usingIPs ? s : undefined;
    }, { timeoutMs: 5_000 }).catch(async () => (await getJson<{ status?: Status }>(['get', 'subnet', name])).status);
    expect(status).toEqual({
      ...want, v6usingIPs: 0, v6availableIPs: 0, v6usingIPrange: '', v6availableIPrange: '',
      conditions: [expect.objectContaining({ type: 'Ready', status: 'True', reason: 'Validated' })],
    });
    // The in-use range is exactly the annotated addresses of this subnet, and in-use plus
    // available is the subnet's usable count.
    const provider = name === 'macvlan' ? MACVLAN : OVN;
    const addresses = (await pods()).map((p) => p.metadata.annotations?.[`${provider}/ip_address`] ?? '');
    expect(rangesOf(addresses)).toBe(status?.['v4usingIPrange']);
    expect(want.v4usingIPs + want.v4availableIPs).toBe(name === 'macvlan' ? 65534 - 10 : 65534 - 1);
  });

  it('kubectl get subnets reads right', async () => {
    const { header, rows } = parseTable(await api.kubectlOk(['get', 'subnets']));
    expect(header).toEqual(['NAME', 'PROVIDER', 'PROTOCOL', 'CIDR', 'GATEWAY', 'USED', 'AVAILABLE', 'AGE']);
    expect(rows.map(({ AGE, ...rest }) => { expect(AGE).toMatch(/^\d+s$/); return rest; })).toEqual([
      { NAME: 'macvlan', PROVIDER: 'macvlan.default', PROTOCOL: 'IPv4', CIDR: '172.17.0.0/16', GATEWAY: '172.17.0.1', USED: '4', AVAILABLE: '65520' },
      { NAME: 'ovn-default', PROVIDER: 'ovn', PROTOCOL: 'IPv4', CIDR: '10.16.0.0/16', GATEWAY: '10.16.0.1', USED: '4', AVAILABLE: '65529' },
    ]);
  });

  it('the controller logged no failure', () => {
    expect(log.lines.filter((l) => !l.startsWith('info '))).toEqual([]);
  });
});
