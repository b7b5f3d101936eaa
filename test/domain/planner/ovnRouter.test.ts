// The default VPC's router (OvnRouter.ts): the router `ovn-cluster` and one router port per
// valid OVN Subnet at its gateway, with its peer on the Subnet's switch. Planned with a pod's
// switches (planPod), per Subnet (subnetOvnActions, the Subnet key of the controller) and by
// the audit against what OVN holds (planOvnAuditWithRouter): exact plans, and none once OVN
// holds what they say.
import { describe, expect, it } from '@jest/globals';
import { planPod } from '../../../src/domain/ClusterPlanner.js';
import { prepare } from '../../../src/domain/IncrementalPlanner.js';
import { isLocallyAdministeredUnicast } from '../../../src/domain/Mac.js';
import { parseMac } from '../../../src/domain/Address.js';
import type { SeenSwitch } from '../../../src/domain/OvnPorts.js';
import { switchOtherConfig } from '../../../src/domain/OvnPorts.js';
import type { SeenRouter } from '../../../src/domain/OvnRouter.js';
import { planOvnAuditWithRouter, routerPortMac, subnetOvnActions } from '../../../src/domain/OvnRouter.js';
import type { Action } from '../../../src/domain/Plan.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';
import { actionList, actionsOfType, objects, pod, snapshotOf, subnetObject } from './snapshots.js';
import * as E from 'fp-ts/lib/Either.js';

const OVN = { now: 0, ovn: true };
const MAC_DEFAULT = routerPortMac('ovn-default');
const MAC_OTHER = routerPortMac('other');
const ROUTER: Action = { type: 'EnsureLogicalRouter', target: 'ovn-cluster', reason: 'the logical router of the default VPC (ovn-cluster), the gateway of the OVN subnets' };
const portOf = (subnet: string, mac: string, networks: string[]): Action => ({
  type: 'EnsureLogicalRouterPort', target: `ovn-cluster-${subnet}`,
  reason: `connect OVN subnet ${subnet} to router ovn-cluster at its gateway ${networks.join(',')}`,
  routerPort: { router: 'ovn-cluster', logicalSwitch: subnet, switchPort: `${subnet}-ovn-cluster`, mac, networks },
});
const DEFAULT_PORT = portOf('ovn-default', MAC_DEFAULT, ['10.16.0.1/16']);
const OTHER_PORT = portOf('other', MAC_OTHER, ['10.17.0.254/24']);

const ovnDefault = subnetObject('ovn-default', '10.16.0.0/16', 'ovn', { gateway: '10.16.0.1' });
const other = subnetObject('other', '10.17.0.0/24', 'other.default.ovn', { gateway: '10.17.0.254' });
const macvlan = subnetObject('macvlan', '172.18.0.0/24', 'macvlan.default');
const snapshotWith = (...subnets: unknown[]): Snapshot => snapshotOf(objects('subnets.yaml', ...subnets));
const ctxOf = (snapshot: Snapshot) => ({ ...prepare(snapshot, OVN).ctx, snapshot });

/** What OVN holds after `actions` were applied: the router, its ports and their peers. */
const seenAfter = (actions: readonly Action[]): SeenRouter => ({
  router: actions.some((a) => a.type === 'EnsureLogicalRouter') ? { externalIds: { vendor: 'kube-ovn' } } : undefined,
  ports: actions.flatMap((a) => (a.type === 'EnsureLogicalRouterPort' ? [{ name: a.target, mac: a.routerPort.mac, networks: a.routerPort.networks, externalIds: { vendor: 'kube-ovn' } }] : [])),
  peers: actions.flatMap((a) => (a.type === 'EnsureLogicalRouterPort' ? [{
    name: a.routerPort.switchPort, type: 'router', addresses: 'router', options: { 'router-port': a.target }, externalIds: { ls: a.routerPort.logicalSwitch, vendor: 'kube-ovn' },
  }] : [])),
});
/** The switches OVN holds after `actions`, each with the given number of ports. */
const switchesAfter = (actions: readonly Action[], ports: (name: string) => number = () => 1): SeenSwitch[] =>
  actions.flatMap((a) => (a.type === 'EnsureLogicalSwitch' ? [{ name: a.target, otherConfig: switchOtherConfig(a.logicalSwitch), externalIds: { vendor: 'kube-ovn' }, ports: ports(a.target) }] : []));
