// The validating rule on Pod CREATE: the planner's errors for the pod, planned as if the
// snapshot held it, denied (what the pod gets wrong) or warned about (what another object may
// still fix), each message naming the annotation; exact messages.
import { describe, it, expect } from '@jest/globals';
import type { AdmissionDecision, AdmissionRequestView } from '../../../src/domain/admission/Admission.js';
import { ipObject, nadObject, objects, ovnDefault, podObject, seed, snapshotOf, subnetObject } from '../planner/snapshots.js';
import { validated as validate } from './both.js';
import { requestFor, requestOf } from './requests.js';

const OPTIONS = { now: 0 };
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const M = 'macvlan.default.kubernetes.io';

/** Seed examples 01/02 (macvlan NAD and Subnet), ovn-default, and pod `holder` with claims on both networks. */
const snapshot = snapshotOf(
  ovnDefault(),
  seed('01-nad-macvlan.yaml'),
  seed('02-subnet-macvlan.yaml'),
  seed('06-nad-attachnet-ovn.yaml'),
  objects('cluster.yaml',
    subnetObject('attach', '192.168.0.0/24', 'attachnet.default.ovn'),
    nadObject('ipvlan', { cniVersion: '1.0.0', type: 'ipvlan', ipam: { type: 'kube-ovn', provider: 'ipvlan.default' } }),
    nadObject('wrong', { cniVersion: '1.0.0', type: 'macvlan', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } }),
    nadObject('bridge', { cniVersion: '1.0.0', type: 'bridge', ipam: { type: 'host-local', subnet: '10.1.0.0/16' } }),
    podObject('holder', { uid: 'uid-holder', annotations: { [NETWORKS]: 'macvlan' } }),
    ipObject('holder.default', 'holder', 'ovn-default', '10.16.0.20', { podUid: 'uid-holder', mac: '0a:00:00:00:00:20' }),
    ipObject('holder.default.macvlan.default', 'holder', 'macvlan', '172.17.0.100', { podUid: 'uid-holder', mac: '00:00:00:53:6b:bb' }),
    { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'tiny' }, spec: { subnet: 'macvlan', ips: ['172.17.0.100'] } }),
);

const podRequest = (annotations: Readonly<Record<string, string>>): AdmissionRequestView => requestFor(podObject('p', { annotations }));

const denied = (message: string, warnings: readonly string[] = []): AdmissionDecision => ({ allowed: false, message, warnings, patch: [] });
const allowed = (...warnings: string[]): AdmissionDecision => ({ allowed: true, warnings, patch: [] });

