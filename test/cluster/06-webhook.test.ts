// The admission webhook on the real cluster (our webhook as a pod behind its Service, the API
// server calling it): each deny row fails `kubectl apply` with its exact message and writes
// nothing (no pod, no IP object); each warn row is admitted with its exact warning (applied as
// a server-side dry run, so nothing stays); two pods asking for one static address at the same
// moment never both run with it; and with the webhook's pods gone, what the README promises:
// a pod whose static MAC only the webhook can pass on is refused, every other pod is admitted
// and the controller reports what is wrong with it.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster, NAMESPACE, REPO, waitForComponents, type Cluster } from '../harness/cluster.js';
import { addressesIn, describeOnCluster, getPod, ipObjects, leaveClean, seedMacvlanNad, SLEEPER, waitReadyPods } from '../harness/clusterPods.js';
import { waitFor } from '../harness/exec.js';

const EXAMPLES = join(REPO, 'examples', 'macvlan-ipam');
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const M = 'macvlan.default.kubernetes.io';

const pod = (name: string, annotations: Readonly<Record<string, string>>): object => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations },
  spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'alpine', command: [...SLEEPER] }] },
});

const deployment = (name: string, replicas: number, annotations: Readonly<Record<string, string>>): object => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: 'default' },
  spec: {
    replicas, selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name }, annotations }, spec: { containers: [{ name: 'c', image: 'alpine', command: [...SLEEPER] }] } },
  },
});

/** What kubectl printed after "denied the request: " (the webhook's message), or the whole stderr. */
const denial = (stderr: string, webhook: string): string => {
  const marker = `admission webhook "${webhook}" denied the request: `;
  const at = stderr.indexOf(marker);
  return at < 0 ? stderr : (stderr.slice(at + marker.length).split('\n')[0] ?? '');
};

/** kubectl's `Warning: …` lines. */
const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('Warning: ')).map((l) => l.slice('Warning: '.length));

