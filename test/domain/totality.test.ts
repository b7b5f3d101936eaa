// Every parser of object content is total (issue 14, item 1): any text gives a value or an
// error naming the object and field, never a throw. A CIDR with a leading-zero prefix length
// (`10.0.0.0/024`) used to escape cidr-tools as `Network is not a CIDR or IP` and stop every
// plan; and JSON nested deeper than the stack (a routes annotation, a NAD config) escaped the
// JSON scanner as a RangeError. Prefix lengths are read as Go's net.ParseCIDR reads them, which
// is what Kube-OVN validates and canonicalises Subnets with: leading zeros are accepted and
// dropped (`/024` is `/24`).
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseAddress } from '../../src/domain/Address.js';
import { planAll } from '../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../../src/domain/IncrementalPlanner.js';
import * as RS from '../../src/domain/RangeSet.js';
import { parseIpAddresses, parseIpPool, parsePodNetworkRequest } from '../../src/domain/schema/annotations.js';
import { parseJson } from '../../src/domain/schema/json.js';
import { canonicalCidr } from '../../src/domain/schema/route.js';
import { buildSnapshot } from '../../src/domain/Snapshot.js';
import type { SubnetInput } from '../../src/domain/Subnet.js';
import { canonicalize, formatCidr } from '../../src/domain/Subnet.js';
import { ipObject, objects, podObject, subnetObject } from './planner/snapshots.js';

const RUNS = { numRuns: 2000 };

/** Strings that almost parse: pieces of addresses and CIDRs with leading zeros, huge and signed
 *  prefixes, `::` forms, zones, whitespace, unicode digits and separators. */
const nearMiss: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(
    '10', '0', '00', '010', '255', '256', '4294967296', '.', '..', ':', '::', 'ffff', 'FD00', 'fd00', 'g', '/', '/0', '/00', '/024', '/24',
    '/33', '/0129', '/128', '/99999999999', '/-1', '/+24', '/1e1', '/0x18', ' ', '\t', '\n', '\u00a0', '%eth0', '1.2.3.4', '::ffff:',
    '\uff12\uff14', '\u0662\u0664', '\u0968', ',', ';', '-', '[', ']', '{', '"', '\u0000', '\ud800', '\u{1F600}',
  ), { maxLength: 10 })
  .map((parts) => parts.join(''));

/** A real address with a prefix length that has leading zeros or too many digits. */
const zeroPrefixed: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('10.0.0.0', '10.16.0.9', 'fd00::', '::', '1.2.3.4'), fc.stringMatching(/^0{0,4}[0-9]{1,4}$/))
  .map(([address, prefix]) => `${address}/${prefix}`);

const anyText: fc.Arbitrary<string> = fc.oneof(nearMiss, zeroPrefixed, fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }));

const neverThrows = <A>(f: () => A): A => {
  try {
    return f();
  } catch (error) {
    throw new Error(`threw ${String(error)}`, { cause: error });
  }
};

describe('CIDRs as Go reads them (Kube-OVN validates Subnets with net.ParseCIDR)', () => {
  it.each([
    ['10.0.0.0/024', '10.0.0.0/24'],
    ['fd00::/064', 'fd00::/64'],
    ['10.0.0.7/024', '10.0.0.0/24'],
    ['10.0.0.0/00', '0.0.0.0/0'],
    ['10.0.0.0/0000000024', '10.0.0.0/24'],
    ['FD00:0::/0128', 'fd00::/128'],
    [' 10.0.0.0/24 ', '10.0.0.0/24'],
  ])('%s → %s', (text, canonical) => {
    const parsed = RS.parseStrictCidr(text);
    expect(E.isRight(parsed) && formatCidr(parsed.right)).toBe(canonical);
  });

  it.each([
    ['10.0.0.0/033', '"10.0.0.0/033" has prefix length 33, more than the 32 bits of IPv4'],
    ['fd00::/0129', '"fd00::/0129" has prefix length 129, more than the 128 bits of IPv6'],
    ['10.0.0.0/99999999999', '"10.0.0.0/99999999999" has prefix length 999999…, more than the 32 bits of IPv4'],
    ['10.0.0.0/', '"10.0.0.0/" is not a CIDR: the prefix length after "/" is missing'],
    ['10.0.0.0/+24', '"10.0.0.0/+24" is not a CIDR: the prefix length "+24" is not a decimal number'],
    ['10.0.0.0/-1', '"10.0.0.0/-1" is not a CIDR: the prefix length "-1" is not a decimal number'],
    ['10.0.0.0/ 24', '"10.0.0.0/ 24" is not a CIDR: the prefix length " 24" is not a decimal number'],
    ['10.0.0.0/\uff12\uff14', '"10.0.0.0/\uff12\uff14" is not a CIDR: the prefix length "\uff12\uff14" is not a decimal number'],
    ['10.0.0.0/\u0662\u0664', '"10.0.0.0/\u0662\u0664" is not a CIDR: the prefix length "\u0662\u0664" is not a decimal number'],
    ['10.0.0.0/24/8', '"10.0.0.0/24/8" is not a CIDR (expected address/prefix)'],
    ['10.0.0.0', '"10.0.0.0" is not a CIDR (expected address/prefix)'],
    ['010.0.0.0/8', '"010.0.0.0/8" is not a CIDR: "010.0.0.0" is not an IP address'],
    ['fe80::1%eth0/64', '"fe80::1%eth0/64" is not a CIDR: "fe80::1%eth0" is not an IP address (a zone index is not allowed)'],
    ['::ffff:10.0.0.0/120', '"::ffff:10.0.0.0/120" is not a CIDR: "::ffff:10.0.0.0" is an IPv4-mapped IPv6 address; write the IPv4 address instead'],
    ['/24', '"/24" is not a CIDR: "" is not an IP address'],
  ])('%s is refused: %s', (text, message) => {
    expect(RS.parseStrictCidr(text)).toEqual(E.left(message));
  });
});

