// The Ovn port over `ovn-nbctl` (STYLE rule 4): every call the controller makes to OVN's
// northbound database goes through `nbctl` here.
//
// Rules:
// - Through runTool (spawn.ts): no shell, stdin closed, stdout and stderr collected.
// - Every call names its database (`--db=`) and bounds its own wait (`--timeout=`); our SIGKILL
//   a few seconds later is the backstop. It is logged at debug with argv, duration and outcome.
// - A call that does not exit 0 rejects with an OvnError carrying the argv and stderr.
// - The router (`ovn-cluster`) and its ports are read and written here too (OvnRouter.ts).
// - A router or switch a batch ensures is made first, by one creator per name (see makeOvn):
//   OVN does not keep their names unique.
// - A batch of actions is ONE ovn-nbctl transaction (`-- … -- …`, in order; a switch made by an
//   earlier command is visible to a later one): `--may-exist` creates, `set` writes every
//   column we own. Writing a value a row already holds changes nothing, so the same ensure
//   twice leaves the database as it was. Deletes are `--if-exists`.
import type { SeenPort, SeenSwitch } from '../domain/OvnPorts.js';
import { OVN_VENDOR, SWITCH_CONFIG_KEYS, switchOtherConfig } from '../domain/OvnPorts.js';
import type { SeenRouter } from '../domain/OvnRouter.js';
import { DEFAULT_ROUTER } from '../domain/OvnRouter.js';
import type { LogicalRouterPortView, LogicalSwitchPortView, LogicalSwitchView, OvnAction } from '../domain/Plan.js';
import type { Log, Ovn } from '../effects/ports.js';
import { OvnError } from '../effects/ports.js';
import { runTool } from './spawn.js';

export interface OvnOptions {
  /** The NB database: `unix:/run/ovn/ovnnb_db.sock`, `tcp:host:6641`, … */
  readonly db: string;
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly log: Log;
}

/** `ovn-nbctl --db=… --timeout=… <args>`; resolves with stdout. */
export type Nbctl = (args: readonly string[]) => Promise<string>;

export function makeNbctl(options: OvnOptions): Nbctl {
  const seconds = Math.max(1, Math.ceil((options.timeoutMs ?? 10_000) / 1000));
  return async (args) => {
    const argv = ['ovn-nbctl', `--db=${options.db}`, `--timeout=${seconds}`, ...args];
    // ovn-nbctl ends itself at --timeout; our kill is the backstop.
    const result = await runTool(argv, seconds * 1000 + 5_000);
    if (result.code === 0) {
      options.log.debug('exec', { tool: 'ovn-nbctl', argv, ms: result.ms });
      return result.stdout;
    }
    options.log.debug('exec failed', { tool: 'ovn-nbctl', argv, ms: result.ms, code: result.code, timedOut: result.timedOut, stderr: result.stderr.trim() });
    throw new OvnError(argv, result.code, result.stderr, result.timedOut);
  };
}

/** `column:"key"="value"`: keys and values quoted, so `/`, `.` and spaces survive ovsdb's parser. */
const pair = (column: string, key: string, value: string): string => `${column}:${JSON.stringify(key)}=${JSON.stringify(value)}`;

/** The arguments of one ensure of a logical switch: `--may-exist ls-add`, then every
 *  other_config key we own set (or removed when it has no value) and our vendor mark. */
export const switchArgs = (name: string, ls: LogicalSwitchView): string[] => {
  const config = switchOtherConfig(ls);
  return [
    '--', '--may-exist', 'ls-add', name,
    ...SWITCH_CONFIG_KEYS.flatMap((key) => {
      const value = config[key];
      return value === undefined ? ['--', 'remove', 'logical_switch', name, 'other_config', key] : ['--', 'set', 'logical_switch', name, pair('other_config', key, value)];
    }),
    '--', 'set', 'logical_switch', name, pair('external_ids', 'vendor', OVN_VENDOR),
  ];
};

/** The arguments of one ensure of a logical switch port: one transaction. */
export const portArgs = (name: string, port: LogicalSwitchPortView): string[] => [
  '--', '--may-exist', 'lsp-add', port.logicalSwitch, name,
  '--', 'lsp-set-addresses', name, port.addresses,
  '--', 'lsp-set-port-security', name, port.addresses,
  '--', 'set', 'logical_switch_port', name, ...Object.entries(port.externalIds).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => pair('external_ids', k, v)),
];

