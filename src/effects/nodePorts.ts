// Capability ports of the node daemon (DESIGN §2): the host's links and addresses (`Netlink`,
// implemented over `ip`), Open vSwitch (`Ovs`, over `ovs-vsctl`), and the one write the daemon
// makes to the API server (`NodeKube`). The real implementations live in src/adapters/node.
//
// Rules:
// - A network namespace is named by its path (`/var/run/netns/x`, `/proc/<pid>/ns/net`), as a
//   CNI runtime passes it; `undefined` is the daemon's own namespace.
// - Deletes succeed when there is nothing to delete; reads of what is absent answer false or
//   an empty list, never a failure.
// - Every failure of a tool is a NodeToolError carrying the argv and the tool's stderr.
import type { SeenLink } from '../domain/cni/NodePlanner.js';

/** A link by name in a namespace (undefined: the daemon's own). */
export interface LinkRef {
  readonly name: string;
  readonly netns?: string | undefined;
}

/** What `setLink` changes; absent fields are left as they are. `netns` moves the link first,
 *  and the other fields then apply to it there (one `ip link set`). */
export interface LinkChanges {
  readonly netns?: string | undefined;
  readonly newName?: string | undefined;
  readonly mac?: string | undefined;
  readonly mtu?: number | undefined;
  readonly up?: boolean | undefined;
}

/** A route on one link: `dst` with `gw` (via), `dst` alone (on-link), `dst` `default`. */
export interface LinkRoute {
  readonly family: 4 | 6;
  /** A CIDR, or `default`. */
  readonly dst: string;
  readonly gw?: string | undefined;
  /** The preferred source address (`src`). */
  readonly src?: string | undefined;
  /** A routing table other than main. */
  readonly table?: number | undefined;
}

/** A link as it is: what ADD compares with what it would make (the node planner's view). */
export type LinkInfo = SeenLink;

/** An OVS interface and its external_ids. */
export interface OvsInterface {
  readonly name: string;
  readonly externalIds: Readonly<Record<string, string>>;
}

/** One write to the links of a namespace (see `Netlink.write`). */
export type LinkWrite =
  /** A veth pair: `name` and `peer`, both with `mtu`. */
  | { readonly kind: 'addVethPair'; readonly name: string; readonly peer: string; readonly mtu: number }
  /** `changes` applied to the link (see LinkChanges). */
  | { readonly kind: 'setLink'; readonly name: string; readonly changes: LinkChanges }
  /** `addresses` (`address/prefix`) made the link's only global addresses. */
  | { readonly kind: 'replaceAddresses'; readonly name: string; readonly addresses: readonly string[] }
  /** A route through the link, added or replaced. */
  | { readonly kind: 'addRoute'; readonly name: string; readonly route: LinkRoute };

/** The `index`-th write of a `Netlink.write` failed (those before it were applied, none after);
 *  the message names the command that failed and what the tool said. */
export class LinkWriteFailed extends Error {
  constructor(readonly index: number, message: string, readonly failure: NodeToolError) {
    super(message, { cause: failure });
    this.name = 'LinkWriteFailed';
  }
}

export interface Netlink {
  /** Applies `writes` in order in the namespace (one process for all of them); the first that
   *  fails stops the rest, as a LinkWriteFailed. */
  write(netns: string | undefined, writes: readonly LinkWrite[]): Promise<void>;
  /** The `from` addresses of the rules (both families) that look up `table`; none when the
   *  namespace does not exist. */
  readSourceRules(netns: string | undefined, table: number): Promise<readonly string[]>;
  /** Makes `from <source> lookup <table>` at `priority` the only rules that look up `table`
   *  (every other rule of that table, of either family, is removed; none: all are). */
  setSourceRules(netns: string | undefined, table: number, priority: number, sources: readonly string[]): Promise<void>;
  /** Deletes every default route of `family` in the namespace (none is success). */
  deleteDefaultRoutes(netns: string | undefined, family: 4 | 6): Promise<void>;
  /** Deletes the link (a veth end takes its peer along); absent is success. */
  deleteLink(link: LinkRef): Promise<void>;
  /** True when the link exists (false also when its namespace does not). */
  linkExists(link: LinkRef): Promise<boolean>;
  /** The link as it is; undefined when it (or its namespace) does not exist. */
  readLink(link: LinkRef): Promise<LinkInfo | undefined>;
}

export interface Ovs {
  /** `--may-exist add-port <bridge> <name> -- set interface <name> external_ids:…`, one transaction. */
  addPort(bridge: string, name: string, externalIds: Readonly<Record<string, string>>): Promise<void>;
  /** `--if-exists del-port <bridge> <name>`. */
  delPort(bridge: string, name: string): Promise<void>;
  /** True when a port of that name exists (on any bridge). */
  portExists(name: string): Promise<boolean>;
  /** The interfaces whose `external_ids:iface-id` is `ifaceId`. */
  findPortsByIfaceId(ifaceId: string): Promise<readonly OvsInterface[]>;
  /** Resolves once the interface has `external_ids:ovn-installed=true` (ovn-controller bound
   *  it); rejects with a NodeToolError after `timeoutMs`. Waits on the database, not by polling. */
  waitInstalled(name: string, timeoutMs: number): Promise<void>;
}

export interface NodeKube {
  /** Merge-patches the IP object's `spec.nodeName` and label `ovn.kubernetes.io/node-name`. */
  setIpNode(ipName: string, nodeName: string): Promise<void>;
}

/** A tool (`ip`, `ovs-vsctl`) that failed: how it was called, how it ended, what it said. */
export class NodeToolError extends Error {
  constructor(
    readonly tool: string,
    readonly argv: readonly string[],
    /** Exit code; null when killed (the timeout) or not started. */
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
    /** The signal that ended it (SIGALRM: ovs-vsctl's own --timeout). */
    readonly signal?: string | undefined,
  ) {
    const how = timedOut ? 'timed out' : signal !== undefined ? `was killed by ${signal}` : exitCode === null ? 'could not run' : `exited ${exitCode}`;
    const said = stderr.trim();
    super(`\`${argv.join(' ')}\` ${how}${said === '' ? '' : `: ${said}`}`);
    this.name = 'NodeToolError';
  }
}