describeOnCluster('the admission webhook on a real cluster', () => {
  let c: Cluster;
  let dir: string;
  let files: string[];

  /** Waits for a Warning Event on the pod whose `reason message` starts with `prefix`. */
  const waitForEvent = (podName: string, prefix: string): Promise<true> => waitFor(`an Event "${prefix}…" on ${podName}`, async () => {
    const events = await c.kubectlOk(['-n', 'default', 'get', 'events', '--field-selector', `involvedObject.name=${podName}`,
      '-o', 'jsonpath={range .items[*]}{.reason} {.message}{"\\n"}{end}']);
    return events.split('\n').some((l) => l.startsWith(prefix)) ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 500 });

  const apply = (object: object, ...extra: string[]) => c.kubectl(['apply', ...extra, '-f', '-'], { input: JSON.stringify(object) });

  beforeAll(async () => {
    c = connectCluster();
    dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-webhook-'));
    writeFileSync(join(dir, '01-nad-macvlan.yaml'), seedMacvlanNad());
    writeFileSync(join(dir, 'holder.json'), JSON.stringify(pod('holder', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.50', [`${M}/mac_address`]: '02:00:00:00:00:50' })));
    files = [join(dir, '01-nad-macvlan.yaml'), join(EXAMPLES, '02-subnet-macvlan.yaml'), join(dir, 'holder.json')];
    await c.kubectlOk(['apply', ...files.flatMap((f) => ['-f', f])]);
    await waitReadyPods(c, 'default', { names: ['holder'] });
  }, 240_000);

  afterAll(async () => {
    await c.kubectlOk(['-n', NAMESPACE, 'scale', 'deployment/kube-ovn-ipam-webhook', '--replicas=1']);
    await c.kubectlOk(['-n', 'default', 'delete', 'pods', '--all', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
    await leaveClean(c, files);
    rmSync(dir, { recursive: true, force: true });
  }, 360_000);

  const podRows: [string, Readonly<Record<string, string>>, string][] = [
    ['a malformed address', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.300' },
      'annotation "macvlan.default.kubernetes.io/ip_address": "172.17.0.300" is not an IP address'],
    ['a malformed MAC', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '00:00:00:53:6b' },
      'annotation "macvlan.default.kubernetes.io/mac_address": "00:00:00:53:6b" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)'],
    ['a malformed ip_pool', { [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: '172.17.0.20,172.17.0' },
      'annotation "macvlan.default.kubernetes.io/ip_pool": "172.17.0" is not an IP address'],
    ['malformed routes', { [NETWORKS]: 'macvlan', [`${M}/routes`]: '[{"dst":"10.0.0.0/33"}]' },
      'annotation "macvlan.default.kubernetes.io/routes": [0].dst: "10.0.0.0/33" has an invalid prefix length (expected 0 to 32)'],
    ['a malformed networks annotation', { [NETWORKS]: 'macvlan,default/a/b' },
      'annotation "k8s.v1.cni.cncf.io/networks": "default/a/b" has more than one "/" (expected [namespace/]name[@interface])'],
    ['a static address outside its subnet', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.18.0.5' },
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.18.0.5 is outside subnet macvlan (172.17.0.0/16)'],
    ['the gateway', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.1' },
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.1 is the gateway of subnet macvlan (172.17.0.0/16)'],
    ['an address another live pod holds', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.50' },
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.50 is already held by default/holder in subnet macvlan (172.17.0.0/16)'],
    ['a MAC another live pod holds', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '02:00:00:00:00:50' },
      'annotation "macvlan.default.kubernetes.io/mac_address": MAC 02:00:00:00:00:50 is already used by default/holder in subnet macvlan'],
    ['a multicast MAC', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '01:00:5e:00:00:01' },
      'annotation "macvlan.default.kubernetes.io/mac_address": "01:00:5e:00:00:01" is a multicast MAC address (the first octet must be even)'],
    ['the broadcast MAC', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: 'ff:ff:ff:ff:ff:ff' },
      'annotation "macvlan.default.kubernetes.io/mac_address": "ff:ff:ff:ff:ff:ff" is the broadcast MAC address'],
  ];

  it.each(podRows)('denies a pod with %s: kubectl apply fails with the exact message, nothing is written', async (_, annotations, message) => {
    const r = await apply(pod('denied', annotations));
    expect([r.code, denial(r.stderr, 'pods.ipam.kubeovn.io')]).toEqual([1, message]);
    expect(r.stderr).toContain('Error from server (Forbidden)');
    expect((await c.kubectlOk(['-n', 'default', 'get', 'pod', 'denied', '--ignore-not-found', '-o', 'name'])).trim()).toBe('');
    expect([...(await ipObjects(c)).keys()].filter((k) => k.startsWith('denied.'))).toEqual([]);
  }, 60_000);

  it('denies a static ip_address on a Deployment of 2 replicas; nothing is written', async () => {
    const r = await apply(deployment('shared', 2, { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.60' }));
    expect([r.code, denial(r.stderr, 'workloads.ipam.kubeovn.io')]).toEqual([1,
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.60 would be shared by the 2 replicas of Deployment default/shared; give each pod its own with ip_pool']);
    expect((await c.kubectlOk(['-n', 'default', 'get', 'deployment,replicasets,pods', '-l', 'app=shared', '-o', 'name'])).trim()).toBe('');
    expect((await c.kubectlOk(['-n', 'default', 'get', 'deployment', 'shared', '--ignore-not-found', '-o', 'name'])).trim()).toBe('');
  }, 60_000);

  it.each<[string, object, string]>([
    ['a NAD that does not exist yet', pod('warned', { [NETWORKS]: 'missing' }),
      'annotation "k8s.v1.cni.cncf.io/networks": net1: NetworkAttachmentDefinition default/missing does not exist'],
    ['a Subnet that does not exist yet', pod('warned', { 'ovn.kubernetes.io/logical_switch': 'later' }),
      'annotation "ovn.kubernetes.io/logical_switch": subnet later (named by annotation ovn.kubernetes.io/logical_switch) does not exist'],
    ['an ip_pool that cannot hold the replicas plus the rollout surge', deployment('pool-small', 2, { [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: '172.17.0.70,172.17.0.71' }),
      'pod default/pool-small-surge-1 of Deployment default/pool-small (rollout surge) would stall: annotation "macvlan.default.kubernetes.io/ip_pool": no entry of ip_pool 172.17.0.70,172.17.0.71 is free: ' +
      '172.17.0.70 is already held by default/pool-small-sim-1 in subnet macvlan (172.17.0.0/16); 172.17.0.71 is already held by default/pool-small-sim-2 in subnet macvlan (172.17.0.0/16)'],
  ])('admits %s with the exact warning (server-side dry run: nothing stays)', async (_, object, warning) => {
    const r = await apply(object, '--dry-run=server');
    expect([r.code, warnings(r.stderr)]).toEqual([0, [warning]]);
    expect((await c.kubectlOk(['-n', 'default', 'get', 'pods,deployments', '-o', 'name'])).trim()).toBe('pod/holder');
  }, 60_000);

  it('two pods asking for one static address at the same moment: never both running with it', async () => {
    const twins = ['twin-a', 'twin-b'].map((name) => pod(name, { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.80' }));
    const results = await Promise.all(twins.map((t) => apply(t)));
    const admitted = ['twin-a', 'twin-b'].filter((_, i) => results[i]?.code === 0);
    expect(admitted.length).toBeGreaterThanOrEqual(1);
    for (const r of results.filter((x) => x.code !== 0)) {
      expect(denial(r.stderr, 'pods.ipam.kubeovn.io')).toBe(`annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.80 is already held by default/${admitted[0] ?? ''} in subnet macvlan (172.17.0.0/16)`);
    }
    // Whatever the webhook let through, the controller gives the address once.
    const owner = await waitFor('one twin holds 172.17.0.80', async () => {
      const holders = [...(await ipObjects(c)).values()].filter((ip) => ip.spec.ipAddress === '172.17.0.80').map((ip) => ip.spec.podName);
      return holders.length === 1 ? holders[0] : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await waitReadyPods(c, 'default', { names: [owner] });
    expect(await addressesIn(c, 'default', owner, 'net1')).toEqual(['172.17.0.80/16']);
    const other = admitted.find((n) => n !== owner);
    if (other !== undefined) {
      // Admitted too (the webhooks answered before either claim existed): the controller refuses it.
      await waitForEvent(other, `AcquireAddressFailed AddressConflict: pod default/${other} net1 (macvlan.default): `);
      expect((await getPod(c, 'default', other)).status.phase).toBe('Pending');
    }
    await c.kubectlOk(['-n', 'default', 'delete', 'pods', ...admitted, '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
  }, 240_000);

  it('with the webhook\'s pods gone: a static-MAC attachment pod is refused, others are admitted and the controller reports their faults', async () => {
    await c.kubectlOk(['-n', NAMESPACE, 'scale', 'deployment/kube-ovn-ipam-webhook', '--replicas=0']);
    await waitFor('no webhook pod left', async () =>
      ((await c.kubectlOk(['-n', NAMESPACE, 'get', 'pods', '-l', 'app.kubernetes.io/component=webhook', '-o', 'name'])).trim() === '' ? true : undefined), { timeoutMs: 120_000, intervalMs: 500 });
    const refused = await apply(pod('mac-down', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '02:00:00:00:00:77' }));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('failed calling webhook "pod-mac.ipam.kubeovn.io"');
    expect((await c.kubectlOk(['-n', 'default', 'get', 'pod', 'mac-down', '--ignore-not-found', '-o', 'name'])).trim()).toBe('');
    // No static MAC: admitted at once (the validating webhooks fail open) and checked by the controller.
    const plain = await apply(pod('plain-down', { [NETWORKS]: 'macvlan' }));
    const outside = await apply(pod('outside-down', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.18.0.5' }));
    expect([plain.code, outside.code]).toEqual([0, 0]);
    await waitReadyPods(c, 'default', { names: ['plain-down'] });
    await waitForEvent('outside-down', 'AcquireAddressFailed AddressOutOfRange: pod default/outside-down net1 (macvlan.default): ');
    // Back: the refused pod is admitted, its MAC written for Multus.
    await c.kubectlOk(['-n', NAMESPACE, 'scale', 'deployment/kube-ovn-ipam-webhook', '--replicas=1']);
    await waitForComponents(c.kubectlOk.bind(c));
    const again = await waitFor('the static-MAC pod admitted once the webhook is back', async () => {
      const r = await apply(pod('mac-down', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '02:00:00:00:00:77' }));
      return r.code === 0 ? r : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1_000 });
    expect(again.code).toBe(0);
    expect((await getPod(c, 'default', 'mac-down')).metadata.annotations?.[NETWORKS]).toBe('[{"name":"macvlan","mac":"02:00:00:00:00:77"}]');
    await c.kubectlOk(['-n', 'default', 'delete', 'pods', 'mac-down', 'plain-down', 'outside-down', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
  }, 360_000);
});
