// A pod planned while the controller may not write (its Lease not renewed in time, e.g. after a
// long start-up rebuild blocked the event loop) writes nothing, keeps the planner state (no
// second rebuild), and is allocated once the Lease is renewed. Real API server; the fence is the
// controller's `canWrite`, switched by the test as the LeaderElector would.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { sleep, waitFor } from '../harness/exec.js';
import { controllerFor, memoryLog } from '../harness/inProcess.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/macvlan-ipam/', import.meta.url));
const REBUILT = 'planner state rebuilt';

interface Pod { metadata: { annotations?: Record<string, string> } }

describe('a pod planned behind the fence', () => {
  let api: ApiServer;
  let controller: Controller | undefined;
  let writable = true;
  const log = memoryLog();

  const annotations = async (name: string): Promise<Record<string, string>> =>
    (JSON.parse(await api.kubectlOk(['get', 'pod', name, '-o', 'json'])) as Pod).metadata.annotations ?? {};
  const createPod = (name: string): Promise<string> =>
    api.kubectlOk(['run', name, '--image=busybox', '--restart=Never', '--overrides', JSON.stringify({ spec: { nodeName: 'node-a' } })]);
  const allocated = (name: string): Promise<string> =>
    waitFor(`pod ${name} allocated`, async () => (await annotations(name))['ovn.kubernetes.io/ip_address'], { timeoutMs: 10_000 });
  const ipObjects = async (): Promise<string[]> => (await api.kubectlOk(['get', 'ips', '-o', 'name'])).split('\n').filter((l) => l !== '').sort();

  beforeAll(async () => {
    api = await startApiServer();
    await api.kubectlOk(['apply', '-f', `${EXAMPLES}00-subnet-ovn-default.yaml`]);
    const kc = loadKubeConfig(api.kubeconfigPath);
    controller = controllerFor(kc, {}, log, undefined, () => writable);
    controller.start();
    await controller.ready;
  }, 90_000);

  afterAll(async () => {
    await controller?.stop();
    await api?.stop();
  }, 60_000);

  it('writes nothing while fenced, keeps its planner state, and allocates once it may write', async () => {
    await createPod('first');
    expect(await allocated('first')).toBe('10.16.0.2');
    const rebuilds = log.lines.filter((l) => l.includes(REBUILT)).length;
    expect(rebuilds).toBe(1);

    writable = false;
    await createPod('second');
    await sleep(3_000); // three fenced plans, a second apart
    expect(await annotations('second')).toEqual({});
    expect(await ipObjects()).toEqual(['ip.kubeovn.io/first.default']);

    writable = true;
    expect(await allocated('second')).toBe('10.16.0.3');
    expect(await ipObjects()).toEqual(['ip.kubeovn.io/first.default', 'ip.kubeovn.io/second.default']);
    // The state prepared at start served both pods: the fenced plans did not drop it.
    expect(log.lines.filter((l) => l.includes(REBUILT)).length).toBe(1);
    expect(log.lines.filter((l) => l.startsWith('warn write failed'))).toEqual([]);
  }, 60_000);
});
