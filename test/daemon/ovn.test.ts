// The daemon plugging pods into OVN networks, with real components (root): kube-apiserver +
// etcd, the controller in-process allocating, Open vSwitch and OVN in userspace (the harness's
// ovs-vswitchd runs in its own network namespace, so the daemon's host ends go there:
// `hostNetns`), network namespaces as pods, and the daemon in-process on a temp socket.
//
// The controller writes the logical switches and ports (makeOvn on the harness's NB) before the
// pods' annotations, so the daemon's wait for ovn-installed is exercised and two pods it plugged
// can ping each other (over IPv4 and IPv6: the default network is dual-stack); pod-d's port is
// then deleted by hand (no sweep runs here), so its ADD meets the ovn-installed deadline.
// Example 07's NAD (applied with kubectl as written) gives net1 its routes; its Subnet is
// 19.10.0.0/24 as in the seed's output, whose `ip route` the pod's table must match.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { makeOvn } from '../../src/adapters/ovn.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { CniRequest } from '../../src/domain/cni/Protocol.js';
import { sourceTableOf } from '../../src/domain/cni/SourceRouting.js';
import type { Controller } from '../../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { waitFor } from '../harness/exec.js';
import { controllerFor, daemonConfigFor, ipRuns, memoryLog, postJson, quietLog, stopNodeCluster } from '../harness/inProcess.js';
import { createNetns, inNetnsOk, linkExists, linkState, netnsPath, ping } from '../harness/netns.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const NODE = 'node-a';
const NAD_07 = new URL('../../examples/ovn-attachments/07-nad-attachnet-ovn-routes.yaml', import.meta.url);
const ATTACHNET = 'attachnet.default.ovn';

/** What `ip route` prints in the pod, per the seed (multi-nic.md, example 07). */
const SEED_ROUTES = [
  'default via 10.16.0.1 dev eth0',
  '10.16.0.0/16 dev eth0 scope link  src 10.16.0.2',
  '19.10.0.0/24 dev net1 scope link  src 19.10.0.2',
  '19.10.0.0/16 dev net1',
  '19.20.0.0/16 via 19.10.0.1 dev net1',
];
/** Today's iproute2 also prints `proto kernel` and `scope link` where the seed's busybox did not. */
const normalise = (line: string): string => line.replace(/ proto kernel/g, '').replace(/ scope link/g, '').replace(/\s+/g, ' ').trim();

const SUBNETS = `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ovn-default}
spec: {provider: ovn, cidrBlock: '10.16.0.0/16,fd00:10:16::/64', gateway: '10.16.0.1,fd00:10:16::1'}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: attachnet}
spec: {provider: ${ATTACHNET}, cidrBlock: 19.10.0.0/24, gateway: 19.10.0.1, mtu: 1300}
`;

const podYaml = (name: string, networks?: string): string => `
apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: default
${networks === undefined ? '' : `  annotations:\n    k8s.v1.cni.cncf.io/networks: ${networks}\n`}spec:
  nodeName: ${NODE}
  containers: [{name: c, image: alpine}]
`;

