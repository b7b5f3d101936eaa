// The built `kube-ovn` executable (scripts/build-cni.sh) run as a runtime runs it: CNI_* in an
// otherwise empty environment (no PATH, so no Node.js to lean on), the configuration on stdin.
// Without a daemon: what the plugin answers by itself (VERSION, bad environment or config, no
// socket). With the real daemon: kube-apiserver, the Controller in-process allocating, and the
// daemon in-process on a temp socket (no root needed for IPAM-only networks: the daemon touches
// nothing on the host for them); as root also OVS/OVN in userspace and a network namespace, for
// the plugin as the main plugin of an OVN attachment.
import { controllerFor, stopNodeCluster } from '../harness/inProcess.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { run, runOk, waitFor, type RunResult } from '../harness/exec.js';
import { createNetns, linkExists, linkState, netnsPath } from '../harness/netns.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot, isRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PLUGIN = join(ROOT, 'dist/cni/kube-ovn');
const SUPPORTED = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const NETNS = '/var/run/netns/cni-test';
const POD_ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=samplepod;K8S_POD_UID=uid-1;K8S_POD_INFRA_CONTAINER_ID=c0ffee';
const NODE = 'node-a';
const EXAMPLES = join(ROOT, 'examples');

let dir: TempDir;
let socket: string;

interface Invocation {
  readonly env: Readonly<Record<string, string>>;
  readonly stdin?: string | object;
}

const invoke = async ({ env, stdin }: Invocation): Promise<RunResult & { readonly out: unknown }> => {
  const input = stdin === undefined ? '' : typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  const result = await run([PLUGIN], { env, input, cleanEnv: true, timeoutMs: 20_000 });
  let out: unknown;
  try {
    out = result.stdout.trim() === '' ? undefined : JSON.parse(result.stdout);
  } catch {
    out = `not JSON: ${result.stdout}`;
  }
  return { ...result, out };
};

const addEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: NETNS, CNI_IFNAME: 'net1', CNI_PATH: '/opt/cni/bin', CNI_ARGS: POD_ARGS, ...extra,
});

/** Seed example 01 (macvlan with our IPAM) pointed at the test's socket. */
const macvlan = (extra: object = {}): object => ({
  cniVersion: '0.3.0', name: 'macvlan', type: 'macvlan', master: 'eth0', mode: 'bridge',
  ipam: { type: 'kube-ovn', server_socket: socket, provider: 'macvlan.default' }, ...extra,
});

const ovn = (cniVersion: string, extra: object = {}): object => ({
  cniVersion, name: 'attachnet', type: 'kube-ovn', server_socket: socket, provider: 'attachnet.default.ovn', routes: [{ dst: '19.20.0.0/16', gw: '19.10.0.254' }], ...extra,
});

const quiet = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

beforeAll(async () => {
  await runOk(['bash', join(ROOT, 'scripts/build-cni.sh')], { timeoutMs: 180_000 });
  dir = makeTempDir('cni');
  socket = join(dir.path, 'daemon.sock');
}, 200_000);

afterAll(() => dir.remove());

