// Our IPAM result as its real consumer reads it: Debian's reference macvlan plugin, given
// `"ipam": {"type": "kube-ovn"}` and CNI_PATH with the built executable, runs our plugin for
// ADD, CHECK and DEL in a real network namespace, once per spec version macvlan speaks. A fake
// daemon on a unix socket answers for the node daemon (which has its own end-to-end tests).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { CNI_PLUGIN_DIR, invokeCni, invokeCniOk } from '../harness/cni.js';
import { runOk } from '../harness/exec.js';
import { createNetns, createVethPair, destroyAll, inNetnsOk, linkState, netnsPath, uniqueLinkName } from '../harness/netns.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MACVLAN = `${CNI_PLUGIN_DIR}/macvlan`;
const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

describeAsRoot('macvlan-ipam')('reference macvlan with kube-ovn IPAM (fake daemon)', () => {
  let tmp: TempDir | undefined;
  let server: Server | undefined;
  let socket = '';
  let master = '';
  const requests: { readonly url: string; readonly body: Record<string, unknown> }[] = [];
  /** The fake daemon's allocations: container ID → last octet. */
  const allocated = new Map<string, number>();

  beforeAll(async () => {
    await runOk(['bash', join(ROOT, 'scripts/build-cni.sh')], { timeoutMs: 180_000 });
    tmp = makeTempDir('mvipam');
    socket = join(tmp.path, 'daemon.sock');
    master = uniqueLinkName('m');
    await createVethPair({ name: master }, { name: uniqueLinkName('p') });
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
        requests.push({ url: req.url ?? '', body });
        if (req.url === '/api/v1/del') {
          res.writeHead(204).end();
          return;
        }
        const id = String(body['container_id']);
        const octet = allocated.get(id) ?? 11 + allocated.size;
        allocated.set(id, octet);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({
          protocol: 'IPv4',
          ips: [{ protocol: 'IPv4', ip: `172.17.0.${octet}`, cidr: '172.17.0.0/16', gateway: '172.17.0.1' }],
          routes: [{ dst: '', gw: '172.17.0.1' }, { dst: '10.96.0.0/12', gw: '172.17.0.254' }],
        }));
      });
    });
    await new Promise<void>((done) => server?.listen(socket, done));
  }, 200_000);

  afterAll(async () => {
    await new Promise((done) => (server === undefined ? done(undefined) : server.close(done)));
    await destroyAll();
    tmp?.remove();
  }, 30_000);

  it.each(VERSIONS.map((v, i) => [v, i] as const))('ADD, CHECK and DEL in %s', async (version, i) => {
    const netns = await createNetns();
    const mac = `0a:00:00:00:00:${(16 + i).toString(16)}`;
    const address = `172.17.0.${11 + i}`;
    const netconf = (extra: object = {}): object => ({
      cniVersion: version, name: 'macvlan', type: 'macvlan', master, mode: 'bridge',
      ipam: { type: 'kube-ovn', server_socket: socket, provider: 'macvlan.default' }, ...extra,
    });
    const invocation = {
      plugin: MACVLAN,
      containerId: `${netns}-c`,
      netns: netnsPath(netns),
      ifName: 'net1',
      path: [join(ROOT, 'dist/cni'), CNI_PLUGIN_DIR],
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: `pod-${i}`, K8S_POD_UID: `uid-${i}`, MAC: mac },
    };
    const versioned = version === '1.0.0' ? {} : { version: '4' };
    const added = await invokeCniOk({ ...invocation, command: 'ADD', netconf: netconf() });
    expect(added.result).toEqual({
      cniVersion: version,
      interfaces: [{ name: 'net1', mac, sandbox: netnsPath(netns) }],
      ips: [{ ...versioned, interface: 0, address: `${address}/16`, gateway: '172.17.0.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '172.17.0.1' }, { dst: '10.96.0.0/12', gw: '172.17.0.254' }],
      dns: {},
    });
    expect(await linkState({ name: 'net1', netns })).toEqual({ name: 'net1', mac, mtu: 1500, up: true, addresses: [`${address}/16`] });
    expect((await inNetnsOk(netns, ['ip', '-4', 'route', 'show'])).trim().split('\n').map((line) => line.trimEnd())).toEqual([
      'default via 172.17.0.1 dev net1',
      '10.96.0.0/12 via 172.17.0.254 dev net1',
      `172.17.0.0/16 dev net1 proto kernel scope link src ${address}`,
    ]);
    if (version !== '0.3.0' && version !== '0.3.1') {
      const checked = await invokeCni({ ...invocation, command: 'CHECK', netconf: netconf({ prevResult: added.result }) });
      expect({ code: checked.code, stdout: checked.stdout }).toEqual({ code: 0, stdout: '' });
    }
    const deleted = await invokeCni({ ...invocation, command: 'DEL', netconf: netconf({ prevResult: added.result }) });
    expect({ code: deleted.code, stdout: deleted.stdout }).toEqual({ code: 0, stdout: '' });
    expect(requests.filter((r) => r.body['container_id'] === invocation.containerId).map((r) => [r.url, r.body['mac'], r.body['cni_type']]))
      .toEqual([
        ['/api/v1/add', mac, 'macvlan'],
        ...(version.startsWith('0.3') ? [] : [['/api/v1/add', mac, 'macvlan']]),
        ['/api/v1/del', mac, 'macvlan'],
      ]);
  }, 60_000);
});
