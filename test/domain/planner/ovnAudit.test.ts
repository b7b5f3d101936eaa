// The OVN audit (OvnPorts.planOvnAudit): the ports OVN holds against the claims the planner
// holds. Every durable claim on an OVN Subnet has exactly its port; a port of ours that no IP
// object names is deleted; nothing else is touched.
import { describe, expect, it } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { prepare } from '../../../src/domain/IncrementalPlanner.js';
import type { SeenPort, SeenSwitch } from '../../../src/domain/OvnPorts.js';
import { planOvnAudit, switchOtherConfig } from '../../../src/domain/OvnPorts.js';
import type { Action } from '../../../src/domain/Plan.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';
import { applyActions } from './apply.js';
import { ip, objects, pod, seed, snapshotOf, subnetObject } from './snapshots.js';

const OVN = { now: 0, ovn: true };
const UID = 'ipam.kube-ovn.io/pod-uid';
const ATTACH = 'a.default.attachnet.default.ovn';
const subnets = () => objects('subnets.yaml',
  subnetObject('ovn-default', '10.16.0.0/24', 'ovn'),
  subnetObject('attach', '172.17.0.0/24', 'attachnet.default.ovn'),
  subnetObject('macvlan', '172.18.0.0/24', 'macvlan.default'));
const macvlanNad = () => objects('nad-macvlan.yaml', {
  apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan', namespace: 'default' },
  spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } }) },
});

