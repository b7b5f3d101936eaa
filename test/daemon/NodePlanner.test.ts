// The node planner and the routes of a pod interface (pure): exact plans and exact messages.
import { describe, expect, it } from '@jest/globals';
import * as E from 'fp-ts/lib/Either.js';
import type { CniRequest } from '../../src/domain/cni/Protocol.js';
import type { NodeConfig, OvnAddInput, ValidRequest } from '../../src/domain/cni/NodePlanner.js';
import { ifaceIdOf, linkNamesOf, planDel, planIpamAdd, planOvnAdd, validateRequest } from '../../src/domain/cni/NodePlanner.js';
import {
  allocatedProvider, defaultRouteFamilies, interfaceRoutes, isDefaultRouteInterface, parseRequestRoutes, parseRoutesAnnotation, readAllocation,
} from '../../src/domain/cni/Routes.js';
import { cidrsOverlap, siblingCidrs, sourceTableOf } from '../../src/domain/cni/SourceRouting.js';

const CID = '0123456789abcdef0123456789abcdef';
const NETNS = '/var/run/netns/pod-a';
const config: NodeConfig = { bridge: 'br-int', hostNetns: '/var/run/netns/ovs', defaultMtu: 1400, ovnInstalledTimeoutMs: 0 };

const request = (over: Partial<CniRequest> = {}): CniRequest => ({
  cni_type: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', container_id: CID, net_ns: NETNS,
  if_name: 'eth0', provider: 'ovn', ...over,
});

const valid = (over: Partial<CniRequest> = {}): ValidRequest => {
  const v = validateRequest(request(over), 'add');
  if (E.isLeft(v)) throw new Error(v.left.message);
  return v.right;
};

describe('linkNamesOf', () => {
  it.each<[string, string, string, string]>([
    ['eth0', CID, '0123456789ab_h', '0123456789ab_c'],
    ['net1', CID, '01234567_net1_h', '01234567_net1_c'],
    ['net12', CID, '0123456_net12_h', '0123456_net12_c'],
    ['eth0', 'abc', 'abc_h', 'abc_c'],
    ['net1', 'abc', 'abc_net1_h', 'abc_net1_c'],
    // 12 - 9 leaves 3 characters of the ID: the interface name is hashed instead.
    ['verylong1', CID, '0123_7ad6d13a_h', '0123_7ad6d13a_c'],
  ])('%s of container %s: %s / %s', (ifName, id, host, container) => {
    expect(linkNamesOf(id, ifName)).toEqual({ host, container });
    expect(host.length).toBeLessThanOrEqual(15);
  });

  it('gives two long interface names of one container different names', () => {
    expect(linkNamesOf(CID, 'verylong1').host).not.toBe(linkNamesOf(CID, 'verylong2').host);
  });
});

describe('validateRequest', () => {
  it('canonicalises the provider and the routes', () => {
    expect(validateRequest(request({ provider: '', routes: [{ dst: 'FD00::/64', gw: 'FD00::1' }, { gw: '10.0.0.1' }], pod_uid: 'u-1' }), 'add')).toEqual(E.right({
      podName: 'samplepod', podNamespace: 'default', containerId: CID, netns: NETNS, ifName: 'eth0', provider: 'ovn',
      routes: [{ dst: 'fd00::/64', gw: 'fd00::1' }, { gw: '10.0.0.1' }], podUid: 'u-1',
    }));
  });

  it.each<[string, Partial<CniRequest>, 'add' | 'del', string]>([
    ['a container ID with a slash', { container_id: 'a/b' }, 'add',
      'invalid CNI request: container_id "a/b" must be letters, digits, "_", "-" and "." (CNI_CONTAINERID)'],
    ['an interface name too long', { if_name: 'sixteen-chars-xx' }, 'add', 'invalid CNI request: if_name "sixteen-chars-xx" is longer than 15 bytes'],
    ['an empty interface name and pod', { if_name: '', pod_name: '' }, 'add',
      'invalid CNI request: if_name "" is empty; pod_name is empty (K8S_POD_NAME in CNI_ARGS)'],
    ['a bad route', { routes: [{ dst: '19.20.0.0/16', gw: '19.10.0.x' }] }, 'add', 'invalid CNI request: routes[0].gw: "19.10.0.x" is not an IP address'],
    ['a zero deadline', { deadline_ms: 0 }, 'add', 'invalid CNI request: deadline_ms 0 must be a positive integer'],
  ])('refuses %s', (_what, over, command, message) => {
    expect(validateRequest(request(over), command)).toEqual(E.left({ code: 'InvalidRequest', message }));
  });

  it('takes a DEL without pod name or netns', () => {
    expect(E.isRight(validateRequest(request({ pod_name: '', pod_namespace: '', net_ns: '' }), 'del'))).toBe(true);
  });
});

