// The reference macvlan plugin with host-local IPAM, driven exactly as a runtime drives it:
// two "pods" (network namespaces) get a macvlan on one veth master, take the first two
// addresses of the range, ping each other, and give everything back on DEL. This pins down
// what a main plugin expects from its IPAM plugin before our own IPAM plugin takes host-local's
// place (DESIGN.md §1, §3.4: the MAC reaches macvlan through CNI_ARGS `MAC=…`).
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CNI_PLUGIN_DIR, invokeCni, invokeCniOk } from '../harness/cni.js';
import {
  createNetns, createVethPair, deleteLink, deleteNetns, destroyAll, linkExists, linkState, netnsExists, netnsPath,
  ownNetnsNames, ping, uniqueLinkName,
} from '../harness/netns.js';
import { trackedResources } from '../harness/reaper.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const NETWORK = 'kovt-macvlan';
const MACVLAN = `${CNI_PLUGIN_DIR}/macvlan`;
const IF_NAME = 'net1';

describeAsRoot('macvlan-ping')('reference macvlan + host-local IPAM in two network namespaces', () => {
  let tmp: TempDir | undefined;
  let master = '';
  let peer = '';
  const pods = [
    { name: 'pod-a', mac: '0a:58:0a:fa:00:02', ip: '10.250.0.2', netns: '', containerId: '' },
    { name: 'pod-b', mac: '0a:58:0a:fa:00:03', ip: '10.250.0.3', netns: '', containerId: '' },
  ];
  const addResults = new Map<string, unknown>();
  const dataDir = (): string => join(tmp?.path ?? '/nonexistent', 'host-local');
  const netconf = (extra: object = {}): object => ({
    cniVersion: '1.0.0',
    name: NETWORK,
    type: 'macvlan',
    master,
    mode: 'bridge',
    ipam: { type: 'host-local', ranges: [[{ subnet: '10.250.0.0/24' }]], dataDir: dataDir() },
    ...extra,
  });
  const invocation = (pod: (typeof pods)[number]) => ({
    plugin: MACVLAN,
    containerId: pod.containerId,
    netns: netnsPath(pod.netns),
    ifName: IF_NAME,
    args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod.name, MAC: pod.mac },
  });
  /** The host-local reservations: address → file content (`<containerId>\r\n<ifName>`). */
  const reservations = (): Record<string, string> => {
    const dir = join(dataDir(), NETWORK);
    if (!existsSync(dir)) return {};
    return Object.fromEntries(readdirSync(dir).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).sort()
      .map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
  };

  beforeAll(async () => {
    tmp = makeTempDir('macvlan');
    master = uniqueLinkName('m');
    peer = uniqueLinkName('p');
    await createVethPair({ name: master }, { name: peer });
    for (const pod of pods) {
      pod.netns = await createNetns();
      pod.containerId = `${pod.netns}-${pod.name}`;
    }
  }, 30_000);

  afterAll(async () => {
    await destroyAll();
    tmp?.remove();
  }, 30_000);

  it('answers VERSION with the spec versions it supports', async () => {
    const out = await invokeCniOk({ plugin: MACVLAN, command: 'VERSION', netconf: { cniVersion: '1.0.0' } });
    expect(out.result).toEqual({
      cniVersion: '1.0.0', supportedVersions: ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0'],
    });
  });

  it('ADDs a macvlan with the first free addresses of the range and the MAC from CNI_ARGS', async () => {
    for (const pod of pods) {
      const out = await invokeCniOk({ ...invocation(pod), command: 'ADD', netconf: netconf() });
      addResults.set(pod.name, out.result);
      expect(out.result).toEqual({
        cniVersion: '1.0.0',
        interfaces: [{ name: IF_NAME, mac: pod.mac, sandbox: netnsPath(pod.netns) }],
        ips: [{ interface: 0, address: `${pod.ip}/24`, gateway: '10.250.0.1' }],
        dns: {},
      });
      expect(await linkState({ name: IF_NAME, netns: pod.netns })).toEqual({
        name: IF_NAME, mac: pod.mac, mtu: 1500, up: true, addresses: [`${pod.ip}/24`],
      });
    }
    expect(reservations()).toEqual({
      '10.250.0.2': `${pods[0]?.containerId}\r\n${IF_NAME}`,
      '10.250.0.3': `${pods[1]?.containerId}\r\n${IF_NAME}`,
    });
  }, 30_000);

  it('passes CHECK against the ADD result', async () => {
    for (const pod of pods) {
      const prevResult = addResults.get(pod.name);
      const out = await invokeCni({ ...invocation(pod), command: 'CHECK', netconf: netconf({ prevResult }) });
      expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '' });
    }
  }, 30_000);

  it('lets the pods ping each other through the master', async () => {
    const [a, b] = pods;
    if (a === undefined || b === undefined) throw new Error('two pods expected');
    expect((await ping(a.netns, b.ip)).stdout).toContain('1 received');
    expect((await ping(b.netns, a.ip)).stdout).toContain('1 received');
  }, 30_000);

  it('DELs both (twice: DEL of nothing succeeds) and empties the host-local store', async () => {
    for (const pod of pods) {
      for (let i = 0; i < 2; i += 1) {
        const out = await invokeCni({ ...invocation(pod), command: 'DEL', netconf: netconf() });
        expect({ code: out.code, stdout: out.stdout }).toEqual({ code: 0, stdout: '' });
      }
      expect(await linkExists({ name: IF_NAME, netns: pod.netns })).toBe(false);
    }
    expect(reservations()).toEqual({});
  }, 30_000);

  it('tears down without leaving a namespace, link or temp dir behind', async () => {
    for (const pod of pods) await deleteNetns(pod.netns);
    await deleteLink({ name: master });
    tmp?.remove();
    for (const pod of pods) expect(netnsExists(pod.netns)).toBe(false);
    expect(await linkExists({ name: master })).toBe(false);
    expect(await linkExists({ name: peer })).toBe(false);
    expect(existsSync(dataDir())).toBe(false);
    expect(ownNetnsNames()).toEqual([]);
    expect(trackedResources()).toEqual([]);
  }, 30_000);
});
