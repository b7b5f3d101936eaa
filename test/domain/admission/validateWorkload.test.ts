// The validating rule on workloads (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
// CronJob): the pod template checked as a pod would be (its own pods make way), a static
// address or MAC denied on a template that runs more than one pod at once, and the planner's
// simulation of the missing pods and the rollout surge warning about each pod that would stall.
import { describe, it, expect } from '@jest/globals';
import type { AdmissionDecision, AdmissionRequestView } from '../../../src/domain/admission/Admission.js';
import { deploymentObject, ipObject, objects, ovnDefault, podObject, seed, snapshotOf, statefulSetObject } from '../planner/snapshots.js';
import { validated as validate } from './both.js';
import { requestFor, requestOf } from './requests.js';

const OPTIONS = { now: 0 };
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const M = 'macvlan.default.kubernetes.io';

const base = () => [ovnDefault(), seed('01-nad-macvlan.yaml'), seed('02-subnet-macvlan.yaml')];
const snapshot = snapshotOf(...base());

const denied = (message: string, warnings: readonly string[] = []): AdmissionDecision => ({ allowed: false, message, warnings, patch: [] });
const allowed = (...warnings: string[]): AdmissionDecision => ({ allowed: true, warnings, patch: [] });

const template = (annotations: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> = { app: 'w' }) => ({ metadata: { labels, annotations }, spec: { containers: [] } });

const daemonSet = (annotations: Readonly<Record<string, string>>) => ({
  apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'default' },
  spec: { selector: { matchLabels: { app: 'w' } }, template: template(annotations) },
});
const jobSpec = (annotations: Readonly<Record<string, string>>, counts: { parallelism?: number; completions?: number }) => ({ ...counts, template: template(annotations) });
const job = (annotations: Readonly<Record<string, string>>, counts: { parallelism?: number; completions?: number } = {}) => ({
  apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'once', namespace: 'default' }, spec: jobSpec(annotations, counts),
});
const cronJob = (annotations: Readonly<Record<string, string>>, counts: { parallelism?: number; completions?: number } = {}) => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly', namespace: 'default' },
  spec: { schedule: '0 3 * * *', jobTemplate: { spec: jobSpec(annotations, counts) } },
});
const replicaSet = (name: string, replicas: number, annotations: Readonly<Record<string, string>>, owner?: string) => ({
  apiVersion: 'apps/v1', kind: 'ReplicaSet',
  metadata: { name, namespace: 'default', ...(owner !== undefined && { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: owner, uid: `uid-${owner}` }] }) },
  spec: { replicas, selector: { matchLabels: { app: 'w', ...(owner !== undefined && { 'pod-template-hash': name.slice(owner.length + 1) }) } }, template: template(annotations, { app: 'w', ...(owner !== undefined && { 'pod-template-hash': name.slice(owner.length + 1) }) }) },
});

