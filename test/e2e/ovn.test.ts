// The seed's OVN-attachment examples 06-11 end to end on one node (root), with real components
// only: kube-apiserver + etcd, the Controller in-process writing allocations and OVN's
// logical switches and ports (makeOvn on the harness's NB), Open vSwitch and OVN in userspace,
// the daemon in-process on a temp socket (waiting for ovn-installed), network namespaces as the
// pods, and the real plugin executable dist/cni/kube-ovn invoked as a runtime and Multus do:
// - eth0 with the default network's netconf (kube-ovn's own `{"cniVersion":"0.3.1","name":
//   "kube-ovn","type":"kube-ovn","server_socket":…}`), then net1 with the NAD's `spec.config`
//   read back from the API server, with the NAD's name added (Multus does) and `server_socket`
//   pointed at the test's daemon (the seed's /run/openvswitch path is the production one);
// - CNI_ARGS `IgnoreUnknown=true;K8S_POD_NAMESPACE;K8S_POD_NAME;K8S_POD_INFRA_CONTAINER_ID;
//   K8S_POD_UID` from the real pod; the container ID is the sha256 of the pod's UID.
// The seed's YAML is applied verbatim (its pods name no node, so this daemon watches every
// pod); examples/ovn-attachments/00-subnets.yaml adds what the seed leaves implicit
// (ovn-default 10.17.0.0/16, attachnet 172.18.0.0/16 for provider attachnet.default.ovn,
// my-subnet 172.17.0.0/16). 09 and 11 both name their pod `spec-subnet`: 11 runs after 09's
// pod is deleted, which is also the deletion case (CNI DEL of both interfaces, then the pod).
// 11 puts eth0 and net1 on one subnet: a reply from net1's address would leave through eth0
// (the first connected route) and OVN's port security would drop it, so the daemon gives each
// such interface source routing (src/domain/cni/SourceRouting.ts), checked here exactly.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeOvn } from '../../src/adapters/ovn.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import { linkNamesOf } from '../../src/domain/cni/NodePlanner.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { CNI_PLUGIN_DIR, invokeCni, invokeCniOk, type CniInvocation } from '../harness/cni.js';
import { runOk, waitFor } from '../harness/exec.js';
import { controllerFor, daemonConfigFor, quietLog, stopNodeCluster } from '../harness/inProcess.js';
import { createNetns, deleteNetns, inNetns, inNetnsOk, linkExists, linkState, netnsPath, ping } from '../harness/netns.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The repository's byte-identical copies of the seed's 06-11, and 00 with the implicit Subnets. */
const SEED = new URL('../../examples/ovn-attachments/', import.meta.url);
const seedFile = (name: string): string => readFileSync(new URL(name, SEED), 'utf8');
const ATTACHNET = 'attachnet.default.ovn';
const PLUGIN = `${REPO}dist/cni/kube-ovn`;
const UID_LABEL = 'ipam.kube-ovn.io/pod-uid';

/** A second pod on attachnet (the seed shows one), for samplepod to talk to over net1. */
const PEER_YAML = `
apiVersion: v1
kind: Pod
metadata:
  name: peer
  namespace: default
  annotations:
    k8s.v1.cni.cncf.io/networks: default/attachnet
spec:
  containers: [{name: peer, image: alpine}]
`;

/** A pod as the runtime knows it: its sandbox (netns, container ID) and the controller's annotations. */
interface PodRun {
  readonly name: string;
  readonly uid: string;
  readonly containerId: string;
  readonly netns: string;
  readonly annotations: Readonly<Record<string, string>>;
}

interface Interface {
  readonly provider: string;
  readonly ifName: 'eth0' | 'net1';
}
/** The source tables of eth0 and net1 (SOURCE_TABLE_BASE + FNV-1a-32 of the name mod 2·10⁹). */
const TABLE = { eth0: 1739701812, net1: 579500891 } as const;
const DEFAULT_RULES = ['0:\tfrom all lookup local', '32766:\tfrom all lookup main', '32767:\tfrom all lookup default'];

const ETH0: Interface = { provider: 'ovn', ifName: 'eth0' };
const NET1: Interface = { provider: ATTACHNET, ifName: 'net1' };

