// KubeVirt VMs keep their addresses, against the real API server with the controller
// in-process. KubeVirt itself does not run: its CRDs are a minimal stand-in
// (test/fixtures/kubevirt-crds.yaml), and the VM, VMI and virt-launcher pods are made by hand as
// KubeVirt makes them (the pod owned by the VMI and labelled kubevirt.io/domain, the VMI owned
// by the VM of the same name).
// - First without KubeVirt: the controller starts, allocates a pod as ever and logs no warning
//   or error; then the CRDs are installed and the controller picks the kinds up.
// - A restart (the launcher pod and VMI replaced, new UIDs) keeps every address and MAC, and
//   the IP objects are never recreated; a live migration's second pod gets the same ones.
// - `plan --kubeconfig` answers what the controller wrote.
// - The claim stays when the pod goes and when the VMI goes; deleting the VM releases it.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { controllerFor, memoryLog } from '../harness/inProcess.js';
import { planLive, plannedGiven, writtenGiven } from '../harness/parity.js';

const CRDS = fileURLToPath(new URL('../fixtures/kubevirt-crds.yaml', import.meta.url));
const MACNET = 'macnet.default';

interface Meta { readonly name: string; readonly uid: string; readonly labels?: Record<string, string>; readonly annotations?: Record<string, string> }
interface Obj { readonly metadata: Meta }
interface Ip extends Obj { readonly spec: { readonly podName: string; readonly namespace: string; readonly podType: string; readonly ipAddress: string; readonly macAddress: string; readonly subnet: string } }

let api: ApiServer;
let controller: Controller;
const log = memoryLog();

const getJson = async <T>(args: readonly string[]): Promise<T | undefined> => {
  const r = await api.kubectl(['get', ...args, '-o', 'json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as T) : undefined;
};
const apply = (o: unknown): Promise<string> => api.kubectlOk(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(o) });
const created = async (o: unknown): Promise<Obj> => JSON.parse(await apply(o)) as Obj;

/** The VM's VMI, owned by the VM, as KubeVirt creates it at each start. */
const createVmi = (vm: Obj): Promise<Obj> => created({
  apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance',
  metadata: { name: vm.metadata.name, namespace: 'default', ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: vm.metadata.name, uid: vm.metadata.uid, controller: true, blockOwnerDeletion: true }] },
  spec: { domain: { devices: {} } },
});
/** A virt-launcher pod of the VMI, with the VM's attachment. */
const createLauncher = (vmi: Obj, name: string): Promise<Obj> => created({
  apiVersion: 'v1', kind: 'Pod',
  metadata: {
    name, namespace: 'default',
    labels: { 'kubevirt.io': 'virt-launcher', 'kubevirt.io/domain': vmi.metadata.name },
    annotations: { 'k8s.v1.cni.cncf.io/networks': 'macnet' },
    ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: vmi.metadata.name, uid: vmi.metadata.uid, controller: true, blockOwnerDeletion: true }],
  },
  spec: { nodeName: 'node-a', containers: [{ name: 'compute', image: 'virt-launcher' }] },
});
/** Deletes at once (no kubelet runs to confirm), then waits until the controller has seen it go. */
const forceDelete = async (kind: 'pod' | 'vmi', name: string): Promise<void> => {
  await api.kubectlOk(['delete', kind, '-n', 'default', name, '--grace-period=0', '--force', '--wait=true']);
  const map = () => (kind === 'pod' ? controller.live.snapshot.pods : controller.live.snapshot.virtualmachineinstances);
  await waitFor(`the controller to see ${kind} ${name} go`, async () => (map().has(`default/${name}`) ? undefined : true));
};

/** The pod's addresses once allocated: `provider ip mac` per network. */
const allocatedOf = (name: string): Promise<string[]> => waitFor(`${name} to be allocated`, async () => {
  const a = (await getJson<Obj>(['pod', '-n', 'default', name]))?.metadata.annotations ?? {};
  if (a['ovn.kubernetes.io/allocated'] !== 'true' || a[`${MACNET}.kubernetes.io/allocated`] !== 'true') return undefined;
  return [`ovn ${a['ovn.kubernetes.io/ip_address']} ${a['ovn.kubernetes.io/mac_address']} vm=${a['ovn.kubernetes.io/virtualmachine']}`, `${MACNET} ${a[`${MACNET}.kubernetes.io/ip_address`]} ${a[`${MACNET}.kubernetes.io/mac_address`] ?? '-'}`];
}, { timeoutMs: 30_000 });

/** The VM's IP objects: `name uid podName podType address mac`. */
const vmIps = async (): Promise<string[]> => ((await getJson<{ items: Ip[] }>(['ips']))?.items ?? [])
  .filter((i) => i.metadata.name.startsWith('vm1.'))
  .map((i) => `${i.metadata.name} ${i.metadata.uid} ${i.spec.podName} ${i.spec.podType} ${i.spec.ipAddress} ${i.spec.macAddress || '-'} ${i.metadata.labels?.['ipam.kube-ovn.io/pod-uid'] ?? 'no-uid-label'}`)
  .sort();

