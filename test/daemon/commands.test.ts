// The commands the node adapters render (STYLE rule 8: rendered commands are checked exactly),
// and the parsing of what `ip -j` and `ovs-vsctl --format=json` print.
import { describe, expect, it } from '@jest/globals';
import { isNotFound, ovsDbOf } from '../../src/adapters/node/exec.js';
import { failedLineIn, failedLineOf, linkInfoOf, linkSetArgs, writeCommands } from '../../src/adapters/node/netlink.js';
import { addPortArgs, interfacesOf } from '../../src/adapters/node/ovs.js';
import { NodeToolError } from '../../src/effects/nodePorts.js';

describe('ip link set', () => {
  it.each<[string, Parameters<typeof linkSetArgs>[1], readonly string[]]>([
    ['everything at once', { netns: '/proc/42/ns/net', newName: 'net1', mac: '0a:00:00:00:00:07', mtu: 1300, up: true },
      ['link', 'set', 'dev', 'c_c', 'netns', '/proc/42/ns/net', 'name', 'net1', 'address', '0a:00:00:00:00:07', 'mtu', '1300', 'up']],
    ['up only', { up: true }, ['link', 'set', 'dev', 'c_c', 'up']],
    ['the same name', { newName: 'c_c', up: false }, ['link', 'set', 'dev', 'c_c', 'down']],
    ['nothing', {}, []],
  ])('%s', (_what, changes, argv) => {
    expect(linkSetArgs('c_c', changes)).toEqual(argv);
  });
});

describe('ip -batch lines of the link writes (no family option: each line names its family by its addresses)', () => {
  it.each<[string, Parameters<typeof writeCommands>[0], readonly string[]]>([
    ['a veth pair', { kind: 'addVethPair', name: 'h_h', peer: 'c_c', mtu: 1400 }, ['link add name h_h mtu 1400 type veth peer name c_c mtu 1400']],
    ['link changes', { kind: 'setLink', name: 'c_c', changes: { netns: '/proc/42/ns/net', newName: 'net1', up: true } }, ['link set dev c_c netns /proc/42/ns/net name net1 up']],
    ['no link change', { kind: 'setLink', name: 'c_c', changes: {} }, []],
    ['dual-stack addresses: flush, then each (IPv6 without DAD)', { kind: 'replaceAddresses', name: 'eth0', addresses: ['10.16.0.2/16', 'fd00::2/64'] },
      ['addr flush dev eth0 scope global', 'addr add 10.16.0.2/16 dev eth0', 'addr add fd00::2/64 dev eth0 nodad']],
    ['no address: flush only', { kind: 'replaceAddresses', name: 'eth0', addresses: [] }, ['addr flush dev eth0 scope global']],
    ['an IPv4 default route', { kind: 'addRoute', name: 'eth0', route: { family: 4, dst: 'default', gw: '10.16.0.1' } }, ['route replace 0.0.0.0/0 via 10.16.0.1 dev eth0']],
    ['an on-link IPv6 default route', { kind: 'addRoute', name: 'eth0', route: { family: 6, dst: 'default' } }, ['route replace ::/0 dev eth0']],
    ['a source-routing route', { kind: 'addRoute', name: 'net1', route: { family: 4, dst: '172.17.0.0/16', src: '172.17.0.5', table: 10042 } },
      ['route replace 172.17.0.0/16 dev net1 src 172.17.0.5 table 10042']],
  ])('%s', (_what, write, lines) => {
    expect(writeCommands(write).map((argv) => argv.join(' '))).toEqual(lines);
  });

  it('the failing line is read from what ip -batch says', () => {
    expect(failedLineOf('Cannot find device "nosuch"\nCommand failed -:3\n')).toBe(3);
    expect(failedLineOf('nsenter: cannot open /proc/1/ns/x: No such file or directory')).toBeUndefined();
    const lines = [['link', 'set', 'dev', 'h_h', 'up'], ['link', 'set', 'dev', 'c_c', 'netns', '/var/run/netns/gone', 'name', 'eth0']];
    expect(failedLineIn('Cannot find device "c_c"\nCommand failed -:2\n', lines)).toBe(1);
    // ip exits at once on an argument it cannot parse, naming no line: the line holding it.
    expect(failedLineIn('Error: argument "/var/run/netns/gone" is wrong: Invalid "netns" value\n', lines)).toBe(1);
    expect(failedLineIn('nsenter: cannot open /proc/1/ns/x: No such file or directory', lines)).toBeUndefined();
  });
});

