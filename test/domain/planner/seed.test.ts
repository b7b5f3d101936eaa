// The seed's examples (../shared/seed/examples, verbatim) planned with the subnets their README
// names: every allocation, every action and every annotation, exactly.
import { describe, it, expect } from '@jest/globals';
import { planAll } from '../../../src/domain/ClusterPlanner.js';
import { indexNads, podNetworks } from '../../../src/domain/Networks.js';
import type { Action, IpObject, SubnetStatusView } from '../../../src/domain/Plan.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';
import { actionList, actionsOfType, annotationsAfter, inline, ovnDefault, seed, snapshotOf, subnetYaml } from './snapshots.js';

const OPTIONS = { now: 0 };

/** The IP object the controller writes for a pod read from a file (no UID, no node). */
const ipObject = (name: string, podName: string, subnet: string, address: string, mac: string): IpObject => ({
  name,
  labels: { 'ovn.kubernetes.io/subnet': subnet },
  spec: {
    podName, namespace: 'default', subnet, nodeName: '', ipAddress: address, v4IpAddress: address, v6IpAddress: '',
    macAddress: mac, containerID: '', podType: '', attachIps: [], attachMacs: [], attachSubnets: [],
  },
});

const createIp = (name: string, podName: string, iface: string, subnet: string, address: string, mac = ''): Action => ({
  type: 'CreateIP', target: name, reason: `record the claim of ${iface} of pod default/${podName}: ${address} in ${subnet}`,
  ip: ipObject(name, podName, subnet, address, mac),
});

const ready = [{ type: 'Ready', status: 'True', reason: 'Validated', message: '' }] as const;

const v4Status = (using: number, available: number, usingRange: string, availableRange: string): SubnetStatusView => ({
  v4availableIPs: available, v4usingIPs: using, v4availableIPrange: availableRange, v4usingIPrange: usingRange,
  v6availableIPs: 0, v6usingIPs: 0, v6availableIPrange: '', v6usingIPrange: '', conditions: ready,
});

