// The allocator's memory survives a SIGKILL (issue #14 item 3), with the built controller as a
// process against a real kube-apiserver: `--cooldown 300s` on a /29 (hosts .2-.6). a gets .2, a
// is deleted (.2 cools down), d gets .3 (never-used first); the controller is SIGKILLed once the
// Subnet status says so; while none runs, e is created. `plan --kubeconfig --cooldown 300 --now`
// then predicts e's address, and the restarted controller gives exactly that: .4, not the
// released .2 (before the Subnet status carried `allocator`, a restart handed out .2 at once).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, startController, type ControllerProcess } from '../harness/controllerProcess.js';
import { waitFor } from '../harness/exec.js';
import { planLive, plannedGiven, writtenGiven } from '../harness/parity.js';

let api: ApiServer;
const controllers: ControllerProcess[] = [];

interface Obj { readonly metadata: { readonly annotations?: Record<string, string> }; readonly status?: Record<string, unknown> }

const SUBNET = {
  apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' },
  spec: { protocol: 'IPv4', provider: 'ovn', cidrBlock: '10.9.0.0/29', gateway: '10.9.0.1' },
};
const podDoc = (name: string): object => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'pause' }] } });
const apply = (doc: object): Promise<string> => api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify(doc) });
const get = async (what: string[]): Promise<Obj | undefined> => {
  const r = await api.kubectl(['get', ...what, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
};

/** The pod's eth0 address once the controller has published it. */
const addressOf = (pod: string): Promise<string> =>
  waitFor(`pod ${pod} allocated`, async () => {
    const a = (await get(['pod', pod]))?.metadata.annotations ?? {};
    return a['ovn.kubernetes.io/allocated'] === 'true' ? a['ovn.kubernetes.io/ip_address'] : undefined;
  }, { timeoutMs: 20_000 });

/** Waits until the Subnet's status counts `using` addresses in use; returns that status. */
const statusUsing = (using: number): Promise<Record<string, unknown>> =>
  waitFor(`Subnet status with ${using} in use`, async () => {
    const status = (await get(['subnets.kubeovn.io', 'ovn-default']))?.status;
    return status?.v4usingIPs === using ? status : undefined;
  }, { timeoutMs: 20_000 });

const start = (name: string): ControllerProcess => {
  const c = startController({
    name,
    args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--workers', '1', '--identity', name,
      '--lease-namespace', 'default', '--lease-duration', '4s', '--cooldown', '300s'],
  });
  controllers.push(c);
  return c;
};

beforeAll(async () => {
  await Promise.all([buildCli(), (async () => { api = await startApiServer(); })()]);
  await apply(SUBNET);
}, 120_000);

afterAll(async () => {
  await Promise.all(controllers.map((c) => c.stop()));
  await api?.stop();
}, 60_000);

describe('--cooldown and never-used-first survive a SIGKILL of the controller', () => {
  it('a .2, released; d .3; after a kill and a restart e gets .4 (as plan predicts), not the cooling .2', async () => {
    const first = start('memory-1');
    await apply(podDoc('a'));
    expect(await addressOf('a')).toBe('10.9.0.2');
    await api.kubectlOk(['delete', 'pod', 'a']);
    await waitFor('IP a.default gone', async () => ((await get(['ips.kubeovn.io', 'a.default'])) === undefined ? true : undefined), { timeoutMs: 20_000 });
    await statusUsing(0);
    await apply(podDoc('d'));
    expect(await addressOf('d')).toBe('10.9.0.3');
    // The status write after d's allocation is what the restart reads.
    const persisted = await statusUsing(1);
    first.kill('SIGKILL');
    expect(await first.waitForExit(20_000)).toEqual({ code: null, signal: 'SIGKILL' });

    // While no controller runs, e comes; plan predicts what the next controller gives it.
    await apply(podDoc('e'));
    const { plan, result } = await planLive(api, ['--cooldown', '300', '--now', new Date().toISOString()]);
    expect(result.code).toBe(0);
    const predicted = plannedGiven(plan!).filter((g) => g.pod === 'default/e').map((g) => g.ipAddress);

    start('memory-2');
    expect(await addressOf('e')).toBe('10.9.0.4');
    expect(predicted).toEqual(['10.9.0.4']);
    expect((await writtenGiven(api)).filter((g) => g.pod === 'default/e')).toEqual(plannedGiven(plan!).filter((g) => g.pod === 'default/e'));
    // What carried it across the kill: the Subnet status's allocator record.
    expect(persisted.allocator).toEqual({ v4: { usedUpTo: '10.9.0.3', released: [{ ip: '10.9.0.2', at: expect.any(Number) }] } });
  }, 120_000);
});
