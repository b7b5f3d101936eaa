// Builders shared by the domain tests: subnets from specs, addresses from text, requests.
import * as E from 'fp-ts/lib/Either.js';
import type { Address } from '../../src/domain/Address.js';
import { formatMac, formatValue, parseAddress } from '../../src/domain/Address.js';
import type { AllocationRequest } from '../../src/domain/Allocator.js';
import type { Claim, IpamState } from '../../src/domain/IpamState.js';
import type { Subnet, SubnetInput } from '../../src/domain/Subnet.js';
import { canonicalize } from '../../src/domain/Subnet.js';

export const subnet = (name: string, spec: SubnetInput['spec']): Subnet => {
  const r = canonicalize({ metadata: { name }, spec });
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

export const addr = (text: string): Address => {
  const a = parseAddress(text);
  if (E.isLeft(a)) throw new Error(a.left);
  return a.right;
};

export const request = (uid: string, subnetName: string, extra: Partial<AllocationRequest> = {}): AllocationRequest => ({
  key: { podUid: uid, provider: 'ovn' },
  owner: { namespace: 'default', name: uid },
  subnet: subnetName,
  now: 0,
  ...extra,
});

/** A claim in words: `v4[,v6] mac`, for exact comparisons. */
export const describeClaim = (c: Claim): string =>
  [[c.v4 !== undefined ? formatValue(4, c.v4) : '', c.v6 !== undefined ? formatValue(6, c.v6) : ''].filter((x) => x !== '').join(','), c.mac !== undefined ? formatMac(c.mac) : '-', c.source].join(' ');

export const describeState = (state: IpamState): string[] => [...state.claims.values()].map((c) => `${c.id}@${c.subnet}: ${describeClaim(c)}`);
