// `audit` (domain/Audit.ts): each kind of fault, made by hand in a converged cluster, gives
// exactly its finding and its repair; a converged cluster gives none. The cluster: Subnets
// ovn-default (OVN) and macvlan (IPAM only), pods a and b with eth0 and a macvlan attachment,
// allocated and written by the planner's own plan (planAll, applied).
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { AuditInput, SeenNetns, SeenOvsInterface } from '../../src/domain/Audit.js';
import { netnsReads } from '../../src/domain/Audit.js';
import { audit, auditJson } from '../../src/domain/Audit.js';
import { planAll } from '../../src/domain/ClusterPlanner.js';
import type { SeenPort, SeenSwitch } from '../../src/domain/OvnPorts.js';
import { switchOtherConfig } from '../../src/domain/OvnPorts.js';
import type { SeenRouter } from '../../src/domain/OvnRouter.js';
import type { Action } from '../../src/domain/Plan.js';
import type { Snapshot } from '../../src/domain/Snapshot.js';
import { applyActions } from './planner/apply.js';
import { ip, objects, pod, snapshotOf, statefulSetObject, subnetObject } from './planner/snapshots.js';
import type { AuditAction, AuditResult } from '../../src/domain/Audit.js';

const OVN = { now: 0, ovn: true };
const NETWORKS = { 'k8s.v1.cni.cncf.io/networks': 'default/macvlan' };
const macvlanNad = () => objects('nad-macvlan.yaml', {
  apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan', namespace: 'default' },
  spec: { config: JSON.stringify({ cniVersion: '0.3.1', type: 'macvlan', master: 'eth0', ipam: { type: 'kube-ovn', provider: 'macvlan.default' } }) },
});
const subnets = () => objects('subnets.yaml', subnetObject('ovn-default', '10.16.0.0/24', 'ovn'), subnetObject('macvlan', '172.18.0.0/24', 'macvlan.default'));
const podOf = (name: string, created: string) => pod(name, { uid: `uid-${name}`, annotations: NETWORKS, nodeName: 'node1', creationTimestamp: created });

interface Cluster {
  readonly snapshot: Snapshot;
  readonly ports: readonly SeenPort[];
  readonly switches: readonly SeenSwitch[];
  readonly router: SeenRouter;
}

/** What OVN holds after `actions` (its switches, ports and router, as the adapter reads them). */
const ovnAfter = (actions: readonly Action[]): Omit<Cluster, 'snapshot'> => {
  const ports = actions.flatMap((a) => (a.type === 'EnsureLogicalSwitchPort' ? [{ name: a.target, addresses: a.port.addresses, portSecurity: a.port.addresses, externalIds: a.port.externalIds }] : []));
  const switches = actions.flatMap((a) => (a.type === 'EnsureLogicalSwitch' ? [{ name: a.target, otherConfig: switchOtherConfig(a.logicalSwitch), externalIds: { vendor: 'kube-ovn' }, ports: 0 }] : []));
  const router: SeenRouter = {
    router: actions.some((a) => a.type === 'EnsureLogicalRouter') ? { externalIds: { vendor: 'kube-ovn' } } : undefined,
    ports: actions.flatMap((a) => (a.type === 'EnsureLogicalRouterPort' ? [{ name: a.target, mac: a.routerPort.mac, networks: a.routerPort.networks, externalIds: { vendor: 'kube-ovn' } }] : [])),
    peers: actions.flatMap((a) => (a.type === 'EnsureLogicalRouterPort' ? [{ name: a.routerPort.switchPort, type: 'router', addresses: 'router', options: { 'router-port': a.target }, externalIds: { ls: a.routerPort.logicalSwitch, vendor: 'kube-ovn' } }] : [])),
  };
  const unique = [...new Map(switches.map((s) => [s.name, { ...s, ports: ports.filter((p) => p.externalIds['ls'] === s.name).length + 1 }])).values()];
  return { ports, switches: unique, router };
};

