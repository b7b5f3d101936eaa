// The CNI results the plugin prints (SPEC §5), built from the daemon's CniResponse (Protocol.ts)
// in the caller's cniVersion (behaviour §5.1).
// Rules:
// - Each address is `ip/<prefix of its cidr>`, with `gateway` when the daemon gave one; 0.3.x
//   and 0.4.0 add `version: "4"|"6"`, 1.0.0 and later do not.
// - The IPAM role returns the abbreviated result (no `interfaces`, no `interface` index); the
//   main role one interface `{name: nicname || CNI_IFNAME, mac, sandbox: CNI_NETNS}` (plus `mtu`
//   from 1.1.0, the first version that has it) and `interface: 0` on each address.
// - Routes are the daemon's; an empty `dst` becomes 0.0.0.0/0 or ::/0 by the family of the
//   route's gateway. When the daemon gives none, each address with a gateway gets a default
//   route through it. `dns` is always empty.
// - The main role given a prevResult (a plugin before us in a conflist) returns it with our
//   interface, addresses and routes appended (SPEC: "pass it through, or modify it").
// - CHECK passes when every address the daemon has for the interface is in prevResult (and, in
//   the main role, prevResult has the interface): later plugins may add, not take away.
import { CniCode, type CniIp, type CniResponse, type CniRoute } from './Protocol.js';
import {
  addressFamily, canonicalCidr, compareVersions, failure, isSupportedVersion, LATEST_VERSION, success,
  SUPPORTED_VERSIONS, type CniError, type CniVersion, type Outcome, type PluginRole,
} from './PluginConfig.js';

/** Codes of our own (SPEC: 100 and up are the plugin's; 999 is libcni's "internal"). */
export const PluginCode = {
  /** CHECK found prevResult and the daemon's allocation apart. */
  CheckFailed: 100,
  /** A daemon answer we cannot read, or a bug of ours. */
  Internal: 999,
} as const;

export interface ResultContext {
  readonly role: PluginRole;
  readonly cniVersion: CniVersion;
  readonly ifName: string;
  readonly netns: string;
  readonly prevResult?: Readonly<Record<string, unknown>>;
}

export interface ResultInterface {
  readonly name: string;
  readonly mac?: string;
  readonly mtu?: number;
  readonly sandbox: string;
}

export interface ResultIp {
  readonly version?: '4' | '6';
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}

export interface ResultRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniResult {
  readonly cniVersion: CniVersion;
  readonly interfaces?: readonly unknown[];
  readonly ips: readonly unknown[];
  readonly routes: readonly unknown[];
  readonly dns: unknown;
}

export interface VersionResult {
  readonly cniVersion: CniVersion;
  readonly supportedVersions: readonly CniVersion[];
}

export interface ErrorResult extends CniError {
  readonly cniVersion: string;
}

const DEFAULT_DST = { 4: '0.0.0.0/0', 6: '::/0' } as const;

interface Address {
  readonly family: 4 | 6;
  /** `ip/prefix` as the daemon wrote the ip. */
  readonly address: string;
  readonly gateway?: string;
}

const bad = <T>(msg: string): Outcome<T> => failure(PluginCode.Internal, `the daemon's answer is malformed: ${msg}`);

/** `ip/prefix` from the daemon's `ip` and the subnet's `cidr`; an ip with a prefix is kept. */
const readAddress = (ip: CniIp, i: number): Outcome<Address> => {
  const [bare = '', ownPrefix] = String(ip.ip ?? '').split('/');
  const family = addressFamily(bare);
  if (family === undefined) return bad(`ips[${i}].ip ${JSON.stringify(ip.ip)} is not an IP address`);
  const prefix = ownPrefix ?? String(ip.cidr ?? '').split('/')[1];
  if (prefix === undefined || canonicalCidr(`${bare}/${prefix}`) === undefined) {
    return bad(`ips[${i}].cidr ${JSON.stringify(ip.cidr)} has no valid prefix length for ${bare}`);
  }
  const gateway = ip.gateway === undefined || ip.gateway === '' ? undefined : ip.gateway;
  return success({ family, address: `${bare}/${prefix}`, ...(gateway !== undefined && { gateway }) });
};

const readAddresses = (response: CniResponse): Outcome<readonly Address[]> => {
  const ips = response.ips ?? [];
  if (ips.length === 0) return bad('it has no addresses');
  const out: Address[] = [];
  for (const [i, ip] of ips.entries()) {
    const read = readAddress(ip, i);
    if (!read.ok) return read;
    out.push(read.value);
  }
  return success(out);
};

const present = (text: string | undefined): text is string => text !== undefined && text !== '';