describe('allocatedProvider and readAllocation', () => {
  it.each<[string, Record<string, string>, string | undefined]>([
    ['not yet', { 'attachnet.default.ovn.kubernetes.io/ip_address': '19.10.0.2' }, undefined],
    ['committed', { 'attachnet.default.ovn.kubernetes.io/allocated': 'true' }, 'attachnet.default.ovn'],
    ['per interface (a NAD attached twice)', { 'attachnet.default.ovn.net2.kubernetes.io/allocated': 'true' }, 'attachnet.default.ovn.net2'],
  ])('%s', (_what, annotations, provider) => {
    expect(allocatedProvider(annotations, 'attachnet.default.ovn', 'net2')).toBe(provider);
  });

  it('reads a dual-stack allocation, families matched', () => {
    expect(readAllocation({
      'ovn.kubernetes.io/ip_address': 'fd00::2,10.16.0.2', 'ovn.kubernetes.io/cidr': '10.16.0.0/16,fd00::/120',
      'ovn.kubernetes.io/gateway': '10.16.0.1,fd00::1', 'ovn.kubernetes.io/mac_address': '0A:58:0A:10:00:02',
      'ovn.kubernetes.io/logical_switch': 'ovn-default',
    }, 'ovn')).toEqual(E.right({
      addresses: [
        { family: 4, ip: '10.16.0.2', prefix: 16, cidr: '10.16.0.0/16', gateway: '10.16.0.1' },
        { family: 6, ip: 'fd00::2', prefix: 120, cidr: 'fd00::/120', gateway: 'fd00::1' },
      ],
      mac: '0a:58:0a:10:00:02',
      subnet: 'ovn-default',
    }));
  });

  it.each<[string, Record<string, string>, string]>([
    ['no address', { 'p.kubernetes.io/cidr': '10.0.0.0/24' }, 'annotation p.kubernetes.io/ip_address: is missing'],
    ['no CIDR of its family', { 'p.kubernetes.io/ip_address': '10.0.0.2', 'p.kubernetes.io/cidr': 'fd00::/120' }, 'annotation p.kubernetes.io/cidr: has no IPv4 CIDR for 10.0.0.2'],
    ['an address outside its CIDR', { 'p.kubernetes.io/ip_address': '10.0.1.2', 'p.kubernetes.io/cidr': '10.0.0.0/24' }, 'annotation p.kubernetes.io/ip_address: 10.0.1.2 is outside 10.0.0.0/24'],
    ['a bad MAC', { 'p.kubernetes.io/ip_address': '10.0.0.2', 'p.kubernetes.io/cidr': '10.0.0.0/24', 'p.kubernetes.io/mac_address': 'x' },
      'annotation p.kubernetes.io/mac_address: "x" is not a MAC address (expected six hex pairs like 02:00:00:00:00:01)'],
  ])('refuses %s', (_what, annotations, problem) => {
    expect(readAllocation(annotations, 'p')).toEqual(E.left(`the pod's allocation for provider p cannot be used: ${problem}`));
  });
});

