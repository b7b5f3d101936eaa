// Regressions: bugs the planner once had, each a test that failed before its fix. Each names
// the rule it guards.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';
import { applyActions } from './apply.js';
import { actionList, actionsOfType, ip, objects, pod, seed, snapshotOf, statefulSetObject, subnetObject } from './snapshots.js';

const OPTIONS = { now: 0 };

const base = (): RawDocument[] =>
  objects('base.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('macvlan', '172.17.0.0/16', 'macvlan.default', { gateway: '172.17.0.1', excludeIps: ['172.17.0.1..172.17.0.10'] }))
    .concat(seed('01-nad-macvlan.yaml'), seed('06-nad-attachnet-ovn.yaml'), objects('attach.yaml', subnetObject('attach-subnet', '192.168.0.0/24', 'attachnet.default.ovn')));

describe('regression: the same NAD attached twice (DESIGN §3.4: identity is the pod UID plus the interface)', () => {
  // Both interfaces get distinct claims, but share one IP object name (<pod>.<ns>.<provider>)
  // and one set of annotation keys: two CreateIP of the same name, and the patch keeps only the
  // last interface's address. After applying, the next plan reads that address for both
  // interfaces: net1 silently changes address and net2 gets ClaimConflict.
  it.each([
    ['an IPAM-only NAD', 'macvlan,macvlan', 'macvlan.default', ['172.17.0.11', '172.17.0.12']],
    ['an OVN NAD without interface names', 'attachnet,attachnet', 'attachnet.default.ovn', ['192.168.0.2', '192.168.0.3']],
  ])('%s: one IP object per interface, and the plan converges', (_name, networks, provider, [first, second]) => {
    const snapshot = snapshotOf([...base(), ...pod('a', { uid: 'uid-a', annotations: { 'k8s.v1.cni.cncf.io/networks': networks } })]);
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.allocations.map((a) => `${a.provider} ${a.interface} ${a.ipAddress}`)).toEqual([
      expect.stringMatching(/^ovn eth0 /), `${provider}.net1 net1 ${first}`, `${provider}.net2 net2 ${second}`,
    ]);
    const names = actionsOfType(plan, 'CreateIP').map((a) => a.target);
    expect(new Set(names).size).toBe(3);
    const again = planAll(applyActions(snapshot, plan.actions), OPTIONS);
    expect(again.errors).toEqual([]);
    expect(again.allocations.map((a) => `${a.interface} ${a.ipAddress} ${a.source}`)).toEqual([
      expect.stringMatching(/^eth0 .* existing$/), `net1 ${first} existing`, `net2 ${second} existing`,
    ]);
  });
});

describe('regression: an IPAM-only network named into a subnet by logical_switch does not converge', () => {
  // The patch deletes the user-written `macvlan.default.kubernetes.io/logical_switch`
  // (desiredAnnotations writes null for IPAM-only subnets), so the next plan chooses the first
  // subnet bound to the provider instead, and the running pod's net1 gets AddressOutOfRange.
  it('after applying its plan, the next plan keeps net1 in mv-b without an error', () => {
    const snapshot = snapshotOf([
      ...objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/16'), subnetObject('mv-a', '172.17.0.0/24', 'macvlan.default'), subnetObject('mv-b', '172.18.0.0/24', 'macvlan.default')),
      ...seed('01-nad-macvlan.yaml'),
      ...pod('a', { uid: 'uid-a', annotations: { 'k8s.v1.cni.cncf.io/networks': 'macvlan', 'macvlan.default.kubernetes.io/logical_switch': 'mv-b' } }),
    ]);
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.allocations.map((a) => `${a.interface} ${a.subnet} ${a.ipAddress}`)).toEqual(['eth0 ovn-default 10.16.0.2', 'net1 mv-b 172.18.0.2']);
    const again = planAll(applyActions(snapshot, plan.actions), OPTIONS);
    expect(again.errors).toEqual([]);
    expect(again.allocations.map((a) => `${a.interface} ${a.subnet} ${a.ipAddress} ${a.source}`)).toEqual(['eth0 ovn-default 10.16.0.2 existing', 'net1 mv-b 172.18.0.2 existing']);
  });
});

describe('regression: ip_pool naming a missing IPPool is ignored when logical_switch is also set', () => {
  // Without logical_switch the same pod gets NoAvailableAddress ("IPPool gold ... does not
  // exist"); with it, chooseSubnet never looks at the pool, poolRangesOf returns undefined and
  // the network is allocated dynamically from the whole subnet.
  it('reports NoAvailableAddress and allocates nothing', () => {
    const plan = planAll(snapshotOf([
      ...base(),
      ...pod('a', { annotations: { 'ovn.kubernetes.io/logical_switch': 'ovn-default', 'ovn.kubernetes.io/ip_pool': 'gold' } }),
    ]), OPTIONS);
    expect(plan.errors).toEqual([{
      pod: 'default/a', provider: 'ovn', interface: 'eth0', code: 'NoAvailableAddress',
      message: 'pod default/a eth0 (ovn): IPPool gold named by annotation ovn.kubernetes.io/ip_pool does not exist',
    }]);
    expect(plan.allocations).toEqual([]);
  });
});

