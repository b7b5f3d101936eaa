// The Netlink port (src/effects/nodePorts.ts) over `ip`, through the exec chokepoint.
//
// Rules:
// - Link names always follow a keyword (`name X`, `dev X`): `ip link add a …` would read the
//   name `a` as the abbreviation of `address`.
// - Deleting an absent link and reading one are not failures (isNotFound).
// - IPv6 addresses are added with `nodad`: OVN (or the IPAM) has already made them unique, and
//   a tentative address would delay the pod's first packets.
// - Routes are `replace`d, so applying a plan twice gives the same table.
// - Writes go as one `ip -batch -` per namespace (one process, or one `nsenter`, for all of a
//   step's writes); ip stops at the first failing line and names it (`Command failed -:N`),
//   which maps back to the write. Batch lines take no family option, so every line names its
//   family by its addresses (`default` is written `0.0.0.0/0` or `::/0`).
// - Source rules of a table are set by flushing that table's rules (per family) and adding the
//   wanted ones: `ip rule add` of a rule that exists fails ("File exists"), so flush first.
import type { LinkChanges, LinkInfo, LinkRoute, LinkWrite, Netlink } from '../../effects/nodePorts.js';
import { LinkWriteFailed, NodeToolError } from '../../effects/nodePorts.js';
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

/** The `ip` argv (no family option) of one route. */
export function routeArgs(name: string, route: LinkRoute): string[] {
  const dst = route.dst === 'default' ? (route.family === 6 ? '::/0' : '0.0.0.0/0') : route.dst;
  return [
    'route', 'replace', dst, ...(route.gw === undefined ? [] : ['via', route.gw]), 'dev', name,
    ...(route.src === undefined ? [] : ['src', route.src]), ...(route.table === undefined ? [] : ['table', String(route.table)]),
  ];
}

/** The `ip` commands (argv each, no family option) of one write; possibly none. */
export function writeCommands(w: LinkWrite): string[][] {
  switch (w.kind) {
    case 'addVethPair': return [['link', 'add', 'name', w.name, 'mtu', String(w.mtu), 'type', 'veth', 'peer', 'name', w.peer, 'mtu', String(w.mtu)]];
    case 'setLink': {
      const args = linkSetArgs(w.name, w.changes);
      return args.length === 0 ? [] : [args];
    }
    case 'replaceAddresses': return [
      ['addr', 'flush', 'dev', w.name, 'scope', 'global'],
      ...w.addresses.map((address) => ['addr', 'add', address, 'dev', w.name, ...(familyOf(address) === 6 ? ['nodad'] : [])]),
    ];
    case 'addRoute': return [routeArgs(w.name, w.route)];
  }
}

/** The 1-based line `ip -batch` names in `Command failed -:N`; undefined when it names none. */
export function failedLineOf(stderr: string): number | undefined {
  const m = /Command failed -:(\d+)/.exec(stderr);
  return m === null ? undefined : Number(m[1]);
}

/** The 0-based line of `lines` that failed: the one ip names, else (ip exits at once on an
 *  argument it cannot parse, naming no line) the first that holds the argument it names;
 *  undefined when neither tells. */
export function failedLineIn(stderr: string, lines: readonly (readonly string[])[]): number | undefined {
  const n = failedLineOf(stderr);
  if (n !== undefined) return Math.min(n, lines.length) - 1;
  const arg = /argument "([^"]*)" is wrong/.exec(stderr)?.[1];
  const i = arg === undefined ? -1 : lines.findIndex((argv) => argv.includes(arg));
  return i < 0 ? undefined : i;
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
    write: async (netns, writes) => {
      const lines: { readonly index: number; readonly argv: readonly string[] }[] = [];
      writes.forEach((w, index) => { for (const argv of writeCommands(w)) lines.push({ index, argv }); });
      if (lines.length === 0) return;
      try {
        await ip(['-batch', '-'], netns, `${lines.map((l) => l.argv.join(' ')).join('\n')}\n`);
      } catch (err) {
        if (!(err instanceof NodeToolError)) throw err;
        const n = failedLineIn(err.stderr, lines.map((l) => l.argv));
        // No line known: ip did not get to run the batch (nsenter failed, say): the first write failed.
        if (n === undefined) throw new LinkWriteFailed(lines[0]!.index, err.message, err);
        const line = lines[n]!;
        const said = err.stderr.split('\n').filter((l) => l.trim() !== '' && failedLineOf(l) === undefined).join('; ');
        throw new LinkWriteFailed(line.index, `\`ip ${line.argv.join(' ')}\`${netns === undefined ? '' : ` in ${netns}`} failed${said === '' ? '' : `: ${said}`}`, err);
      }
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
