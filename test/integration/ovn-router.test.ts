// The OVN gateway with real components (root): kube-apiserver + etcd, Open vSwitch and OVN in
// userspace, the controller in-process with the Ovn adapter on the harness's NB, the daemon
// in-process plugging pods (network namespaces), and the built `plan --kubeconfig --ovn`.
//
// Two OVN Subnets (ovn-default; blue, dual-stack, its gateway the last address, for namespace
// blue) and an IPAM-only one. `plan` first shows the router ovn-cluster and one gateway port per
// OVN Subnet a pod uses; the controller then writes exactly those (read back with ovn-nbctl:
// names, MACs, networks, the peers on the switches), and none for the IPAM-only Subnet. A pod
// pings its gateway, and pods on the two Subnets ping each other through the router. A Subnet's
// gateway change moves its router port; a Subnet made IPAM-only loses it (and gets it back as an
// OVN one); deleting the Subnet removes the port and its peer; the sweep puts back a router
// port deleted behind our back and removes a stray one of ours.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeOvn } from '../../src/adapters/ovn.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import { routerPortMac } from '../../src/domain/OvnRouter.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { controllerFor, daemonConfigFor, postJson, quietLog, stopNodeCluster } from '../harness/inProcess.js';
import { createNetns, netnsPath, ping } from '../harness/netns.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { planLive, plannedGiven, writtenGiven, type PlanJson } from '../harness/parity.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const NODE = 'node-a';
const SUBNETS = `
apiVersion: v1
kind: Namespace
metadata: {name: blue}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ovn-default}
spec: {provider: ovn, cidrBlock: 10.16.0.0/16, gateway: 10.16.0.1}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: blue}
spec: {provider: ovn, cidrBlock: '10.18.0.0/24,fd00:18::/120', gateway: '10.18.0.254,fd00:18::1', namespaces: [blue]}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: macvlan}
spec: {provider: macvlan.default, cidrBlock: 172.18.0.0/24}
`;
const POD = (name: string, namespace: string): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  nodeName: ${NODE}
  containers: [{name: c, image: alpine}]
