// Every object kind the IPAM reads decodes to a value or to a problem naming the object and the
// field (issue 14, item 1), and whatever one object says, planning the cluster never throws.
// Objects are the seed's examples and hand-written valid ones, mutated in one to three places
// (hostile.ts): wrong types per field, near-miss strings, huge numbers, `__proto__` keys, deep
// nesting, removed fields.
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { planPodWith, prepare } from '../../../src/domain/IncrementalPlanner.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import { buildSnapshot, decodeRaw } from '../../../src/domain/Snapshot.js';
import { ipObject, nadObject, objects, podObject, seed, statefulSetObject, subnetObject } from '../planner/snapshots.js';
import { mutated } from './hostile.js';

const seedDocs: RawDocument[] = [
  '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml', '05-deployment-ip-pool.yaml', '06-nad-attachnet-ovn.yaml',
  '07-nad-attachnet-ovn-routes.yaml', '09-pod-attachnet-spec-subnet.yaml', '10-pod-attachnet-static-ip.yaml',
].flatMap(seed);

/** One valid object of every kind the snapshot reads, each with every field it reads. */
const valid: readonly unknown[] = [
  ...seedDocs.map((d) => d.value),
  subnetObject('ovn-default', '10.16.0.0/16', 'ovn', {
    protocol: 'IPv4', gateway: '10.16.0.1', excludeIps: ['10.16.0.2..10.16.0.9', '10.16.1.0/24'], mtu: 1400, namespaces: ['default'],
  }),
  { ...(subnetObject('dual', '10.17.0.0/24,fd00::/120') as object), status: {
    v4availableIPs: 250, v4usingIPs: 1, conditions: [{ type: 'Ready', status: 'True' }],
    allocator: { v4: { usedUpTo: '10.17.0.9', released: [{ ip: '10.17.0.4', at: 1700000000000 }] }, v6: { usedUpTo: '', released: [] } },
  } },
  ipObject('p.default', 'p', 'ovn-default', '10.16.0.10', { podUid: 'u-p', mac: '02:00:00:00:00:01', nodeName: 'n1', podType: 'StatefulSet' }),
  podObject('p', { uid: 'u-p', nodeName: 'n1', statefulSet: { name: 'sts', uid: 'u-sts' }, annotations: {
    'k8s.v1.cni.cncf.io/networks': '[{"name":"attachnet","interface":"net1","ips":["10.10.0.5"],"mac":"02:00:00:00:00:02"}]',
    'v1.multus-cni.io/default-network': 'default/attachnet',
    'ovn.kubernetes.io/ip_address': '10.16.0.10', 'ovn.kubernetes.io/mac_address': '02:00:00:00:00:01',
    'ovn.kubernetes.io/routes': '[{"dst":"10.0.0.0/8","gw":"10.16.0.1"}]', 'ovn.kubernetes.io/ip_family': 'ipv4',
    'ovn.kubernetes.io/logical_switch': 'ovn-default', 'ovn.kubernetes.io/allocated': 'true',
  } }),
  statefulSetObject('sts', 2, { 'ovn.kubernetes.io/ip_pool': '10.16.0.20,10.16.0.21' }),
  { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'default', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'static-workload', uid: 'u-d', controller: true }] },
    spec: { replicas: 1, selector: { matchLabels: { app: 'x' } }, template: { metadata: { annotations: { 'ovn.kubernetes.io/ip_pool': 'pool' } } } } },
  { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'pool' }, spec: { subnet: 'ovn-default', ips: ['10.16.0.30', '10.16.0.40..10.16.0.45', '10.16.2.0/28'], namespaces: ['default'] },
    status: { v4AvailableIPs: 3, v4AvailableIPRange: '10.16.0.30', v4UsingIPs: '0', conditions: [] } },
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', annotations: { 'ovn.kubernetes.io/logical_switch': 'ovn-default' } } },
  { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'vm', namespace: 'default', uid: 'u-vm' }, spec: { running: true } },
  { apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'vm', namespace: 'default', uid: 'u-vmi', ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'vm', uid: 'u-vm' }] } },
  nadObject('routes', { cniVersion: '1.0.0', name: 'routes', plugins: [{ type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'routes.default', routes: [{ dst: '0.0.0.0/0', gw: '172.17.0.1' }] } }] }),
];

