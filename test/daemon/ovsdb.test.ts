// The daemon's Ovs port over one kept OVSDB connection (src/adapters/node/ovsdbOvs.ts) against a
// real Open vSwitch in userspace: what it writes is read back with ovs-vsctl, exactly; its
// waits end on the database's updates; its failures name the operation and the cause.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { makeOvsdbClient, type OvsdbClient } from '../../src/adapters/node/ovsdb.js';
import { makeOvsdbOvs, OVS_MONITOR } from '../../src/adapters/node/ovsdbOvs.js';
import type { Ovs } from '../../src/effects/nodePorts.js';
import { quietLog } from '../harness/inProcess.js';
import { createVethPair, deleteLink, uniqueLinkName } from '../harness/netns.js';
import { describeAsRoot } from '../harness/root.js';
import { startOvs, type OvsEnv } from '../harness/ovs.js';

describeAsRoot('daemon-ovsdb')('Ovs over OVSDB (add-port, del-port, find, wait-until)', () => {
  let ovs: OvsEnv;
  let client: OvsdbClient;
  let port: Ovs;
  const links: string[] = [];

  /** A veth pair whose first end is where the bridge can take it; resolves with that end's name. */
  const hostEnd = async (): Promise<string> => {
    const name = uniqueLinkName('h');
    links.push(name);
    await createVethPair(ovs.portEnd(name), ovs.portEnd(`${name.slice(0, -1)}c`));
    return name;
  };

  const externalIds = async (name: string): Promise<Record<string, string>> => {
    const out = JSON.parse(await ovs.vsctl('--format=json', '--columns=external_ids', 'list', 'Interface', name)) as { data: [[['map', [string, string][]]]] };
    return Object.fromEntries(out.data[0][0][1]);
  };

  beforeAll(async () => {
    ovs = await startOvs({ ovn: false });
    client = makeOvsdbClient(ovs.db.ovs, 'Open_vSwitch', OVS_MONITOR);
    port = makeOvsdbOvs(client, { log: quietLog(), timeoutMs: 5_000 });
  }, 60_000);
  afterAll(async () => {
    client.close();
    for (const name of links) await deleteLink(ovs.portEnd(name));
    await ovs.stop();
  }, 60_000);

  it('adds a port with its external_ids in one go, applied by ovs-vswitchd; finds it by name and iface-id', async () => {
    const name = await hostEnd();
    await port.addPort('br-int', name, { 'iface-id': 'pod-a.default', vendor: 'kube-ovn', ip: '10.16.0.2,fd00::2' });
    expect(await ovs.vsctl('port-to-br', name)).toBe('br-int');
    expect(await externalIds(name)).toEqual({ 'iface-id': 'pod-a.default', vendor: 'kube-ovn', ip: '10.16.0.2,fd00::2' });
    // Applied: ovs-vswitchd gave it an OpenFlow port number.
    expect(Number(await ovs.vsctl('get', 'Interface', name, 'ofport'))).toBeGreaterThan(0);
    expect(await port.portExists(name)).toBe(true);
    expect(await port.portExists('no-such-port')).toBe(false);
    expect(await port.findPortsByIfaceId('pod-a.default')).toEqual([{ name, externalIds: { 'iface-id': 'pod-a.default', vendor: 'kube-ovn', ip: '10.16.0.2,fd00::2' } }]);
    expect(await port.findPortsByIfaceId('pod-b.default')).toEqual([]);
  });

  it('adding an existing port sets the keys it names and keeps the others (--may-exist)', async () => {
    const name = await hostEnd();
    await port.addPort('br-int', name, { 'iface-id': 'pod-c.default', pod_netns: '/var/run/netns/old' });
    await ovs.vsctl('set', 'Interface', name, 'external_ids:ovn-installed=true');
    await port.addPort('br-int', name, { 'iface-id': 'pod-c.default', pod_netns: '/var/run/netns/new' });
    expect(await externalIds(name)).toEqual({ 'iface-id': 'pod-c.default', pod_netns: '/var/run/netns/new', 'ovn-installed': 'true' });
    expect(await ovs.vsctl('list-ports', 'br-int')).toContain(name);
  });

  it('deletes a port (its Interface goes with it), and deleting it again succeeds', async () => {
    const name = await hostEnd();
    await port.addPort('br-int', name, { 'iface-id': 'pod-d.default' });
    await port.delPort('br-int', name);
    expect(await port.portExists(name)).toBe(false);
    expect(await ovs.vsctl('--bare', '--columns=name', 'find', 'Interface', `name=${name}`)).toBe('');
    await port.delPort('br-int', name);
  });

  it('fails to add a port to a bridge that does not exist, and adds nothing', async () => {
    const name = await hostEnd();
    await expect(port.addPort('br-none', name, { 'iface-id': 'pod-e.default' })).rejects.toThrow(`\`ovsdb --may-exist add-port br-none ${name} -- set Interface ${name} external_ids:iface-id=pod-e.default\` could not run: no bridge named br-none`);
    expect(await port.portExists(name)).toBe(false);
  });

  it('waits until ovn-installed is set (an update of the database ends the wait), and gives up in time', async () => {
    const name = await hostEnd();
    await port.addPort('br-int', name, { 'iface-id': 'pod-f.default' });
    const waiting = port.waitInstalled(name, 5_000);
    await ovs.vsctl('set', 'Interface', name, 'external_ids:ovn-installed=true');
    await waiting;
    // Already set: at once.
    await port.waitInstalled(name, 1_000);
    const other = await hostEnd();
    await port.addPort('br-int', other, { 'iface-id': 'pod-g.default' });
    const started = Date.now();
    await expect(port.waitInstalled(other, 1_000)).rejects.toThrow(`ovn-controller did not set external_ids:ovn-installed=true on ${other} within 1s (is there a logical switch port for its iface-id, and is ovn-controller running?)`);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
