// The daemon's Ovs port (src/effects/nodePorts.ts) over one kept OVSDB connection (ovsdb.ts),
// not an ovs-vsctl process per call: a pod interface costs no process for OVS, and no full
// download of the Bridge, Port and Interface tables per call (which ovs-vsctl makes, and which
// grows with the node's ports). It writes what `ovs-vsctl` writes (ovs.ts keeps those argv, for
// `audit --node`) and waits as it waits.
//
// Rules:
// - addPort is ONE transaction that makes the Interface (with its external_ids) and the Port
//   and adds it to the bridge, guarded by `wait` operations (the bridge exists, no port of that
//   name does): no observer ever sees the port without its iface-id. When a port of that name
//   exists (`--may-exist`) its Interface's external_ids are set instead, key by key (the keys
//   named are replaced, the others kept, as `set Interface … external_ids:k=v` does).
// - delPort takes the port off the bridge (the Port and Interface rows go with it: OVSDB
//   collects unreferenced rows); an absent port is success (`--if-exists`).
// - Writes bump Open_vSwitch next_cfg in the same transaction and then wait until
//   ovs-vswitchd has applied it (cur_cfg), as ovs-vsctl does without --no-wait.
// - Waits (cur_cfg, ovn-installed) follow the connection's monitor of Open_vSwitch cur_cfg and
//   Interface name/external_ids: they end on the update that satisfies them, never by polling.
// - Every failure is a NodeToolError (tool `ovsdb`), its argv naming the operation as the
//   ovs-vsctl command it stands for.
import { NodeToolError, type Ovs, type OvsInterface } from '../../effects/nodePorts.js';
import type { Log } from '../../effects/ports.js';
import { failureOf, OvsdbError, type OvsdbClient, type Row } from './ovsdb.js';

const DB = 'Open_vSwitch';

/** What the monitor of the daemon's client must follow (makeOvsdbClient's third argument). */
export const OVS_MONITOR = { Open_vSwitch: ['cur_cfg'], Interface: ['name', 'external_ids'] } as const;

