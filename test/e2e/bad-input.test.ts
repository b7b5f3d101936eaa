// Bad input through the real plugin executable and the real daemon (root): kube-apiserver, the
// Controller in-process, the daemon in-process on a temp socket (and once as its own process,
// killed), OVS/OVN in userspace, network namespaces as pods. Each row is one invocation as a
// runtime makes it, either of `kube-ovn` itself or of Debian's macvlan delegating IPAM to it,
// and gives the CNI error the runtime must see: the code and the message (exact, or a pattern
// where the message holds a measured duration or a system error text). After every row nothing
// is left behind: no link and no address more in this machine's namespace or in the namespace of
// ovs-vswitchd (where the daemon puts host ends), no OVS port on br-int, nothing but `lo` in
// the pod's namespace.
//
// What the plugin answers, by the rows: stdin that is not JSON is code 6 (SPEC: "failure to
// decode content"); a missing K8S_POD_NAME is 4 (invalid environment); a provider no Subnet
// serves is 7 (invalid configuration); no daemon (no socket, or a socket nobody listens on
// after a crash) and no allocation before the deadline are 11 (try again later); a pod netns
// that does not exist, on an OVN provider, is 11 too (the daemon's plumbing failed, and it
// undid what it had made).
import { daemonConfigFor, startNodeCluster, stopNodeCluster } from '../harness/inProcess.js';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import { type ApiServer } from '../harness/apiserver.js';
import { CNI_PLUGIN_DIR, cniEnvironment, invokeCni, type CniInvocation, type CniOutcome } from '../harness/cni.js';
import { buildCli, CLI_MAIN } from '../harness/controllerProcess.js';
import { run, runOk, waitFor } from '../harness/exec.js';
import { createNetns, createVethPair, deleteNetns, inNetnsOk, netnsPath, uniqueLinkName } from '../harness/netns.js';
import { type OvsEnv } from '../harness/ovs.js';
import { processStartTime, track, untrack } from '../harness/reaper.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PLUGIN = `${REPO}dist/cni/kube-ovn`;
const MACVLAN_DIR = new URL('../../examples/macvlan-ipam/', import.meta.url);
const NODE = 'node-a';
/** Every container ID of this file starts with it, so every link name the daemon derives does too. */
const CID_PREFIX = 'badinput';

const quiet = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

const podYaml = (name: string, annotations: Readonly<Record<string, string>>): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  namespace: default\n  annotations:\n` +
  Object.entries(annotations).map(([k, v]) => `    ${k}: '${v}'\n`).join('') +
  `spec:\n  nodeName: ${NODE}\n  containers: [{name: c, image: alpine}]\n`;

/** What a runtime prints for the row: the CNI error (`msg` a string, or a pattern for it). */
interface Expected {
  readonly code: number;
  readonly msg: string | RegExp;
  readonly details?: string;
}

interface Row {
  readonly name: string;
  /** The plugin the runtime runs: ours, or macvlan delegating IPAM to ours. */
  readonly via: 'kube-ovn' | 'macvlan';
  /** The invocation, given the test's facts. */
  readonly invocation: (f: Facts) => Invocation;
  readonly expected: (f: Facts) => Expected;
  /** Longest the plugin may take, ms. */
  readonly withinMs?: number;
}

interface Invocation {
  readonly inv: Omit<CniInvocation, 'plugin' | 'command'>;
  /** Raw stdin instead of JSON.stringify(inv.netconf). */
  readonly stdin?: string;
  /** Variables the runtime's own environment adds (runtimes pass theirs on to plugins). */
  readonly env?: Readonly<Record<string, string>>;
}

interface Facts {
  readonly socket: string;
  readonly stoppedSocket: string;
  readonly killedSocket: string;
  readonly podNetns: string;
  readonly master: string;
}

const containerId = (n: number): string => `${CID_PREFIX}${String(n).padStart(4, '0')}`.padEnd(64, '0');
const args = (pod: string, n: number): Record<string, string> =>
  ({ IgnoreUnknown: 'true', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod, K8S_POD_INFRA_CONTAINER_ID: containerId(n) });

/** Seed 01's config as Multus hands it to macvlan, on this node's master and daemon socket. */
const macvlanConf = (f: Facts, ipam: object = {}): object => {
  const config = JSON.parse((/config: '([\s\S]*)'/.exec(readFileSync(new URL('01-nad-macvlan.yaml', MACVLAN_DIR), 'utf8')) ?? [])[1] ?? '{}') as Record<string, unknown>;
  return { ...config, name: 'macvlan', master: f.master, ipam: { ...(config['ipam'] as object), server_socket: f.socket, ...ipam } };
};
const ovnConf = (f: Facts): object => ({ cniVersion: '1.0.0', name: 'kube-ovn', type: 'kube-ovn', server_socket: f.socket, provider: 'ovn' });
const base = (pod: string, n: number, f: Facts, ifName = 'net1'): Omit<CniInvocation, 'plugin' | 'command' | 'netconf'> => ({
  containerId: containerId(n), netns: netnsPath(f.podNetns), ifName, args: args(pod, n), path: [`${REPO}dist/cni`, CNI_PLUGIN_DIR],
});
const unreachable = (socket: string, code: string): string => `cannot reach the kube-ovn-ipam daemon at ${socket}: connect ${code} (is the daemon running on this node?)`;
const waited = (pod: string, provider: string, why = ''): RegExp =>
  new RegExp(`^no address allocated to pod default/${pod} for provider ${provider.replace(/\./g, '\\.')} within \\d+(\\.\\d)?s; see the controller's Events on the pod${why.replace(/[()]/g, '\\$&')}$`);

