// A rollout of a new image tag replaces the DaemonSet's pod while running pods keep their
// networking: two pods ping each other over eth0 (OVN, plugged by the daemon) and over net1
// (macvlan, addressed by our IPAM) the whole time the daemon pod is replaced, and not one
// answer is missed. The new tag is the same image under another name (`ctr images tag`), as a
// registry would serve a release; the DaemonSet is set back to the original tag afterwards.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster, NAMESPACE, REPO, type Cluster } from '../harness/cluster.js';
import { describeOnCluster, exec, getPod, leaveClean, listPods, seedMacvlanNad, SLEEPER, waitReadyPods } from '../harness/clusterPods.js';

const EXAMPLES = join(REPO, 'examples', 'macvlan-ipam');
const NEW_TAG = 'rollout-test';

const pod = (name: string): string => JSON.stringify({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: 'default', annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan' } },
  spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'alpine', command: [...SLEEPER] }] },
});

/** Starts `ping` inside the pod in the background (its output in /tmp/<name>); the returned
 *  function stops it with SIGINT, on which ping prints its summary, and resolves with the output. */
async function pingInBackground(c: Cluster, from: string, address: string, name: string): Promise<() => Promise<string>> {
  await exec(c, 'default', from, ['sh', '-c', `ping -i 0.25 -W 2 ${address} > /tmp/${name} 2>&1 & echo $! > /tmp/${name}.pid`]);
  return () => exec(c, 'default', from, ['sh', '-c', `kill -INT $(cat /tmp/${name}.pid); sleep 1; cat /tmp/${name}`]);
}

/** Judges ping's output by its replies, not by its summary: SIGINT may arrive while the last echo
 *  is still on the wire, so the summary can count one more sent than received without any loss.
 *  Every sequence number up to the highest answered one must have its reply (no gap), and at
 *  most the last echo sent may be unanswered. At 4 a second the rollout must span more than 8. */
function answered(output: string): { gaps: number[]; inFlightAtStop: string } {
  const seqs = [...output.matchAll(/seq=(\d+)/g)].map((m) => Number(m[1]));
  const [, sent] = /(\d+) packets transmitted/.exec(output) ?? [];
  const highest = Math.max(-1, ...seqs);
  const gaps = Array.from({ length: highest + 1 }, (_, i) => i).filter((i) => !seqs.includes(i));
  const unanswered = Number(sent) - (highest + 1);
  if (highest < 8) return { gaps: [-1], inFlightAtStop: `only ${highest + 1} answered:\n${output}` };
  return { gaps, inFlightAtStop: unanswered === 0 || unanswered === 1 ? 'at most the last' : `${unanswered} unanswered after seq ${highest}:\n${output}` };
}

describeOnCluster('a rollout of the daemon to a new image tag', () => {
  let c: Cluster;
  let dir: string;
  let files: string[];
  let original: string;

  const tagged = (tag: string): string => c.image.replace(/:[^:]+$/, `:${tag}`);
  const setImage = (tag: string): Promise<string> => c.kubectlOk(['-n', NAMESPACE, 'set', 'image', 'daemonset/kube-ovn-ipam-daemon',
    `daemon=${tagged(tag)}`, `install-cni=${tagged(tag)}`]);
  const rolledOut = (): Promise<string> => c.kubectlOk(['-n', NAMESPACE, 'rollout', 'status', 'daemonset/kube-ovn-ipam-daemon', '--timeout=240s'], { timeoutMs: 250_000 });

  beforeAll(async () => {
    c = connectCluster();
    dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-rollout-'));
    writeFileSync(join(dir, '01-nad-macvlan.yaml'), seedMacvlanNad());
    files = [join(dir, '01-nad-macvlan.yaml'), join(EXAMPLES, '02-subnet-macvlan.yaml')];
    await c.kubectlOk(['apply', ...files.flatMap((f) => ['-f', f])]);
    for (const name of ['ping-a', 'ping-b']) await c.kubectlOk(['apply', '-f', '-'], { input: pod(name) });
    await waitReadyPods(c, 'default', { names: ['ping-a', 'ping-b'] });
    original = c.image.slice(c.image.lastIndexOf(':') + 1);
    await c.ctr('images', 'tag', '--force', `docker.io/library/${c.image}`, `docker.io/library/${tagged(NEW_TAG)}`);
  }, 300_000);

  afterAll(async () => {
    await setImage(original);
    await rolledOut();
    await c.kubectlOk(['delete', 'pod', 'ping-a', 'ping-b', '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
    await leaveClean(c, files);
    await c.ctr('images', 'rm', `docker.io/library/${tagged(NEW_TAG)}`);
    rmSync(dir, { recursive: true, force: true });
  }, 600_000);

  it('replaces the daemon pod while pings over eth0 and net1 keep answering', async () => {
    const b = (await getPod(c, 'default', 'ping-b')).metadata.annotations ?? {};
    const [eth0, net1] = [b['ovn.kubernetes.io/ip_address'] ?? '', b['macvlan.default.kubernetes.io/ip_address'] ?? ''];
    const before = (await listPods(c, NAMESPACE, 'app.kubernetes.io/component=daemon')).map((p) => p.metadata.uid);
    // Pings every 0.25 s from before the rollout starts until after it ended.
    const stops = [await pingInBackground(c, 'ping-a', eth0, 'eth0'), await pingInBackground(c, 'ping-a', net1, 'net1')];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await setImage(NEW_TAG);
    await rolledOut();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const [overEth0, overNet1] = await Promise.all(stops.map((stop) => stop()));
    const after = await listPods(c, NAMESPACE, 'app.kubernetes.io/component=daemon');
    expect(after.map((p) => before.includes(p.metadata.uid))).toEqual([false]);
    const spec = JSON.parse(await c.kubectlOk(['-n', NAMESPACE, 'get', 'pod', after[0]?.metadata.name ?? '', '-o', 'json'])) as { spec: { containers: { image: string }[] } };
    expect(spec.spec.containers[0]?.image).toBe(`kube-ovn-ipam:${NEW_TAG}`);
    for (const output of [overEth0 ?? '', overNet1 ?? '']) expect(answered(output)).toEqual({ gaps: [], inFlightAtStop: 'at most the last' });
  }, 400_000);
});