/** A converged cluster: planned, applied, planned again (the status after the claims). */
const converged = (): Cluster => {
  const before = snapshotOf(subnets(), macvlanNad(), podOf('a', '2025-01-01T00:00:01Z'), podOf('b', '2025-01-01T00:00:02Z'));
  const plan = planAll(before, OVN);
  const once = applyActions(before, plan.actions);
  const snapshot = applyActions(once, planAll(once, OVN).actions);
  return { snapshot, ...ovnAfter(plan.actions) };
};

const NODE_PORTS: readonly SeenOvsInterface[] = [
  { name: 'aaaaaaaaaaaa_h', externalIds: { 'iface-id': 'a.default', vendor: 'kube-ovn', pod_name: 'a', pod_namespace: 'default', ip: '10.16.0.2' } },
];
const inputOf = (c: Cluster, nodePorts: readonly SeenOvsInterface[] = NODE_PORTS, netns?: ReadonlyMap<string, SeenNetns>): AuditInput => ({
  snapshot: c.snapshot, options: OVN, ovn: { seen: { ports: c.ports, switches: c.switches }, router: c.router },
  node: { name: 'node1', bridge: 'br-int', interfaces: nodePorts, netns },
});
/** Pod a's port as the daemon plugs it now: with its netns. */
const A_NETNS = '/var/run/netns/a';
const WITH_NETNS: readonly SeenOvsInterface[] = NODE_PORTS.map((i) => ({ ...i, externalIds: { ...i.externalIds, pod_netns: A_NETNS } }));

const withPod = (c: Cluster, key: string, change: (annotations: Record<string, string>) => Record<string, string>): Cluster => {
  const e = c.snapshot.pods.get(key)!;
  const pods = new Map(c.snapshot.pods);
  pods.set(key, { ...e, object: { ...e.object, metadata: { ...e.object.metadata, annotations: change({ ...e.object.metadata.annotations }) } } });
  return { ...c, snapshot: { ...c.snapshot, pods } };
};
const withIp = (c: Cluster, name: string, change: ((ip: NonNullable<ReturnType<Snapshot['ips']['get']>>) => ReturnType<Snapshot['ips']['get']>)): Cluster => {
  const ips = new Map(c.snapshot.ips);
  const next = change(ips.get(name)!);
  if (next === undefined) ips.delete(name);
  else ips.set(name, next);
  return { ...c, snapshot: { ...c.snapshot, ips } };
};
const withSpec = (c: Cluster, name: string, spec: Record<string, string>): Cluster =>
  withIp(c, name, (e) => ({ ...e, object: { ...e.object, spec: { ...e.object.spec, ...spec } } }));

/** The input after the repair: its cluster actions applied to the snapshot (planner/apply.ts),
 *  its OVN and OVS actions to what OVN and the node hold. */
const repaired = (input: AuditInput, result: AuditResult): AuditInput => {
  const cluster = result.actions.filter((a): a is Action => a.type !== 'DeleteOvsPort' && a.type !== 'DeleteLink');
  const gone = (type: AuditAction['type']) => new Set(result.actions.filter((a) => a.type === type).map((a) => a.target));
  const ensured = result.actions.flatMap((a) => (a.type === 'EnsureLogicalSwitchPort' ? [{ name: a.target, addresses: a.port.addresses, portSecurity: a.port.addresses, externalIds: a.port.externalIds }] : []));
  const deleted = gone('DeleteLogicalSwitchPort');
  const ports = [...input.ovn!.seen.ports.filter((p) => !deleted.has(p.name) && !ensured.some((e) => e.name === p.name)), ...ensured];
  const unplugged = gone('DeleteOvsPort');
  return {
    ...input, snapshot: applyActions(input.snapshot, cluster), ovn: { ...input.ovn!, seen: { ...input.ovn!.seen, ports } },
    node: { ...input.node!, interfaces: input.node!.interfaces.filter((i) => !unplugged.has(i.name)) },
  };
};

