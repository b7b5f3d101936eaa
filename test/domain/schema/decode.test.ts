import { describe, it, expect } from '@jest/globals';
import * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import {
  decodeAt,
  decodeObject,
  describeValue,
  joinPath,
  keySegment,
  type DecodeFailure,
} from '../../../src/domain/schema/decode.js';
import { Subnet } from '../../../src/domain/schema/kubeovn.js';
import { Deployment } from '../../../src/domain/schema/kube.js';
import { integer, optional, struct } from '../../../src/domain/schema/primitives.js';

const failureOf = <A>(result: E.Either<DecodeFailure, A>): DecodeFailure => {
  if (E.isRight(result)) throw new Error('expected a failure');
  return result.left;
};

const subnet = (spec: unknown, metadata: Record<string, unknown> = { name: 'macvlan' }): unknown => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Subnet',
  metadata,
  spec,
});

describe('decodeObject', () => {
  it('joins every problem into one message naming the object', () => {
    const failure = failureOf(decodeObject(Subnet, subnet({ mtu: 'x' }), 'Subnet "macvlan"'));
    expect(failure).toEqual({
      code: 'InvalidObject',
      object: 'Subnet "macvlan"',
      problems: [
        { path: 'spec.cidrBlock', message: 'is required' },
        { path: 'spec.mtu', message: 'expected an integer, got the string "x"' },
      ],
      message: 'Subnet "macvlan": spec.cidrBlock: is required; spec.mtu: expected an integer, got the string "x"',
    });
  });

  it.each<[string, unknown, string]>([
    ['a string of the wrong type', subnet({ cidrBlock: 42 }), 'spec.cidrBlock: expected a string, got the number 42'],
    ['a missing field', subnet({}), 'spec.cidrBlock: is required'],
    ['a value outside an enumeration', subnet({ cidrBlock: '10.0.0.0/24', protocol: 'ipv4' }), 'spec.protocol: expected one of "IPv4", "IPv6", "Dual", got "ipv4"'],
    ['a number outside an enumeration', subnet({ cidrBlock: '10.0.0.0/24', protocol: 4 }), 'spec.protocol: expected one of "IPv4", "IPv6", "Dual", got the number 4'],
    ['a fractional integer', subnet({ cidrBlock: '10.0.0.0/24', mtu: 1500.5 }), 'spec.mtu: expected an integer, got the number 1500.5'],
    ['a list element', subnet({ cidrBlock: '10.0.0.0/24', excludeIps: ['10.0.0.1', '10.0.0.2', 7] }), 'spec.excludeIps[2]: expected a string, got the number 7'],
    ['a list that is a string', subnet({ cidrBlock: '10.0.0.0/24', excludeIps: '10.0.0.1' }), 'spec.excludeIps: expected an array, got the string "10.0.0.1"'],
    ['an object that is a list', subnet([]), 'spec: expected an object, got an array'],
    ['a missing object', { metadata: { name: 'x' } }, 'spec: is required'],
    ['a boolean', subnet({ cidrBlock: true }), 'spec.cidrBlock: expected a string, got the boolean true'],
    ['null in a required field', subnet({ cidrBlock: null }), 'spec.cidrBlock: expected a string, got null'],
    ['a map value', subnet({ cidrBlock: '10.0.0.0/24' }, { name: 'm', labels: { app: 1 } }), 'metadata.labels.app: expected a string, got the number 1'],
    ['a map key that is not a name', subnet({ cidrBlock: '10.0.0.0/24' }, { name: 'm', annotations: { 'ovn.kubernetes.io/ip_pool': [] } }), 'metadata.annotations["ovn.kubernetes.io/ip_pool"]: expected a string, got an array'],
    ['a nested list of objects', subnet({ cidrBlock: '10.0.0.0/24' }, { name: 'm', ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'y', uid: 'u' }, { kind: 'X' }] }), 'metadata.ownerReferences[1].apiVersion: is required; metadata.ownerReferences[1].name: is required; metadata.ownerReferences[1].uid: is required'],
    ['a long string, shortened', subnet({ cidrBlock: '10.0.0.0/24', protocol: 'x'.repeat(70) }), `spec.protocol: expected one of "IPv4", "IPv6", "Dual", got "${'x'.repeat(57)}..."`],
    ['a root that is not an object', 'Subnet', 'expected an object, got the string "Subnet"'],
    ['a root that is null', null, 'expected an object, got null'],
  ])('reports %s', (_name, value, expected) => {
    expect(failureOf(decodeObject(Subnet, value, 'Subnet "x"')).message).toBe(`Subnet "x": ${expected}`);
  });

  it('reports a failed union once, as the union', () => {
    const value = { metadata: { name: 'web' }, spec: { template: {}, strategy: { rollingUpdate: { maxSurge: false, maxUnavailable: [] } } } };
    expect(failureOf(decodeObject(Deployment, value, 'Deployment "default/web"')).problems).toEqual([
      { path: 'spec.strategy.rollingUpdate.maxSurge', message: 'expected an integer or a string, got the boolean false' },
      { path: 'spec.strategy.rollingUpdate.maxUnavailable', message: 'expected an integer or a string, got an array' },
    ]);
  });

  it('reports a union of literals as a choice', () => {
    const codec = struct({ mode: t.union([t.literal('a'), t.literal('b')]) }, {});
    expect(decodeAt(codec, { mode: 'c' }, '')).toEqual(E.left([{ path: 'mode', message: 'expected one of "a", "b", got "c"' }]));
  });

  it('names an object root once, though both halves of an intersection refuse it', () => {
    expect(failureOf(decodeObject(Subnet, 42, 'Subnet "x"')).problems).toEqual([{ path: '', message: 'expected an object, got the number 42' }]);
  });

  it('accepts null for an optional field, as absent', () => {
    const value = subnet({ cidrBlock: '10.0.0.0/24', vpc: null, excludeIps: null }, { name: 'm', creationTimestamp: null });
    expect(decodeObject(Subnet, value, 'Subnet "m"')).toEqual(
      E.right({ apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'm', creationTimestamp: undefined }, spec: { cidrBlock: '10.0.0.0/24', vpc: undefined, excludeIps: undefined } }),
    );
  });

  it('keeps unknown fields', () => {
    const value = subnet({ cidrBlock: '10.0.0.0/24', natOutgoing: true });
    expect(decodeObject(Subnet, value, 'Subnet "macvlan"')).toEqual(E.right(value));
  });
});

