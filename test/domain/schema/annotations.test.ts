import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseAddress, type Address } from '../../../src/domain/Address.js';
import {
  annotationKey,
  AnnotationName,
  controllerAnnotationNames,
  parseIpAddresses,
  parseIpFamily,
  parseIpPool,
  parsePodNetworkRequest,
  perInterfaceKey,
  type IpPoolRequest,
  type PoolEntry,
  type PodNetworkRequest,
} from '../../../src/domain/schema/annotations.js';

const ip = (text: string): Address => {
  const parsed = parseAddress(text);
  if (E.isLeft(parsed)) throw new Error(parsed.left);
  return parsed.right;
};

const SUBDOMAIN = 'at most 253 lower case letters, digits, "-" and ".", starting and ending with a letter or digit';

describe('annotation keys', () => {
  it.each<[string, string, string]>([
    ['ovn', 'ip_address', 'ovn.kubernetes.io/ip_address'],
    ['', 'allocated', 'ovn.kubernetes.io/allocated'],
    ['macvlan.default', 'mac_address', 'macvlan.default.kubernetes.io/mac_address'],
    ['attachnet.default.ovn', 'logical_switch', 'attachnet.default.ovn.kubernetes.io/logical_switch'],
    ['macvlan.default', 'ip_address.net2', 'macvlan.default.kubernetes.io/ip_address.net2'],
  ])('annotationKey(%j, %j) = %j', (provider, name, key) => {
    expect(annotationKey(provider, name)).toBe(key);
  });

  it('builds per-interface keys', () => {
    expect(perInterfaceKey('macvlan.default', 'mac_address', 'net1')).toBe('macvlan.default.kubernetes.io/mac_address.net1');
  });

  it('lists the controller-written names', () => {
    expect(controllerAnnotationNames).toEqual(['ip_address', 'mac_address', 'cidr', 'gateway', 'logical_switch', 'allocated']);
    expect(AnnotationName).toEqual({
      ipAddress: 'ip_address', macAddress: 'mac_address', ipPool: 'ip_pool', logicalSwitch: 'logical_switch',
      routes: 'routes', ipFamily: 'ip_family', cidr: 'cidr', gateway: 'gateway', allocated: 'allocated',
    });
  });
});

describe('parseIpAddresses', () => {
  it.each<[string, readonly string[]]>([
    ['10.16.0.15', ['10.16.0.15']],
    ['FD00::0:15', ['fd00::15']],
    ['10.16.0.15,fd00::15', ['10.16.0.15', 'fd00::15']],
    ['fd00::15, 10.16.0.15', ['10.16.0.15', 'fd00::15']],
  ])('parses %j', (value, addresses) => {
    expect(parseIpAddresses(value)).toEqual(E.right(addresses.map(ip)));
  });

  it.each<[string, string]>([
    ['172.17.0.300', '"172.17.0.300" is not an IP address'],
    ['10.16.0.15/16', '"10.16.0.15/16" is not an IP address (a prefix length is not allowed here)'],
    ['10.16.0.15,10.16.0.16', '"10.16.0.15,10.16.0.16" has two IPv4 addresses (at most one per family)'],
    ['fd00::1,fd00::2', '"fd00::1,fd00::2" has two IPv6 addresses (at most one per family)'],
    ['10.16.0.15,', '"10.16.0.15," has an empty entry'],
    ['1.1.1.1,fd00::1,2.2.2.2', '"1.1.1.1,fd00::1,2.2.2.2" has 3 addresses (expected one, or an IPv4 and an IPv6 address separated by ",")'],
    ['x,y', '"x" is not an IP address; "y" is not an IP address'],
  ])('refuses %j', (value, message) => {
    expect(parseIpAddresses(value)).toEqual(E.left(message));
  });
});

