// The mutating rule: each static MAC of an IPAM-only attachment is written into its element of
// `k8s.v1.cni.cncf.io/networks` (JSON form, everything else kept), one JSON Patch `replace`, and
// nothing when nothing changes. Exact patches, and properties: idempotent, order and fields kept.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import type { AdmissionRequestView } from '../../../src/domain/admission/Admission.js';
import { mutate } from '../../../src/domain/admission/Admission.js';
import { nadObject, objects, ovnDefault, podObject, seed, snapshotOf } from '../planner/snapshots.js';
import { requestFor, requestOf } from './requests.js';

const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const PATH = '/metadata/annotations/k8s.v1.cni.cncf.io~1networks';
const MAC = 'macvlan.default.kubernetes.io/mac_address';

const snapshot = snapshotOf(
  ovnDefault(),
  seed('01-nad-macvlan.yaml'),
  seed('02-subnet-macvlan.yaml'),
  seed('06-nad-attachnet-ovn.yaml'),
  objects('nads.yaml',
    nadObject('ipvlan', { cniVersion: '1.0.0', type: 'ipvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'ipvlan.other' } }, 'other'),
    nadObject('bridge', { cniVersion: '1.0.0', type: 'bridge', ipam: { type: 'host-local', subnet: '10.1.0.0/16' } })),
);

const podRequest = (annotations: Readonly<Record<string, string>>, namespace = 'default'): AdmissionRequestView =>
  requestFor(podObject('p', { namespace, annotations }));

const replace = (value: string) => [{ op: 'replace', path: PATH, value }];

describe('seed example 04 (macvlan with a static MAC)', () => {
  it('gets exactly its networks annotation in JSON form with only mac added, lower case', () => {
    expect(mutate(snapshot, requestOf(seed('04-pod-static-ip.yaml')))).toEqual({
      allowed: true, warnings: [], patch: replace('[{"name":"macvlan","mac":"00:00:00:53:6b:bb"}]'),
    });
  });

  it('gets no patch once mutated (the same pod admitted twice gives the same result)', () => {
    const once = mutate(snapshot, requestOf(seed('04-pod-static-ip.yaml')));
    const pod = seed('04-pod-static-ip.yaml')[0]!.value as { metadata: { annotations: Record<string, string> } };
    const mutated = { ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata.annotations, [NETWORKS]: once.patch[0]!.value as string } } };
    expect(mutate(snapshot, requestFor(mutated))).toEqual({ allowed: true, warnings: [], patch: [] });
  });

  it.each(['03-pod-random.yaml', '08-pod-attachnet-random.yaml', '10-pod-attachnet-static-ip.yaml'])('%s needs no patch', (file) => {
    expect(mutate(snapshot, requestOf(seed(file)))).toEqual({ allowed: true, warnings: [], patch: [] });
  });
});

