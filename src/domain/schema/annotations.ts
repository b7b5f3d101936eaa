// The user-written pod annotations of one network (DESIGN.md §3.2, behaviour §1.3 and §2.7),
// decoded into a `PodNetworkRequest` for provider `p` (keys `<p>.kubernetes.io/<name>`).
// Rules:
// - A value that is empty (after trimming) counts as absent, as in Kube-OVN.
// - `ip_address`: `v4`, `v6` or `v4,v6` (either order), bare addresses, at most one per family;
//   returned canonical, IPv4 first. `mac_address`: a unicast MAC, returned as a bigint.
//   With an interface name, `ip_address.<ifName>` / `mac_address.<ifName>` win over the plain keys.
// - `ip_pool`: split on `;` when present (each entry `v4`, `v6` or `v4,v6`), else on `,` (each
//   entry one address; exactly two entries of different families are one dual-stack entry).
//   A single token without `,` or `;` that is not an address names an IPPool (a DNS-1123
//   subdomain); a token made of digits and dots, or with `:` or `/`, is taken as a mistyped address.
// - `logical_switch`: a Subnet name. `routes`: JSON `[{"dst","gw"}]` (route.ts). `ip_family`:
//   `ipv4` or `ipv6`, lower case.
// - Every problem of every annotation is returned, each naming the full key.
import * as E from 'fp-ts/lib/Either.js';
import { dottedQuadAddress, formatAddress, parseAddress, parseMac, type Address, type Family } from '../Address.js';
import { formatProblems, quote } from './decode.js';
import { boundedMemo } from './memo.js';
import { parseJson } from './json.js';
import { annotationKey, AnnotationName, invalidAnnotation, perInterfaceKey, type InvalidAnnotation } from './keys.js';
import { dns1123SubdomainRule, isDns1123Subdomain } from './names.js';
import { decodeRoutes, type Route } from './route.js';

export * from './keys.js';

export interface PoolEntry {
  readonly v4?: Address;
  readonly v6?: Address;
}

export type IpPoolRequest =
  | { readonly kind: 'addresses'; readonly entries: readonly PoolEntry[] }
  | { readonly kind: 'pool'; readonly name: string };

export interface PodNetworkRequest {
  readonly ipAddresses?: readonly Address[];
  readonly mac?: bigint;
  readonly ipPool?: IpPoolRequest;
  readonly logicalSwitch?: string;
  readonly routes?: readonly Route[];
  readonly ipFamily?: Family;
}

/** Which network of the pod: its provider and, for a network used twice, its interface. */
export interface NetworkTarget {
  readonly provider: string;
  readonly ifName?: string;
}

const familyWord = (family: Family): string => (family === 4 ? 'IPv4' : 'IPv6');

/** Parses `v4`, `v6` or `v4,v6` (either order); canonical, IPv4 first. */
export const parseIpAddresses = (value: string): E.Either<string, readonly Address[]> => {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) return E.left(`${quote(value)} has an empty entry`);
  if (parts.length > 2) {
    return E.left(`${quote(value)} has ${parts.length} addresses (expected one, or an IPv4 and an IPv6 address separated by ",")`);
  }
  const parsed = parts.map(parseAddress);
  const errors = parsed.flatMap((p) => (E.isLeft(p) ? [p.left] : []));
  if (errors.length > 0) return E.left(errors.join('; '));
  const addresses = parsed.flatMap((p) => (E.isRight(p) ? [p.right] : []));
  const [first, second] = addresses;
  if (first !== undefined && second !== undefined && first.family === second.family) {
    return E.left(`${quote(value)} has two ${familyWord(first.family)} addresses (at most one per family)`);
  }
  return E.right([...addresses].sort((a, b) => a.family - b.family));
};

const toEntry = (addresses: readonly Address[]): PoolEntry => {
  // A plain loop, not Object.fromEntries: a pool of 100,000 entries builds 100,000 of these.
  const entry: { v4?: Address; v6?: Address } = {};
  for (const a of addresses) entry[a.family === 4 ? 'v4' : 'v6'] = a;
  return entry;
};

const looksLikeAddress = (token: string): boolean => /^[0-9.]+$/.test(token) || /[:/]/.test(token);

/** Splits on `;`: every entry is `v4`, `v6` or `v4,v6`. */
const parseSemicolonPool = (value: string): E.Either<string, IpPoolRequest> => {
  const errors: string[] = [];
  const entries: PoolEntry[] = [];
  value.split(';').forEach((raw, i) => {
    const entry = raw.trim();
    const parsed = entry === '' ? E.left(`entry ${i + 1} is empty`) : parseIpAddresses(entry);
    if (E.isLeft(parsed)) errors.push(parsed.left);
    else entries.push(toEntry(parsed.right));
  });
  return errors.length > 0 ? E.left(errors.join('; ')) : E.right({ kind: 'addresses', entries });
};