describe('Routes', () => {
  it('puts NAD routes before annotation routes, each once, with explicit destinations', () => {
    const nad = parseRequestRoutes([{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }]);
    const ann = parseRoutesAnnotation({ 'p.kubernetes.io/routes': '[{"dst":"19.20.0.0/16","gw":"19.10.0.1"},{"gw":"fd00::1"}]' }, 'p');
    if (E.isLeft(nad) || E.isLeft(ann)) throw new Error('routes did not parse');
    const routes = interfaceRoutes(nad.right, ann.right);
    expect(routes).toEqual([
      { family: 4, dst: '19.10.0.0/16' },
      { family: 4, dst: '19.20.0.0/16', gw: '19.10.0.1' },
      { family: 6, dst: '::/0', gw: 'fd00::1' },
    ]);
    expect(defaultRouteFamilies(routes)).toEqual([6]);
  });

  it('names the annotation in its errors', () => {
    expect(parseRoutesAnnotation({ 'p.kubernetes.io/routes': '[{"dst":"19.20.0.5/16"}]' }, 'p')).toEqual(
      E.left('annotation p.kubernetes.io/routes: [0].dst: "19.20.0.5/16" has host bits set (the network is 19.20.0.0/16)'));
    expect(parseRoutesAnnotation({ 'p.kubernetes.io/routes': '[' }, 'p')).toEqual(E.left(expect.stringMatching(/^annotation p.kubernetes.io\/routes: invalid JSON at line 1, column 2/)));
  });

  it.each<[string, Record<string, string>, boolean]>([
    ['eth0', {}, true],
    ['net1', {}, false],
    ['net1', { 'p.kubernetes.io/default_route': 'true' }, true],
    ['eth0', { 'p.kubernetes.io/default_route': 'false' }, false],
  ])('%s with %j is the default-route interface: %s', (ifName, annotations, yes) => {
    expect(isDefaultRouteInterface(ifName, annotations, 'p')).toBe(yes);
  });
});

const eth0Input = (over: Partial<OvnAddInput> = {}): OvnAddInput => ({
  request: valid(),
  provider: 'ovn',
  allocation: { addresses: [{ family: 4, ip: '10.16.0.2', prefix: 16, cidr: '10.16.0.0/16', gateway: '10.16.0.1' }], mac: '0a:58:0a:10:00:02', subnet: 'ovn-default' },
  defaultRoute: true,
  routes: [],
  host: { hostLink: false, port: false, ifacePorts: [] },
  ...over,
});

