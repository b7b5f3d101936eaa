// IPPools on a real API server (issue #13 item 3), with the controller in-process: pods of a
// namespace an IPPool lists (spec.namespaces) or that names pools (the Namespace annotation
// ovn.kubernetes.io/ip_pool) get the pool's addresses, other pods never do; every pool's status
// is written exactly as Kube-OVN's (kubectl get ippools shows the counts); a pool whose ranges
// leave its Subnet and one overlapping an earlier pool become not ready with their reasons.
// `plan --kubeconfig`, run before the controller starts, answers what the controller then
// writes (addresses, and the pools' status actions with their not-ready reasons). Then the
// controller re-plans a waiting pod when an IPPool appears and when a Namespace's ip_pool
// annotation changes.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { sleep, waitFor } from '../harness/exec.js';
import { controllerFor } from '../harness/inProcess.js';
import { parseTable } from '../harness/kubectl.js';
import { planLive, plannedGiven, writtenGiven, type PlanJson } from '../harness/parity.js';

interface Condition { readonly type: string; readonly status: string; readonly reason?: string; readonly message?: string }
interface Status {
  readonly v4AvailableIPs?: number; readonly v4UsingIPs?: number; readonly v4UsingIPRange?: string; readonly v4AvailableIPRange?: string;
  readonly v6AvailableIPs?: number; readonly v6UsingIPs?: number; readonly v6UsingIPRange?: string; readonly v6AvailableIPRange?: string;
  readonly conditions?: readonly Condition[];
}
interface Pool { readonly metadata: { readonly name: string }; readonly status?: Status }
interface PodJson { readonly metadata: { readonly annotations?: Record<string, string> } }

let api: ApiServer;
let controller: Controller | undefined;
let planned: PlanJson;

const apply = (o: unknown): Promise<string> => api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(o) });
const namespace = (name: string, annotations: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });
const ippool = (name: string, ips: string[], namespaces?: string[]) => ({
  apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name }, spec: { subnet: 'ovn-default', ips, ...(namespaces === undefined ? {} : { namespaces }) },
});
const pod = (name: string, ns: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns }, spec: { containers: [{ name: 'c', image: 'alpine' }] } });
const pools = async (): Promise<Map<string, Status | undefined>> =>
  new Map((JSON.parse(await api.kubectlOk(['get', 'ippools', '-o', 'json'])) as { items: Pool[] }).items.map((p) => [p.metadata.name, p.status]));
const addressOf = async (name: string, ns: string): Promise<string | undefined> => {
  const p = JSON.parse(await api.kubectlOk(['get', 'pod', '-n', ns, name, '-o', 'json'])) as PodJson;
  const a = p.metadata.annotations ?? {};
  return a['ovn.kubernetes.io/allocated'] === 'true' ? a['ovn.kubernetes.io/ip_address'] : undefined;
};

const READY = [{ type: 'Ready', status: 'True', reason: 'UpdateIPAMSucceeded', message: '' }];
const ZEROS = { v4AvailableIPs: 0, v4AvailableIPRange: '', v4UsingIPs: 0, v4UsingIPRange: '', v6AvailableIPs: 0, v6AvailableIPRange: '', v6UsingIPs: 0, v6UsingIPRange: '' };
const WIDE = 'ippool wide has IPs outside subnet ovn-default: 10.16.1.0-10.16.1.3 (outside 10.16.0.0/24)';
const OVERLAP = 'ippool zz-overlap has conflict IPs with ippool pool1: 10.16.0.12';
const notReady = (message: string) => [
  { type: 'Ready', status: 'False', reason: 'UpdateIPAMFailed', message },
  { type: 'Error', status: 'True', reason: 'UpdateIPAMFailed', message },
];

