import { describe, it, expect } from '@jest/globals';
import type * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { decodeObject } from '../../../src/domain/schema/decode.js';
import { IP, IPPool, Subnet } from '../../../src/domain/schema/kubeovn.js';
import { Deployment, Namespace, Pod, ReplicaSet, StatefulSet } from '../../../src/domain/schema/kube.js';
import { NetworkAttachmentDefinition } from '../../../src/domain/schema/nad.js';

const messageOf = (codec: t.Decoder<unknown, unknown>, value: unknown): string => {
  const result = decodeObject(codec, value, 'X');
  return E.isLeft(result) ? result.left.message : 'decoded';
};

const ipSpec = {
  podName: 'web-0',
  namespace: 'default',
  subnet: 'macvlan',
  nodeName: 'node1',
  ipAddress: '172.17.0.11',
  v4IpAddress: '172.17.0.11',
  v6IpAddress: '',
  macAddress: '',
  containerID: 'abc',
  podType: 'StatefulSet',
};

const fullMetadata = {
  name: 'web-0',
  namespace: 'default',
  uid: 'u-1',
  resourceVersion: '42',
  creationTimestamp: '2026-01-01T00:00:00Z',
  deletionTimestamp: '2026-01-02T00:00:00Z',
  labels: { app: 'web' },
  annotations: { 'ovn.kubernetes.io/allocated': 'true' },
  ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u-0', controller: true }],
  finalizers: ['kubeovn.io/kube-ovn-controller'],
};

describe('schemas accept well-formed objects unchanged', () => {
  it.each<[string, t.Decoder<unknown, unknown>, unknown]>([
    ['a Subnet with spec and status', Subnet, {
      apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'dual' },
      spec: { cidrBlock: '10.0.0.0/24,fd00::/120', protocol: 'Dual', provider: 'ovn', gateway: '10.0.0.1,fd00::1', excludeIps: ['10.0.0.2..10.0.0.9'], mtu: 1400, namespaces: ['default'], vpc: 'ovn-cluster' },
      status: {
        v4availableIPs: 243, v4usingIPs: 1, v4availableIPrange: '10.0.0.11-10.0.0.254', v4usingIPrange: '10.0.0.10',
        v6availableIPs: 243, v6usingIPs: 1, v6availableIPrange: 'fd00::b-fd00::ff', v6usingIPrange: 'fd00::a',
        conditions: [{ type: 'Ready', status: 'True', reason: 'SetNonOvnSubnetSuccess', message: '', lastUpdateTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      },
    }],
    ['an IP with every field', IP, { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: fullMetadata, spec: { ...ipSpec, attachIps: [], attachMacs: [], attachSubnets: [] } }],
    ['an IPPool', IPPool, { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'pool1' }, spec: { subnet: 'ovn-default', ips: ['10.16.0.20..10.16.0.29', '10.16.1.0/28'], namespaces: ['default'] } }],
    ['a NAD', NetworkAttachmentDefinition, { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan', namespace: 'default' }, spec: { config: '{}' } }],
    ['a Pod', Pod, { apiVersion: 'v1', kind: 'Pod', metadata: fullMetadata, spec: { nodeName: 'node1', hostNetwork: false, containers: [] }, status: { phase: 'Running', podIP: '10.16.0.2' } }],
    ['a Pod from a list (no apiVersion or kind)', Pod, { metadata: { name: 'p' }, spec: {} }],
    ['a Namespace', Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', labels: { 'kubernetes.io/metadata.name': 'default' } } }],
    ['a Deployment', Deployment, {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] }, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } }, template: { metadata: { labels: { app: 'web' }, annotations: { 'ovn.kubernetes.io/ip_pool': '10.16.0.15' } } } },
    }],
    ['a ReplicaSet', ReplicaSet, { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-5d4f', namespace: 'default' }, spec: { replicas: 1, template: { metadata: { labels: { app: 'web' } } } } }],
    ['a StatefulSet', StatefulSet, { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'default' }, spec: { replicas: 3, ordinals: { start: 5 }, template: {} } }],
  ])('%s', (_name, codec, value) => {
    expect(decodeObject(codec, value, 'X')).toEqual(E.right(value));
  });

  it('reads a pod template whose metadata was written as null', () => {
    const value = { metadata: { name: 'web' }, spec: { template: { metadata: { creationTimestamp: null, labels: null } } } };
    expect(decodeObject(Deployment, value, 'X')).toEqual(
      E.right({ metadata: { name: 'web' }, spec: { template: { metadata: { creationTimestamp: null, labels: undefined } } } }),
    );
  });
});

