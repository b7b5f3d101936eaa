// The one-node cluster bench (issue 11): 100 pods, each with eth0 (our OVN default network) and
// one macvlan attachment, created at once on the real cluster (kubelet, containerd, Multus, our
// controller and daemon as pods); the figure is the time from the create until all 100 are
// Running, beside the same 100 pods whose net1 uses the reference `host-local` IPAM instead of
// ours (same macvlan master, same eth0, same run). Blocks alternate (ours, host-local, ours,
// host-local) so drift on a shared machine hits both; each block's pods are deleted, and
// their deletion waited for, before the next starts. Target: ratio <= 1.2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { podDiagnostics, startCluster, type RunningCluster } from '../test/harness/cluster.js';
import { NODE_LINK } from '../test/harness/node.js';
import { benchAdmission } from './admission.js';
import { report } from './report.js';

const PODS = 100;
const ROUNDS = 2;

const nad = (name: string, ipam: object): object => ({
  apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition',
  metadata: { name, namespace: 'default' },
  spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'macvlan', master: NODE_LINK, mode: 'bridge', ipam }) },
});

const pods = (nadName: string): object => ({
  apiVersion: 'v1', kind: 'List',
  items: Array.from({ length: PODS }, (_, i) => ({
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: `bench-${nadName}-${i}`, namespace: 'default', labels: { bench: nadName }, annotations: { 'k8s.v1.cni.cncf.io/networks': nadName } },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'alpine', command: ['/bin/ash', '-c', 'trap "exit 0" TERM INT; sleep infinity & wait'] }] },
  })),
});

interface PodList { items: { status: { phase?: string } }[] }

/** Creates the block's pods at once; resolves with the ms until every one is Running. */
async function block(c: RunningCluster, nadName: string, file: string): Promise<number> {
  const start = Date.now();
  await c.kubectlOk(['create', '-f', file], { timeoutMs: 120_000 });
  for (;;) {
    const list = JSON.parse(await c.kubectlOk(['get', 'pods', '-l', `bench=${nadName}`, '-o', 'json'], { timeoutMs: 60_000 })) as PodList;
    if (list.items.length === PODS && list.items.every((p) => p.status.phase === 'Running')) break;
    if (Date.now() - start > 900_000) throw new Error(`bench ${nadName}: not all ${PODS} pods Running after 15 min`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const ms = Date.now() - start;
  await c.kubectlOk(['delete', 'pods', '-l', `bench=${nadName}`, '--wait=true', '--timeout=600s'], { timeoutMs: 610_000 });
  return ms;
}

export async function benchCluster(): Promise<void> {
  const c = await startCluster();
  try {
    const setup = join(c.dir, 'bench-setup.json');
    writeFileSync(setup, JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        nad('bench-ours', { type: 'kube-ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock', provider: 'bench-ours.default' }),
        nad('bench-hostlocal', { type: 'host-local', ranges: [[{ subnet: '172.31.0.0/16' }]], dataDir: join(c.dir, 'host-local') }),
        { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'bench-ours' }, spec: { provider: 'bench-ours.default', cidrBlock: '172.30.0.0/16' } },
      ],
    }));
    await c.kubectlOk(['apply', '-f', setup]);
    const files = { ours: join(c.dir, 'bench-ours.json'), hostLocal: join(c.dir, 'bench-hostlocal.json') };
    writeFileSync(files.ours, JSON.stringify(pods('bench-ours')));
    writeFileSync(files.hostLocal, JSON.stringify(pods('bench-hostlocal')));
    const ours: number[] = [];
    const hostLocal: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      ours.push(await block(c, 'bench-ours', files.ours));
      hostLocal.push(await block(c, 'bench-hostlocal', files.hostLocal));
      process.stderr.write(`cluster bench round ${round + 1}: ours ${ours.at(-1)} ms, host-local ${hostLocal.at(-1)} ms\n`);
    }
    const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    const [o, h] = [mean(ours), mean(hostLocal)];
    report({
      name: 'cluster.macvlan.100pods.allRunning.mean', value: o, unit: 'ms', baseline: h, baselineName: 'same pods, net1 with host-local IPAM',
      ratio: o / h, target: '<= 1.2',
    });
    await benchAdmission(c, 'bench-ours');
  } catch (err) {
    // Why, before the cluster goes: the pods that are not Running, the recent Events, our pods' logs.
    const pods = await c.api.kubectl(['get', 'pods', '-o', 'wide', '--no-headers']);
    const stuck = pods.stdout.split('\n').filter((l) => l.trim() !== '' && !/\sRunning\s/.test(l));
    const events = await c.api.kubectl(['get', 'events', '--sort-by=.lastTimestamp']);
    process.stderr.write(`cluster bench failed: ${err instanceof Error ? err.message : String(err)}\n--- pods not Running (${stuck.length})\n${stuck.slice(0, 20).join('\n')}\n`
      + `--- events\n${events.stdout.split('\n').slice(-30).join('\n')}\n${await podDiagnostics(c.api)}\n`);
    throw err;
  } finally {
    // A failure to stop is told, and does not hide the failure that came before it.
    await c.stop().catch((err: unknown) => process.stderr.write(`cluster bench: stopping the cluster failed: ${err instanceof Error ? err.message : String(err)}\n`));
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchCluster();
