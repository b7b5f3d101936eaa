// A conflict the plans cannot see never makes the controller spin: an IP object under a pod's
// name that the controller cannot read (stored under an older, looser schema: a number where
// the CRD now has a string; it is logged and ignored), so the
// pod's CreateIP meets 409 again and again. After 3 immediate replans the pod backs off like a
// retry; once the object is deleted the pod is allocated, with the lowest address: the failed
// attempts released nothing. Against the real API server, with the controller in-process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';
import { CRD_DIR, startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { controllerFor, memoryLog } from '../harness/inProcess.js';

const UID_LABEL = 'ipam.kube-ovn.io/pod-uid';

interface Ip {
  readonly metadata: { readonly labels?: Record<string, string> };
  readonly spec: { readonly ipAddress: string };
}
interface Pod { readonly metadata: { readonly uid: string; readonly annotations?: Record<string, string> } }

let api: ApiServer;
let controller: Controller;
const log = memoryLog();

const getJson = async <T>(args: readonly string[]): Promise<T | undefined> => {
  const r = await api.kubectl(['get', ...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
};

beforeAll(async () => {
  api = await startApiServer();
  await api.kubectlOk(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' }, spec: { cidrBlock: '10.16.0.0/24', provider: 'ovn' } }),
  });
  // An IP object under p's name that does not decode (containerID a number): every object the
  // CRD accepts decodes, so it is stored while the CRD's spec schema is relaxed, then the CRD is
  // put back (stored objects are not validated again).
  const relax = [{ op: 'replace', path: '/spec/versions/0/schema/openAPIV3Schema/properties/spec', value: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }];
  await api.kubectlOk(['patch', 'crd', 'ips.kubeovn.io', '--type=json', '-p', JSON.stringify(relax)]);
  await waitFor('the relaxed IP schema to be served', async () => {
    const r = await api.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: 'p.default' },
        spec: { podName: 'p', namespace: 'default', subnet: 'ovn-default', ipAddress: '10.16.0.9', v4IpAddress: '10.16.0.9', macAddress: '00:00:00:aa:bb:cc', containerID: 5 },
      }),
    });
    return r.code === 0 ? true : undefined;
  }, { timeoutMs: 20_000 });
  await api.kubectlOk(['apply', '-f', `${CRD_DIR}ips.kubeovn.io.yaml`]);
  controller = controllerFor(loadKubeConfig(api.kubeconfigPath), {}, log);
  controller.start();
  await controller.ready;
}, 120_000);

afterAll(async () => {
  await controller?.stop();
  await api?.stop();
});

describe('a pod whose plan keeps meeting 409', () => {
  it('backs off after 3 immediate replans, then converges once the conflict is gone', async () => {
    await api.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'alpine' }] } }),
    });
    const backoff = await waitFor('the controller to back off', async () => log.lines.find((l) => l.startsWith('warn a pod keeps replanning: backing off ')));
    const fields = JSON.parse(backoff.slice('warn a pod keeps replanning: backing off '.length)) as Record<string, unknown>;
    expect([fields['pod'], fields['replans'], fields['action']]).toEqual(['default/p', 4, 'CreateIP p.default']);
    expect(fields['error']).toEqual(expect.stringContaining('409'));
    expect(log.lines.filter((l) => l.startsWith('warn ignoring an object that does not decode ')).length).toBeGreaterThan(0);

    await api.kubectlOk(['delete', 'ip', 'p.default']);
    const pod = await waitFor('p to be allocated', async () => {
      const p = await getJson<Pod>(['pod', '-n', 'default', 'p']);
      return p?.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true' ? p : undefined;
    }, { timeoutMs: 40_000 });
    const ip = await getJson<Ip>(['ip', 'p.default']);
    expect([ip?.metadata.labels?.[UID_LABEL], ip?.spec.ipAddress, pod.metadata.annotations?.['ovn.kubernetes.io/ip_address']]).toEqual([pod.metadata.uid, '10.16.0.2', '10.16.0.2']);
  }, 90_000);
});
