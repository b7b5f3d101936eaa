// Issue 13, items 1, 2 and 8, against the real API server with the controller in-process, each
// first answered by the built `plan --kubeconfig` (dry-run) and then done by the controller,
// which must write exactly what the plan said:
// - non-primary CNI mode: no Subnet ovn-default; a pod without networks gets nothing and no
//   Event, a pod with a macvlan attachment gets net1, and no pod gets an ovn.kubernetes.io key;
// - v1.multus-cni.io/default-network naming our OVN NAD: eth0 from that NAD's Subnet;
// - hot-plug of a second attachment, then hot-unplug of the first (Multus's dynamic networks
//   controller edits the networks annotation): the dropped one's IP object goes, its published
//   annotations are withdrawn, its Subnet's count drops; a deleted NAD releases nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { controllerFor } from '../harness/inProcess.js';
import { planLive, plannedGiven, writtenGiven, type PlanJson } from '../harness/parity.js';

const NON_PRIMARY = { network: { defaultNetwork: 'none' as const } };
const SOCKET = '/run/openvswitch/kube-ovn-daemon.sock';

let api: ApiServer;
let controller: Controller | undefined;

const apply = (yaml: string): Promise<string> => api.kubectlOk(['apply', '-f', '-'], { input: yaml });
const getJson = async <T>(args: readonly string[]): Promise<T> => JSON.parse(await api.kubectlOk([...args, '-o', 'json'])) as T;
const annotationsOf = async (name: string): Promise<Record<string, string>> =>
  (await getJson<{ metadata: { annotations?: Record<string, string> } }>(['get', 'pod', name])).metadata.annotations ?? {};

const startController = async (): Promise<void> => {
  controller = controllerFor(loadKubeConfig(api.kubeconfigPath), NON_PRIMARY);
  controller.start();
  await controller.ready;
};
const stopController = async (): Promise<void> => {
  await controller?.stop();
  controller = undefined;
};

const subnet = (name: string, cidr: string, provider: string): string =>
  `{"apiVersion":"kubeovn.io/v1","kind":"Subnet","metadata":{"name":"${name}"},"spec":{"cidrBlock":"${cidr}","provider":"${provider}"}}`;
const macvlanNad = (name: string): string => JSON.stringify({
  apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name, namespace: 'default' },
  spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: `${name}.default`, server_socket: SOCKET } }) },
});
const ovnNad = (name: string): string => JSON.stringify({
  apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name, namespace: 'default' },
  spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'kube-ovn', provider: `${name}.default.ovn`, server_socket: SOCKET }) },
});
const pod = (name: string, annotations: Record<string, string>): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations }, spec: { containers: [{ name: 'c', image: 'alpine' }] },
});

/** Waits until the Subnet's status counts `n` IPv4 addresses. */
const counts = (subnet: string, n: number) =>
  waitFor(`${subnet} to count ${n} address(es)`, async () => {
    const status = (await getJson<{ status?: { v4usingIPs?: number } }>(['get', 'subnet', subnet])).status;
    return status?.v4usingIPs === n ? status : undefined;
  }, { timeoutMs: 20_000 });

/** Waits until the controller wrote what `plan` planned (as Given records). */
const waitWritten = (plan: PlanJson) =>
  waitFor('the controller to write what plan planned', async () => {
    const written = await writtenGiven(api);
    return JSON.stringify(written) === JSON.stringify(plannedGiven(plan)) ? written : undefined;
  }, { timeoutMs: 20_000 });

