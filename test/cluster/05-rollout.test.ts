// A rollout of a new image tag replaces the DaemonSet's pod while running pods keep their
// networking: two pods ping each other over eth0 (OVN, plugged by the daemon) and over net1
// (macvlan, addressed by our IPAM) the whole time the daemon pod is replaced, and not one
// answer is missed. The new tag is the same image under another name (`ctr images tag`), as a
// registry would serve a release; the DaemonSet is set back to the original tag afterwards.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster, NAMESPACE, REPO, type Cluster } from '../harness/cluster.js';
import { deleteFiles, exec, getPod, listPods, waitReadyPods } from '../harness/clusterPods.js';
import { NODE_LINK } from '../harness/node.js';

const EXAMPLES = join(REPO, 'examples', 'macvlan-ipam');
const NEW_TAG = 'rollout-test';
const running = process.getuid?.() === 0 ? describe : describe.skip;

const pod = (name: string): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } },
  spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'alpine', command: ['/bin/ash', '-c', 'trap : TERM INT; sleep infinity & wait'] }] },
});

running('a rollout of the daemon to a new image tag', () => {
  let c: Cluster;
  let dir: string;
  let files: string[];
  let original: string;

  const setImage = (tag: string): Promise<string> => c.kubectlOk(['-n', NAMESPACE, 'set', 'image', 'daemonset/kube-ovn-ipam-daemon',
    `daemon=${c.image.replace(/:[^:]+$/, `:${tag}`)}`, `install-cni=${c.image.replace(/:[^:]+$/, `:${tag}`)}`]);
  const rolledOut = (): Promise<string> => c.kubectlOk(['-n', NAMESPACE, 'rollout', 'status', 'daemonset/kube-ovn-ipam-daemon', '--timeout=180s'], { timeoutMs: 190_000 });

  beforeAll(async () => {
    c = connectCluster();
    dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-rollout-'));
    writeFileSync(join(dir, '01-nad-macvlan.yaml'), readFileSync(join(EXAMPLES, '01-nad-macvlan.yaml'), 'utf8').replace('"master": "eth0"', `"master": "${NODE_LINK}"`));
    files = [join(dir, '01-nad-macvlan.yaml'), join(EXAMPLES, '02-subnet-macvlan.yaml')];
    await c.kubectlOk(['apply', ...files.flatMap((f) => ['-f', f])]);
    for (const name of ['ping-a', 'ping-b']) await c.kubectlOk(['apply', '-f', '-'], { input: pod(name) });
    await waitReadyPods(c, 'default', { names: ['ping-a', 'ping-b'] });
    original = c.image.slice(c.image.lastIndexOf(':') + 1);
    await c.ctr('images', 'tag', '--force', `docker.io/library/${c.image}`, `docker.io/library/${c.image.replace(/:[^:]+$/, `:${NEW_TAG}`)}`);
  }, 240_000);

  afterAll(async () => {
    await setImage(original).catch(() => undefined);
    await rolledOut().catch(() => undefined);
    await c.kubectl(['delete', 'pod', 'ping-a', 'ping-b', '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
    await deleteFiles(c, [...files].reverse()).catch(() => undefined);
    await c.ctr('images', 'rm', `docker.io/library/${c.image.replace(/:[^:]+$/, `:${NEW_TAG}`)}`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }, 300_000);

  it('replaces the daemon pod while pings over eth0 and net1 keep answering', async () => {
    const b = (await getPod(c, 'default', 'ping-b')).metadata.annotations ?? {};
    const [eth0, net1] = [b['ovn.kubernetes.io/ip_address'] ?? '', b['macvlan.default.kubernetes.io/ip_address'] ?? ''];
    const before = (await listPods(c, NAMESPACE, 'app.kubernetes.io/component=daemon')).map((p) => p.metadata.uid);
    // 160 pings each, 0.25 s apart (40 s), from before the rollout starts until after it ended.
    let pingsEnded = 0;
    const pings = Promise.all([eth0, net1].map((address) => exec(c, 'default', 'ping-a', ['ping', '-c', '160', '-i', '0.25', '-W', '2', address], 120_000)))
      .finally(() => { pingsEnded = Date.now(); });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await setImage(NEW_TAG);
    await rolledOut();
    const rolloutEnded = Date.now();
    const [overEth0, overNet1] = await pings;
    expect(pingsEnded).toBeGreaterThan(rolloutEnded);
    const after = await listPods(c, NAMESPACE, 'app.kubernetes.io/component=daemon');
    expect(after.map((p) => before.includes(p.metadata.uid))).toEqual([false]);
    const spec = JSON.parse(await c.kubectlOk(['-n', NAMESPACE, 'get', 'pod', after[0]?.metadata.name ?? '', '-o', 'json'])) as { spec: { containers: { image: string }[] } };
    expect(spec.spec.containers[0]?.image).toBe(`kube-ovn-ipam:${NEW_TAG}`);
    expect(overEth0).toMatch(/160 packets transmitted, 160 packets received, 0% packet loss/);
    expect(overNet1).toMatch(/160 packets transmitted, 160 packets received, 0% packet loss/);
  }, 300_000);
});
