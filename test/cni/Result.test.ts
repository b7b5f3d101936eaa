import { describe, it, expect } from '@jest/globals';
import type { CniResponse } from '../../src/domain/cni/Protocol.js';
import type { CniVersion, Outcome } from '../../src/domain/cni/PluginConfig.js';
import { buildResult, checkResult, errorResult, resultRoutes, versionResult, type CniResult, type ResultContext } from '../../src/domain/cni/Result.js';

const NETNS = '/var/run/netns/p1';

/** A dual-stack OVN interface, as the daemon answers for the main role (no routes). */
const DUAL: CniResponse = {
  protocol: 'Dual',
  ips: [
    { protocol: 'IPv4', ip: '10.16.0.5', cidr: '10.16.0.0/16', gateway: '10.16.0.1' },
    { protocol: 'IPv6', ip: 'fd00:10:16::5', cidr: 'fd00:10:16::/64', gateway: 'fd00:10:16::1' },
  ],
  mac_address: '0a:58:0a:10:00:05',
  mtu: 1400,
  nicname: 'eth0',
};

/** An IPAM-only answer (macvlan): routes with an empty dst, no MAC, no nicname. */
const IPAM: CniResponse = {
  protocol: 'IPv4',
  ips: [{ protocol: 'IPv4', ip: '172.17.0.11', cidr: '172.17.0.0/16', gateway: '172.17.0.1' }],
  routes: [{ dst: '', gw: '172.17.0.1' }, { dst: '10.0.0.0/8', gw: '172.17.0.254' }, { dst: '192.168.0.0/16' }, { gw: 'fd00::1' }],
  mac_address: '',
  mtu: 0,
  nicname: '',
};

const ctx = (role: ResultContext['role'], cniVersion: CniVersion, extra: Partial<ResultContext> = {}): ResultContext =>
  ({ role, cniVersion, ifName: 'net1', netns: NETNS, ...extra });
const ok = (value: CniResult): Outcome<CniResult> => ({ ok: true, value });

const IPAM_ROUTES = [{ dst: '0.0.0.0/0', gw: '172.17.0.1' }, { dst: '10.0.0.0/8', gw: '172.17.0.254' }, { dst: '192.168.0.0/16' }, { dst: '::/0', gw: 'fd00::1' }];
const DUAL_ROUTES = [{ dst: '0.0.0.0/0', gw: '10.16.0.1' }, { dst: '::/0', gw: 'fd00:10:16::1' }];

describe('buildResult, main role, dual-stack, no routes from the daemon', () => {
  it.each<[CniVersion, CniResult]>([
    ['0.3.0', { cniVersion: '0.3.0', interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: NETNS }],
      ips: [{ version: '4', address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }, { version: '6', address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 }],
      routes: DUAL_ROUTES, dns: {} }],
    ['0.3.1', { cniVersion: '0.3.1', interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: NETNS }],
      ips: [{ version: '4', address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }, { version: '6', address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 }],
      routes: DUAL_ROUTES, dns: {} }],
    ['0.4.0', { cniVersion: '0.4.0', interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: NETNS }],
      ips: [{ version: '4', address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }, { version: '6', address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 }],
      routes: DUAL_ROUTES, dns: {} }],
    ['1.0.0', { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: NETNS }],
      ips: [{ address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }, { address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 }],
      routes: DUAL_ROUTES, dns: {} }],
    ['1.1.0', { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', mtu: 1400, sandbox: NETNS }],
      ips: [{ address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }, { address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 0 }],
      routes: DUAL_ROUTES, dns: {} }],
  ])('%s', (version, expected) => {
    expect(buildResult(DUAL, ctx('main', version, { ifName: 'eth0' }))).toEqual(ok(expected));
  });
});

