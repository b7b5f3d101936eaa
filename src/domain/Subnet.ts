// Subnet canonicalisation and validation (Kube-OVN's formatSubnet + ValidateSubnet, DESIGN §3.3).
// Rules:
// - cidrBlock is `v4`, `v6` or `v4,v6` (at most one CIDR per family); host bits are cleared and
//   a prefix length is read as Go's net.ParseCIDR reads it (`/024` is `/24`, canonical `/24`);
//   /32 and /128 are refused (no room for a gateway and a pod). IPv6 is read in any case and
//   written canonical (`FD00::/120` is `fd00::/120`; Kube-OVN refuses upper case). A CIDR that
//   overlaps a range no pod may use is refused as Kube-OVN's CIDRGlobalUnicast refuses it:
//   IPv4 0.0.0.0, loopback 127/8, link-local 169.254/16, multicast 224/4, 255.255.255.255;
//   IPv6 ::, ::1, link-local fe80::/10, multicast ff00::/8.
// - protocol is derived from the CIDRs; a spec.protocol that disagrees is corrected from the
//   CIDRs, as Kube-OVN's formatSubnet does, and reported as a warning (`warnings`), not an error.
// - mtu, when given, is at least 1280 on an IPv6 or dual-stack subnet (IPv6's minimum link MTU).
// - gateway defaults to the first host address of each family; a dual subnet given one
//   gateway gets the other family's first host appended. It must lie inside its CIDR and not
//   be the network or (IPv4) broadcast address.
// - excludeIps (addresses, CIDRs and `a..b` ranges) are merged, clipped to the host range of
//   their family's CIDR (entries outside it are dropped, as Kube-OVN's IPAM ignores them), and
//   the gateway is added. A CIDR entry (`10.0.0.0/28`) is accepted (Kube-OVN refuses it).
// - The usable pool of a family is its host range (network+1 .. last-1; /31 and /127 whole)
//   minus the excluded set.
// - Overlap (validateSubnets): two OVN subnets may not overlap, nor two subnets of the same
//   provider; the later one in the given order is invalid and allocates nothing. The caller
//   gives them in precedence order (PlanContext.subnetsInPrecedence), never in input order.
// Every problem is collected, each naming its field.
import * as E from 'fp-ts/lib/Either.js';
import type { Family } from './Address.js';
import { familyName, formatValue, parseAddress } from './Address.js';
import type { CidrBlock, Range, RangeSet } from './RangeSet.js';
import * as RS from './RangeSet.js';

export type Protocol = 'IPv4' | 'IPv6' | 'Dual';

/** What canonicalisation reads: a decoded Subnet object's name and spec. */
export interface SubnetInput {
  readonly metadata: { readonly name: string };
  readonly spec: {
    readonly cidrBlock: string;
    readonly protocol?: string | undefined;
    readonly provider?: string | undefined;
    readonly gateway?: string | undefined;
    readonly excludeIps?: readonly string[] | undefined;
    readonly mtu?: number | undefined;
    readonly namespaces?: readonly string[] | undefined;
  };
}

export interface FamilyPool {
  readonly family: Family;
  readonly cidr: CidrBlock;
  /** Canonical CIDR text, e.g. `10.16.0.0/16`. */
  readonly cidrText: string;
  readonly gateway: bigint;
  /** excludeIps of this family clipped to the host range, plus the gateway. */
  readonly excluded: RangeSet;
  /** Host range minus excluded: what dynamic allocation may hand out. */
  readonly usable: RangeSet;
}

export interface Subnet {
  readonly name: string;
  readonly provider: string;
  /** OVN subnets (provider `ovn` or `<nad>.<ns>.ovn`) get logical switches and MACs. */
  readonly isOvn: boolean;
  readonly protocol: Protocol;
  readonly cidrBlock: string;
  readonly gateway: string;
  readonly excludeIps: readonly string[];
  readonly mtu?: number | undefined;
  readonly namespaces: readonly string[];
  readonly v4?: FamilyPool | undefined;
  readonly v6?: FamilyPool | undefined;
  /** What canonicalisation corrected in the spec (a Warning Event on the Subnet, once). */
  readonly warnings: readonly SubnetProblem[];
}

export type SubnetProblemCode = 'CIDRInvalid' | 'GatewayInvalid' | 'ExcludeIpsInvalid' | 'ProtocolMismatch' | 'MtuInvalid' | 'SubnetOverlap';

export interface SubnetProblem {
  readonly code: SubnetProblemCode;
  readonly field: string;
  readonly message: string;
}

export interface SubnetInvalid {
  readonly code: 'SubnetInvalid';
  readonly subnet: string;
  readonly problems: readonly SubnetProblem[];
  readonly message: string;
}

/** `ovn`, empty, or exactly `<name>.<namespace>.ovn` (Kube-OVN's IsOvnProvider). */
export const isOvnProvider = (provider: string): boolean => {
  if (provider === '' || provider === 'ovn') return true;
  const parts = provider.split('.');
  return parts.length === 3 && parts[2] === 'ovn';
};

