import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import * as RS from '../../src/domain/RangeSet.js';
import type { SubnetInput, Subnet } from '../../src/domain/Subnet.js';
import { canonicalize, validateSubnets, isOvnProvider } from '../../src/domain/Subnet.js';

const input = (name: string, spec: Partial<SubnetInput['spec']> & { cidrBlock: string }): SubnetInput => ({ metadata: { name }, spec });
const ok = (s: SubnetInput): Subnet => {
  const r = canonicalize(s);
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

describe('canonicalize', () => {
  it('the seed macvlan subnet', () => {
    const s = ok(input('macvlan', { protocol: 'IPv4', provider: 'macvlan.default', cidrBlock: '172.17.0.0/16', gateway: '172.17.0.1', excludeIps: ['172.17.0.1..172.17.0.10'] }));
    expect({ ...s, v4: undefined }).toEqual({
      name: 'macvlan', provider: 'macvlan.default', isOvn: false, protocol: 'IPv4', cidrBlock: '172.17.0.0/16', gateway: '172.17.0.1',
      excludeIps: ['172.17.0.1..172.17.0.10'], mtu: undefined, namespaces: [], v4: undefined, v6: undefined, warnings: [],
    });
    expect(RS.format(s.v4!.usable, 4)).toBe('172.17.0.11-172.17.255.254');
  });

  it.each([
    ['defaults the gateway to the first host', { cidrBlock: '10.16.0.0/16' }, '10.16.0.0/16', '10.16.0.1', 'IPv4', ['10.16.0.1'], '10.16.0.2-10.16.255.254', ''],
    ['clears host bits', { cidrBlock: '10.16.3.7/16' }, '10.16.0.0/16', '10.16.0.1', 'IPv4', ['10.16.0.1'], '10.16.0.2-10.16.255.254', ''],
    ['merges and clips excludes, drops outside and other-family ones, adds the gateway',
      { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.254', excludeIps: ['10.0.0.5..10.0.0.9', '10.0.0.8..10.0.0.12', '9.0.0.0..10.0.0.2', '10.0.0.0', '10.0.0.255', '192.168.0.1', 'fd00::1'] },
      '10.0.0.0/24', '10.0.0.254', 'IPv4', ['10.0.0.1..10.0.0.2', '10.0.0.5..10.0.0.12', '10.0.0.254'], '10.0.0.3-10.0.0.4,10.0.0.13-10.0.0.253', ''],
    ['dual-stack with one gateway gets the other family\'s first host', { cidrBlock: 'fd00:10:16::/64,10.16.0.0/16', gateway: '10.16.0.1' },
      '10.16.0.0/16,fd00:10:16::/64', '10.16.0.1,fd00:10:16::1', 'Dual', ['10.16.0.1', 'fd00:10:16::1'], '10.16.0.2-10.16.255.254', 'fd00:10:16::2-fd00:10:16:0:ffff:ffff:ffff:fffe'],
    ['IPv6 only', { cidrBlock: 'FD00::/120', excludeIps: ['fd00::10/124'] }, 'fd00::/120', 'fd00::1', 'IPv6', ['fd00::1', 'fd00::10..fd00::1f'], '', 'fd00::2-fd00::f,fd00::20-fd00::fe'],
    ['a /31 uses both addresses', { cidrBlock: '10.0.0.0/31', gateway: '10.0.0.0' }, '10.0.0.0/31', '10.0.0.0', 'IPv4', ['10.0.0.0'], '10.0.0.1', ''],
  ])('%s', (_name, spec, cidrBlock, gateway, protocol, excludes, usable4, usable6) => {
    const s = ok(input('s', spec));
    expect([s.cidrBlock, s.gateway, s.protocol]).toEqual([cidrBlock, gateway, protocol]);
    expect(s.excludeIps).toEqual(excludes);
    expect(s.v4 ? RS.format(s.v4.usable, 4) : '').toBe(usable4);
    expect(s.v6 ? RS.format(s.v6.usable, 6) : '').toBe(usable6);
  });

  it.each([
    ['bad CIDR', { cidrBlock: '10.0.0.0/33' }, 'subnet s is invalid: spec.cidrBlock: "10.0.0.0/33" has prefix length 33, more than the 32 bits of IPv4'],
    ['not a CIDR', { cidrBlock: 'banana' }, 'subnet s is invalid: spec.cidrBlock: "banana" is not a CIDR (expected address/prefix)'],
    ['/32', { cidrBlock: '10.0.0.1/32' }, 'subnet s is invalid: spec.cidrBlock: "10.0.0.1/32" is a single address (/32); a subnet needs room for a gateway and pods'],
    ['/128', { cidrBlock: 'fd00::1/128' }, 'subnet s is invalid: spec.cidrBlock: "fd00::1/128" is a single address (/128); a subnet needs room for a gateway and pods'],
    ['two of one family', { cidrBlock: '10.0.0.0/24,10.1.0.0/24' }, 'subnet s is invalid: spec.cidrBlock: "10.0.0.0/24,10.1.0.0/24" has two IPv4 CIDRs; a dual-stack subnet has one of each family'],
    ['three CIDRs', { cidrBlock: '10.0.0.0/24,fd00::/64,10.1.0.0/24' }, 'subnet s is invalid: spec.cidrBlock: "10.0.0.0/24,fd00::/64,10.1.0.0/24" has 3 CIDRs; at most two (one IPv4, one IPv6) are allowed'],
    ['gateway outside', { cidrBlock: '10.0.0.0/24', gateway: '10.0.1.1' }, 'subnet s is invalid: spec.gateway: 10.0.1.1 is outside 10.0.0.0/24'],
    ['gateway is the network', { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.0' }, 'subnet s is invalid: spec.gateway: 10.0.0.0 is the network address of 10.0.0.0/24'],
    ['gateway is the broadcast', { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.255' }, 'subnet s is invalid: spec.gateway: 10.0.0.255 is the broadcast address of 10.0.0.0/24'],
    ['gateway of a missing family', { cidrBlock: '10.0.0.0/24', gateway: 'fd00::1' }, 'subnet s is invalid: spec.gateway: fd00::1 is IPv6 but cidrBlock has no IPv6 CIDR'],
    ['gateway unparsable', { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.x' }, 'subnet s is invalid: spec.gateway: "10.0.0.x" is not an IP address'],
    ['reversed exclude range', { cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.1', '10.0.0.9..10.0.0.2'] }, 'subnet s is invalid: spec.excludeIps[1]: "10.0.0.9..10.0.0.2" is reversed: its start is after its end'],
    ['mixed-family exclude range', { cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.1..fd00::2'] }, 'subnet s is invalid: spec.excludeIps[0]: "10.0.0.1..fd00::2" mixes families: IPv4 start, IPv6 end'],
    ['every problem at once', { cidrBlock: '10.0.0.0/24', gateway: '10.9.9.9', excludeIps: ['x'], protocol: 'Dual' },
      'subnet s is invalid: spec.gateway: 10.9.9.9 is outside 10.0.0.0/24; spec.excludeIps[0]: "x" is not an IP address'],
    // Kube-OVN's CIDRGlobalUnicast: ranges no pod may be given.
    ['IPv4 link-local inside', { cidrBlock: '169.254.10.0/24' }, 'subnet s is invalid: spec.cidrBlock: "169.254.10.0/24" overlaps the IPv4 link-local range 169.254.0.0/16, which no pod may be given'],
    ['IPv4 link-local around', { cidrBlock: '169.0.0.0/8' }, 'subnet s is invalid: spec.cidrBlock: "169.0.0.0/8" overlaps the IPv4 link-local range 169.254.0.0/16, which no pod may be given'],
    ['IPv6 link-local inside', { cidrBlock: 'fe80::/64' }, 'subnet s is invalid: spec.cidrBlock: "fe80::/64" overlaps the IPv6 link-local range fe80::/10, which no pod may be given'],
    ['IPv6 link-local in upper case', { cidrBlock: '10.0.0.0/24,FE80:0:0:1::/64' }, 'subnet s is invalid: spec.cidrBlock: "FE80:0:0:1::/64" overlaps the IPv6 link-local range fe80::/10, which no pod may be given'],
    ['IPv4 loopback', { cidrBlock: '127.1.0.0/16' }, 'subnet s is invalid: spec.cidrBlock: "127.1.0.0/16" overlaps the IPv4 loopback range 127.0.0.0/8, which no pod may be given'],
    ['IPv4 multicast', { cidrBlock: '239.0.0.0/24' }, 'subnet s is invalid: spec.cidrBlock: "239.0.0.0/24" overlaps the IPv4 multicast range 224.0.0.0/4, which no pod may be given'],
    ['IPv4 0.0.0.0', { cidrBlock: '0.0.0.0/8' }, 'subnet s is invalid: spec.cidrBlock: "0.0.0.0/8" overlaps the IPv4 unspecified address 0.0.0.0/32, which no pod may be given'],
    ['IPv4 broadcast', { cidrBlock: '255.255.255.0/24' }, 'subnet s is invalid: spec.cidrBlock: "255.255.255.0/24" overlaps the IPv4 broadcast address 255.255.255.255/32, which no pod may be given'],
    ['IPv6 unspecified', { cidrBlock: '::/64' }, 'subnet s is invalid: spec.cidrBlock: "::/64" overlaps the IPv6 unspecified address ::/128, which no pod may be given'],
    ['IPv6 multicast', { cidrBlock: 'ff02::/64' }, 'subnet s is invalid: spec.cidrBlock: "ff02::/64" overlaps the IPv6 multicast range ff00::/8, which no pod may be given'],
    ['IPv6 mtu below 1280', { cidrBlock: 'fd00::/120', mtu: 1200 }, 'subnet s is invalid: spec.mtu: 1200 is below 1280, the least an IPv6 link may carry (RFC 8200)'],
    ['dual-stack mtu below 1280', { cidrBlock: '10.0.0.0/24,fd00::/120', mtu: 1000 }, 'subnet s is invalid: spec.mtu: 1000 is below 1280, the least an IPv6 link may carry (RFC 8200)'],
  ])('%s', (_name, spec, message) => {
    const r = canonicalize(input('s', spec));
    expect(E.isLeft(r) && r.left.message).toBe(message);
  });

  it.each([
    ['protocol disagrees: corrected from the CIDR, with a warning', { cidrBlock: '10.0.0.0/24', protocol: 'IPv6' }, 'IPv4',
      [{ code: 'ProtocolMismatch', field: 'spec.protocol', message: 'is IPv6 but cidrBlock "10.0.0.0/24" is IPv4; using IPv4' }]],
    ['Dual for an IPv6 CIDR', { cidrBlock: 'fd00::/120', protocol: 'Dual' }, 'IPv6',
      [{ code: 'ProtocolMismatch', field: 'spec.protocol', message: 'is Dual but cidrBlock "fd00::/120" is IPv6; using IPv6' }]],
    ['protocol agrees: no warning', { cidrBlock: '10.0.0.0/24,fd00::/120', protocol: 'Dual' }, 'Dual', []],
    ['an IPv4 mtu below 1280 is fine', { cidrBlock: '10.0.0.0/24', mtu: 1000 }, 'IPv4', []],
    ['a CIDR excludeIps entry is fine (Kube-OVN refuses it)', { cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.0/28'] }, 'IPv4', []],
    ['upper-case IPv6 is fine (Kube-OVN refuses it)', { cidrBlock: 'FD00::/120', gateway: 'FD00::1', excludeIps: ['FD00::10'] }, 'IPv6', []],
  ])('%s', (_name, spec, protocol, warnings) => {
    const s = ok(input('s', spec));
    expect([s.protocol, s.warnings]).toEqual([protocol, warnings]);
  });

  it('names each problem with its code and field', () => {
    const r = canonicalize(input('s', { cidrBlock: '10.0.0.0/24', gateway: '10.9.9.9', excludeIps: ['x'] }));
    expect(E.isLeft(r) && r.left.problems.map((p) => [p.code, p.field])).toEqual([['GatewayInvalid', 'spec.gateway'], ['ExcludeIpsInvalid', 'spec.excludeIps[0]']]);
  });
});

describe('isOvnProvider', () => {
  it.each([
    ['ovn', true], ['', true], ['attachnet.default.ovn', true], ['macvlan.default', false], ['a.b.c.ovn', false], ['a.ovn', false],
  ])('%s → %s', (provider, expected) => expect(isOvnProvider(provider)).toBe(expected));
});

describe('validateSubnets: the overlap rule', () => {
  const results = (inputs: SubnetInput[]) => validateSubnets(inputs).map((r) => (E.isLeft(r) ? r.left.message : 'ok'));
  it.each([
    ['two OVN subnets overlap: the later fails', [input('a', { cidrBlock: '10.16.0.0/16' }), input('b', { cidrBlock: '10.16.5.0/24', provider: 'attachnet.default.ovn' })],
      ['ok', 'subnet b is invalid: spec.cidrBlock: 10.16.5.0/24 overlaps 10.16.0.0/16 of subnet a (both are OVN subnets)']],
    ['same provider overlaps', [input('a', { cidrBlock: '172.17.0.0/16', provider: 'macvlan.default' }), input('b', { cidrBlock: '172.17.0.0/24', provider: 'macvlan.default' })],
      ['ok', 'subnet b is invalid: spec.cidrBlock: 172.17.0.0/24 overlaps 172.17.0.0/16 of subnet a (both serve provider macvlan.default)']],
    ['an attachment subnet of another provider may overlap', [input('a', { cidrBlock: '172.17.0.0/16' }), input('b', { cidrBlock: '172.17.0.0/16', provider: 'macvlan.default' })], ['ok', 'ok']],
    ['different families never overlap', [input('a', { cidrBlock: '10.16.0.0/16' }), input('b', { cidrBlock: 'fd00::/64' })], ['ok', 'ok']],
    ['an invalid earlier subnet blocks nothing', [input('a', { cidrBlock: '10.16.0.0/33' }), input('b', { cidrBlock: '10.16.0.0/16' })],
      ['subnet a is invalid: spec.cidrBlock: "10.16.0.0/33" has prefix length 33, more than the 32 bits of IPv4', 'ok']],
  ])('%s', (_name, inputs, expected) => expect(results(inputs)).toEqual(expected));
});