const kindOf = (o: unknown): string => String((o as { kind: unknown }).kind);

describe('every kind decodes to an object or a problem naming the object and the field', () => {
  it('the valid examples decode', () => {
    for (const o of valid) expect(decodeRaw(o, { file: 'f', document: 0 }, 0)).toEqual(expect.objectContaining({ ok: true }));
  });

  it.each(valid.map((o) => [kindOf(o), (o as { metadata: { name: string } }).metadata.name, o]))('%s %s, mutated', (kind, _name, o) => {
    fc.assert(fc.property(mutated(o), (m) => {
      const d = decodeRaw(m, { file: 'f', document: 0 }, 0);
      if (d === undefined || d.ok) return;
      // `Kind "name": path: problem` — a kind that is not a string is `object "name": kind: is required`.
      const object = `${d.problem.kind === '<none>' ? 'object' : d.problem.kind} ${JSON.stringify(d.problem.name)}: `;
      expect(d.problem.message.startsWith(object)).toBe(true);
      expect(d.problem.message.slice(object.length)).toMatch(/^(?:[^\s"]|"(?:[^"\\]|\\.)*")+: \S/);
    }), { numRuns: 300 });
  });
});

describe('planning never throws, whatever one object says (fast-check)', () => {
  const docsWith = (m: unknown): RawDocument[] => [
    ...objects('base.yaml', ...valid),
    ...objects('mutated.yaml', m),
    ...objects('good.yaml', podObject('good', { uid: 'u-good' })),
  ];

  it.each(valid.map((o) => [kindOf(o), (o as { metadata: { name: string } }).metadata.name, o]))('%s %s, mutated: planAll and the incremental planner', (_kind, _name, o) => {
    fc.assert(fc.property(mutated(o), (m) => {
      const { snapshot } = buildSnapshot(docsWith(m));
      const plan = planAll(snapshot, { now: 0 });
      for (const e of plan.errors) expect(e.message.startsWith(`pod ${e.pod}`)).toBe(true);
      const state = prepare(snapshot, { now: 0 });
      for (const key of snapshot.pods.keys()) planPodWith(state, snapshot, key, { now: 0 });
    }), { numRuns: 60 });
  });
});

describe('any JavaScript value in metadata, spec and status (fc.anything, beyond what JSON carries)', () => {
  const any = fc.anything({ withNullPrototype: true, withBoxedValues: true, withMap: true, withSet: true, withBigInt: true, withDate: true, withTypedArray: true, withSparseArray: true, withObjectString: true, maxDepth: 3 });
  const kinds = ['Pod', 'Subnet', 'IP', 'IPPool', 'NetworkAttachmentDefinition', 'Deployment', 'StatefulSet', 'ReplicaSet', 'Namespace', 'VirtualMachine', 'VirtualMachineInstance'];
  it('every problem names the object and a field; planning never throws', () => {
    fc.assert(fc.property(fc.constantFrom(...kinds), any, any, any, (kind, metadata, spec, status) => {
      const { snapshot, problems } = buildSnapshot(objects('any.yaml',
        { kind, metadata, spec, status },
        { kind, metadata: { name: 'n', namespace: 'default', annotations: metadata }, spec, status }));
      for (const p of problems) expect(p.message.startsWith(`${p.kind === '<none>' ? 'object' : p.kind} ${JSON.stringify(p.name)}: `)).toBe(true);
      planAll(snapshot, { now: 0 });
    }), { numRuns: 2000 });
  });
});
