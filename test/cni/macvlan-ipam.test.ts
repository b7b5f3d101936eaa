// Our IPAM result as its real consumer reads it: Debian's reference macvlan plugin, given
// `"ipam": {"type": "kube-ovn"}` and CNI_PATH with the built executable, runs our plugin for
// ADD, CHECK and DEL in a real network namespace, once per spec version macvlan speaks. The
// addresses and routes come from the real daemon (in-process, on a temp socket), which waits
// for the Controller's allocation (in-process) on a real kube-apiserver: each version's pod
// asks, by its `routes` annotation, for a default route and one more, so macvlan installs
// routes that our result carries.
import { controllerFor, stopNodeCluster } from '../harness/inProcess.js';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { CNI_PLUGIN_DIR, invokeCni, invokeCniOk } from '../harness/cni.js';
import { runOk, waitFor } from '../harness/exec.js';
import { createNetns, createVethPair, inNetnsOk, linkExists, linkState, netnsPath, uniqueLinkName } from '../harness/netns.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MACVLAN = `${CNI_PLUGIN_DIR}/macvlan`;
const EXAMPLES = join(ROOT, 'examples/macvlan-ipam');
const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
const ROUTES = '[{"dst": "0.0.0.0/0", "gw": "172.17.0.1"}, {"dst": "10.96.0.0/12", "gw": "172.17.0.254"}]';

const quiet = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

describeAsRoot('macvlan-ipam')('reference macvlan with kube-ovn IPAM and the real daemon', () => {
  let api: ApiServer;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir | undefined;
  let socket = '';
  let master = '';
  const uids = new Map<string, string>();

  beforeAll(async () => {
    await runOk(['bash', join(ROOT, 'scripts/build-cni.sh')], { timeoutMs: 180_000 });
    api = await startApiServer();
    const kc = loadKubeConfig(api.kubeconfigPath);
    controller = controllerFor(kc);
    controller.start();
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) {
      await api.kubectlOk(['apply', '-f', '-'], { input: readFileSync(join(EXAMPLES, f), 'utf8') });
    }
    await controller.ready;
    // One pod per version, created one after the other so pod-i holds 172.17.0.(11+i).
    for (let i = 0; i < VERSIONS.length; i++) {
      await api.kubectlOk(['apply', '-f', '-'], {
        input: `apiVersion: v1\nkind: Pod\nmetadata:\n  name: pod-${i}\n  namespace: default\n  annotations:\n    k8s.v1.cni.cncf.io/networks: macvlan\n` +
          `    macvlan.default.kubernetes.io/routes: '${ROUTES}'\nspec:\n  containers: [{name: c, image: alpine}]\n`,
      });
      uids.set(`pod-${i}`, await waitFor(`pod-${i} allocated`, async () => {
        const pod = JSON.parse(await api.kubectlOk(['get', 'pod', `pod-${i}`, '-o', 'json'])) as { metadata: { uid: string; annotations?: Record<string, string> } };
        return pod.metadata.annotations?.['macvlan.default.kubernetes.io/allocated'] === 'true' ? pod.metadata.uid : undefined;
      }, { timeoutMs: 20_000 }));
    }
    tmp = makeTempDir('mvipam');
    socket = join(tmp.path, 'daemon.sock');
    running = await startNodeDaemon({ kubeconfig: api.kubeconfigPath, socket, mtu: 1400, bridge: 'br-int', ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 20_000 }, quiet());
    master = uniqueLinkName('m');
    await createVethPair({ name: master }, { name: uniqueLinkName('p') });
  }, 200_000);

  afterAll(() => stopNodeCluster({ running, controller, api, tmp }), 30_000);

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
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: `pod-${i}`, K8S_POD_UID: uids.get(`pod-${i}`) ?? '', MAC: mac },
    };
    const versioned = version === '1.0.0' ? {} : { version: '4' };
    const added = await invokeCniOk({ ...invocation, command: 'ADD', netconf: netconf() });
    expect(added.result).toEqual({
      cniVersion: version,
      interfaces: [{ name: 'net1', mac, sandbox: netnsPath(netns) }],
      ips: [{ ...versioned, interface: 0, address: `${address}/16` }],
      routes: [{ dst: '0.0.0.0/0', gw: '172.17.0.1' }, { dst: '10.96.0.0/12', gw: '172.17.0.254' }],
      dns: {},
    });
    expect(await linkState({ name: 'net1', netns })).toEqual({ name: 'net1', mac, mtu: 1500, up: true, addresses: [`${address}/16`] });
    const routes = async (): Promise<string[]> => (await inNetnsOk(netns, ['ip', '-4', 'route', 'show'])).trim().split('\n').map((line) => line.trimEnd());
    const installed = [
      'default via 172.17.0.1 dev net1',
      '10.96.0.0/12 via 172.17.0.254 dev net1',
      `172.17.0.0/16 dev net1 proto kernel scope link src ${address}`,
    ];
    expect(await routes()).toEqual(installed);
    if (version !== '0.3.0' && version !== '0.3.1') {
      // CHECK only looks (SPEC: it reports, it does not change the container): the pod keeps
      // every route ADD gave it, and macvlan's own check of them passes.
      const checked = await invokeCni({ ...invocation, command: 'CHECK', netconf: netconf({ prevResult: added.result }) });
      expect({ routes: await routes(), code: checked.code, stdout: checked.stdout }).toEqual({ routes: installed, code: 0, stdout: '' });
    }
    const deleted = await invokeCni({ ...invocation, command: 'DEL', netconf: netconf({ prevResult: added.result }) });
    expect({ code: deleted.code, stdout: deleted.stdout }).toEqual({ code: 0, stdout: '' });
    expect(await linkExists({ name: 'net1', netns })).toBe(false);
  }, 60_000);
});
