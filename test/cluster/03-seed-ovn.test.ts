// The seed's OVN-attachment examples 06-11 on the real one-node cluster: Multus runs our plugin
// as the cluster network (eth0) and as the attachment's main plugin (net1), our daemon pod plugs
// both into OVS and waits for ovn-controller, our controller pod writes the logical switches and
// ports. The seed's YAML is applied verbatim; the Subnets it leaves implicit are made here:
// attachnet 19.10.0.0/24 (the network of the seed's `ip route` output for example 07) and
// my-subnet 172.17.0.0/16 (provider ovn, named by 09, 10 and 11).
// 09 and 10 attach with 06's NAD (07's routes name the gateway 19.10.0.1, which is not on
// my-subnet); 08 with 07's. 09 and 11 both name their pod `spec-subnet`: 11 comes after 09's pod
// is deleted, which is also the release case (kubelet's DEL through Multus and our plugin).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectCluster, REPO, type Cluster } from '../harness/cluster.js';
import {
  addressesIn, describeOnCluster, exec, getPod, ipObjects, leaveClean, networkStatus, ping, planWith, routesIn, waitForReleased, waitReadyPods,
  type Planned,
} from '../harness/clusterPods.js';
import { runOk, waitFor } from '../harness/exec.js';

const SEED = join(REPO, 'examples', 'ovn-attachments');
const seed = (name: string): string => join(SEED, name);
const ATTACHNET = 'attachnet.default.ovn';

const SUBNETS = `apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: attachnet}
spec: {provider: ${ATTACHNET}, cidrBlock: 19.10.0.0/24, gateway: 19.10.0.1}
---
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: my-subnet}
spec: {provider: ovn, cidrBlock: 172.17.0.0/16}
`;

