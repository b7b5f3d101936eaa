// `kube-ovn-ipam plan --kubeconfig FILE --output json` against a live cluster (real
// kube-apiserver + etcd + kube-controller-manager) holding the seed's examples 01-05 and no
// controller (DESIGN §1, §3.7): it prints the allocations the controller would make, with the
// seed's exact values, and writes nothing (no IP object, no annotation, no Subnet status, no
// Event: every object keeps its resourceVersion). Then the controller, started in-process,
// makes exactly those allocations (same addresses, same generated MACs).
//
// The built CLI runs as a process (`node dist/src/cli/main.js`); it is rebuilt first when any
// source file is newer than it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { processAlive, trackedResources } from '../harness/reaper.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { run, runOk, waitFor, type RunResult } from '../harness/exec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist/src/cli/main.js');
const EXAMPLES = join(ROOT, 'examples/macvlan-ipam/');
const OVN = 'ovn.kubernetes.io';
const MACVLAN = 'macvlan.default.kubernetes.io';
const GENERATED_MAC = /^[0-9a-f][26ae](:[0-9a-f]{2}){5}$/;

interface Allocation {
  readonly pod: string; readonly provider: string; readonly interface: string; readonly subnet: string;
  readonly ipAddress: string; readonly macAddress: string; readonly cidr: string; readonly gateway: string;
  readonly source: string; readonly simulated?: true;
}
interface PlanJson {
  readonly allocations: readonly Allocation[];
  readonly actions: readonly { readonly type: string; readonly target: string; readonly reason: string }[];
  readonly errors: readonly { readonly pod: string; readonly provider: string; readonly code: string; readonly message: string; readonly simulated?: true }[];
}
interface Obj { readonly metadata: { readonly name: string; readonly resourceVersion: string; readonly annotations?: Record<string, string> } }

/** The newest modification time of the .ts files under `dir`. */
const newest = (dir: string): number => Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => {
  const path = join(dir, e.name);
  return e.isDirectory() ? newest(path) : e.name.endsWith('.ts') ? statSync(path).mtimeMs : 0;
}));

const builtAt = (): number => {
  try {
    return statSync(CLI).mtimeMs;
  } catch {
    return 0;
  }
};