const everySubnet = (snapshot: Snapshot): Action[] => [...snapshot.subnets.keys()].flatMap((name) => subnetOvnActions(ctxOf(snapshot), name) ?? []);
const audit = (snapshot: Snapshot, router: SeenRouter, switches: readonly SeenSwitch[]): readonly Action[] => {
  const state = prepare(snapshot, OVN);
  return planOvnAuditWithRouter({ ...state.ctx, snapshot }, state.ipam, { ports: [], switches }, router);
};

describe('the router port MAC', () => {
  it('is derived from the Subnet name: the same name gives the same locally administered unicast MAC, another name another', () => {
    expect(routerPortMac('ovn-default')).toEqual(MAC_DEFAULT);
    expect(MAC_DEFAULT).not.toEqual(MAC_OTHER);
    for (const mac of [MAC_DEFAULT, MAC_OTHER]) {
      const parsed = parseMac(mac);
      expect(E.isRight(parsed) && isLocallyAdministeredUnicast(parsed.right)).toBe(true);
    }
  });
});

describe('the gateway of a Subnet in its plans', () => {
  it.each([
    ['one OVN Subnet', [ovnDefault], 'ovn-default', [DEFAULT_PORT]],
    ['another OVN Subnet (an attachment, gateway not the first address)', [ovnDefault, other], 'other', [OTHER_PORT]],
    ['a dual-stack Subnet: one network per family, IPv4 first, each with its prefix length', [subnetObject('ovn-default', '10.16.0.0/24,fd00:10:16::/120', 'ovn')], 'ovn-default',
      [portOf('ovn-default', MAC_DEFAULT, ['10.16.0.1/24', 'fd00:10:16::1/120'])]],
  ])('%s: its switch, the router and its router port, in one step', (_what, subnets, name, ports) => {
    const actions = subnetOvnActions(ctxOf(snapshotWith(...subnets)), name)!;
    expect(actions.map((a) => `${a.type} ${a.target}`)).toEqual([`EnsureLogicalSwitch ${name}`, 'EnsureLogicalRouter ovn-cluster', `EnsureLogicalRouterPort ovn-cluster-${name}`]);
    expect(actions.slice(1)).toEqual([ROUTER, ...ports]);
  });

  it.each([
    ['an IPAM-only Subnet', [ovnDefault, macvlan], 'macvlan'],
    ['an OVN Subnet that overlaps an earlier one (invalid)', [ovnDefault, subnetObject('z-late', '10.16.5.0/24', 'late.default.ovn')], 'z-late'],
    ['a Subnet that does not exist', [ovnDefault], 'nope'],
  ])('%s: no switch, no router port', (_what, subnets, name) => {
    expect(subnetOvnActions(ctxOf(snapshotWith(...subnets)), name)).toBeUndefined();
  });

  it('a pod on two OVN Subnets (eth0, net1) and an IPAM-only one (net2): the router once, a port per OVN Subnet, before the pod\'s ports', () => {
    const nad = (name: string, config: object) => ({ apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name, namespace: 'default' }, spec: { config: JSON.stringify({ cniVersion: '0.3.1', ...config }) } });
    const snapshot = snapshotOf(objects('s.yaml', ovnDefault, other, macvlan,
      nad('other', { type: 'kube-ovn', provider: 'other.default.ovn', server_socket: '/run/openvswitch/kube-ovn-daemon.sock' }),
      nad('macvlan', { type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } })),
    pod('a', { uid: 'uid-a', annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/other, default/macvlan' } }));
    const plan = planPod(snapshot, 'default/a', OVN);
    expect(actionList(plan).filter((a) => a.includes('Logical'))).toEqual([
      'EnsureLogicalSwitch ovn-default', 'EnsureLogicalSwitch other', 'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-ovn-default', 'EnsureLogicalRouterPort ovn-cluster-other',
      'EnsureLogicalSwitchPort a.default', 'EnsureLogicalSwitchPort a.default.other.default.ovn',
    ]);
    expect([...actionsOfType(plan, 'EnsureLogicalRouter'), ...actionsOfType(plan, 'EnsureLogicalRouterPort')]).toEqual([ROUTER, DEFAULT_PORT, OTHER_PORT]);
  });
});

describe('the router in the OVN audit', () => {
  const snapshot = snapshotWith(ovnDefault, other, macvlan);
  const written = everySubnet(snapshot);

  it('converged: OVN holds the router and a port per OVN Subnet, none for the IPAM-only one; nothing to do', () => {
    expect(written.filter((a) => a.type === 'EnsureLogicalRouterPort')).toEqual([DEFAULT_PORT, OTHER_PORT]);
    expect(audit(snapshot, seenAfter(written), switchesAfter(written))).toEqual([]);
  });

  it('an empty NB: the switches, the router and both ports, in that order', () => {
    const actions = audit(snapshot, { router: undefined, ports: [], peers: [] }, []);
    expect(actions.map((a) => `${a.type} ${a.target}`)).toEqual([
      'EnsureLogicalSwitch other', 'EnsureLogicalSwitch ovn-default', 'EnsureLogicalRouter ovn-cluster', 'EnsureLogicalRouterPort ovn-cluster-other', 'EnsureLogicalRouterPort ovn-cluster-ovn-default',
    ]);
    expect(actions.slice(2)).toEqual([
      { ...ROUTER, reason: `${ROUTER.reason}: it is missing from OVN` },
      { ...OTHER_PORT, reason: `${OTHER_PORT.reason}: it is missing from OVN` },
      { ...DEFAULT_PORT, reason: `${DEFAULT_PORT.reason}: it is missing from OVN` },
    ]);
  });

  const seen = seenAfter(written);
  const withPort = (name: string, change: (p: SeenRouter['ports'][number]) => SeenRouter['ports'][number]): SeenRouter => ({ ...seen, ports: seen.ports.map((p) => (p.name === name ? change(p) : p)) });
  const withPeer = (name: string, change: (p: SeenRouter['peers'][number]) => SeenRouter['peers'][number]): SeenRouter => ({ ...seen, peers: seen.peers.map((p) => (p.name === name ? change(p) : p)) });
  it.each([
    ['the router lacks our vendor mark', { ...seen, router: { externalIds: {} } }, [{ ...ROUTER, reason: `${ROUTER.reason}: it lacks external_ids:vendor=kube-ovn` }]],
    ['a router port is missing', { ...seen, ports: seen.ports.filter((p) => p.name !== 'ovn-cluster-other') }, [{ ...OTHER_PORT, reason: `${OTHER_PORT.reason}: it is missing from OVN` }]],
    ['a peer is missing', { ...seen, peers: seen.peers.filter((p) => p.name !== 'ovn-default-ovn-cluster') }, [{ ...DEFAULT_PORT, reason: `${DEFAULT_PORT.reason}: its peer ovn-default-ovn-cluster is missing from OVN` }]],
    ['a port\'s MAC was changed', withPort('ovn-cluster-other', (p) => ({ ...p, mac: '0a:00:00:00:00:01' })), [{ ...OTHER_PORT, reason: `${OTHER_PORT.reason}: its MAC is 0a:00:00:00:00:01, not ${MAC_OTHER}` }]],
    ['a peer is no router port', withPeer('other-ovn-cluster', (p) => ({ ...p, type: '' })), [{ ...OTHER_PORT, reason: `${OTHER_PORT.reason}: its peer other-ovn-cluster is not a router port for it` }]],
    ['a peer lives on another switch: deleted and made again, in one step', withPeer('other-ovn-cluster', (p) => ({ ...p, externalIds: { ...p.externalIds, ls: 'ovn-default' } })), [
      { type: 'DeleteLogicalRouterPort', target: 'ovn-cluster-other', reason: 'move its peer other-ovn-cluster from ovn-default to other', routerPort: { router: 'ovn-cluster', logicalSwitch: 'other', switchPort: 'other-ovn-cluster' } },
      { ...OTHER_PORT, reason: `${OTHER_PORT.reason}: its peer other-ovn-cluster is on switch ovn-default, not other` },
    ]],
    ['a peer lacks our vendor mark', withPeer('other-ovn-cluster', (p) => ({ ...p, externalIds: { ls: 'other' } })), [{ ...OTHER_PORT, reason: `${OTHER_PORT.reason}: its peer other-ovn-cluster lacks external_ids:vendor=kube-ovn` }]],
  ])('%s: repaired, saying why', (_what, router, want) => {
    expect(audit(snapshot, router, switchesAfter(written))).toEqual(want);
  });

  it('a Subnet whose gateway changed: its router port is ensured at the new address', () => {
    const moved = snapshotWith(subnetObject('ovn-default', '10.16.0.0/16', 'ovn', { gateway: '10.16.0.254' }), other, macvlan);
    const want = portOf('ovn-default', MAC_DEFAULT, ['10.16.0.254/16']);
    expect(subnetOvnActions(ctxOf(moved), 'ovn-default')!.at(-1)).toEqual(want);
    expect(audit(moved, seen, switchesAfter(written)).filter((a) => a.type !== 'EnsureLogicalSwitch')).toEqual([
      { ...want, reason: `${want.reason}: its networks are 10.16.0.1/16, not 10.16.0.254/16` },
    ]);
  });

  it('a deleted Subnet: its router port and peer go, and its switch with them when the peer was its last port; the router stays', () => {
    const gone = snapshotWith(ovnDefault, macvlan);
    const actions = audit(gone, seen, switchesAfter(written));
    expect(actions).toEqual([
      { type: 'DeleteLogicalRouterPort', target: 'ovn-cluster-other', reason: 'no OVN subnet other: the Subnet is gone or not a valid OVN subnet', routerPort: { router: 'ovn-cluster', logicalSwitch: 'other', switchPort: 'other-ovn-cluster' } },
      { type: 'DeleteLogicalSwitch', target: 'other', reason: 'no OVN subnet other: the Subnet is gone or not a valid OVN subnet, and the switch has no port left' },
    ]);
    // With a port of someone else's still on it, the switch stays for a later sweep.
    expect(audit(gone, seen, switchesAfter(written, (name) => (name === 'other' ? 2 : 1))).map((a) => `${a.type} ${a.target}`)).toEqual(['DeleteLogicalRouterPort ovn-cluster-other']);
    // No OVN Subnet left: every port goes, the router is never deleted.
    expect(audit(snapshotWith(macvlan), seen, []).map((a) => `${a.type} ${a.target}`)).toEqual(['DeleteLogicalRouterPort ovn-cluster-other', 'DeleteLogicalRouterPort ovn-cluster-ovn-default']);
  });

  it('leaves alone what is not ours: a router port or peer of another vendor, a port of ours named otherwise', () => {
    const foreign: SeenRouter = {
      ...seen,
      ports: [...seen.ports, { name: 'ovn-cluster-theirs', mac: '0a:00:00:00:00:02', networks: ['10.99.0.1/24'], externalIds: { vendor: 'someone-else' } }, { name: 'uplink', mac: '0a:00:00:00:00:03', networks: ['10.98.0.1/24'], externalIds: { vendor: 'kube-ovn' } }],
      peers: [...seen.peers, { name: 'theirs-ovn-cluster', type: 'router', addresses: 'router', options: { 'router-port': 'ovn-cluster-theirs' }, externalIds: {} }],
    };
    expect(audit(snapshot, foreign, switchesAfter(written))).toEqual([]);
  });
});