describe('without a daemon', () => {
  it('answers VERSION in an empty environment (no PATH, no Node.js), in our latest version', async () => {
    const r = await invoke({ env: { CNI_COMMAND: 'VERSION' } });
    expect([r.code, r.out, r.stderr]).toEqual([0, { cniVersion: '1.1.0', supportedVersions: SUPPORTED }, '']);
  });

  it.each(SUPPORTED)('answers VERSION asked in %s in that version', async (v) => {
    const r = await invoke({ env: { CNI_COMMAND: 'VERSION' }, stdin: { cniVersion: v } });
    expect([r.code, r.out]).toEqual([0, { cniVersion: v, supportedVersions: SUPPORTED }]);
  });

  it.each<[string, () => Invocation, object]>([
    ['no CNI_COMMAND', () => ({ env: {}, stdin: macvlan() }),
      { cniVersion: '1.1.0', code: 4, msg: 'CNI_COMMAND is not set (expected ADD, DEL, CHECK, VERSION, STATUS or GC)' }],
    ['ADD with malformed JSON (a decoding failure: SPEC code 6)', () => ({ env: addEnv(), stdin: '{"cniVersion": "1.0.0", "type": "kube-ovn"' }),
      { cniVersion: '1.1.0', code: 6, msg: 'the network configuration on stdin is not JSON: Expected \',\' or \'}\' after property value in JSON at position 42' }],
    // Issue 14 item 7: code 6 (decoding), not 999 from a stack overflow.
    ['ADD with JSON nested 100,000 deep', () => ({ env: addEnv(), stdin: `${'['.repeat(100_000)}${']'.repeat(100_000)}` }),
      { cniVersion: '1.1.0', code: 6, msg: 'the network configuration on stdin nests 100000 levels deep (at most 64)' }],
    ['ADD with a config of someone else', () => ({ env: addEnv(), stdin: { cniVersion: '1.0.0', type: 'bridge', ipam: { type: 'host-local' } } }),
      { cniVersion: '1.0.0', code: 7, msg: 'neither type ("bridge") nor ipam.type ("host-local") is "kube-ovn"' }],
    ['ADD without K8S_POD_NAME', () => ({ env: addEnv({ CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default' }), stdin: macvlan({ cniVersion: '0.3.1' }) }),
      { cniVersion: '0.3.1', code: 4, msg: 'CNI_ARGS has no K8S_POD_NAME (the runtime passes the pod as K8S_POD_NAMESPACE=…;K8S_POD_NAME=…)' }],
    ['ADD without CNI_NETNS', () => ({ env: addEnv({ CNI_NETNS: '' }), stdin: macvlan({ cniVersion: '0.3.1' }) }),
      { cniVersion: '0.3.1', code: 4, msg: 'ADD needs the environment variable CNI_NETNS, which is not set' }],
    ['CHECK under 0.3.1', () => ({ env: addEnv({ CNI_COMMAND: 'CHECK' }), stdin: macvlan({ cniVersion: '0.3.1' }) }),
      { cniVersion: '0.3.1', code: 1, msg: 'CHECK needs cniVersion 0.4.0 or later, and the configuration says 0.3.1' }],
    ['CHECK without prevResult', () => ({ env: addEnv({ CNI_COMMAND: 'CHECK' }), stdin: macvlan({ cniVersion: '1.0.0' }) }),
      { cniVersion: '1.0.0', code: 7, msg: 'prevResult is missing (CHECK needs the result of the ADD)' }],
    ['GC under 1.0.0', () => ({ env: { CNI_COMMAND: 'GC' }, stdin: ovn('1.0.0') }),
      { cniVersion: '1.0.0', code: 1, msg: 'GC needs cniVersion 1.1.0 or later, and the configuration says 1.0.0' }],
  ])('rejects %s', async (_name, inv, out) => {
    const r = await invoke(inv());
    expect([r.code, r.out]).toEqual([1, out]);
  });

  it('tells a person at a terminal what it is when CNI_COMMAND is not set', async () => {
    const r = await invoke({ env: {} });
    expect(r.stderr).toBe('kube-ovn CNI plugin (kube-ovn-ipam); CNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0\n');
  });

  it.each<[string, Record<string, string>]>([
    ['ADD', addEnv()],
    ['DEL (we cannot know what is left: the runtime must retry)', addEnv({ CNI_COMMAND: 'DEL' })],
  ])('%s with no socket: code 11 naming the socket', async (_name, env) => {
    const r = await invoke({ env, stdin: macvlan() });
    expect([r.code, r.out]).toEqual([1, { cniVersion: '0.3.0', code: 11,
      msg: `cannot reach the kube-ovn-ipam daemon at ${socket}: connect ENOENT (is the daemon running on this node?)` }]);
  });

  it('ADD to a socket path where nobody listens: code 11, connection refused', async () => {
    const stale = join(dir.path, 'stale.sock');
    writeFileSync(stale, '');
    const r = await invoke({ env: addEnv(), stdin: macvlan({ ipam: { type: 'kube-ovn', server_socket: stale } }) });
    expect([r.code, r.out]).toEqual([1, { cniVersion: '0.3.0', code: 11,
      msg: `cannot reach the kube-ovn-ipam daemon at ${stale}: connect ECONNREFUSED (is the daemon running on this node?)` }]);
  });

  it('STATUS with no daemon: code 50', async () => {
    const r = await invoke({ env: { CNI_COMMAND: 'STATUS' }, stdin: ovn('1.1.0') });
    expect([r.code, r.out]).toEqual([1, { cniVersion: '1.1.0', code: 50,
      msg: `cannot reach the kube-ovn-ipam daemon at ${socket}: connect ENOENT (is the daemon running on this node?)` }]);
  });

  it('GC under 1.1.0 succeeds and prints nothing', async () => {
    const r = await invoke({ env: { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, stdin: ovn('1.1.0', { 'cni.dev/valid-attachments': [{ containerID: 'c0ffee', ifname: 'net1' }] }) });
    expect([r.code, r.stdout]).toEqual([0, '']);
  });
});

describe('with the real daemon', () => {
  let api: ApiServer;
  let controller: Controller;
  let ovs: OvsEnv | undefined;
  let running: RunningDaemon;
  const uids = new Map<string, string>();
  const annotations = new Map<string, Record<string, string>>();

  /** CNI_ARGS of the real pod `name`, as a runtime passes them. */
  const podArgs = (name: string, extra = ''): string =>
    `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${name};K8S_POD_UID=${uids.get(name) ?? 'unknown'};K8S_POD_INFRA_CONTAINER_ID=c0ffee${extra}`;
  const podYaml = (name: string, extra: Readonly<Record<string, string>>): string =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: default\n  annotations:\n` +
    Object.entries(extra).map(([k, v]) => `    ${k}: '${v}'\n`).join('') + `spec:\n  nodeName: ${NODE}\n  containers: [{name: c, image: alpine}]\n`;

  beforeAll(async () => {
    [api, ovs] = await Promise.all([startApiServer(), isRoot() ? startOvs() : Promise.resolve(undefined)]);
    const kc = loadKubeConfig(api.kubeconfigPath);
    controller = controllerFor(kc);
    controller.start();
    for (const f of ['macvlan-ipam/00-subnet-ovn-default.yaml', 'macvlan-ipam/01-nad-macvlan.yaml', 'macvlan-ipam/02-subnet-macvlan.yaml', 'ovn-attachments/07-nad-attachnet-ovn-routes.yaml']) {
      await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(join(EXAMPLES, f), 'utf8') });
    }
    await api.kubectlOk(['apply', '-f', '-'], {
      input: 'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: attachnet}\nspec: {provider: attachnet.default.ovn, cidrBlock: 19.10.0.0/24, mtu: 1300}\n',
    });
    await controller.ready;
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('samplepod', { 'k8s.v1.cni.cncf.io/networks': 'macvlan,default/attachnet' }) });
    // Its static address is outside the subnet: the controller never allocates it (an Event says why).
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('stuck', { 'k8s.v1.cni.cncf.io/networks': 'macvlan', 'macvlan.default.kubernetes.io/ip_address': '10.99.0.1' }) });
    for (const name of ['samplepod', 'stuck']) {
      const pod = await waitFor(`${name} seen by the controller`, async () => {
        const p = JSON.parse(await api.kubectlOk(['get', 'pod', name, '-o', 'json'])) as { metadata: { uid: string; annotations?: Record<string, string> } };
        const a = p.metadata.annotations ?? {};
        return name === 'stuck' || a['attachnet.default.ovn.kubernetes.io/allocated'] === 'true' && a['macvlan.default.kubernetes.io/allocated'] === 'true' ? p : undefined;
      }, { timeoutMs: 20_000 });
      uids.set(name, pod.metadata.uid);
      annotations.set(name, pod.metadata.annotations ?? {});
    }
    running = await startNodeDaemon({
      kubeconfig: api.kubeconfigPath, nodeName: NODE, socket, mtu: 1400, ovsDb: ovs?.db.ovs, bridge: ovs?.bridge ?? 'br-int',
      hostNetns: ovs?.netns === undefined ? undefined : netnsPath(ovs.netns), ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 20_000,
    }, quiet());
  }, 120_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs }), 60_000);

  it('ADD as macvlan\'s IPAM (seed example 01): the abbreviated 0.3.0 result of the controller\'s allocation; the daemon places the IP object on its node', async () => {
    const r = await invoke({ env: addEnv({ CNI_ARGS: podArgs('samplepod', ';MAC=0a:00:00:00:00:01') }), stdin: macvlan() });
    expect([r.code, r.out, r.stderr]).toEqual([0, { cniVersion: '0.3.0', ips: [{ version: '4', address: '172.17.0.11/16' }], routes: [], dns: {} }, '']);
    expect(annotations.get('samplepod')?.['macvlan.default.kubernetes.io/ip_address']).toBe('172.17.0.11');
    await waitFor('the IP object on node-a', async () =>
      (await api.kubectlOk(['get', 'ip', 'samplepod.default.macvlan.default', '-o', 'jsonpath={.spec.nodeName}'])).trim() === NODE ? true : undefined, { timeoutMs: 5_000 });
  });

  it('ADD for a provider no Subnet serves: the daemon refuses at once (400), code 7', async () => {
    const r = await invoke({ env: addEnv({ CNI_ARGS: podArgs('samplepod') }), stdin: macvlan({ cniVersion: '1.0.0', ipam: { type: 'kube-ovn', server_socket: socket, provider: 'nosuch.default' } }) });
    expect([r.code, r.out]).toEqual([1, {
      cniVersion: '1.0.0', code: 7, msg: 'provider nosuch.default is not bound to any subnet (no Subnet has spec.provider nosuch.default)', details: `HTTP 400 from /api/v1/add on ${socket}`,
    }]);
  });

  it('ADD with a pod UID that is not the pod\'s (a pod recreated under the same name): code 11, saying which UIDs differ', async () => {
    const other = '00000000-0000-0000-0000-000000000000';
    const r = await invoke({ env: addEnv({ CNI_ARGS: podArgs('samplepod').replace(/K8S_POD_UID=[^;]*/, `K8S_POD_UID=${other}`), KUBE_OVN_CNI_TIMEOUT_MS: '2000' }), stdin: macvlan() });
    expect([r.code, r.out]).toEqual([1, {
      cniVersion: '0.3.0', code: 11, details: `HTTP 500 from /api/v1/add on ${socket}`,
      msg: expect.stringMatching(new RegExp('^no address allocated to pod default/samplepod for provider macvlan\\.default within (0\\.[5-9]|1)s; see the controller\'s Events on the pod ' +
        `\\(the pod of that name has UID ${uids.get('samplepod') ?? ''}, the runtime asked for ${other}\\)$`)),
    }]);
  });

  it('ADD gives up before its deadline when the pod is never allocated: code 11 from the daemon, within KUBE_OVN_CNI_TIMEOUT_MS', async () => {
    const started = Date.now();
    const r = await invoke({ env: addEnv({ CNI_ARGS: podArgs('stuck'), KUBE_OVN_CNI_TIMEOUT_MS: '2000' }), stdin: macvlan() });
    const took = Date.now() - started;
    expect([r.code, r.out]).toEqual([1, {
      cniVersion: '0.3.0', code: 11, details: `HTTP 500 from /api/v1/add on ${socket}`,
      // The daemon is told to answer two margins (2 x 500 ms for a 2 s budget) before the deadline.
      msg: expect.stringMatching(/^no address allocated to pod default\/stuck for provider macvlan\.default within (0\.[5-9]|1)s; see the controller's Events on the pod$/),
    }]);
    expect(took).toBeLessThan(2_000);
  });

  it('DEL of an IPAM-only network succeeds silently, without a netns, and again', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await invoke({ env: addEnv({ CNI_COMMAND: 'DEL', CNI_NETNS: '', CNI_ARGS: podArgs('samplepod') }), stdin: macvlan() });
      expect([i, r.code, r.stdout, r.stderr]).toEqual([i, 0, '', '']);
    }
  });

  it.each<[string, object, number, unknown]>([
    ['prevResult as ADD printed it', { ips: [{ version: '4', address: '172.17.0.11/16', interface: 0 }], interfaces: [{ name: 'net1', sandbox: NETNS }] }, 0, undefined],
    ['prevResult with another address', { ips: [{ version: '4', address: '172.17.0.12/16', interface: 0 }] }, 1,
      { cniVersion: '0.4.0', code: 100, msg: "net1 should have 172.17.0.11/16 (the daemon's allocation), but prevResult has 172.17.0.12/16" }],
  ])('CHECK as IPAM with %s', async (_name, prevResult, code, out) => {
    const r = await invoke({ env: addEnv({ CNI_COMMAND: 'CHECK', CNI_ARGS: podArgs('samplepod') }), stdin: macvlan({ cniVersion: '0.4.0', prevResult }) });
    expect([r.code, r.out]).toEqual([code, out]);
  });

  it('STATUS succeeds when the daemon answers on its socket', async () => {
    const r = await invoke({ env: { CNI_COMMAND: 'STATUS' }, stdin: ovn('1.1.0') });
    expect([r.code, r.stdout, r.stderr]).toEqual([0, '', '']);
  });

  describeAsRoot('plugin-process-ovn')('as the main plugin on an OVN attachment (example 07\'s provider)', () => {
    let podNetns = '';

    beforeAll(async () => {
      podNetns = await createNetns();
    });

    it.each<[string, object]>([
      ['0.4.0', { version: '4' }],
      ['1.1.0', {}],
    ])('ADD in %s prints the interface and its addresses; DEL removes it, twice', async (version, ipExtra) => {
      const env = addEnv({ CNI_NETNS: netnsPath(podNetns), CNI_IFNAME: 'net2', CNI_ARGS: podArgs('samplepod') });
      const r = await invoke({ env, stdin: ovn(version) });
      const mac = annotations.get('samplepod')?.['attachnet.default.ovn.kubernetes.io/mac_address'];
      expect([r.code, r.out, r.stderr]).toEqual([0, {
        cniVersion: version,
        interfaces: [{ name: 'net2', mac, ...(version === '1.1.0' && { mtu: 1300 }), sandbox: netnsPath(podNetns) }],
        ips: [{ ...ipExtra, address: '19.10.0.2/24', interface: 0 }],
        routes: [{ dst: '19.20.0.0/16', gw: '19.10.0.254' }],
        dns: {},
      }, '']);
      expect(await linkState({ name: 'net2', netns: podNetns })).toEqual({ name: 'net2', mac, mtu: 1300, up: true, addresses: ['19.10.0.2/24'] });
      for (let i = 0; i < 2; i++) {
        const d = await invoke({ env: { ...env, CNI_COMMAND: 'DEL' }, stdin: ovn(version, { prevResult: r.out }) });
        expect([i, d.code, d.stdout]).toEqual([i, 0, '']);
      }
      expect(await linkExists({ name: 'net2', netns: podNetns })).toBe(false);
      expect(await ovs?.vsctl('list-ports', ovs.bridge)).toBe('');
    }, 30_000);
  });
});
