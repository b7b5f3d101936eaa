// Real OVS + OVN in userspace: two "pods" (network namespaces) whose veths are ports of br-int
// bound to two logical switch ports of one logical switch ping each other; teardown leaves
// nothing behind. This is the plumbing the daemon does for OVN networks (DESIGN.md §1), done
// by hand, so that later tests can trust the harness when they check the daemon's work.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createNetns, createVethPair, destroyAll, inNetnsOk, linkExists, linkState, netnsExists, ownNetnsNames, ping, setLinkUp } from '../harness/netns.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';
import { processAlive, trackedResources } from '../harness/reaper.js';
import { describeAsRoot } from '../harness/root.js';

const SWITCH = 'ls-ping';
const pods = [
  { lsp: 'ping-a', hostIf: 'veth-ping-a', mac: '0a:58:0a:fb:00:0a', ip: '10.251.0.10' },
  { lsp: 'ping-b', hostIf: 'veth-ping-b', mac: '0a:58:0a:fb:00:0b', ip: '10.251.0.11' },
] as const;

describeAsRoot('ovn-ping')('OVN in userspace: two pods on one logical switch', () => {
  let ovs: OvsEnv | undefined;
  const netnsOf = new Map<string, string>();
  const env = (): OvsEnv => {
    if (ovs === undefined) throw new Error('OVS did not start');
    return ovs;
  };
  const podNetns = (lsp: string): string => {
    const ns = netnsOf.get(lsp);
    if (ns === undefined) throw new Error(`pod ${lsp} was not created`);
    return ns;
  };

  beforeAll(async () => {
    ovs = await startOvs();
  }, 60_000);

  afterAll(async () => {
    await ovs?.stop();
    await destroyAll();
  }, 60_000);

  it('runs br-int on the netdev datapath with the chassis registered in the SB database', async () => {
    expect(await env().vsctl('get', 'Bridge', env().bridge, 'datapath_type')).toBe('netdev');
    expect(await env().sbctl('--bare', '--columns=name', 'find', 'Chassis', `name=${env().systemId}`)).toBe(env().systemId);
    expect(await env().sbctl('--bare', '--columns=type', 'list', 'Encap')).toBe('geneve');
  });

  it('binds two veth ports to two logical switch ports on this chassis', async () => {
    await env().nbctl('ls-add', SWITCH);
    for (const pod of pods) {
      await env().nbctl('lsp-add', SWITCH, pod.lsp, '--', 'lsp-set-addresses', pod.lsp, `${pod.mac} ${pod.ip}`);
      const ns = await createNetns();
      netnsOf.set(pod.lsp, ns);
      await createVethPair(env().portEnd(pod.hostIf), { name: 'eth0', netns: ns }, { up: false });
      await inNetnsOk(ns, ['ip', 'link', 'set', 'eth0', 'address', pod.mac]);
      await inNetnsOk(ns, ['ip', 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0']);
      await inNetnsOk(ns, ['ip', 'link', 'set', 'eth0', 'up']);
      await setLinkUp(env().portEnd(pod.hostIf));
      await env().vsctl('add-port', env().bridge, pod.hostIf, '--', 'set', 'Interface', pod.hostIf,
        `external_ids:iface-id=${pod.lsp}`);
    }
    for (const pod of pods) {
      await env().vsctl('wait-until', 'Interface', pod.hostIf, 'external_ids:ovn-installed=true');
      expect(await env().nbctl('lsp-get-up', pod.lsp)).toBe('up');
      const chassis = await env().sbctl('--bare', '--columns=_uuid', 'find', 'Chassis', `name=${env().systemId}`);
      expect(await env().sbctl('--bare', '--columns=chassis', 'find', 'Port_Binding', `logical_port=${pod.lsp}`)).toBe(chassis);
      expect(await linkState({ name: 'eth0', netns: podNetns(pod.lsp) })).toEqual({
        name: 'eth0', mac: pod.mac, mtu: 1500, up: true, addresses: [`${pod.ip}/24`],
      });
    }
  }, 60_000);

  it('lets the pods ping each other', async () => {
    const [a, b] = pods;
    expect((await ping(podNetns(a.lsp), b.ip)).stdout).toContain('1 received');
    expect((await ping(podNetns(b.lsp), a.ip)).stdout).toContain('1 received');
  }, 60_000);

  it('tears down without leaving a namespace, link, process or temp dir behind', async () => {
    const { daemons, runDir, netns } = env();
    expect(daemons.map((d) => d.name)).toEqual(
      ['ovsdb-server', 'ovs-vswitchd', 'ovnnb_db', 'ovnsb_db', 'ovn-northd', 'ovn-controller']);
    expect(daemons.every((d) => processAlive(d.pid))).toBe(true);
    const namespaces = [...netnsOf.values(), ...(netns === undefined ? [] : [netns])];

    await env().stop();
    await destroyAll();

    expect(daemons.filter((d) => processAlive(d.pid))).toEqual([]);
    expect(existsSync(runDir)).toBe(false);
    expect(namespaces.filter(netnsExists)).toEqual([]);
    expect(ownNetnsNames()).toEqual([]);
    for (const pod of pods) expect(await linkExists(env().portEnd(pod.hostIf))).toBe(false);
    expect(trackedResources()).toEqual([]);
  }, 60_000);
});