/** The arguments of one ensure of the router: `--may-exist lr-add` and our vendor mark. */
export const routerArgs = (name: string): string[] => [
  '--', '--may-exist', 'lr-add', name,
  '--', 'set', 'logical_router', name, pair('external_ids', 'vendor', OVN_VENDOR),
];

/** The arguments of one ensure of a router port and its peer. An existing port gets its MAC
 *  and networks set first, so `--may-exist lrp-add` (which fails on a port that differs)
 *  finds it as wanted: a gateway change moves the port's address in place. */
export const routerPortArgs = (name: string, p: LogicalRouterPortView): string[] => [
  '--', '--if-exists', 'set', 'logical_router_port', name, `mac=${JSON.stringify(p.mac)}`, `networks=${JSON.stringify(p.networks)}`,
  '--', '--may-exist', 'lrp-add', p.router, name, p.mac, ...p.networks,
  '--', 'set', 'logical_router_port', name, pair('external_ids', 'vendor', OVN_VENDOR),
  '--', '--may-exist', 'lsp-add', p.logicalSwitch, p.switchPort,
  '--', 'lsp-set-type', p.switchPort, 'router',
  '--', 'lsp-set-addresses', p.switchPort, 'router',
  '--', 'lsp-set-options', p.switchPort, `router-port=${name}`,
  '--', 'set', 'logical_switch_port', p.switchPort, pair('external_ids', 'ls', p.logicalSwitch), pair('external_ids', 'vendor', OVN_VENDOR),
];

/** The arguments of one action inside a transaction. */
export const actionArgs = (a: OvnAction): string[] => {
  switch (a.type) {
    case 'EnsureLogicalSwitch': return switchArgs(a.target, a.logicalSwitch);
    case 'EnsureLogicalSwitchPort': return portArgs(a.target, a.port);
    case 'DeleteLogicalSwitchPort': return ['--', '--if-exists', 'lsp-del', a.target];
    case 'DeleteLogicalSwitch': return ['--', '--if-exists', 'ls-del', a.target];
    case 'EnsureLogicalRouter': return routerArgs(a.target);
    case 'EnsureLogicalRouterPort': return routerPortArgs(a.target, a.routerPort);
    case 'DeleteLogicalRouterPort': return ['--', '--if-exists', 'lrp-del', a.target, '--', '--if-exists', 'lsp-del', a.routerPort.switchPort];
  }
};

/** An OVSDB JSON value (`--format=json`): an atom, `["set", [...]]` or `["map", [[k, v], ...]]`. */
type Datum = string | number | boolean | ['uuid' | 'named-uuid', string] | ['set', unknown[]] | ['map', [string, string][]];

const setOf = (d: Datum): string[] => (Array.isArray(d) && d[0] === 'set' ? (d[1] as unknown[]).map(String) : [String(d)]);
const mapOf = (d: Datum): Record<string, string> => (Array.isArray(d) && d[0] === 'map' ? Object.fromEntries(d[1] as [string, string][]) : {});

