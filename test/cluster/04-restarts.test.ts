// Our own pods die while pods are being created: a Deployment of pods with eth0 (OVN) and a
// macvlan attachment (our IPAM) is created, and at once the daemon pod and the controller pod
// are deleted. kubelet keeps retrying the sandboxes (CNI ADD answers "try again" while no
// daemon listens, or waits for an allocation while no controller runs); once the DaemonSet and
// the Deployment have brought ours back, every pod gets its addresses: nothing leaked (every
// claim belongs to a live pod, every live interface has exactly one claim and one logical port),
// nothing given twice. Scaling to zero then releases everything through kubelet's DELs.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster, NAMESPACE, REPO, waitForComponents, type Cluster } from '../harness/cluster.js';
import {
  addressesIn, describeOnCluster, ipObjects, leaveClean, listPods, seedMacvlanNad, SLEEPER, waitForReleased, waitReadyPods,
} from '../harness/clusterPods.js';
import { runOk, waitFor } from '../harness/exec.js';

const EXAMPLES = join(REPO, 'examples', 'macvlan-ipam');
const REPLICAS = 12;
const MACVLAN = 'macvlan.default';

const deployment = (replicas: number): string => JSON.stringify({
  apiVersion: 'apps/v1', kind: 'Deployment',
  metadata: { name: 'churn', namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: 'churn' } },
    template: {
      metadata: { labels: { app: 'churn' }, annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [{ name: 'c', image: 'alpine', command: [...SLEEPER] }],
      },
    },
  },
});

describeOnCluster('the daemon and the controller pods deleted while pods are being created', () => {
  let c: Cluster;
  let dir: string;
  let files: string[];

  const nbPorts = async (): Promise<string[]> => (await runOk(['ovn-nbctl', `--db=${c.ovsDb.nb ?? ''}`, '--timeout=20', '--bare', '--columns=name',
    'find', 'Logical_Switch_Port', 'external_ids:vendor=kube-ovn', 'type!=router'])).split('\n').filter((l) => l.trim() !== '').sort();

  beforeAll(async () => {
    c = connectCluster();
    dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-restarts-'));
    writeFileSync(join(dir, '01-nad-macvlan.yaml'), seedMacvlanNad());
    files = [join(dir, '01-nad-macvlan.yaml'), join(EXAMPLES, '02-subnet-macvlan.yaml')];
    await c.kubectlOk(['apply', ...files.flatMap((f) => ['-f', f])]);
  }, 120_000);

  afterAll(async () => {
    await c.kubectlOk(['delete', 'deployment', 'churn', '--ignore-not-found', '--cascade=foreground', '--wait=true', '--timeout=180s'], { timeoutMs: 190_000 });
    await leaveClean(c, files);
    rmSync(dir, { recursive: true, force: true });
  }, 420_000);

  it(`${REPLICAS} pods all get their addresses once ours are back; nothing leaked, nothing given twice`, async () => {
    await c.kubectlOk(['apply', '-f', '-'], { input: deployment(REPLICAS) });
    const ours = async (component: string): Promise<string[]> =>
      (await listPods(c, NAMESPACE, `app.kubernetes.io/component=${component}`)).map((p) => p.metadata.uid);
    const before = { daemon: await ours('daemon'), controller: await ours('controller') };
    await c.kubectlOk(['-n', NAMESPACE, 'delete', 'pod', '-l', 'app.kubernetes.io/component=daemon', '--wait=false']);
    await c.kubectlOk(['-n', NAMESPACE, 'delete', 'pod', '-l', 'app.kubernetes.io/component=controller', '--wait=false']);
    await waitForComponents(c.kubectlOk);
    // Both were replaced (new pods), not merely left running.
    expect((await ours('daemon')).some((uid) => before.daemon.includes(uid))).toBe(false);
    expect((await ours('controller')).some((uid) => before.controller.includes(uid))).toBe(false);
    await waitReadyPods(c, 'default', { selector: 'app=churn' }, 300);

    const pods = await listPods(c, 'default', 'app=churn');
    expect(pods.length).toBe(REPLICAS);
    const ips = await ipObjects(c);
    const held: string[] = [];
    for (const pod of pods) {
      const name = pod.metadata.name;
      const a = pod.metadata.annotations ?? {};
      const eth0 = ips.get(`${name}.default`)?.spec.ipAddress;
      const net1 = ips.get(`${name}.default.${MACVLAN}`)?.spec.ipAddress;
      expect([a['ovn.kubernetes.io/ip_address'], a[`${MACVLAN}.kubernetes.io/ip_address`]]).toEqual([eth0, net1]);
      expect([...await addressesIn(c, 'default', name, 'eth0'), ...await addressesIn(c, 'default', name, 'net1')]).toEqual([`${eth0 ?? ''}/16`, `${net1 ?? ''}/16`]);
      held.push(`ovn-default ${eth0 ?? ''}`, `macvlan ${net1 ?? ''}`);
    }
    expect(new Set(held).size).toBe(held.length);
    // Every claim in the cluster belongs to one of these pods: none leaked from a failed ADD.
    const names = new Set(pods.map((p) => p.metadata.name));
    expect([...ips.values()].filter((i) => !names.has(i.spec.podName)).map((i) => i.spec.podName)).toEqual([]);
    expect(ips.size).toBe(2 * REPLICAS);
    expect(await nbPorts()).toEqual(pods.map((p) => `${p.metadata.name}.default`).sort());
  }, 900_000);

  it('scaling to zero releases every claim and logical port through kubelet\'s DELs', async () => {
    await c.kubectlOk(['scale', 'deployment', 'churn', '--replicas=0']);
    await waitFor('the churn pods gone', async () => ((await listPods(c, 'default', 'app=churn')).length === 0 ? true : undefined), { timeoutMs: 180_000, intervalMs: 1_000 });
    await waitForReleased(c, 'default');
    await waitFor('the logical ports released', async () => ((await nbPorts()).length === 0 ? true : undefined), { timeoutMs: 60_000 });
    const used = async (): Promise<number | undefined> =>
      (JSON.parse(await c.kubectlOk(['get', 'subnet', 'macvlan', '-o', 'json'])) as { status?: { v4usingIPs?: number } }).status?.v4usingIPs;
    await waitFor('the macvlan Subnet\'s status back to 0 used', async () => ((await used()) === 0 ? true : undefined), { timeoutMs: 30_000 });
    expect(await used()).toBe(0);
  }, 300_000);
});