describe("bug: an IPPool's addresses are handed out to pods that do not name it", () => {
  // Kube-OVN (pkg/ipam/subnet.go AddOrUpdateIPPool) takes an IPPool's IPs out of the subnet's
  // default pool, so dynamic allocation never uses them. Here a dynamic pod takes 10.16.0.2
  // from pool1 and the second pod of the pool gets NoAvailableAddress.
  it('a dynamic pod skips the IPPool range; both pods naming the pool are served', () => {
    const plan = planAll(snapshotOf([
      ...base(),
      ...objects('pool.yaml', { apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'pool1' }, spec: { subnet: 'ovn-default', ips: ['10.16.0.2..10.16.0.3'] } }),
      ...pod('a', {}),
      ...pod('b', { annotations: { 'ovn.kubernetes.io/ip_pool': 'pool1' } }),
      ...pod('c', { annotations: { 'ovn.kubernetes.io/ip_pool': 'pool1' } }),
    ]), OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress} ${a.source}`)).toEqual(['default/a 10.16.0.4 dynamic', 'default/b 10.16.0.2 pool', 'default/c 10.16.0.3 pool']);
  });
});

describe("bug: a simulated StatefulSet pod ignores its predecessor's retained IP object", () => {
  // The IP object of web-0 is kept (the StatefulSet still wants ordinal 0) and, once web-0 is
  // recreated, it adopts it. The dry-run's simulated web-0 instead asks for a new address: in a
  // full subnet it reports a NoAvailableAddress that will not happen.
  it('simulated web-0 gets the address of the retained IP object', () => {
    const plan = planAll(snapshotOf([
      ...base(),
      ...objects('tiny.yaml', subnetObject('tiny', '10.20.0.0/30')),
      ...objects('sts.yaml', statefulSetObject('web', 1, { 'ovn.kubernetes.io/logical_switch': 'tiny' }, 'uid-web')),
      ...ip('web-0.default', 'web-0', 'tiny', '10.20.0.2', { podUid: 'old-web-0', mac: '02:00:00:00:01:00', podType: 'StatefulSet' }),
    ]), OPTIONS);
    expect(actionsOfType(plan, 'DeleteIP')).toEqual([]);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations.map((a) => `${a.pod} ${a.subnet} ${a.ipAddress}${a.simulated ? ' (simulated)' : ''}`)).toEqual(['default/web-0 tiny 10.20.0.2 (simulated)']);
  });
});

describe('regression: an address released in a plan is handed out again in the same plan (DESIGN §3.4)', () => {
  // "a released address is reused only when no never-used address is left": the gone pod's
  // 10.16.0.2 is released (DeleteIP) and immediately given to the new pod, although 10.16.0.3
  // and on were never used.
  it('the new pod gets a never-used address, not the one just released', () => {
    const plan = planAll(snapshotOf([
      ...base(),
      ...ip('gone.default', 'gone', 'ovn-default', '10.16.0.2', { podUid: 'uid-gone', mac: '02:00:00:00:00:0f' }),
      ...pod('new', { uid: 'uid-new' }),
    ]), OPTIONS);
    expect(actionList(plan).slice(0, 1)).toEqual(['DeleteIP gone.default']);
    expect(plan.allocations.map((a) => `${a.pod} ${a.ipAddress}`)).toEqual(['default/new 10.16.0.3']);
  });
});

describe("bug: a pod's Events come before its IP objects and patch, not after (ClusterPlanner.ts header, step 3)", () => {
  // The header promises, per pod, "CreateIP/UpdateIP, then one PatchPodAnnotations, then an
  // EmitEvent per error"; PlanBuilder.error pushes the Event at once while the IP actions are
  // collected and pushed after the loop. (Fix the code or the comment.)
  it('a pod with a good eth0 and a bad net1: CreateIP, PatchPodAnnotations, then EmitEvent', () => {
    const plan = planAll(snapshotOf([...base(), ...pod('a', { annotations: { 'k8s.v1.cni.cncf.io/networks': 'missing' } })]), OPTIONS);
    expect(actionList(plan).slice(0, 3)).toEqual(['CreateIP a.default', 'PatchPodAnnotations default/a', 'EmitEvent default/a']);
  });
});