describe('examples 01-05 (macvlan with kube-ovn IPAM) with ovn-default 10.16.0.0/16', () => {
  const snapshot = snapshotOf(
    ovnDefault(),
    ...['01-nad-macvlan.yaml', '02-subnet-macvlan.yaml', '03-pod-random.yaml', '04-pod-static-ip.yaml', '05-deployment-ip-pool.yaml'].map(seed),
  );
  const plan = planAll(snapshot, OPTIONS);

  it('allocates samplepod dynamically, static-ip as written, and the Deployment from its ip_pool (simulated)', () => {
    const ovn = { provider: 'ovn', subnet: 'ovn-default', cidr: '10.16.0.0/16', gateway: '10.16.0.1' };
    const macvlan = { provider: 'macvlan.default', subnet: 'macvlan', cidr: '172.17.0.0/16', gateway: '172.17.0.1' };
    expect(plan.allocations).toEqual([
      { pod: 'default/samplepod', interface: 'eth0', ...ovn, ipAddress: '10.16.0.2', macAddress: '9a:41:1e:9b:d2:27', source: 'dynamic' },
      { pod: 'default/samplepod', interface: 'net1', ...macvlan, ipAddress: '172.17.0.11', macAddress: '', source: 'dynamic' },
      { pod: 'default/static-ip', interface: 'eth0', ...ovn, ipAddress: '10.16.0.15', macAddress: '00:00:00:53:6b:b6', source: 'static' },
      { pod: 'default/static-ip', interface: 'net1', ...macvlan, ipAddress: '172.17.0.100', macAddress: '00:00:00:53:6b:bb', source: 'static' },
      { pod: 'default/static-workload-sim-1', interface: 'eth0', ...ovn, ipAddress: '10.16.0.16', macAddress: '22:f3:d1:be:44:e5', source: 'pool', simulated: true },
      { pod: 'default/static-workload-sim-1', interface: 'net1', ...macvlan, ipAddress: '172.17.0.200', macAddress: '', source: 'pool', simulated: true },
      { pod: 'default/static-workload-sim-2', interface: 'eth0', ...ovn, ipAddress: '10.16.0.17', macAddress: 'ca:7c:d2:61:27:b2', source: 'pool', simulated: true },
      { pod: 'default/static-workload-sim-2', interface: 'net1', ...macvlan, ipAddress: '172.17.0.201', macAddress: '', source: 'pool', simulated: true },
      { pod: 'default/static-workload-surge-1', interface: 'net1', ...macvlan, ipAddress: '172.17.0.202', macAddress: '', source: 'pool', simulated: true },
    ]);
  });

  it("reports that the rollout surge pod finds no free entry of the eth0 pool (10.16.0.15 is static-ip's), with no Event", () => {
    expect(plan.errors).toEqual([
      {
        pod: 'default/static-workload-surge-1', provider: 'ovn', interface: 'eth0', code: 'NoAvailableAddress', simulated: true,
        message:
          'pod default/static-workload-surge-1 eth0 (ovn) [simulated for Deployment default/static-workload (rollout surge)]: ' +
          'no entry of ip_pool 10.16.0.15,10.16.0.16,10.16.0.17 is free: ' +
          '10.16.0.15 is already held by default/static-ip in subnet ovn-default (10.16.0.0/16); ' +
          '10.16.0.16 is already held by default/static-workload-sim-1 in subnet ovn-default (10.16.0.0/16); ' +
          '10.16.0.17 is already held by default/static-workload-sim-2 in subnet ovn-default (10.16.0.0/16)',
      },
    ]);
    expect(actionsOfType(plan, 'EmitEvent')).toEqual([]);
  });

  it('writes, per real pod, the IP objects then one annotation patch, then the subnet statuses by name', () => {
    expect(actionList(plan)).toEqual([
      'CreateIP samplepod.default',
      'CreateIP samplepod.default.macvlan.default',
      'PatchPodAnnotations default/samplepod',
      'CreateIP static-ip.default',
      'CreateIP static-ip.default.macvlan.default',
      'PatchPodAnnotations default/static-ip',
      'UpdateSubnetStatus macvlan',
      'UpdateSubnetStatus ovn-default',
    ]);
  });

  it('creates IP objects named <pod>.<ns> and <pod>.<ns>.<provider>', () => {
    expect(actionsOfType(plan, 'CreateIP')).toEqual([
      createIp('samplepod.default', 'samplepod', 'eth0', 'ovn-default', '10.16.0.2', '9a:41:1e:9b:d2:27'),
      createIp('samplepod.default.macvlan.default', 'samplepod', 'net1', 'macvlan', '172.17.0.11'),
      createIp('static-ip.default', 'static-ip', 'eth0', 'ovn-default', '10.16.0.15', '00:00:00:53:6b:b6'),
      createIp('static-ip.default.macvlan.default', 'static-ip', 'net1', 'macvlan', '172.17.0.100', '00:00:00:53:6b:bb'),
    ]);
  });

  it("publishes samplepod's addresses: logical_switch for the OVN network only, no MAC for macvlan", () => {
    expect(annotationsAfter(snapshot, plan, 'default/samplepod')).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
      'ovn.kubernetes.io/ip_address': '10.16.0.2',
      'ovn.kubernetes.io/mac_address': '9a:41:1e:9b:d2:27',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
      'ovn.kubernetes.io/allocated': 'true',
      'macvlan.default.kubernetes.io/ip_address': '172.17.0.11',
      'macvlan.default.kubernetes.io/cidr': '172.17.0.0/16',
      'macvlan.default.kubernetes.io/gateway': '172.17.0.1',
      'macvlan.default.kubernetes.io/allocated': 'true',
    });
  });

  it("publishes static-ip's addresses and both static MACs (canonical lower case), merged over what the user wrote", () => {
    expect(annotationsAfter(snapshot, plan, 'default/static-ip')).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'macvlan',
      'ovn.kubernetes.io/ip_address': '10.16.0.15',
      'ovn.kubernetes.io/mac_address': '00:00:00:53:6b:b6',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
      'ovn.kubernetes.io/allocated': 'true',
      'macvlan.default.kubernetes.io/ip_address': '172.17.0.100',
      'macvlan.default.kubernetes.io/mac_address': '00:00:00:53:6b:bb',
      'macvlan.default.kubernetes.io/cidr': '172.17.0.0/16',
      'macvlan.default.kubernetes.io/gateway': '172.17.0.1',
      'macvlan.default.kubernetes.io/allocated': 'true',
    });
  });

  it('never writes logical_switch for the IPAM-only network (not even as a deletion)', () => {
    const keys = actionsOfType(plan, 'PatchPodAnnotations').flatMap((a) => Object.keys(a.annotations));
    expect(keys.filter((k) => k.startsWith('macvlan.default.kubernetes.io/logical_switch'))).toEqual([]);
  });

  it('counts the real pods in the subnet statuses (simulated pods are not counted)', () => {
    expect(actionsOfType(plan, 'UpdateSubnetStatus')).toEqual([
      {
        type: 'UpdateSubnetStatus', target: 'macvlan', reason: 'IPv4 2 in use, 65522 available',
        status: v4Status(2, 65522, '172.17.0.11,172.17.0.100', '172.17.0.12-172.17.0.99,172.17.0.101-172.17.255.254'),
      },
      {
        type: 'UpdateSubnetStatus', target: 'ovn-default', reason: 'IPv4 2 in use, 65531 available',
        status: v4Status(2, 65531, '10.16.0.2,10.16.0.15', '10.16.0.3-10.16.0.14,10.16.0.16-10.16.255.254'),
      },
    ]);
  });
});