export const poolOf = (subnet: Subnet, family: Family): FamilyPool | undefined => (family === 4 ? subnet.v4 : subnet.v6);

export const poolsOf = (subnet: Subnet): readonly FamilyPool[] =>
  [subnet.v4, subnet.v6].filter((p): p is FamilyPool => p !== undefined);

/** Host range: network+1 .. last-1, except /31 and /127 (both addresses). */
export const hostRange = (cidr: CidrBlock): Range => {
  const bits = cidr.family === 4 ? 32 : 128;
  if (cidr.prefix >= bits - 1) return { start: cidr.start, end: cidr.end };
  return { start: cidr.start + 1n, end: cidr.end - 1n };
};

const invalid = (name: string, problems: readonly SubnetProblem[]): SubnetInvalid => ({
  code: 'SubnetInvalid',
  subnet: name,
  problems,
  message: `subnet ${name} is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`,
});

/** Ranges no pod may be given (Kube-OVN's CIDRGlobalUnicast), each with what it is. */
const SPECIAL: readonly { readonly cidr: string; readonly what: string }[] = [
  { cidr: '0.0.0.0/32', what: 'the IPv4 unspecified address' },
  { cidr: '127.0.0.0/8', what: 'the IPv4 loopback range' },
  { cidr: '169.254.0.0/16', what: 'the IPv4 link-local range' },
  { cidr: '224.0.0.0/4', what: 'the IPv4 multicast range' },
  { cidr: '255.255.255.255/32', what: 'the IPv4 broadcast address' },
  { cidr: '::/128', what: 'the IPv6 unspecified address' },
  { cidr: '::1/128', what: 'the IPv6 loopback address' },
  { cidr: 'fe80::/10', what: 'the IPv6 link-local range' },
  { cidr: 'ff00::/8', what: 'the IPv6 multicast range' },
];

const specialOverlap = (cidr: CidrBlock): string | undefined => {
  for (const sp of SPECIAL) {
    const parsed = RS.parseStrictCidr(sp.cidr);
    if (E.isLeft(parsed) || parsed.right.family !== cidr.family) continue;
    if (cidr.start <= parsed.right.end && parsed.right.start <= cidr.end) return `${sp.what} ${sp.cidr}`;
  }
  return undefined;
};

const parseCidrs = (text: string, problems: SubnetProblem[]): CidrBlock[] => {
  const cidrs: CidrBlock[] = [];
  const parts = text.split(',').map((p) => p.trim());
  const report = (message: string) => problems.push({ code: 'CIDRInvalid', field: 'spec.cidrBlock', message });
  if (parts.length > 2) report(`"${text}" has ${parts.length} CIDRs; at most two (one IPv4, one IPv6) are allowed`);
  for (const part of parts.slice(0, 2)) {
    const parsed = RS.parseStrictCidr(part);
    if (E.isLeft(parsed)) {
      report(parsed.left);
      continue;
    }
    const cidr = parsed.right;
    const bits = cidr.family === 4 ? 32 : 128;
    if (cidr.prefix === bits) {
      report(`"${part}" is a single address (/${bits}); a subnet needs room for a gateway and pods`);
      continue;
    }
    const special = specialOverlap(cidr);
    if (special !== undefined) {
      report(`"${part}" overlaps ${special}, which no pod may be given`);
      continue;
    }
    if (cidrs.some((c) => c.family === cidr.family)) {
      report(`"${text}" has two ${familyName(cidr.family)} CIDRs; a dual-stack subnet has one of each family`);
      continue;
    }
    cidrs.push(cidr);
  }
  return cidrs.sort((a, b) => a.family - b.family);
};

const parseGateways = (text: string | undefined, cidrs: readonly CidrBlock[], problems: SubnetProblem[]): Map<Family, bigint> => {
  const gateways = new Map<Family, bigint>();
  const report = (message: string) => problems.push({ code: 'GatewayInvalid', field: 'spec.gateway', message });
  for (const part of (text ?? '').split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const address = parseAddress(part);
    if (E.isLeft(address)) {
      report(address.left);
      continue;
    }
    const { family, value } = address.right;
    const cidr = cidrs.find((c) => c.family === family);
    if (cidr === undefined) report(`${part} is ${familyName(family)} but cidrBlock has no ${familyName(family)} CIDR`);
    else if (gateways.has(family)) report(`"${text}" gives two ${familyName(family)} gateways`);
    else if (value < cidr.start || value > cidr.end) report(`${part} is outside ${formatCidr(cidr)}`);
    else if (value === cidr.start && cidr.prefix < (family === 4 ? 31 : 127)) report(`${part} is the network address of ${formatCidr(cidr)}`);
    else if (family === 4 && value === cidr.end && cidr.prefix < 31) report(`${part} is the broadcast address of ${formatCidr(cidr)}`);
    else gateways.set(family, value);
  }
  return gateways;
};

