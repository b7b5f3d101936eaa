// End to end on one node (root): a container runtime's calls, made with the harness's CNI
// invoker, through the real plugins to this daemon. The reference macvlan plugin calls the
// `kube-ovn` IPAM plugin (scripts/build-cni.sh's executable), which asks the daemon; the
// `kube-ovn` main plugin asks the daemon to plug an OVN attachment. The controller allocates
// in-process against a real kube-apiserver; OVS/OVN run in userspace.
import { daemonConfigFor, startNodeCluster, stopNodeCluster } from '../harness/inProcess.js';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import { type ApiServer } from '../harness/apiserver.js';
import { CNI_PLUGIN_DIR, invokeCni, invokeCniOk } from '../harness/cni.js';
import { sleep, waitFor } from '../harness/exec.js';
import { createNetns, createVethPair, inNetnsOk, linkExists, linkState, netnsPath, uniqueLinkName } from '../harness/netns.js';
import { type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MACVLAN = new URL('../../examples/macvlan-ipam/', import.meta.url);
const NAD_07 = new URL('../../examples/ovn-attachments/07-nad-attachnet-ovn-routes.yaml', import.meta.url);
const NODE = 'node-a';

const quiet = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

/** The `spec.config` of a NAD file, parsed. */
const nadConfig = (url: URL): Record<string, unknown> =>
  JSON.parse((/config: '([\s\S]*)'/.exec(readFileSync(url, 'utf8')) ?? [])[1] ?? '{}') as Record<string, unknown>;

describeAsRoot('daemon-e2e')('the real plugins through the daemon', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  let socket: string;
  let podNetns: string;
  let master: string;
  const containerId = 'e2e0000000000000000000000000000000000000000000000000000000000001';

  beforeAll(async () => {
    ({ api, ovs, controller } = await startNodeCluster([
      ...['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml'].map((f) => readFileSync(new URL(f, MACVLAN), 'utf8')),
      readFileSync(NAD_07, 'utf8'),
      'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: attachnet}\nspec: {provider: attachnet.default.ovn, cidrBlock: 19.10.0.0/24}\n',
    ]));
    tmp = makeTempDir('daemon-e2e');
    socket = `${tmp.path}/kube-ovn-daemon.sock`;
    running = await startNodeDaemon({ ...daemonConfigFor(api, ovs, NODE), socket }, quiet());
    podNetns = await createNetns();
    // The macvlan master: a veth end here (the dummy link type does not work on this kind of machine).
    master = uniqueLinkName('m');
    await createVethPair({ name: master }, { name: uniqueLinkName('p') });
  }, 300_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  const cniArgs = { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'samplepod', K8S_POD_INFRA_CONTAINER_ID: containerId };

  it('gives net1 of the seed\'s macvlan NAD its address: macvlan → kube-ovn IPAM → daemon, created before the pod', async () => {
    const conf = nadConfig(new URL('01-nad-macvlan.yaml', MACVLAN));
    const netconf = { ...conf, name: 'macvlan', master, ipam: { ...(conf['ipam'] as object), server_socket: socket } };
    const add = invokeCni({
      plugin: `${CNI_PLUGIN_DIR}/macvlan`, command: 'ADD', containerId, netns: netnsPath(podNetns), ifName: 'net1', args: cniArgs,
      path: [`${REPO}dist/cni`, CNI_PLUGIN_DIR], netconf,
    });
    await sleep(200);
    await api.kubectlOk(['apply', '-f', '-'], {
      input: readFileSync(new URL('03-pod-random.yaml', MACVLAN), 'utf8').replace('k8s.v1.cni.cncf.io/networks: macvlan', 'k8s.v1.cni.cncf.io/networks: macvlan,default/attachnet').replace('spec:\n', `spec:\n  nodeName: ${NODE}\n`),
    });
    const outcome = await add;
    expect({ code: outcome.code, stderr: outcome.stderr }).toEqual({ code: 0, stderr: '' });
    expect(outcome.result).toMatchObject({ cniVersion: '0.3.0', ips: [{ version: '4', address: '172.17.0.11/16' }] });
    expect((await linkState({ name: 'net1', netns: podNetns })).addresses).toEqual(['172.17.0.11/16']);
  }, 60_000);

  it('plugs net2 of example 07 through the kube-ovn main plugin, with the seed\'s routes', async () => {
    const netconf = { ...nadConfig(NAD_07), name: 'attachnet', server_socket: socket };
    const outcome = await invokeCniOk({
      plugin: `${REPO}dist/cni/kube-ovn`, command: 'ADD', containerId, netns: netnsPath(podNetns), ifName: 'net2', args: cniArgs, netconf,
    });
    const mac = (await api.kubectlOk(['get', 'pod', 'samplepod', '-o', 'jsonpath={.metadata.annotations.attachnet\\.default\\.ovn\\.kubernetes\\.io/mac_address}'])).trim();
    expect(outcome.result).toMatchObject({ cniVersion: '0.3.0', interfaces: [{ name: 'net2', mac }], ips: [{ version: '4', address: '19.10.0.2/24' }] });
    expect(await linkState({ name: 'net2', netns: podNetns })).toMatchObject({ mac, mtu: 1400, up: true, addresses: ['19.10.0.2/24'] });
    expect((await inNetnsOk(podNetns, ['ip', 'route', 'show', 'dev', 'net2'])).split('\n').filter((l) => l !== '').map((l) => l.trim())).toEqual([
      '19.10.0.0/24 proto kernel scope link src 19.10.0.2',
      '19.10.0.0/16 scope link',
      '19.20.0.0/16 via 19.10.0.1',
    ]);
    await waitFor('the IP object on node-a', async () =>
      (await api.kubectlOk(['get', 'ip', 'samplepod.default.attachnet.default.ovn', '-o', 'jsonpath={.spec.nodeName}'])).trim() === NODE ? true : undefined, { timeoutMs: 5_000 });
  }, 60_000);

  it('DEL through the plugins removes what ADD made (twice for kube-ovn), macvlan\'s too', async () => {
    const netconf = { ...nadConfig(NAD_07), name: 'attachnet', server_socket: socket };
    for (let i = 0; i < 2; i++) {
      const outcome = await invokeCni({ plugin: `${REPO}dist/cni/kube-ovn`, command: 'DEL', containerId, netns: netnsPath(podNetns), ifName: 'net2', args: cniArgs, netconf });
      expect({ code: outcome.code, stdout: outcome.stdout }).toEqual({ code: 0, stdout: '' });
    }
    expect(await linkExists({ name: 'net2', netns: podNetns })).toBe(false);
    expect(await ovs.vsctl('list-ports', 'br-int')).toBe('');
    const conf = nadConfig(new URL('01-nad-macvlan.yaml', MACVLAN));
    const macvlan = { ...conf, name: 'macvlan', master, ipam: { ...(conf['ipam'] as object), server_socket: socket } };
    const outcome = await invokeCni({
      plugin: `${CNI_PLUGIN_DIR}/macvlan`, command: 'DEL', containerId, netns: netnsPath(podNetns), ifName: 'net1', args: cniArgs,
      path: [`${REPO}dist/cni`, CNI_PLUGIN_DIR], netconf: macvlan,
    });
    expect({ code: outcome.code, stdout: outcome.stdout }).toEqual({ code: 0, stdout: '' });
    expect(await linkExists({ name: 'net1', netns: podNetns })).toBe(false);
  }, 30_000);
});
