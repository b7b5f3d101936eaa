// CHECK only looks (SPEC, CHECK: the runtime probes an existing container; the plugin reports
// an error when the container's networking is not as expected). Through the real plugin and the
// real daemon (root): kube-apiserver, the Controller in-process, the daemon in-process on a temp
// socket, OVS/OVN in userspace, a network namespace as the pod, our plugin as the main plugin
// of example 07's OVN attachment. The IPAM-only twin (a default route from the pod's `routes`
// annotation, which a CHECK must leave in place) is in test/cni/macvlan-ipam.test.ts.
import { daemonConfigFor, startNodeCluster, stopNodeCluster } from '../harness/inProcess.js';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import { type ApiServer } from '../harness/apiserver.js';
import { invokeCni, invokeCniOk, type CniInvocation } from '../harness/cni.js';
import { waitFor } from '../harness/exec.js';
import { createNetns, inNetnsOk, netnsPath } from '../harness/netns.js';
import { type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NAD_07 = new URL('../../examples/ovn-attachments/07-nad-attachnet-ovn-routes.yaml', import.meta.url);
const NODE = 'node-a';

const quiet = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

describeAsRoot('e2e-check')('CHECK through the real plugin and daemon only looks', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  let inv: Omit<CniInvocation, 'command'>;
  let netns = '';
  let added: unknown;

  /** net1 in the pod as `ip -j link` shows it: what a CHECK must not change. */
  const net1 = async (): Promise<{ readonly ifindex: number; readonly mtu: number }> => {
    const [link] = JSON.parse(await inNetnsOk(netns, ['ip', '-j', 'link', 'show', 'dev', 'net1'])) as { ifindex: number; mtu: number }[];
    if (link === undefined) throw new Error('no net1 in the pod');
    return { ifindex: link.ifindex, mtu: link.mtu };
  };

  beforeAll(async () => {
    ({ api, ovs, controller } = await startNodeCluster([
      readFileSync(new URL('../../examples/macvlan-ipam/00-subnet-ovn-default.yaml', import.meta.url), 'utf8'),
      readFileSync(NAD_07, 'utf8'),
      'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: attachnet}\nspec: {provider: attachnet.default.ovn, cidrBlock: 19.10.0.0/24}\n',
    ]));
    await api.kubectlOk(['apply', '-f', '-'], {
      input: `apiVersion: v1\nkind: Pod\nmetadata:\n  name: checked\n  namespace: default\n  annotations:\n    k8s.v1.cni.cncf.io/networks: default/attachnet\n` +
        `spec:\n  nodeName: ${NODE}\n  containers: [{name: c, image: alpine}]\n`,
    });
    const uid = await waitFor('checked allocated', async () => {
      const pod = JSON.parse(await api.kubectlOk(['get', 'pod', 'checked', '-o', 'json'])) as { metadata: { uid: string; annotations?: Record<string, string> } };
      return pod.metadata.annotations?.['attachnet.default.ovn.kubernetes.io/allocated'] === 'true' ? pod.metadata.uid : undefined;
    }, { timeoutMs: 20_000 });
    tmp = makeTempDir('e2e-check');
    const socket = `${tmp.path}/kube-ovn-daemon.sock`;
    running = await startNodeDaemon({ ...daemonConfigFor(api, ovs, NODE), socket }, quiet());
    netns = await createNetns();
    const config = JSON.parse((parse(readFileSync(NAD_07, 'utf8')) as { spec: { config: string } }).spec.config) as Record<string, unknown>;
    const containerId = 'check'.padEnd(64, '0');
    inv = {
      plugin: `${REPO}dist/cni/kube-ovn`, containerId, netns: netnsPath(netns), ifName: 'net1',
      args: { IgnoreUnknown: 'true', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'checked', K8S_POD_INFRA_CONTAINER_ID: containerId, K8S_POD_UID: uid },
      netconf: { ...config, name: 'attachnet', cniVersion: '1.0.0', server_socket: socket },
    };
    added = (await invokeCniOk({ ...inv, command: 'ADD' })).result;
  }, 300_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  it('passes on the interface ADD made, and leaves it as it is', async () => {
    const before = await net1();
    const checked = await invokeCni({ ...inv, command: 'CHECK', netconf: { ...inv.netconf, prevResult: added } });
    expect({ code: checked.code, stdout: checked.stdout, net1: await net1() }).toEqual({ code: 0, stdout: '', net1: before });
  }, 30_000);

  it('reports an interface that is not as ADD made it (its MTU changed), and does not remake it', async () => {
    await inNetnsOk(netns, ['ip', 'link', 'set', 'dev', 'net1', 'mtu', '1200']);
    const before = await net1();
    const checked = await invokeCni({ ...inv, command: 'CHECK', netconf: { ...inv.netconf, prevResult: added } });
    expect({ failed: checked.code !== 0, net1: await net1() }).toEqual({ failed: true, net1: before });
  }, 30_000);
});
