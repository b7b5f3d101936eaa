import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeLog } from '../../src/adapters/log.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import { Controller } from '../../src/effects/Controller.js';

let api: ApiServer;
let controller: Controller;
beforeAll(async () => {
  api = await startApiServer();
  const kc = loadKubeConfig(api.kubeconfigPath);
  controller = new Controller(
    { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log: makeLog('info'), metrics: makeMetrics(), canWrite: () => true },
    { workers: 2, gcIntervalMs: 0, cooldownMs: 0 },
  );
  controller.start();
  await controller.ready;
}, 60000);
afterAll(async () => {
  await controller?.stop();
  await api?.stop();
});

describe('smoke', () => {
  it('allocates seed 01-05', async () => {
    const dir = new URL('../../examples/macvlan-ipam/', import.meta.url);
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml', '03-pod-random.yaml', '04-pod-static-ip.yaml']) {
      await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(new URL(f, dir), 'utf8') });
    }
    await new Promise((r) => setTimeout(r, 2000));
    const pod = JSON.parse(await api.kubectlOk(['get', 'pod', 'samplepod', '-o', 'json'])) as { metadata: { annotations: Record<string, string> } };
    console.log(pod.metadata.annotations);
    console.log(await api.kubectlOk(['get', 'ips']));
    console.log(await api.kubectlOk(['get', 'subnets']));
    expect(pod.metadata.annotations['ovn.kubernetes.io/ip_address']).toBe('10.16.0.2');
  }, 30000);
});
