// What the pods' netns hold of their interfaces, for `audit --node` (domain/NodeAudit.ts compares).
// Rules:
// - Each interface is read through the daemon's netlink chokepoint (Netlink.readLink: `nsenter
//   --net=<path> -- ip -j -d addr show dev <if>`), as the daemon's CHECK reads the pod's link.
// - A netns is gone when its path no longer exists (an `ip netns del`ed bind mount, or the
//   /proc/<pid>/ns/net of a process that ended); a link that reads as absent is looked at
//   again, so a netns that went during the read is gone, not a missing interface.
// - Reads run one after another (one nsenter at a time on the node); a failure that is not
//   "not found" rejects (the caller says it cannot read the node).
import { existsSync } from 'node:fs';
import type { NetnsRead, SeenNetns } from '../../domain/NodeAudit.js';
import type { Netlink } from '../../effects/nodePorts.js';

/** Per port, what its pod's netns holds (see the rules above). */
export const readPodNetns = async (netlink: Netlink, reads: readonly NetnsRead[]): Promise<Map<string, SeenNetns>> => {
  const seen = new Map<string, SeenNetns>();
  for (const r of reads) {
    const link = existsSync(r.netns) ? await netlink.readLink({ name: r.ifName, netns: r.netns }) : undefined;
    seen.set(r.port, link === undefined && !existsSync(r.netns) ? { gone: true } : { gone: false, link: link === undefined ? undefined : { mac: link.mac, addresses: link.addresses } });
  }
  return seen;
};
