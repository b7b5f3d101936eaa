// What the pod's annotations say about one interface, for the daemon: its allocation (the
// controller-written `ip_address`, `cidr`, `gateway`, `mac_address`, committed by `allocated`)
// and its routes, and how a response gives them (behaviour §5.2 step 4; DESIGN §3.2-3.4, §3.6).
//
// Rules:
// - The allocation is read only once `<provider>.kubernetes.io/allocated` is "true"; a NAD
//   attached twice has it under `<provider>.<ifName>` (the controller keys those per interface).
//   Every problem of the annotations is named.
// - An interface's routes are the NAD's (`routes` of the CNI request) followed by the pod's
//   `<provider>.kubernetes.io/routes` annotation; a route given twice counts once.
// - A route is `dst` with `gw` (via), `dst` alone (on-link), or `gw` alone (a default route of
//   the gateway's family). Routes leave here with `dst` always written, `0.0.0.0/0` or `::/0`
//   for a default route, so the CNI plugin never has to guess a family.
// - The default-route interface is eth0, unless `<provider>.kubernetes.io/default_route` says
//   `"true"` or `"false"`. Only it gets the gateway in its IPs (a plugin turns an IP's gateway
//   into a default route when there are no routes).
// - An IPAM-only network never gets a MAC, an MTU or an interface name from us: the main plugin
//   owns the link (DESIGN §3.4). When its routes hold a default route, the default routes of
//   that family already in the pod are removed first, so the main plugin can install its own.
import * as E from 'fp-ts/lib/Either.js';
import { formatMac, formatValue, parseAddress, parseMac, type Family } from '../Address.js';
import { ALLOCATED_TRUE, parseIpAddresses } from '../schema/annotations.js';
import { formatProblems } from '../schema/decode.js';
import { parseJson } from '../schema/json.js';
import { annotationKey } from '../schema/keys.js';
import { canonicalCidr, checkRoutes, decodeRoutes, type Route } from '../schema/route.js';
import type { CniIp, CniRoute } from './Protocol.js';

/** A route with its family and an explicit destination. */
export interface FamilyRoute {
  readonly family: Family;
  /** A canonical CIDR; `0.0.0.0/0` or `::/0` for a default route. */
  readonly dst: string;
  readonly gw?: string;
}

export const DEFAULT_ROUTE_INTERFACE = 'eth0';
export const DEFAULT_ROUTE_ANNOTATION = 'default_route';

const defaultDst = (family: Family): string => (family === 4 ? '0.0.0.0/0' : '::/0');
const familyOfText = (address: string): Family => (address.includes(':') ? 6 : 4);

/** The routes of a CNI request, checked and canonical; the message names `routes[i]`. */
export const parseRequestRoutes = (routes: readonly CniRoute[] | undefined): E.Either<string, readonly Route[]> => {
  if (routes === undefined) return E.right([]);
  const shaped = routes.map((r) => ({ ...(r.dst === undefined ? {} : { dst: r.dst }), ...(r.gw === undefined ? {} : { gw: r.gw }) }));
  const checked = checkRoutes(shaped, 'routes');
  return E.isLeft(checked) ? E.left(formatProblems(checked.left)) : E.right(checked.right);
};

/** The pod's `<provider>.kubernetes.io/routes` annotation (absent or empty: none). */
export const parseRoutesAnnotation = (
  annotations: Readonly<Record<string, string>>,
  provider: string,
): E.Either<string, readonly Route[]> => {
  const key = annotationKey(provider, 'routes');
  const value = annotations[key]?.trim();
  if (value === undefined || value === '') return E.right([]);
  const json = parseJson(value);
  if (E.isLeft(json)) return E.left(`annotation ${key}: ${json.left.message}`);
  const routes = decodeRoutes(json.right, '');
  return E.isLeft(routes) ? E.left(`annotation ${key}: ${formatProblems(routes.left)}`) : E.right(routes.right);
};

/** Is `ifName` the interface that carries the pod's default route? */
export const isDefaultRouteInterface = (ifName: string, annotations: Readonly<Record<string, string>>, provider: string): boolean => {
  const value = annotations[annotationKey(provider, DEFAULT_ROUTE_ANNOTATION)]?.trim();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return ifName === DEFAULT_ROUTE_INTERFACE;
};

/** A canonical route with its family and an explicit destination. */
export const familyRoute = (route: Route): FamilyRoute => {
  const family = familyOfText(route.dst ?? route.gw ?? '');
  return { family, dst: route.dst ?? defaultDst(family), ...(route.gw === undefined ? {} : { gw: route.gw }) };
};

export const isDefaultDst = (route: FamilyRoute): boolean => route.dst === defaultDst(route.family);

