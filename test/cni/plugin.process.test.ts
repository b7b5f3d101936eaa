// The built `kube-ovn` executable (scripts/build-cni.sh) run as a runtime runs it: CNI_* in an
// otherwise empty environment (no PATH, so no Node.js to lean on), the configuration on stdin.
// A fake daemon (node:http on a unix socket in a temp dir) stands in where a daemon must answer;
// the real daemon's end-to-end ADD is tested with the daemon.
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { run, runOk, type RunResult } from '../harness/exec.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PLUGIN = join(ROOT, 'dist/cni/kube-ovn');
const SUPPORTED = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const NETNS = '/var/run/netns/cni-test';
const POD_ARGS = 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=samplepod;K8S_POD_UID=uid-1;K8S_POD_INFRA_CONTAINER_ID=c0ffee';

interface Received {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

type Handler = (req: Received, res: ServerResponse) => void;

let dir: TempDir;
let socket: string;
let server: Server | undefined;
let received: Received[] = [];

/** Starts the fake daemon on `socket`; `handler` answers every request. */
const serve = (handler: Handler): Promise<void> =>
  new Promise((done) => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const got = { method: req.method ?? '', url: req.url ?? '', body: text === '' ? undefined : JSON.parse(text) as unknown };
        received.push(got);
        handler(got, res);
      });
    });
    server.listen(socket, done);
  });

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

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
  cniVersion, name: 'attachnet', type: 'kube-ovn', server_socket: socket, provider: 'attachnet.default.ovn', routes: [{ dst: '19.20.0.0/16', gw: '10.16.0.254' }], ...extra,
});

const MACVLAN_ANSWER = { protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '172.17.0.11', cidr: '172.17.0.0/16', gateway: '172.17.0.1' }], routes: [{ dst: '', gw: '172.17.0.1' }] };
const OVN_ANSWER = {
  protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '10.16.0.5', cidr: '10.16.0.0/16', gateway: '10.16.0.1' }],
  mac_address: '0a:58:0a:10:00:05', mtu: 1400, nicname: 'net1', routes: [{ dst: '19.20.0.0/16', gw: '10.16.0.254' }],
};

beforeAll(async () => {
  await runOk(['bash', join(ROOT, 'scripts/build-cni.sh')], { timeoutMs: 180_000 });
  dir = makeTempDir('cni');
  socket = join(dir.path, 'daemon.sock');
}, 200_000);

afterEach(async () => {
  const s = server;
  server = undefined;
  received = [];
  if (s !== undefined) await new Promise((done) => s.close(done));
});

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