describe('decodeAt', () => {
  it.each<[string, unknown, string, readonly { path: string; message: string }[]]>([
    ['below a base path', { n: 'x' }, 'spec.config', [{ path: 'spec.config.n', message: 'expected an integer, got the string "x"' }]],
    ['at the root of a base path', 'x', 'spec.config', [{ path: 'spec.config', message: 'expected an object, got the string "x"' }]],
    ['without a base path', { n: 1.5 }, '', [{ path: 'n', message: 'expected an integer, got the number 1.5' }]],
  ])('names paths %s', (_name, value, base, problems) => {
    expect(decodeAt(struct({}, { n: integer }), value, base)).toEqual(E.left(problems));
  });

  it('names list indices at the root', () => {
    expect(decodeAt(t.readonlyArray(struct({ name: t.string }, {})), [{ name: 'a' }, {}], '')).toEqual(E.left([{ path: '[1].name', message: 'is required' }]));
  });

  it('unwraps an optional codec to describe it', () => {
    expect(decodeAt(struct({}, { n: optional(integer) }), { n: 'x' }, '')).toEqual(E.left([{ path: 'n', message: 'expected an integer, got the string "x"' }]));
  });
});

describe('path and value helpers', () => {
  it.each<[string, string, string]>([
    ['', '.a', 'a'],
    ['', '[0].a', '[0].a'],
    ['', '', ''],
    ['spec', '.a', 'spec.a'],
    ['spec', '[2]', 'spec[2]'],
    ['spec', '', 'spec'],
  ])('joinPath(%j, %j) = %j', (base, relative, expected) => {
    expect(joinPath(base, relative)).toBe(expected);
  });

  it.each<[string, string]>([
    ['cidrBlock', '.cidrBlock'],
    ['default-route', '.default-route'],
    ['server_socket', '.server_socket'],
    ['ovn.kubernetes.io/ip_pool', '["ovn.kubernetes.io/ip_pool"]'],
    ['1abc', '["1abc"]'],
    ['', '[""]'],
  ])('keySegment(%j) = %j', (key, expected) => {
    expect(keySegment(key)).toBe(expected);
  });

  it.each<[unknown, string]>([
    [null, 'null'],
    [[1], 'an array'],
    ['x', 'the string "x"'],
    [3, 'the number 3'],
    [false, 'the boolean false'],
    [{}, 'an object'],
    [undefined, 'nothing'],
    [1n, 'a value of type bigint'],
  ])('describeValue(%j) = %j', (value, expected) => {
    expect(describeValue(value)).toBe(expected);
  });
});
