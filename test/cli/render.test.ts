// The two renderings of a plan, on a hand-built Plan value: exact text, byte for byte.
import { describe, expect, it } from '@jest/globals';
import type { Action, AllocationView, IpObject, Plan, PlanError } from '../../src/domain/Plan.js';
import { actionSummary, renderJson, renderJsonChunks, renderTable, renderTableChunks } from '../../src/cli/render.js';
import { planJson } from '../../src/domain/Plan.js';

const ipObject = (name: string, pod: string, subnet: string, address: string): IpObject => ({
  name,
  labels: { 'ovn.kubernetes.io/subnet': subnet },
  spec: {
    podName: pod, namespace: 'default', subnet, nodeName: '', ipAddress: address, v4IpAddress: address, v6IpAddress: '',
    macAddress: '', containerID: '', podType: '', attachIps: [], attachMacs: [], attachSubnets: [],
  },
});

const createIP = (name: string, pod: string, subnet: string, address: string): Action => ({
  type: 'CreateIP', target: `IP ${name}`, reason: `claims ${address} for ${pod}`, ip: ipObject(name, pod, subnet, address),
});

const samplepod: AllocationView = {
  pod: 'default/samplepod', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.2',
  macAddress: '00:00:00:53:6b:01', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'dynamic',
};
const samplepodNet1: AllocationView = {
  pod: 'default/samplepod', provider: 'macvlan.default', interface: 'net1', subnet: 'macvlan', ipAddress: '172.17.0.11',
  macAddress: '', cidr: '172.17.0.0/16', gateway: '172.17.0.1', source: 'dynamic',
};
const web0: AllocationView = {
  pod: 'default/web-0', provider: 'ovn', interface: 'eth0', subnet: 'ovn-default', ipAddress: '10.16.0.15',
  macAddress: '00:00:00:53:6b:02', cidr: '10.16.0.0/16', gateway: '10.16.0.1', source: 'pool', simulated: true,
};
const dual: AllocationView = {
  pod: 'default/dual', provider: 'ovn', interface: 'eth0', subnet: 'dual', ipAddress: '10.0.0.2,fd00::2',
  macAddress: '00:00:00:53:6b:03', cidr: '10.0.0.0/24,fd00::/120', gateway: '10.0.0.1,fd00::1', source: 'static',
};

const conflict: PlanError = {
  pod: 'default/static-ip', provider: 'macvlan.default', interface: 'net1', code: 'AddressConflict',
  message: 'pod default/static-ip net1 (macvlan.default): 172.17.0.11 is already taken by default/samplepod',
};
const web1: PlanError = {
  pod: 'default/web-1', provider: 'ovn', code: 'NoAvailableAddress', message: 'pod default/web-1 [simulated]: ip_pool 10.16.0.15 has no free address', simulated: true,
};
const multiline: PlanError = {
  pod: 'default/odd', provider: 'ovn', interface: 'eth0', code: 'InvalidAnnotation', message: 'pod default/odd eth0 (ovn): first line\nsecond\tline',
};

const plan: Plan = {
  allocations: [samplepod, samplepodNet1, web0, dual],
  actions: [
    { type: 'EmitEvent', target: 'Pod default/static-ip', reason: 'tell the owner', event: { type: 'Warning', reason: 'AddressConflict', message: 'taken' } },
    createIP('samplepod.default', 'samplepod', 'ovn-default', '10.16.0.2'),
    { type: 'PatchPodAnnotations', target: 'Pod default/samplepod', reason: 'commit', annotations: { 'ovn.kubernetes.io/allocated': 'true' } },
    createIP('samplepod.default.macvlan.default', 'samplepod', 'macvlan', '172.17.0.11'),
    createIP('dual.default', 'dual', 'dual', '10.0.0.2'),
    { type: 'PatchPodAnnotations', target: 'Pod default/dual', reason: 'commit', annotations: { 'ovn.kubernetes.io/allocated': 'true' } },
  ],
  errors: [conflict, web1, multiline],
};

