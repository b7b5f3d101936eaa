// Every CNI spec version we speak, end to end through the real daemon (root): kube-apiserver,
// the Controller in-process, the daemon in-process on a temp socket, OVS/OVN in userspace,
// network namespaces as the pod. For each of 0.3.0, 0.3.1, 0.4.0, 1.0.0 and 1.1.0 the ADD
// result is checked against that version's result shape (SPEC.md of the version, "Result"),
// written out below as a small validator per version, and against the exact values:
// - Debian's reference macvlan with our IPAM (seed 01): every version macvlan speaks (up to
//   1.0.0); the result is macvlan's, built on ours;
// - our IPAM result itself, the executable invoked with the same netconf as macvlan invokes it:
//   every version, 1.1.0 included (macvlan does not speak 1.1.0);
// - our plugin as the main plugin (`type: kube-ovn`, example 07's NAD, an OVN attachment):
//   every version, 1.1.0 included.
import { daemonConfigFor, startNodeCluster, stopNodeCluster } from '../harness/inProcess.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';
import { type ApiServer } from '../harness/apiserver.js';
import { CNI_PLUGIN_DIR, invokeCni, invokeCniOk, type CniInvocation } from '../harness/cni.js';
import { waitFor } from '../harness/exec.js';
import { createNetns, createVethPair, deleteNetns, linkExists, linkState, netnsPath, uniqueLinkName } from '../harness/netns.js';
import { type OvsEnv } from '../harness/ovs.js';
import { describeAsRoot } from '../harness/root.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const MACVLAN = new URL('../../examples/macvlan-ipam/', import.meta.url);
const NAD_07 = new URL('../../examples/ovn-attachments/07-nad-attachnet-ovn-routes.yaml', import.meta.url);
const NODE = 'node-a';
const POD = 'versions';
const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
type Version = (typeof VERSIONS)[number];
/** What Debian's macvlan (containernetworking-plugins 1.1.1) speaks. */
const MACVLAN_VERSIONS: readonly Version[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];

const quiet = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

const nadConfig = (url: URL): Record<string, unknown> =>
  JSON.parse((parse(readFileSync(url, 'utf8')) as { spec: { config: string } }).spec.config) as Record<string, unknown>;

// ---- the result shape of each version (SPEC.md, "Result"), every problem with its path ----