const parseExcludes = (entries: readonly string[], problems: SubnetProblem[]): Map<Family, RangeSet> => {
  const byFamily = new Map<Family, Range[]>([[4, []], [6, []]]);
  entries.forEach((entry, i) => {
    const parsed = RS.parseEntry(entry);
    if (E.isLeft(parsed)) problems.push({ code: 'ExcludeIpsInvalid', field: `spec.excludeIps[${i}]`, message: parsed.left });
    else byFamily.get(parsed.right.family)!.push(...parsed.right.set);
  });
  return new Map([...byFamily].map(([f, ranges]) => [f, RS.fromRanges(ranges)]));
};

export const formatCidr = (cidr: CidrBlock): string => `${formatValue(cidr.family, cidr.start)}/${cidr.prefix}`;

const formatExcludes = (family: Family, set: RangeSet): string[] =>
  set.map((r) => (r.start === r.end ? formatValue(family, r.start) : `${formatValue(family, r.start)}..${formatValue(family, r.end)}`));

/** Canonicalises one Subnet on its own (no overlap check), collecting every problem. */
export const canonicalize = (input: SubnetInput): E.Either<SubnetInvalid, Subnet> => {
  const name = input.metadata.name;
  const spec = input.spec;
  const problems: SubnetProblem[] = [];
  const cidrs = parseCidrs(spec.cidrBlock, problems);
  const gateways = parseGateways(spec.gateway, cidrs, problems);
  const excludes = parseExcludes(spec.excludeIps ?? [], problems);
  const protocol: Protocol | undefined =
    cidrs.length === 2 ? 'Dual' : cidrs[0]?.family === 4 ? 'IPv4' : cidrs[0]?.family === 6 ? 'IPv6' : undefined;
  const warnings: SubnetProblem[] = [];
  if (protocol !== undefined && spec.protocol !== undefined && spec.protocol !== '' && spec.protocol !== protocol) {
    warnings.push({ code: 'ProtocolMismatch', field: 'spec.protocol', message: `is ${spec.protocol} but cidrBlock "${spec.cidrBlock}" is ${protocol}; using ${protocol}` });
  }
  if (spec.mtu !== undefined && protocol !== undefined && protocol !== 'IPv4' && spec.mtu < 1280) {
    problems.push({ code: 'MtuInvalid', field: 'spec.mtu', message: `${spec.mtu} is below 1280, the least an IPv6 link may carry (RFC 8200)` });
  }
  if (problems.length > 0 || protocol === undefined) return E.left(invalid(name, problems));

  const pools = cidrs.map((cidr): FamilyPool => {
    const host = hostRange(cidr);
    const gateway = gateways.get(cidr.family) ?? host.start;
    const clipped = RS.intersect(excludes.get(cidr.family) ?? [], [host]);
    const excluded = RS.union(clipped, RS.single(gateway));
    return { family: cidr.family, cidr, cidrText: formatCidr(cidr), gateway, excluded, usable: RS.subtract([host], excluded) };
  });
  const provider = spec.provider === undefined || spec.provider === '' ? 'ovn' : spec.provider;
  return E.right({
    name,
    provider,
    isOvn: isOvnProvider(provider),
    protocol,
    cidrBlock: pools.map((p) => p.cidrText).join(','),
    gateway: pools.map((p) => formatValue(p.family, p.gateway)).join(','),
    excludeIps: pools.flatMap((p) => formatExcludes(p.family, p.excluded)),
    mtu: spec.mtu,
    namespaces: spec.namespaces ?? [],
    v4: pools.find((p) => p.family === 4),
    v6: pools.find((p) => p.family === 6),
    warnings,
  });
};

/** The text of a Subnet's warnings (empty when there are none), as its status and Event say it. */
export const warningText = (subnet: Subnet): string => subnet.warnings.map((w) => `${w.field}: ${w.message}`).join('; ');

const overlapping = (a: Subnet, b: Subnet): FamilyPool | undefined =>
  poolsOf(a).find((pa) => {
    const pb = poolOf(b, pa.family);
    return pb !== undefined && pa.cidr.start <= pb.cidr.end && pb.cidr.start <= pa.cidr.end;
  });

/** Canonicalises every subnet, then applies the overlap rule in the given order (earlier wins).
 *  Returns one result per input, in input order. */
export const validateSubnets = (inputs: readonly SubnetInput[]): readonly E.Either<SubnetInvalid, Subnet>[] => {
  const accepted: Subnet[] = [];
  return inputs.map((input) => {
    const result = canonicalize(input);
    if (E.isLeft(result)) return result;
    const subnet = result.right;
    const problems: SubnetProblem[] = [];
    for (const earlier of accepted) {
      const clash = (subnet.isOvn && earlier.isOvn) || subnet.provider === earlier.provider;
      const pool = clash ? overlapping(subnet, earlier) : undefined;
      if (pool !== undefined) {
        const other = poolOf(earlier, pool.family)!;
        problems.push({
          code: 'SubnetOverlap',
          field: 'spec.cidrBlock',
          message: `${pool.cidrText} overlaps ${other.cidrText} of subnet ${earlier.name} (${earlier.isOvn && subnet.isOvn ? 'both are OVN subnets' : `both serve provider ${subnet.provider}`})`,
        });
      }
    }
    if (problems.length > 0) return E.left(invalid(subnet.name, problems));
    accepted.push(subnet);
    return E.right(subnet);
  });
};