describe('the rewritten networks annotation', () => {
  it.each<[string, Readonly<Record<string, string>>, string]>([
    ['short form: name only', { [NETWORKS]: 'macvlan', [MAC]: '02:AA:BB:CC:DD:EE' }, '[{"name":"macvlan","mac":"02:aa:bb:cc:dd:ee"}]'],
    ['short form: namespace and interface kept, only where written', { [NETWORKS]: 'default/macvlan@eth9', [MAC]: '02-00-00-00-00-01' },
      '[{"name":"macvlan","namespace":"default","interface":"eth9","mac":"02:00:00:00:00:01"}]'],
    ['short form: an empty namespace or interface is not written', { [NETWORKS]: ' /macvlan@ ', [MAC]: '02:00:00:00:00:01' }, '[{"name":"macvlan","mac":"02:00:00:00:00:01"}]'],
    ['short form: every other element kept in order, OVN and foreign NADs without mac', {
      [NETWORKS]: 'attachnet, default/bridge@br0,macvlan@m1 , other/ipvlan', [MAC]: '02:00:00:00:00:01',
    }, '[{"name":"attachnet"},{"name":"bridge","namespace":"default","interface":"br0"},{"name":"macvlan","interface":"m1","mac":"02:00:00:00:00:01"},{"name":"ipvlan","namespace":"other"}]'],
    ['short form: a missing NAD keeps its element, without mac', { [NETWORKS]: 'missing@x, macvlan', [MAC]: '02:00:00:00:00:01' },
      '[{"name":"missing","interface":"x"},{"name":"macvlan","mac":"02:00:00:00:00:01"}]'],
    ['short form: two IPAM-only NADs each get their own MAC', {
      [NETWORKS]: 'macvlan,other/ipvlan', [MAC]: '02:00:00:00:00:01', 'ipvlan.other.kubernetes.io/mac_address': '02:00:00:00:00:02',
    }, '[{"name":"macvlan","mac":"02:00:00:00:00:01"},{"name":"ipvlan","namespace":"other","mac":"02:00:00:00:00:02"}]'],
    ['JSON form: every field kept (unknown ones too), mac appended', {
      [NETWORKS]: '[{"name":"macvlan","ips":["172.17.0.9"],"x-extra":{"a":[1,true,null]},"default-route":["172.17.0.1"]}]', [MAC]: '02:00:00:00:00:01',
    }, '[{"name":"macvlan","ips":["172.17.0.9"],"x-extra":{"a":[1,true,null]},"default-route":["172.17.0.1"],"mac":"02:00:00:00:00:01"}]'],
    ['JSON form: a different mac is replaced in place (the annotation is what the controller records)', {
      [NETWORKS]: '[{"mac":"02:00:00:00:00:09","name":"macvlan","interface":"net7"}]', [MAC]: '02:00:00:00:00:01',
    }, '[{"mac":"02:00:00:00:00:01","name":"macvlan","interface":"net7"}]'],
    ['JSON form: other elements byte for byte, whitespace normalised', {
      [NETWORKS]: '[ {"name":"attachnet","namespace":"default"}, {"name":"bridge","interface":"b","unknown":1.5}, {"name":"macvlan","namespace":"default"} ]', [MAC]: '02:00:00:00:00:01',
    }, '[{"name":"attachnet","namespace":"default"},{"name":"bridge","interface":"b","unknown":1.5},{"name":"macvlan","namespace":"default","mac":"02:00:00:00:00:01"}]'],
    ['NAD attached twice: the per-interface key of each interface', {
      [NETWORKS]: 'macvlan@a,macvlan@b', 'macvlan.default.kubernetes.io/mac_address.b': '02:00:00:00:00:0B',
    }, '[{"name":"macvlan","interface":"a"},{"name":"macvlan","interface":"b","mac":"02:00:00:00:00:0b"}]'],
    ['NAD attached twice: without per-interface keys both read the plain key (the planner then reports the second as a MAC conflict)', {
      [NETWORKS]: 'macvlan@a,macvlan@b', [MAC]: '02:00:00:00:00:01',
    }, '[{"name":"macvlan","interface":"a","mac":"02:00:00:00:00:01"},{"name":"macvlan","interface":"b","mac":"02:00:00:00:00:01"}]'],
  ])('%s', (_name, annotations, value) => {
    expect(mutate(snapshot, podRequest(annotations))).toEqual({ allowed: true, warnings: [], patch: replace(value) });
  });

  it('a pod in another namespace: the NAD of the namespace it names, its own otherwise', () => {
    expect(mutate(snapshot, podRequest({ [NETWORKS]: 'default/macvlan,ipvlan', [MAC]: '02:00:00:00:00:01', 'ipvlan.other.kubernetes.io/mac_address': '02:00:00:00:00:02' }, 'other'))).toEqual({
      allowed: true, warnings: [], patch: replace('[{"name":"macvlan","namespace":"default","mac":"02:00:00:00:00:01"},{"name":"ipvlan","mac":"02:00:00:00:00:02"}]'),
    });
  });

  it('escapes "~" and "/" in the JSON Pointer', () => {
    expect(PATH).toBe(`/metadata/annotations/${'k8s.v1.cni.cncf.io/networks'.replace('/', '~1')}`);
  });
});