/** The daemon's routes with empty destinations made default ones; else a default per gateway. */
export const resultRoutes = (routes: readonly CniRoute[] | undefined, addresses: readonly { readonly family: 4 | 6; readonly gateway?: string }[]): readonly ResultRoute[] => {
  const given = (routes ?? []).filter((r) => present(r.dst) || present(r.gw));
  if (given.length === 0) {
    return addresses.flatMap((a) => (a.gateway === undefined ? [] : [{ dst: DEFAULT_DST[a.family], gw: a.gateway }]));
  }
  return given.map((r) => {
    const dst = present(r.dst) ? r.dst : DEFAULT_DST[addressFamily(r.gw ?? '') ?? 4];
    return present(r.gw) ? { dst, gw: r.gw } : { dst };
  });
};

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u);
const listOf = (u: unknown): readonly unknown[] => (Array.isArray(u) ? u : []);

/** The result of ADD for the caller's version and our role. */
export const buildResult = (response: CniResponse, ctx: ResultContext): Outcome<CniResult> => {
  const read = readAddresses(response);
  if (!read.ok) return read;
  const addresses = read.value;
  const versioned = compareVersions(ctx.cniVersion, '1.0.0') < 0;
  const prev = ctx.role === 'main' ? ctx.prevResult : undefined;
  const prevInterfaces = listOf(prev?.['interfaces']);
  const ips: ResultIp[] = addresses.map((a) => ({
    ...(versioned && { version: a.family === 4 ? '4' : '6' }),
    address: a.address,
    ...(a.gateway !== undefined && { gateway: a.gateway }),
    ...(ctx.role === 'main' && { interface: prevInterfaces.length }),
  }));
  const routes = resultRoutes(response.routes, addresses);
  if (ctx.role === 'ipam') return success({ cniVersion: ctx.cniVersion, ips, routes, dns: {} });
  const mtu = response.mtu !== undefined && response.mtu > 0 && compareVersions(ctx.cniVersion, '1.1.0') >= 0 ? response.mtu : undefined;
  const iface: ResultInterface = {
    name: present(response.nicname) ? response.nicname : ctx.ifName,
    ...(present(response.mac_address) && { mac: response.mac_address }),
    ...(mtu !== undefined && { mtu }),
    sandbox: ctx.netns,
  };
  return success({
    cniVersion: ctx.cniVersion,
    interfaces: [...prevInterfaces, iface],
    ips: [...listOf(prev?.['ips']), ...ips],
    routes: [...listOf(prev?.['routes']), ...routes],
    dns: prev !== undefined && isRecord(prev['dns']) ? prev['dns'] : {},
  });
};

/** CHECK: undefined when prevResult still holds what the daemon says this interface has. */
export const checkResult = (response: CniResponse, ctx: ResultContext): CniError | undefined => {
  const read = readAddresses(response);
  if (!read.ok) return read.error;
  const prev = ctx.prevResult;
  if (prev === undefined) return { code: CniCode.InvalidConfig, msg: 'prevResult is missing (CHECK needs the result of the ADD)' };
  const name = present(response.nicname) ? response.nicname : ctx.ifName;
  if (ctx.role === 'main') {
    const found = listOf(prev['interfaces']).some((i) => isRecord(i) && i['name'] === name && (i['sandbox'] ?? '') === ctx.netns);
    if (!found) return { code: PluginCode.CheckFailed, msg: `prevResult has no interface "${name}" in ${ctx.netns}` };
  }
  const have = new Set(listOf(prev['ips']).flatMap((ip) =>
    isRecord(ip) && typeof ip['address'] === 'string' ? [canonicalCidr(ip['address']) ?? ip['address']] : []));
  const missing = read.value.map((a) => a.address).filter((a) => !have.has(canonicalCidr(a) ?? a));
  if (missing.length === 0) return undefined;
  return {
    code: PluginCode.CheckFailed,
    msg: `${name} should have ${missing.join(', ')} (the daemon's allocation), but prevResult has ${have.size === 0 ? 'no addresses' : [...have].join(', ')}`,
  };
};

/** VERSION: echoes the caller's cniVersion when we speak it (SPEC §5 "Version"), else our latest. */
export const versionResult = (requested: string | undefined): VersionResult => ({
  cniVersion: requested !== undefined && isSupportedVersion(requested) ? requested : LATEST_VERSION,
  supportedVersions: [...SUPPORTED_VERSIONS],
});

export const errorResult = (cniVersion: string, error: CniError): ErrorResult => ({
  cniVersion,
  code: error.code,
  msg: error.msg,
  ...(error.details !== undefined && { details: error.details }),
});
