import { describe, it, expect } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import { parseNetworksAnnotation, type NetworkSelection } from '../../../src/domain/schema/networks.js';

const KEY = 'k8s.v1.cni.cncf.io/networks';
const RULE = 'lower case letters, digits and "-", starting and ending with a letter or digit';
const SYNTAX = 'expected [namespace/]name[@interface]';

describe('parseNetworksAnnotation: comma list', () => {
  it.each<[string, readonly NetworkSelection[]]>([
    ['macvlan', [{ name: 'macvlan', namespace: 'pods' }]],
    ['default/attachnet', [{ name: 'attachnet', namespace: 'default' }]],
    ['attachnet@eth1', [{ name: 'attachnet', namespace: 'pods', interface: 'eth1' }]],
    ['other/attachnet@net7', [{ name: 'attachnet', namespace: 'other', interface: 'net7' }]],
    [' a , b/c , d@e ', [{ name: 'a', namespace: 'pods' }, { name: 'c', namespace: 'b' }, { name: 'd', namespace: 'pods', interface: 'e' }]],
    ['/macvlan', [{ name: 'macvlan', namespace: 'pods' }]],
    ['macvlan@', [{ name: 'macvlan', namespace: 'pods' }]],
    [' ns / net @ if1', [{ name: 'net', namespace: 'ns', interface: 'if1' }]],
    ['macvlan,macvlan', [{ name: 'macvlan', namespace: 'pods' }, { name: 'macvlan', namespace: 'pods' }]],
    ['a1-b2', [{ name: 'a1-b2', namespace: 'pods' }]],
  ])('parses %j', (value, expected) => {
    expect(parseNetworksAnnotation(value, 'pods')).toEqual(E.right(expected));
  });

  it.each<[string, string]>([
    ['', 'is empty'],
    ['  ', 'is empty'],
    ['a/b/c', `"a/b/c" has more than one "/" (${SYNTAX})`],
    ['a@b@c', `"a@b@c" has more than one "@" (${SYNTAX})`],
    ['Macvlan', `"Macvlan": network name "Macvlan" is not valid (${RULE})`],
    ['default/-net', `"default/-net": network name "-net" is not valid (${RULE})`],
    ['Default/net', `"Default/net": namespace "Default" is not valid (${RULE})`],
    ['net@eth_1', `"net@eth_1": interface name "eth_1" is not valid (${RULE})`],
    ['net.a', `"net.a": network name "net.a" is not valid (${RULE})`],
    ['default/', `"default/" has no network name (${SYNTAX})`],
    ['@net1', `"@net1" has no network name (${SYNTAX})`],
    ['a,,b', 'item 2 is empty'],
    ['a,', 'item 2 is empty'],
    ['A,b/c/d,e', `"A": network name "A" is not valid (${RULE}); "b/c/d" has more than one "/" (${SYNTAX})`],
  ])('refuses %j', (value, detail) => {
    expect(parseNetworksAnnotation(value, 'pods')).toEqual(
      E.left({ code: 'InvalidAnnotation', annotation: KEY, message: `annotation ${KEY}: ${detail}` }),
    );
  });
});

describe('parseNetworksAnnotation: JSON', () => {
  it.each<[string, readonly NetworkSelection[]]>([
    ['[{"name": "macvlan"}]', [{ name: 'macvlan', namespace: 'pods' }]],
    ['[{"name": "macvlan", "namespace": ""}]', [{ name: 'macvlan', namespace: 'pods' }]],
    [
      '[{"name": "attachnet", "namespace": "default", "interface": "net1", "ips": ["10.0.0.5", "fd00::5"], "mac": "02:00:00:00:00:05", "default-route": ["10.0.0.1"], "cni-args": {"x": 1}}]',
      [{ name: 'attachnet', namespace: 'default', interface: 'net1', ips: ['10.0.0.5', 'fd00::5'], mac: '02:00:00:00:00:05' }],
    ],
    ['[{"name": "a", "interface": ""}, {"name": "b", "mac": ""}]', [{ name: 'a', namespace: 'pods' }, { name: 'b', namespace: 'pods' }]],
    ['[]', []],
  ])('parses %j', (value, expected) => {
    expect(parseNetworksAnnotation(value, 'pods')).toEqual(E.right(expected));
  });

  it.each<[string, string]>([
    ['[{"name": "a"},]', 'invalid JSON at line 1, column 16: expected a value, found "]"'],
    ['{"name": "a"}', 'expected an array, got an object'],
    ['"macvlan"', 'expected an array, got the string "macvlan"'],
    ['[{"name": "a"}, {"namespace": "b"}]', '[1].name: is required'],
    ['[{"name": ""}]', '[0].name: is empty'],
    ['[{"name": "a", "ips": "10.0.0.5", "interface": 1}]', '[0].interface: expected a string, got the number 1; [0].ips: expected an array, got the string "10.0.0.5"'],
    ['[{"name": "a", "default-route": "10.0.0.1"}]', '[0].default-route: expected an array, got the string "10.0.0.1"'],
  ])('refuses %j', (value, detail) => {
    expect(parseNetworksAnnotation(value, 'pods')).toEqual(
      E.left({ code: 'InvalidAnnotation', annotation: KEY, message: `annotation ${KEY}: ${detail}` }),
    );
  });
});