describe('no patch', () => {
  it.each<[string, Readonly<Record<string, string>>]>([
    ['no networks annotation', { [MAC]: '02:00:00:00:00:01' }],
    ['no static MAC', { [NETWORKS]: 'macvlan' }],
    ['the element already carries that MAC, in another spelling', { [NETWORKS]: '[{"name":"macvlan","mac":"02-AA-00-00-00-01"}]', [MAC]: '02:aa:00:00:00:01' }],
    ['the element carries a MAC and no annotation overrides it', { [NETWORKS]: '[{"name":"macvlan","mac":"02:aa:00:00:00:01"}]' }],
    ['a static MAC on an OVN attachment', { [NETWORKS]: 'attachnet', 'attachnet.default.ovn.kubernetes.io/mac_address': '02:00:00:00:00:01' }],
    ['a static MAC on the default network', { [NETWORKS]: 'macvlan', 'ovn.kubernetes.io/mac_address': '02:00:00:00:00:01' }],
    ['the NAD is missing', { [NETWORKS]: 'missing', 'missing.default.kubernetes.io/mac_address': '02:00:00:00:00:01' }],
    ['the NAD is not ours', { [NETWORKS]: 'bridge', 'bridge.default.kubernetes.io/mac_address': '02:00:00:00:00:01' }],
    ['the networks annotation is malformed', { [NETWORKS]: 'macvlan,,', [MAC]: '02:00:00:00:00:01' }],
    ['the networks annotation is malformed JSON', { [NETWORKS]: '[{"name":"macvlan"', [MAC]: '02:00:00:00:00:01' }],
    ['the MAC is malformed', { [NETWORKS]: 'macvlan', [MAC]: '02:00:00:00:00' }],
    ['the MAC is multicast', { [NETWORKS]: 'macvlan', [MAC]: '01:00:5e:00:00:01' }],
  ])('%s', (_name, annotations) => {
    expect(mutate(snapshot, podRequest(annotations))).toEqual({ allowed: true, warnings: [], patch: [] });
  });

  it.each<[string, AdmissionRequestView]>([
    ['UPDATE', { ...podRequest({ [NETWORKS]: 'macvlan', [MAC]: '02:00:00:00:00:01' }), operation: 'UPDATE' }],
    ['DELETE', { ...podRequest({ [NETWORKS]: 'macvlan', [MAC]: '02:00:00:00:00:01' }), operation: 'DELETE' }],
    ['a Deployment', requestOf(seed('05-deployment-ip-pool.yaml'))],
    ['an object that is not a pod', { ...podRequest({ [NETWORKS]: 'macvlan', [MAC]: '02:00:00:00:00:01' }), object: 'not an object' }],
    ['a host-network pod', requestFor({ ...(podObject('h', { annotations: { [NETWORKS]: 'macvlan', [MAC]: '02:00:00:00:00:01' } }) as object), spec: { hostNetwork: true } })],
  ])('%s', (_name, req) => {
    expect(mutate(snapshot, req)).toEqual({ allowed: true, warnings: [], patch: [] });
  });
});

