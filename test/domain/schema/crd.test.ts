// Every object the CRDs in config/crd/ accept decodes (issue #13 item 4): objects are generated
// from each CRD's OpenAPI schema (required fields always, optional ones sometimes, values of the
// declared types and enums), so a field the CRD leaves optional can never make `plan` exit 2 or
// the controller ignore an object. And the canonical IP spec a hand-written reservation decodes to.
import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import * as E from 'fp-ts/lib/Either.js';
import { decodeRaw } from '../../../src/domain/Snapshot.js';
import { decodeObject } from '../../../src/domain/schema/decode.js';
import { IP } from '../../../src/domain/schema/kubeovn.js';

interface OpenApi {
  readonly type?: string;
  readonly properties?: Readonly<Record<string, OpenApi>>;
  readonly required?: readonly string[];
  readonly items?: OpenApi;
  readonly enum?: readonly unknown[];
  readonly minLength?: number;
}

const crd = (file: string): { kind: string; group: string; schema: OpenApi } => {
  const doc = parse(readFileSync(new URL(`../../../config/crd/${file}`, import.meta.url), 'utf8')) as {
    spec: { group: string; names: { kind: string }; versions: { schema: { openAPIV3Schema: OpenApi } }[] };
  };
  return { kind: doc.spec.names.kind, group: doc.spec.group, schema: doc.spec.versions[0]!.schema.openAPIV3Schema };
};

/** Values the schema accepts. `metadata` is there with a name, as the API server makes it on any object. */
const arbitraryOf = (s: OpenApi, path: string): fc.Arbitrary<unknown> => {
  if (path === 'metadata') return fc.record({ name: fc.stringMatching(/^[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?$/) });
  if (s.enum !== undefined) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'string': return fc.string({ minLength: s.minLength ?? 0, maxLength: 12 });
    case 'integer': return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'number': return fc.double({ noNaN: true, noDefaultInfinity: true });
    case 'boolean': return fc.boolean();
    case 'array': return fc.array(arbitraryOf(s.items ?? {}, `${path}[]`), { maxLength: 3 });
    case 'object': {
      const props = s.properties ?? {};
      const shape = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arbitraryOf(v, path === '' ? k : `${path}.${k}`)]));
      const required = [...(s.required ?? []), ...(path === '' ? ['metadata'] : [])];
      return fc.record(shape, { requiredKeys: required.filter((k) => k in props) });
    }
    default: return fc.constant('x');
  }
};

describe('every object a CRD in config/crd/ accepts decodes', () => {
  it.each(['ips.kubeovn.io.yaml', 'subnets.kubeovn.io.yaml', 'ippools.kubeovn.io.yaml', 'network-attachment-definitions.k8s.cni.cncf.io.yaml'])('%s', (file) => {
    const { kind, group, schema } = crd(file);
    const objects = arbitraryOf(schema, '').map((o) => ({ ...(o as object), apiVersion: `${group}/v1`, kind }));
    fc.assert(fc.property(objects, (o) => {
      const d = decodeRaw(o, { file: 'generated', document: 0 }, 0);
      expect(d !== undefined && !d.ok ? d.problem.message : 'decoded').toBe('decoded');
    }), { numRuns: 300, seed: 13 });
  });
});

describe('the canonical spec of an IP object', () => {
  const decoded = (spec: unknown) => {
    const r = decodeObject(IP, { metadata: { name: 'p.default' }, ...(spec === undefined ? {} : { spec }) }, 'X');
    return E.isRight(r) ? (r.right as IP).spec : r.left.message;
  };
  const empty = { podName: '', namespace: '', subnet: '', nodeName: '', ipAddress: '', v4IpAddress: '', v6IpAddress: '', macAddress: '', containerID: '', podType: '' };
  it.each<[string, unknown, unknown]>([
    ['a hand-written reservation: only podName, namespace, subnet, ipAddress', { podName: 'p', namespace: 'default', subnet: 's', ipAddress: '10.0.0.5' },
      { ...empty, podName: 'p', namespace: 'default', subnet: 's', ipAddress: '10.0.0.5' }],
    ['addresses given per family only: ipAddress is v4,v6', { podName: 'p', namespace: 'default', subnet: 's', v4IpAddress: '10.0.0.5', v6IpAddress: 'fd00::5' },
      { ...empty, podName: 'p', namespace: 'default', subnet: 's', ipAddress: '10.0.0.5,fd00::5', v4IpAddress: '10.0.0.5', v6IpAddress: 'fd00::5' }],
    ['an empty spec', {}, empty],
    ['no spec at all', undefined, empty],
    ['the attach* lists are kept when given', { attachIps: ['a'] }, { ...empty, attachIps: ['a'] }],
  ])('%s', (_name, spec, expected) => {
    expect(decoded(spec)).toEqual(expected);
  });
});
