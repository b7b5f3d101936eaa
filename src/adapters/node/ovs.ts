// The Ovs port (src/effects/nodePorts.ts) over `ovs-vsctl`, through the exec chokepoint.
//
// Rules:
// - A port is added and labelled in one transaction (`--may-exist add-port … -- set interface
//   … external_ids:k=v …`), so no observer ever sees it without its iface-id.
// - Deletes are `--if-exists`. Values are quoted (ovsdb string syntax, which JSON's is a subset
//   of for what we write), so addresses with `:` and `,` pass unharmed.
// - Waiting for ovn-installed is `wait-until`: ovs-vsctl waits on the database's change
//   notifications, and its own `--timeout` bounds the wait.
import { NodeToolError, type Ovs, type OvsInterface } from '../../effects/nodePorts.js';
import type { Vsctl } from './exec.js';

const quote = (value: string): string => JSON.stringify(value);
const quoteKey = (key: string): string => (/^[A-Za-z0-9_-]+$/.test(key) ? key : quote(key));

/** The argv (after the global options) of addPort. */
export function addPortArgs(bridge: string, name: string, externalIds: Readonly<Record<string, string>>): string[] {
  return [
    '--may-exist', 'add-port', bridge, name, '--', 'set', 'Interface', name,
    ...Object.entries(externalIds).map(([key, value]) => `external_ids:${quoteKey(key)}=${quote(value)}`),
  ];
}

const lines = (out: string): string[] => out.split('\n').map((l) => l.trim()).filter((l) => l !== '');

/** The rows of `--format=json --columns=name,external_ids`: `{"data": [[name, ["map", [[k, v]…]]]…]}`. */
export function interfacesOf(json: string): OvsInterface[] {
  const table = JSON.parse(json) as { readonly data?: readonly (readonly [unknown, unknown])[] };
  return (table.data ?? []).map(([name, ids]) => {
    const pairs = Array.isArray(ids) && ids[0] === 'map' && Array.isArray(ids[1]) ? (ids[1] as [unknown, unknown][]) : [];
    return {
      name: typeof name === 'string' ? name : String(name),
      externalIds: Object.fromEntries(pairs.filter((p): p is [string, string] => typeof p[0] === 'string' && typeof p[1] === 'string')),
    };
  });
}

/** The interfaces of ours (`external_ids:vendor=kube-ovn`) in the node's Open_vSwitch database,
 *  read through the same chokepoint as the daemon's writes (`audit --node`). */
export const listOurInterfaces = async (vsctl: Vsctl): Promise<OvsInterface[]> =>
  interfacesOf(await vsctl(['--format=json', '--columns=name,external_ids', 'find', 'Interface', 'external_ids:vendor=kube-ovn']));

export function makeOvs(vsctl: Vsctl): Ovs {
  return {
    addPort: async (bridge, name, externalIds) => {
      await vsctl(addPortArgs(bridge, name, externalIds));
    },

    delPort: async (bridge, name) => {
      await vsctl(['--if-exists', 'del-port', bridge, name]);
    },

    portExists: async (name) => lines(await vsctl(['--bare', '--columns=name', 'find', 'Port', `name=${quote(name)}`])).length > 0,

    findPortsByIfaceId: async (ifaceId) =>
      interfacesOf(await vsctl(['--format=json', '--columns=name,external_ids', 'find', 'Interface', `external_ids:iface-id=${quote(ifaceId)}`])),

    waitInstalled: async (name, timeoutMs) => {
      try {
        await vsctl(['wait-until', 'Interface', name, 'external_ids:ovn-installed=true'], timeoutMs);
      } catch (err) {
        // ovs-vsctl ends itself with SIGALRM when its --timeout expires.
        if (!(err instanceof NodeToolError && err.signal === 'SIGALRM')) throw err;
        throw new NodeToolError(err.tool, err.argv, null, `ovn-controller did not set external_ids:ovn-installed=true on ${name} within ${Math.max(1, Math.ceil(timeoutMs / 1000))}s (is there a logical switch port for its iface-id, and is ovn-controller running?)`, false, 'SIGALRM');
      }
    },
  };
}