describe('a pod created with generateName (no name, no uid, no namespace in the object)', () => {
  it('is mutated like any other', () => {
    const object = { apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', annotations: { [NETWORKS]: 'macvlan', [MAC]: '02:00:00:00:00:01' } }, spec: {} };
    expect(mutate(snapshot, { operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'default', name: '', object })).toEqual({
      allowed: true, warnings: [], patch: replace('[{"name":"macvlan","mac":"02:00:00:00:00:01"}]'),
    });
  });
});

// ---- properties ---------------------------------------------------------------------------

const nadName = fc.constantFrom('macvlan', 'attachnet', 'bridge', 'missing');
const label = fc.constantFrom('a', 'b', 'net5', 'x-1');
// `ips` are addresses: an element whose `ips` do not parse is refused (InvalidAnnotation), so
// it gets no MAC (a generated `[""]` once made this property fail).
const ips = fc.constantFrom<string[]>([], ['172.17.0.9'], ['10.16.0.9', 'fd00::9']);
const extra = fc.tuple(
  fc.dictionary(fc.constantFrom('x-a', 'x-b', 'default-route', 'cni-args'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 })
    .map((d) => Object.fromEntries(Object.entries(d).filter(([k, v]) => k !== 'default-route' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))))),
  fc.option(ips, { nil: undefined }),
).map(([d, addresses]) => (addresses === undefined ? d : { ...d, ips: addresses }));
const element = fc.record({ name: nadName, namespace: fc.option(fc.constant('default'), { nil: undefined }), interface: fc.option(label, { nil: undefined }), extra })
  .map(({ name, namespace, interface: ifName, extra: more }) => ({ name, ...(namespace && { namespace }), ...(ifName && { interface: ifName }), ...more }));
const shortItem = fc.record({ name: nadName, namespace: fc.boolean(), interface: fc.option(label, { nil: undefined }) })
  .map((i) => `${i.namespace ? 'default/' : ''}${i.name}${i.interface ? `@${i.interface}` : ''}`);
const macText = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 6, maxLength: 6 })
  .map(([first, ...rest]) => [(first! & 0xfe) | 0x02, ...rest].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':'));
const networksValue = fc.oneof(fc.array(element, { minLength: 1, maxLength: 4 }).map((es) => JSON.stringify(es)), fc.array(shortItem, { minLength: 1, maxLength: 4 }).map((is) => is.join(', ')));

/** Elements whose interfaces a pod may have (unique, at most 15 bytes, never eth0): a pod with
 *  others is refused by validation (InvalidAnnotation), so mutation has no MAC to give it. */
const validInterfaces = (elements: readonly { readonly interface?: string }[]): boolean => {
  const names = elements.map((e, i) => e.interface ?? `net${i + 1}`);
  return new Set(names).size === names.length && names.every((n) => n !== 'eth0' && Buffer.byteLength(n) <= 15);
};

const withNetworks = (annotations: Readonly<Record<string, string>>, value: string) => ({ ...annotations, [NETWORKS]: value });

describe('properties', () => {
  it('mutating the mutated pod gives no patch', () => {
    fc.assert(fc.property(networksValue, macText, (value, mac) => {
      const annotations = { [NETWORKS]: value, [MAC]: mac };
      const first = mutate(snapshot, podRequest(annotations));
      const after = first.patch.length === 0 ? annotations : withNetworks(annotations, first.patch[0]!.value as string);
      expect(mutate(snapshot, podRequest(after)).patch).toEqual([]);
    }));
  });

  it('keeps every element, in order, with every field, and sets mac only where a static MAC of an IPAM-only NAD applies', () => {
    fc.assert(fc.property(fc.array(element, { minLength: 1, maxLength: 4 }).filter(validInterfaces), macText, (elements, mac) => {
      const result = mutate(snapshot, podRequest({ [NETWORKS]: JSON.stringify(elements), [MAC]: mac }));
      // Every macvlan element reads the plain key (attached twice: as the per-interface key's fallback).
      const wants = elements.map((e) => e.name === 'macvlan');
      if (!wants.some(Boolean)) {
        expect(result.patch).toEqual([]);
        return;
      }
      const written = JSON.parse(result.patch[0]!.value as string) as Record<string, unknown>[];
      expect(written).toEqual(elements.map((e, i) => (wants[i] ? { ...e, mac: mac.toLowerCase() } : e)));
      expect(written.map((e) => Object.keys(e))).toEqual(elements.map((e, i) => (wants[i] ? [...Object.keys(e), 'mac'] : Object.keys(e))));
    }));
  });
});