describe('planOvnAdd', () => {
  const hostEnd = { name: '0123456789ab_h', netns: '/var/run/netns/ovs' };
  const eth0 = { name: 'eth0', netns: NETNS };

  it('plugs eth0 of the default network on a clean host', () => {
    expect(planOvnAdd(eth0Input(), config)).toEqual(E.right({
      actions: [
        { type: 'CreateVethPair', target: '0123456789ab_h', reason: 'the veth pair of default/samplepod eth0', host: hostEnd, peer: '0123456789ab_c', mtu: 1400 },
        {
          type: 'AddOvsPort', target: '0123456789ab_h', reason: 'plug default/samplepod eth0 into br-int as logical port samplepod.default', bridge: 'br-int',
          externalIds: { 'iface-id': 'samplepod.default', vendor: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', ip: '10.16.0.2', pod_netns: NETNS },
        },
        { type: 'SetLink', target: '0123456789ab_h', reason: 'bring the host end up', link: hostEnd, changes: { up: true } },
        {
          type: 'SetLink', target: '0123456789ab_c', reason: `move the container end into ${NETNS} as eth0 with the logical port's MAC and the MTU 1400 (the daemon's default)`,
          link: { name: '0123456789ab_c', netns: '/var/run/netns/ovs' }, changes: { netns: NETNS, newName: 'eth0', mac: '0a:58:0a:10:00:02', mtu: 1400, up: true },
        },
        { type: 'ReplaceAddresses', target: 'eth0', reason: 'the allocated addresses of default/samplepod eth0', link: eth0, addresses: ['10.16.0.2/16'] },
        { type: 'AddRoute', target: 'eth0', reason: 'eth0 is the default-route interface: default route via the gateway', link: eth0, route: { family: 4, dst: '0.0.0.0/0', gw: '10.16.0.1' } },
      ],
      response: {
        protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '10.16.0.2', cidr: '10.16.0.0/16', gateway: '10.16.0.1' }],
        mac_address: '0a:58:0a:10:00:02', mtu: 1400, nicname: 'eth0', routes: [{ dst: '0.0.0.0/0', gw: '10.16.0.1' }],
      },
      skipped: [],
    }));
  });

  it('plugs a KubeVirt VM\'s pod as the VM\'s logical port (its virtualmachine annotation names the port)', () => {
    const plan = planOvnAdd({ ...eth0Input(), portOwner: 'vm1' }, config);
    if (E.isLeft(plan)) throw new Error(plan.left.message);
    expect(plan.right.actions[1]).toEqual({
      type: 'AddOvsPort', target: '0123456789ab_h', reason: 'plug default/samplepod eth0 into br-int as logical port vm1.default', bridge: 'br-int',
      externalIds: { 'iface-id': 'vm1.default', vendor: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', ip: '10.16.0.2', pod_netns: NETNS },
    });
  });

  it('plugs net1 of an OVN attachment with the NAD routes of example 07 and the Subnet MTU', () => {
    const plan = planOvnAdd({
      request: valid({ if_name: 'net1', provider: 'attachnet.default.ovn', routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }] }),
      provider: 'attachnet.default.ovn',
      allocation: { addresses: [{ family: 4, ip: '19.10.0.2', prefix: 24, cidr: '19.10.0.0/24', gateway: '19.10.0.1' }], mac: '0a:00:00:00:00:07' },
      defaultRoute: false,
      routes: [{ family: 4, dst: '19.10.0.0/16' }, { family: 4, dst: '19.20.0.0/16', gw: '19.10.0.1' }, { family: 6, dst: 'fd00::/64' }],
      subnetMtu: 1300,
      host: { hostLink: false, port: false, ifacePorts: [] },
    }, config);
    if (E.isLeft(plan)) throw new Error(plan.left.message);
    const net1 = { name: 'net1', netns: NETNS };
    expect(plan.right.actions.map((a) => [a.type, a.target])).toEqual([
      ['CreateVethPair', '01234567_net1_h'], ['AddOvsPort', '01234567_net1_h'], ['SetLink', '01234567_net1_h'], ['SetLink', '01234567_net1_c'],
      ['ReplaceAddresses', 'net1'], ['AddRoute', 'net1'], ['AddRoute', 'net1'],
    ]);
    expect(plan.right.actions[1]).toMatchObject({ externalIds: { 'iface-id': 'samplepod.default.attachnet.default.ovn', vendor: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', ip: '19.10.0.2', pod_netns: NETNS } });
    expect(plan.right.actions[3]).toMatchObject({ changes: { netns: NETNS, newName: 'net1', mac: '0a:00:00:00:00:07', mtu: 1300, up: true } });
    expect(plan.right.actions.slice(5)).toEqual([
      { type: 'AddRoute', target: 'net1', reason: 'a route of the NetworkAttachmentDefinition or the routes annotation', link: net1, route: { family: 4, dst: '19.10.0.0/16' } },
      { type: 'AddRoute', target: 'net1', reason: 'a route of the NetworkAttachmentDefinition or the routes annotation', link: net1, route: { family: 4, dst: '19.20.0.0/16', gw: '19.10.0.1' } },
    ]);
    expect(plan.right.response).toEqual({
      protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '19.10.0.2', cidr: '19.10.0.0/24' }], mac_address: '0a:00:00:00:00:07', mtu: 1300, nicname: 'net1',
      routes: [{ dst: '19.10.0.0/16' }, { dst: '19.20.0.0/16', gw: '19.10.0.1' }],
    });
    expect(plan.right.skipped).toEqual(['route fd00::/64: net1 has no IPv6 address']);
  });

  it('starts afresh over what an earlier ADD left, and removes a stale port of the same logical port', () => {
    const plan = planOvnAdd(eth0Input({ host: { hostLink: true, port: true, ifacePorts: ['0123456789ab_h', 'fedcba987654_h'] } }), { ...config, ovnInstalledTimeoutMs: 5000 });
    if (E.isLeft(plan)) throw new Error(plan.left.message);
    const types = plan.right.actions.map((a) => a.type);
    expect(plan.right.actions.slice(0, 3)).toEqual([
      { type: 'DeleteOvsPort', target: '0123456789ab_h', reason: 'an earlier ADD of default/samplepod eth0 left its port: plug afresh', bridge: 'br-int' },
      { type: 'DeleteLink', target: '0123456789ab_h', reason: 'an earlier ADD of default/samplepod eth0 left its host end: plug afresh', link: hostEnd },
      { type: 'DeleteOvsPort', target: 'fedcba987654_h', reason: 'port fedcba987654_h carries iface-id samplepod.default (an earlier sandbox): one logical port binds one interface', bridge: 'br-int' },
    ]);
    expect(types.slice(3)).toEqual(['CreateVethPair', 'AddOvsPort', 'SetLink', 'SetLink', 'ReplaceAddresses', 'AddRoute', 'WaitOvnInstalled']);
    expect(plan.right.actions.at(-1)).toEqual({ type: 'WaitOvnInstalled', target: '0123456789ab_h', reason: 'wait until ovn-controller has bound samplepod.default to this chassis', timeoutMs: 5000 });
  });

  const plugged = {
    hostLink: true, port: true, ifacePorts: ['0123456789ab_h'],
    hostEnd: { ifindex: 7, peerIfindex: 2, mac: '6e:00:00:00:00:01', mtu: 1400, up: true, addresses: [] },
    podLink: { ifindex: 2, peerIfindex: 7, mac: '0a:58:0a:10:00:02', mtu: 1400, up: true, addresses: ['10.16.0.2/16'] },
    portIds: { 'iface-id': 'samplepod.default', vendor: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', ip: '10.16.0.2', pod_netns: NETNS, 'ovn-installed': 'true' },
  };

  it('labels a finished plug\'s port with its netns in place (a port an earlier daemon plugged without pod_netns), not re-plugged', () => {
    const { pod_netns: _netns, ...older } = plugged.portIds;
    const plan = planOvnAdd(eth0Input({ host: { ...plugged, portIds: older } }), config);
    expect(E.isRight(plan) && plan.right.actions.map((a) => [a.type, a.target, a.reason])).toEqual([
      ['AddOvsPort', '0123456789ab_h', 'record default/samplepod eth0\'s netns on its port (external_ids:pod_netns)'],
      ['AddRoute', 'eth0', 'eth0 is the default-route interface: default route via the gateway'],
    ]);
  });

  it('leaves a finished plug in place: only its routes are planned again', () => {
    const plan = planOvnAdd(eth0Input({ host: plugged }), config);
    expect(E.isRight(plan) && plan.right.actions).toEqual([
      { type: 'AddRoute', target: 'eth0', reason: 'eth0 is the default-route interface: default route via the gateway', link: eth0, route: { family: 4, dst: '0.0.0.0/0', gw: '10.16.0.1' } },
    ]);
  });

  it.each<[string, object]>([
    ['the pod\'s link is not the peer of the host end', { podLink: { ...plugged.podLink, peerIfindex: 8 } }],
    ['the pod\'s link has another MTU', { podLink: { ...plugged.podLink, mtu: 1500 } }],
    ['the pod\'s link lacks its address', { podLink: { ...plugged.podLink, addresses: [] } }],
    ['the pod\'s link has another MAC', { podLink: { ...plugged.podLink, mac: '0a:58:0a:10:00:03' } }],
    ['the host end is down', { hostEnd: { ...plugged.hostEnd, up: false } }],
    ['the port has another address in external_ids', { portIds: { ...plugged.portIds, ip: '10.16.0.9' } }],
    ['another port has our iface-id', { ifacePorts: ['0123456789ab_h', 'fedcba987654_h'] }],
    ['there is no pod link', { podLink: undefined }],
  ])('plugs afresh when %s', (_what, over) => {
    const plan = planOvnAdd(eth0Input({ host: { ...plugged, ...over } }), config);
    expect(E.isRight(plan) && plan.right.actions.map((a) => a.type).slice(0, 3)).toEqual(['DeleteOvsPort', 'DeleteLink', expect.any(String)]);
    expect(E.isRight(plan) && plan.right.actions.some((a) => a.type === 'CreateVethPair')).toBe(true);
  });

  it('lets a default route of the NAD replace the gateway route', () => {
    const plan = planOvnAdd(eth0Input({ routes: [{ family: 4, dst: '0.0.0.0/0', gw: '10.16.0.254' }] }), config);
    if (E.isLeft(plan)) throw new Error(plan.left.message);
    expect(plan.right.response.routes).toEqual([{ dst: '0.0.0.0/0', gw: '10.16.0.254' }]);
  });

  it.each<[string, Partial<OvnAddInput>, object]>([
    ['no netns', { request: valid({ net_ns: '' }) }, { code: 'InvalidRequest', message: "invalid CNI request: net_ns is empty (CNI_NETNS): an OVN interface needs the pod's network namespace" }],
    ['no MAC', { allocation: { addresses: [{ family: 4, ip: '10.16.0.2', prefix: 16, cidr: '10.16.0.0/16' }] } },
      { code: 'InvalidAllocation', message: 'annotation ovn.kubernetes.io/mac_address is missing: an OVN interface needs the MAC of its logical port' }],
  ])('refuses %s', (_what, over, error) => {
    expect(planOvnAdd(eth0Input(over), config)).toEqual(E.left(error));
  });
});