describe('examples 06-11 (OVN attachment network attachnet)', () => {
  const attachSubnet = () => inline(subnetYaml('attach-subnet', '192.168.0.0/24', 'attachnet.default.ovn'));
  const mySubnet = (cidr: string) => inline(subnetYaml('my-subnet', cidr));

  it('06: a pod attaching default/attachnet gets provider attachnet.default.ovn', () => {
    const snapshot = snapshotOf(ovnDefault(), seed('06-nad-attachnet-ovn.yaml'), seed('08-pod-attachnet-random.yaml'));
    const pod = snapshot.pods.get('default/samplepod')!.object;
    expect(podNetworks(indexNads(snapshot), pod)).toEqual({
      networks: [
        { provider: 'ovn', interface: 'eth0', isOvn: true, routes: [] },
        {
          provider: 'attachnet.default.ovn', interface: 'net1', isOvn: true, nad: 'default/attachnet', claimInterface: undefined,
          selection: { name: 'attachnet', namespace: 'default' }, routes: [],
        },
      ],
      problems: [],
    });
  });

  it('08: with a subnet bound to attachnet.default.ovn, net1 is allocated dynamically from it, with a MAC and logical_switch', () => {
    const snapshot = snapshotOf(ovnDefault(), seed('06-nad-attachnet-ovn.yaml'), attachSubnet(), seed('08-pod-attachnet-random.yaml'));
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations).toEqual([
      { pod: 'default/samplepod', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.2', macAddress: '9a:41:1e:9b:d2:27', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic' },
      { pod: 'default/samplepod', provider: 'attachnet.default.ovn', interface: 'net1', subnet: 'attach-subnet', ipAddress: '192.168.0.2', macAddress: '12:e2:9d:d3:fe:b4', cidr: '192.168.0.0/24', gateway: '192.168.0.1', source: 'dynamic' },
    ]);
    expect(actionsOfType(plan, 'CreateIP')).toEqual([
      createIp('samplepod.default', 'samplepod', 'eth0', 'ovn-default', '10.16.0.2', '9a:41:1e:9b:d2:27'),
      createIp('samplepod.default.attachnet.default.ovn', 'samplepod', 'net1', 'attach-subnet', '192.168.0.2', '12:e2:9d:d3:fe:b4'),
    ]);
    expect(annotationsAfter(snapshot, plan, 'default/samplepod')).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'default/attachnet',
      'ovn.kubernetes.io/ip_address': '10.16.0.2',
      'ovn.kubernetes.io/mac_address': '9a:41:1e:9b:d2:27',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
      'ovn.kubernetes.io/allocated': 'true',
      'attachnet.default.ovn.kubernetes.io/ip_address': '192.168.0.2',
      'attachnet.default.ovn.kubernetes.io/mac_address': '12:e2:9d:d3:fe:b4',
      'attachnet.default.ovn.kubernetes.io/cidr': '192.168.0.0/24',
      'attachnet.default.ovn.kubernetes.io/gateway': '192.168.0.1',
      'attachnet.default.ovn.kubernetes.io/logical_switch': 'attach-subnet',
      'attachnet.default.ovn.kubernetes.io/allocated': 'true',
    });
  });

  it('08 without a subnet bound to the provider: net1 fails with NoSubnet (no fallback to ovn-default), eth0 is still allocated', () => {
    const plan = planAll(snapshotOf(ovnDefault(), seed('06-nad-attachnet-ovn.yaml'), seed('08-pod-attachnet-random.yaml')), OPTIONS);
    const message = 'pod default/samplepod net1 (attachnet.default.ovn): provider attachnet.default.ovn is not bound to any subnet (no Subnet has spec.provider: attachnet.default.ovn)';
    expect(plan.errors).toEqual([{ pod: 'default/samplepod', provider: 'attachnet.default.ovn', interface: 'net1', code: 'NoSubnet', message }]);
    expect(plan.allocations.map((a) => `${a.interface} ${a.subnet} ${a.ipAddress}`)).toEqual(['eth0 ovn-default 10.16.0.2']);
  });

  it('09: logical_switch my-subnet puts net1 in my-subnet (172.17.0.0/16, provider ovn)', () => {
    const snapshot = snapshotOf(ovnDefault(), seed('06-nad-attachnet-ovn.yaml'), mySubnet('172.17.0.0/16'), seed('09-pod-attachnet-spec-subnet.yaml'));
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations).toEqual([
      { pod: 'default/spec-subnet', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.2', macAddress: '9e:07:7c:82:32:19', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic' },
      { pod: 'default/spec-subnet', provider: 'attachnet.default.ovn', interface: 'net1', subnet: 'my-subnet', ipAddress: '172.17.0.2', macAddress: '4e:14:34:d1:4e:aa', cidr: '172.17.0.0/16', gateway: '172.17.0.1', source: 'dynamic' },
    ]);
    expect(annotationsAfter(snapshot, plan, 'default/spec-subnet')).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'default/attachnet',
      'ovn.kubernetes.io/ip_address': '10.16.0.2',
      'ovn.kubernetes.io/mac_address': '9e:07:7c:82:32:19',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
      'ovn.kubernetes.io/allocated': 'true',
      'attachnet.default.ovn.kubernetes.io/ip_address': '172.17.0.2',
      'attachnet.default.ovn.kubernetes.io/mac_address': '4e:14:34:d1:4e:aa',
      'attachnet.default.ovn.kubernetes.io/cidr': '172.17.0.0/16',
      'attachnet.default.ovn.kubernetes.io/gateway': '172.17.0.1',
      'attachnet.default.ovn.kubernetes.io/logical_switch': 'my-subnet',
      'attachnet.default.ovn.kubernetes.io/allocated': 'true',
    });
    expect(actionsOfType(plan, 'CreateIP').map((a) => a.ip)).toEqual([
      ipObject('spec-subnet.default', 'spec-subnet', 'ovn-default', '10.16.0.2', '9e:07:7c:82:32:19'),
      ipObject('spec-subnet.default.attachnet.default.ovn', 'spec-subnet', 'my-subnet', '172.17.0.2', '4e:14:34:d1:4e:aa'),
    ]);
  });

  it('10: the static 172.17.0.21 in my-subnet', () => {
    const snapshot = snapshotOf(ovnDefault(), seed('06-nad-attachnet-ovn.yaml'), mySubnet('172.17.0.0/16'), seed('10-pod-attachnet-static-ip.yaml'));
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations).toEqual([
      { pod: 'default/static-ip', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.2', macAddress: '0a:16:38:92:47:d4', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic' },
      { pod: 'default/static-ip', provider: 'attachnet.default.ovn', interface: 'net1', subnet: 'my-subnet', ipAddress: '172.17.0.21', macAddress: 'ca:f5:1a:c0:7b:0f', cidr: '172.17.0.0/16', gateway: '172.17.0.1', source: 'static' },
    ]);
    expect(annotationsAfter(snapshot, plan, 'default/static-ip')).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'default/attachnet',
      'ovn.kubernetes.io/ip_address': '10.16.0.2',
      'ovn.kubernetes.io/mac_address': '0a:16:38:92:47:d4',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
      'ovn.kubernetes.io/allocated': 'true',
      'attachnet.default.ovn.kubernetes.io/ip_address': '172.17.0.21',
      'attachnet.default.ovn.kubernetes.io/mac_address': 'ca:f5:1a:c0:7b:0f',
      'attachnet.default.ovn.kubernetes.io/cidr': '172.17.0.0/16',
      'attachnet.default.ovn.kubernetes.io/gateway': '172.17.0.1',
      'attachnet.default.ovn.kubernetes.io/logical_switch': 'my-subnet',
      'attachnet.default.ovn.kubernetes.io/allocated': 'true',
    });
    expect(actionsOfType(plan, 'UpdateSubnetStatus').map((a) => [a.target, a.status.v4usingIPrange])).toEqual([
      ['my-subnet', '172.17.0.21'],
      ['ovn-default', '10.16.0.2'],
    ]);
  });

  it('11: eth0 and net1 both in my-subnet (10.16.0.0/16, ovn-default moved to 10.17.0.0/16) get two different addresses', () => {
    const snapshot = snapshotOf(ovnDefault('10.17.0.0/16'), seed('06-nad-attachnet-ovn.yaml'), mySubnet('10.16.0.0/16'), seed('11-pod-multi-nic-same-subnet.yaml'));
    const plan = planAll(snapshot, OPTIONS);
    expect(plan.errors).toEqual([]);
    expect(plan.allocations).toEqual([
      { pod: 'default/spec-subnet', provider: 'ovn', interface: 'eth0', subnet: 'my-subnet', ipAddress: '10.16.0.2', macAddress: '9e:07:7c:82:32:19', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic' },
      { pod: 'default/spec-subnet', provider: 'attachnet.default.ovn', interface: 'net1', subnet: 'my-subnet', ipAddress: '10.16.0.3', macAddress: '4e:14:34:d1:4e:aa', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic' },
    ]);
    expect(annotationsAfter(snapshot, plan, 'default/spec-subnet')).toEqual({
      'k8s.v1.cni.cncf.io/networks': 'default/attachnet',
      'ovn.kubernetes.io/ip_address': '10.16.0.2',
      'ovn.kubernetes.io/mac_address': '9e:07:7c:82:32:19',
      'ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'ovn.kubernetes.io/gateway': '10.16.0.1',
      'ovn.kubernetes.io/logical_switch': 'my-subnet',
      'ovn.kubernetes.io/allocated': 'true',
      'attachnet.default.ovn.kubernetes.io/ip_address': '10.16.0.3',
      'attachnet.default.ovn.kubernetes.io/mac_address': '4e:14:34:d1:4e:aa',
      'attachnet.default.ovn.kubernetes.io/cidr': '10.16.0.0/16',
      'attachnet.default.ovn.kubernetes.io/gateway': '10.16.0.1',
      'attachnet.default.ovn.kubernetes.io/logical_switch': 'my-subnet',
      'attachnet.default.ovn.kubernetes.io/allocated': 'true',
    });
    expect(actionsOfType(plan, 'UpdateSubnetStatus').map((a) => `${a.target}: ${a.reason}`)).toEqual([
      'my-subnet: IPv4 2 in use, 65531 available',
      'ovn-default: IPv4 0 in use, 65533 available',
    ]);
  });

  describe('06 vs 07: the same NAD name, so the later file replaces the earlier', () => {
    const withRoutes = [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }];
    const routesOf = (snapshot: Snapshot) =>
      podNetworks(indexNads(snapshot), snapshot.pods.get('default/samplepod')!.object).networks.map((n) => [n.interface, n.routes]);
    const planOf = (...files: string[]) =>
      snapshotOf(ovnDefault(), attachSubnet(), ...files.map(seed), seed('08-pod-attachnet-random.yaml'));

    it.each([
      ['06 then 07: 07 (with routes) wins', ['06-nad-attachnet-ovn.yaml', '07-nad-attachnet-ovn-routes.yaml'], '07-nad-attachnet-ovn-routes.yaml', withRoutes],
      ['07 then 06: 06 (no routes) wins', ['07-nad-attachnet-ovn-routes.yaml', '06-nad-attachnet-ovn.yaml'], '06-nad-attachnet-ovn.yaml', []],
      ['07 alone', ['07-nad-attachnet-ovn-routes.yaml'], '07-nad-attachnet-ovn-routes.yaml', withRoutes],
    ])('%s', (_name, files, winner, routes) => {
      const snapshot = planOf(...files);
      expect(snapshot.nads.size).toBe(1);
      expect(snapshot.nads.get('default/attachnet')!.origin).toEqual({ file: winner, document: 0 });
      expect(routesOf(snapshot)).toEqual([['eth0', []], ['net1', routes]]);
    });

    it('routes do not change the allocation: 06 and 07 plan the same', () => {
      const six = planAll(planOf('06-nad-attachnet-ovn.yaml'), OPTIONS);
      expect(planAll(planOf('07-nad-attachnet-ovn-routes.yaml'), OPTIONS)).toEqual(six);
      expect(planAll(planOf('06-nad-attachnet-ovn.yaml', '07-nad-attachnet-ovn-routes.yaml'), OPTIONS)).toEqual(six);
      expect(six.allocations.map((a) => `${a.provider} ${a.interface} ${a.subnet} ${a.ipAddress}`)).toEqual([
        'ovn eth0 ovn-default 10.16.0.2',
        'attachnet.default.ovn net1 attach-subnet 192.168.0.2',
      ]);
    });
  });
});