describe('eth0 served by another CNI or named per pod, and hot-(un)plug, on the real API server', () => {
  let first: PlanJson;

  beforeAll(async () => {
    api = await startApiServer();
    for (const o of [subnet('red', '172.18.0.0/24', 'red.default'), subnet('green', '172.19.0.0/24', 'green.default'), subnet('blue', '10.77.0.0/24', 'blue.default.ovn'),
      macvlanNad('red'), macvlanNad('green'), ovnNad('blue')]) await apply(o);
    await apply(pod('plain', {}));
    await apply(pod('with-red', { 'k8s.v1.cni.cncf.io/networks': 'red' }));
    await apply(pod('on-blue', { 'v1.multus-cni.io/default-network': 'default/blue' }));
    const { plan, result } = await planLive(api, ['--non-primary-cni-mode']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    first = plan!;
    await startController();
  }, 180_000);

  afterAll(async () => {
    await stopController();
    await api?.stop();
  }, 60_000);

  it('plan: net1 of with-red and eth0 of on-blue; nothing for plain, no error', () => {
    // Sorted: their order is their creation order, which a second's boundary may change.
    expect(first.allocations.map((a) => `${a.pod} ${a.interface} ${a.provider} ${a.subnet} ${a.ipAddress}`).sort()).toEqual([
      'default/on-blue eth0 blue.default.ovn blue 10.77.0.2',
      'default/with-red net1 red.default red 172.18.0.2',
    ]);
    expect(first.errors).toEqual([]);
  });

  it('the controller writes exactly that, no ovn.kubernetes.io key on any pod, no Event', async () => {
    await waitWritten(first);
    for (const name of ['plain', 'with-red', 'on-blue']) {
      expect(Object.keys(await annotationsOf(name)).filter((k) => k.startsWith('ovn.kubernetes.io/'))).toEqual([]);
    }
    expect((await api.kubectlOk(['get', 'ips', '-o', 'name'])).split('\n').filter((x) => x !== '').sort()).toEqual(['ip.kubeovn.io/on-blue.default.blue.default.ovn', 'ip.kubeovn.io/with-red.default.red.default']);
    expect(await api.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.kind=Pod', '-o', 'name'])).toBe('');
  }, 60_000);

  it('hot-plug of green, then hot-unplug of red: plan says it, the controller does it', async () => {
    await api.kubectlOk(['annotate', 'pod', 'with-red', '--overwrite', 'k8s.v1.cni.cncf.io/networks=red,green']);
    await waitFor('net2 (green) allocated', async () => ((await annotationsOf('with-red'))['green.default.kubernetes.io/allocated'] === 'true' ? true : undefined), { timeoutMs: 20_000 });
    // Status writes are spaced a second apart: stopping before green's is written would leave
    // it to the plan below.
    await counts('green', 1);
    await stopController();
    await api.kubectlOk(['annotate', 'pod', 'with-red', '--overwrite', 'k8s.v1.cni.cncf.io/networks=green']);
    const { plan } = await planLive(api, ['--non-primary-cni-mode']);
    expect(plan!.actions.map((a) => `${a.type} ${a.target}`)).toEqual([
      'DeleteIP with-red.default.red.default', 'PatchPodAnnotations default/with-red', 'UpdateSubnetStatus red',
    ]);
    expect(plan!.actions[1]?.reason).toBe('withdraw those of red.default (no longer attached)');
    // The interface keeps its name: green stays net2 only if named; listed alone it is net1.
    expect(plan!.allocations.filter((a) => a.pod === 'default/with-red').map((a) => `${a.interface} ${a.provider} ${a.ipAddress}`)).toEqual(['net1 green.default 172.19.0.2']);
    await startController();
    await waitFor('red released', async () => ((await api.kubectl(['get', 'ip', 'with-red.default.red.default'])).code !== 0 ? true : undefined), { timeoutMs: 20_000 });
    const after = await annotationsOf('with-red');
    expect(Object.keys(after).filter((k) => k.startsWith('red.default.'))).toEqual([]);
    expect(after['green.default.kubernetes.io/ip_address']).toBe('172.19.0.2');
    await counts('red', 0);
    const converged = await planLive(api, ['--non-primary-cni-mode']);
    expect(converged.plan!.actions).toEqual([]);
  }, 120_000);

  it('a deleted NAD releases nothing of a running pod (it may still use it)', async () => {
    await api.kubectlOk(['delete', 'network-attachment-definitions', 'green']);
    // Any change of the pod makes the controller plan it again.
    await api.kubectlOk(['annotate', 'pod', 'with-red', 'touched=1']);
    await waitFor('the pod\'s NetworkNotFound Event', async () => {
      const events = await getJson<{ items: { reason: string; message: string }[] }>(['get', 'events', '--field-selector', 'involvedObject.name=with-red']);
      return events.items.some((e) => e.message.startsWith('NetworkNotFound')) ? true : undefined;
    }, { timeoutMs: 20_000 });
    expect((await api.kubectl(['get', 'ip', 'with-red.default.green.default'])).code).toBe(0);
    expect((await annotationsOf('with-red'))['green.default.kubernetes.io/allocated']).toBe('true');
    // Nor would the sweep (plan releases what the sweep releases).
    const { plan } = await planLive(api, ['--non-primary-cni-mode']);
    expect(plan!.actions.filter((a) => a.type === 'DeleteIP')).toEqual([]);
  }, 60_000);
});