describe('schemas name what is missing or wrong', () => {
  it.each<[string, t.Decoder<unknown, unknown>, unknown, string]>([
    ['Subnet without metadata.name', Subnet, { metadata: {}, spec: { cidrBlock: '10.0.0.0/24' } }, 'X: metadata.name: is required'],
    ['Subnet with a non-list namespaces', Subnet, { metadata: { name: 's' }, spec: { cidrBlock: '10.0.0.0/24', namespaces: 'default' } }, 'X: spec.namespaces: expected an array, got the string "default"'],
    ['Subnet with a bad status', Subnet, { metadata: { name: 's' }, spec: { cidrBlock: '10.0.0.0/24' }, status: { v4usingIPs: '1', conditions: [{ type: 'Ready' }] } }, 'X: status.v4usingIPs: expected a number, got the string "1"; status.conditions[0].status: is required'],
    ['IP with a wrong-typed spec field (every spec field is optional, as the CRD has it)', IP, { metadata: { name: 'p.default' }, spec: { podName: 'p', namespace: 'default', subnet: 's', macAddress: 1, attachIps: [1] } },
      'X: spec.macAddress: expected a string, got the number 1; spec.attachIps[0]: expected a string, got the number 1'],
    ['IPPool without ips', IPPool, { metadata: { name: 'p' }, spec: { subnet: 's' } }, 'X: spec.ips: is required'],
    ['NAD with a config object', NetworkAttachmentDefinition, { metadata: { name: 'n' }, spec: { config: { type: 'macvlan' } } }, 'X: spec.config: expected a string, got an object'],
    ['Pod without spec', Pod, { metadata: { name: 'p' } }, 'X: spec: is required'],
    ['Pod with a string hostNetwork', Pod, { metadata: { name: 'p', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u', controller: 'yes' }] }, spec: { hostNetwork: 'true' } },
      'X: metadata.ownerReferences[0].controller: expected a boolean, got the string "yes"; spec.hostNetwork: expected a boolean, got the string "true"'],
    ['Namespace with a numeric label', Namespace, { metadata: { name: 'n', labels: { tier: 1 } } }, 'X: metadata.labels.tier: expected a string, got the number 1'],
    ['Deployment without template', Deployment, { metadata: { name: 'd' }, spec: { replicas: 1 } }, 'X: spec.template: is required'],
    ['Deployment with fractional replicas', Deployment, { metadata: { name: 'd' }, spec: { replicas: 1.5, template: {} } }, 'X: spec.replicas: expected an integer, got the number 1.5'],
    ['Deployment with a bad selector', Deployment, { metadata: { name: 'd' }, spec: { template: {}, selector: { matchExpressions: [{ key: 'a' }] } } }, 'X: spec.selector.matchExpressions[0].operator: is required'],
    ['ReplicaSet with a bad template annotation', ReplicaSet, { metadata: { name: 'r' }, spec: { template: { metadata: { annotations: { 'k8s.v1.cni.cncf.io/networks': ['macvlan'] } } } } },
      'X: spec.template.metadata.annotations["k8s.v1.cni.cncf.io/networks"]: expected a string, got an array'],
    ['StatefulSet with a string ordinal start', StatefulSet, { metadata: { name: 's' }, spec: { template: {}, ordinals: { start: '1' } } }, 'X: spec.ordinals.start: expected an integer, got the string "1"'],
  ])('%s', (_name, codec, value, message) => {
    expect(messageOf(codec, value)).toBe(message);
  });
});