/** The rows of `find Logical_Switch_Port` (columns name, addresses, port_security, external_ids). */
export const parsePorts = (json: string): SeenPort[] => {
  const table = JSON.parse(json) as { data: [Datum, Datum, Datum, Datum][] };
  return table.data
    .map(([name, addresses, security, ids]) => ({ name: String(name), addresses: setOf(addresses).join(' '), portSecurity: setOf(security).join(' '), externalIds: mapOf(ids) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
};

/** The rows of `find Logical_Switch` (columns name, other_config, external_ids, ports). */
export const parseSwitches = (json: string): SeenSwitch[] => {
  const table = JSON.parse(json) as { data: [Datum, Datum, Datum, Datum][] };
  const count = (d: Datum): number => (Array.isArray(d) && d[0] === 'set' ? d[1].length : Array.isArray(d) ? 1 : 0);
  return table.data
    .map(([name, other, ids, ports]) => ({ name: String(name), otherConfig: mapOf(other), externalIds: mapOf(ids), ports: count(ports) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
};

/** The router as `--format=json` answers of `find Logical_Router` (name, external_ids),
 *  `find Logical_Router_Port` (name, mac, networks, external_ids) and `find Logical_Switch_Port`
 *  (name, type, addresses, options, external_ids). */
export const parseRouter = (router: string, ports: string, peers: string): SeenRouter => {
  const rows = (json: string): Datum[][] => (JSON.parse(json) as { data: Datum[][] }).data;
  const byName = <T extends { readonly name: string }>(list: T[]): T[] => list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found = rows(router)[0];
  return {
    router: found === undefined ? undefined : { externalIds: mapOf(found[1]!) },
    ports: byName(rows(ports).map(([name, mac, networks, ids]) => ({ name: String(name), mac: String(mac), networks: setOf(networks!), externalIds: mapOf(ids!) }))),
    peers: byName(rows(peers).map(([name, type, addresses, options, ids]) => ({ name: String(name), type: String(type), addresses: setOf(addresses!).join(' '), options: mapOf(options!), externalIds: mapOf(ids!) }))),
  };
};

/** The name rows a batch ensures that OVN does not keep unique (routers, switches), each with
 *  the command that makes it: `lr:<name>` / `ls:<name>`. */
const namedRows = (actions: readonly OvnAction[]): [string, string[]][] => actions.flatMap((a): [string, string[]][] =>
  a.type === 'EnsureLogicalRouter' ? [[`lr:${a.target}`, ['--may-exist', 'lr-add', a.target]]]
  : a.type === 'EnsureLogicalSwitch' ? [[`ls:${a.target}`, ['--may-exist', 'ls-add', a.target]]]
  : []);

export function makeOvn(options: OvnOptions): Ovn {
  const nbctl = makeNbctl(options);
  // Routers and switches have no unique index on their name, and ovn-nbctl's `--may-exist
  // lr-add`/`ls-add` do not verify: two concurrent batches that both find the row missing both
  // insert it, and every later command naming it fails ("multiple rows"). So the first batch
  // that ensures a name makes the row alone, and concurrent ones wait for that (one creator
  // per name in this process; only the leader writes); the name is then known made (the
  // batch's own `--may-exist` is a no-op) until a delete through here forgets it.
  const made = new Map<string, Promise<void>>();
  const makeOnce = (key: string, args: string[]): Promise<void> => {
    const known = made.get(key);
    if (known !== undefined) return known;
    const making = nbctl(args).then(() => undefined, (err: unknown) => {
      made.delete(key);
      throw err;
    });
    made.set(key, making);
    return making;
  };
  return {
    // A router's peer on a switch is the router's (listRouter), not a pod's port.
    listPorts: async () => parsePorts(await nbctl(['--format=json', '--columns=name,addresses,port_security,external_ids', 'find', 'Logical_Switch_Port', `external_ids:vendor=${OVN_VENDOR}`, 'type!=router'])),
    listSwitches: async () => parseSwitches(await nbctl(['--format=json', '--columns=name,other_config,external_ids,ports', 'find', 'Logical_Switch', `external_ids:vendor=${OVN_VENDOR}`])),
    listRouter: async () => {
      const [router, ports, peers] = await Promise.all([
        nbctl(['--format=json', '--columns=name,external_ids', 'find', 'Logical_Router', `name=${DEFAULT_ROUTER}`]),
        nbctl(['--format=json', '--columns=name,mac,networks,external_ids', 'find', 'Logical_Router_Port', `external_ids:vendor=${OVN_VENDOR}`]),
        nbctl(['--format=json', '--columns=name,type,addresses,options,external_ids', 'find', 'Logical_Switch_Port', `external_ids:vendor=${OVN_VENDOR}`, 'type=router']),
      ]);
      return parseRouter(router, ports, peers);
    },
    transact: async (actions) => {
      if (actions.length === 0) return;
      await Promise.all(namedRows(actions).map(([key, args]) => makeOnce(key, args)));
      await nbctl(actions.flatMap(actionArgs));
      for (const a of actions) if (a.type === 'DeleteLogicalSwitch') made.delete(`ls:${a.target}`);
    },
  };
}