describeOnCluster('seed examples 06-11 on a real cluster (Multus, our plugin and daemon, OVS and OVN)', () => {
  let c: Cluster;
  let dir: string;
  let subnets: string;
  let predicted: readonly Planned[] = [];

  const nbctl = (...args: string[]): Promise<string> => runOk(['ovn-nbctl', `--db=${c.ovsDb.nb ?? ''}`, '--timeout=20', ...args]).then((o) => o.trim());
  const ports = async (ls: string): Promise<string[]> => (await nbctl('--bare', '--columns=name', 'find', 'Logical_Switch_Port', `external_ids:ls=${ls}`, 'type!=router'))
    .split('\n').filter((l) => l !== '').sort();
  const annotation = async (pod: string, key: string): Promise<string> => (await getPod(c, 'default', pod)).metadata.annotations?.[key] ?? '';
  const planFor = (pod: string, iface: string): string | undefined => predicted.find((a) => a.pod === `default/${pod}` && a.interface === iface)?.ipAddress;

  beforeAll(async () => {
    c = connectCluster();
    dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-seed-ovn-'));
    subnets = join(dir, 'subnets.yaml');
    writeFileSync(subnets, SUBNETS);
    const first = [subnets, seed('06-nad-attachnet-ovn.yaml'), seed('09-pod-attachnet-spec-subnet.yaml'), seed('10-pod-attachnet-static-ip.yaml')];
    predicted = await planWith(c, first);
    await c.kubectlOk(['apply', '-f', subnets]);
    await c.kubectlOk(['apply', ...first.slice(1).flatMap((f) => ['-f', f])]);
    await waitReadyPods(c, 'default', { names: ['spec-subnet', 'static-ip'] });
    await c.kubectlOk(['apply', '-f', seed('07-nad-attachnet-ovn-routes.yaml'), '-f', seed('08-pod-attachnet-random.yaml')]);
    await waitReadyPods(c, 'default', { names: ['samplepod'] });
  }, 420_000);

  afterAll(async () => {
    await c.kubectlOk(['delete', 'pods', 'samplepod', 'spec-subnet', 'static-ip', '--ignore-not-found', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
    await leaveClean(c, [subnets, seed('07-nad-attachnet-ovn-routes.yaml')]);
    rmSync(dir, { recursive: true, force: true });
  }, 360_000);

  it('09 and 10 got the addresses the plan predicted before they were applied, inside the pods', async () => {
    expect([planFor('spec-subnet', 'net1'), planFor('static-ip', 'net1')]).toEqual(['172.17.0.2', '172.17.0.21']);
    expect(await addressesIn(c, 'default', 'spec-subnet', 'net1')).toEqual(['172.17.0.2/16']);
    expect(await addressesIn(c, 'default', 'static-ip', 'net1')).toEqual(['172.17.0.21/16']);
    for (const pod of ['spec-subnet', 'static-ip']) {
      expect(await addressesIn(c, 'default', pod, 'eth0')).toEqual([`${await annotation(pod, 'ovn.kubernetes.io/ip_address')}/16`]);
    }
  }, 120_000);

  it('08 with 07\'s NAD: net1 from attachnet with the seed\'s routes, eth0\'s default route', async () => {
    const eth0 = await annotation('samplepod', 'ovn.kubernetes.io/ip_address');
    expect(await addressesIn(c, 'default', 'samplepod', 'net1')).toEqual(['19.10.0.2/24']);
    expect(await routesIn(c, 'default', 'samplepod')).toEqual([
      'default via 10.16.0.1 dev eth0',
      `10.16.0.0/16 dev eth0 scope link src ${eth0}`,
      '19.10.0.0/24 dev net1 scope link src 19.10.0.2',
      // The seed's busybox printed no scope for this route; the kernel's is link, and today's
      // busybox says so.
      '19.10.0.0/16 dev net1 scope link',
      '19.20.0.0/16 via 19.10.0.1 dev net1',
    ]);
  }, 120_000);

  it('Multus\'s network-status agrees with our annotations; each interface has its logical port', async () => {
    for (const pod of ['samplepod', 'spec-subnet', 'static-ip']) {
      const p = await getPod(c, 'default', pod);
      const a = p.metadata.annotations ?? {};
      expect(networkStatus(p).map((s) => [s.interface, s.ips, s.mac])).toEqual([
        ['eth0', [a['ovn.kubernetes.io/ip_address']], a['ovn.kubernetes.io/mac_address']],
        ['net1', [a[`${ATTACHNET}.kubernetes.io/ip_address`]], a[`${ATTACHNET}.kubernetes.io/mac_address`]],
      ]);
    }
    expect(await ports('my-subnet')).toEqual([`spec-subnet.default.${ATTACHNET}`, `static-ip.default.${ATTACHNET}`]);
    expect(await ports('attachnet')).toEqual([`samplepod.default.${ATTACHNET}`]);
    expect(await ports('ovn-default')).toEqual(['samplepod.default', 'spec-subnet.default', 'static-ip.default']);
  }, 120_000);

  it('pods ping each other over the OVN attachment and over eth0', async () => {
    expect(await ping(c, 'default', 'spec-subnet', '172.17.0.21')).toMatch(/2 packets received/);
    expect(await ping(c, 'default', 'static-ip', '172.17.0.2')).toMatch(/2 packets received/);
    expect(await ping(c, 'default', 'samplepod', await annotation('static-ip', 'ovn.kubernetes.io/ip_address'))).toMatch(/2 packets received/);
  }, 120_000);

  it('deleting 09\'s pod releases through kubelet\'s DEL: claims and logical ports gone', async () => {
    await c.kubectlOk(['delete', 'pod', 'spec-subnet', '--wait=true', '--timeout=120s'], { timeoutMs: 130_000 });
    await waitForReleased(c, 'default', ['samplepod', 'static-ip']);
    await waitFor('the logical ports of spec-subnet removed', async () => ((await ports('my-subnet')).length === 1 ? true : undefined), { timeoutMs: 30_000 });
    expect(await ports('my-subnet')).toEqual([`static-ip.default.${ATTACHNET}`]);
    expect(await ports('ovn-default')).toEqual(['samplepod.default', 'static-ip.default']);
  }, 120_000);

  it('11: eth0 and net1 both on my-subnet, with source routing, both answering a ping', async () => {
    await c.kubectlOk(['apply', '-f', seed('06-nad-attachnet-ovn.yaml'), '-f', seed('11-pod-multi-nic-same-subnet.yaml')]);
    await waitReadyPods(c, 'default', { names: ['spec-subnet'] });
    // 172.17.0.2 was 09's: a released address waits until no never-used one is left.
    expect(await addressesIn(c, 'default', 'spec-subnet', 'eth0')).toEqual(['172.17.0.3/16']);
    expect(await addressesIn(c, 'default', 'spec-subnet', 'net1')).toEqual(['172.17.0.4/16']);
    const rules = (await exec(c, 'default', 'spec-subnet', ['ip', 'rule', 'show'])).split('\n').map((l) => l.trim().replace(/\s+/g, ' ')).filter((l) => l.startsWith('30000:'));
    expect(rules.map((r) => r.replace(/lookup \S+$/, 'lookup T'))).toEqual(['30000: from 172.17.0.3 lookup T', '30000: from 172.17.0.4 lookup T']);
    expect(await ping(c, 'default', 'static-ip', '172.17.0.3')).toMatch(/2 packets received/);
    expect(await ping(c, 'default', 'static-ip', '172.17.0.4')).toMatch(/2 packets received/);
    const ips = await ipObjects(c);
    expect([ips.get('spec-subnet.default')?.spec.ipAddress, ips.get(`spec-subnet.default.${ATTACHNET}`)?.spec.ipAddress]).toEqual(['172.17.0.3', '172.17.0.4']);
  }, 120_000);
});