describeAsRoot('e2e-ovn')('seed 06-11: OVN attachments through the real plugin, daemon, controller and OVN', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  let socket: string;
  const pods = new Map<string, PodRun>();

  const nb = (...args: string[]): Promise<string> => ovs.nbctl(...args);
  const column = async (table: string, row: string, col: string): Promise<unknown> =>
    (JSON.parse(await nb('--format=json', `--columns=${col}`, 'list', table, row)) as { data: [[unknown]] }).data[0][0];
  /** Every logical switch port of ours but the router's peers, `<port> on <switch>`, sorted. */
  const logicalPorts = async (): Promise<string[]> => {
    const names = (await nb('--bare', '--columns=name', 'find', 'Logical_Switch_Port', 'external_ids:vendor=kube-ovn', 'type!=router')).split('\n').filter((x) => x !== '');
    return (await Promise.all(names.map(async (n) => `${n} on ${(/\((.*)\)$/.exec(await nb('lsp-get-ls', n)) ?? [])[1] ?? '?'}`))).sort();
  };
  const portName = (pod: string, i: Interface): string => (i.provider === 'ovn' ? `${pod}.default` : `${pod}.default.${i.provider}`);
  const ann = (pod: PodRun, i: Interface, key: string): string => pod.annotations[`${i.provider}.kubernetes.io/${key}`] ?? '';
  const pod = (name: string): PodRun => {
    const p = pods.get(name);
    if (p === undefined) throw new Error(`pod ${name} was not set up`);
    return p;
  };

  /** The NAD's spec.config as Multus reads it from the API server. */
  const nadConfig = async (): Promise<Record<string, unknown>> => {
    const nad = JSON.parse(await api.kubectlOk(['get', 'network-attachment-definitions', 'attachnet', '-o', 'json'])) as { spec: { config: string } };
    return JSON.parse(nad.spec.config) as Record<string, unknown>;
  };

  const invocation = async (p: PodRun, i: Interface, command: CniInvocation['command']): Promise<CniInvocation> => ({
    plugin: PLUGIN, command, containerId: p.containerId, netns: netnsPath(p.netns), ifName: i.ifName,
    path: [`${REPO}dist/cni`, CNI_PLUGIN_DIR],
    netconf: i.ifName === 'eth0'
      ? { cniVersion: '0.3.1', name: 'kube-ovn', type: 'kube-ovn', server_socket: socket }
      : { ...await nadConfig(), name: 'attachnet', server_socket: socket },
    args: { IgnoreUnknown: 'true', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: p.name, K8S_POD_INFRA_CONTAINER_ID: p.containerId, K8S_POD_UID: p.uid },
  });

  /** Applies `yaml` verbatim, waits for both interfaces' allocation, makes the pod's netns. */
  const create = async (name: string, yaml: string): Promise<PodRun> => {
    await api.kubectlOk(['apply', '-f', '-'], { input: yaml });
    const facts = await waitFor(`${name} allocated`, async () => {
      const p = JSON.parse(await api.kubectlOk(['get', 'pod', name, '-o', 'json'])) as { metadata: { uid: string; annotations?: Record<string, string> } };
      const a = p.metadata.annotations ?? {};
      return [ETH0, NET1].every((i) => a[`${i.provider}.kubernetes.io/allocated`] === 'true') ? { uid: p.metadata.uid, annotations: a } : undefined;
    }, { timeoutMs: 20_000 });
    const run: PodRun = { name, ...facts, containerId: createHash('sha256').update(facts.uid).digest('hex'), netns: await createNetns() };
    pods.set(name, run);
    return run;
  };

  /** ADD of eth0, then of net1 (the runtime's default network first, then Multus's delegate). */
  const plug = async (p: PodRun): Promise<Record<string, unknown>[]> => {
    const results: Record<string, unknown>[] = [];
    for (const i of [ETH0, NET1]) results.push((await invokeCniOk(await invocation(p, i, 'ADD'))).result as Record<string, unknown>);
    return results;
  };

  /** What the controller wrote for each interface: ip, cidr, gateway, logical_switch. */
  const allocation = (p: PodRun, i: Interface): readonly string[] => ['ip_address', 'cidr', 'gateway', 'logical_switch'].map((k) => ann(p, i, k));

  /** The logical switch port of an interface carries exactly its allocation. */
  const expectLogicalPort = async (p: PodRun, i: Interface, logicalSwitch: string): Promise<void> => {
    const port = portName(p.name, i);
    const want = `${ann(p, i, 'mac_address')} ${ann(p, i, 'ip_address')}`;
    expect({
      port, ls: await nb('lsp-get-ls', port), addresses: await column('Logical_Switch_Port', port, 'addresses'),
      portSecurity: await column('Logical_Switch_Port', port, 'port_security'),
      externalIds: Object.fromEntries((await column('Logical_Switch_Port', port, 'external_ids') as ['map', [string, string][]])[1]),
    }).toEqual({
      port, ls: expect.stringMatching(new RegExp(`\\(${logicalSwitch}\\)$`)), addresses: want, portSecurity: want,
      externalIds: { pod: `default/${p.name}`, ls: logicalSwitch, vendor: 'kube-ovn', [UID_LABEL]: p.uid },
    });
  };

  /** The ADD results of eth0 (0.3.1, default route via the gateway) and net1 (the NAD's 0.3.0, no gateway). */
  const expectedResults = (p: PodRun, eth0: readonly [string, string], net1: string): Record<string, unknown>[] => [
    {
      cniVersion: '0.3.1',
      interfaces: [{ name: 'eth0', mac: ann(p, ETH0, 'mac_address'), sandbox: netnsPath(p.netns) }],
      ips: [{ version: '4', interface: 0, address: eth0[0], gateway: eth0[1] }],
      routes: [{ dst: '0.0.0.0/0', gw: eth0[1] }],
      dns: {},
    },
    {
      cniVersion: '0.3.0',
      interfaces: [{ name: 'net1', mac: ann(p, NET1, 'mac_address'), sandbox: netnsPath(p.netns) }],
      ips: [{ version: '4', interface: 0, address: net1 }],
      routes: [],
      dns: {},
    },
  ];

  const expectLinks = async (p: PodRun, eth0: string, net1: string): Promise<void> => {
    expect(await linkState({ name: 'eth0', netns: p.netns })).toEqual({ name: 'eth0', mac: ann(p, ETH0, 'mac_address'), mtu: 1400, up: true, addresses: [eth0] });
    expect(await linkState({ name: 'net1', netns: p.netns })).toEqual({ name: 'net1', mac: ann(p, NET1, 'mac_address'), mtu: 1400, up: true, addresses: [net1] });
  };

  /** A command's output in a netns, line by line, trailing blanks trimmed. */
  const lines = async (netns: string, argv: readonly string[]): Promise<string[]> =>
    (await inNetnsOk(netns, argv)).split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');

  /** Two pings that must both go unanswered (`ping -c 2 -W 1`: exit 1, "0 received"). */
  const unanswered = async (netns: string, address: string): Promise<string> => {
    const r = await inNetns(netns, ['ping', '-c', '2', '-W', '1', address]);
    return `exit ${String(r.code)}, ${(/\d+ received/.exec(r.stdout) ?? ['?'])[0]}`;
  };

  beforeAll(async () => {
    await runOk(['bash', `${REPO}scripts/build-cni.sh`], { timeoutMs: 110_000 });
    [api, ovs] = await Promise.all([startApiServer(), startOvs()]);
    const log = quietLog();
    controller = controllerFor(loadKubeConfig(api.kubeconfigPath), {}, log, makeOvn({ db: ovs.db.nb!, log }));
    controller.start();
    for (const f of ['00-subnets.yaml', '06-nad-attachnet-ovn.yaml']) await api.kubectlOk(['apply', '-f', '-'], { input: seedFile(f) });
    await controller.ready;
    tmp = makeTempDir('e2e-ovn');
    socket = `${tmp.path}/kube-ovn-daemon.sock`;
    // The seed's pods name no node (spec.nodeName), so this daemon watches every pod.
    running = await startNodeDaemon({ ...daemonConfigFor(api, ovs, ''), nodeName: undefined, socket, ovnInstalledTimeoutMs: 20_000 }, log);
  }, 120_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  it('08: samplepod gets eth0 on ovn-default and net1 on attachnet, and talks to another attachnet pod over net1', async () => {
    const sample = await create('samplepod', seedFile('08-pod-attachnet-random.yaml'));
    const peer = await create('peer', PEER_YAML);
    expect([allocation(sample, ETH0), allocation(sample, NET1), allocation(peer, ETH0), allocation(peer, NET1)]).toEqual([
      ['10.17.0.2', '10.17.0.0/16', '10.17.0.1', 'ovn-default'], ['172.18.0.2', '172.18.0.0/16', '172.18.0.1', 'attachnet'],
      ['10.17.0.3', '10.17.0.0/16', '10.17.0.1', 'ovn-default'], ['172.18.0.3', '172.18.0.0/16', '172.18.0.1', 'attachnet'],
    ]);
    for (const p of [sample, peer]) {
      await expectLogicalPort(p, ETH0, 'ovn-default');
      await expectLogicalPort(p, NET1, 'attachnet');
    }
    expect(await plug(sample)).toEqual(expectedResults(sample, ['10.17.0.2/16', '10.17.0.1'], '172.18.0.2/16'));
    expect(await plug(peer)).toEqual(expectedResults(peer, ['10.17.0.3/16', '10.17.0.1'], '172.18.0.3/16'));
    await expectLinks(sample, '10.17.0.2/16', '172.18.0.2/16');
    await expectLinks(peer, '10.17.0.3/16', '172.18.0.3/16');
    // The daemon plugged each into br-int under its logical port's name, and waited for ovn-controller.
    for (const [i, ip] of [[ETH0, '10.17.0.2'], [NET1, '172.18.0.2']] as const) {
      const port = linkNamesOf(sample.containerId, i.ifName).host;
      const ids = Object.fromEntries((JSON.parse(await ovs.vsctl('--format=json', '--columns=external_ids', 'list', 'Interface', port)) as { data: [[['map', [string, string][]]]] }).data[0][0][1]);
      expect({ port, ...ids, 'ovn-installed-ts': undefined }).toEqual({
        port, 'iface-id': portName('samplepod', i), ip, pod_name: 'samplepod', pod_namespace: 'default', pod_netns: netnsPath(sample.netns), vendor: 'kube-ovn', 'ovn-installed': 'true', 'ovn-installed-ts': undefined,
      });
    }
    expect((await ping(sample.netns, '172.18.0.3')).stdout).toContain('1 received');
    expect((await ping(peer.netns, '172.18.0.2')).stdout).toContain('1 received');
    expect((await ping(peer.netns, '10.17.0.2')).stdout).toContain('1 received');
  }, 120_000);

  it('09: net1 takes its address from my-subnet, the logical switch the annotation names', async () => {
    const spec = await create('spec-subnet', seedFile('09-pod-attachnet-spec-subnet.yaml'));
    expect([allocation(spec, ETH0), allocation(spec, NET1)]).toEqual([
      ['10.17.0.4', '10.17.0.0/16', '10.17.0.1', 'ovn-default'], ['172.17.0.2', '172.17.0.0/16', '172.17.0.1', 'my-subnet'],
    ]);
    await expectLogicalPort(spec, ETH0, 'ovn-default');
    await expectLogicalPort(spec, NET1, 'my-subnet');
    expect(await plug(spec)).toEqual(expectedResults(spec, ['10.17.0.4/16', '10.17.0.1'], '172.17.0.2/16'));
    await expectLinks(spec, '10.17.0.4/16', '172.17.0.2/16');
  }, 120_000);

  it('10: net1 is exactly the static 172.17.0.21 on my-subnet; it and 09\'s net1 ping each other', async () => {
    const spec = pod('spec-subnet');
    const fixed = await create('static-ip', seedFile('10-pod-attachnet-static-ip.yaml'));
    expect([allocation(fixed, ETH0), allocation(fixed, NET1)]).toEqual([
      ['10.17.0.5', '10.17.0.0/16', '10.17.0.1', 'ovn-default'], ['172.17.0.21', '172.17.0.0/16', '172.17.0.1', 'my-subnet'],
    ]);
    await expectLogicalPort(fixed, NET1, 'my-subnet');
    expect(await plug(fixed)).toEqual(expectedResults(fixed, ['10.17.0.5/16', '10.17.0.1'], '172.17.0.21/16'));
    await expectLinks(fixed, '10.17.0.5/16', '172.17.0.21/16');
    expect((await ping(spec.netns, '172.17.0.21')).stdout).toContain('1 received');
    expect((await ping(fixed.netns, '172.17.0.2')).stdout).toContain('1 received');
  }, 120_000);

  it('port security: a pod that takes another address on net1 by hand is cut off (and was not before)', async () => {
    const [sample, peer] = [pod('samplepod'), pod('peer')];
    expect((await ping(peer.netns, '172.18.0.2')).stdout).toContain('1 received');
    await inNetnsOk(peer.netns, ['ip', 'addr', 'flush', 'dev', 'net1']);
    await inNetnsOk(peer.netns, ['ip', 'addr', 'add', '172.18.0.200/16', 'dev', 'net1']);
    // 172.18.0.200 is free: no logical port has it.
    expect((await nb('--bare', '--columns=addresses', 'list', 'Logical_Switch_Port')).split(/\s+/)).not.toContain('172.18.0.200');
    expect(await unanswered(peer.netns, '172.18.0.2')).toBe('exit 1, 0 received');
    expect(await unanswered(sample.netns, '172.18.0.200')).toBe('exit 1, 0 received');
    // Its own address back, and it is let through again.
    await inNetnsOk(peer.netns, ['ip', 'addr', 'flush', 'dev', 'net1']);
    await inNetnsOk(peer.netns, ['ip', 'addr', 'add', '172.18.0.3/16', 'dev', 'net1']);
    expect((await ping(peer.netns, '172.18.0.2')).stdout).toContain('1 received');
  }, 120_000);

  it('deleting 09\'s pod (CNI DEL, then the pod): its logical ports, OVS ports and host veth ends are gone, and nothing else', async () => {
    const spec = pod('spec-subnet');
    const hostEnds = [ETH0, NET1].map((i) => linkNamesOf(spec.containerId, i.ifName).host);
    for (const end of hostEnds) expect(await linkExists(ovs.portEnd(end))).toBe(true);
    const ifaces = (i: Interface): Promise<string> => ovs.vsctl('--bare', '--columns=name', 'find', 'Interface', `external_ids:iface-id=${portName('spec-subnet', i)}`);
    expect([await ifaces(ETH0), await ifaces(NET1)]).toEqual(hostEnds);
    // Multus deletes its delegates in reverse order, then the runtime the default network.
    for (const i of [NET1, ETH0]) {
      const outcome = await invokeCni(await invocation(spec, i, 'DEL'));
      expect({ ifName: i.ifName, code: outcome.code, stdout: outcome.stdout }).toEqual({ ifName: i.ifName, code: 0, stdout: '' });
    }
    await api.kubectlOk(['delete', 'pod', 'spec-subnet', '--wait=true']);
    const gone = ['samplepod', 'peer', 'static-ip'].flatMap((n) => [`${portName(n, ETH0)} on ovn-default`, `${portName(n, NET1)} on ${n === 'static-ip' ? 'my-subnet' : 'attachnet'}`]).sort();
    await waitFor('the logical ports of spec-subnet removed', async () => ((await logicalPorts()).length === gone.length ? true : undefined), { timeoutMs: 20_000 });
    expect(await logicalPorts()).toEqual(gone);
    expect([await ifaces(ETH0), await ifaces(NET1)]).toEqual(['', '']);
    for (const end of hostEnds) expect(await linkExists(ovs.portEnd(end))).toBe(false);
    for (const ifName of ['eth0', 'net1']) expect(await linkExists({ name: ifName, netns: spec.netns })).toBe(false);
    await waitFor('the IP objects of spec-subnet removed', async () =>
      ((await api.kubectl(['get', 'ip', 'spec-subnet.default', `spec-subnet.default.${ATTACHNET}`, '--ignore-not-found', '-o', 'name'])).stdout.trim() === '' ? true : undefined),
    { timeoutMs: 20_000 });
    await deleteNetns(spec.netns);
    pods.delete('spec-subnet');
  }, 120_000);

  it('11: eth0 and net1 both on my-subnet, different addresses, and both answer a ping from another pod on my-subnet', async () => {
    const multi = await create('spec-subnet', seedFile('11-pod-multi-nic-same-subnet.yaml'));
    const fixed = pod('static-ip');
    const [eth0, net1] = [allocation(multi, ETH0), allocation(multi, NET1)];
    expect([eth0, net1]).toEqual([
      ['172.17.0.3', '172.17.0.0/16', '172.17.0.1', 'my-subnet'], ['172.17.0.4', '172.17.0.0/16', '172.17.0.1', 'my-subnet'],
    ]);
    await expectLogicalPort(multi, ETH0, 'my-subnet');
    await expectLogicalPort(multi, NET1, 'my-subnet');
    expect(await plug(multi)).toEqual(expectedResults(multi, ['172.17.0.3/16', '172.17.0.1'], '172.17.0.4/16'));
    await expectLinks(multi, '172.17.0.3/16', '172.17.0.4/16');
    // The main table is what the kernel and the plan make of two interfaces on one subnet; a
    // reply from net1's address would leave through eth0 by it, so each address looks up a
    // table of its own interface (SourceRouting.ts: tables from the interface names).
    expect(await lines(multi.netns, ['ip', 'route', 'show'])).toEqual([
      'default via 172.17.0.1 dev eth0',
      '172.17.0.0/16 dev eth0 proto kernel scope link src 172.17.0.3',
      '172.17.0.0/16 dev net1 proto kernel scope link src 172.17.0.4',
    ]);
    expect(await lines(multi.netns, ['ip', 'rule', 'show'])).toEqual([
      '0:\tfrom all lookup local', `30000:\tfrom 172.17.0.3 lookup ${TABLE.eth0}`, `30000:\tfrom 172.17.0.4 lookup ${TABLE.net1}`,
      '32766:\tfrom all lookup main', '32767:\tfrom all lookup default',
    ]);
    expect(await lines(multi.netns, ['ip', 'route', 'show', 'table', String(TABLE.eth0)])).toEqual([
      'default via 172.17.0.1 dev eth0', '172.17.0.0/16 dev eth0 scope link src 172.17.0.3',
    ]);
    expect(await lines(multi.netns, ['ip', 'route', 'show', 'table', String(TABLE.net1)])).toEqual(['172.17.0.0/16 dev net1 scope link src 172.17.0.4']);
    expect((await ping(fixed.netns, '172.17.0.3')).stdout).toContain('1 received');
    expect((await ping(fixed.netns, '172.17.0.4')).stdout).toContain('1 received');
    // A pod whose interfaces are on different subnets gets no rule.
    for (const name of ['samplepod', 'peer', 'static-ip']) expect(await lines(pod(name).netns, ['ip', 'rule', 'show'])).toEqual(DEFAULT_RULES);
  }, 120_000);

  it('11: a repeated ADD changes nothing, and DEL removes each interface\'s source rule', async () => {
    const multi = pod('spec-subnet');
    const rules = await lines(multi.netns, ['ip', 'rule', 'show']);
    expect(await plug(multi)).toEqual(expectedResults(multi, ['172.17.0.3/16', '172.17.0.1'], '172.17.0.4/16'));
    expect(await lines(multi.netns, ['ip', 'rule', 'show'])).toEqual(rules);
    expect((await ping(pod('static-ip').netns, '172.17.0.4')).stdout).toContain('1 received');
    expect((await invokeCni(await invocation(multi, NET1, 'DEL'))).code).toBe(0);
    expect(await lines(multi.netns, ['ip', 'rule', 'show'])).toEqual([...DEFAULT_RULES.slice(0, 1), `30000:\tfrom 172.17.0.3 lookup ${TABLE.eth0}`, ...DEFAULT_RULES.slice(1)]);
    expect((await invokeCni(await invocation(multi, ETH0, 'DEL'))).code).toBe(0);
    expect(await lines(multi.netns, ['ip', 'rule', 'show'])).toEqual(DEFAULT_RULES);
    for (const ifName of ['eth0', 'net1']) expect(await linkExists({ name: ifName, netns: multi.netns })).toBe(false);
  }, 120_000);
});