describe('parseIpPool', () => {
  const single = (text: string): PoolEntry => (ip(text).family === 4 ? { v4: ip(text) } : { v6: ip(text) });
  const addresses = (...entries: readonly PoolEntry[]): IpPoolRequest => ({ kind: 'addresses', entries });

  it.each<[string, IpPoolRequest]>([
    ['10.16.0.15,10.16.0.16,10.16.0.17', addresses(single('10.16.0.15'), single('10.16.0.16'), single('10.16.0.17'))],
    ['10.16.0.15', addresses(single('10.16.0.15'))],
    ['fd00::15', addresses(single('fd00::15'))],
    ['10.16.0.15,fd00::15', addresses({ v4: ip('10.16.0.15'), v6: ip('fd00::15') })],
    ['fd00::15,10.16.0.15', addresses({ v4: ip('10.16.0.15'), v6: ip('fd00::15') })],
    ['10.16.0.15,10.16.0.16', addresses(single('10.16.0.15'), single('10.16.0.16'))],
    ['10.16.0.15,fd00::15,10.16.0.16', addresses(single('10.16.0.15'), single('fd00::15'), single('10.16.0.16'))],
    [' 10.16.0.15 , 10.16.0.16 ', addresses(single('10.16.0.15'), single('10.16.0.16'))],
    ['10.16.0.15,fd00::15;10.16.0.16,fd00::16', addresses({ v4: ip('10.16.0.15'), v6: ip('fd00::15') }, { v4: ip('10.16.0.16'), v6: ip('fd00::16') })],
    ['10.16.0.15;10.16.0.16', addresses(single('10.16.0.15'), single('10.16.0.16'))],
    ['pool1', { kind: 'pool', name: 'pool1' }],
    ['my-pool.v2', { kind: 'pool', name: 'my-pool.v2' }],
  ])('parses %j', (value, expected) => {
    expect(parseIpPool(value)).toEqual(E.right(expected));
  });

  it.each<[string, string]>([
    ['10.16.0.15;', 'entry 2 is empty'],
    ['10.16.0.15,10.16.0.16;fd00::1', '"10.16.0.15,10.16.0.16" has two IPv4 addresses (at most one per family)'],
    ['10.16.0.300;x', '"10.16.0.300" is not an IP address; "x" is not an IP address'],
    ['10.16.0.15,,10.16.0.16', 'entry 2 is empty'],
    ['10.16.0.15,pool1', '"pool1" is not an IP address'],
    ['172.17.0.300', '"172.17.0.300" is not an IP address'],
    ['10.16.0.0/24', '"10.16.0.0/24" is not an IP address (a prefix length is not allowed here)'],
    ['fd00::g', '"fd00::g" is not an IP address'],
    ['Pool_1', `"Pool_1" is neither an IP address nor an IPPool name (${SUBDOMAIN})`],
  ])('refuses %j', (value, message) => {
    expect(parseIpPool(value)).toEqual(E.left(message));
  });
});

describe('parseIpFamily', () => {
  it.each<[string, E.Either<string, 4 | 6>]>([
    ['ipv4', E.right(4)],
    ['ipv6', E.right(6)],
    ['IPv4', E.left('"IPv4" is not an IP family (expected "ipv4" or "ipv6")')],
    ['dual', E.left('"dual" is not an IP family (expected "ipv4" or "ipv6")')],
  ])('%j', (value, expected) => {
    expect(parseIpFamily(value)).toEqual(expected);
  });
});