`;
const ROUTER_REASON = 'the logical router of the default VPC (ovn-cluster), the gateway of the OVN subnets';
const BLUE = { name: 'ovn-cluster-blue', mac: routerPortMac('blue'), networks: ['10.18.0.254/24', 'fd00:18::1/120'] };
const DEFAULT = { name: 'ovn-cluster-ovn-default', mac: routerPortMac('ovn-default'), networks: ['10.16.0.1/16'] };
const peer = (subnet: string) => ({ name: `${subnet}-ovn-cluster`, type: 'router', addresses: 'router', options: { 'router-port': `ovn-cluster-${subnet}` }, externalIds: { ls: subnet, vendor: 'kube-ovn' } });

type Datum = string | ['set', string[]] | ['map', [string, string][]];
const setOf = (d: Datum): string[] => (Array.isArray(d) && d[0] === 'set' ? d[1] : [String(d)]);
const mapOf = (d: Datum): Record<string, string> => (Array.isArray(d) && d[0] === 'map' ? Object.fromEntries(d[1]) : {});

describeAsRoot('ovn-router')('OVN gateway: the router ovn-cluster, pods reaching their gateway and each other', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  let plan: PlanJson;
  const netns = new Map<string, string>();

  const nb = (...args: string[]): Promise<string> => ovs.nbctl(...args);
  const rows = async (...args: string[]): Promise<Datum[][]> => (JSON.parse(await nb('--format=json', ...args)) as { data: Datum[][] }).data;
  /** Every router port in the NB: name, MAC, networks; by name. */
  const routerPorts = async () => (await rows('--columns=name,mac,networks', 'list', 'Logical_Router_Port'))
    .map(([name, mac, networks]) => ({ name: String(name), mac: String(mac), networks: setOf(networks!) })).sort((a, b) => (a.name < b.name ? -1 : 1));
  /** Every switch port of type router in the NB, by name. */
  const peers = async () => (await rows('--columns=name,type,addresses,options,external_ids', 'find', 'Logical_Switch_Port', 'type=router'))
    .map(([name, type, addresses, options, ids]) => ({ name: String(name), type: String(type), addresses: setOf(addresses!).join(' '), options: mapOf(options!), externalIds: mapOf(ids!) }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  const cid = (pod: string): string => `${pod.replace(/[^a-z]/g, '')}01`.padEnd(64, '0');
  const add = (pod: string, namespace: string) => postJson(`${tmp.path}/daemon.sock`, '/api/v1/add', {
    cni_type: 'kube-ovn', pod_name: pod, pod_namespace: namespace, container_id: cid(pod), net_ns: netnsPath(netns.get(pod) ?? ''), if_name: 'eth0', provider: 'ovn',
  });
  const pings = async (pod: string, address: string): Promise<string> => (await ping(netns.get(pod) ?? '', address)).stdout;

  beforeAll(async () => {
    [api, ovs] = await Promise.all([startApiServer(), startOvs()]);
    await api.kubectlOk(['apply', '-f', '-'], { input: SUBNETS });
    await api.kubectlOk(['apply', '-f', '-'], { input: `${POD('pod-a', 'default')}---${POD('pod-b', 'blue')}` });
    const planned = await planLive(api, ['--ovn']);
    if (planned.plan === undefined) throw new Error(`plan printed no JSON: ${planned.result.stderr}`);
    plan = planned.plan;
    controller = controllerFor(loadKubeConfig(api.kubeconfigPath), {}, quietLog(), makeOvn({ db: ovs.db.nb!, log: quietLog() }));
    controller.start();
    await controller.ready;
    for (const [pod, ns] of [['pod-a', 'default'], ['pod-b', 'blue']] as const) {
      await waitFor(`${pod} allocated`, async () => ((await api.kubectlOk(['get', 'pod', pod, '-n', ns, '-o', 'jsonpath={.metadata.annotations.ovn\\.kubernetes\\.io/allocated}'])) === 'true' ? true : undefined), { timeoutMs: 20_000 });
      netns.set(pod, await createNetns());
    }
    tmp = makeTempDir('ovn-router');
    running = await startNodeDaemon({ ...daemonConfigFor(api, ovs, NODE), socket: `${tmp.path}/daemon.sock`, ovnInstalledTimeoutMs: 20_000 }, quietLog());
  }, 240_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  it('plan --kubeconfig --ovn shows the router and the gateway port of each OVN Subnet a pod uses, and none for the IPAM-only one', () => {
    // With each pod's switch (the two pods were made in the same second: their order is the API's).
    expect(plan.actions.filter((a) => a.type.includes('LogicalRouter')).map((a) => `${a.type} ${a.target}: ${a.reason}`).sort()).toEqual([
      `EnsureLogicalRouter ovn-cluster: ${ROUTER_REASON}`,
      `EnsureLogicalRouter ovn-cluster: ${ROUTER_REASON}`,
      'EnsureLogicalRouterPort ovn-cluster-blue: connect OVN subnet blue to router ovn-cluster at its gateway 10.18.0.254/24,fd00:18::1/120',
      'EnsureLogicalRouterPort ovn-cluster-ovn-default: connect OVN subnet ovn-default to router ovn-cluster at its gateway 10.16.0.1/16',
    ]);
  });

  it('the controller wrote what the plan said: the router, a port per OVN Subnet at its gateway, its peer on the Subnet\'s switch', async () => {
    expect(await writtenGiven(api)).toEqual(plannedGiven(plan));
    expect(await nb('--bare', '--columns=name,external_ids', 'list', 'Logical_Router')).toEqual('ovn-cluster\nvendor=kube-ovn');
    const ports = await routerPorts();
    expect(ports).toEqual([BLUE, DEFAULT]);
    // The plan's ports are the NB's, at the networks its reasons name.
    const planned = plan.actions.filter((a) => a.type === 'EnsureLogicalRouterPort').map((a) => ({ name: a.target, networks: a.reason.split(' at its gateway ')[1]!.split(',') }));
    expect(ports.map(({ name, networks }) => ({ name, networks }))).toEqual(planned.sort((a, b) => (a.name < b.name ? -1 : 1)));
    expect(await nb('--bare', '--columns=name', 'list', 'Logical_Router_Port')).not.toContain('macvlan');
    expect(await peers()).toEqual([peer('blue'), peer('ovn-default')]);
    expect(await nb('lsp-get-ls', 'blue-ovn-cluster')).toMatch(/\(blue\)$/);
    expect(await nb('lsp-get-ls', 'ovn-default-ovn-cluster')).toMatch(/\(ovn-default\)$/);
  }, 30_000);

  it('pods ping their gateway, and pods on two OVN Subnets ping each other through the router', async () => {
    expect((await add('pod-a', 'default')).status).toBe(200);
    expect((await add('pod-b', 'blue')).status).toBe(200);
    expect(await pings('pod-a', '10.16.0.1')).toContain('1 received');
    expect(await pings('pod-b', '10.18.0.254')).toContain('1 received');
    expect(await pings('pod-b', 'fd00:18::1')).toContain('1 received');
    expect(await pings('pod-a', '10.18.0.1')).toContain('1 received');
    expect(await pings('pod-b', '10.16.0.2')).toContain('1 received');
  }, 60_000);

  it('an OVN attachment Subnet gets its router port too, and a gateway change moves it (same MAC)', async () => {
    await api.kubectlOk(['apply', '-f', '-'], { input: 'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: spare}\nspec: {provider: spare.default.ovn, cidrBlock: 10.60.0.0/24}\n' });
    const spare = async () => (await routerPorts()).find((p) => p.name === 'ovn-cluster-spare');
    await waitFor('the router port of spare', async () => ((await spare())?.networks.join() === '10.60.0.1/24' ? true : undefined), { timeoutMs: 15_000 });
    expect(await spare()).toEqual({ name: 'ovn-cluster-spare', mac: routerPortMac('spare'), networks: ['10.60.0.1/24'] });
    await api.kubectlOk(['patch', 'subnet', 'spare', '--type=merge', '-p', '{"spec":{"gateway":"10.60.0.254"}}']);
    await waitFor('the router port of spare moved', async () => ((await spare())?.networks.join() === '10.60.0.254/24' ? true : undefined), { timeoutMs: 15_000 });
    expect(await spare()).toEqual({ name: 'ovn-cluster-spare', mac: routerPortMac('spare'), networks: ['10.60.0.254/24'] });
    expect(await peers()).toEqual([peer('blue'), peer('ovn-default'), peer('spare')]);
  }, 60_000);

  it('a Subnet that stops being an OVN one (its provider now IPAM-only) loses its router port; back to OVN, it has it again', async () => {
    const spare = async () => (await routerPorts()).find((p) => p.name === 'ovn-cluster-spare');
    await api.kubectlOk(['patch', 'subnet', 'spare', '--type=merge', '-p', '{"spec":{"provider":"spare.default"}}']);
    await waitFor('the router port of spare removed', async () => ((await spare()) === undefined ? true : undefined), { timeoutMs: 15_000 });
    expect(await peers()).toEqual([peer('blue'), peer('ovn-default')]);
    await api.kubectlOk(['patch', 'subnet', 'spare', '--type=merge', '-p', '{"spec":{"provider":"spare.default.ovn"}}']);
    await waitFor('the router port of spare back', async () => ((await spare()) === undefined ? undefined : true), { timeoutMs: 15_000 });
    expect(await spare()).toEqual({ name: 'ovn-cluster-spare', mac: routerPortMac('spare'), networks: ['10.60.0.254/24'] });
    expect(await peers()).toEqual([peer('blue'), peer('ovn-default'), peer('spare')]);
  }, 60_000);

  it('deleting a Subnet removes its router port and peer (and the sweep its switch); the rest stays', async () => {
    await api.kubectlOk(['delete', 'subnet', 'spare', '--wait=true']);
    await waitFor('the router port of spare removed', async () => ((await routerPorts()).length === 2 ? true : undefined), { timeoutMs: 15_000 });
    expect(await routerPorts()).toEqual([BLUE, DEFAULT]);
    expect(await peers()).toEqual([peer('blue'), peer('ovn-default')]);
    await controller.sweep();
    expect((await nb('--bare', '--columns=name', 'list', 'Logical_Switch')).split('\n').filter((x) => x !== '').sort()).toEqual(['blue', 'ovn-default']);
    expect(await nb('--bare', '--columns=name', 'list', 'Logical_Router')).toEqual('ovn-cluster');
  }, 60_000);

  it('the sweep puts back a router port deleted behind our back (same MAC and networks) and removes a stray one of ours', async () => {
    await nb('lrp-del', 'ovn-cluster-blue', '--', 'lsp-del', 'blue-ovn-cluster');
    await nb('lrp-add', 'ovn-cluster', 'ovn-cluster-gone', '0a:00:00:00:00:09', '10.99.0.1/24', '--', 'set', 'logical_router_port', 'ovn-cluster-gone', 'external_ids:vendor=kube-ovn');
    await nb('lrp-add', 'ovn-cluster', 'ovn-cluster-theirs', '0a:00:00:00:00:0a', '10.98.0.1/24');
    await controller.sweep();
    expect(await routerPorts()).toEqual([BLUE, DEFAULT, { name: 'ovn-cluster-theirs', mac: '0a:00:00:00:00:0a', networks: ['10.98.0.1/24'] }]);
    expect(await peers()).toEqual([peer('blue'), peer('ovn-default')]);
    expect(await pings('pod-a', '10.18.0.1')).toContain('1 received');
    await nb('lrp-del', 'ovn-cluster-theirs');
  }, 60_000);
});
