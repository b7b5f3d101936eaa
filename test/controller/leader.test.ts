// Leader election between controller processes (DESIGN §1: "Deployment, 2 replicas, one leader
// (Lease)"; LeaderElector.ts), with the built CLI against a real kube-apiserver:
// - of two replicas exactly one leads, and only the leader writes;
// - a leader killed (SIGKILL) is replaced within the lease duration plus a renew period;
// - a leader that cannot renew (SIGSTOP) stops writing before another can take the Lease:
//   resumed, it writes nothing, says it lost the Lease and exits 1.
// Every step checks the world: each pod allocated, no address given twice.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess, type LogLine } from '../harness/controllerProcess.js';
import { sleep, waitFor } from '../harness/exec.js';

const EXAMPLES = new URL('../../examples/macvlan-ipam/', import.meta.url);
const LEASE_MS = 4_000;
/** The elector's renew period (a third of the lease duration). */
const RENEW_MS = Math.floor(LEASE_MS / 3);

interface PodObj { readonly metadata: { readonly name: string; readonly annotations?: Readonly<Record<string, string>> } }
interface IpObj { readonly metadata: { readonly name: string }; readonly spec: { readonly subnet: string; readonly ipAddress: string; readonly podName: string } }

let api: ApiServer;
const controllers: ControllerProcess[] = [];

const start = (identity: string): ControllerProcess => {
  const c = startController({
    name: identity,
    args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--identity', identity,
      '--lease-namespace', 'default', '--lease-duration', `${LEASE_MS / 1000}s`],
  });
  controllers.push(c);
  return c;
};

const LEADER = 'became the leader';
const leads = (c: ControllerProcess): boolean => c.lines.some((l) => l.msg === LEADER);
const writes = (c: ControllerProcess, from = 0): readonly LogLine[] => c.lines.slice(from).filter((l) => l.msg === 'applied');

const createPods = (names: readonly string[]): Promise<string> =>
  api.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: names.map((name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'pause' }] } })) }),
  });

const getJson = async <T>(what: string): Promise<T[]> => (JSON.parse(await api.kubectlOk(['get', what, '-o', 'json'])) as { items: T[] }).items;

/** Waits until every named pod has its eth0 address; resolves with name → address. */
const allocated = (names: readonly string[], timeoutMs = 10_000): Promise<Record<string, string>> =>
  waitFor(`pods ${names.join(', ')} allocated`, async () => {
    const pods = await getJson<PodObj>('pods');
    const out: Record<string, string> = {};
    for (const name of names) {
      const a = pods.find((p) => p.metadata.name === name)?.metadata.annotations;
      if (a?.['ovn.kubernetes.io/allocated'] !== 'true') return undefined;
      out[name] = a['ovn.kubernetes.io/ip_address']!;
    }
    return out;
  }, { timeoutMs, intervalMs: 100 });

/** Addresses given more than once, in pod annotations or in IP objects (empty when none). */
const duplicates = async (): Promise<string[]> => {
  const pods = await getJson<PodObj>('pods');
  const ips = await getJson<IpObj>('ips.kubeovn.io');
  const count = (values: readonly string[]) => values.filter((v, i) => values.indexOf(v) !== i);
  return [
    ...count(pods.flatMap((p) => p.metadata.annotations?.['ovn.kubernetes.io/ip_address'] ?? [])).map((a) => `annotated twice: ${a}`),
    ...count(ips.map((ip) => `${ip.spec.subnet} ${ip.spec.ipAddress}`)).map((a) => `claimed twice: ${a}`),
  ];
};

const leaseHolder = async (): Promise<string> =>
  (JSON.parse(await api.kubectlOk(['get', 'lease', '-n', 'default', 'kube-ovn-ipam-controller', '-o', 'json'])) as { spec: { holderIdentity: string } }).spec.holderIdentity;

beforeAll(async () => {
  await Promise.all([
    buildCli(),
    (async () => {
      api = await startApiServer();
    })(),
  ]);
  await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL('00-subnet-ovn-default.yaml', EXAMPLES), 'utf8') });
}, 120_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await api?.stop();
}, 60_000);