describe('the seed examples', () => {
  it.each(['03-pod-random.yaml', '04-pod-static-ip.yaml'])('%s is allowed on an empty cluster, without warnings', (file) => {
    const empty = snapshotOf(ovnDefault(), seed('01-nad-macvlan.yaml'), seed('02-subnet-macvlan.yaml'));
    expect(validate(empty, requestOf(seed(file)), OPTIONS)).toEqual(allowed());
  });

  it('04 is denied when another pod holds its static address (the first problem of each network)', () => {
    const taken = snapshotOf(ovnDefault(), seed('01-nad-macvlan.yaml'), seed('02-subnet-macvlan.yaml'), objects('taken.yaml',
      podObject('other', { uid: 'uid-other', annotations: { [NETWORKS]: 'macvlan' } }),
      ipObject('other.default', 'other', 'ovn-default', '10.16.0.15', { podUid: 'uid-other', mac: '0a:00:00:00:00:15' }),
      ipObject('other.default.macvlan.default', 'other', 'macvlan', '172.17.0.100', { podUid: 'uid-other' })));
    expect(validate(taken, requestOf(seed('04-pod-static-ip.yaml')), OPTIONS)).toEqual(denied(
      'annotation "ovn.kubernetes.io/ip_address": 10.16.0.15 is already held by default/other in subnet ovn-default (10.16.0.0/16); ' +
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.100 is already held by default/other in subnet macvlan (172.17.0.0/16)'));
  });

  it('10 is allowed with a warning while its Subnet my-subnet does not exist', () => {
    expect(validate(snapshot, requestOf(seed('10-pod-attachnet-static-ip.yaml')), OPTIONS)).toEqual(allowed(
      'annotation "attachnet.default.ovn.kubernetes.io/logical_switch": subnet my-subnet (named by annotation attachnet.default.ovn.kubernetes.io/logical_switch) does not exist'));
  });
});

describe('denied', () => {
  it.each<[string, Readonly<Record<string, string>>, string]>([
    ['a malformed address', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.300' },
      'annotation "macvlan.default.kubernetes.io/ip_address": "172.17.0.300" is not an IP address'],
    ['two addresses of one family', { 'ovn.kubernetes.io/ip_address': '10.16.0.5,10.16.0.6' },
      'annotation "ovn.kubernetes.io/ip_address": "10.16.0.5,10.16.0.6" has two IPv4 addresses (at most one per family)'],
    ['a malformed MAC', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '00:00:00:53:6b' },
      'annotation "macvlan.default.kubernetes.io/mac_address": "00:00:00:53:6b" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)'],
    ['a multicast MAC', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '01:00:5e:00:00:01' },
      'annotation "macvlan.default.kubernetes.io/mac_address": "01:00:5e:00:00:01" is a multicast MAC address (the first octet must be even)'],
    ['the broadcast MAC', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: 'FF:FF:FF:FF:FF:FF' },
      'annotation "macvlan.default.kubernetes.io/mac_address": "FF:FF:FF:FF:FF:FF" is the broadcast MAC address'],
    ['the all-zero MAC', { 'ovn.kubernetes.io/mac_address': '00:00:00:00:00:00' },
      'annotation "ovn.kubernetes.io/mac_address": "00:00:00:00:00:00" is the all-zero MAC address'],
    ['a malformed ip_pool', { 'ovn.kubernetes.io/ip_pool': '10.16.0.5,10.16.0' },
      'annotation "ovn.kubernetes.io/ip_pool": "10.16.0" is not an IP address'],
    ['an ip_pool that is no IPPool name', { 'ovn.kubernetes.io/ip_pool': 'My_Pool' },
      'annotation "ovn.kubernetes.io/ip_pool": "My_Pool" is neither an IP address nor an IPPool name (at most 253 lower case letters, digits, "-" and ".", starting and ending with a letter or digit)'],
    ['malformed routes', { [NETWORKS]: 'macvlan', [`${M}/routes`]: '[{"dst":"10.0.0.0/33"}]' },
      'annotation "macvlan.default.kubernetes.io/routes": [0].dst: "10.0.0.0/33" has an invalid prefix length (expected 0 to 32)'],
    ['routes that are not JSON', { 'ovn.kubernetes.io/routes': '[{"dst":' },
      'annotation "ovn.kubernetes.io/routes": invalid JSON at line 1, column 9: expected a value, found the end of the text'],
    ['a malformed networks annotation (short form)', { [NETWORKS]: 'macvlan,default/a/b' },
      'annotation "k8s.v1.cni.cncf.io/networks": "default/a/b" has more than one "/" (expected [namespace/]name[@interface])'],
    ['a malformed networks annotation (JSON form)', { [NETWORKS]: '[{"namespace":"default"}]' },
      'annotation "k8s.v1.cni.cncf.io/networks": [0].name: is required'],
    ['a malformed address in an element\'s ips', { [NETWORKS]: '[{"name":"macvlan","ips":["172.17.0.x"]}]' },
      'annotation "k8s.v1.cni.cncf.io/networks": ips of default/macvlan: "172.17.0.x" is not an IP address'],
    ['a multicast MAC in an element', { [NETWORKS]: '[{"name":"macvlan","mac":"03:00:00:00:00:01"}]' },
      'annotation "k8s.v1.cni.cncf.io/networks": mac of default/macvlan: "03:00:00:00:00:01" is a multicast MAC address (the first octet must be even)'],
    ['an ip_family that is none', { 'ovn.kubernetes.io/ip_family': 'IPv4' },
      'annotation "ovn.kubernetes.io/ip_family": "IPv4" is not an IP family (expected "ipv4" or "ipv6")'],
    ['a static address outside its subnet', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.18.0.5' },
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.18.0.5 is outside subnet macvlan (172.17.0.0/16)'],
    ['the network address of its subnet', { 'ovn.kubernetes.io/ip_address': '10.16.0.0' },
      'annotation "ovn.kubernetes.io/ip_address": 10.16.0.0 is not a host address of subnet ovn-default (10.16.0.0/16)'],
    ['the gateway of its subnet', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.1' },
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.1 is the gateway of subnet macvlan (172.17.0.0/16)'],
    ['an address of the family its subnet lacks', { 'ovn.kubernetes.io/ip_address': 'fd00::5' },
      'annotation "ovn.kubernetes.io/ip_address": fd00::5 is IPv6 but subnet ovn-default (10.16.0.0/16) has no IPv6 CIDR'],
    ['an element\'s ips outside the subnet (named by interface)', { [NETWORKS]: '[{"name":"macvlan","ips":["172.18.0.5"]}]' },
      'annotation "k8s.v1.cni.cncf.io/networks": net1: 172.18.0.5 is outside subnet macvlan (172.17.0.0/16)'],
    ['a static address another pod holds', { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.100' },
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.100 is already held by default/holder in subnet macvlan (172.17.0.0/16)'],
    ['a static address another pod holds, on the default network', { 'ovn.kubernetes.io/ip_address': '10.16.0.20' },
      'annotation "ovn.kubernetes.io/ip_address": 10.16.0.20 is already held by default/holder in subnet ovn-default (10.16.0.0/16)'],
    ['a static MAC another pod holds', { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '00:00:00:53:6B:BB' },
      'annotation "macvlan.default.kubernetes.io/mac_address": MAC 00:00:00:53:6b:bb is already used by default/holder in subnet macvlan'],
    ['a static MAC another pod holds, on the default network', { 'ovn.kubernetes.io/mac_address': '0a:00:00:00:00:20' },
      'annotation "ovn.kubernetes.io/mac_address": MAC 0a:00:00:00:00:20 is already used by default/holder in subnet ovn-default'],
    ['an element\'s ips held by another pod (named by its interface)', { [NETWORKS]: '[{"name":"macvlan","interface":"m0","ips":["172.17.0.100"]}]' },
      'annotation "k8s.v1.cni.cncf.io/networks": m0: 172.17.0.100 is already held by default/holder in subnet macvlan (172.17.0.0/16)'],
    ['an ip_family its subnet does not serve', { 'ovn.kubernetes.io/ip_family': 'ipv6' },
      'annotation "ovn.kubernetes.io/ip_family": ip_family IPv6 is not served by subnet ovn-default (protocol IPv4)'],
    ['a NAD attached twice with one plain MAC: the second interface would share it', { [NETWORKS]: 'macvlan@a,macvlan@b', [`${M}/mac_address`]: '02:00:00:00:00:01' },
      'annotation "macvlan.default.kubernetes.io/mac_address": MAC 02:00:00:00:00:01 is already used by default/p in subnet macvlan'],
  ])('%s', (_name, annotations, message) => {
    expect(validate(snapshot, podRequest(annotations), OPTIONS)).toEqual(denied(message));
  });

  it('with every denial, joined by "; ", and the warnings beside them', () => {
    expect(validate(snapshot, podRequest({
      [NETWORKS]: 'macvlan,missing', [`${M}/ip_address`]: '172.17.0.1', 'ovn.kubernetes.io/mac_address': 'ff:ff:ff:ff:ff:ff', 'ovn.kubernetes.io/routes': '{}',
    }), OPTIONS)).toEqual(denied(
      'annotation "ovn.kubernetes.io/mac_address": "ff:ff:ff:ff:ff:ff" is the broadcast MAC address; ' +
      'annotation "ovn.kubernetes.io/routes": expected an array, got an object; ' +
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.1 is the gateway of subnet macvlan (172.17.0.0/16)',
      ['annotation "k8s.v1.cni.cncf.io/networks": net2: NetworkAttachmentDefinition default/missing does not exist'],
    ));
  });
});

describe('allowed with a warning', () => {
  it.each<[string, Readonly<Record<string, string>>, string]>([
    ['a NAD that does not exist yet', { [NETWORKS]: 'macvlan, other/missing@m9' },
      'annotation "k8s.v1.cni.cncf.io/networks": m9: NetworkAttachmentDefinition other/missing does not exist'],
    ['a NAD whose provider is not its own', { [NETWORKS]: 'wrong' },
      'annotation "k8s.v1.cni.cncf.io/networks": net1: NetworkAttachmentDefinition default/wrong says provider "macvlan.default" but its provider is "wrong.default" (<name>.<namespace>); the CNI plugin would wait for annotations that never come'],
    ['a Subnet that does not exist yet (logical_switch)', { 'ovn.kubernetes.io/logical_switch': 'later' },
      'annotation "ovn.kubernetes.io/logical_switch": subnet later (named by annotation ovn.kubernetes.io/logical_switch) does not exist'],
    ['no Subnet for the provider yet', { [NETWORKS]: 'ipvlan' },
      'network net1 (ipvlan.default): provider ipvlan.default is not bound to any subnet (no Subnet has spec.provider: ipvlan.default)'],
    ['an IPPool that does not exist yet', { [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: 'later-pool' },
      'annotation "macvlan.default.kubernetes.io/ip_pool": IPPool later-pool named by annotation macvlan.default.kubernetes.io/ip_pool does not exist'],
    ['an ip_pool whose every entry is taken', { [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: '172.17.0.100' },
      'annotation "macvlan.default.kubernetes.io/ip_pool": no entry of ip_pool 172.17.0.100 is free: 172.17.0.100 is already held by default/holder in subnet macvlan (172.17.0.0/16)'],
    ['an IPPool with no free address', { [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: 'tiny' },
      'annotation "macvlan.default.kubernetes.io/ip_pool": the IP pool in subnet macvlan has no free IPv4 address'],
  ])('%s', (_name, annotations, warning) => {
    expect(validate(snapshot, podRequest(annotations), OPTIONS)).toEqual(allowed(warning));
  });

  it('a subnet with no free address', () => {
    const full = snapshotOf(objects('full.yaml', subnetObject('ovn-default', '10.16.0.0/30'),
      podObject('one', { uid: 'uid-one' }), ipObject('one.default', 'one', 'ovn-default', '10.16.0.2', { podUid: 'uid-one', mac: '0a:00:00:00:00:02' })));
    expect(validate(full, podRequest({}), OPTIONS)).toEqual(allowed('network eth0 (ovn): subnet ovn-default has no free IPv4 address'));
  });
});

describe('allowed, nothing to say', () => {
  it.each<[string, AdmissionRequestView]>([
    ['a pod with no annotations', podRequest({})],
    ['a NAD that is not ours', podRequest({ [NETWORKS]: 'bridge' })],
    ['a static address in excludeIps (allowed there)', podRequest({ [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.5' })],
    ['an OVN attachment with a static address', podRequest({ [NETWORKS]: 'attachnet', 'attachnet.default.ovn.kubernetes.io/ip_address': '192.168.0.9' })],
    ['a host-network pod', requestFor({ ...(podObject('h', { annotations: { 'ovn.kubernetes.io/ip_address': '10.16.0.20' } }) as object), spec: { hostNetwork: true } })],
    ['a pod UPDATE', { ...podRequest({ 'ovn.kubernetes.io/ip_address': '10.16.0.20' }), operation: 'UPDATE' }],
    ['a pod DELETE', { ...podRequest({ 'ovn.kubernetes.io/ip_address': '10.16.0.20' }), operation: 'DELETE' }],
    ['a kind the IPAM does not check', requestFor({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} })],
    ['the holder itself re-created under its name (same UID)', requestFor(podObject('holder', { uid: 'uid-holder', annotations: { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.100' } }))],
  ])('%s', (_name, req) => {
    expect(validate(snapshot, req, OPTIONS)).toEqual(allowed());
  });

  it('an object the schemas cannot read is allowed, unchecked, with a warning', () => {
    expect(validate(snapshot, requestFor({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: { a: 1 } }, spec: {} }), OPTIONS)).toEqual(allowed(
      'kube-ovn-ipam did not check this Pod: Pod "default/p": metadata.annotations.a: expected a string, got the number 1'));
  });
});

describe('a pod created with generateName (no name, no UID, no namespace in the object)', () => {
  const object = (annotations: Readonly<Record<string, string>>) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { generateName: 'web-', annotations }, spec: {} });
  const request = (annotations: Readonly<Record<string, string>>): AdmissionRequestView =>
    ({ operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: 'default', name: '', object: object(annotations) });

  it('is checked like any other', () => {
    expect(validate(snapshot, request({ 'ovn.kubernetes.io/ip_address': '10.16.0.20' }), OPTIONS)).toEqual(denied(
      'annotation "ovn.kubernetes.io/ip_address": 10.16.0.20 is already held by default/holder in subnet ovn-default (10.16.0.0/16)'));
    expect(validate(snapshot, request({ 'ovn.kubernetes.io/ip_address': '10.16.0.21' }), OPTIONS)).toEqual(allowed());
  });
});