const ROWS: readonly Row[] = [
  {
    name: 'netconf that is not JSON: 6, as the spec says for a decoding failure',
    via: 'kube-ovn',
    invocation: (f) => ({ inv: { ...base('samplepod', 1, f), netconf: {} }, stdin: '{"cniVersion": "0.3.0", "type": "macvlan", "ipam": {"type": "kube-ovn"' }),
    expected: () => ({ code: 6, msg: /^the network configuration on stdin is not JSON: / }),
  },
  {
    name: 'no K8S_POD_NAME in CNI_ARGS: 4',
    via: 'macvlan',
    invocation: (f) => ({ inv: { ...base('samplepod', 2, f), args: { IgnoreUnknown: 'true', K8S_POD_NAMESPACE: 'default' }, netconf: macvlanConf(f) } }),
    expected: () => ({ code: 4, msg: 'CNI_ARGS has no K8S_POD_NAME (the runtime passes the pod as K8S_POD_NAMESPACE=…;K8S_POD_NAME=…)' }),
  },
  {
    name: 'a provider no Subnet serves: 7, at once',
    via: 'macvlan',
    invocation: (f) => ({ inv: { ...base('samplepod', 3, f), netconf: macvlanConf(f, { provider: 'nosuch.default' }) } }),
    expected: (f) => ({ code: 7, msg: 'provider nosuch.default is not bound to any subnet (no Subnet has spec.provider nosuch.default)', details: `HTTP 400 from /api/v1/add on ${f.socket}` }),
    withinMs: 5_000,
  },
  {
    name: 'no socket at server_socket: 11',
    via: 'kube-ovn',
    invocation: (f) => ({ inv: { ...base('samplepod', 4, f), netconf: macvlanConf(f, { server_socket: `${f.socket}.missing` }) } }),
    expected: (f) => ({ code: 11, msg: unreachable(`${f.socket}.missing`, 'ENOENT') }),
  },
  {
    name: 'the daemon stopped (its socket removed): 11',
    via: 'macvlan',
    invocation: (f) => ({ inv: { ...base('samplepod', 5, f), netconf: macvlanConf(f, { server_socket: f.stoppedSocket }) } }),
    expected: (f) => ({ code: 11, msg: unreachable(f.stoppedSocket, 'ENOENT') }),
  },
  {
    name: 'the daemon killed (its socket left, nobody listening): 11',
    via: 'kube-ovn',
    invocation: (f) => ({ inv: { ...base('samplepod', 6, f), netconf: macvlanConf(f, { server_socket: f.killedSocket }) } }),
    expected: (f) => ({ code: 11, msg: unreachable(f.killedSocket, 'ECONNREFUSED') }),
  },
  {
    name: 'no allocation before KUBE_OVN_CNI_TIMEOUT_MS (the pod asks for an address outside the subnet): 11, naming pod and provider',
    via: 'macvlan',
    invocation: (f) => ({ inv: { ...base('stuck', 7, f), netconf: macvlanConf(f) }, env: { KUBE_OVN_CNI_TIMEOUT_MS: '2000' } }),
    expected: (f) => ({ code: 11, msg: waited('stuck', 'macvlan.default'), details: `HTTP 500 from /api/v1/add on ${f.socket}` }),
    withinMs: 2_000 + 500,
  },
  {
    name: 'no allocation before KUBE_OVN_CNI_TIMEOUT_MS (no such pod): 11, saying the daemon has not seen it',
    via: 'kube-ovn',
    invocation: (f) => ({ inv: { ...base('ghost', 8, f), netconf: macvlanConf(f) }, env: { KUBE_OVN_CNI_TIMEOUT_MS: '2000' } }),
    expected: (f) => ({ code: 11, msg: waited('ghost', 'macvlan.default', ` (the daemon has not seen the pod on node ${NODE})`), details: `HTTP 500 from /api/v1/add on ${f.socket}` }),
    withinMs: 2_000 + 500,
  },
  {
    name: 'a pod netns that does not exist, on the OVN default network: 11, the plug undone',
    via: 'kube-ovn',
    invocation: (f) => ({ inv: { ...base('samplepod', 9, f, 'eth0'), netns: '/var/run/netns/kovt-does-not-exist', netconf: ovnConf(f) } }),
    expected: (f) => ({
      code: 11,
      details: `HTTP 500 from /api/v1/add on ${f.socket}`,
      msg: new RegExp(`^could not plug default/samplepod eth0: SetLink ${containerId(9).slice(0, 12)}_c \\(move the container end into /var/run/netns/kovt-does-not-exist as eth0 .*Invalid "netns" value`, 's'),
    }),
  },
];