type Json = Readonly<Record<string, unknown>>;
const isObject = (u: unknown): u is Json => typeof u === 'object' && u !== null && !Array.isArray(u);
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/** 4 or 6 for `address/prefix` with a prefix that fits the family, else undefined. */
const cidrFamily = (text: string): 4 | 6 | undefined => {
  const [address = '', prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if ((family !== 4 && family !== 6) || prefix === undefined || rest.length > 0 || !/^(0|[1-9][0-9]{0,2})$/.test(prefix)) return undefined;
  return Number(prefix) <= (family === 4 ? 32 : 128) ? family : undefined;
};

const v1 = (v: Version): boolean => v === '1.0.0' || v === '1.1.0';

/** The fields each object may have in version `v` (1.1.0 added interface mtu, socketPath, pciID and route mtu, advmss, priority, table, scope). */
const allowed = (v: Version) => ({
  top: ['cniVersion', 'interfaces', 'ips', 'routes', 'dns'],
  iface: ['name', 'mac', 'sandbox', ...(v === '1.1.0' ? ['mtu', 'socketPath', 'pciID'] : [])],
  ip: [...(v1(v) ? [] : ['version']), 'address', 'gateway', 'interface'],
  route: ['dst', 'gw', ...(v === '1.1.0' ? ['mtu', 'advmss', 'priority', 'table', 'scope'] : [])],
  dns: ['nameservers', 'domain', 'search', 'options'],
});

/**
 * The problems of `result` as an ADD result of version `v`, each with its path; [] when it is
 * one. An ADD result that gives addresses must have `ips` (IPAM plugins must); `interfaces` is
 * optional (IPAM results omit it). 0.3.x and 0.4.0 addresses need `version` ("4"/"6", the
 * address's family); 1.0.0 removed it. `interface` indexes `interfaces`.
 */
const resultProblems = (v: Version, result: unknown): string[] => {
  const problems: string[] = [];
  const keys = allowed(v);
  const only = (o: Json, names: readonly string[], at: string): void => {
    for (const k of Object.keys(o)) if (!names.includes(k)) problems.push(`${at}${k} is not a field of a ${v} result`);
  };
  const strings = (u: unknown, at: string): void => {
    if (!Array.isArray(u) || !u.every((s) => typeof s === 'string')) problems.push(`${at} is not a list of strings`);
  };
  if (!isObject(result)) return ['the result is not a JSON object'];
  only(result, keys.top, '');
  if (result['cniVersion'] !== v) problems.push(`cniVersion is ${JSON.stringify(result['cniVersion'])}, not "${v}"`);
  const interfaces = result['interfaces'];
  let count = 0;
  if (interfaces !== undefined) {
    if (!Array.isArray(interfaces)) problems.push('interfaces is not a list');
    else {
      count = interfaces.length;
      interfaces.forEach((i: unknown, n) => {
        const at = `interfaces[${n}]`;
        if (!isObject(i)) return void problems.push(`${at} is not an object`);
        only(i, keys.iface, `${at}.`);
        if (typeof i['name'] !== 'string' || i['name'] === '') problems.push(`${at}.name is not a non-empty string`);
        if (i['mac'] !== undefined && (typeof i['mac'] !== 'string' || !MAC.test(i['mac']))) problems.push(`${at}.mac is not a MAC address`);
        if (i['sandbox'] !== undefined && typeof i['sandbox'] !== 'string') problems.push(`${at}.sandbox is not a string`);
        if (i['mtu'] !== undefined && (!Number.isInteger(i['mtu']) || (i['mtu'] as number) <= 0)) problems.push(`${at}.mtu is not a positive integer`);
      });
    }
  }
  const ips = result['ips'];
  if (!Array.isArray(ips) || ips.length === 0) problems.push('ips is not a non-empty list');
  else {
    ips.forEach((ip: unknown, n) => {
      const at = `ips[${n}]`;
      if (!isObject(ip)) return void problems.push(`${at} is not an object`);
      only(ip, keys.ip, `${at}.`);
      const family = typeof ip['address'] === 'string' ? cidrFamily(ip['address']) : undefined;
      if (family === undefined) problems.push(`${at}.address is not an address in CIDR notation`);
      if (!v1(v)) {
        if (ip['version'] === undefined) problems.push(`${at}.version is missing (required before 1.0.0)`);
        else if (family !== undefined && ip['version'] !== String(family)) problems.push(`${at}.version is ${JSON.stringify(ip['version'])}, not "${family}"`);
      }
      if (ip['gateway'] !== undefined && (typeof ip['gateway'] !== 'string' || isIP(ip['gateway']) !== family)) problems.push(`${at}.gateway is not an address of the address's family`);
      const index = ip['interface'];
      if (index !== undefined && (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= count)) {
        problems.push(`${at}.interface ${JSON.stringify(index)} is not an index into interfaces (${count} of them)`);
      }
    });
  }
  const routes = result['routes'];
  if (routes !== undefined) {
    if (!Array.isArray(routes)) problems.push('routes is not a list');
    else {
      routes.forEach((r: unknown, n) => {
        const at = `routes[${n}]`;
        if (!isObject(r)) return void problems.push(`${at} is not an object`);
        only(r, keys.route, `${at}.`);
        const family = typeof r['dst'] === 'string' ? cidrFamily(r['dst']) : undefined;
        if (family === undefined) problems.push(`${at}.dst is not a CIDR`);
        if (r['gw'] !== undefined && (typeof r['gw'] !== 'string' || isIP(r['gw']) !== family)) problems.push(`${at}.gw is not an address of dst's family`);
      });
    }
  }
  const dns = result['dns'];
  if (dns !== undefined) {
    if (!isObject(dns)) problems.push('dns is not an object');
    else {
      only(dns, keys.dns, 'dns.');
      for (const k of ['nameservers', 'search', 'options']) if (dns[k] !== undefined) strings(dns[k], `dns.${k}`);
      if (dns['domain'] !== undefined && typeof dns['domain'] !== 'string') problems.push('dns.domain is not a string');
    }
  }
  return problems;
};

describe('the result validators', () => {
  const ipam = (v: Version, ip: object): object => ({ cniVersion: v, ips: [{ address: '172.17.0.11/16', ...ip }], dns: {} });
  it.each<[string, Version, object, readonly string[]]>([
    ['a 0.3.1 IPAM result', '0.3.1', ipam('0.3.1', { version: '4' }), []],
    ['a 1.0.0 IPAM result', '1.0.0', ipam('1.0.0', {}), []],
    ['a 1.0.0 result read as 0.4.0', '0.4.0', ipam('1.0.0', {}), ['cniVersion is "1.0.0", not "0.4.0"', 'ips[0].version is missing (required before 1.0.0)']],
    ['a 0.4.0 result read as 1.0.0', '1.0.0', ipam('0.4.0', { version: '4' }), ['cniVersion is "0.4.0", not "1.0.0"', 'ips[0].version is not a field of a 1.0.0 result']],
    ['a version of the wrong family', '0.3.0', ipam('0.3.0', { version: '6' }), ['ips[0].version is "6", not "4"']],
    ['an interface index with no interfaces', '1.0.0', ipam('1.0.0', { interface: 0 }), ['ips[0].interface 0 is not an index into interfaces (0 of them)']],
    ['an interface mtu before 1.1.0', '1.0.0', { cniVersion: '1.0.0', interfaces: [{ name: 'net1', mtu: 1400 }], ips: [{ address: '10.0.0.2/24', interface: 0 }] },
      ['interfaces[0].mtu is not a field of a 1.0.0 result']],
    ['a route without a CIDR', '1.1.0', { cniVersion: '1.1.0', ips: [{ address: '10.0.0.2/24', gateway: 'fd00::1' }], routes: [{ dst: '10.0.0.0', gw: '10.0.0.1' }] },
      ['ips[0].gateway is not an address of the address\'s family', 'routes[0].dst is not a CIDR', 'routes[0].gw is not an address of dst\'s family']],
  ])('%s', (_name, v, result, problems) => {
    expect(resultProblems(v, result)).toEqual(problems);
  });
});

describeAsRoot('e2e-versions')('every CNI version end to end through the real daemon', () => {
  let api: ApiServer;
  let ovs: OvsEnv;
  let controller: Controller;
  let running: RunningDaemon;
  let tmp: TempDir;
  let socket: string;
  let master: string;
  let uid: string;
  let annotations: Record<string, string>;

  beforeAll(async () => {
    ({ api, ovs, controller } = await startNodeCluster([
      ...['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml'].map((f) => readFileSync(new URL(f, MACVLAN), 'utf8')),
      readFileSync(NAD_07, 'utf8'),
      'apiVersion: kubeovn.io/v1\nkind: Subnet\nmetadata: {name: attachnet}\nspec: {provider: attachnet.default.ovn, cidrBlock: 19.10.0.0/24, mtu: 1300}\n',
    ]));
    await api.kubectlOk(['apply', '-f', '-'], {
      input: `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${POD}\n  namespace: default\n  annotations:\n    k8s.v1.cni.cncf.io/networks: macvlan,default/attachnet\n` +
        `spec:\n  nodeName: ${NODE}\n  containers: [{name: c, image: alpine}]\n`,
    });
    ({ uid, annotations } = await waitFor(`${POD} allocated`, async () => {
      const pod = JSON.parse(await api.kubectlOk(['get', 'pod', POD, '-o', 'json'])) as { metadata: { uid: string; annotations?: Record<string, string> } };
      const a = pod.metadata.annotations ?? {};
      return ['ovn', 'macvlan.default', 'attachnet.default.ovn'].every((p) => a[`${p}.kubernetes.io/allocated`] === 'true') ? { uid: pod.metadata.uid, annotations: a } : undefined;
    }, { timeoutMs: 20_000 }));
    tmp = makeTempDir('e2e-versions');
    socket = `${tmp.path}/kube-ovn-daemon.sock`;
    running = await startNodeDaemon({ ...daemonConfigFor(api, ovs, NODE), socket }, quiet());
    master = uniqueLinkName('m');
    await createVethPair({ name: master }, { name: uniqueLinkName('p') });
  }, 300_000);

  afterAll(() => stopNodeCluster({ running, controller, api, ovs, tmp }), 60_000);

  describe.each(VERSIONS)('%s', (version) => {
    let netns = '';
    const containerId = `versions${version.replace(/\./g, '')}`.padEnd(64, '0');
    const versioned = v1(version) ? {} : { version: '4' };
    const args = { IgnoreUnknown: 'true', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: POD, K8S_POD_INFRA_CONTAINER_ID: containerId };
    const base = (): Omit<CniInvocation, 'plugin' | 'command' | 'netconf' | 'ifName'> => ({
      containerId, netns: netnsPath(netns), args: { ...args, K8S_POD_UID: uid }, path: [`${REPO}dist/cni`, CNI_PLUGIN_DIR],
    });
    const macvlanConf = (): object => {
      const seed = nadConfig(new URL('01-nad-macvlan.yaml', MACVLAN));
      return { ...seed, name: 'macvlan', cniVersion: version, master, ipam: { ...(seed['ipam'] as object), server_socket: socket } };
    };
    const attachnetConf = (): object => ({ ...nadConfig(NAD_07), name: 'attachnet', cniVersion: version, server_socket: socket });

    beforeAll(async () => {
      netns = await createNetns();
    });

    afterAll(async () => {
      await deleteNetns(netns);
    });

    it('our IPAM result, as macvlan asks for it', async () => {
      const outcome = await invokeCniOk({ ...base(), plugin: `${REPO}dist/cni/kube-ovn`, command: 'ADD', ifName: 'net1', netconf: macvlanConf() });
      expect(resultProblems(version, outcome.result)).toEqual([]);
      expect(outcome.result).toEqual({ cniVersion: version, ips: [{ ...versioned, address: '172.17.0.11/16' }], routes: [], dns: {} });
      expect(annotations['macvlan.default.kubernetes.io/ip_address']).toBe('172.17.0.11');
    }, 30_000);

    if (!MACVLAN_VERSIONS.includes(version)) {
      it('macvlan does not speak it (so the IPAM and main-plugin rows cover it)', async () => {
        const outcome = await invokeCniOk({ plugin: `${CNI_PLUGIN_DIR}/macvlan`, command: 'VERSION', netconf: { cniVersion: version } });
        expect(outcome.result).toMatchObject({ supportedVersions: ['0.1.0', '0.2.0', ...MACVLAN_VERSIONS] });
      });
    } else {
      it('macvlan with our IPAM: ADD, then DEL', async () => {
        const inv = { ...base(), plugin: `${CNI_PLUGIN_DIR}/macvlan`, ifName: 'net1', netconf: macvlanConf() };
        const outcome = await invokeCniOk({ ...inv, command: 'ADD' });
        const mac = (await linkState({ name: 'net1', netns })).mac;
        expect(resultProblems(version, outcome.result)).toEqual([]);
        expect(outcome.result).toEqual({
          cniVersion: version, interfaces: [{ name: 'net1', mac, sandbox: netnsPath(netns) }], ips: [{ ...versioned, interface: 0, address: '172.17.0.11/16' }], dns: {},
        });
        const deleted = await invokeCni({ ...inv, command: 'DEL', netconf: { ...inv.netconf, prevResult: outcome.result } });
        expect({ code: deleted.code, stdout: deleted.stdout }).toEqual({ code: 0, stdout: '' });
        expect(await linkExists({ name: 'net1', netns })).toBe(false);
      }, 30_000);
    }

    it('kube-ovn as the main plugin on an OVN attachment (example 07): ADD, then DEL', async () => {
      const inv = { ...base(), plugin: `${REPO}dist/cni/kube-ovn`, ifName: 'net2', netconf: attachnetConf() };
      const outcome = await invokeCniOk({ ...inv, command: 'ADD' });
      const mac = annotations['attachnet.default.ovn.kubernetes.io/mac_address'];
      expect(resultProblems(version, outcome.result)).toEqual([]);
      expect(outcome.result).toEqual({
        cniVersion: version,
        interfaces: [{ name: 'net2', mac, ...(version === '1.1.0' && { mtu: 1300 }), sandbox: netnsPath(netns) }],
        ips: [{ ...versioned, address: '19.10.0.2/24', interface: 0 }],
        routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }],
        dns: {},
      });
      expect(await linkState({ name: 'net2', netns })).toEqual({ name: 'net2', mac, mtu: 1300, up: true, addresses: ['19.10.0.2/24'] });
      const deleted = await invokeCni({ ...inv, command: 'DEL', netconf: { ...inv.netconf, prevResult: outcome.result } });
      expect({ code: deleted.code, stdout: deleted.stdout }).toEqual({ code: 0, stdout: '' });
      expect(await linkExists({ name: 'net2', netns })).toBe(false);
      expect(await ovs.vsctl('list-ports', ovs.bridge)).toBe('');
    }, 30_000);
  });
});
