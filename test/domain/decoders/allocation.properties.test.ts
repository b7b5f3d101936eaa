// The daemon's reading of a pod's annotations (issue 14, item 1): the controller writes them,
// but anyone who may edit the pod can change them after `allocated: "true"`. Whatever they say,
// the node planner's inputs are read as the daemon reads them (Daemon.add) and give a plan or
// an error naming the annotation — never a throw (a throw in the daemon is a 500 for the CNI).
import { describe, it, expect } from '@jest/globals';
import fc from 'fast-check';
import * as E from 'fp-ts/lib/Either.js';
import { planIpamAdd, planOvnAdd, validateRequest } from '../../../src/domain/cni/NodePlanner.js';
import { allocatedProvider, interfaceRoutes, isDefaultRouteInterface, parseRoutesAnnotation, readAllocation } from '../../../src/domain/cni/Routes.js';
import { siblingCidrs } from '../../../src/domain/cni/SourceRouting.js';
import { nearMissText } from './hostile.js';

/** A pod with the default network (OVN) and a macvlan attachment, both allocated. */
const annotations: Readonly<Record<string, string>> = {
  'ovn.kubernetes.io/allocated': 'true', 'ovn.kubernetes.io/ip_address': '10.16.0.5,fd00::5', 'ovn.kubernetes.io/cidr': '10.16.0.0/16,fd00::/64',
  'ovn.kubernetes.io/gateway': '10.16.0.1,fd00::1', 'ovn.kubernetes.io/mac_address': '02:00:00:00:00:05', 'ovn.kubernetes.io/logical_switch': 'ovn-default',
  'ovn.kubernetes.io/routes': '[{"dst":"10.0.0.0/8","gw":"10.16.0.1"}]',
  'macvlan.default.kubernetes.io/allocated': 'true', 'macvlan.default.kubernetes.io/ip_address': '172.17.0.5', 'macvlan.default.kubernetes.io/cidr': '172.17.0.0/16',
  'macvlan.default.kubernetes.io/gateway': '172.17.0.1', 'macvlan.default.kubernetes.io/logical_switch': 'macvlan', 'macvlan.default.kubernetes.io/default_route': 'false',
};

const request = (provider: string, ifName: string) => {
  const r = validateRequest({ cni_type: 'kube-ovn', pod_name: 'p', pod_namespace: 'default', container_id: 'c0ffee01', net_ns: '/var/run/netns/x', if_name: ifName, provider }, 'add');
  if (E.isLeft(r)) throw new Error(r.left.message);
  return r.right;
};

/** The annotations with one to four values replaced (or removed) by near-miss text. */
const edited: fc.Arbitrary<Record<string, string>> = fc
  .array(fc.tuple(fc.constantFrom(...Object.keys(annotations)), fc.option(fc.oneof(nearMissText, fc.string({ maxLength: 30 })), { nil: undefined })), { minLength: 1, maxLength: 4 })
  .map((edits) => {
    const out: Record<string, string> = { ...annotations };
    for (const [key, value] of edits) {
      if (value === undefined) delete out[key];
      else out[key] = value;
    }
    return out;
  });

describe('the node planner\'s inputs from edited annotations (fast-check)', () => {
  it.each([['ovn', 'eth0'], ['macvlan.default', 'net1']])('%s on %s: a plan, or an error naming an annotation', (provider, ifName) => {
    const req = request(provider, ifName);
    let planned = 0;
    fc.assert(fc.property(edited, (a) => {
      const allocated = allocatedProvider(a, provider, ifName);
      if (allocated === undefined) return;
      const allocation = readAllocation(a, allocated);
      const routes = parseRoutesAnnotation(a, allocated);
      if (E.isLeft(allocation)) expect(allocation.left).toMatch(new RegExp(`^the pod's allocation for provider ${allocated.replace(/\./g, '\\.')} cannot be used: annotation ${allocated.replace(/\./g, '\\.')}\\.kubernetes\\.io/`));
      if (E.isLeft(routes)) expect(routes.left).toMatch(/^annotation \S+\.kubernetes\.io\/routes: /);
      if (E.isLeft(allocation) || E.isLeft(routes)) return;
      const input = {
        request: req, provider: allocated, allocation: allocation.right, defaultRoute: isDefaultRouteInterface(ifName, a, allocated),
        routes: interfaceRoutes([], routes.right), siblingCidrs: siblingCidrs(a, allocated),
      };
      if (provider === 'ovn') planOvnAdd({ ...input, host: { hostLink: false, port: false, ifacePorts: [] } }, { bridge: 'br-int', defaultMtu: 1400, ovnInstalledTimeoutMs: 0 });
      else planIpamAdd(input);
      planned += 1;
    }), { numRuns: 2000 });
    // Most edits leave a usable allocation: the planners themselves ran on hostile values.
    expect(planned).toBeGreaterThan(500);
  });
});