describe('planDel', () => {
  it('removes the port, then the host end', () => {
    expect(planDel({ containerId: CID, ifName: 'net1' }, config, { hostLink: true, port: true })).toEqual([
      { type: 'DeleteOvsPort', target: '01234567_net1_h', reason: 'unplug container 0123456789ab interface net1 from br-int', bridge: 'br-int' },
      { type: 'DeleteLink', target: '01234567_net1_h', reason: 'remove the veth pair of container 0123456789ab interface net1', link: { name: '01234567_net1_h', netns: '/var/run/netns/ovs' } },
    ]);
  });

  it('plans nothing when nothing is there', () => {
    expect(planDel({ containerId: CID, ifName: 'net1' }, config, { hostLink: false, port: false })).toEqual([]);
  });
});

describe('planIpamAdd', () => {
  const macvlan = { addresses: [{ family: 4 as const, ip: '172.17.0.11', prefix: 16, cidr: '172.17.0.0/16', gateway: '172.17.0.1' }] };

  it('answers net1 of macvlan with its address, no gateway, no MAC and nothing to do', () => {
    expect(planIpamAdd({ request: valid({ if_name: 'net1', provider: 'macvlan.default' }), provider: 'macvlan.default', allocation: macvlan, defaultRoute: false, routes: [] })).toEqual({
      actions: [],
      response: { protocol: 'IPv4', ips: [{ protocol: 'IPv4', ip: '172.17.0.11', cidr: '172.17.0.0/16' }], routes: [] },
      skipped: [],
    });
  });

  it('gives the gateway to the default-route interface', () => {
    expect(planIpamAdd({ request: valid({ provider: 'macvlan.default' }), provider: 'macvlan.default', allocation: macvlan, defaultRoute: true, routes: [] }).response.ips)
      .toEqual([{ protocol: 'IPv4', ip: '172.17.0.11', cidr: '172.17.0.0/16', gateway: '172.17.0.1' }]);
  });

  it('removes the pod\'s default route when the routes hold one', () => {
    const plan = planIpamAdd({ request: valid({ if_name: 'net1', provider: 'macvlan.default' }), provider: 'macvlan.default', allocation: macvlan, defaultRoute: false, routes: [{ family: 4, dst: '0.0.0.0/0', gw: '172.17.0.1' }] });
    expect(plan.actions).toEqual([{
      type: 'DeleteDefaultRoutes', target: NETNS, family: 4, netns: NETNS,
      reason: "the routes of net1 hold an IPv4 default route: remove the pod's current one so the main plugin can install it",
    }]);
    expect(plan.response.routes).toEqual([{ dst: '0.0.0.0/0', gw: '172.17.0.1' }]);
  });
});