/** Splits on `,`: one address per entry, except exactly two of different families. */
const parseCommaPool = (parts: readonly string[]): E.Either<string, IpPoolRequest> => {
  const errors: string[] = [];
  const entries: PoolEntry[] = [];
  // A plain loop, an entry object each and nothing more: a list may hold 100,000 entries.
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const quad = dottedQuadAddress(part);
    if (quad !== undefined) {
      entries.push({ v4: quad });
      continue;
    }
    const parsed = part === '' ? E.left(`entry ${i + 1} is empty`) : parseAddress(part);
    if (E.isLeft(parsed)) errors.push(parsed.left);
    else entries.push(parsed.right.family === 4 ? { v4: parsed.right } : { v6: parsed.right });
  }
  if (errors.length > 0) return E.left(errors.join('; '));
  const [first, second] = entries;
  if (entries.length === 2 && first !== undefined && second !== undefined && (first.v4 === undefined) !== (second.v4 === undefined)) {
    return E.right({ kind: 'addresses', entries: [{ ...first, ...second }] });
  }
  return E.right({ kind: 'addresses', entries });
};

/** Parses an `ip_pool` value: a list of addresses, or the name of an IPPool. */
export const parseIpPool = (value: string): E.Either<string, IpPoolRequest> => {
  const trimmed = value.trim();
  if (trimmed.includes(';')) return parseSemicolonPool(trimmed);
  const parts = trimmed.split(',').map((part) => part.trim());
  const [token] = parts;
  if (parts.length === 1 && token !== undefined && E.isLeft(parseAddress(token))) {
    if (looksLikeAddress(token)) return parseCommaPool(parts);
    if (isDns1123Subdomain(token)) return E.right({ kind: 'pool', name: token });
    return E.left(`${quote(token)} is neither an IP address nor an IPPool name (${dns1123SubdomainRule})`);
  }
  return parseCommaPool(parts);
};

/** parseIpPool of a list every replica of a workload repeats, parsed once (memo.ts): a list of
 *  at least 1,024 characters (some 70 addresses), at most 64 lists and 64 MiB of text kept. */
const parseSharedIpPool = boundedMemo(parseIpPool, { minLength: 1024, maxValues: 64, maxChars: 64 * 2 ** 20 });

export const parseIpFamily = (value: string): E.Either<string, Family> =>
  value === 'ipv4' ? E.right(4) : value === 'ipv6' ? E.right(6) : E.left(`${quote(value)} is not an IP family (expected "ipv4" or "ipv6")`);

const parseLogicalSwitch = (value: string): E.Either<string, string> =>
  isDns1123Subdomain(value) ? E.right(value) : E.left(`${quote(value)} is not a valid Subnet name (${dns1123SubdomainRule})`);

const parseRoutesAnnotation = (value: string): E.Either<string, readonly Route[]> => {
  const json = parseJson(value);
  if (E.isLeft(json)) return E.left(json.left.message);
  const routes = decodeRoutes(json.right, '');
  return E.isLeft(routes) ? E.left(formatProblems(routes.left)) : E.right(routes.right);
};

/** Decodes the annotations of one network of a pod; absent annotations are absent fields. */
export const parsePodNetworkRequest = (
  annotations: Readonly<Record<string, string>> | undefined,
  target: NetworkTarget,
): E.Either<readonly InvalidAnnotation[], PodNetworkRequest> => {
  const problems: InvalidAnnotation[] = [];
  const valueOf = (key: string): string | undefined => {
    const value = annotations?.[key]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  /** The per-interface key when it has a value, else the plain key. */
  const keyFor = (name: 'ip_address' | 'mac_address'): string => {
    const perInterface = target.ifName === undefined ? undefined : perInterfaceKey(target.provider, name, target.ifName);
    return perInterface !== undefined && valueOf(perInterface) !== undefined ? perInterface : annotationKey(target.provider, name);
  };
  const read = <A>(key: string, parse: (value: string) => E.Either<string, A>): A | undefined => {
    const value = valueOf(key);
    if (value === undefined) return undefined;
    const parsed = parse(value);
    if (E.isLeft(parsed)) problems.push(invalidAnnotation(key, parsed.left));
    return E.isRight(parsed) ? parsed.right : undefined;
  };
  const ipAddresses = read(keyFor(AnnotationName.ipAddress), parseIpAddresses);
  const mac = read(keyFor(AnnotationName.macAddress), parseMac);
  const ipPool = read(annotationKey(target.provider, AnnotationName.ipPool), parseSharedIpPool);
  const logicalSwitch = read(annotationKey(target.provider, AnnotationName.logicalSwitch), parseLogicalSwitch);
  const routes = read(annotationKey(target.provider, AnnotationName.routes), parseRoutesAnnotation);
  const ipFamily = read(annotationKey(target.provider, AnnotationName.ipFamily), parseIpFamily);
  if (problems.length > 0) return E.left(problems);
  return E.right({
    ...(ipAddresses !== undefined && { ipAddresses }),
    ...(mac !== undefined && { mac }),
    ...(ipPool !== undefined && { ipPool }),
    ...(logicalSwitch !== undefined && { logicalSwitch }),
    ...(routes !== undefined && { routes }),
    ...(ipFamily !== undefined && { ipFamily }),
  });
};

/** `v4[,v6]`, the canonical text of `ip_address` that the controller writes. */
export const formatIpAddresses = (addresses: readonly Address[]): string => addresses.map(formatAddress).join(',');
