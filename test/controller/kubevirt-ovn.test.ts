// A KubeVirt VM's logical switch port, with real components (root): kube-apiserver + etcd with
// the KubeVirt CRD stand-in (test/fixtures/kubevirt-crds.yaml), OVN's NB database (nb-only) and
// the controller in-process with the Ovn adapter. The VM's pods share one port named as the
// VM (`vm1.default`, external_ids pod=default/vm1, as Kube-OVN's): it is made for the first
// pod, stays unchanged across a restart (new pod, new UID) and the sweep's audit while the VM
// is stopped, and goes with the VM.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeOvn } from '../../src/adapters/ovn.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { runOk, waitFor } from '../harness/exec.js';
import { controllerFor, quietLog } from '../harness/inProcess.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';

const CRDS = fileURLToPath(new URL('../fixtures/kubevirt-crds.yaml', import.meta.url));

interface Obj { readonly metadata: { readonly name: string; readonly uid: string; readonly annotations?: Record<string, string> } }

describeAsRoot('controller-kubevirt-ovn')('controller: a KubeVirt VM\'s logical switch port in a real OVN NB', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let vm: Obj;

  const created = async (o: unknown): Promise<Obj> => JSON.parse(await api.kubectlOk(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify(o) })) as Obj;
  const createVmi = (): Promise<Obj> => created({
    apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance',
    metadata: { name: 'vm1', namespace: 'default', ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm1', uid: vm.metadata.uid }] }, spec: {},
  });
  const createLauncher = (vmi: Obj, name: string): Promise<Obj> => created({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { 'kubevirt.io/domain': 'vm1' }, ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: 'vm1', uid: vmi.metadata.uid }] },
    spec: { containers: [{ name: 'compute', image: 'virt-launcher' }] },
  });
  const allocated = (name: string): Promise<Record<string, string>> => waitFor(`${name} allocated`, async () => {
    const p = JSON.parse(await api.kubectlOk(['get', 'pod', name, '-o', 'json'])) as Obj;
    return p.metadata.annotations?.['ovn.kubernetes.io/allocated'] === 'true' ? p.metadata.annotations : undefined;
  }, { timeoutMs: 15_000 });
  const forceDelete = async (kind: 'pod' | 'vmi', name: string): Promise<void> => {
    await api.kubectlOk(['delete', kind, name, '--grace-period=0', '--force', '--wait=true']);
    const map = () => (kind === 'pod' ? controller.live.snapshot.pods : controller.live.snapshot.virtualmachineinstances);
    await waitFor(`the controller to see ${kind} ${name} go`, async () => (map().has(`default/${name}`) ? undefined : true));
  };
  /** `name addresses external_ids` of every pod port (not the router's peers), with the row's
   *  _uuid: a recreated port shows. */
  const ports = async (): Promise<string[]> => {
    const answer = JSON.parse(await runOk(['ovsdb-client', 'query', ovs.db.nb!, JSON.stringify(['OVN_Northbound',
      { op: 'select', table: 'Logical_Switch_Port', where: [['type', '!=', 'router']], columns: ['_uuid', 'name', 'addresses', 'external_ids'] }])], { env: ovs.env })) as
      [{ rows: { name: string; _uuid: [string, string]; addresses: unknown; external_ids: ['map', [string, string][]] }[] }];
    return answer[0].rows.map((r) => `${r.name} ${r._uuid[1]} ${JSON.stringify(r.addresses)} ${JSON.stringify(Object.fromEntries(r.external_ids[1]))}`).sort();
  };

  beforeAll(async () => {
    [api, ovs] = await Promise.all([startApiServer(), startOvs({ ovn: 'nb-only' })]);
    await api.kubectlOk(['apply', '-f', CRDS]);
    await api.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', 'crd/virtualmachines.kubevirt.io', 'crd/virtualmachineinstances.kubevirt.io'], { timeoutMs: 70_000 });
    await api.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' }, spec: { provider: 'ovn', cidrBlock: '10.16.0.0/24' } }) });
    vm = await waitFor('the VirtualMachine kind served', async () => {
      const r = await api.kubectl(['create', '-f', '-', '-o', 'json'], { input: JSON.stringify({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm1', namespace: 'default' }, spec: {} }) });
      return r.code === 0 ? (JSON.parse(r.stdout) as Obj) : undefined;
    }, { timeoutMs: 30_000 });
    controller = controllerFor(loadKubeConfig(api.kubeconfigPath), {}, quietLog(), makeOvn({ db: ovs.db.nb!, log: quietLog() }));
    controller.start();
    await controller.ready;
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await Promise.all([api?.stop(), ovs?.stop()]);
  }, 60_000);

  let first: string[];

  it('the first pod: one port named and owned as the VM, with its allocation', async () => {
    await createLauncher(await createVmi(), 'virt-launcher-vm1-aaaaa');
    const a = await allocated('virt-launcher-vm1-aaaaa');
    expect([a['ovn.kubernetes.io/ip_address'], a['ovn.kubernetes.io/mac_address'], a['ovn.kubernetes.io/virtualmachine']]).toEqual(['10.16.0.2', '8e:f0:e7:73:32:c2', 'vm1']);
    await controller.idle();
    first = await ports();
    expect(first.map((p) => p.replace(/ [0-9a-f-]{36} /, ' <uuid> '))).toEqual([
      'vm1.default <uuid> "8e:f0:e7:73:32:c2 10.16.0.2" {"ipam.kube-ovn.io/pod-uid":"vm:default/vm1","ls":"ovn-default","pod":"default/vm1","vendor":"kube-ovn"}',
    ]);
  }, 60_000);

  it('stopped (pod and VMI gone): the sweep\'s audit leaves the port; restarted: the new pod uses the very same port row', async () => {
    await forceDelete('pod', 'virt-launcher-vm1-aaaaa');
    await forceDelete('vmi', 'vm1');
    await controller.idle();
    await controller.sweep();
    expect(await ports()).toEqual(first);
    await createLauncher(await createVmi(), 'virt-launcher-vm1-bbbbb');
    const a = await allocated('virt-launcher-vm1-bbbbb');
    expect([a['ovn.kubernetes.io/ip_address'], a['ovn.kubernetes.io/mac_address']]).toEqual(['10.16.0.2', '8e:f0:e7:73:32:c2']);
    await controller.idle();
    await controller.sweep();
    expect(await ports()).toEqual(first);
  }, 60_000);

  it('deleting the VM (after its pod and VMI) removes its port with its IP object', async () => {
    await forceDelete('pod', 'virt-launcher-vm1-bbbbb');
    await forceDelete('vmi', 'vm1');
    await api.kubectlOk(['delete', 'vm', '-n', 'default', 'vm1', '--wait=true']);
    await waitFor('the port of vm1 removed', async () => ((await ports()).length === 0 ? true : undefined), { timeoutMs: 15_000 });
    await waitFor('the IP object of vm1 removed', async () => ((await api.kubectl(['get', 'ip', 'vm1.default'])).code !== 0 ? true : undefined), { timeoutMs: 15_000 });
  }, 60_000);
});
