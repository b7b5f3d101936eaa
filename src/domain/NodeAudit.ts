// `audit --node` (issue 14): what is wrong with a node's OVS ports of ours and the pods' netns
// behind them. Pure: the node's OVS interfaces, what the pods' netns hold (read by the caller at
// the places netnsReadsOf names) and each port's verdict (Audit.ts decides which claim stands
// behind a port) in; findings and node repairs out.
// Rules:
// - A port whose verdict is no claim is `PortWithoutClaim`; it is deleted as the daemon's DEL
//   deletes (DeleteOvsPort, then the host end).
// - A port with a standing claim and `external_ids:pod_netns` (the daemon records it, as
//   Kube-OVN does) is compared with the pod's interface in that netns:
//   - the netns no longer exists: `NetnsGone` (the pod's sandbox is gone, its port stayed);
//     repaired as PortWithoutClaim is (the port goes; a new sandbox's ADD plugs afresh);
//   - the interface is missing, or does not hold every claimed address, or has another MAC:
//     `NetnsMismatch`, with no repair: only recreating the pod gives it its claimed address (the
//     message says so).
// - A port without pod_netns (plugged by an older daemon) or whose netns was not read is not
//   compared: no finding.
import { formatMac, formatValue } from './Address.js';
import type { NodeAction } from './cni/NodePlanner.js';
import { POD_NETNS } from './cni/NodePlanner.js';
import type { Claim } from './IpamState.js';

/** The node actions a repair takes: the daemon's DEL of a port. */
export type NodeRepair = Extract<NodeAction, { readonly type: 'DeleteOvsPort' | 'DeleteLink' }>;

/** An OVS interface as read from the node's Open_vSwitch database. */
export interface SeenOvsInterface {
  readonly name: string;
  readonly externalIds: Readonly<Record<string, string>>;
}

/** What a pod's netns holds of its interface: the netns is gone, or the interface (undefined:
 *  no such interface) with its MAC (lower case) and global addresses (`ip/prefix`). */
export type SeenNetns =
  | { readonly gone: true }
  | { readonly gone: false; readonly link: { readonly mac: string; readonly addresses: readonly string[] } | undefined };

export interface SeenNode {
  readonly name: string;
  /** The integration bridge (the daemon's `--bridge`). */
  readonly bridge: string;
  /** The interfaces of ours (`external_ids:vendor=kube-ovn`). */
  readonly interfaces: readonly SeenOvsInterface[];
  /** Per OVS port name, what its pod's netns holds (as netnsReadsOf asked); absent: not read. */
  readonly netns?: ReadonlyMap<string, SeenNetns> | undefined;
}

/** Where to read a port's pod interface: the netns path and the interface's name in it. */
export interface NetnsRead {
  readonly port: string;
  readonly netns: string;
  readonly ifName: string;
}

/** A port of ours and what stands behind it: `why` it has no claim, or its claim (and the
 *  pod's interface name, when known). */
export type PortVerdict =
  | { readonly iface: SeenOvsInterface; readonly why: string }
  | { readonly iface: SeenOvsInterface; readonly claim: Claim; readonly ifName: string | undefined };

export interface NodeFound {
  readonly finding: { readonly kind: 'PortWithoutClaim' | 'NetnsMismatch' | 'NetnsGone'; readonly object: string; readonly message: string };
  readonly actions: readonly NodeRepair[];
}

/** The daemon's DEL of a port: the port, then its host end. */
const unplug = (node: SeenNode, port: string, why: string): NodeRepair[] => [
  { type: 'DeleteOvsPort', target: port, reason: `unplug it from ${node.bridge}: ${why}`, bridge: node.bridge },
  { type: 'DeleteLink', target: port, reason: `remove its host end: ${why}`, link: { name: port } },
];

/** The netns reads the comparison needs: each port with a claim, a known interface and pod_netns. */
export const netnsReadsOf = (verdicts: readonly PortVerdict[]): NetnsRead[] =>
  verdicts.flatMap((v): NetnsRead[] => {
    const netns = v.iface.externalIds[POD_NETNS] ?? '';
    return 'claim' in v && v.ifName !== undefined && netns !== '' ? [{ port: v.iface.name, netns, ifName: v.ifName }] : [];
  });

/** The claim's addresses (no prefix) and MAC, as `ip` prints them. */
const wantedOf = (claim: Claim): { readonly ips: readonly string[]; readonly mac: string | undefined } => ({
  ips: [...(claim.v4 === undefined ? [] : [formatValue(4, claim.v4)]), ...(claim.v6 === undefined ? [] : [formatValue(6, claim.v6)])],
  mac: claim.mac === undefined ? undefined : formatMac(claim.mac),
});

/** The findings and repairs of a node's ports (see the rules above), in the verdicts' order. */
export const nodeFound = (node: SeenNode, verdicts: readonly PortVerdict[]): NodeFound[] => {
  const reads = new Map(netnsReadsOf(verdicts).map((r) => [r.port, r]));
  return verdicts.flatMap((v): NodeFound[] => {
    const port = v.iface.name;
    const object = `OvsPort/${node.name}/${port}`;
    const on = `OVS port ${port} on ${node.bridge} of node ${node.name}`;
    if ('why' in v) return [{ finding: { kind: 'PortWithoutClaim', object, message: `${on}: ${v.why}` }, actions: unplug(node, port, v.why) }];
    const read = reads.get(port);
    const seen = node.netns?.get(port);
    if (read === undefined || seen === undefined) return [];
    const pod = `pod ${v.claim.owner.namespace}/${v.claim.owner.name} ${read.ifName}`;
    if (seen.gone) {
      const why = `its ${pod}'s netns ${read.netns} is gone (the pod's sandbox is gone, its port stayed)`;
      return [{ finding: { kind: 'NetnsGone', object, message: `${on}: ${why}` }, actions: unplug(node, port, why) }];
    }
    const want = wantedOf(v.claim);
    const wantText = `${want.ips.join(', ')}${want.mac === undefined ? '' : ` (MAC ${want.mac})`}`;
    const noRepair = 'the pod must be recreated to get its claimed address; no repair is planned';
    if (seen.link === undefined) {
      return [{ finding: { kind: 'NetnsMismatch', object, message: `${on}: ${pod} claims ${wantText}, but its netns ${read.netns} has no interface ${read.ifName}; ${noRepair}` }, actions: [] }];
    }
    const held = seen.link.addresses.map((a) => a.split('/')[0]!);
    if (want.ips.every((ip) => held.includes(ip)) && (want.mac === undefined || want.mac === seen.link.mac)) return [];
    const heldText = `${seen.link.addresses.length === 0 ? 'no address' : seen.link.addresses.join(', ')} (MAC ${seen.link.mac})`;
    return [{ finding: { kind: 'NetnsMismatch', object, message: `${on}: ${pod} claims ${wantText}, but in its netns ${read.netns} ${read.ifName} holds ${heldText}; ${noRepair}` }, actions: [] }];
  });
};
