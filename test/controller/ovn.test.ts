// The controller keeping OVN's northbound database in step (issue 7, first slice), with real
// components (root): kube-apiserver + etcd, OVN's NB database from the harness (nb-only), and the
// controller in-process with the Ovn adapter pointed at the harness's NB database.
//
// A pod on ovn-default gets the logical switch `ovn-default` and the port `<pod>.<ns>`; an OVN
// attachment (seed 06's NAD, a Subnet bound to attachnet.default.ovn) gets
// `<pod>.<ns>.attachnet.default.ovn`; each port carries exactly its allocation (addresses,
// port_security, external_ids), read back with ovn-nbctl. Applying the same OVN writes again
// changes nothing (row _uuid and _version, nb_cfg); deleting the pod removes its ports, and
// the start-up sweep removes the port of a pod deleted while the controller was down. The
// sweep's OVN audit puts back a port deleted or changed behind our back (same address, no
// re-allocation) and removes a hand-made port with our external_ids and no claim, leaving
// every other port as it was.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeOvn } from '../../src/adapters/ovn.js';
import { applyActions } from '../../src/effects/apply.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Ovn } from '../../src/effects/ports.js';
import type { Action } from '../../src/domain/Plan.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { runOk, waitFor } from '../harness/exec.js';
import { controllerFor, quietLog } from '../harness/inProcess.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';

const NAD_06 = new URL('../../examples/ovn-attachments/06-nad-attachnet-ovn.yaml', import.meta.url);
const ATTACHNET = 'attachnet.default.ovn';
const UID_LABEL = 'ipam.kube-ovn.io/pod-uid';

const SUBNETS = `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ovn-default}
spec: {provider: ovn, cidrBlock: 10.16.0.0/16, gateway: 10.16.0.1, excludeIps: [10.16.0.1, 10.16.0.100..10.16.0.110]}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: attachnet}
spec: {provider: ${ATTACHNET}, cidrBlock: 172.17.0.0/16, gateway: 172.17.0.1}
`;

const podYaml = (name: string, networks?: string): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
${networks === undefined ? '' : `  annotations:\n    k8s.v1.cni.cncf.io/networks: ${networks}\n`}spec:
  containers: [{name: c, image: alpine}]