describeAsRoot('e2e-bad-input')('bad input through the real plugin and daemon', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  /** Everything but the pod's namespace, which each row gets afresh. */
  let facts: Omit<Facts, 'podNetns'>;

  /** This process's namespace: link names (without the harness's `kv<pid>-` links of any test process) and addresses. */
  const hostState = async (): Promise<{ readonly links: string[]; readonly addresses: string[] }> => {
    const links = (await runOk(['ip', '-o', 'link', 'show'])).split('\n').filter((l) => l !== '')
      .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '').filter((n) => !/^kv\d+-/.test(n)).sort();
    const addresses = (await runOk(['ip', '-o', 'addr', 'show'])).split('\n').filter((l) => l !== '')
      .map((l) => l.split(/\s+/).slice(1, 4).join(' ')).filter((a) => !/^kv\d+-/.test(a)).sort();
    return { links, addresses };
  };
  /** The namespace of ovs-vswitchd (this file's own): every link with its addresses. */
  const ovsState = async (): Promise<string[]> => (ovs.netns === undefined ? [] : (await inNetnsOk(ovs.netns, ['ip', '-o', 'addr', 'show'])).split('\n')
    .filter((l) => l !== '').map((l) => l.split(/\s+/).slice(1, 4).join(' ')).sort());

  /** The built daemon as its own process on `socket`, SIGKILLed once it listens: its socket stays behind. */
  const killDaemonProcess = async (socket: string): Promise<void> => {
    await buildCli();
    const child = spawn(process.execPath, [CLI_MAIN, 'daemon', '--kubeconfig', api.kubeconfigPath, '--bind-socket', socket, '--node-name', NODE, '--listen', '127.0.0.1:0', '--log-level', 'error'], { stdio: 'ignore' });
    if (child.pid === undefined) throw new Error('could not start the daemon process');
    const id = track({ kind: 'process', pid: child.pid, startTime: processStartTime(child.pid), name: 'bad-input daemon' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await waitFor(`the daemon process listening on ${socket}`, async () => (existsSync(socket) ? true : undefined), { timeoutMs: 20_000 });
    } finally {
      child.kill('SIGKILL');
      await exited;
      untrack(id);
    }
  };

  beforeAll(async () => {
    ({ api, ovs, controller } = await startNodeCluster(
      ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml'].map((f) => readFileSync(new URL(f, MACVLAN_DIR), 'utf8')),
    ));
    await api.kubectlOk(['apply', '-f', '-'], { input: podYaml('samplepod', { 'k8s.v1.cni.cncf.io/networks': 'macvlan' }) });
    await api.kubectlOk(['apply', '-f', '-'], {
      input: podYaml('stuck', { 'k8s.v1.cni.cncf.io/networks': 'macvlan', 'macvlan.default.kubernetes.io/ip_address': '10.99.0.1' }),
    });
    await waitFor('samplepod allocated', async () =>
      (await api.kubectlOk(['get', 'pod', 'samplepod', '-o', 'jsonpath={.metadata.annotations.macvlan\\.default\\.kubernetes\\.io/allocated}'])).trim() === 'true' ? true : undefined,
    { timeoutMs: 20_000 });
    tmp = makeTempDir('e2e-bad-input');
    const socket = `${tmp.path}/kube-ovn-daemon.sock`;
    const daemonConfig = daemonConfigFor(api, ovs, NODE);
    running = await startNodeDaemon({ ...daemonConfig, socket }, quiet());
    const stoppedSocket = `${tmp.path}/stopped.sock`;
    await (await startNodeDaemon({ ...daemonConfig, socket: stoppedSocket }, quiet())).stop();
    const killedSocket = `${tmp.path}/killed.sock`;
    await killDaemonProcess(killedSocket);
    const master = uniqueLinkName('m');
    await createVethPair({ name: master }, { name: uniqueLinkName('p') });
    facts = { socket, stoppedSocket, killedSocket, master };
    // The stuck pod's allocation failed for good (an Event says why), not merely late.
    await waitFor('the stuck pod\'s AddressOutOfRange Event', async () =>
      (await api.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=stuck', '-o', 'jsonpath={.items[*].message}'])).includes('AddressOutOfRange: ') ? true : undefined,
    { timeoutMs: 20_000 });
  }, 300_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  it.each(ROWS.map((r) => [r.name, r] as const))('%s', async (_name, row) => {
    const podNetns = await createNetns();
    const f = { ...facts, podNetns };
    const { inv, stdin, env } = row.invocation(f);
    const plugin = row.via === 'kube-ovn' ? PLUGIN : `${CNI_PLUGIN_DIR}/macvlan`;
    const [hostBefore, ovsBefore] = [await hostState(), await ovsState()];
    const started = Date.now();
    let outcome: CniOutcome;
    if (stdin === undefined && env === undefined) {
      outcome = await invokeCni({ ...inv, plugin, command: 'ADD' });
    } else {
      // As invokeCni, with a raw stdin or one more variable from the runtime's environment.
      const out = await run([plugin], { input: stdin ?? JSON.stringify(inv.netconf), env: { ...cniEnvironment({ ...inv, plugin, command: 'ADD' }), ...env }, cleanEnv: true });
      outcome = { ...out, ...(out.stdout.trim() === '' ? {} : { result: JSON.parse(out.stdout) as unknown }) };
    }
    const took = Date.now() - started;
    const expected = row.expected(f);
    const version = stdin === undefined ? (inv.netconf as { cniVersion: string }).cniVersion : '1.1.0';
    expect({ exit: outcome.code, stderr: outcome.stderr }).toEqual({ exit: 1, stderr: '' });
    expect(outcome.result).toEqual({
      ...(row.via === 'kube-ovn' && { cniVersion: version }),
      code: expected.code,
      msg: typeof expected.msg === 'string' ? expected.msg : expect.stringMatching(expected.msg),
      ...(expected.details !== undefined && { details: expected.details }),
    });
    if (row.withinMs !== undefined) expect(took).toBeLessThan(row.withinMs);
    expect(await hostState()).toEqual(hostBefore);
    expect(await ovsState()).toEqual(ovsBefore);
    expect(await ovs.vsctl('list-ports', ovs.bridge)).toBe('');
    expect((await runOk(['ip', '-o', 'link', 'show'])).split('\n').filter((l) => l.includes(CID_PREFIX))).toEqual([]);
    // Debian's macvlan (1.1.1) leaves its own link in the pod when its IPAM fails (its cmdAdd's
    // deferred link delete does not see the IPAM error). Ours leaves nothing; the runtime
    // removes the pod's namespace with the sandbox.
    const podLinks = (await inNetnsOk(podNetns, ['ip', '-o', '-d', 'link', 'show'])).split('\n').filter((l) => l !== '')
      .map((l) => `${(l.split(': ')[1] ?? '').split('@')[0] ?? ''}${l.includes(' macvlan mode ') ? ' (macvlan)' : ''}`);
    expect(podLinks.filter((l) => l !== 'net1 (macvlan)' || row.via !== 'macvlan')).toEqual(['lo']);
    await deleteNetns(podNetns);
  }, 30_000);
});