const input = (spec: Partial<SubnetInput['spec']> & { cidrBlock: string }): SubnetInput => ({ metadata: { name: 's' }, spec });

describe('a Subnet with near-miss fields: canonical, or invalid with the field and the value named', () => {
  it.each([
    ['a leading-zero IPv4 prefix is canonicalised', { cidrBlock: '10.0.0.0/024' }, '10.0.0.0/24', '10.0.0.1', ['10.0.0.1']],
    ['a leading-zero IPv6 prefix is canonicalised', { cidrBlock: 'fd00::/064' }, 'fd00::/64', 'fd00::1', ['fd00::1']],
    ['in both families at once', { cidrBlock: '10.0.0.0/024,fd00::/0120' }, '10.0.0.0/24,fd00::/120', '10.0.0.1,fd00::1', ['10.0.0.1', 'fd00::1']],
    ['in excludeIps', { cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.8/030', 'fd00::/064'] }, '10.0.0.0/24', '10.0.0.1', ['10.0.0.1', '10.0.0.8..10.0.0.11']],
  ])('%s', (_name, spec, cidrBlock, gateway, excludeIps) => {
    const s = canonicalize(input(spec));
    expect(E.isRight(s) && [s.right.cidrBlock, s.right.gateway, s.right.excludeIps]).toEqual([cidrBlock, gateway, excludeIps]);
  });

  it.each([
    ['a prefix too long behind leading zeros', { cidrBlock: '10.0.0.0/033' }, 'spec.cidrBlock: "10.0.0.0/033" has prefix length 33, more than the 32 bits of IPv4'],
    ['a huge prefix', { cidrBlock: 'fd00::/00000000000000000000000000000000000000000000129' }, 'spec.cidrBlock: "fd00::/00000000000000000000000000000000000000000000129" has prefix length 129, more than the 128 bits of IPv6'],
    ['a unicode-digit prefix', { cidrBlock: '10.0.0.0/\uff12\uff14' }, 'spec.cidrBlock: "10.0.0.0/\uff12\uff14" is not a CIDR: the prefix length "\uff12\uff14" is not a decimal number'],
    ['an excludeIps entry', { cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.5', '10.0.0.0/0033'] }, 'spec.excludeIps[1]: "10.0.0.0/0033" has prefix length 33, more than the 32 bits of IPv4'],
    ['a leading-zero gateway octet', { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.01' }, 'spec.gateway: "10.0.0.01" is not an IP address'],
    ['a gateway with a prefix', { cidrBlock: '10.0.0.0/24', gateway: '10.0.0.1/024' }, 'spec.gateway: "10.0.0.1/024" is not an IP address (a prefix length is not allowed here)'],
  ])('%s', (_name, spec, problem) => {
    expect(canonicalize(input(spec))).toEqual(E.left(expect.objectContaining({ code: 'SubnetInvalid', subnet: 's', message: `subnet s is invalid: ${problem}` })));
  });
});

describe('the parsers never throw (fast-check)', () => {
  it('CIDRs, addresses and ranges: a value, or an error quoting the text', () => {
    fc.assert(fc.property(anyText, (text) => {
      const entry = neverThrows(() => RS.parseEntry(text));
      if (E.isLeft(entry)) expect(entry.left.startsWith(`"${text.trim()}"`)).toBe(true);
      const address = neverThrows(() => parseAddress(text));
      if (E.isLeft(address)) expect(address.left.startsWith(`"${text}"`)).toBe(true);
      const cidr = neverThrows(() => RS.parseStrictCidr(text));
      if (E.isRight(cidr)) {
        // Canonical and stable: the canonical text parses to the same block.
        expect(RS.parseStrictCidr(formatCidr(cidr.right))).toEqual(cidr);
      } else {
        expect(cidr.left.startsWith(`"${text}"`)).toBe(true);
      }
      neverThrows(() => canonicalCidr(text));
      neverThrows(() => parseJson(text));
    }), RUNS);
  });

  it('pod annotations: a request, or problems each naming its annotation', () => {
    const keys = ['ip_address', 'ip_pool', 'mac_address', 'logical_switch', 'routes', 'ip_family'] as const;
    fc.assert(fc.property(fc.constantFrom(...keys), anyText, (name, value) => {
      const key = `ovn.kubernetes.io/${name}`;
      const r = neverThrows(() => parsePodNetworkRequest({ [key]: value }, { provider: 'ovn' }));
      if (E.isLeft(r)) for (const p of r.left) expect(p.message.startsWith(`annotation ${key}: `)).toBe(true);
      neverThrows(() => parseIpAddresses(value));
      neverThrows(() => parseIpPool(value));
    }), RUNS);
  });

  it('a Subnet: canonical, or invalid with every problem under a field of its spec', () => {
    const fields = /^spec\.(cidrBlock|gateway|protocol|excludeIps\[\d+\])$/;
    fc.assert(fc.property(anyText, fc.option(anyText), fc.array(anyText, { maxLength: 3 }), (cidrBlock, gateway, excludeIps) => {
      const r = neverThrows(() => canonicalize(input({ cidrBlock, ...(gateway !== null && { gateway }), excludeIps })));
      if (E.isLeft(r)) {
        expect(r.left.message.startsWith('subnet s is invalid: ')).toBe(true);
        for (const p of r.left.problems) {
          expect(p.field).toMatch(fields);
          expect(r.left.message).toContain(`${p.field}: ${p.message}`);
        }
      }
    }), RUNS);
  });

  it('JSON nested deeper than the stack is an error, not a RangeError', () => {
    const deep = '['.repeat(200_000);
    const r = parseJson(deep);
    expect(E.isLeft(r) && r.left.message).toBe('invalid JSON at line 1, column 1: SyntaxError: Unexpected end of JSON input');
    expect(parsePodNetworkRequest({ 'ovn.kubernetes.io/routes': deep }, { provider: 'ovn' })).toEqual(E.left([expect.objectContaining({
      code: 'InvalidAnnotation', message: 'annotation ovn.kubernetes.io/routes: invalid JSON at line 1, column 1: SyntaxError: Unexpected end of JSON input',
    })]));
  });
});

describe('one object\'s content never stops the plan of the others (fast-check)', () => {
  // A good Subnet (created first) and its pod, beside a Subnet, an IP object, an IPPool, a NAD and a pod whose
  // fields are near misses: the plan is computed, the good pod is allocated, every error is data.
  const docs = (cidrBlock: string, gateway: string, exclude: string, address: string, annotation: string, nadConfig: string) => [
    // ovn-default came first (a Subnet created earlier wins an overlap): the bad Subnet may be
    // 0.0.0.0/0, which must not take ovn-default's place because it holds a claim.
    ...objects('good.yaml', { ...(subnetObject('ovn-default', '10.16.0.0/16') as object), metadata: { name: 'ovn-default', creationTimestamp: '2020-01-01T00:00:00Z' } }),
    ...objects('bad.yaml',
      subnetObject('bad', cidrBlock, 'ovn', { gateway, excludeIps: [exclude] }),
      ipObject('held.default', 'held', 'bad', address),
      podObject('held', { uid: 'u-held', annotations: { 'ovn.kubernetes.io/logical_switch': 'bad', 'ovn.kubernetes.io/ip_address': address, 'ovn.kubernetes.io/allocated': 'true' } }),
      podObject('odd', { uid: 'u-odd', annotations: { 'ovn.kubernetes.io/ip_pool': annotation, 'ovn.kubernetes.io/routes': annotation, 'k8s.v1.cni.cncf.io/networks': annotation } }),
      { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'pool' }, spec: { subnet: 'bad', ips: [exclude, address] } },
      { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'nad', namespace: 'default' }, spec: { config: nadConfig } },
    ),
    ...objects('pod.yaml', podObject('good', { uid: 'u-good' })),
  ];

  it('planAll and the controller\'s incremental planner', () => {
    fc.assert(fc.property(anyText, anyText, anyText, anyText, anyText, anyText, (cidrBlock, gateway, exclude, address, annotation, nadConfig) => {
      const { snapshot } = buildSnapshot(docs(cidrBlock, gateway, exclude, address, annotation, nadConfig));
      const plan = neverThrows(() => planAll(snapshot, { now: 0 }));
      const good = plan.allocations.filter((a) => a.pod === 'default/good').map((a) => `${a.subnet} ${a.ipAddress}`);
      expect(good).toHaveLength(1);
      expect(good[0]).toMatch(/^ovn-default 10\.16\.0\.[23]$/);
      for (const e of plan.errors) expect(e.message.startsWith(`pod ${e.pod}`)).toBe(true);
      const state = neverThrows(() => prepare(snapshot, { now: 0 }));
      for (const key of snapshot.pods.keys()) neverThrows(() => planPodWith(state, snapshot, key, { now: 0 }));
    }), { numRuns: 500 });
  });
});