describe('ovs-vsctl add-port', () => {
  it('adds and labels the port in one transaction, values quoted', () => {
    expect(addPortArgs('br-int', '0123456789ab_h', { 'iface-id': 'p.default', ip: '10.16.0.2,fd00::2', 'odd key': 'a"b' })).toEqual([
      '--may-exist', 'add-port', 'br-int', '0123456789ab_h', '--', 'set', 'Interface', '0123456789ab_h',
      'external_ids:iface-id="p.default"', 'external_ids:ip="10.16.0.2,fd00::2"', 'external_ids:"odd key"="a\\"b"',
    ]);
  });
});

describe('reading the tools\' JSON', () => {
  it('reads a veth end from `ip -j -d addr show`', () => {
    const json = JSON.stringify([{
      ifindex: 118, link_index: 119, ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1400, address: '0A:58:0A:10:00:02',
      addr_info: [
        { family: 'inet', local: '10.16.0.2', prefixlen: 16, scope: 'global' },
        { family: 'inet6', local: 'fd00:10:16::2', prefixlen: 64, scope: 'global' },
        { family: 'inet6', local: 'fe80::858:aff:fe10:2', prefixlen: 64, scope: 'link' },
      ],
    }]);
    expect(linkInfoOf(json)).toEqual({ ifindex: 118, peerIfindex: 119, mac: '0a:58:0a:10:00:02', mtu: 1400, up: true, addresses: ['10.16.0.2/16', 'fd00:10:16::2/64'] });
    expect(linkInfoOf('[]')).toBeUndefined();
  });

  it('reads interfaces from `ovs-vsctl --format=json --columns=name,external_ids find Interface`', () => {
    const json = '{"data":[["a_h",["map",[["iface-id","p.default"],["ip","10.16.0.2"]]]],["b_h",["map",[]]]],"headings":["name","external_ids"]}';
    expect(interfacesOf(json)).toEqual([{ name: 'a_h', externalIds: { 'iface-id': 'p.default', ip: '10.16.0.2' } }, { name: 'b_h', externalIds: {} }]);
    expect(interfacesOf('{"data":[],"headings":["name","external_ids"]}')).toEqual([]);
  });
});

describe('exec helpers', () => {
  it.each<[string, boolean]>([
    ['Cannot find device "x_h"', true],
    ['nsenter: cannot open /var/run/netns/gone: No such file or directory', true],
    ['RTNETLINK answers: File exists', false],
  ])('%j is "not found": %s', (stderr, yes) => {
    expect(isNotFound(new NodeToolError('ip', ['ip'], 1, stderr, false))).toBe(yes);
  });

  it('names the database: the flag, else $OVS_RUNDIR', () => {
    const saved = process.env['OVS_RUNDIR'];
    try {
      process.env['OVS_RUNDIR'] = '/tmp/ovs';
      expect(ovsDbOf('unix:/run/openvswitch/db.sock')).toBe('unix:/run/openvswitch/db.sock');
      expect(ovsDbOf(undefined)).toBe('unix:/tmp/ovs/db.sock');
      delete process.env['OVS_RUNDIR'];
      expect(ovsDbOf(undefined)).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['OVS_RUNDIR'];
      else process.env['OVS_RUNDIR'] = saved;
    }
  });

  it('says what failed, with argv and stderr', () => {
    expect(new NodeToolError('ip', ['ip', 'link', 'del', 'dev', 'x'], 1, 'Cannot find device "x"\n', false).message).toBe('`ip link del dev x` exited 1: Cannot find device "x"');
    expect(new NodeToolError('ovs-vsctl', ['ovs-vsctl', 'show'], null, '', true).message).toBe('`ovs-vsctl show` timed out');
    expect(new NodeToolError('ovs-vsctl', ['ovs-vsctl', 'wait-until'], null, 'gave up', false, 'SIGALRM').message).toBe('`ovs-vsctl wait-until` was killed by SIGALRM: gave up');
  });
});