describe('leader election between two controller processes', () => {
  let leader: ControllerProcess;
  let follower: ControllerProcess;
  /** Lines the SIGSTOPped leader had written when it was resumed. */
  let resumedAt = -1;

  it('exactly one of two replicas leads, and only it writes', async () => {
    const a = start('ctl-a');
    const b = start('ctl-b');
    await Promise.race([a.waitForLog(LEADER), b.waitForLog(LEADER)]);
    [leader, follower] = leads(a) ? [a, b] : [b, a];
    // Two more renew periods: the other still does not lead.
    await sleep(2 * RENEW_MS + 200);
    expect([leads(a), leads(b)].filter(Boolean)).toHaveLength(1);
    expect(await leaseHolder()).toBe(leader.name);

    await createPods(['lead-0', 'lead-1', 'lead-2']);
    const got = await allocated(['lead-0', 'lead-1', 'lead-2']);
    expect(new Set(Object.values(got)).size).toBe(3);
    expect(writes(leader).length).toBeGreaterThan(0);
    expect(writes(follower)).toEqual([]);
    expect(await duplicates()).toEqual([]);
  }, 30_000);

  it('a killed leader is replaced within the lease duration plus a renew period', async () => {
    leader.kill('SIGKILL');
    const killedAt = Date.now();
    expect(await leader.waitForExit(5_000)).toEqual({ code: null, signal: 'SIGKILL' });
    const took = await follower.waitForLog(LEADER, { timeoutMs: 15_000 });
    expect(took.at - killedAt).toBeLessThan(6_000);
    expect(await leaseHolder()).toBe(follower.name);

    await createPods(['after-kill']);
    const got = await allocated(['lead-0', 'lead-1', 'lead-2', 'after-kill']);
    expect(new Set(Object.values(got)).size).toBe(4);
    expect(writes(follower).some((l) => l.fields['action'] === 'PatchPodAnnotations' && l.fields['target'] === 'default/after-kill')).toBe(true);
    expect(await duplicates()).toEqual([]);
    [leader, follower] = [follower, start('ctl-c')];
    await follower.waitForLog('starting');
  }, 30_000);

  it('a leader that cannot renew (SIGSTOP) writes nothing once resumed, and exits 1', async () => {
    // Let the new follower find the Lease held, then freeze the leader.
    await sleep(RENEW_MS);
    expect(leads(follower)).toBe(false);
    leader.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      // A pod the frozen leader's watch will deliver when it resumes, and one after the takeover.
      await createPods(['while-frozen']);
      const took = await follower.waitForLog(LEADER, { timeoutMs: 15_000 });
      expect(took.at - stoppedAt).toBeLessThan(6_000);
      await createPods(['after-takeover']);
      await allocated(['while-frozen', 'after-takeover']);
    } finally {
      leader.kill('SIGCONT');
    }
    resumedAt = leader.lines.length;
    const lost = await leader.waitForLog((l) => l.msg.startsWith('lost the leader lease'), { timeoutMs: 10_000, from: resumedAt });
    expect(lost.fields['identity']).toBe(leader.name);
    expect(await leader.waitForExit(10_000)).toEqual({ code: 1, signal: null });
    expect(writes(leader, resumedAt)).toEqual([]);
    expect(await leaseHolder()).toBe(follower.name);

    const got = await allocated(['lead-0', 'lead-1', 'lead-2', 'after-kill', 'while-frozen', 'after-takeover']);
    expect(new Set(Object.values(got)).size).toBe(6);
    expect(await duplicates()).toEqual([]);
    // The IP objects agree with the annotations (nobody rewrote one behind the other's back).
    const ips = await getJson<IpObj>('ips.kubeovn.io');
    expect(Object.fromEntries(ips.map((ip) => [ip.spec.podName, ip.spec.ipAddress]))).toEqual(got);
  }, 40_000);

  it('the fenced replica does not log allocations it never wrote', () => {
    expect(resumedAt).toBeGreaterThanOrEqual(0);
    // An "allocated" line is the record of a decision; a fenced plan decided nothing.
    expect(leader.lines.slice(resumedAt).filter((l) => l.msg === 'allocated').map((l) => l.fields)).toEqual([]);
  });
});