beforeAll(async () => {
  api = await startApiServer();
  await apply({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' }, spec: { cidrBlock: '10.16.0.0/24', provider: 'ovn' } });
  await apply(namespace('ns1'));
  await apply(namespace('ns2', { 'ovn.kubernetes.io/ip_pool': 'pool2' }));
  await apply(ippool('pool1', ['10.16.0.10..10.16.0.12'], ['ns1']));
  await apply(ippool('pool2', ['10.16.0.20..10.16.0.21']));
  await apply(ippool('wide', ['10.16.0.30', '10.16.1.0/30'], ['ns1']));
  // Overlaps pool1: created after it, or in the same second and later by name.
  await apply(ippool('zz-overlap', ['10.16.0.12..10.16.0.13']));
  await apply(pod('a', 'ns1'));
  await sleep(1100); // a second apart: b is created after a, so plan and controller agree on who comes first
  for (const [name, ns] of [['b', 'ns1'], ['c', 'ns2'], ['d', 'default']] as const) await apply(pod(name, ns));
  const live = await planLive(api);
  expect({ code: live.result.code, stderr: live.result.stderr }).toEqual({ code: 0, stderr: '' });
  planned = live.plan!;
  controller = controllerFor(loadKubeConfig(api.kubeconfigPath));
  controller.start();
  await controller.ready;
  await waitFor('every pod allocated and every pool\'s status written', async () => {
    const addresses = await Promise.all([['a', 'ns1'], ['b', 'ns1'], ['c', 'ns2'], ['d', 'default']].map(([n, ns]) => addressOf(n!, ns!)));
    const written = await pools();
    return addresses.every((x) => x !== undefined) && [...written.values()].every((s) => s?.conditions !== undefined)
      && written.get('pool1')?.v4UsingIPs === 2 && written.get('pool2')?.v4UsingIPs === 1 ? true : undefined;
  }, { timeoutMs: 60_000 });
  await controller.idle();
}, 180_000);

afterAll(async () => {
  await controller?.stop();
  await api?.stop();
}, 60_000);

describe('IPPools with the controller on a real API server', () => {
  it('pods of a bound namespace get the pool\'s addresses; a pod of no bound namespace never does', async () => {
    expect(await writtenGiven(api)).toEqual([
      expect.objectContaining({ pod: 'default/d', subnet: 'ovn-default', ipAddress: '10.16.0.2' }),
      expect.objectContaining({ pod: 'ns1/a', subnet: 'ovn-default', ipAddress: '10.16.0.10' }),
      expect.objectContaining({ pod: 'ns1/b', subnet: 'ovn-default', ipAddress: '10.16.0.11' }),
      expect.objectContaining({ pod: 'ns2/c', subnet: 'ovn-default', ipAddress: '10.16.0.20' }),
    ]);
  });

  it('writes each pool\'s status exactly: counts, ranges, Ready; not ready with the reason for the pool outside its Subnet and the overlapping one', async () => {
    expect(Object.fromEntries(await pools())).toEqual({
      'pool1': { ...ZEROS, v4UsingIPs: 2, v4UsingIPRange: '10.16.0.10-10.16.0.11', v4AvailableIPs: 1, v4AvailableIPRange: '10.16.0.12', conditions: READY },
      'pool2': { ...ZEROS, v4UsingIPs: 1, v4UsingIPRange: '10.16.0.20', v4AvailableIPs: 1, v4AvailableIPRange: '10.16.0.21', conditions: READY },
      'wide': { ...ZEROS, conditions: notReady(WIDE) },
      'zz-overlap': { ...ZEROS, conditions: notReady(OVERLAP) },
    });
  });

  it('kubectl get ippools shows Kube-OVN\'s printer columns', async () => {
    const { header, rows } = parseTable(await api.kubectlOk(['get', 'ippools']));
    expect(header).toEqual(['NAME', 'SUBNET', 'IPS', 'V4USED', 'V4AVAILABLE', 'V6USED', 'V6AVAILABLE']);
    expect(rows).toEqual([
      { NAME: 'pool1', SUBNET: 'ovn-default', IPS: '["10.16.0.10..10.16.0.12"]', V4USED: '2', V4AVAILABLE: '1', V6USED: '0', V6AVAILABLE: '0' },
      { NAME: 'pool2', SUBNET: 'ovn-default', IPS: '["10.16.0.20..10.16.0.21"]', V4USED: '1', V4AVAILABLE: '1', V6USED: '0', V6AVAILABLE: '0' },
      { NAME: 'wide', SUBNET: 'ovn-default', IPS: '["10.16.0.30","10.16.1.0/30"]', V4USED: '0', V4AVAILABLE: '0', V6USED: '0', V6AVAILABLE: '0' },
      { NAME: 'zz-overlap', SUBNET: 'ovn-default', IPS: '["10.16.0.12..10.16.0.13"]', V4USED: '0', V4AVAILABLE: '0', V6USED: '0', V6AVAILABLE: '0' },
    ]);
  });

  it('plan --kubeconfig, run before the controller, planned what the controller wrote: addresses, pool status actions (a not-ready pool\'s with the reason written), no pool errors', async () => {
    expect(plannedGiven(planned)).toEqual(await writtenGiven(api));
    expect(planned.actions.filter((a) => a.type === 'UpdateIPPoolStatus').map((a) => [a.target, a.reason])).toEqual([
      ['pool1', 'IPv4 2 in use, 1 available'],
      ['pool2', 'IPv4 1 in use, 1 available'],
      ['wide', `mark it not ready: ${WIDE}`],
      ['zz-overlap', `mark it not ready: ${OVERLAP}`],
    ]);
    // The not-ready reason planned is the one the controller wrote into the pool's condition.
    const written = await pools();
    expect(['wide', 'zz-overlap'].map((name) => written.get(name)?.conditions?.[0]?.message)).toEqual([WIDE, OVERLAP]);
    // Every error is a pod's (DESIGN §3.7): the pools that are not ready are said by their actions only here.
    expect(planned.errors).toEqual([]);
  });

  it('re-plans a waiting pod when the IPPool its namespace names appears, and when the namespace\'s ip_pool annotation changes', async () => {
    await apply(namespace('ns3', { 'ovn.kubernetes.io/ip_pool': 'later' }));
    await apply(namespace('ns4', { 'ovn.kubernetes.io/ip_pool': 'gone' }));
    await apply(pod('e', 'ns3'));
    await apply(pod('f', 'ns4'));
    await controller!.idle();
    expect([await addressOf('e', 'ns3'), await addressOf('f', 'ns4')]).toEqual([undefined, undefined]);
    await apply(ippool('later', ['10.16.0.40']));
    await apply(namespace('ns4', { 'ovn.kubernetes.io/ip_pool': 'pool2' }));
    const got = await waitFor('e and f allocated', async () => {
      const both = [await addressOf('e', 'ns3'), await addressOf('f', 'ns4')];
      return both.every((x) => x !== undefined) ? both : undefined;
    }, { timeoutMs: 30_000 });
    expect(got).toEqual(['10.16.0.40', '10.16.0.21']);
    await controller!.idle();
    const written = await pools();
    expect([written.get('later'), written.get('pool2')?.v4UsingIPs]).toEqual([
      { ...ZEROS, v4UsingIPs: 1, v4UsingIPRange: '10.16.0.40', conditions: READY }, 2,
    ]);
  }, 60_000);
});