/** A cluster where pod `a` (eth0, an OVN attachment, a macvlan one) is allocated and written. */
const allocated = (): { readonly snapshot: Snapshot; readonly ports: SeenPort[]; readonly switches: SeenSwitch[] } => {
  const before = snapshotOf(subnets(), seed('06-nad-attachnet-ovn.yaml'), macvlanNad(), pod('a', { uid: 'uid-a', annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/attachnet, default/macvlan' } }));
  const plan = planAll(before, OVN);
  const ports = plan.actions.flatMap((a) => (a.type === 'EnsureLogicalSwitchPort' ? [{ name: a.target, addresses: a.port.addresses, portSecurity: a.port.addresses, externalIds: a.port.externalIds }] : []));
  const switches = plan.actions.flatMap((a) => (a.type === 'EnsureLogicalSwitch' ? [{
    name: a.target, otherConfig: switchOtherConfig(a.logicalSwitch), externalIds: { vendor: 'kube-ovn' }, ports: ports.filter((p) => p.externalIds['ls'] === a.target).length,
  }] : []));
  return { snapshot: applyActions(before, plan.actions), ports, switches: [...new Map(switches.map((s) => [s.name, s])).values()] };
};

/** The audit, with the switches of a converged cluster unless told. */
const audit = (snapshot: Snapshot, ports: readonly SeenPort[], switches: readonly SeenSwitch[] = allocated().switches): readonly Action[] => {
  const state = prepare(snapshot, OVN);
  return planOvnAudit({ ...state.ctx, snapshot }, state.ipam, { ports, switches });
};
const listed = (actions: readonly Action[]): string[] => actions.map((a) => `${a.type} ${a.target}`);
const handMade = (name: string, externalIds: Record<string, string>): SeenPort => ({ name, addresses: '0a:00:00:00:00:01 10.16.0.77', portSecurity: '', externalIds });

describe('the OVN audit', () => {
  it('a converged cluster: the ports are exactly the claims, nothing to do', () => {
    const { snapshot, ports } = allocated();
    expect(ports.map((p) => p.name)).toEqual(['a.default', ATTACH]);
    expect(audit(snapshot, ports)).toEqual([]);
  });

  it('a port deleted behind our back is ensured again with the claim\'s address, with its switch', () => {
    const { snapshot, ports } = allocated();
    const actions = audit(snapshot, ports.filter((p) => p.name !== ATTACH));
    const want = ports.find((p) => p.name === ATTACH)!;
    expect(actions).toEqual([
      { type: 'EnsureLogicalSwitch', target: 'attach', reason: 'the logical switch of OVN subnet attach (172.17.0.0/24)', logicalSwitch: { cidr: '172.17.0.0/24', excludeIps: ['172.17.0.1'] } },
      {
        type: 'EnsureLogicalSwitchPort', target: ATTACH, reason: `plug ${ATTACH} (pod default/a: 172.17.0.2 in attach) into OVN: it is missing from OVN`,
        port: { logicalSwitch: 'attach', addresses: want.addresses, externalIds: { pod: 'default/a', ls: 'attach', vendor: 'kube-ovn', [UID]: 'uid-a' } },
      },
    ]);
    expect(want.addresses).toMatch(/^[0-9a-f:]{17} 172\.17\.0\.2$/);
  });

  it.each([
    ['addresses', (p: SeenPort): SeenPort => ({ ...p, addresses: '0a:00:00:00:00:09 10.16.0.99' }), 'its addresses are "0a:00:00:00:00:09 10.16.0.99", not'],
    ['port security', (p: SeenPort): SeenPort => ({ ...p, portSecurity: '' }), 'its port security is "", not'],
    ['external_ids', (p: SeenPort): SeenPort => ({ ...p, externalIds: { ...p.externalIds, pod: 'default/b', [UID]: 'uid-b' } }), 'its external_ids pod, ipam.kube-ovn.io/pod-uid differ'],
  ])('a port whose %s drifted is ensured again, saying what differs', (_what, change, why) => {
    const { snapshot, ports } = allocated();
    const actions = audit(snapshot, ports.map((p) => (p.name === 'a.default' ? change(p) : p)));
    expect(listed(actions)).toEqual(['EnsureLogicalSwitch ovn-default', 'EnsureLogicalSwitchPort a.default']);
    expect(actions[1]!.reason).toContain(`into OVN: ${why}`);
  });

  it('a port on another switch than its claim\'s: deleted, then made again on the right one', () => {
    const { snapshot, ports } = allocated();
    const moved = ports.map((p) => (p.name === ATTACH ? { ...p, externalIds: { ...p.externalIds, ls: 'ovn-default' } } : p));
    expect(listed(audit(snapshot, moved))).toEqual(['EnsureLogicalSwitch attach', `DeleteLogicalSwitchPort ${ATTACH}`, `EnsureLogicalSwitchPort ${ATTACH}`]);
    expect(audit(snapshot, moved)[1]!.reason).toEqual('move it from ovn-default to attach');
  });

  it('a port of ours that no IP object names is deleted; a port of another vendor, or with no external_ids, is left alone', () => {
    const { snapshot, ports } = allocated();
    const extra = [
      handMade('ghost.default', { pod: 'default/ghost', ls: 'ovn-default', vendor: 'kube-ovn' }),
      handMade('theirs.default', { pod: 'default/theirs', vendor: 'someone-else' }),
      handMade('bare', {}),
    ];
    expect(audit(snapshot, [...ports, ...extra])).toEqual([
      { type: 'DeleteLogicalSwitchPort', target: 'ghost.default', reason: 'no claim: no IP object is named ghost.default (the port says pod default/ghost)' },
    ]);
  });

  it('a port whose IP object still exists with no pod (for the IP sweep to confirm first) is left alone', () => {
    const { snapshot, ports } = allocated();
    const withOrphan = snapshotOf(...[...snapshot.subnets.values()].map((e) => objects('s.yaml', e.object)), ip('gone.default', 'gone', 'ovn-default', '10.16.0.50'));
    expect(audit({ ...snapshot, ips: new Map([...snapshot.ips, ...withOrphan.ips]) }, [...ports, handMade('gone.default', { pod: 'default/gone', vendor: 'kube-ovn' })])).toEqual([]);
  });

  it('a claim whose IP object is not written yet wants no port (the port follows the IP object); an IPAM-only claim never does', () => {
    const { snapshot } = allocated();
    const noIp = { ...snapshot, ips: new Map([...snapshot.ips].filter(([k]) => k !== ATTACH)) };
    expect(listed(audit(noIp, []))).toEqual(['EnsureLogicalSwitch ovn-default', 'EnsureLogicalSwitchPort a.default']);
  });

  it('a claim whose pod annotations are not written yet (a plan in flight, or a crash before the patch) is left to its pod plan', () => {
    const { snapshot } = allocated();
    const unpatched = { ...snapshot, pods: new Map([...snapshot.pods].map(([k, e]) => [k, { ...e, object: { ...e.object, metadata: { ...e.object.metadata, annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/attachnet, default/macvlan' } } } }])) };
    expect(audit(unpatched, [])).toEqual([]);
  });

  it('every valid OVN Subnet has its switch: a missing one is made, a drifted other_config is put back, saying which keys', () => {
    const { snapshot, ports, switches } = allocated();
    const missing = audit(snapshot, ports, switches.filter((sw) => sw.name !== 'ovn-default'));
    expect(missing).toEqual([
      { type: 'EnsureLogicalSwitch', target: 'ovn-default', reason: 'the logical switch of OVN subnet ovn-default (10.16.0.0/24): it is missing from OVN', logicalSwitch: { cidr: '10.16.0.0/24', excludeIps: ['10.16.0.1'] } },
    ]);
    const drifted = switches.map((sw) => (sw.name === 'attach' ? { ...sw, otherConfig: { ...sw.otherConfig, exclude_ips: '172.17.0.1 172.17.0.9', extra: 'theirs' } } : sw));
    expect(audit(snapshot, ports, drifted).map((a) => a.reason)).toEqual(['the logical switch of OVN subnet attach (172.17.0.0/24): its other_config exclude_ips differ']);
    expect(switchOtherConfig({ cidr: '10.16.0.0/24,fd00::/120', excludeIps: ['10.16.0.1', '10.16.0.5..10.16.0.9', 'fd00::1'] }))
      .toEqual({ subnet: '10.16.0.0/24', ipv6_prefix: 'fd00::', exclude_ips: '10.16.0.1 10.16.0.5..10.16.0.9' });
  });

  it('a switch of ours whose Subnet is gone is deleted once it has no port; one with ports, or not ours, stays', () => {
    const { snapshot, ports, switches } = allocated();
    const extra: SeenSwitch[] = [
      { name: 'gone-empty', otherConfig: { subnet: '10.99.0.0/24' }, externalIds: { vendor: 'kube-ovn' }, ports: 0 },
      { name: 'gone-busy', otherConfig: { subnet: '10.98.0.0/24' }, externalIds: { vendor: 'kube-ovn' }, ports: 1 },
      { name: 'theirs', otherConfig: {}, externalIds: {}, ports: 0 },
    ];
    expect(audit(snapshot, ports, [...switches, ...extra])).toEqual([
      { type: 'DeleteLogicalSwitch', target: 'gone-empty', reason: 'no OVN subnet gone-empty: the Subnet is gone or not a valid OVN subnet, and the switch has no port left' },
    ]);
  });

  it('a pod recreated under the same name (another UID, not yet allocated): the old pod\'s ports are neither taken over nor deleted while its IP objects exist', () => {
    const { snapshot, ports } = allocated();
    const fresh = pod('a', { uid: 'uid-a2', annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/attachnet, default/macvlan' } });
    const recreated = { ...snapshot, pods: snapshotOf(fresh).pods };
    // The IP objects still carry uid-a: they are the old pod's, for the IP sweep; no claim of the new pod is written yet.
    const actions = audit(recreated, ports);
    expect(actions.filter((a) => a.type === 'EnsureLogicalSwitchPort')).toEqual([]);
    expect(actions.filter((a) => a.type === 'DeleteLogicalSwitchPort')).toEqual([]);
  });
});
