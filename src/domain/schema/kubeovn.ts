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
});
export type SubnetStatus = t.TypeOf<typeof SubnetStatus>;

export const Subnet = struct({ metadata: ObjectMeta, spec: SubnetSpec }, { ...typeMeta, status: SubnetStatus });
export type Subnet = t.TypeOf<typeof Subnet>;

export const IPSpec = struct(
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
  },
  { attachIps: strings, attachMacs: strings, attachSubnets: strings },
);
export type IPSpec = t.TypeOf<typeof IPSpec>;

export const IP = struct({ metadata: ObjectMeta, spec: IPSpec }, typeMeta);
export type IP = t.TypeOf<typeof IP>;

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