beforeAll(async () => {
  api = await startApiServer();
  for (const o of [
    { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' }, spec: { cidrBlock: '10.16.0.0/24', provider: 'ovn' } },
    { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'macnet' }, spec: { cidrBlock: '192.168.10.0/24', provider: MACNET } },
    { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macnet', namespace: 'default' }, spec: { config: JSON.stringify({ cniVersion: '1.0.0', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: MACNET } }) } },
  ]) await apply(o);
  controller = controllerFor(loadKubeConfig(api.kubeconfigPath), {}, log);
  controller.start();
  await controller.ready;
}, 120_000);

afterAll(async () => {
  await controller?.stop();
  await api?.stop();
}, 60_000);

describe('a cluster without KubeVirt', () => {
  it('works as ever: a pod is allocated under its own name and UID, and nothing is logged above info', async () => {
    const pod = await created({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'plain', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'alpine' }] } });
    const ip = await waitFor('plain.default', () => getJson<Ip>(['ip', 'plain.default']));
    expect([ip.spec.podName, ip.spec.podType, ip.metadata.labels?.['ipam.kube-ovn.io/pod-uid']]).toEqual(['plain', '', pod.metadata.uid]);
    await controller.idle();
    expect(log.lines.filter((l) => !l.startsWith('info '))).toEqual([]);
  }, 60_000);
});

describe('a KubeVirt VM', () => {
  let vm: Obj;
  let first: string[];
  let ipsBefore: string[];

  beforeAll(async () => {
    await api.kubectlOk(['apply', '-f', CRDS]);
    await api.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/virtualmachines.kubevirt.io', 'crd/virtualmachineinstances.kubevirt.io'], { timeoutMs: 70_000 });
    vm = await waitFor('the VirtualMachine kind to be served', async () => {
      const r = await api.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm1', namespace: 'default' }, spec: { runStrategy: 'Always' } }) });
      return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
    }, { timeoutMs: 30_000 });
    // The controller looks again for a kind that was not served every 10 s.
    await waitFor('the controller to see the VM', async () => (controller.live.snapshot.virtualmachines.has('default/vm1') ? true : undefined), { timeoutMs: 30_000 });
  }, 120_000);

  it('its launcher pod claims under the VM: IP objects vm1.default[.<provider>], podType VirtualMachine, the pod told its VM', async () => {
    const vmi = await createVmi(vm);
    await waitFor('the controller to see the VMI', async () => (controller.live.snapshot.virtualmachineinstances.has('default/vm1') ? true : undefined));
    await createLauncher(vmi, 'virt-launcher-vm1-aaaaa');
    first = await allocatedOf('virt-launcher-vm1-aaaaa');
    // 10.16.0.2 is plain's; the MAC is generated from the VM's identity.
    expect(first).toEqual(['ovn 10.16.0.3 8e:f0:e7:73:32:c2 vm=vm1', `${MACNET} 192.168.10.2 -`]);
    await controller.idle();
    ipsBefore = await vmIps();
    expect(ipsBefore.map((l) => l.replace(/ [0-9a-f-]{36} /, ' <uid> '))).toEqual([
      'vm1.default <uid> vm1 VirtualMachine 10.16.0.3 8e:f0:e7:73:32:c2 no-uid-label',
      `vm1.default.${MACNET} <uid> vm1 VirtualMachine 192.168.10.2 - no-uid-label`,
    ]);
  }, 60_000);

  it('restarted (launcher pod and VMI deleted, new ones with new UIDs): the same addresses and MACs, the IP objects never recreated', async () => {
    await forceDelete('pod', 'virt-launcher-vm1-aaaaa');
    await forceDelete('vmi', 'vm1');
    await controller.idle();
    expect(await vmIps()).toEqual(ipsBefore);
    const vmi = await createVmi(vm);
    await createLauncher(vmi, 'virt-launcher-vm1-bbbbb');
    expect(await allocatedOf('virt-launcher-vm1-bbbbb')).toEqual(first);
    await controller.idle();
    expect(await vmIps()).toEqual(ipsBefore);
  }, 60_000);

  it('live migration: a second launcher pod alive beside the first gets the same addresses; the first going changes nothing', async () => {
    const vmi = await waitFor('the VMI', () => getJson<Obj>(['vmi', '-n', 'default', 'vm1']));
    await createLauncher(vmi, 'virt-launcher-vm1-ccccc');
    expect(await allocatedOf('virt-launcher-vm1-ccccc')).toEqual(first);
    expect(await allocatedOf('virt-launcher-vm1-bbbbb')).toEqual(first);
    await controller.idle();
    expect(await vmIps()).toEqual(ipsBefore);
    expect(log.lines.filter((l) => l.startsWith('warn ') || l.startsWith('error '))).toEqual([]);
    await forceDelete('pod', 'virt-launcher-vm1-bbbbb');
    await controller.idle();
    expect(await vmIps()).toEqual(ipsBefore);
    expect(await allocatedOf('virt-launcher-vm1-ccccc')).toEqual(first);
  }, 60_000);

  it('plan --kubeconfig answers what the controller wrote (no error, no ClaimConflict)', async () => {
    const { plan, result } = await planLive(api);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(plan!.errors).toEqual([]);
    expect(plannedGiven(plan!)).toEqual(await writtenGiven(api));
    expect(plannedGiven(plan!).filter((g) => g.pod.includes('vm1')).map((g) => `${g.pod} ${g.provider} ${g.ipAddress} ${g.macAddress || '-'}`))
      .toEqual([`default/virt-launcher-vm1-ccccc ${MACNET} 192.168.10.2 -`, 'default/virt-launcher-vm1-ccccc ovn 10.16.0.3 8e:f0:e7:73:32:c2']);
  }, 180_000);

  it('the pod and the VMI going keep the claim; deleting the VM releases it', async () => {
    await forceDelete('pod', 'virt-launcher-vm1-ccccc');
    await forceDelete('vmi', 'vm1');
    await controller.idle();
    expect(await vmIps()).toEqual(ipsBefore);
    await api.kubectlOk(['delete', 'vm', '-n', 'default', 'vm1', '--wait=true']);
    expect(await waitFor('the VM\'s IP objects to go', async () => ((await vmIps()).length === 0 ? [] : undefined), { timeoutMs: 30_000 })).toEqual([]);
  }, 60_000);
});