describe('with a fake daemon', () => {
  it('ADD as macvlan\'s IPAM (seed example 01): asks the daemon, prints the abbreviated 0.3.0 result', async () => {
    await serve((_req, res) => json(res, 200, MACVLAN_ANSWER));
    const r = await invoke({ env: addEnv({ CNI_ARGS: `${POD_ARGS};MAC=0a:00:00:00:00:01` }), stdin: macvlan() });
    expect([r.code, r.out]).toEqual([0, {
      cniVersion: '0.3.0', ips: [{ version: '4', address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '172.17.0.1' }], dns: {},
    }]);
    const [req] = received;
    const deadline = (req?.body as { deadline_ms: number }).deadline_ms;
    expect(req).toEqual({ method: 'POST', url: '/api/v1/add', body: {
      cni_type: 'macvlan', pod_name: 'samplepod', pod_namespace: 'default', pod_uid: 'uid-1', container_id: 'c0ffee', net_ns: NETNS, if_name: 'net1',
      provider: 'macvlan.default', routes: [], mac: '0a:00:00:00:00:01', deadline_ms: deadline } });
    expect(deadline).toBeGreaterThan(40_000);
    expect(deadline).toBeLessThanOrEqual(45_000);
  });

  it.each<[string, string, object]>([
    ['0.4.0', '0.4.0', { version: '4' }],
    ['1.1.0', '1.1.0', {}],
  ])('ADD as the main plugin in %s prints the interface and its addresses', async (_name, version, ipExtra) => {
    await serve((_req, res) => json(res, 200, OVN_ANSWER));
    const r = await invoke({ env: addEnv(), stdin: ovn(version) });
    expect([r.code, r.out]).toEqual([0, {
      cniVersion: version,
      interfaces: [{ name: 'net1', mac: '0a:58:0a:10:00:05', ...(version === '1.1.0' && { mtu: 1400 }), sandbox: NETNS }],
      ips: [{ ...ipExtra, address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }],
      routes: [{ dst: '19.20.0.0/16', gw: '10.16.0.254' }],
      dns: {},
    }]);
    expect(received[0]?.body).toMatchObject({ cni_type: 'kube-ovn', provider: 'attachnet.default.ovn', routes: [{ dst: '19.20.0.0/16', gw: '10.16.0.254' }] });
  });

  it.each<[string, number, string, object]>([
    ['500 with Kube-OVN\'s error', 500, JSON.stringify({ error: 'no address allocated to pod default/samplepod provider macvlan.default' }),
      { code: 11, msg: 'no address allocated to pod default/samplepod provider macvlan.default', details: `HTTP 500 from /api/v1/add on SOCKET` }],
    ['400 with an error', 400, JSON.stringify({ error: 'provider macvlan.default is not bound to any subnet' }),
      { code: 7, msg: 'provider macvlan.default is not bound to any subnet', details: 'HTTP 400 from /api/v1/add on SOCKET' }],
    ['409 with our own code', 409, JSON.stringify({ error: 'address taken', code: 3 }),
      { code: 3, msg: 'address taken', details: 'HTTP 409 from /api/v1/add on SOCKET' }],
    ['503 with text', 503, 'overloaded\n', { code: 11, msg: 'overloaded', details: 'HTTP 503 from /api/v1/add on SOCKET' }],
    ['502 with nothing', 502, '', { code: 11, msg: 'the kube-ovn-ipam daemon at SOCKET answered /api/v1/add with HTTP 502', details: 'HTTP 502 from /api/v1/add on SOCKET' }],
    ['200 with a non-object', 200, '[1]', { code: 999, msg: 'the kube-ovn-ipam daemon at SOCKET answered /api/v1/add with something that is not a JSON object', details: '[1]' }],
    ['200 with no addresses', 200, '{"ips": []}', { code: 999, msg: "the daemon's answer is malformed: it has no addresses" }],
  ])('ADD answered %s', async (_name, status, body, error) => {
    await serve((_req, res) => res.writeHead(status).end(body));
    const r = await invoke({ env: addEnv(), stdin: macvlan({ cniVersion: '1.0.0' }) });
    const named = JSON.parse(JSON.stringify(error).replaceAll('SOCKET', socket)) as object;
    expect([r.code, r.out]).toEqual([1, { cniVersion: '1.0.0', ...named }]);
  });

  it('ADD gives up before its deadline when the daemon does not answer', async () => {
    await serve(() => undefined);
    const started = Date.now();
    const r = await invoke({ env: addEnv({ KUBE_OVN_CNI_TIMEOUT_MS: '2000' }), stdin: macvlan() });
    const took = Date.now() - started;
    const sent = (received[0]?.body as { deadline_ms: number }).deadline_ms;
    // The HTTP timeout is the daemon's deadline plus one margin (200 ms for a 2 s budget).
    expect([r.code, r.out]).toEqual([1, { cniVersion: '0.3.0', code: 11, msg: `the kube-ovn-ipam daemon at ${socket} did not answer POST /api/v1/add within ${sent + 200} ms` }]);
    expect(sent).toBeLessThanOrEqual(1600);
    expect(took).toBeLessThan(2500);
  });

  it('DEL posts to /api/v1/del and succeeds silently on 204', async () => {
    await serve((_req, res) => res.writeHead(204).end());
    const r = await invoke({ env: addEnv({ CNI_COMMAND: 'DEL', CNI_NETNS: '' }), stdin: macvlan() });
    expect([r.code, r.stdout, received.map((q) => [q.method, q.url, (q.body as { net_ns: string }).net_ns])]).toEqual([0, '', [['POST', '/api/v1/del', '']]]);
  });

  it('DEL that the daemon refuses fails with its error', async () => {
    await serve((_req, res) => json(res, 500, { error: 'ovs-vsctl del-port failed' }));
    const r = await invoke({ env: addEnv({ CNI_COMMAND: 'DEL' }), stdin: ovn('1.0.0') });
    expect([r.code, r.out]).toEqual([1, { cniVersion: '1.0.0', code: 11, msg: 'ovs-vsctl del-port failed', details: `HTTP 500 from /api/v1/del on ${socket}` }]);
  });

  it.each<[string, object, number, unknown]>([
    ['prevResult as ADD printed it', { ips: [{ version: '4', address: '172.17.0.11/16', gateway: '172.17.0.1', interface: 0 }], interfaces: [{ name: 'net1', sandbox: NETNS }] }, 0, undefined],
    ['prevResult with another address', { ips: [{ version: '4', address: '172.17.0.12/16', interface: 0 }] }, 1,
      { cniVersion: '0.4.0', code: 100, msg: "net1 should have 172.17.0.11/16 (the daemon's allocation), but prevResult has 172.17.0.12/16" }],
  ])('CHECK as IPAM with %s', async (_name, prevResult, code, out) => {
    await serve((_req, res) => json(res, 200, MACVLAN_ANSWER));
    const r = await invoke({ env: addEnv({ CNI_COMMAND: 'CHECK' }), stdin: macvlan({ cniVersion: '0.4.0', prevResult }) });
    expect([r.code, r.out, received.map((q) => q.url)]).toEqual([code, out, ['/api/v1/add']]);
  });

  it('STATUS succeeds when the daemon answers on its socket', async () => {
    await serve((_req, res) => res.writeHead(404).end());
    const r = await invoke({ env: { CNI_COMMAND: 'STATUS' }, stdin: ovn('1.1.0') });
    expect([r.code, r.stdout, received.map((q) => [q.method, q.url])]).toEqual([0, '', [['GET', '/']]]);
  });
});