describeAsRoot('daemon-ovn')('daemon: OVN networks plugged into real OVS/OVN', () => {
  let api: ApiServer;
  let controller: Controller;
  let ovs: OvsEnv;
  let running: RunningDaemon;
  let tmp: TempDir;
  let socket: string;
  const log = memoryLog({ debug: true });
  const netns = new Map<string, string>();
  const annotations = new Map<string, Record<string, string>>();
  const nadRoutes = (JSON.parse((/config: '([\s\S]*)'/.exec(readFileSync(NAD_07, 'utf8')) ?? [])[1] ?? '{}') as { routes: { dst: string; gw?: string }[] }).routes;

  const cid = (pod: string, n = 1): string => `${pod.replace(/[^a-z]/g, '')}${String(n).padStart(2, '0')}`.padEnd(64, '0');
  const add = (pod: string, ifName: string, provider: string, over: Partial<CniRequest> = {}): Promise<{ readonly status: number; readonly body: unknown }> =>
    postJson(socket, '/api/v1/add', {
      cni_type: 'kube-ovn', pod_name: pod, pod_namespace: 'default', container_id: cid(pod), net_ns: netnsPath(netns.get(pod) ?? ''),
      if_name: ifName, provider, ...(provider === ATTACHNET ? { routes: nadRoutes } : {}), ...over,
    });
  const del = (pod: string, ifName: string, provider: string): Promise<{ readonly status: number; readonly body: unknown }> =>
    postJson(socket, '/api/v1/del', { cni_type: 'kube-ovn', pod_name: pod, pod_namespace: 'default', container_id: cid(pod), net_ns: netnsPath(netns.get(pod) ?? ''), if_name: ifName, provider });
  const ann = (pod: string, key: string): string => annotations.get(pod)?.[key] ?? '';
  const externalIds = async (port: string): Promise<Record<string, string>> => {
    const out = JSON.parse(await ovs.vsctl('--format=json', '--columns=external_ids', 'list', 'Interface', port)) as { data: [[['map', [string, string][]]]] };
    return Object.fromEntries(out.data[0][0][1]);
  };
  const portExists = async (port: string): Promise<boolean> => (await ovs.vsctl('--bare', '--columns=name', 'find', 'Port', `name=${port}`)) !== '';

  beforeAll(async () => {
    [api, ovs] = await Promise.all([startApiServer(), startOvs()]);
    const kc = loadKubeConfig(api.kubeconfigPath);
    controller = controllerFor(kc, {}, quietLog(), makeOvn({ db: ovs.db.nb!, log: quietLog() }));
    controller.start();
    await api.kubectlOk(['apply', '-f', '-'], { input: SUBNETS });
    await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(NAD_07, 'utf8') });
    await controller.ready;
    for (const [pod, networks] of [['pod-a', 'default/attachnet'], ['pod-b', undefined], ['pod-c', undefined], ['pod-d', undefined]] as const) {
      await api.kubectlOk(['apply', '-f', '-'], { input: podYaml(pod, networks) });
      const want = networks === undefined ? ['ovn'] : ['ovn', ATTACHNET];
      annotations.set(pod, await waitFor(`${pod} allocated`, async () => {
        const a = (JSON.parse(await api.kubectlOk(['get', 'pod', pod, '-o', 'json'])) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {};
        return want.every((p) => a[`${p}.kubernetes.io/allocated`] === 'true') ? a : undefined;
      }, { timeoutMs: 15_000 }));
      netns.set(pod, await createNetns());
    }
    // pod-d has no logical switch port: ovn-controller never binds it.
    await ovs.nbctl('lsp-del', 'pod-d.default');
    tmp = makeTempDir('daemon-ovn');
    socket = `${tmp.path}/kube-ovn-daemon.sock`;
    running = await startNodeDaemon({ ...daemonConfigFor(api, ovs, NODE), socket, ovnInstalledTimeoutMs: 20_000, defaultDeadlineMs: 10_000 }, log);
  }, 120_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  it('plugs eth0 of the default network: MAC, MTU, address, default route, bound by ovn-controller', async () => {
    const mac = ann('pod-a', 'ovn.kubernetes.io/mac_address');
    const started = Date.now();
    const before = log.lines.length;
    const answer = await add('pod-a', 'eth0', 'ovn');
    // A fresh ADD runs three `ip`: the host end read (absent), a batch on each side. It reads
    // neither the pod's link nor its source rules (issue #15: each process costs the daemon).
    const host = `${cid('pod-a').slice(0, 12)}_h`;
    expect(ipRuns(log.lines, before)).toEqual([`-j -d addr show dev ${host}`, '-batch -', '-batch -']);
    process.stderr.write(`OVN ADD eth0 (with the wait for ovn-installed) took ${Date.now() - started} ms\n`);
    expect(answer).toEqual({
      status: 200,
      body: {
        protocol: 'Dual',
        ips: [
          { protocol: 'IPv4', ip: '10.16.0.2', cidr: '10.16.0.0/16', gateway: '10.16.0.1' },
          { protocol: 'IPv6', ip: 'fd00:10:16::2', cidr: 'fd00:10:16::/64', gateway: 'fd00:10:16::1' },
        ],
        mac_address: mac, mtu: 1400, nicname: 'eth0', routes: [{ dst: '0.0.0.0/0', gw: '10.16.0.1' }, { dst: '::/0', gw: 'fd00:10:16::1' }],
      },
    });
    expect(await linkState({ name: 'eth0', netns: netns.get('pod-a') })).toEqual({ name: 'eth0', mac, mtu: 1400, up: true, addresses: ['10.16.0.2/16', 'fd00:10:16::2/64'] });
    expect(await inNetnsOk(netns.get('pod-a') ?? '', ['ip', '-6', 'route', 'show', 'default'])).toMatch(/^default via fd00:10:16::1 dev eth0 metric 1024/);
    expect((await ovs.vsctl('get', 'Interface', cid('pod-a').slice(0, 12) + '_h', 'external_ids:ovn-installed')).replace(/"/g, '')).toBe('true');
  }, 40_000);

  it('plugs net1 of example 07: address, MAC, Subnet MTU, the seed\'s routes, exact external_ids', async () => {
    const mac = ann('pod-a', `${ATTACHNET}.kubernetes.io/mac_address`);
    const answer = await add('pod-a', 'net1', ATTACHNET);
    expect(answer).toEqual({
      status: 200,
      body: {
        protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '19.10.0.2', cidr: '19.10.0.0/24' }],
        mac_address: mac, mtu: 1300, nicname: 'net1', routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }],
      },
    });
    const ns = netns.get('pod-a') ?? '';
    expect(await linkState({ name: 'net1', netns: ns })).toEqual({ name: 'net1', mac, mtu: 1300, up: true, addresses: ['19.10.0.2/24'] });
    const table = (await inNetnsOk(ns, ['ip', 'route'])).split('\n').filter((l) => l.trim() !== '').map(normalise);
    expect(table).toEqual(SEED_ROUTES.map(normalise));
    const port = `${cid('pod-a').slice(0, 8)}_net1_h`;
    const { 'ovn-installed': installed, 'ovn-installed-ts': _ts, ...ours } = await externalIds(port);
    expect(await externalIds(`${cid('pod-a').slice(0, 12)}_h`)).toMatchObject({ 'iface-id': 'pod-a.default', ip: '10.16.0.2,fd00:10:16::2' });
    expect(installed).toBe('true');
    expect(ours).toEqual({ 'iface-id': `pod-a.default.${ATTACHNET}`, ip: '19.10.0.2', pod_name: 'pod-a', pod_namespace: 'default', pod_netns: netnsPath(ns), vendor: 'kube-ovn' });
    expect(await ovs.vsctl('port-to-br', port)).toBe('br-int');
  }, 40_000);

  it('makes pods it plugged reach each other through the logical switch', async () => {
    expect((await add('pod-b', 'eth0', 'ovn')).status).toBe(200);
    expect((await ping(netns.get('pod-a') ?? '', '10.16.0.3')).stdout).toContain('1 received');
    expect((await ping(netns.get('pod-b') ?? '', '10.16.0.2')).stdout).toContain('1 received');
    expect((await ping(netns.get('pod-b') ?? '', 'fd00:10:16::2')).stdout).toContain('1 received');
  }, 40_000);

  it('records the node on the IP objects', async () => {
    for (const name of ['pod-a.default', `pod-a.default.${ATTACHNET}`]) {
      await waitFor(`${name} on ${NODE}`, async () =>
        (await api.kubectlOk(['get', 'ip', name, '-o', 'jsonpath={.spec.nodeName}/{.metadata.labels.ovn\\.kubernetes\\.io/node-name}'])).trim() === `${NODE}/${NODE}` ? true : undefined,
      { timeoutMs: 5_000 });
    }
  });

  it('leaves a finished plug in place on a repeated ADD, and plugs afresh what is broken', async () => {
    const eth0 = { name: 'eth0', netns: netns.get('pod-b') };
    const ifindex = async (): Promise<number> => (JSON.parse(await inNetnsOk(netns.get('pod-b') ?? '', ['ip', '-j', 'link', 'show', 'dev', 'eth0'])) as { ifindex: number }[])[0]?.ifindex ?? -1;
    const before = await ifindex();
    const logged = log.lines.length;
    expect((await add('pod-b', 'eth0', 'ovn')).status).toBe(200);
    expect(await ifindex()).toBe(before);
    // With its host end there, the ADD reads the pod's link and both families' source rules,
    // then replaces only its routes (one batch).
    expect(ipRuns(log.lines, logged).sort()).toEqual([
      `-j -d addr show dev ${cid('pod-b').slice(0, 12)}_h`, '-j -d addr show dev eth0', ...[4, 6].map((f) => `-${f} -j rule show table ${sourceTableOf('eth0')}`), '-batch -',
    ].sort());
    // Someone deletes the host end (its peer, the pod's eth0, goes too); the port stays.
    const hostEnd = `${cid('pod-b').slice(0, 12)}_h`;
    await inNetnsOk(ovs.netns ?? '', ['ip', 'link', 'del', 'dev', hostEnd]);
    expect(await linkExists(eth0)).toBe(false);
    expect((await add('pod-b', 'eth0', 'ovn')).status).toBe(200);
    expect(await linkState(eth0)).toMatchObject({ up: true, mtu: 1400, addresses: ['10.16.0.3/16', 'fd00:10:16::3/64'] });
    expect((await ping(netns.get('pod-a') ?? '', '10.16.0.3')).stdout).toContain('1 received');
  }, 40_000);

  it('DEL removes the OVS port and the veth pair, and succeeds again when nothing is left', async () => {
    const port = `${cid('pod-a').slice(0, 8)}_net1_h`;
    expect(await del('pod-a', 'net1', ATTACHNET)).toEqual({ status: 204, body: undefined });
    expect(await portExists(port)).toBe(false);
    expect(await linkExists(ovs.portEnd(port))).toBe(false);
    expect(await linkExists({ name: 'net1', netns: netns.get('pod-a') })).toBe(false);
    expect(await linkExists({ name: 'eth0', netns: netns.get('pod-a') })).toBe(true);
    expect(await del('pod-a', 'net1', ATTACHNET)).toEqual({ status: 204, body: undefined });
  }, 20_000);

  it('undoes a failed ADD: no veth and no OVS port are left behind', async () => {
    const answer = await add('pod-c', 'eth0', 'ovn', { net_ns: '/var/run/netns/does-not-exist' });
    const port = `${cid('pod-c').slice(0, 12)}_h`;
    expect(answer).toMatchObject({ status: 500, body: { code: 11 } });
    const error = (answer.body as { error: string }).error;
    expect(error).toContain(`could not plug default/pod-c eth0: SetLink ${cid('pod-c').slice(0, 12)}_c (move the container end into /var/run/netns/does-not-exist as eth0`);
    expect(error).toContain('Invalid "netns" value');
    expect(await portExists(port)).toBe(false);
    expect(await linkExists(ovs.portEnd(port))).toBe(false);
    expect(await linkExists(ovs.portEnd(`${cid('pod-c').slice(0, 12)}_c`))).toBe(false);
    expect(log.lines.some((l) => l.startsWith('error ADD failed; removing what it made'))).toBe(true);
  }, 20_000);

  it('gives up when ovn-controller does not bind the port in time, and undoes the ADD', async () => {
    const impatient = await startNodeDaemon({
      ...daemonConfigFor(api, ovs, NODE), socket: `${tmp.path}/impatient.sock`, ovnInstalledTimeoutMs: 1_000, defaultDeadlineMs: 10_000,
    }, memoryLog());
    try {
      const started = Date.now();
      const answer = await postJson(`${tmp.path}/impatient.sock`, '/api/v1/add', {
        cni_type: 'kube-ovn', pod_name: 'pod-d', pod_namespace: 'default', container_id: cid('pod-d'), net_ns: netnsPath(netns.get('pod-d') ?? ''), if_name: 'eth0', provider: 'ovn',
      });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(answer).toMatchObject({ status: 500, body: { code: 11 } });
      expect((answer.body as { error: string }).error).toContain(`ovn-controller did not set external_ids:ovn-installed=true on ${cid('pod-d').slice(0, 12)}_h within 1s ` +
        '(is there a logical switch port for its iface-id, and is ovn-controller running?)');
      expect(await portExists(`${cid('pod-d').slice(0, 12)}_h`)).toBe(false);
      expect(await linkExists(ovs.portEnd(`${cid('pod-d').slice(0, 12)}_h`))).toBe(false);
      expect(await linkExists({ name: 'eth0', netns: netns.get('pod-d') })).toBe(false);
    } finally {
      await impatient.stop();
    }
  }, 30_000);

  it('DEL of every pod leaves br-int with no port of ours', async () => {
    for (const pod of ['pod-a', 'pod-b', 'pod-c']) expect((await del(pod, 'eth0', 'ovn')).status).toBe(204);
    expect(await ovs.vsctl('list-ports', 'br-int')).toBe('');
  }, 20_000);
});
