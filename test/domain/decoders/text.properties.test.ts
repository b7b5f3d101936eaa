// The parsers of text a user writes into an object (issue 14, item 1): the networks and
// default-network annotations, a NAD's CNI config, the routes and ip_pool annotations, MACs and
// the allocator's memory in a Subnet's status. Any input gives a value or an error naming the
// annotation or the field, never a throw. Inputs are real valid examples mutated (hostile.ts),
// their JSON text cut or spliced, and arbitrary strings.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { parseMac } from '../../../src/domain/Address.js';
import { parseMemory } from '../../../src/domain/AllocatorMemory.js';
import { parseRoutesAnnotation } from '../../../src/domain/cni/Routes.js';
import { parseNetConf } from '../../../src/domain/schema/netconf.js';
import { parseNetworksAnnotation } from '../../../src/domain/schema/networks.js';
import { parseIpPool } from '../../../src/domain/schema/annotations.js';
import { hostileValue, jsonTextFrom, mutated, nearMissText } from './hostile.js';

const RUNS = { numRuns: 1500 };

/** Near-miss JSON text of `valid` (hostile.ts), arbitrary strings, and a few extremes. */
const jsonTextNear = (valid: unknown): fc.Arbitrary<string> => fc.oneof(
  jsonTextFrom(valid),
  fc.string({ maxLength: 40 }),
  fc.constantFrom('', ' ', '[]', '{}', 'null', '[null]', '"x"', '['.repeat(100_000), `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`),
);

const selections = [{ name: 'macvlan', namespace: 'default', interface: 'net1', ips: ['172.17.0.9'], mac: '02:00:00:00:00:02', 'default-route': ['172.17.0.1'] }, { name: 'attachnet' }];
const nadConfigs = [
  { cniVersion: '0.3.0', type: 'kube-ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock', provider: 'attachnet.default.ovn', routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }] },
  { cniVersion: '1.0.0', name: 'm', plugins: [{ type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'm.default', routes: [{ dst: '0.0.0.0/0', gw: '172.17.0.1' }] } }, { type: 'tuning' }] },
];
const routes = [{ dst: '10.0.0.0/8', gw: '10.16.0.1' }, { gw: 'fd00::1' }];

describe('the networks annotation and v1.multus-cni.io/default-network', () => {
  const values = fc.oneof(jsonTextNear(selections), fc.array(fc.oneof(nearMissText, fc.constantFrom('default/macvlan@net1', 'attachnet', 'a/b/c', 'x@y@z')), { maxLength: 4 }).map((xs) => xs.join(',')));
  it.each(['k8s.v1.cni.cncf.io/networks', 'v1.multus-cni.io/default-network'])('%s: selections, or one error naming the annotation', (annotation) => {
    fc.assert(fc.property(values, (value) => {
      const r = parseNetworksAnnotation(value, 'default', annotation);
      if (E.isLeft(r)) {
        expect(r.left).toEqual(expect.objectContaining({ code: 'InvalidAnnotation', annotation }));
        expect(r.left.message).toMatch(new RegExp(`^annotation ${annotation.replace(/\./g, '\\.')}: \\S`));
      } else {
        for (const s of r.right) expect(s.name).not.toBe('');
      }
    }), RUNS);
  });
});

describe('a NAD\'s spec.config', () => {
  it('a config, or problems each under spec.config, the NAD named', () => {
    fc.assert(fc.property(fc.oneof(...nadConfigs.map(jsonTextNear)), (config) => {
      const r = parseNetConf(config, 'NetworkAttachmentDefinition "default/n"');
      if (E.isLeft(r)) {
        expect(r.left.problems.length).toBeGreaterThan(0);
        for (const p of r.left.problems) expect(p.path).toMatch(/^spec\.config(\.|\[|$)/);
        expect(r.left.message.startsWith('NetworkAttachmentDefinition "default/n": spec.config')).toBe(true);
      }
    }), RUNS);
  });
});

describe('the routes and ip_pool annotations', () => {
  it('routes: canonical routes, or an error naming the annotation', () => {
    fc.assert(fc.property(jsonTextNear(routes), (value) => {
      const r = parseRoutesAnnotation({ 'm.default.kubernetes.io/routes': value }, 'm.default');
      if (E.isLeft(r)) expect(r.left).toMatch(/^annotation m\.default\.kubernetes\.io\/routes: \S/);
    }), RUNS);
  });

  it('ip_pool: addresses, or the text quoted in the error', () => {
    const pools = fc.array(fc.oneof(nearMissText, fc.constantFrom('10.16.0.15', 'fd00::5', '10.16.0.15,fd00::5', 'pool-a', '10.0.0.1..10.0.0.9')), { maxLength: 5 }).map((xs) => xs.join(fc.sample(fc.constantFrom(',', ';'), 1)[0]!));
    fc.assert(fc.property(pools, (value) => {
      const r = parseIpPool(value);
      if (E.isLeft(r)) expect(r.left.length).toBeGreaterThan(0);
    }), RUNS);
  });
});

describe('MACs and the allocator\'s memory', () => {
  it('MAC: a unicast non-zero value, or the text quoted in the error', () => {
    const macs = fc.oneof(nearMissText, fc.stringMatching(/^[0-9a-fA-F:.-]{0,20}$/), fc.constantFrom('02:00:00:00:00:01', '02-00-00-00-00-01', '01:00:5e:00:00:01', '00:00:00:00:00:00', '02:00:00:00:00:0g', '0200.0000.0001'));
    fc.assert(fc.property(macs, (mac) => {
      const r = parseMac(mac);
      if (E.isLeft(r)) expect(r.left.startsWith(`"${mac}" is `)).toBe(true);
      else expect(r.right & 0x010000000000n).toBe(0n);
    }), RUNS);
  });

  it('status.allocator: a record, or an error naming the field under status.allocator', () => {
    const valid = { v4: { usedUpTo: '10.17.0.9', released: [{ ip: '10.17.0.4', at: 1700000000000 }] }, v6: { usedUpTo: 'fd00::9', released: [] } };
    fc.assert(fc.property(fc.oneof(mutated(valid), hostileValue), (u) => {
      const r = parseMemory(u);
      if (E.isLeft(r)) expect(r.left).toMatch(/^status\.allocator(\.v[46](\.usedUpTo|\.released)?)? \S/);
    }), RUNS);
  });
});
