// The Netlink port (src/effects/nodePorts.ts) over `ip`, through the exec chokepoint.
//
// Rules:
// - Link names always follow a keyword (`name X`, `dev X`): `ip link add a …` would read the
//   name `a` as the abbreviation of `address`.
// - Deleting an absent link and reading one are not failures (isNotFound).
// - IPv6 addresses are added with `nodad`: OVN (or the IPAM) has already made them unique, and
//   a tentative address would delay the pod's first packets.
// - Routes are `replace`d, so applying a plan twice gives the same table.
// - Source rules of a table are set by flushing that table's rules (per family) and adding the
//   wanted ones: `ip rule add` of a rule that exists fails ("File exists"), so flush first.
import type { LinkChanges, LinkInfo, LinkRef, LinkRoute, Netlink } from '../../effects/nodePorts.js';
import { NodeToolError } from '../../effects/nodePorts.js';
import type { Ip } from './exec.js';
import { isNotFound } from './exec.js';

const familyOf = (address: string): 4 | 6 => (address.includes(':') ? 6 : 4);

/** True when `ip` failed because the kernel lacks the address family (IPv6 disabled). */
const isFamilyUnsupported = (err: unknown): boolean => err instanceof NodeToolError && /Address family not supported/i.test(err.stderr);

/** The argv of `ip link set` for `changes` (empty when there is nothing to change). */
export function linkSetArgs(name: string, changes: LinkChanges): string[] {
  const args: string[] = [];
  if (changes.netns !== undefined) args.push('netns', changes.netns);
  if (changes.newName !== undefined && changes.newName !== name) args.push('name', changes.newName);
  if (changes.mac !== undefined) args.push('address', changes.mac);
  if (changes.mtu !== undefined) args.push('mtu', String(changes.mtu));
  if (changes.up !== undefined) args.push(changes.up ? 'up' : 'down');
  return args.length === 0 ? [] : ['link', 'set', 'dev', name, ...args];
}

interface IpJsonLink {
  readonly ifindex?: number;
  readonly link_index?: number;
  readonly address?: string;
  readonly mtu?: number;
  readonly flags?: readonly string[];
  readonly addr_info?: readonly { readonly local?: string; readonly prefixlen?: number; readonly scope?: string }[];
}

/** The LinkInfo in `ip -j -d addr show dev X`'s output. */
export function linkInfoOf(json: string): LinkInfo | undefined {
  const [link] = JSON.parse(json) as IpJsonLink[];
  if (link?.ifindex === undefined) return undefined;
  return {
    ifindex: link.ifindex,
    ...(link.link_index === undefined ? {} : { peerIfindex: link.link_index }),
    mac: (link.address ?? '').toLowerCase(),
    mtu: link.mtu ?? 0,
    up: (link.flags ?? []).includes('UP'),
    addresses: (link.addr_info ?? []).filter((a) => a.scope === 'global' && a.local !== undefined).map((a) => `${a.local ?? ''}/${a.prefixlen ?? ''}`),
  };
}

export function makeNetlink(ip: Ip): Netlink {
  return {
    addVethPair: async (host, peer, mtu) => {
      await ip(['link', 'add', 'name', host.name, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', peer, 'mtu', String(mtu)], host.netns);
    },

    setLink: async (link, changes) => {
      const args = linkSetArgs(link.name, changes);
      if (args.length > 0) await ip(args, link.netns);
    },

    replaceAddresses: async (link, addresses) => {
      await ip(['addr', 'flush', 'dev', link.name, 'scope', 'global'], link.netns);
      for (const address of addresses) {
        const v6 = familyOf(address) === 6;
        await ip([v6 ? '-6' : '-4', 'addr', 'add', address, 'dev', link.name, ...(v6 ? ['nodad'] : [])], link.netns);
      }
    },

    addRoute: async (link: LinkRef, route: LinkRoute) => {
      await ip([
        `-${route.family}`, 'route', 'replace', route.dst, ...(route.gw === undefined ? [] : ['via', route.gw]), 'dev', link.name,
        ...(route.src === undefined ? [] : ['src', route.src]), ...(route.table === undefined ? [] : ['table', String(route.table)]),
      ], link.netns);
    },

    readSourceRules: async (netns, table) => {
      const perFamily = await Promise.all(([4, 6] as const).map(async (family) => {
        try {
          const out = await ip([`-${family}`, '-j', 'rule', 'show', 'table', String(table)], netns);
          return (JSON.parse(out.trim() === '' ? '[]' : out) as { readonly src?: string }[]).flatMap((r) => (r.src === undefined || r.src === 'all' ? [] : [r.src]));
        } catch (err) {
          // No namespace, or a kernel without that family: no rules.
          if (isNotFound(err) || isFamilyUnsupported(err)) return [];
          throw err;
        }
      }));
      return perFamily.flat();
    },

    setSourceRules: async (netns, table, priority, sources) => {
      for (const family of [4, 6] as const) {
        const wanted = sources.filter((s) => familyOf(s) === family);
        try {
          await ip([`-${family}`, 'rule', 'flush', 'table', String(table)], netns);
        } catch (err) {
          // A kernel without IPv6 has no IPv6 rules to flush (and none can be wanted).
          if (!(isFamilyUnsupported(err) && wanted.length === 0)) throw err;
        }
        for (const source of wanted) {
          await ip([`-${family}`, 'rule', 'add', 'from', source, 'table', String(table), 'pref', String(priority)], netns);
        }
      }
    },

    deleteDefaultRoutes: async (netns, family) => {
      await ip([`-${family}`, 'route', 'flush', 'exact', family === 4 ? '0.0.0.0/0' : '::/0'], netns);
    },

    deleteLink: async (link) => {
      try {
        await ip(['link', 'del', 'dev', link.name], link.netns);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },

    readLink: async (link) => {
      let out: string;
      try {
        out = await ip(['-j', '-d', 'addr', 'show', 'dev', link.name], link.netns);
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
      return linkInfoOf(out);
    },

    linkExists: async (link) => {
      try {
        await ip(['link', 'show', 'dev', link.name], link.netns);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    },
  };
}