describe('source routing (seed 11: eth0 and net1 on one subnet)', () => {
  const ANN = {
    'ovn.kubernetes.io/allocated': 'true', 'ovn.kubernetes.io/cidr': '172.17.0.0/16',
    'attachnet.default.ovn.kubernetes.io/allocated': 'true', 'attachnet.default.ovn.kubernetes.io/cidr': '172.17.0.0/16',
    'macvlan.default.kubernetes.io/cidr': '10.0.0.0/8',
    'dual.default.ovn.net2.kubernetes.io/allocated': 'true', 'dual.default.ovn.net2.kubernetes.io/cidr': '10.18.0.0/16,fd00:18::/64',
  };
  const [T_ETH0, T_NET1] = [1739701812, 579500891];
  const net1 = { name: 'net1', netns: NETNS };
  const eth0 = { name: 'eth0', netns: NETNS };
  const net1Input = (over: Partial<OvnAddInput> = {}): OvnAddInput => ({
    request: valid({ if_name: 'net1', provider: 'attachnet.default.ovn' }),
    provider: 'attachnet.default.ovn',
    allocation: { addresses: [{ family: 4, ip: '172.17.0.4', prefix: 16, cidr: '172.17.0.0/16', gateway: '172.17.0.1' }], mac: '0a:00:00:00:00:04', subnet: 'my-subnet' },
    defaultRoute: false, routes: [], siblingCidrs: ['172.17.0.0/16'], host: { hostLink: false, port: false, ifacePorts: [] },
    ...over,
  });
  const net1Reason = 'source routing: what leaves from 172.17.0.4 leaves through net1 (another interface of the pod shares its subnet)';

  it.each<[string, string, readonly string[]]>([
    ['net1 of 11 sees eth0\'s subnet (and a dual-stack net2; not an unallocated macvlan)', 'attachnet.default.ovn', ['10.18.0.0/16', 'fd00:18::/64', '172.17.0.0/16']],
    ['eth0 of 11 sees net1\'s', 'ovn', ['172.17.0.0/16', '10.18.0.0/16', 'fd00:18::/64']],
    ['a per-interface provider is its own', 'dual.default.ovn.net2', ['172.17.0.0/16', '172.17.0.0/16']],
  ])('siblingCidrs: %s', (_what, provider, cidrs) => {
    expect(siblingCidrs(ANN, provider)).toEqual(cidrs);
  });

  it.each<[string, string, boolean]>([
    ['172.17.0.0/16', '172.17.0.0/16', true], ['172.17.0.0/16', '172.17.5.0/24', true], ['172.17.5.0/24', '172.16.0.0/12', true],
    ['172.17.0.0/16', '172.18.0.0/16', false], ['172.17.0.0/16', 'fd00::/64', false], ['fd00::/64', 'fd00::/48', true], ['172.17.0.0/16', 'x/16', false],
  ])('cidrsOverlap(%s, %s) is %s', (a, b, yes) => {
    expect(cidrsOverlap(a, b)).toBe(yes);
  });

  it('derives the table from the interface name alone: 10000 + FNV-1a-32 mod 2·10⁹', () => {
    expect([sourceTableOf('eth0'), sourceTableOf('net1'), sourceTableOf('net1')]).toEqual([T_ETH0, T_NET1, T_NET1]);
  });

  it('plugs net1 of 11 with its connected route in its own table and the rule from its address', () => {
    const plan = planOvnAdd(net1Input(), config);
    if (E.isLeft(plan)) throw new Error(plan.left.message);
    expect(plan.right.actions.map((a) => a.type)).toEqual(['CreateVethPair', 'AddOvsPort', 'SetLink', 'SetLink', 'ReplaceAddresses', 'AddRoute', 'SetSourceRules']);
    expect(plan.right.actions.slice(5)).toEqual([
      { type: 'AddRoute', target: 'net1', reason: net1Reason, link: net1, route: { family: 4, dst: '172.17.0.0/16' }, table: T_NET1, src: '172.17.0.4' },
      {
        type: 'SetSourceRules', target: 'net1', netns: NETNS, table: T_NET1, priority: 30000, sources: ['172.17.0.4'],
        reason: `another interface of the pod shares the subnet of net1: its addresses look up table ${T_NET1}`,
      },
    ]);
    expect(plan.right.response.routes).toEqual([]);
  });

  it('gives eth0 of 11 its default route in its table too; only the families it shares', () => {
    const plan = planOvnAdd(eth0Input({
      allocation: {
        addresses: [
          { family: 4, ip: '172.17.0.3', prefix: 16, cidr: '172.17.0.0/16', gateway: '172.17.0.1' },
          { family: 6, ip: 'fd00:17::3', prefix: 64, cidr: 'fd00:17::/64', gateway: 'fd00:17::1' },
        ],
        mac: '0a:00:00:00:00:03',
      },
      siblingCidrs: ['172.17.0.0/16'],
    }), config);
    if (E.isLeft(plan)) throw new Error(plan.left.message);
    const reason = 'source routing: what leaves from 172.17.0.3 leaves through eth0 (another interface of the pod shares its subnet)';
    expect(plan.right.actions.filter((a) => a.type === 'SetSourceRules' || (a.type === 'AddRoute' && a.table !== undefined))).toEqual([
      { type: 'AddRoute', target: 'eth0', reason, link: eth0, route: { family: 4, dst: '172.17.0.0/16' }, table: T_ETH0, src: '172.17.0.3' },
      { type: 'AddRoute', target: 'eth0', reason, link: eth0, route: { family: 4, dst: '0.0.0.0/0', gw: '172.17.0.1' }, table: T_ETH0 },
      {
        type: 'SetSourceRules', target: 'eth0', netns: NETNS, table: T_ETH0, priority: 30000, sources: ['172.17.0.3'],
        reason: `another interface of the pod shares the subnet of eth0: its addresses look up table ${T_ETH0}`,
      },
    ]);
  });

  it('leaves rules that are as wanted alone: a finished plug plans only its routes again', () => {
    const plan = planOvnAdd(net1Input({
      host: {
        hostLink: true, port: true, ifacePorts: ['01234567_net1_h'], sourceRules: ['172.17.0.4'],
        hostEnd: { ifindex: 7, peerIfindex: 2, mac: '6e:00:00:00:00:01', mtu: 1400, up: true, addresses: [] },
        podLink: { ifindex: 2, peerIfindex: 7, mac: '0a:00:00:00:00:04', mtu: 1400, up: true, addresses: ['172.17.0.4/16'] },
        portIds: { 'iface-id': 'samplepod.default.attachnet.default.ovn', vendor: 'kube-ovn', pod_name: 'samplepod', pod_namespace: 'default', ip: '172.17.0.4', pod_netns: NETNS },
      },
    }), config);
    expect(E.isRight(plan) && plan.right.actions).toEqual([
      { type: 'AddRoute', target: 'net1', reason: net1Reason, link: net1, route: { family: 4, dst: '172.17.0.0/16' }, table: T_NET1, src: '172.17.0.4' },
    ]);
  });

  it.each<[string, Partial<OvnAddInput>, readonly string[]]>([
    ['a rule of an old address is replaced', { host: { hostLink: false, port: false, ifacePorts: [], sourceRules: ['172.17.0.9'] } }, ['172.17.0.4']],
    ['the subnet is no longer shared: the rules go', { siblingCidrs: ['172.18.0.0/16'], host: { hostLink: false, port: false, ifacePorts: [], sourceRules: ['172.17.0.4'] } }, []],
  ])('%s', (_what, over, sources) => {
    const plan = planOvnAdd(net1Input(over), config);
    expect(E.isRight(plan) && plan.right.actions.filter((a) => a.type === 'SetSourceRules').map((a) => a.type === 'SetSourceRules' && [a.table, a.sources, a.reason])).toEqual([[
      T_NET1, sources, sources.length === 0 ? 'no other interface of the pod shares the subnet of net1: remove its source rules' : `another interface of the pod shares the subnet of net1: its addresses look up table ${T_NET1}`,
    ]]);
  });

  it('plans no source routing where no other interface shares the subnet', () => {
    const plan = planOvnAdd(net1Input({ siblingCidrs: ['10.17.0.0/16'] }), config);
    expect(E.isRight(plan) && plan.right.actions.map((a) => a.type)).toEqual(['CreateVethPair', 'AddOvsPort', 'SetLink', 'SetLink', 'ReplaceAddresses']);
  });

  it('DEL removes the host side, then the rules it finds, and no rules without the netns', () => {
    expect(planDel({ containerId: CID, ifName: 'net1', netns: NETNS }, config, { hostLink: true, port: false, sourceRules: ['172.17.0.4'] })).toEqual([
      { type: 'DeleteLink', target: '01234567_net1_h', reason: 'remove the veth pair of container 0123456789ab interface net1', link: { name: '01234567_net1_h', netns: '/var/run/netns/ovs' } },
      { type: 'SetSourceRules', target: 'net1', reason: 'remove the source rules of container 0123456789ab interface net1', netns: NETNS, table: T_NET1, priority: 30000, sources: [] },
    ]);
    expect(planDel({ containerId: CID, ifName: 'net1', netns: '' }, config, { hostLink: false, port: false, sourceRules: ['172.17.0.4'] })).toEqual([]);
  });
});

describe('ifaceIdOf', () => {
  it.each([['ovn', 'samplepod.default'], ['attachnet.default.ovn', 'samplepod.default.attachnet.default.ovn']])('%s → %s', (provider, id) => {
    expect(ifaceIdOf('samplepod', 'default', provider)).toBe(id);
  });
});