describe('parsePodNetworkRequest', () => {
  const M = 'macvlan.default.kubernetes.io/';

  it('reads every annotation of one provider and ignores the others', () => {
    const annotations = {
      [`${M}ip_address`]: '172.17.0.100,FD00::64',
      [`${M}mac_address`]: '02:00:00:00:00:AA',
      [`${M}ip_pool`]: 'pool1',
      [`${M}logical_switch`]: 'macvlan',
      [`${M}routes`]: '[{"dst": "19.10.0.0/16"}, {"gw": "172.17.0.1"}]',
      [`${M}ip_family`]: 'ipv6',
      'ovn.kubernetes.io/ip_address': 'not read',
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
    };
    expect(parsePodNetworkRequest(annotations, { provider: 'macvlan.default' })).toEqual(
      E.right<never, PodNetworkRequest>({
        ipAddresses: [ip('172.17.0.100'), ip('fd00::64')],
        mac: 0x0200000000aan,
        ipPool: { kind: 'pool', name: 'pool1' },
        logicalSwitch: 'macvlan',
        routes: [{ dst: '19.10.0.0/16' }, { gw: '172.17.0.1' }],
        ipFamily: 6,
      }),
    );
  });

  it.each<[string, Readonly<Record<string, string>> | undefined]>([
    ['no annotations', undefined],
    ['empty annotations', {}],
    ['empty values', { [`${M}ip_address`]: '', [`${M}ip_pool`]: '  ', [`${M}mac_address`]: '' }],
  ])('returns an empty request for %s', (_name, annotations) => {
    expect(parsePodNetworkRequest(annotations, { provider: 'macvlan.default' })).toEqual(E.right({}));
  });

  it.each<[string, Readonly<Record<string, string>>, PodNetworkRequest]>([
    ['per-interface keys win', { [`${M}ip_address`]: '172.17.0.100', [`${M}ip_address.net2`]: '172.17.0.102', [`${M}mac_address`]: 'bad', [`${M}mac_address.net2`]: '02:00:00:00:00:02' },
      { ipAddresses: [ip('172.17.0.102')], mac: 0x020000000002n }],
    ['plain keys apply when the interface has none', { [`${M}ip_address`]: '172.17.0.100', [`${M}ip_address.net3`]: '172.17.0.103' },
      { ipAddresses: [ip('172.17.0.100')] }],
    ['an empty per-interface key falls back', { [`${M}ip_address`]: '172.17.0.100', [`${M}ip_address.net2`]: '' },
      { ipAddresses: [ip('172.17.0.100')] }],
  ])('with ifName net2: %s', (_name, annotations, expected) => {
    expect(parsePodNetworkRequest(annotations, { provider: 'macvlan.default', ifName: 'net2' })).toEqual(E.right(expected));
  });

  it('ignores per-interface keys without an interface name', () => {
    expect(parsePodNetworkRequest({ [`${M}ip_address.net2`]: '172.17.0.102' }, { provider: 'macvlan.default' })).toEqual(E.right({}));
  });

  it.each<[string, string, string]>([
    ['ip_address', '172.17.0.300', '"172.17.0.300" is not an IP address'],
    ['mac_address', '00:00:00:53:6B', '"00:00:00:53:6B" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)'],
    ['mac_address', '01:00:00:00:00:01', '"01:00:00:00:00:01" is a multicast MAC address (the first octet must be even)'],
    ['ip_pool', 'Pool_1', `"Pool_1" is neither an IP address nor an IPPool name (${SUBDOMAIN})`],
    ['logical_switch', 'My_Subnet', `"My_Subnet" is not a valid Subnet name (${SUBDOMAIN})`],
    ['routes', '[{"dst": "19.10.0.0/16",}]', 'invalid JSON at line 1, column 25: expected a property name in double quotes, found "}"'],
    ['routes', '[{"dst": "19.10.0.0/16"}, {"gw": "x"}]', '[1].gw: "x" is not an IP address'],
    ['routes', '{"dst": "19.10.0.0/16"}', 'expected an array, got an object'],
    ['ip_family', 'IPv6', '"IPv6" is not an IP family (expected "ipv4" or "ipv6")'],
  ])('names a bad %s %j', (name, value, detail) => {
    const key = `${M}${name}`;
    expect(parsePodNetworkRequest({ [key]: value }, { provider: 'macvlan.default' })).toEqual(
      E.left([{ code: 'InvalidAnnotation', annotation: key, message: `annotation ${key}: ${detail}` }]),
    );
  });

  it('returns every problem, naming the per-interface key it read', () => {
    const annotations = {
      'ovn.kubernetes.io/ip_address.net1': '10.16.0.300',
      'ovn.kubernetes.io/mac_address': 'zz',
      'ovn.kubernetes.io/ip_family': 'v4',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
    };
    expect(parsePodNetworkRequest(annotations, { provider: 'ovn', ifName: 'net1' })).toEqual(
      E.left([
        { code: 'InvalidAnnotation', annotation: 'ovn.kubernetes.io/ip_address.net1', message: 'annotation ovn.kubernetes.io/ip_address.net1: "10.16.0.300" is not an IP address' },
        { code: 'InvalidAnnotation', annotation: 'ovn.kubernetes.io/mac_address', message: 'annotation ovn.kubernetes.io/mac_address: "zz" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)' },
        { code: 'InvalidAnnotation', annotation: 'ovn.kubernetes.io/ip_family', message: 'annotation ovn.kubernetes.io/ip_family: "v4" is not an IP family (expected "ipv4" or "ipv6")' },
      ]),
    );
  });
});
