import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseNetConf, type NetConf } from '../../../src/domain/schema/netconf.js';

const NAD = 'NetworkAttachmentDefinition "default/net"';

describe('parseNetConf', () => {
  it.each<[string, unknown, NetConf]>([
    ['a kube-ovn main plugin', { cniVersion: '1.0.0', type: 'kube-ovn', provider: 'net.default.ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock' },
      { cniVersion: '1.0.0', kind: 'kube-ovn', mainType: 'kube-ovn', provider: 'net.default.ovn', serverSocket: '/run/openvswitch/kube-ovn-daemon.sock', routes: [] }],
    ['a plugin delegating IPAM', { cniVersion: '0.3.1', type: 'ipvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'net.default', routes: [{ gw: '172.17.0.1' }] } },
      { cniVersion: '0.3.1', kind: 'kube-ovn-ipam', mainType: 'ipvlan', provider: 'net.default', routes: [{ gw: '172.17.0.1' }] }],
    ['a plugin of someone else', { type: 'bridge', ipam: { type: 'host-local', routes: 'not ours to check' } },
      { kind: 'other', mainType: 'bridge', routes: [] }],
    ['a conflist delegating IPAM in its first plugin', { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'macvlan', ipam: { type: 'kube-ovn', provider: 'net.default' } }, { type: 'tuning' }] },
      { cniVersion: '1.0.0', kind: 'kube-ovn-ipam', mainType: 'macvlan', provider: 'net.default', routes: [] }],
    ['a conflist with kube-ovn after another plugin', { plugins: [{ type: 'tuning' }, { type: 'kube-ovn', provider: 'net.default.ovn', routes: [{ dst: '10.1.0.0/16', gw: '10.0.0.1' }] }] },
      { kind: 'kube-ovn', mainType: 'kube-ovn', provider: 'net.default.ovn', routes: [{ dst: '10.1.0.0/16', gw: '10.0.0.1' }] }],
    ['a conflist where a kube-ovn plugin wins over a delegating one', { plugins: [{ type: 'macvlan', ipam: { type: 'kube-ovn', provider: 'a' } }, { type: 'kube-ovn', provider: 'b' }] },
      { kind: 'kube-ovn', mainType: 'kube-ovn', provider: 'b', routes: [] }],
    ['a conflist of someone else', { cniVersion: '0.4.0', plugins: [{ type: 'bridge' }, { type: 'portmap' }] },
      { cniVersion: '0.4.0', kind: 'other', mainType: 'bridge', routes: [] }],
    ['empty provider and socket as absent', { type: 'kube-ovn', provider: '', server_socket: '' },
      { kind: 'kube-ovn', mainType: 'kube-ovn', routes: [] }],
  ])('reads %s', (_name, config, expected) => {
    expect(parseNetConf(JSON.stringify(config), NAD)).toEqual(E.right(expected));
  });

  it.each<[string, string, string]>([
    ['invalid JSON', '{ "type": "kube-ovn", }', 'spec.config: invalid JSON at line 1, column 23: expected a property name in double quotes, found "}"'],
    ['a config that is not an object', '[1]', 'spec.config: expected an object, got an array'],
    ['a plugin without type', '{"cniVersion": "0.3.0"}', 'spec.config.type: is required'],
    ['a conflist whose plugins are not a list', '{"plugins": {"type": "x"}}', 'spec.config.plugins: expected an array, got an object'],
    ['a conflist without plugins', '{"plugins": []}', 'spec.config.plugins: is empty (a conflist needs at least one plugin)'],
    ['a conflist plugin without type', '{"plugins": [{"type": "a"}, {"ipam": {}}]}', 'spec.config.plugins[1].type: is required'],
    ['a numeric cniVersion', '{"cniVersion": 1, "type": "kube-ovn"}', 'spec.config.cniVersion: expected a string, got the number 1'],
    ['a bad route gateway', JSON.stringify({ type: 'kube-ovn', routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.256' }] }),
      'spec.config.routes[1].gw: "19.10.0.256" is not an IP address'],
    ['a bad IPAM route in a conflist', JSON.stringify({ plugins: [{ type: 'macvlan', ipam: { type: 'kube-ovn', routes: [{ dst: '10.0.0.0/33' }] } }] }),
      'spec.config.plugins[0].ipam.routes[0].dst: "10.0.0.0/33" has an invalid prefix length (expected 0 to 32)'],
    ['a numeric provider', JSON.stringify({ type: 'macvlan', ipam: { type: 'kube-ovn', provider: 7, server_socket: false } }),
      'spec.config.ipam.provider: expected a string, got the number 7; spec.config.ipam.server_socket: expected a string, got the boolean false'],
    ['routes that are not a list', JSON.stringify({ type: 'kube-ovn', routes: '10.0.0.0/8' }), 'spec.config.routes: expected an array, got the string "10.0.0.0/8"'],
  ])('names %s', (_name, config, detail) => {
    const result = parseNetConf(config, NAD);
    expect(E.isLeft(result) && result.left.message).toBe(`${NAD}: ${detail}`);
  });

  it('returns every problem with its path', () => {
    const config = JSON.stringify({ type: 'kube-ovn', routes: [{ dst: 'x' }, { gw: 'y' }] });
    expect(parseNetConf(config, NAD)).toEqual(
      E.left({
        code: 'InvalidObject',
        object: NAD,
        problems: [
          { path: 'spec.config.routes[0].dst', message: '"x" is not a CIDR (expected an address and a prefix length, like 10.0.0.0/16)' },
          { path: 'spec.config.routes[1].gw', message: '"y" is not an IP address' },
        ],
        message: `${NAD}: spec.config.routes[0].dst: "x" is not a CIDR (expected an address and a prefix length, like 10.0.0.0/16); spec.config.routes[1].gw: "y" is not an IP address`,
      }),
    );
  });
});