/** NAD routes then annotation routes, each once, with explicit destinations. */
export const interfaceRoutes = (nad: readonly Route[], annotation: readonly Route[]): readonly FamilyRoute[] => {
  const seen = new Set<string>();
  const out: FamilyRoute[] = [];
  for (const route of [...nad, ...annotation].map(familyRoute)) {
    const key = `${route.dst} ${route.gw ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(route);
  }
  return out;
};

export const toCniRoutes = (routes: readonly FamilyRoute[]): readonly CniRoute[] =>
  routes.map((r) => (r.gw === undefined ? { dst: r.dst } : { dst: r.dst, gw: r.gw }));

/** The families for which `routes` hold a default route, IPv4 first. */
export const defaultRouteFamilies = (routes: readonly FamilyRoute[]): readonly Family[] =>
  ([4, 6] as const).filter((f) => routes.some((r) => r.family === f && isDefaultDst(r)));

/** The IPs as a response gives them: the gateway only on the default-route interface. */
export const responseIps = (ips: readonly CniIp[], defaultRoute: boolean): readonly CniIp[] =>
  ips.map((ip) => (defaultRoute && ip.gateway !== undefined ? ip : { protocol: ip.protocol, ip: ip.ip, cidr: ip.cidr }));

/** `IPv4`, `IPv6` or `Dual`, as Kube-OVN's response says it. */
export const protocolOf = (ips: readonly CniIp[]): string | undefined => {
  const v4 = ips.some((ip) => ip.protocol === 'IPv4');
  const v6 = ips.some((ip) => ip.protocol === 'IPv6');
  return v4 && v6 ? 'Dual' : v4 ? 'IPv4' : v6 ? 'IPv6' : undefined;
};

// ---- the allocation --------------------------------------------------------------------------

/**
 * The provider whose annotations hold this interface's allocation, once `allocated` is "true":
 * `<provider>.<ifName>` for a NAD attached twice (the controller keys those per interface),
 * else `<provider>`. Undefined while the controller has not committed.
 */
export const allocatedProvider = (annotations: Readonly<Record<string, string>>, provider: string, ifName: string): string | undefined => {
  const perInterface = `${provider}.${ifName}`;
  if (annotations[annotationKey(perInterface, 'allocated')] === ALLOCATED_TRUE) return perInterface;
  if (annotations[annotationKey(provider, 'allocated')] === ALLOCATED_TRUE) return provider;
  return undefined;
};

export interface AllocatedAddress {
  readonly family: Family;
  readonly ip: string;
  readonly prefix: number;
  /** The subnet's CIDR of this family. */
  readonly cidr: string;
  readonly gateway?: string;
}

export interface Allocation {
  readonly addresses: readonly AllocatedAddress[];
  /** Canonical lower case. An OVN network always has one; an IPAM-only network only a static
   *  one the controller recorded, which the daemon never answers (the main plugin sets it). */
  readonly mac?: string;
  /** The `logical_switch` annotation: the Subnet, when it is named. */
  readonly subnet?: string;
}

const inCidr = (ip: string, cidr: string): boolean => {
  const [net = '', prefixText = '0'] = cidr.split('/');
  const a = parseAddress(ip);
  const n = parseAddress(net);
  if (E.isLeft(a) || E.isLeft(n) || a.right.family !== n.right.family) return false;
  const bits = a.right.family === 4 ? 32 : 128;
  const hostMask = (1n << BigInt(bits - Number(prefixText))) - 1n;
  return (a.right.value & ~hostMask) === n.right.value;
};

/** Reads the controller-written annotations of `provider`: `ip_address`, `cidr`, `gateway`,
 *  `mac_address`, `logical_switch`. Every problem names its annotation. */
export const readAllocation = (annotations: Readonly<Record<string, string>>, provider: string): E.Either<string, Allocation> => {
  const problems: string[] = [];
  const value = (name: string): string | undefined => {
    const v = annotations[annotationKey(provider, name)]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const bad = (name: string, why: string): void => {
    problems.push(`annotation ${annotationKey(provider, name)}: ${why}`);
  };
  const ipText = value('ip_address');
  const ips = ipText === undefined ? undefined : parseIpAddresses(ipText);
  if (ips === undefined) bad('ip_address', 'is missing');
  else if (E.isLeft(ips)) bad('ip_address', ips.left);
  const cidrs = new Map<Family, string>();
  for (const text of (value('cidr') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const cidr = canonicalCidr(text);
    if (E.isLeft(cidr)) bad('cidr', cidr.left);
    else cidrs.set(cidr.right.family, cidr.right.text);
  }
  const gateways = new Map<Family, string>();
  for (const text of (value('gateway') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const gw = parseAddress(text);
    if (E.isLeft(gw)) bad('gateway', gw.left);
    else gateways.set(gw.right.family, text);
  }
  const macText = value('mac_address');
  const mac = macText === undefined ? undefined : parseMac(macText);
  if (mac !== undefined && E.isLeft(mac)) bad('mac_address', mac.left);
  const addresses: AllocatedAddress[] = [];
  if (ips !== undefined && E.isRight(ips)) {
    for (const a of ips.right) {
      const ip = formatValue(a.family, a.value);
      const cidr = cidrs.get(a.family);
      if (cidr === undefined) {
        bad('cidr', `has no IPv${a.family} CIDR for ${ip}`);
        continue;
      }
      if (!inCidr(ip, cidr)) bad('ip_address', `${ip} is outside ${cidr}`);
      const gateway = gateways.get(a.family);
      addresses.push({ family: a.family, ip, prefix: Number(cidr.split('/')[1]), cidr, ...(gateway === undefined ? {} : { gateway }) });
    }
  }
  if (problems.length > 0) return E.left(`the pod's allocation for provider ${provider} cannot be used: ${problems.join('; ')}`);
  const subnet = value('logical_switch');
  return E.right({
    addresses,
    ...(mac !== undefined && E.isRight(mac) ? { mac: formatMac(mac.right) } : {}),
    ...(subnet === undefined ? {} : { subnet }),
  });
};

/** The allocation's addresses as a CniResponse gives them (gateways included). */
export const cniIpsOf = (allocation: Allocation): readonly CniIp[] =>
  allocation.addresses.map((a) => ({
    protocol: a.family === 4 ? 'IPv4' : 'IPv6', ip: a.ip, cidr: a.cidr, ...(a.gateway === undefined ? {} : { gateway: a.gateway }),
  }));
