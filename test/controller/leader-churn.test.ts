// Two replicas, and the leader is killed (SIGKILL) while 500 pods are being created: the other
// replica takes over and all 500 end allocated, with no address given twice and no IP object
// without its pod (DESIGN §1, §3.5). Real kube-apiserver, the built CLI as two processes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess } from '../harness/controllerProcess.js';
import { waitFor } from '../harness/exec.js';

const EXAMPLES = new URL('../../examples/macvlan-ipam/', import.meta.url);
const PODS = 500;

interface PodObj { readonly metadata: { readonly name: string; readonly uid: string; readonly annotations?: Readonly<Record<string, string>> } }
interface IpObj { readonly metadata: { readonly name: string; readonly labels?: Readonly<Record<string, string>> }; readonly spec: { readonly subnet: string; readonly ipAddress: string; readonly podName: string } }
interface SubnetObj { readonly metadata: { readonly name: string }; readonly status?: { readonly v4usingIPs?: number } }

let api: ApiServer;
const controllers: ControllerProcess[] = [];

const start = (identity: string): ControllerProcess => {
  const c = startController({
    name: identity,
    args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--identity', identity, '--lease-namespace', 'default', '--lease-duration', '4s'],
  });
  controllers.push(c);
  return c;
};

const getJson = async <T>(what: string): Promise<T[]> => (JSON.parse(await api.kubectlOk(['get', what, '-o', 'json'])) as { items: T[] }).items;

const createPods = (from: number, to: number): Promise<string> =>
  api.kubectlOk(['create', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1', kind: 'List',
      items: Array.from({ length: to - from }, (_, i) => ({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `churn-${from + i}`, namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } },
        spec: { containers: [{ name: 'c', image: 'pause' }] },
      })),
    }),
    timeoutMs: 120_000,
  });

const allocatedCount = async (): Promise<number> =>
  (await getJson<PodObj>('pods')).filter((p) => p.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true' && p.metadata.annotations['macvlan.default.kubernetes.io/allocated'] === 'true').length;

beforeAll(async () => {
  await Promise.all([buildCli(), (async () => { api = await startApiServer(); })()]);
  for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) {
    await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL(f, EXAMPLES), 'utf8') });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await api?.stop();
}, 60_000);

describe('the leader dies while 500 pods are being created', () => {
  it('all 500 end allocated, no address twice, no IP object without its pod', async () => {
    const a = start('churn-a');
    const b = start('churn-b');
    const LEADER = 'became the leader';
    await Promise.race([a.waitForLog(LEADER, { timeoutMs: 20_000 }), b.waitForLog(LEADER, { timeoutMs: 20_000 })]);
    const [leader, other] = a.lines.some((l) => l.msg === LEADER) ? [a, b] : [b, a];

    const creating = (async () => {
      for (let from = 0; from < PODS; from += 50) await createPods(from, Math.min(PODS, from + 50));
    })();
    await waitFor('some pods allocated by the first leader', async () => ((await allocatedCount()) >= 50 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200 });
    leader.kill('SIGKILL');
    await creating;
    await other.waitForLog(LEADER, { timeoutMs: 20_000 });
    await waitFor(`all ${PODS} pods allocated`, async () => ((await allocatedCount()) === PODS ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });

    const pods = await getJson<PodObj>('pods');
    const ips = await getJson<IpObj>('ips.kubeovn.io');
    for (const provider of ['ovn', 'macvlan.default']) {
      const addresses = pods.map((p) => p.metadata.annotations?.[`${provider}.kubernetes.io/ip_address`]);
      expect(addresses.filter((x) => x === undefined)).toEqual([]);
      expect(new Set(addresses).size).toBe(PODS);
    }
    // One IP object per pod interface, each owned by a live pod and agreeing with its annotations.
    expect(ips).toHaveLength(2 * PODS);
    const byName = new Map(pods.map((p) => [p.metadata.name, p]));
    const disagreements = ips.filter((ip) => {
      const pod = byName.get(ip.spec.podName);
      const provider = ip.metadata.name === `${ip.spec.podName}.default` ? 'ovn' : 'macvlan.default';
      return pod === undefined || ip.metadata.labels?.['ipam.kube-ovn.io/pod-uid'] !== pod.metadata.uid || pod.metadata.annotations?.[`${provider}.kubernetes.io/ip_address`] !== ip.spec.ipAddress;
    });
    expect(disagreements).toEqual([]);
    await waitFor('subnet status counts', async () => {
      const subnets = await getJson<SubnetObj>('subnets');
      return subnets.every((s) => s.status?.v4usingIPs === PODS) ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 300 });
  }, 300_000);
});