const GHOST_PORT: SeenPort = { name: 'ghost.default', addresses: '0a:00:00:00:00:01 10.16.0.77', portSecurity: '0a:00:00:00:00:01 10.16.0.77', externalIds: { pod: 'default/ghost', ls: 'ovn-default', vendor: 'kube-ovn' } };
const HELD = '10.16.0.2 in subnet ovn-default is held by IP object a.default (pod default/a) and by IP object b.default (pod default/b, 10.16.0.2); b.default came later '
  + '(pod annotations first, then IP objects by creation time, then name), so its claim is released; pod default/b must be recreated to get a new address';
const MISMATCH = 'pod annotations say 172.18.0.2 in macvlan but IP object a.default.macvlan.default says 172.18.0.50 in macvlan; keeping the annotations (what the pod uses) and correcting the IP object';
/** Pod a's port addresses in the converged cluster (its MAC is generated from its UID). */
const A_PORT = converged().ports.find((p) => p.name === 'a.default')!.addresses;
const A_MAC = A_PORT.split(' ')[0]!;
const A_GONE = `its pod default/a eth0's netns ${A_NETNS} is gone (the pod's sandbox is gone, its port stayed)`;
const NO_REPAIR = 'the pod must be recreated to get its claimed address; no repair is planned';
const NO_CLAIM = 'its iface-id "ghost.default" names no claim (no live pod network\'s IP object or annotations)';

type Row = readonly [string, () => AuditInput, AuditResult['findings'], readonly { type: string; target: string; reason: string }[]];