describe('plan --kubeconfig against a live cluster with the seed and no controller', () => {
  let api: ApiServer;
  let plan: PlanJson;
  let printed: RunResult;
  /** Every object plan could write, by `kind/name`: its resourceVersion before plan ran. */
  let before: Map<string, string>;
  let workload: string[];

  const getJson = async <T>(args: readonly string[]): Promise<T> => JSON.parse(await api.kubectlOk([...args, '-o', 'json'])) as T;
  /** resourceVersions of every pod, Subnet, IP, Event and NAD. */
  const versions = async (): Promise<Map<string, string>> => {
    const out = new Map<string, string>();
    for (const kind of ['pods', 'subnets', 'ips', 'events', 'network-attachment-definitions', 'ippools']) {
      for (const o of (await getJson<{ items: Obj[] }>(['get', kind, '-A'])).items) out.set(`${kind}/${o.metadata.name}`, o.metadata.resourceVersion);
    }
    return out;
  };
  const plan1 = (): Promise<RunResult> => run([process.execPath, CLI, 'plan', '--kubeconfig', api.kubeconfigPath, '--output', 'json'], { timeoutMs: 30_000 });

  beforeAll(async () => {
    const [cluster] = await Promise.all([
      startApiServer({ controllerManager: true }),
      (async () => {
        if (Math.max(newest(join(ROOT, 'src')), statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs) > builtAt()) {
          await runOk(['npx', 'tsc', '-p', 'tsconfig.build.json'], { timeoutMs: 120_000 });
        }
      })(),
    ]);
    api = cluster;
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml', '03-pod-random.yaml', '04-pod-static-ip.yaml', '05-deployment-ip-pool.yaml']) {
      await api.kubectlOk(['apply', '-f', `${EXAMPLES}${f}`]);
    }
    workload = await waitFor('the Deployment\'s two pods', async () => {
      const pods = (await getJson<{ items: (Obj & { metadata: { labels?: Record<string, string> } })[] }>(['get', 'pods', '-l', 'app=static-workload'])).items;
      return pods.length === 2 ? pods.map((p) => p.metadata.name).sort() : undefined;
    }, { timeoutMs: 15_000 });
    before = await versions();
    printed = await plan1();
    plan = JSON.parse(printed.stdout) as PlanJson;
  }, 120_000);

  afterAll(async () => {
    await api?.stop();
  }, 60_000);

  it('exits 0 with nothing on stderr', () => {
    expect({ code: printed.code, stderr: printed.stderr }).toEqual({ code: 0, stderr: '' });
  });

  /** The Deployment's pods in the order plan gave them the pool entries (.16 first). */
  const byPool = (): [string, string] => {
    const first = plan.allocations.find((a) => a.ipAddress === '10.16.0.16')?.pod ?? '?';
    return [first, `default/${workload.find((w) => `default/${w}` !== first) ?? '?'}`];
  };

  it('prints the seed\'s allocations with their exact values', () => {
    const [p1, p2] = byPool();
    expect([p1, p2].sort()).toEqual(workload.map((w) => `default/${w}`));
    const eth0 = { provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', cidr: '10.16.0.0/16', gateway: '10.16.0.1' };
    const net1 = { provider: 'macvlan.default', interface: 'net1', subnet: 'macvlan', cidr: '172.17.0.0/16', gateway: '172.17.0.1', macAddress: '' };
    expect(plan.allocations).toEqual([
      { pod: 'default/samplepod', ...eth0, ipAddress: '10.16.0.2', macAddress: expect.stringMatching(GENERATED_MAC), source: 'dynamic' },
      { pod: 'default/samplepod', ...net1, ipAddress: '172.17.0.11', source: 'dynamic' },
      { pod: 'default/static-ip', ...eth0, ipAddress: '10.16.0.15', macAddress: '00:00:00:53:6b:b6', source: 'static' },
      { pod: 'default/static-ip', ...net1, ipAddress: '172.17.0.100', macAddress: '00:00:00:53:6b:bb', source: 'static' },
      { pod: p1, ...eth0, ipAddress: '10.16.0.16', macAddress: expect.stringMatching(GENERATED_MAC), source: 'pool' },
      { pod: p1, ...net1, ipAddress: '172.17.0.200', source: 'pool' },
      { pod: p2, ...eth0, ipAddress: '10.16.0.17', macAddress: expect.stringMatching(GENERATED_MAC), source: 'pool' },
      { pod: p2, ...net1, ipAddress: '172.17.0.201', source: 'pool' },
      // The rollout's surge pod (simulated): its macvlan pool has a third entry, ovn-default's not.
      { pod: 'default/static-workload-surge-1', ...net1, ipAddress: '172.17.0.202', source: 'pool', simulated: true },
    ]);
    const macs = plan.allocations.filter((a) => a.interface === 'eth0').map((a) => a.macAddress);
    expect(new Set(macs).size).toBe(4);
  });

  it('prints the actions the controller would take: IP objects, then the pod\'s annotations, per pod; then the Subnets\' status', () => {
    const [p1, p2] = byPool();
    const pod = (key: string) => {
      const name = key.slice('default/'.length);
      return [['CreateIP', `${name}.default`], ['CreateIP', `${name}.default.macvlan.default`], ['PatchPodAnnotations', key]];
    };
    expect(plan.actions.map((a) => [a.type, a.target])).toEqual([
      ...pod('default/samplepod'), ...pod('default/static-ip'), ...pod(p1), ...pod(p2),
      ['UpdateSubnetStatus', 'macvlan'], ['UpdateSubnetStatus', 'ovn-default'],
    ]);
    expect(plan.actions.slice(0, 3).map((a) => a.reason)).toEqual([
      'record the claim of eth0 of pod default/samplepod: 10.16.0.2 in ovn-default',
      'record the claim of net1 of pod default/samplepod: 172.17.0.11 in macvlan',
      'publish the addresses of eth0, net1 (allocated: "true")',
    ]);
    expect(plan.actions.slice(-2).map((a) => a.reason)).toEqual(['IPv4 4 in use, 65520 available', 'IPv4 4 in use, 65529 available']);
  });

  it('says the rollout would stall: the surge pod finds no free ovn ip_pool entry', () => {
    const [p1, p2] = byPool();
    expect(plan.errors).toEqual([{
      pod: 'default/static-workload-surge-1', provider: 'ovn', interface: 'eth0', code: 'NoAvailableAddress', simulated: true,
      message: 'pod default/static-workload-surge-1 eth0 (ovn) [simulated for Deployment default/static-workload (rollout surge)]: ' +
        'no entry of ip_pool 10.16.0.15,10.16.0.16,10.16.0.17 is free: ' +
        '10.16.0.15 is already held by default/static-ip in subnet ovn-default (10.16.0.0/16); ' +
        `10.16.0.16 is already held by ${p1} in subnet ovn-default (10.16.0.0/16); ` +
        `10.16.0.17 is already held by ${p2} in subnet ovn-default (10.16.0.0/16)`,
    }]);
  });

  it('writes nothing: no IP object, no annotation, no Subnet status, no Event; every object keeps its resourceVersion', async () => {
    expect(await versions()).toEqual(before);
    expect([...before.keys()].filter((k) => k.startsWith('ips/'))).toEqual([]);
    // The only Events are kube-controller-manager's, on the Deployment and its ReplicaSet.
    expect(await api.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.kind=Pod', '-o', 'name'])).toBe('');
    const r = await api.kubectl(['get', 'ips']);
    expect({ stdout: r.stdout, stderr: r.stderr }).toEqual({ stdout: '', stderr: 'No resources found\n' });
    for (const name of ['samplepod', 'static-ip', ...workload]) {
      const pod = await getJson<Obj>(['get', 'pod', name]);
      expect(Object.keys(pod.metadata.annotations ?? {}).filter((k) => k.startsWith(`${OVN}/`) && !k.endsWith('/ip_pool') && !k.endsWith('/ip_address') && !k.endsWith('/mac_address'))).toEqual([]);
      expect(pod.metadata.annotations?.[`${MACVLAN}/allocated`]).toBeUndefined();
    }
    for (const name of ['ovn-default', 'macvlan']) expect((await getJson<{ status?: unknown }>(['get', 'subnet', name])).status).toBeUndefined();
  });

  it('prints the same bytes when run again', async () => {
    const again = await plan1();
    expect({ code: again.code, same: again.stdout === printed.stdout }).toEqual({ code: 0, same: true });
  });

  it('the controller, started afterwards, makes exactly the planned allocations (addresses and generated MACs)', async () => {
    const kc = loadKubeConfig(api.kubeconfigPath);
    const controller = new Controller(
      { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        log: { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined }, metrics: makeMetrics(), canWrite: () => true },
      { workers: 2, gcIntervalMs: 0, cooldownMs: 0 },
    );
    try {
      controller.start();
      await controller.ready;
      const pods = await waitFor('every pod allocated', async () => {
        const items = (await getJson<{ items: Obj[] }>(['get', 'pods'])).items;
        return items.length === 4 && items.every((p) => p.metadata.annotations?.[`${OVN}/allocated`] === 'true' && p.metadata.annotations[`${MACVLAN}/allocated`] === 'true') ? items : undefined;
      }, { timeoutMs: 10_000 });
      const made = pods.flatMap((p) => {
        const a = p.metadata.annotations ?? {};
        return [
          { pod: `default/${p.metadata.name}`, interface: 'eth0', ipAddress: a[`${OVN}/ip_address`], macAddress: a[`${OVN}/mac_address`] },
          { pod: `default/${p.metadata.name}`, interface: 'net1', ipAddress: a[`${MACVLAN}/ip_address`], macAddress: a[`${MACVLAN}/mac_address`] ?? '' },
        ];
      });
      const planned = plan.allocations.filter((a) => a.simulated !== true).map((a) => ({ pod: a.pod, interface: a.interface, ipAddress: a.ipAddress, macAddress: a.macAddress }));
      const key = (x: { pod: string; interface: string }) => `${x.pod} ${x.interface}`;
      const sorted = <T extends { pod: string; interface: string }>(xs: T[]): T[] => [...xs].sort((x, y) => (key(x) < key(y) ? -1 : 1));
      // The Deployment's pods may be taken in either order (same creation second): which of the
      // two gets .16 may differ, each pod's generated MAC may not.
      const pooled = (xs: { pod: string; interface: string; ipAddress: string | undefined; macAddress: string | undefined }[]) =>
        sorted(xs).map((x) => (x.pod.startsWith('default/static-workload-') ? { ...x, ipAddress: x.interface === 'eth0' ? '10.16.0.16|17' : '172.17.0.200|201' } : x));
      expect(pooled(made)).toEqual(pooled(planned));
      expect(sorted(made).filter((x) => !x.pod.startsWith('default/static-workload-'))).toEqual(sorted(planned).filter((x) => !x.pod.startsWith('default/static-workload-')));
      expect(made.filter((x) => x.pod.startsWith('default/static-workload-')).map((x) => x.ipAddress).sort()).toEqual(['10.16.0.16', '10.16.0.17', '172.17.0.200', '172.17.0.201']);
    } finally {
      await controller.stop();
    }
  });

  it('stop() stops kube-controller-manager, the apiserver and etcd, and leaves nothing tracked', async () => {
    const { dir, pids } = api;
    expect(pids.kubeControllerManager).toEqual(expect.any(Number));
    await api.stop();
    const all = Object.values(pids);
    expect({
      alive: all.filter((pid) => processAlive(pid)), dir: existsSync(dir),
      tracked: trackedResources().filter((r) => (r.kind === 'process' && all.includes(r.pid)) || (r.kind === 'dir' && r.path === dir)),
    }).toEqual({ alive: [], dir: false, tracked: [] });
  }, 60_000);
});