describe('renderTable', () => {
  it('prints allocations, errors, an action summary and the footnote for simulated pods', () => {
    expect(renderTable(plan)).toBe(`\
POD                 INTERFACE   PROVIDER          SUBNET        ADDRESS            MAC                 SOURCE
default/samplepod   eth0        ovn               ovn-default   10.16.0.2          00:00:00:53:6b:01   dynamic
default/samplepod   net1        macvlan.default   macvlan       172.17.0.11        -                   dynamic
default/web-0*      eth0        ovn               ovn-default   10.16.0.15         00:00:00:53:6b:02   pool
default/dual        eth0        ovn               dual          10.0.0.2,fd00::2   00:00:00:53:6b:03   static

ERRORS
AddressConflict: pod default/static-ip net1 (macvlan.default): 172.17.0.11 is already taken by default/samplepod
NoAvailableAddress: pod default/web-1 [simulated]: ip_pool 10.16.0.15 has no free address
InvalidAnnotation: pod default/odd eth0 (ovn): first line second line

ACTIONS
3 CreateIP, 2 PatchPodAnnotations, 1 EmitEvent

* simulated: the pod does not exist yet; its workload would create it.
`);
  });

  it('says so when there is nothing to plan', () => {
    expect(renderTable({ allocations: [], actions: [], errors: [] })).toBe('No pods to plan.\n');
  });

  it('prints only the sections that have something to say', () => {
    expect(renderTable({ allocations: [], actions: [], errors: [conflict] })).toBe(`\
ERRORS
AddressConflict: pod default/static-ip net1 (macvlan.default): 172.17.0.11 is already taken by default/samplepod
`);
    expect(renderTable({ allocations: [samplepod], actions: [], errors: [web1] })).toBe(`\
POD                 INTERFACE   PROVIDER   SUBNET        ADDRESS     MAC                 SOURCE
default/samplepod   eth0        ovn        ovn-default   10.16.0.2   00:00:00:53:6b:01   dynamic

ERRORS
NoAvailableAddress: pod default/web-1 [simulated]: ip_pool 10.16.0.15 has no free address

* simulated: the pod does not exist yet; its workload would create it.
`);
  });
});

describe('actionSummary', () => {
  it('counts each action type, in the order apply writes them', () => {
    expect(actionSummary(['EmitEvent', 'DeleteIP', 'UpdateSubnetStatus', 'CreateIP', 'UpdateIP', 'PatchPodAnnotations', 'CreateIP']))
      .toBe('2 CreateIP, 1 UpdateIP, 1 PatchPodAnnotations, 1 DeleteIP, 1 UpdateSubnetStatus, 1 EmitEvent');
  });
});

describe('renderJson', () => {
  it('prints the object of DESIGN §3.7: actions with type, target and reason only', () => {
    expect(renderJson({ allocations: [web0], actions: [plan.actions[1] as Action], errors: [conflict] })).toBe(`\
{
  "allocations": [
    {
      "pod": "default/web-0",
      "provider": "ovn",
      "interface": "eth0",
      "subnet": "ovn-default",
      "ipAddress": "10.16.0.15",
      "macAddress": "00:00:00:53:6b:02",
      "cidr": "10.16.0.0/16",
      "gateway": "10.16.0.1",
      "source": "pool",
      "simulated": true
    }
  ],
  "actions": [
    {
      "type": "CreateIP",
      "target": "IP samplepod.default",
      "reason": "claims 10.16.0.2 for samplepod"
    }
  ],
  "errors": [
    {
      "pod": "default/static-ip",
      "provider": "macvlan.default",
      "interface": "net1",
      "code": "AddressConflict",
      "message": "pod default/static-ip net1 (macvlan.default): 172.17.0.11 is already taken by default/samplepod"
    }
  ]
}
`);
  });

  it('prints an empty plan as three empty lists', () => {
    expect(renderJson({ allocations: [], actions: [], errors: [] })).toBe('{\n  "allocations": [],\n  "actions": [],\n  "errors": []\n}\n');
  });

  it('is written in pieces of at least 64 KiB, together JSON.stringify of the plan, for a plan of thousands of pods', () => {
    const many: Plan = {
      allocations: Array.from({ length: 3000 }, (_, i) => ({ ...samplepod, pod: `default/p-${i}`, ...(i % 7 === 0 ? { simulated: true as const } : {}) })),
      actions: Array.from({ length: 3000 }, (_, i) => createIP(`p-${i}`, `p-${i}`, 'ovn-default', `10.16.${i >> 8}.${i & 255}`)),
      errors: [conflict],
    };
    for (const plan of [many, { ...many, errors: [] }, { ...many, allocations: [] }]) {
      const chunks = [...renderJsonChunks(plan)];
      expect(chunks.join('')).toBe(`${JSON.stringify(planJson(plan), null, 2)}\n`);
      expect(chunks.slice(0, -1).every((c) => c.length >= 1 << 16)).toBe(true);
    }
    const table = [...renderTableChunks(many)];
    expect(table.length > 1 && table.slice(0, -1).every((c) => c.length >= 1 << 16)).toBe(true);
    expect(table.join('').split('\n').slice(0, 2)).toEqual([
      'POD               INTERFACE   PROVIDER   SUBNET        ADDRESS     MAC                 SOURCE',
      'default/p-0*      eth0        ovn        ovn-default   10.16.0.2   00:00:00:53:6b:01   dynamic',
    ]);
  });
});
