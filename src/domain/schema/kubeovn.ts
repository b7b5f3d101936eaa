// Schemas of Kube-OVN's custom resources (kubeovn.io/v1): Subnet, IP, IPPool.
// Rules: shape only. A Subnet's cidrBlock, gateway and excludeIps are strings here; parsing them
// into ranges is the subnet model's job, which can then name `spec.excludeIps[2]` itself.
// Field names follow Kube-OVN's JSON exactly (`v4availableIPs`, `v4IpAddress`, `containerID`).
import * as t from 'io-ts';
import { integer, strings, struct } from './primitives.js';
import { Condition, ObjectMeta, typeMeta } from './meta.js';

export const Protocol = t.keyof({ IPv4: null, IPv6: null, Dual: null });
export type Protocol = t.TypeOf<typeof Protocol>;

export const SubnetSpec = struct(
  { cidrBlock: t.string },
  {
    protocol: Protocol,
    provider: t.string,
    gateway: t.string,
    excludeIps: strings,
    mtu: integer,
    namespaces: strings,
    vpc: t.string,
  },
);
export type SubnetSpec = t.TypeOf<typeof SubnetSpec>;

export const SubnetStatus = struct({}, {
  v4availableIPs: t.number,
  v4usingIPs: t.number,
  v4availableIPrange: t.string,
  v4usingIPrange: t.string,
  v6availableIPs: t.number,
  v6usingIPs: t.number,
  v6availableIPrange: t.string,
  v6usingIPrange: t.string,
  conditions: t.readonlyArray(Condition),
  /** The allocator's memory (AllocatorMemory.ts), read there: an unreadable one is ignored. */
  allocator: t.unknown,
});
export type SubnetStatus = t.TypeOf<typeof SubnetStatus>;

export const Subnet = struct({ metadata: ObjectMeta, spec: SubnetSpec }, { ...typeMeta, status: SubnetStatus });
export type Subnet = t.TypeOf<typeof Subnet>;

/** An IP object's spec as the CRD accepts it (config/crd/ips.kubeovn.io.yaml): every field
 *  optional, so a hand-written reservation (podName, namespace, subnet, an address) decodes. */
export const IPSpecInput = struct(
  {},
  {
    podName: t.string,
    namespace: t.string,
    subnet: t.string,
    nodeName: t.string,
    ipAddress: t.string,
    v4IpAddress: t.string,
    v6IpAddress: t.string,
    macAddress: t.string,
    containerID: t.string,
    podType: t.string,
    attachIps: strings,
    attachMacs: strings,
    attachSubnets: strings,
  },
);

/** The canonical spec the core reads: an absent string field is `''`, and `ipAddress`, when
 *  absent or empty, is `v4IpAddress` and `v6IpAddress` joined (`v4,v6`), so a reservation may
 *  name its address either way. */
export interface IPSpec {
  readonly podName: string;
  readonly namespace: string;
  readonly subnet: string;
  readonly nodeName: string;
  readonly ipAddress: string;
  readonly v4IpAddress: string;
  readonly v6IpAddress: string;
  readonly macAddress: string;
  readonly containerID: string;
  readonly podType: string;
  readonly attachIps?: readonly string[] | undefined;
  readonly attachMacs?: readonly string[] | undefined;
  readonly attachSubnets?: readonly string[] | undefined;
}

const IPInput = struct({ metadata: ObjectMeta }, { ...typeMeta, spec: IPSpecInput });

const canonicalIpSpec = (spec: t.TypeOf<typeof IPSpecInput> | undefined): IPSpec => {
  const s = spec ?? {};
  const v4 = s.v4IpAddress ?? '';
  const v6 = s.v6IpAddress ?? '';
  const ipAddress = s.ipAddress !== undefined && s.ipAddress !== '' ? s.ipAddress : [v4, v6].filter((x) => x !== '').join(',');
  return {
    podName: s.podName ?? '', namespace: s.namespace ?? '', subnet: s.subnet ?? '', nodeName: s.nodeName ?? '',
    ipAddress, v4IpAddress: v4, v6IpAddress: v6, macAddress: s.macAddress ?? '', containerID: s.containerID ?? '', podType: s.podType ?? '',
    ...(s.attachIps !== undefined ? { attachIps: s.attachIps } : {}),
    ...(s.attachMacs !== undefined ? { attachMacs: s.attachMacs } : {}),
    ...(s.attachSubnets !== undefined ? { attachSubnets: s.attachSubnets } : {}),
  };
};

export interface IP {
  readonly apiVersion?: string | undefined;
  readonly kind?: string | undefined;
  readonly metadata: t.TypeOf<typeof ObjectMeta>;
  readonly spec: IPSpec;
}

/** An IP object: decoded as the CRD accepts it, then canonical (see IPSpec). */
export const IP = new t.Type<IP, unknown, unknown>(
  'an IP object',
  (u): u is IP => IPInput.is(u) && typeof (u as { spec?: { ipAddress?: unknown } }).spec?.ipAddress === 'string',
  (u, c) => {
    // Failures are reported as IPInput's own (decode.ts reads field paths through its members).
    const decoded = IPInput.validate(u, [...c.slice(0, -1), { ...c[c.length - 1]!, type: IPInput }]);
    return decoded._tag === 'Left' ? decoded : t.success({ ...decoded.right, spec: canonicalIpSpec(decoded.right.spec) });
  },
  t.identity,
);

export const IPPoolSpec = struct({ subnet: t.string, ips: strings }, { namespaces: strings });
export type IPPoolSpec = t.TypeOf<typeof IPPoolSpec>;

/** Kube-OVN's IPPool status: counts are JSON numbers (we write numbers; a string another
 *  writer left is read, and rewritten), ranges in the `a-b,c` form. */
const count = t.union([t.number, t.string]);
export const IPPoolStatus = struct({}, {
  v4AvailableIPs: count,
  v4AvailableIPRange: t.string,
  v4UsingIPs: count,
  v4UsingIPRange: t.string,
  v6AvailableIPs: count,
  v6AvailableIPRange: t.string,
  v6UsingIPs: count,
  v6UsingIPRange: t.string,
  conditions: t.readonlyArray(Condition),
});
export type IPPoolStatus = t.TypeOf<typeof IPPoolStatus>;

export const IPPool = struct({ metadata: ObjectMeta, spec: IPPoolSpec }, { ...typeMeta, status: IPPoolStatus });
export type IPPool = t.TypeOf<typeof IPPool>;