describe('audit', () => {
  it('a converged cluster: no finding, no action', () => {
    expect(auditJson(audit(inputOf(converged())))).toEqual({ findings: [], actions: [] });
  });

  const rows: readonly Row[] = [
    ['AddressHeldTwice: pod b\'s annotations and IP object both say a\'s address', () => {
      const c = withPod(converged(), 'default/b', (a) => ({ ...a, 'ovn.kubernetes.io/ip_address': '10.16.0.2' }));
      return inputOf(withSpec(c, 'b.default', { ipAddress: '10.16.0.2', v4IpAddress: '10.16.0.2' }));
    }, [
      { kind: 'AddressHeldTwice', object: 'IP/b.default', message: HELD },
      {
        kind: 'StatusCountsDisagree', object: 'Subnet/ovn-default',
        message: 'Subnet ovn-default\'s status says v4usingIPs 2, v4availableIPs 251, v4usingIPrange "10.16.0.2-10.16.0.3", v4availableIPrange "10.16.0.4-10.16.0.254"; '
          + 'the claims give v4usingIPs 1, v4availableIPs 252, v4usingIPrange "10.16.0.2", v4availableIPrange "10.16.0.3-10.16.0.254"',
      },
    ], [
      { type: 'DeleteLogicalSwitchPort', target: 'b.default', reason: `unplug it from OVN: ${HELD}` },
      { type: 'DeleteIP', target: 'b.default', reason: `release its addresses: ${HELD}` },
      { type: 'PatchPodAnnotations', target: 'default/b', reason: 'withdraw the addresses of ovn: 10.16.0.2 is another\'s' },
      { type: 'EmitEvent', target: 'default/b', reason: HELD },
      { type: 'UpdateSubnetStatus', target: 'ovn-default', reason: 'IPv4 1 in use, 252 available' },
    ]],
    ['ClaimWithoutPod: an IP object of a pod that is gone', () => {
      const c = converged();
      const ips = new Map([...c.snapshot.ips, ...snapshotOf(ip('gone.default', 'gone', 'ovn-default', '10.16.0.9', { podUid: 'uid-gone' })).ips]);
      return inputOf({ ...c, snapshot: { ...c.snapshot, ips } });
    }, [
      { kind: 'ClaimWithoutPod', object: 'IP/gone.default', message: 'IP object gone.default holds 10.16.0.9 in subnet ovn-default, but pod default/gone is gone' },
    ], [
      { type: 'DeleteLogicalSwitchPort', target: 'gone.default', reason: 'unplug it from OVN: pod default/gone is gone' },
      { type: 'DeleteIP', target: 'gone.default', reason: 'release its addresses: pod default/gone is gone' },
    ]],
    ['PodAnnotatedWithoutClaim: pod b\'s macvlan IP object deleted', () => inputOf(withIp(converged(), 'b.default.macvlan.default', () => undefined)), [
      { kind: 'PodAnnotatedWithoutClaim', object: 'Pod/default/b', message: 'pod default/b net1 (macvlan.default) is annotated allocated with 172.18.0.3, but no IP object b.default.macvlan.default exists' },
    ], [
      { type: 'CreateIP', target: 'b.default.macvlan.default', reason: 'record the claim of net1 of pod default/b: 172.18.0.3 in macvlan' },
    ]],
    ['ClaimAnnotationMismatch: pod a\'s macvlan IP object says another address', () => inputOf(withSpec(converged(), 'a.default.macvlan.default', { ipAddress: '172.18.0.50', v4IpAddress: '172.18.0.50' })), [
      { kind: 'ClaimAnnotationMismatch', object: 'IP/a.default.macvlan.default', message: MISMATCH },
    ], [
      { type: 'UpdateIP', target: 'a.default.macvlan.default', reason: 'bring the IP object in line with net1 of pod default/a: 172.18.0.2 in macvlan' },
      { type: 'EmitEvent', target: 'default/a', reason: MISMATCH },
    ]],
    ['StatusCountsDisagree: the macvlan Subnet\'s v4usingIPs written wrong', () => {
      const c = converged();
      const e = c.snapshot.subnets.get('macvlan')!;
      return inputOf({ ...c, snapshot: { ...c.snapshot, subnets: new Map([...c.snapshot.subnets, ['macvlan', { ...e, object: { ...e.object, status: { ...e.object.status, v4usingIPs: 7 } } }]]) } });
    }, [
      { kind: 'StatusCountsDisagree', object: 'Subnet/macvlan', message: 'Subnet macvlan\'s status says v4usingIPs 7; the claims give v4usingIPs 2' },
    ], [
      { type: 'UpdateSubnetStatus', target: 'macvlan', reason: 'IPv4 2 in use, 251 available' },
    ]],
    ['PortWithoutClaim: a logical switch port of ours that no IP object names', () => {
      const c = converged();
      return inputOf({ ...c, ports: [...c.ports, GHOST_PORT] });
    }, [
      { kind: 'PortWithoutClaim', object: 'LogicalSwitchPort/ghost.default', message: 'logical switch port ghost.default: no claim: no IP object is named ghost.default (the port says pod default/ghost)' },
    ], [
      { type: 'DeleteLogicalSwitchPort', target: 'ghost.default', reason: 'no claim: no IP object is named ghost.default (the port says pod default/ghost)' },
    ]],
    ['PortWithoutClaim: an OVS port of ours on the node for no claim', () => inputOf(converged(), [...NODE_PORTS, { name: 'bbbbbbbbbbbb_h', externalIds: { 'iface-id': 'ghost.default', vendor: 'kube-ovn', pod_name: 'ghost', pod_namespace: 'default' } }]), [
      { kind: 'PortWithoutClaim', object: 'OvsPort/node1/bbbbbbbbbbbb_h', message: `OVS port bbbbbbbbbbbb_h on br-int of node node1: ${NO_CLAIM}` },
    ], [
      { type: 'DeleteOvsPort', target: 'bbbbbbbbbbbb_h', reason: `unplug it from br-int: ${NO_CLAIM}` },
      { type: 'DeleteLink', target: 'bbbbbbbbbbbb_h', reason: `remove its host end: ${NO_CLAIM}` },
    ]],
    ['NetnsGone: pod a\'s port names a netns that no longer exists', () => inputOf(converged(), WITH_NETNS, new Map([['aaaaaaaaaaaa_h', { gone: true }]])), [
      { kind: 'NetnsGone', object: 'OvsPort/node1/aaaaaaaaaaaa_h', message: `OVS port aaaaaaaaaaaa_h on br-int of node node1: ${A_GONE}` },
    ], [
      { type: 'DeleteOvsPort', target: 'aaaaaaaaaaaa_h', reason: `unplug it from br-int: ${A_GONE}` },
      { type: 'DeleteLink', target: 'aaaaaaaaaaaa_h', reason: `remove its host end: ${A_GONE}` },
    ]],
    ['ClaimWithoutPort: pod b\'s logical switch port deleted', () => {
      const c = converged();
      return inputOf({ ...c, ports: c.ports.filter((p) => p.name !== 'b.default') });
    }, [
      { kind: 'ClaimWithoutPort', object: 'IP/b.default', message: 'IP object b.default (pod default/b: 12:5e:59:86:b7:d4 10.16.0.3) is allocated, but OVN has no logical switch port b.default' },
    ], [
      { type: 'EnsureLogicalSwitch', target: 'ovn-default', reason: 'the logical switch of OVN subnet ovn-default (10.16.0.0/24)' },
      { type: 'EnsureLogicalSwitchPort', target: 'b.default', reason: 'plug b.default (pod default/b: 10.16.0.3 in ovn-default) into OVN: it is missing from OVN' },
    ]],
    ['OvnDrift: pod a\'s logical switch port holds another address', () => {
      const c = converged();
      return inputOf({ ...c, ports: c.ports.map((p) => (p.name === 'a.default' ? { ...p, addresses: '0a:00:00:00:00:09 10.16.0.99', portSecurity: '0a:00:00:00:00:09 10.16.0.99' } : p)) });
    }, [
      { kind: 'OvnDrift', object: 'LogicalSwitchPort/a.default', message: `LogicalSwitchPort/a.default: plug a.default (pod default/a: 10.16.0.2 in ovn-default) into OVN: its addresses are "0a:00:00:00:00:09 10.16.0.99", not "${A_PORT}"` },
    ], [
      { type: 'EnsureLogicalSwitch', target: 'ovn-default', reason: 'the logical switch of OVN subnet ovn-default (10.16.0.0/24)' },
      { type: 'EnsureLogicalSwitchPort', target: 'a.default', reason: `plug a.default (pod default/a: 10.16.0.2 in ovn-default) into OVN: its addresses are "0a:00:00:00:00:09 10.16.0.99", not "${A_PORT}"` },
    ]],
  ];

  it.each(rows)('%s: exactly its findings and repair, and after the repair nothing', (_name, input, findings, actions) => {
    const result = audit(input());
    expect(auditJson(result)).toEqual({ findings, actions });
    expect(auditJson(audit(repaired(input(), result)))).toEqual({ findings: [], actions: [] });
  });

  it('with a node: the netns reads are those of ports with a standing claim and pod_netns', () => {
    const ghost: SeenOvsInterface = { name: 'bbbbbbbbbbbb_h', externalIds: { 'iface-id': 'ghost.default', vendor: 'kube-ovn', pod_name: 'ghost', pod_namespace: 'default', pod_netns: '/var/run/netns/g' } };
    expect(netnsReads(inputOf(converged(), [...WITH_NETNS, ghost]))).toEqual([{ port: 'aaaaaaaaaaaa_h', netns: A_NETNS, ifName: 'eth0' }]);
    expect(netnsReads(inputOf(converged()))).toEqual([]);
  });

  const netnsRows: readonly (readonly [string, SeenNetns | undefined, AuditResult['findings']])[] = [
    ['a\'s interface holds its claim: no finding', { gone: false, link: { mac: A_MAC, addresses: ['10.16.0.2/24'] } }, []],
    ['a\'s netns not read: no finding', undefined, []],
    ['a\'s interface holds another address', { gone: false, link: { mac: A_MAC, addresses: ['10.16.0.99/24'] } }, [{
      kind: 'NetnsMismatch', object: 'OvsPort/node1/aaaaaaaaaaaa_h',
      message: `OVS port aaaaaaaaaaaa_h on br-int of node node1: pod default/a eth0 claims 10.16.0.2 (MAC ${A_MAC}), but in its netns ${A_NETNS} eth0 holds 10.16.0.99/24 (MAC ${A_MAC}); ${NO_REPAIR}`,
    }]],
    ['a\'s interface has another MAC', { gone: false, link: { mac: '0a:00:00:00:00:09', addresses: ['10.16.0.2/24'] } }, [{
      kind: 'NetnsMismatch', object: 'OvsPort/node1/aaaaaaaaaaaa_h',
      message: `OVS port aaaaaaaaaaaa_h on br-int of node node1: pod default/a eth0 claims 10.16.0.2 (MAC ${A_MAC}), but in its netns ${A_NETNS} eth0 holds 10.16.0.2/24 (MAC 0a:00:00:00:00:09); ${NO_REPAIR}`,
    }]],
    ['a\'s netns has no eth0', { gone: false, link: undefined }, [{
      kind: 'NetnsMismatch', object: 'OvsPort/node1/aaaaaaaaaaaa_h',
      message: `OVS port aaaaaaaaaaaa_h on br-int of node node1: pod default/a eth0 claims 10.16.0.2 (MAC ${A_MAC}), but its netns ${A_NETNS} has no interface eth0; ${NO_REPAIR}`,
    }]],
  ];

  it.each(netnsRows)('NetnsMismatch: %s; no repair is planned', (_name, seen, findings) => {
    const netns = new Map(seen === undefined ? [] : [['aaaaaaaaaaaa_h', seen] as const]);
    expect(auditJson(audit(inputOf(converged(), WITH_NETNS, netns)))).toEqual({ findings, actions: [] });
  });

  it('what is legitimately kept is no finding: a StatefulSet\'s IP object, a reservation, a pod not yet allocated', () => {
    const c = converged();
    const kept = snapshotOf(
      objects('sts.yaml', statefulSetObject('web', 2, {})),
      ip('web-1.default', 'web-1', 'ovn-default', '10.16.0.20', { podUid: 'uid-web-1-old', podType: 'StatefulSet' }),
      objects('reserved.yaml', { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: 'later.default' }, spec: { podName: 'later', namespace: 'default', subnet: 'ovn-default', ipAddress: '10.16.0.30', v4IpAddress: '10.16.0.30', v6IpAddress: '', macAddress: '', nodeName: '', containerID: '', podType: '' } }),
      podOf('pending', '2025-01-01T00:00:03Z'),
    );
    const snapshot = { ...c.snapshot, statefulsets: kept.statefulsets, ips: new Map([...c.snapshot.ips, ...kept.ips]), pods: new Map([...c.snapshot.pods, ...kept.pods]) };
    // The statuses as the controller wrote them before the pending pod came (they count the kept claims).
    const before = { ...snapshot, pods: c.snapshot.pods };
    const statuses = planAll(before, OVN).actions.filter((a) => a.type === 'UpdateSubnetStatus');
    expect(statuses.map((a) => a.reason)).toEqual(['IPv4 4 in use, 249 available']);
    const settled = applyActions(snapshot, statuses);
    expect(auditJson(audit(inputOf({ ...c, snapshot: settled })))).toEqual({ findings: [], actions: [] });
  });

  it('property: a converged cluster (planAll applied until it plans nothing) has no finding', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.boolean(), fc.nat(59)), { minLength: 1, maxLength: 6 }), (pods) => {
      let snapshot = snapshotOf(subnets(), macvlanNad(), ...pods.map(([attached, second], i) =>
        pod(`p${i}`, { uid: `uid-p${i}`, nodeName: 'node1', creationTimestamp: `2025-01-01T00:00:${String(second).padStart(2, '0')}Z`, annotations: attached ? NETWORKS : {} })));
      const ovnActions: Action[] = [];
      for (let round = 0; round < 3; round++) {
        const plan = planAll(snapshot, OVN);
        ovnActions.push(...plan.actions);
        snapshot = applyActions(snapshot, plan.actions);
      }
      const result = audit({ ...inputOf({ snapshot, ...ovnAfter(ovnActions) }, []) });
      expect(auditJson(result)).toEqual({ findings: [], actions: [] });
    }), { numRuns: 25 });
  });
});