/** An OVSDB map value as a record. */
const mapOf = (value: unknown): Record<string, string> =>
  Array.isArray(value) && value[0] === 'map' && Array.isArray(value[1])
    ? Object.fromEntries((value[1] as unknown[]).filter((p): p is [string, string] => Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string'))
    : {};

const mapValue = (record: Readonly<Record<string, string>>): unknown => ['map', Object.entries(record)];

const rowsOf = (result: Row | undefined): readonly Row[] => (Array.isArray(result?.['rows']) ? result['rows'] as Row[] : []);

export interface OvsdbOvsOptions {
  /** How long one call (and a wait for ovs-vswitchd) may take; default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly log: Log;
}

export function makeOvsdbOvs(client: OvsdbClient, options: OvsdbOvsOptions): Ovs {
  const timeoutMs = options.timeoutMs ?? 10_000;

  /** Runs `ops` as one transaction standing for `argv`; rejects with a NodeToolError. */
  const transact = async (argv: readonly string[], ops: readonly unknown[]): Promise<readonly Row[]> => {
    const started = Date.now();
    try {
      const results = await client.transact(DB, ops, timeoutMs);
      const failure = failureOf(results);
      if (failure !== undefined) throw new OvsdbError('transact', failure, false);
      options.log.debug('exec', { tool: 'ovsdb', argv, ms: Date.now() - started });
      return results;
    } catch (err) {
      throw toolError(argv, err, started);
    }
  };

  const toolError = (argv: readonly string[], err: unknown, started: number): NodeToolError => {
    const said = err instanceof Error ? err.message : String(err);
    const timedOut = err instanceof OvsdbError && err.timedOut;
    options.log.debug('exec failed', { tool: 'ovsdb', argv, ms: Date.now() - started, timedOut, stderr: said });
    return new NodeToolError('ovsdb', ['ovsdb', ...argv], null, said, timedOut);
  };

  /** The write ops' tail: bump next_cfg and read it back (the last result). */
  const bumpCfg = [
    { op: 'mutate', table: 'Open_vSwitch', where: [], mutations: [['next_cfg', '+=', 1]] },
    { op: 'select', table: 'Open_vSwitch', where: [], columns: ['next_cfg'] },
  ];

  /** Waits until ovs-vswitchd has applied next_cfg `target` (the last result of a write). */
  const reconfigured = async (argv: readonly string[], results: readonly Row[]): Promise<void> => {
    const target = Number(rowsOf(results[results.length - 1])[0]?.['next_cfg']);
    if (!Number.isFinite(target)) return;
    const started = Date.now();
    try {
      await client.waitFor(() => [...client.rows('Open_vSwitch').values()].some((r) => Number(r['cur_cfg']) >= target), timeoutMs, `ovs-vswitchd applying configuration ${target}`);
    } catch (err) {
      throw toolError(argv, err, started);
    }
  };

  const selectPort = (name: string): unknown => ({ op: 'select', table: 'Port', where: [['name', '==', name]], columns: ['_uuid'] });

  return {
    addPort: async (bridge, name, externalIds) => {
      const argv = ['--may-exist', 'add-port', bridge, name, '--', 'set', 'Interface', name, ...Object.entries(externalIds).map(([k, v]) => `external_ids:${k}=${v}`)];
      const fresh = await client.transact(DB, [
        { op: 'wait', timeout: 0, table: 'Bridge', where: [['name', '==', bridge]], columns: ['name'], until: '==', rows: [{ name: bridge }] },
        { op: 'wait', timeout: 0, table: 'Port', where: [['name', '==', name]], columns: ['name'], until: '==', rows: [] },
        { op: 'insert', table: 'Interface', row: { name, external_ids: mapValue(externalIds) }, 'uuid-name': 'iface' },
        { op: 'insert', table: 'Port', row: { name, interfaces: ['named-uuid', 'iface'] }, 'uuid-name': 'port' },
        { op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]], mutations: [['ports', 'insert', ['set', [['named-uuid', 'port']]]]] },
        ...bumpCfg,
      ], timeoutMs).catch((err: unknown) => { throw toolError(argv, err, Date.now()); });
      if (failureOf(fresh.slice(0, 1)) !== undefined) throw toolError(argv, new Error(`no bridge named ${bridge}`), Date.now());
      if (failureOf(fresh) === undefined) {
        options.log.debug('exec', { tool: 'ovsdb', argv });
        return reconfigured(argv, fresh);
      }
      if (failureOf(fresh.slice(1, 2)) === undefined) throw toolError(argv, new OvsdbError('transact', failureOf(fresh) ?? '', false), Date.now());
      // The port exists: set the named keys of its Interface's external_ids, keep the others.
      const relabel = await transact(argv, [
        { op: 'wait', timeout: 0, table: 'Interface', where: [['name', '==', name]], columns: ['name'], until: '==', rows: [{ name }] },
        { op: 'mutate', table: 'Interface', where: [['name', '==', name]], mutations: [['external_ids', 'delete', ['set', Object.keys(externalIds)]]] },
        { op: 'mutate', table: 'Interface', where: [['name', '==', name]], mutations: [['external_ids', 'insert', mapValue(externalIds)]] },
        ...bumpCfg,
      ]);
      return reconfigured(argv, relabel);
    },

    delPort: async (bridge, name) => {
      const argv = ['--if-exists', 'del-port', bridge, name];
      const uuid = rowsOf((await transact(argv, [selectPort(name)]))[0])[0]?.['_uuid'];
      if (uuid === undefined) return;
      const results = await transact(argv, [
        { op: 'wait', timeout: 0, table: 'Bridge', where: [['name', '==', bridge]], columns: ['name'], until: '==', rows: [{ name: bridge }] },
        { op: 'mutate', table: 'Bridge', where: [['name', '==', bridge]], mutations: [['ports', 'delete', ['set', [uuid]]]] },
        ...bumpCfg,
      ]);
      return reconfigured(argv, results);
    },

    portExists: async (name) => rowsOf((await transact(['find', 'Port', `name=${name}`], [selectPort(name)]))[0]).length > 0,

    findPortsByIfaceId: async (ifaceId): Promise<OvsInterface[]> => {
      const [found] = await transact(['find', 'Interface', `external_ids:iface-id=${ifaceId}`], [
        { op: 'select', table: 'Interface', where: [['external_ids', 'includes', mapValue({ 'iface-id': ifaceId })]], columns: ['name', 'external_ids'] },
      ]);
      return rowsOf(found).map((r) => ({ name: String(r['name']), externalIds: mapOf(r['external_ids']) }));
    },

    waitInstalled: async (name, waitMs) => {
      const started = Date.now();
      const installed = (): boolean => [...client.rows('Interface').values()].some((r) => r['name'] === name && mapOf(r['external_ids'])['ovn-installed'] === 'true');
      try {
        await client.waitFor(installed, waitMs, `external_ids:ovn-installed=true on ${name}`);
        options.log.debug('exec', { tool: 'ovsdb', argv: ['wait-until', 'Interface', name, 'external_ids:ovn-installed=true'], ms: Date.now() - started });
      } catch (err) {
        const argv = ['ovsdb', 'wait-until', 'Interface', name, 'external_ids:ovn-installed=true'];
        if (!(err instanceof OvsdbError && err.timedOut)) throw toolError(argv.slice(1), err, started);
        throw new NodeToolError('ovsdb', argv, null, `ovn-controller did not set external_ids:ovn-installed=true on ${name} within ${Math.max(1, Math.ceil(waitMs / 1000))}s (is there a logical switch port for its iface-id, and is ovn-controller running?)`, true);
      }
    },
  };
}
