import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { canonicalCidr, decodeRoutes } from '../../../src/domain/schema/route.js';

describe('canonicalCidr', () => {
  it.each<[string, 4 | 6, string]>([
    ['19.10.0.0/16', 4, '19.10.0.0/16'],
    ['0.0.0.0/0', 4, '0.0.0.0/0'],
    ['10.0.0.1/32', 4, '10.0.0.1/32'],
    ['FD00:0::/64', 6, 'fd00::/64'],
    ['::/0', 6, '::/0'],
  ])('accepts %j', (text, family, canonical) => {
    expect(canonicalCidr(text)).toEqual(E.right({ family, text: canonical }));
  });

  it.each<[string, string]>([
    ['19.10.0.0', '"19.10.0.0" is not a CIDR (expected an address and a prefix length, like 10.0.0.0/16)'],
    ['1.2.3.0/24/8', '"1.2.3.0/24/8" is not a CIDR (expected an address and a prefix length, like 10.0.0.0/16)'],
    ['19.10.0.300/16', '"19.10.0.300/16" is not a CIDR: "19.10.0.300" is not an IP address'],
    ['19.10.0.0/33', '"19.10.0.0/33" has an invalid prefix length (expected 0 to 32)'],
    ['19.10.0.0/016', '"19.10.0.0/016" has an invalid prefix length (expected 0 to 32)'],
    ['19.10.0.0/', '"19.10.0.0/" has an invalid prefix length (expected 0 to 32)'],
    ['fd00::/129', '"fd00::/129" has an invalid prefix length (expected 0 to 128)'],
    ['19.10.0.5/16', '"19.10.0.5/16" has host bits set (the network is 19.10.0.0/16)'],
    ['fd00::1/64', '"fd00::1/64" has host bits set (the network is fd00::/64)'],
  ])('refuses %j', (text, message) => {
    expect(canonicalCidr(text)).toEqual(E.left(message));
  });
});

describe('decodeRoutes', () => {
  it('returns canonical routes, dropping empty fields', () => {
    expect(decodeRoutes([{ dst: '19.10.0.0/16' }, { dst: 'FD00::/64', gw: 'FD00::1' }, { gw: '10.0.0.1', dst: '' }], 'x')).toEqual(
      E.right([{ dst: '19.10.0.0/16' }, { dst: 'fd00::/64', gw: 'fd00::1' }, { gw: '10.0.0.1' }]),
    );
  });

  it.each<[string, unknown, readonly { path: string; message: string }[]]>([
    ['a bad gateway', [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.x' }], [{ path: 'r[1].gw', message: '"19.10.0.x" is not an IP address' }]],
    ['a bad destination and gateway', [{ dst: '19.20.0.0', gw: '1.2.3.4/32' }], [
      { path: 'r[0].dst', message: '"19.20.0.0" is not a CIDR (expected an address and a prefix length, like 10.0.0.0/16)' },
      { path: 'r[0].gw', message: '"1.2.3.4/32" is not an IP address (a prefix length is not allowed here)' },
    ]],
    ['mixed families', [{ dst: 'fd00::/64', gw: '10.0.0.1' }], [{ path: 'r[0]', message: 'gw 10.0.0.1 is IPv4 but dst fd00::/64 is IPv6' }]],
    ['an empty route', [{}, { dst: '', gw: '' }], [{ path: 'r[0]', message: 'has neither dst nor gw' }, { path: 'r[1]', message: 'has neither dst nor gw' }]],
    ['a wrong type', [{ dst: 16 }], [{ path: 'r[0].dst', message: 'expected a string, got the number 16' }]],
    ['a non-list', { dst: '1.0.0.0/8' }, [{ path: 'r', message: 'expected an array, got an object' }]],
  ])('names %s', (_name, value, problems) => {
    expect(decodeRoutes(value, 'r')).toEqual(E.left(problems));
  });
});
