// The Netlink adapter's batched writes against a real network namespace: every write of a
// step goes in one `ip -batch`, in order; a failing line stops the rest and is reported as the
// write it belongs to, with the command and what ip said.
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { makeIp } from '../../src/adapters/node/exec.js';
import { makeNetlink } from '../../src/adapters/node/netlink.js';
import { LinkWriteFailed } from '../../src/effects/nodePorts.js';
import { quietLog } from '../harness/inProcess.js';
import { createNetns, deleteNetns, inNetnsOk, netnsPath } from '../harness/netns.js';
import { describeAsRoot } from '../harness/root.js';

describeAsRoot('daemon-netlink')('Netlink.write (one ip -batch per namespace)', () => {
  let ns: string;
  const netlink = makeNetlink(makeIp({ log: quietLog() }));

  beforeAll(async () => {
    ns = await createNetns();
  });
  afterAll(async () => {
    await deleteNetns(ns);
  });

  it('applies a veth pair, link changes, dual-stack addresses and routes, in order', async () => {
    await netlink.write(netnsPath(ns), [
      { kind: 'addVethPair', name: 'kvbat_a', peer: 'kvbat_b', mtu: 1400 },
      { kind: 'setLink', name: 'kvbat_a', changes: { newName: 'eth0', mac: '0a:00:00:00:00:07', up: true } },
      { kind: 'setLink', name: 'kvbat_b', changes: { up: true } },
      { kind: 'replaceAddresses', name: 'eth0', addresses: ['10.16.0.2/16', 'fd00::2/64'] },
      { kind: 'addRoute', name: 'eth0', route: { family: 4, dst: 'default', gw: '10.16.0.1' } },
      { kind: 'addRoute', name: 'eth0', route: { family: 6, dst: 'default', gw: 'fd00::1' } },
      { kind: 'addRoute', name: 'eth0', route: { family: 4, dst: '172.17.0.0/16', src: '10.16.0.2', table: 10042 } },
    ]);
    expect(await netlink.readLink({ name: 'eth0', netns: netnsPath(ns) })).toEqual(expect.objectContaining({
      mac: '0a:00:00:00:00:07', mtu: 1400, up: true, addresses: ['10.16.0.2/16', 'fd00::2/64'],
    }));
    expect((await inNetnsOk(ns, ['ip', '-4', 'route', 'show', 'default'])).trim()).toMatch(/^default via 10\.16\.0\.1 dev eth0/);
    expect((await inNetnsOk(ns, ['ip', '-6', 'route', 'show', 'default'])).trim()).toMatch(/^default via fd00::1 dev eth0/);
    expect((await inNetnsOk(ns, ['ip', 'route', 'show', 'table', '10042'])).trim()).toMatch(/^172\.17\.0\.0\/16 dev eth0 scope link src 10\.16\.0\.2/);
  });

  it('stops at the first failing write and names it: the writes before it stay, none after', async () => {
    const failure = await netlink.write(netnsPath(ns), [
      { kind: 'replaceAddresses', name: 'eth0', addresses: ['10.16.0.3/16'] },
      { kind: 'setLink', name: 'nosuch', changes: { up: true } },
      { kind: 'setLink', name: 'eth0', changes: { mtu: 1300 } },
    ]).then(() => undefined, (e: unknown) => e);
    expect(failure).toBeInstanceOf(LinkWriteFailed);
    expect([(failure as LinkWriteFailed).index, (failure as LinkWriteFailed).message])
      .toEqual([1, `\`ip link set dev nosuch up\` in ${netnsPath(ns)} failed: Cannot find device "nosuch"`]);
    expect(await netlink.readLink({ name: 'eth0', netns: netnsPath(ns) })).toEqual(expect.objectContaining({ mtu: 1400, addresses: ['10.16.0.3/16'] }));
  });
});