`;

interface Pod { readonly metadata: { readonly uid: string; readonly annotations?: Record<string, string> } }

describeAsRoot('controller-ovn')('controller: logical switches and ports in a real OVN NB', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let ovn: Ovn;
  let newController: () => Controller;
  const quiet = quietLog();
  /** Every OVN action the controller applied, in order: a tap on the real adapter, not a mock. */
  const applied: Action[] = [];

  const nb = (...args: string[]): Promise<string> => ovs.nbctl(...args);
  /** One column of one row as OVSDB JSON: an atom, `["set", [...]]` or `["map", [[k, v], ...]]`. */
  const column = async (table: string, row: string, col: string): Promise<unknown> =>
    (JSON.parse(await nb('--format=json', `--columns=${col}`, 'list', table, row)) as { data: [[unknown]] }).data[0][0];
  const mapOf = async (table: string, row: string, col: string): Promise<Record<string, string>> =>
    Object.fromEntries((await column(table, row, col) as ['map', [string, string][]])[1]);
  const externalIds = (port: string): Promise<Record<string, string>> => mapOf('Logical_Switch_Port', port, 'external_ids');
  /** The pods' ports of ours (the router's peers, type router, are not a pod's). */
  const ports = async (): Promise<string[]> => (await nb('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'external_ids:vendor=kube-ovn', 'type!=router')).split('\n').filter((x) => x !== '').sort();
  /** `_uuid`/`_version` of every switch and port, and NB_Global's nb_cfg: any write changes it. */
  const versions = async (): Promise<string> => {
    const select = (table: string, columns: string[]) => ({ op: 'select', table, where: [], columns });
    return runOk(['ovsdb-client', 'query', ovs.db.nb!, JSON.stringify(['OVN_Northbound',
      select('Logical_Switch', ['_uuid', '_version', 'name']), select('Logical_Switch_Port', ['_uuid', '_version', 'name']), select('NB_Global', ['nb_cfg', '_version']),
      select('Logical_Router', ['_uuid', '_version', 'name']), select('Logical_Router_Port', ['_uuid', '_version', 'name'])])], { env: ovs.env });
  };
  /** `<name> <_uuid> <_version>` of every logical switch port, sorted. */
  const portRows = async (): Promise<string[]> => {
    const answer = JSON.parse(await runOk(['ovsdb-client', 'query', ovs.db.nb!, JSON.stringify(['OVN_Northbound',
      { op: 'select', table: 'Logical_Switch_Port', where: [], columns: ['_uuid', '_version', 'name'] }])], { env: ovs.env })) as [{ rows: { name: string; _uuid: [string, string]; _version: [string, string] }[] }];
    return answer[0].rows.map((r) => `${r.name} ${r._uuid[1]} ${r._version[1]}`).sort();
  };
  const allocated = (pod: string, providers: readonly string[]): Promise<Pod> =>
    waitFor(`${pod} allocated`, async () => {
      const p = JSON.parse(await api.kubectlOk(['get', 'pod', pod, '-o', 'json'])) as Pod;
      return providers.every((x) => p.metadata.annotations?.[`${x}.kubernetes.io/allocated`] === 'true') ? p : undefined;
    }, { timeoutMs: 15_000 });

  beforeAll(async () => {
    [api, ovs] = await Promise.all([startApiServer(), startOvs({ ovn: 'nb-only' })]);
    const kc = loadKubeConfig(api.kubeconfigPath);
    const real = makeOvn({ db: ovs.db.nb!, log: quiet });
    const tap = (a: Action) => void applied.push(a);
    ovn = {
      transact: async (actions) => {
        await real.transact(actions);
        for (const a of actions) tap(a);
      },
      listPorts: () => real.listPorts(),
      listSwitches: () => real.listSwitches(),
      listRouter: () => real.listRouter(),
    };
    newController = () => controllerFor(kc, {}, quiet, ovn);
    controller = newController();
    controller.start();
    await api.kubectlOk(['apply', '-f', '-'], { input: SUBNETS });
    await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(NAD_06, 'utf8') });
    await controller.ready;
  }, 120_000);

  afterAll(async () => {
    await controller?.stop();
    await Promise.all([api?.stop(), ovs?.stop()]);
  }, 60_000);

  it('a pod on ovn-default: the switch ovn-default and the port <pod>.<ns> with exactly its allocation', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('solo') });
    const pod = await allocated('solo', ['ovn']);
    const a = pod.metadata.annotations!;
    const want = `${a['ovn.kubernetes.io/mac_address']} ${a['ovn.kubernetes.io/ip_address']}`;
    expect(a['ovn.kubernetes.io/ip_address']).toEqual('10.16.0.2');
    expect(await column('Logical_Switch', 'ovn-default', 'name')).toEqual('ovn-default');
    expect(await mapOf('Logical_Switch', 'ovn-default', 'other_config')).toEqual({ exclude_ips: '10.16.0.1 10.16.0.100..10.16.0.110', subnet: '10.16.0.0/16' });
    expect(await mapOf('Logical_Switch', 'ovn-default', 'external_ids')).toEqual({ vendor: 'kube-ovn' });
    expect(await nb('lsp-get-ls', 'solo.default')).toMatch(/\(ovn-default\)$/);
    expect(await column('Logical_Switch_Port', 'solo.default', 'addresses')).toEqual(want);
    expect(await column('Logical_Switch_Port', 'solo.default', 'port_security')).toEqual(want);
    expect(await externalIds('solo.default')).toEqual({ pod: 'default/solo', ls: 'ovn-default', vendor: 'kube-ovn', [UID_LABEL]: pod.metadata.uid });
  }, 60_000);

  it('an OVN attachment (seed 06): the port <pod>.<ns>.attachnet.default.ovn on the switch attachnet', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('multi', 'default/attachnet') });
    const pod = await allocated('multi', ['ovn', ATTACHNET]);
    const a = pod.metadata.annotations!;
    const port = `multi.default.${ATTACHNET}`;
    const want = `${a[`${ATTACHNET}.kubernetes.io/mac_address`]} ${a[`${ATTACHNET}.kubernetes.io/ip_address`]}`;
    expect(a[`${ATTACHNET}.kubernetes.io/ip_address`]).toEqual('172.17.0.2');
    expect(await nb('lsp-get-ls', port)).toMatch(/\(attachnet\)$/);
    expect(await column('Logical_Switch_Port', port, 'addresses')).toEqual(want);
    expect(await column('Logical_Switch_Port', port, 'port_security')).toEqual(want);
    expect(await externalIds(port)).toEqual({ pod: 'default/multi', ls: 'attachnet', vendor: 'kube-ovn', [UID_LABEL]: pod.metadata.uid });
    expect(await ports()).toEqual(['multi.default', port, 'solo.default'].sort());
  }, 60_000);

  it('applying the same OVN writes again changes nothing in the NB', async () => {
    const ensures = applied.filter((x) => x.type !== 'DeleteLogicalSwitchPort');
    // Each switch when its Subnet appeared and with every pod plan that wrote a port on it (a plan
    // whose patch met a conflict is applied again), so how often varies; what was written does not.
    expect([...new Set(ensures.map((x) => `${x.type} ${x.target}`))].sort()).toEqual([
      'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-attachnet', 'EnsureLogicalRouterPort ovn-cluster-ovn-default',
      'EnsureLogicalSwitch attachnet', 'EnsureLogicalSwitch ovn-default',
      `EnsureLogicalSwitchPort multi.default`, `EnsureLogicalSwitchPort multi.default.${ATTACHNET}`, 'EnsureLogicalSwitchPort solo.default',
    ]);
    const before = await versions();
    const again = await applyActions({ kube: undefined as never, live: undefined as never, log: quiet, canWrite: () => true, ovn: makeOvn({ db: ovs.db.nb!, log: quiet }) }, ensures);
    expect(again).toEqual({ kind: 'applied', count: ensures.length });
    expect(await versions()).toEqual(before);
  }, 60_000);

  it('deleting a pod removes its ports, and only its ports', async () => {
    await api.kubectlOk(['delete', 'pod', 'multi', '--wait=true']);
    await waitFor('the ports of multi removed', async () => ((await ports()).length === 1 ? true : undefined), { timeoutMs: 15_000 });
    expect(await ports()).toEqual(['solo.default']);
    expect(await nb('--bare', '--columns=name', 'list', 'Logical_Switch')).toEqual(expect.stringContaining('attachnet'));
  }, 60_000);

  it('an OVN Subnet gets its switch as soon as it exists, pods or not, and keeps it in step with its spec; an IPAM-only Subnet gets none', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: spare}
spec: {provider: spare.default.ovn, cidrBlock: '10.60.0.0/24,fd00:60::/120', gateway: '10.60.0.1,fd00:60::1', excludeIps: [10.60.0.10..10.60.0.19]}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ipam-only}
spec: {provider: ipam-only.default, cidrBlock: 10.61.0.0/24}
` });
    await waitFor('the switch spare', async () => ((await nb('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=spare')) === 'spare' ? true : undefined), { timeoutMs: 15_000 });
    expect(await mapOf('Logical_Switch', 'spare', 'other_config')).toEqual({ subnet: '10.60.0.0/24', ipv6_prefix: 'fd00:60::', exclude_ips: '10.60.0.1 10.60.0.10..10.60.0.19' });
    expect(await mapOf('Logical_Switch', 'spare', 'external_ids')).toEqual({ vendor: 'kube-ovn' });
    await api.kubectlOk(['patch', 'subnet', 'spare', '--type=merge', '-p', '{"spec":{"excludeIps":["10.60.0.200..10.60.0.210"]}}']);
    await waitFor('exclude_ips of spare updated', async () => ((await mapOf('Logical_Switch', 'spare', 'other_config'))['exclude_ips'] === '10.60.0.1 10.60.0.200..10.60.0.210' ? true : undefined), { timeoutMs: 15_000 });
    expect(await nb('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=ipam-only')).toEqual('');
  }, 60_000);

  it('a deleted Subnet: the sweep removes its switch once it has no port, and no other switch', async () => {
    await api.kubectlOk(['delete', 'subnet', 'spare', 'ipam-only', '--wait=true']);
    await waitFor('the controller sees spare gone', async () => (controller.live.snapshot.subnets.has('spare') ? undefined : true), { timeoutMs: 15_000 });
    await nb('lsp-add', 'spare', 'someone.elses');
    await controller.sweep();
    expect(await nb('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=spare')).toEqual('spare');
    await nb('lsp-del', 'someone.elses');
    await controller.sweep();
    expect(await nb('--bare', '--columns=name', 'find', 'Logical_Switch', 'name=spare')).toEqual('');
    expect((await nb('--bare', '--columns=name', 'list', 'Logical_Switch')).split('\n').filter((x) => x !== '').sort()).toEqual(['attachnet', 'ovn-default']);
  }, 60_000);

  it('the sweep puts back a port deleted behind our back, and one whose port security was changed, with the same addresses', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('keep', 'default/attachnet') });
    const pod = await allocated('keep', ['ovn', ATTACHNET]);
    const a = pod.metadata.annotations!;
    const eth0 = `${a['ovn.kubernetes.io/mac_address']} ${a['ovn.kubernetes.io/ip_address']}`;
    const net1 = `${a[`${ATTACHNET}.kubernetes.io/mac_address`]} ${a[`${ATTACHNET}.kubernetes.io/ip_address`]}`;
    await nb('lsp-del', 'keep.default', '--', 'lsp-set-port-security', `keep.default.${ATTACHNET}`);
    expect(await column('Logical_Switch_Port', `keep.default.${ATTACHNET}`, 'port_security')).toEqual(['set', []]);
    await controller.sweep();
    expect(await nb('lsp-get-ls', 'keep.default')).toMatch(/\(ovn-default\)$/);
    expect(await column('Logical_Switch_Port', 'keep.default', 'addresses')).toEqual(eth0);
    expect(await column('Logical_Switch_Port', 'keep.default', 'port_security')).toEqual(eth0);
    expect(await externalIds('keep.default')).toEqual({ pod: 'default/keep', ls: 'ovn-default', vendor: 'kube-ovn', [UID_LABEL]: pod.metadata.uid });
    expect(await column('Logical_Switch_Port', `keep.default.${ATTACHNET}`, 'port_security')).toEqual(net1);
    // The claim stayed what it was: no new address, no annotation written.
    expect((JSON.parse(await api.kubectlOk(['get', 'pod', 'keep', '-o', 'json'])) as Pod).metadata.annotations).toEqual(a);
    // A port found on another switch is moved back (deleted and made again, one transaction).
    await nb('lsp-del', 'keep.default', '--', 'lsp-add', 'attachnet', 'keep.default', '--', 'set', 'logical_switch_port', 'keep.default', 'external_ids:vendor=kube-ovn', 'external_ids:ls=attachnet');
    await controller.sweep();
    expect(await nb('lsp-get-ls', 'keep.default')).toMatch(/\(ovn-default\)$/);
    expect(await column('Logical_Switch_Port', 'keep.default', 'addresses')).toEqual(eth0);
    expect(await externalIds('keep.default')).toEqual({ pod: 'default/keep', ls: 'ovn-default', vendor: 'kube-ovn', [UID_LABEL]: pod.metadata.uid });
  }, 60_000);

  it('the sweep removes a hand-made port with our external_ids and no claim, and leaves every other port as it was', async () => {
    await nb('lsp-add', 'ovn-default', 'ghost.default', '--', 'lsp-set-addresses', 'ghost.default', '0a:00:00:00:00:01 10.16.0.77',
      '--', 'set', 'logical_switch_port', 'ghost.default', 'external_ids:vendor=kube-ovn', 'external_ids:pod="default/ghost"');
    await nb('lsp-add', 'ovn-default', 'theirs', '--', 'lsp-set-addresses', 'theirs', '0a:00:00:00:00:02 10.16.0.78', '--', 'set', 'logical_switch_port', 'theirs', 'external_ids:vendor=someone-else');
    await nb('lsp-add', 'attachnet', 'plain', '--', 'lsp-set-addresses', 'plain', '0a:00:00:00:00:03 172.17.0.78');
    const before = await portRows();
    await controller.sweep();
    const names = (await nb('--bare', '--columns=name', 'list', 'Logical_Switch_Port')).split('\n').filter((x) => x !== '').sort();
    expect(names).toEqual(['attachnet-ovn-cluster', 'keep.default', `keep.default.${ATTACHNET}`, 'ovn-default-ovn-cluster', 'plain', 'solo.default', 'theirs']);
    // Every other port is as it was: the same rows at the same versions.
    expect(await portRows()).toEqual(before.filter((r) => !r.startsWith('ghost.default ')));
    await nb('lsp-del', 'theirs', '--', 'lsp-del', 'plain');
  }, 60_000);

  it('deleting the pod after the repairs removes its ports', async () => {
    await api.kubectlOk(['delete', 'pod', 'keep', '--wait=true']);
    await waitFor('the ports of keep removed', async () => ((await ports()).length === 1 ? true : undefined), { timeoutMs: 15_000 });
    expect(await ports()).toEqual(['solo.default']);
  }, 60_000);

  it('a pod deleted while the controller is down: the start-up sweep removes its port with its IP object', async () => {
    await controller.stop();
    await api.kubectlOk(['delete', 'pod', 'solo', '--wait=true']);
    expect(await ports()).toEqual(['solo.default']);
    controller = newController();
    controller.start();
    await controller.ready;
    await waitFor('the port of solo removed', async () => ((await ports()).length === 0 ? true : undefined), { timeoutMs: 15_000 });
    await waitFor('the IP object of solo removed', async () => ((await api.kubectl(['get', 'ip', 'solo.default'])).code !== 0 ? true : undefined), { timeoutMs: 15_000 });
  }, 60_000);
});
