// The seed's examples 01-05 on the real one-node cluster (kubelet, containerd, Multus calling
// macvlan calling our plugin as IPAM, our controller and daemon as pods), applied verbatim with
// `kubectl apply -f` (only macvlan's `master` pointed at the node's link): the pods reach
// Running, and inside each pod eth0 and net1 have exactly the addresses the planner gives —
// which `plan --kubeconfig` predicted before anything was applied; Multus's network-status
// agrees with our annotations; example 04's static net1 MAC reaches macvlan (our admission
// webhook writes it into the networks annotation, from which Multus passes it); pods ping each
// other over net1; deleting the pods releases
// their claims through kubelet's DEL.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster, REPO, type Cluster } from '../harness/cluster.js';
import {
  addressesIn, describeOnCluster, getPod, macIn, ipObjects, leaveClean, listPods, networkStatus, ping, planWith, seedMacvlanNad, waitForReleased,
  waitReadyPods, type Planned, type PodObject,
} from '../harness/clusterPods.js';
import { waitFor } from '../harness/exec.js';
import { NODE_LINK } from '../harness/node.js';

const EXAMPLES = join(REPO, 'examples', 'macvlan-ipam');
const OVN = 'ovn.kubernetes.io';
const MACVLAN = 'macvlan.default.kubernetes.io';
describeOnCluster('seed examples 01-05 on a real cluster (kubelet, containerd, Multus, macvlan)', () => {
  let c: Cluster;
  let dir: string;
  let files: string[];
  let predicted: readonly Planned[];

  beforeAll(async () => {
    c = connectCluster();
    dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-seed-ipam-'));
    // 01 verbatim but for `master` (the seed's eth0 is not a link of this node).
    const nad = seedMacvlanNad();
    expect(nad).toContain(NODE_LINK);
    writeFileSync(join(dir, '01-nad-macvlan.yaml'), nad);
    files = [join(dir, '01-nad-macvlan.yaml'), ...['02-subnet-macvlan', '03-pod-random', '04-pod-static-ip', '05-deployment-ip-pool'].map((f) => join(EXAMPLES, `${f}.yaml`))];
    // Before anything is applied: what would applying these files do to this cluster?
    predicted = await planWith(c, files);
    await c.kubectlOk(['apply', ...files.flatMap((f) => ['-f', f])]);
    await waitReadyPods(c, 'default', { names: ['samplepod', 'static-ip'] });
    await waitReadyPods(c, 'default', { selector: 'app=static-workload' });
  }, 420_000);

  afterAll(async () => {
    await leaveClean(c, files);
    rmSync(dir, { recursive: true, force: true });
  }, 360_000);

  const deploymentPods = async (): Promise<readonly PodObject[]> =>
    [...await listPods(c, 'default', 'app=static-workload')].sort((a, b) =>
      (a.metadata.annotations?.[`${OVN}/ip_address`] ?? '').localeCompare(b.metadata.annotations?.[`${OVN}/ip_address`] ?? ''));

  it('the plan predicted the seed\'s addresses before anything was applied', () => {
    const of = (pod: string, iface: string): string | undefined => predicted.find((a) => a.pod === pod && a.interface === iface)?.ipAddress;
    expect([of('default/samplepod', 'net1'), of('default/static-ip', 'eth0'), of('default/static-ip', 'net1')])
      .toEqual(['172.17.0.11', '10.16.0.15', '172.17.0.100']);
    const simulated = predicted.filter((a) => a.pod.startsWith('default/static-workload-sim-')).map((a) => `${a.interface} ${a.ipAddress}`).sort();
    expect(simulated).toEqual(['eth0 10.16.0.16', 'eth0 10.16.0.17', 'net1 172.17.0.200', 'net1 172.17.0.201']);
  }, 120_000);

  it('every pod runs with exactly the planned addresses on eth0 and net1, inside the pod', async () => {
    const inside = async (pod: string): Promise<string[]> => [
      ...(await addressesIn(c, 'default', pod, 'eth0')).map((a) => `eth0 ${a}`),
      ...(await addressesIn(c, 'default', pod, 'net1')).map((a) => `net1 ${a}`),
    ];
    const predictedFor = (pod: string): string[] => predicted.filter((a) => a.pod === `default/${pod}`)
      .map((a) => `${a.interface} ${a.ipAddress}/16`).sort();
    expect(await inside('samplepod')).toEqual(predictedFor('samplepod'));
    expect(await inside('static-ip')).toEqual(['eth0 10.16.0.15/16', 'net1 172.17.0.100/16']);
    expect(predictedFor('static-ip')).toEqual(['eth0 10.16.0.15/16', 'net1 172.17.0.100/16']);
    const workload = await deploymentPods();
    expect(await Promise.all(workload.map((p) => inside(p.metadata.name))))
      .toEqual([['eth0 10.16.0.16/16', 'net1 172.17.0.200/16'], ['eth0 10.16.0.17/16', 'net1 172.17.0.201/16']]);
  }, 120_000);

  it('Multus\'s network-status agrees with our annotations, and the claims with both', async () => {
    const ips = await ipObjects(c);
    for (const pod of [await getPod(c, 'default', 'samplepod'), await getPod(c, 'default', 'static-ip'), ...await deploymentPods()]) {
      const a = pod.metadata.annotations ?? {};
      const status = networkStatus(pod);
      expect(status.map((s) => [s.interface, s.ips])).toEqual([
        ['eth0', [a[`${OVN}/ip_address`]]],
        ['net1', [a[`${MACVLAN}/ip_address`]]],
      ]);
      expect(ips.get(`${pod.metadata.name}.default`)?.spec.ipAddress).toBe(a[`${OVN}/ip_address`]);
      expect(ips.get(`${pod.metadata.name}.default.macvlan.default`)?.spec.ipAddress).toBe(a[`${MACVLAN}/ip_address`]);
    }
  }, 120_000);

  it('example 04\'s static MAC reaches net1 through Multus: the webhook wrote it into the networks annotation', async () => {
    const pod = await getPod(c, 'default', 'static-ip');
    expect(pod.metadata.annotations?.['k8s.v1.cni.cncf.io/networks']).toBe('[{"name":"macvlan","mac":"00:00:00:53:6b:bb"}]');
    expect(await macIn(c, 'default', 'static-ip', 'net1')).toBe('00:00:00:53:6b:bb');
    expect(await macIn(c, 'default', 'static-ip', 'eth0')).toBe('00:00:00:53:6b:b6');
    expect(networkStatus(pod).map((s) => [s.interface, s.mac])).toEqual([['eth0', '00:00:00:53:6b:b6'], ['net1', '00:00:00:53:6b:bb']]);
    // The other pods asked for no MAC: their networks annotation is as written.
    expect((await getPod(c, 'default', 'samplepod')).metadata.annotations?.['k8s.v1.cni.cncf.io/networks']).toBe('macvlan');
  }, 120_000);

  it('pods ping each other over net1', async () => {
    const workload = await deploymentPods();
    expect(await ping(c, 'default', 'samplepod', '172.17.0.100')).toMatch(/2 packets received/);
    expect(await ping(c, 'default', 'static-ip', '172.17.0.11')).toMatch(/2 packets received/);
    expect(await ping(c, 'default', workload[0]?.metadata.name ?? '', '172.17.0.201')).toMatch(/2 packets received/);
  }, 120_000);

  it('kubectl delete pod releases through kubelet\'s DEL: claims gone, Subnet status back', async () => {
    const status = async (): Promise<[string, string]> => {
      const s = JSON.parse(await c.kubectlOk(['get', 'subnet', 'macvlan', '-o', 'json'])) as { status?: { v4usingIPs?: number; v4usingIPrange?: string } };
      return [String(s.status?.v4usingIPs), s.status?.v4usingIPrange ?? ''];
    };
    expect(await status()).toEqual(['4', '172.17.0.11,172.17.0.100,172.17.0.200-172.17.0.201']);
    await c.kubectlOk(['delete', 'pod', 'samplepod', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
    await waitForReleased(c, 'default', ['static-ip', ...(await deploymentPods()).map((p) => p.metadata.name)]);
    const ips = await ipObjects(c);
    expect([ips.has('samplepod.default'), ips.has('samplepod.default.macvlan.default')]).toEqual([false, false]);
    await waitFor('the macvlan Subnet\'s status written', async () => ((await status())[0] === '3' ? true : undefined), { timeoutMs: 30_000 });
    expect(await status()).toEqual(['3', '172.17.0.100,172.17.0.200-172.17.0.201']);
  }, 120_000);
});