describe('buildResult, IPAM role, routes with empty dst', () => {
  it.each<[CniVersion, CniResult]>([
    ['0.3.0', { cniVersion: '0.3.0', ips: [{ version: '4', address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: IPAM_ROUTES, dns: {} }],
    ['0.3.1', { cniVersion: '0.3.1', ips: [{ version: '4', address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: IPAM_ROUTES, dns: {} }],
    ['0.4.0', { cniVersion: '0.4.0', ips: [{ version: '4', address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: IPAM_ROUTES, dns: {} }],
    ['1.0.0', { cniVersion: '1.0.0', ips: [{ address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: IPAM_ROUTES, dns: {} }],
    ['1.1.0', { cniVersion: '1.1.0', ips: [{ address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: IPAM_ROUTES, dns: {} }],
  ])('%s', (version, expected) => {
    expect(buildResult(IPAM, ctx('ipam', version))).toEqual(ok(expected));
  });
});

describe('buildResult, other shapes', () => {
  it.each<[string, CniResponse, ResultContext, CniResult]>([
    ['IPAM dual-stack without gateways: no routes at all', {
      ips: [{ protocol: 'IPv4', ip: '172.17.0.12', cidr: '172.17.0.0/16' }, { protocol: 'IPv6', ip: 'fd00:17::c', cidr: 'fd00:17::/64', gateway: '' }] },
    ctx('ipam', '0.4.0'),
    { cniVersion: '0.4.0', ips: [{ version: '4', address: '172.17.0.12/16' }, { version: '6', address: 'fd00:17::c/64' }], routes: [], dns: {} }],
    ['IPAM dual-stack with one gateway: one default route', {
      ips: [{ protocol: 'IPv4', ip: '172.17.0.12', cidr: '172.17.0.0/16' }, { protocol: 'IPv6', ip: 'fd00:17::c', cidr: 'fd00:17::/64', gateway: 'fd00:17::1' }], routes: [] },
    ctx('ipam', '1.0.0'),
    { cniVersion: '1.0.0', ips: [{ address: '172.17.0.12/16' }, { address: 'fd00:17::c/64', gateway: 'fd00:17::1' }], routes: [{ dst: '::/0', gw: 'fd00:17::1' }], dns: {} }],
    ['main role without nicname, MAC or MTU: CNI_IFNAME names the interface', {
      ips: [{ protocol: 'IPv6', ip: 'fd00::5', cidr: 'fd00::/120', gateway: 'fd00::1' }], routes: [{ dst: 'fd01::/64', gw: 'fd00::fe' }, { gw: 'fd00::1' }] },
    ctx('main', '1.1.0'),
    { cniVersion: '1.1.0', interfaces: [{ name: 'net1', sandbox: NETNS }], ips: [{ address: 'fd00::5/120', gateway: 'fd00::1', interface: 0 }],
      routes: [{ dst: 'fd01::/64', gw: 'fd00::fe' }, { dst: '::/0', gw: 'fd00::1' }], dns: {} }],
    ['a protocol field that lies: the address decides the family', {
      ips: [{ protocol: 'IPv4', ip: 'fd00::5', cidr: 'fd00::/64' }] },
    ctx('ipam', '0.3.1'),
    { cniVersion: '0.3.1', ips: [{ version: '6', address: 'fd00::5/64' }], routes: [], dns: {} }],
    ['an ip that carries its prefix', { ips: [{ protocol: 'IPv4', ip: '10.0.0.5/24', cidr: '10.0.0.0/16' }] },
      ctx('ipam', '1.0.0'), { cniVersion: '1.0.0', ips: [{ address: '10.0.0.5/24' }], routes: [], dns: {} }],
    ['main role after another plugin: prevResult kept, our interface appended', DUAL,
      ctx('main', '1.0.0', { ifName: 'eth0', prevResult: {
        cniVersion: '1.0.0', interfaces: [{ name: 'lo', sandbox: NETNS }], ips: [{ address: '127.0.0.1/8', interface: 0 }],
        routes: [{ dst: '127.0.0.0/8' }], dns: { nameservers: ['10.96.0.10'] } } }),
      { cniVersion: '1.0.0', interfaces: [{ name: 'lo', sandbox: NETNS }, { name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: NETNS }],
        ips: [{ address: '127.0.0.1/8', interface: 0 }, { address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 1 }, { address: 'fd00:10:16::5/64', gateway: 'fd00:10:16::1', interface: 1 }],
        routes: [{ dst: '127.0.0.0/8' }, ...DUAL_ROUTES], dns: { nameservers: ['10.96.0.10'] } }],
    ['IPAM role given a prevResult: the abbreviated result only', IPAM,
      ctx('ipam', '1.0.0', { prevResult: { interfaces: [{ name: 'net1' }], ips: [{ address: '1.2.3.4/32' }] } }),
      { cniVersion: '1.0.0', ips: [{ address: '172.17.0.11/16', gateway: '172.17.0.1' }], routes: IPAM_ROUTES, dns: {} }],
  ])('%s', (_name, response, context, expected) => {
    expect(buildResult(response, context)).toEqual(ok(expected));
  });

  it.each<[string, CniResponse, string]>([
    ['no addresses', { ips: [] }, "the daemon's answer is malformed: it has no addresses"],
    ['no ips at all', {}, "the daemon's answer is malformed: it has no addresses"],
    ['a bad address', { ips: [{ protocol: 'IPv4', ip: '10.0.0', cidr: '10.0.0.0/8' }] }, 'the daemon\'s answer is malformed: ips[0].ip "10.0.0" is not an IP address'],
    ['a cidr without prefix', { ips: [{ protocol: 'IPv4', ip: '10.0.0.1', cidr: '10.0.0.0/8' }, { protocol: 'IPv6', ip: 'fd00::1', cidr: 'fd00::' }] },
      'the daemon\'s answer is malformed: ips[1].cidr "fd00::" has no valid prefix length for fd00::1'],
    ['a prefix too long for the family', { ips: [{ protocol: 'IPv4', ip: '10.0.0.1', cidr: 'fd00::/64' }] },
      'the daemon\'s answer is malformed: ips[0].cidr "fd00::/64" has no valid prefix length for 10.0.0.1'],
  ])('rejects %s with code 999', (_name, response, msg) => {
    expect(buildResult(response, ctx('main', '1.0.0'))).toEqual({ ok: false, error: { code: 999, msg } });
  });
});

describe('resultRoutes', () => {
  it.each<[string, Parameters<typeof resultRoutes>[0], ReturnType<typeof resultRoutes>]>([
    ['routes with neither field are dropped; none left means defaults', [{ dst: '', gw: '' }, {}], [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }]],
    ['an empty dst with an IPv6 gateway', [{ dst: '', gw: 'fd00::1' }], [{ dst: '::/0', gw: 'fd00::1' }]],
    ['a dst alone', [{ dst: '10.1.0.0/16' }], [{ dst: '10.1.0.0/16' }]],
    ['no routes', undefined, [{ dst: '0.0.0.0/0', gw: '10.0.0.1' }]],
  ])('%s', (_name, routes, expected) => {
    expect(resultRoutes(routes, [{ family: 4, gateway: '10.0.0.1' }, { family: 6 }])).toEqual(expected);
  });
});

describe('checkResult', () => {
  const mainPrev = {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:10:00:05', sandbox: NETNS }],
    ips: [{ address: '10.16.0.5/16', gateway: '10.16.0.1', interface: 0 }, { address: 'FD00:10:16:0::5/64', interface: 0 }],
  };
  it.each<[string, CniResponse, ResultContext, ReturnType<typeof checkResult>]>([
    ['main role, same addresses (IPv6 written differently)', DUAL, ctx('main', '1.0.0', { ifName: 'eth0', prevResult: mainPrev }), undefined],
    ['main role, a MAC changed by a later plugin is fine', { ...DUAL, mac_address: '0a:00:00:00:00:99' }, ctx('main', '1.0.0', { ifName: 'eth0', prevResult: mainPrev }), undefined],
    ['main role, the interface is missing', DUAL, ctx('main', '1.0.0', { ifName: 'eth0', prevResult: { ...mainPrev, interfaces: [{ name: 'eth0', sandbox: '/other' }] } }),
      { code: 100, msg: `prevResult has no interface "eth0" in ${NETNS}` }],
    ['main role, an address changed', { ...DUAL, ips: [{ protocol: 'IPv4', ip: '10.16.0.9', cidr: '10.16.0.0/16' }] },
      ctx('main', '1.0.0', { ifName: 'eth0', prevResult: mainPrev }),
      { code: 100, msg: "eth0 should have 10.16.0.9/16 (the daemon's allocation), but prevResult has 10.16.0.5/16, fd00:10:16::5/64" }],
    ['IPAM role, prevResult from macvlan with extra addresses', IPAM,
      ctx('ipam', '0.4.0', { prevResult: { interfaces: [{ name: 'net1', sandbox: NETNS }], ips: [{ version: '4', address: '172.17.0.11/16', interface: 0 }, { version: '4', address: '192.0.2.1/24', interface: 0 }] } }),
      undefined],
    ['IPAM role, prevResult without addresses', IPAM, ctx('ipam', '0.4.0', { prevResult: { interfaces: [] } }),
      { code: 100, msg: "net1 should have 172.17.0.11/16 (the daemon's allocation), but prevResult has no addresses" }],
    ['no prevResult', IPAM, ctx('ipam', '1.0.0'), { code: 7, msg: 'prevResult is missing (CHECK needs the result of the ADD)' }],
    ['a malformed answer', { ips: [] }, ctx('ipam', '1.0.0', { prevResult: {} }), { code: 999, msg: "the daemon's answer is malformed: it has no addresses" }],
  ])('%s', (_name, response, context, expected) => {
    expect(checkResult(response, context)).toEqual(expected);
  });
});

describe('versionResult and errorResult', () => {
  it.each<[string | undefined, string]>([
    [undefined, '1.1.0'], ['0.3.0', '0.3.0'], ['0.3.1', '0.3.1'], ['0.4.0', '0.4.0'], ['1.0.0', '1.0.0'], ['1.1.0', '1.1.0'], ['0.2.0', '1.1.0'], ['x', '1.1.0'],
  ])('VERSION asked in %s answers in %s', (requested, answered) => {
    expect(versionResult(requested)).toEqual({ cniVersion: answered, supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
  });

  it('writes the error with its details only when there are some', () => {
    expect([errorResult('0.3.0', { code: 7, msg: 'm' }), errorResult('1.0.0', { code: 11, msg: 'm', details: 'd' })])
      .toEqual([{ cniVersion: '0.3.0', code: 7, msg: 'm' }, { cniVersion: '1.0.0', code: 11, msg: 'm', details: 'd' }]);
  });
});