const STATIC = { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.17.0.50' };

describe('the seed examples', () => {
  it('05 (Deployment with ip_pool) fits an empty cluster, its rollout surge included', () => {
    expect(validate(snapshot, requestOf(seed('05-deployment-ip-pool.yaml')), OPTIONS)).toEqual(allowed());
  });

  it("05 with 04's pod in the cluster: the surge pod would stall, and the warning names it", () => {
    const with04 = snapshotOf(...base(), seed('04-pod-static-ip.yaml'));
    expect(validate(with04, requestOf(seed('05-deployment-ip-pool.yaml')), OPTIONS)).toEqual(allowed(
      'pod default/static-workload-surge-1 of Deployment default/static-workload (rollout surge) would stall: ' +
      'annotation "ovn.kubernetes.io/ip_pool": no entry of ip_pool 10.16.0.15,10.16.0.16,10.16.0.17 is free: ' +
      '10.16.0.15 is already held by default/static-ip in subnet ovn-default (10.16.0.0/16); ' +
      '10.16.0.16 is already held by default/static-workload-sim-1 in subnet ovn-default (10.16.0.0/16); ' +
      '10.16.0.17 is already held by default/static-workload-sim-2 in subnet ovn-default (10.16.0.0/16)'));
  });

  it('05 on UPDATE, the same', () => {
    const with05 = snapshotOf(...base(), seed('04-pod-static-ip.yaml'), seed('05-deployment-ip-pool.yaml'));
    const decision = validate(with05, requestOf(seed('05-deployment-ip-pool.yaml'), 'UPDATE'), OPTIONS);
    expect(decision.allowed).toBe(true);
    expect(decision.warnings.map((w) => w.slice(0, w.indexOf(' would stall')))).toEqual(['pod default/static-workload-surge-1 of Deployment default/static-workload (rollout surge)']);
  });
});

describe('a static address or MAC on a template that runs more than one pod at once is denied', () => {
  it.each<[string, unknown, string]>([
    ['Deployment, 3 replicas', deploymentObject('web', 3, STATIC),
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.50 would be shared by the 3 replicas of Deployment default/web; give each pod its own with ip_pool'],
    ['StatefulSet, 2 replicas, on the default network', statefulSetObject('db', 2, { 'ovn.kubernetes.io/ip_address': '10.16.0.9' }),
      'annotation "ovn.kubernetes.io/ip_address": static address 10.16.0.9 would be shared by the 2 replicas of StatefulSet default/db; give each pod its own with ip_pool'],
    ['ReplicaSet, 2 replicas', replicaSet('rs', 2, STATIC),
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.50 would be shared by the 2 replicas of ReplicaSet default/rs; give each pod its own with ip_pool'],
    ['DaemonSet', daemonSet(STATIC),
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.50 would be shared by the pods of DaemonSet default/agent (one per node); give each pod its own with ip_pool'],
    ['Job, parallelism 2', job(STATIC, { parallelism: 2 }),
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.50 would be shared by the pods of Job default/once (parallelism 2); give each pod its own with ip_pool'],
    ['Job, completions 3', job(STATIC, { parallelism: 1, completions: 3 }),
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.50 would be shared by the pods of Job default/once (parallelism 1, completions 3); give each pod its own with ip_pool'],
    ['CronJob, completions 2', cronJob(STATIC, { completions: 2 }),
      'annotation "macvlan.default.kubernetes.io/ip_address": static address 172.17.0.50 would be shared by the pods of each Job of CronJob default/nightly (completions 2); give each pod its own with ip_pool'],
    ['Deployment, a static MAC', deploymentObject('web', 2, { [NETWORKS]: 'macvlan', [`${M}/mac_address`]: '02:00:00:00:00:AA' }),
      'annotation "macvlan.default.kubernetes.io/mac_address": static MAC 02:00:00:00:00:aa would be shared by the 2 replicas of Deployment default/web; each pod needs its own'],
    ['Deployment, an element\'s ips', deploymentObject('web', 2, { [NETWORKS]: '[{"name":"macvlan","ips":["172.17.0.50"]}]' }),
      'annotation "k8s.v1.cni.cncf.io/networks": net1: static address 172.17.0.50 would be shared by the 2 replicas of Deployment default/web; give each pod its own with ip_pool'],
  ])('%s', (_name, object, message) => {
    expect(validate(snapshot, requestFor(object), OPTIONS)).toEqual(denied(message));
    expect(validate(snapshot, requestFor(object, 'UPDATE'), OPTIONS)).toEqual(denied(message));
  });
});

describe('one pod at a time: a static address is fine', () => {
  it.each<[string, unknown]>([
    ['Deployment, 1 replica, Recreate', deploymentObject('web', 1, STATIC, 'Recreate')],
    ['StatefulSet, replicas unset (1)', { ...(statefulSetObject('db', 1, STATIC) as { spec: object }), spec: { selector: { matchLabels: { app: 'db' } }, template: template(STATIC, { app: 'db' }) } }],
    ['Job, parallelism and completions unset', job(STATIC)],
    ['CronJob, its Jobs one pod each', cronJob(STATIC, { parallelism: 1, completions: 1 })],
    ['DaemonSet on the host network', { ...daemonSet(STATIC), spec: { selector: { matchLabels: { app: 'w' } }, template: { ...template(STATIC), spec: { hostNetwork: true } } } }],
  ])('%s', (_name, object) => {
    expect(validate(snapshot, requestFor(object), OPTIONS)).toEqual(allowed());
  });

  it('Deployment, 1 replica, RollingUpdate: the surge pod would stall (the old pod keeps the address until it goes)', () => {
    expect(validate(snapshot, requestFor(deploymentObject('web', 1, STATIC)), OPTIONS)).toEqual(allowed(
      'pod default/web-surge-1 of Deployment default/web (rollout surge) would stall: ' +
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.50 is already held by default/web-sim-1 in subnet macvlan (172.17.0.0/16)'));
  });
});

describe("the template against the cluster (its own pods make way)", () => {
  const holder = (name: string, labels: Readonly<Record<string, string>>) => objects(`${name}.yaml`,
    podObject(name, { uid: `uid-${name}`, labels, annotations: STATIC }),
    ipObject(`${name}.default`, name, 'ovn-default', '10.16.0.30', { podUid: `uid-${name}`, mac: '0a:00:00:00:00:30' }),
    ipObject(`${name}.default.macvlan.default`, name, 'macvlan', '172.17.0.50', { podUid: `uid-${name}` }));

  it('a static address another pod holds is denied', () => {
    const taken = snapshotOf(...base(), holder('other', { app: 'other' }));
    expect(validate(taken, requestFor(deploymentObject('web', 1, STATIC, 'Recreate')), OPTIONS)).toEqual(denied(
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.50 is already held by default/other in subnet macvlan (172.17.0.0/16)'));
  });

  it("a static address the workload's own pod holds is not (an update of a Recreate Deployment)", () => {
    const own = snapshotOf(...base(), holder('web-5d9f-abcde', { app: 'web' }));
    expect(validate(own, requestFor(deploymentObject('web', 1, STATIC, 'Recreate'), 'UPDATE'), OPTIONS)).toEqual(allowed());
  });

  it('a RollingUpdate of it warns that the surge pod would stall', () => {
    const own = snapshotOf(...base(), holder('web-5d9f-abcde', { app: 'web' }));
    expect(validate(own, requestFor(deploymentObject('web', 1, STATIC), 'UPDATE'), OPTIONS)).toEqual(allowed(
      'pod default/web-surge-1 of Deployment default/web (rollout surge) would stall: ' +
      'annotation "macvlan.default.kubernetes.io/ip_address": 172.17.0.50 is already held by default/web-5d9f-abcde in subnet macvlan (172.17.0.0/16)'));
  });

  it("a Deployment's new ReplicaSet: the pods of its sibling ReplicaSets are its own", () => {
    const own = snapshotOf(...base(), holder('web-old-abcde', { app: 'w', 'pod-template-hash': 'old' }));
    expect(validate(own, requestFor(replicaSet('web-new', 1, STATIC, 'web')), OPTIONS)).toEqual(allowed());
  });

  it("a StatefulSet's update: the address its pod (and the pod's retained IP object) holds is its own", () => {
    const sts = statefulSetObject('db', 1, STATIC);
    const own = snapshotOf(...base(), objects('db.yaml', sts,
      podObject('db-0', { uid: 'uid-db-0', labels: { app: 'db' }, annotations: STATIC, statefulSet: { name: 'db', uid: 'uid-db' } }),
      ipObject('db-0.default.macvlan.default', 'db-0', 'macvlan', '172.17.0.50', { podUid: 'uid-db-0', podType: 'StatefulSet' })));
    expect(validate(own, requestFor(sts, 'UPDATE'), OPTIONS)).toEqual(allowed());
  });

  it('a StatefulSet whose ip_pool has fewer entries than replicas: the pod of the missing ordinal would stall', () => {
    expect(validate(snapshot, requestFor(statefulSetObject('db', 3, { [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: '172.17.0.50,172.17.0.51' })), OPTIONS)).toEqual(allowed(
      'pod default/db-2 of StatefulSet default/db would stall: annotation "macvlan.default.kubernetes.io/ip_pool": ip_pool has 2 entries, none for StatefulSet ordinal 2'));
  });
});

describe('template problems are the pod problems', () => {
  it.each<[string, unknown, AdmissionDecision]>([
    ['a malformed MAC on a Job', job({ 'ovn.kubernetes.io/mac_address': '01:00:5e:00:00:01' }),
      denied('annotation "ovn.kubernetes.io/mac_address": "01:00:5e:00:00:01" is a multicast MAC address (the first octet must be even)')],
    ['a malformed networks annotation on a CronJob', cronJob({ [NETWORKS]: 'macvlan@Eth0' }),
      denied('annotation "k8s.v1.cni.cncf.io/networks": "macvlan@Eth0": interface name "Eth0" is not valid (lower case letters, digits and "-", starting and ending with a letter or digit)')],
    ['an ip_pool of a DaemonSet with no entry in its subnet (the planner says NoAvailableAddress: a warning)', daemonSet({ [NETWORKS]: 'macvlan', [`${M}/ip_pool`]: '172.18.0.1;172.18.0.2' }),
      allowed('annotation "macvlan.default.kubernetes.io/ip_pool": no entry of ip_pool 172.18.0.1,172.18.0.2 is free: 172.18.0.1 is outside subnet macvlan (172.17.0.0/16); 172.18.0.2 is outside subnet macvlan (172.17.0.0/16)')],
    ['a NAD that does not exist yet on a Deployment', deploymentObject('web', 2, { [NETWORKS]: 'later' }, 'Recreate'),
      allowed('annotation "k8s.v1.cni.cncf.io/networks": net1: NetworkAttachmentDefinition default/later does not exist')],
    ['a Subnet that does not exist yet on a StatefulSet', statefulSetObject('db', 2, { 'ovn.kubernetes.io/logical_switch': 'later' }),
      allowed('annotation "ovn.kubernetes.io/logical_switch": subnet later (named by annotation ovn.kubernetes.io/logical_switch) does not exist')],
    ['a static address out of range and shared, on a Deployment', deploymentObject('web', 2, { [NETWORKS]: 'macvlan', [`${M}/ip_address`]: '172.18.0.5' }),
      denied('annotation "macvlan.default.kubernetes.io/ip_address": static address 172.18.0.5 would be shared by the 2 replicas of Deployment default/web; give each pod its own with ip_pool; ' +
        'annotation "macvlan.default.kubernetes.io/ip_address": 172.18.0.5 is outside subnet macvlan (172.17.0.0/16)')],
  ])('%s', (_name, object, decision) => {
    expect(validate(snapshot, requestFor(object), OPTIONS)).toEqual(decision);
  });
});

describe('not checked', () => {
  it.each<[string, AdmissionRequestView]>([
    ['a workload DELETE', requestFor(deploymentObject('web', 3, STATIC), 'DELETE')],
    ['a Deployment of another API group', { ...requestFor(deploymentObject('web', 3, STATIC)), kind: { group: 'extensions', version: 'v1beta1', kind: 'Deployment' } }],
  ])('%s', (_name, req) => {
    expect(validate(snapshot, req, OPTIONS)).toEqual(allowed());
  });

  it('a workload the schemas cannot read is allowed, unchecked, with a warning', () => {
    expect(validate(snapshot, requestFor({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j', namespace: 'default' }, spec: {} }), OPTIONS)).toEqual(allowed(
      'kube-ovn-ipam did not check this Job: Job default/j: spec.template: is required'));
  });
});
