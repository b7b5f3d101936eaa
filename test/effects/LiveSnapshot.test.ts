// The controller's view of the cluster (src/effects/LiveSnapshot.ts), in memory: which
// addresses count as released (reused last by the planner), and what an answer from the API
// server that does not decode does to what the snapshot held.
import { describe, expect, it } from '@jest/globals';
import type { Action, IpObject } from '../../src/domain/Plan.js';
import { LiveSnapshot } from '../../src/effects/LiveSnapshot.js';
import { memoryLog } from '../harness/inProcess.js';

const spec = (address: string) => ({
  podName: 'p', namespace: 'default', subnet: 'ovn-default', nodeName: '', ipAddress: address, v4IpAddress: address, v6IpAddress: '',
  macAddress: '00:00:00:aa:bb:cc', containerID: '', podType: '', attachIps: [], attachMacs: [], attachSubnets: [],
});
const ipRaw = (address: string, rv: number): unknown => ({ apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: 'p.default', resourceVersion: String(rv) }, spec: spec(address) });
const intended = (type: 'CreateIP' | 'UpdateIP', address: string): Action => {
  const ip: IpObject = { name: 'p.default', labels: {}, spec: spec(address) };
  return { type, target: 'p.default', reason: 'test', ip };
};
const addresses = (live: LiveSnapshot) => live.released.map((r) => `${r.subnet} ${r.ipAddress}`);
const held = (live: LiveSnapshot) => live.snapshot.ips.get('p.default')?.object.spec.ipAddress;

describe('LiveSnapshot: released addresses', () => {
  it('an IP object the server deleted releases its address (watch or own write)', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'ADDED', kind: 'ips', object: ipRaw('10.16.0.9', 5) });
    live.onEvent({ type: 'DELETED', kind: 'ips', object: ipRaw('10.16.0.9', 6) });
    expect(addresses(live)).toEqual(['ovn-default 10.16.0.9']);
    live.recordWrite('ips', 'p.default', ipRaw('10.16.0.3', 7));
    live.recordWrite('ips', 'p.default', null);
    expect(addresses(live)).toEqual(['ovn-default 10.16.0.9', 'ovn-default 10.16.0.3']);
  });

  it('an IP object updated to another address releases the old one, once', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'ADDED', kind: 'ips', object: ipRaw('10.16.0.9', 5) });
    live.applyIntended([intended('UpdateIP', '10.16.0.2')]);
    expect(addresses(live)).toEqual([]);
    live.recordWrite('ips', 'p.default', ipRaw('10.16.0.2', 6));
    live.onEvent({ type: 'MODIFIED', kind: 'ips', object: ipRaw('10.16.0.2', 6) });
    expect([addresses(live), held(live)]).toEqual([['ovn-default 10.16.0.9'], '10.16.0.2']);
  });

  it('a write that failed released nothing: the intended address was never the server\'s', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'RESET', kind: 'ips', objects: [] });
    live.applyIntended([intended('CreateIP', '10.16.0.2')]);
    expect(held(live)).toBe('10.16.0.2');
    live.recordWrite('ips', 'p.default', null); // the refresh after a failed create: nothing there
    expect([addresses(live), held(live)]).toEqual([[], undefined]);
  });

  it('an IP object gone while the watch was down (absent from the re-list) releases its address', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'RESET', kind: 'ips', objects: [ipRaw('10.16.0.9', 5)] });
    live.onEvent({ type: 'RESET', kind: 'ips', objects: [] });
    expect(addresses(live)).toEqual(['ovn-default 10.16.0.9']);
  });
});

describe('LiveSnapshot: an answer that does not decode', () => {
  it('drops the intended object under its name, and says why', () => {
    const log = memoryLog();
    const live = new LiveSnapshot(log);
    live.onEvent({ type: 'RESET', kind: 'ips', objects: [] });
    live.applyIntended([intended('CreateIP', '10.16.0.2')]);
    // Every spec field is optional (as the CRD has it), so only a wrong type fails to decode.
    live.recordWrite('ips', 'p.default', { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: 'p.default', resourceVersion: '8' }, spec: { ...spec('10.16.0.9'), containerID: 5, podType: ['x'] } });
    expect(held(live)).toBeUndefined();
    expect(log.lines).toEqual(['warn ignoring an object that does not decode {"kind":"ips","problem":"IP \\"p.default\\": spec.containerID: expected a string, got the number 5; spec.podType: expected a string, got an array"}']);
  });
});

describe('LiveSnapshot: one object whose decoding throws', () => {
  /** An IP object whose spec cannot be read (a getter that throws): decoding it throws. */
  const throwing = (name: string): unknown => ({
    apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name, resourceVersion: '9' },
    get spec(): never {
      throw new Error('a bug met this object');
    },
  });

  it.each<[string, (live: LiveSnapshot) => readonly string[]]>([
    ['in a re-list, the others of its kind are kept', (live) => live.onEvent({ type: 'RESET', kind: 'ips', objects: [ipRaw('10.16.0.9', 5), throwing('q.default')] })],
    ['as a watch event, nothing else changes', (live) => {
      live.onEvent({ type: 'RESET', kind: 'ips', objects: [ipRaw('10.16.0.9', 5)] });
      return live.onEvent({ type: 'ADDED', kind: 'ips', object: throwing('q.default') });
    }],
  ])('%s: it is logged and ignored', (_name, act) => {
    const log = memoryLog();
    const live = new LiveSnapshot(log);
    const changed = act(live);
    expect([changed.includes('ips/q.default'), [...live.snapshot.ips.keys()], held(live)]).toEqual([false, ['p.default'], '10.16.0.9']);
    expect(log.lines).toEqual(['warn ignoring an object that does not decode {"kind":"ips","problem":"decoding threw: a bug met this object"}']);
  });
});

describe('LiveSnapshot: a plan whose write failed is reverted (found by the chaos run of issue 14)', () => {
  const deleteIp: Action = { type: 'DeleteIP', target: 'p.default', reason: 'test' };

  it('a failed delete shows the IP object again, so the sweep still sees it (it was a leak when the re-read failed too)', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'ADDED', kind: 'ips', object: ipRaw('10.16.0.9', 5) });
    live.applyIntended([deleteIp]);
    expect(held(live)).toBeUndefined();
    live.revertIntended([deleteIp]);
    expect([held(live), addresses(live)]).toEqual(['10.16.0.9', []]);
  });

  it('a failed create shows no IP object again (annotations were published without a claim)', () => {
    const live = new LiveSnapshot(memoryLog());
    live.applyIntended([intended('CreateIP', '10.16.0.2')]);
    expect(held(live)).toBe('10.16.0.2');
    live.revertIntended([intended('CreateIP', '10.16.0.2')]);
    expect(live.snapshot.ips.has('p.default')).toBe(false);
  });

  it('what the server said since (an answer or an event) is the truth and stays', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'ADDED', kind: 'ips', object: ipRaw('10.16.0.9', 5) });
    live.applyIntended([intended('UpdateIP', '10.16.0.2')]);
    live.recordWrite('ips', 'p.default', ipRaw('10.16.0.2', 6));
    live.revertIntended([intended('UpdateIP', '10.16.0.2')]);
    expect(held(live)).toBe('10.16.0.2');
    live.applyIntended([deleteIp]);
    live.onEvent({ type: 'MODIFIED', kind: 'ips', object: ipRaw('10.16.0.4', 7) });
    live.revertIntended([deleteIp]);
    expect(held(live)).toBe('10.16.0.4');
  });

  it('a pod annotation patch and a Subnet status that failed are the old ones again', () => {
    const live = new LiveSnapshot(memoryLog());
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1', resourceVersion: '3', annotations: { a: '1' } }, spec: { containers: [] } };
    live.onEvent({ type: 'ADDED', kind: 'pods', object: pod });
    const patch: Action = { type: 'PatchPodAnnotations', target: 'default/p', reason: 'test', annotations: { a: '2' } } as Action;
    live.applyIntended([patch]);
    expect(live.snapshot.pods.get('default/p')?.object.metadata.annotations).toEqual({ a: '2' });
    live.revertIntended([patch]);
    expect(live.snapshot.pods.get('default/p')?.object.metadata.annotations).toEqual({ a: '1' });
  });
});

describe('LiveSnapshot: the echo of our own write names no key, even before its answer', () => {
  /** The server's copy of an intended IP object: what the server adds, its keys in another order. */
  const serverCopy = (address: string, rv: number): unknown => {
    const s = spec(address);
    const reordered = Object.fromEntries(Object.entries(s).reverse());
    return { spec: reordered, metadata: { uid: 'u-ip', creationTimestamp: '2026-12-08T00:00:00Z', resourceVersion: String(rv), name: 'p.default', labels: {} }, kind: 'IP', apiVersion: 'kubeovn.io/v1' };
  };
  const pod = (annotations: Record<string, string>, rv: number, labels?: Record<string, string>) => ({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', uid: 'u1', resourceVersion: String(rv), annotations, ...(labels === undefined ? {} : { labels }) }, spec: { containers: [] },
  });
  const patch = { type: 'PatchPodAnnotations', target: 'default/p', reason: 'test', annotations: { a: '2' } } as Action;

  it.each([
    ['the server\'s copy of the intended IP object', serverCopy('10.16.0.2', 6), []],
    ['an IP object with another address', serverCopy('10.16.0.3', 6), ['ips/p.default']],
  ])('an IP create, then %s as an event before the answer', (_, event, keys) => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'RESET', kind: 'ips', objects: [] });
    live.applyIntended([intended('CreateIP', '10.16.0.2')]);
    expect(live.onEvent({ type: 'ADDED', kind: 'ips', object: event })).toEqual(keys);
    // Either way the server's copy is held, and its answer is then nothing new.
    expect((live.snapshot.ips.get('p.default')?.object.metadata as { uid?: string }).uid).toBe('u-ip');
    live.recordWrite('ips', 'p.default', event);
    expect(live.onEvent({ type: 'MODIFIED', kind: 'ips', object: event })).toEqual([]);
  });

  it.each([
    ['as patched', pod({ a: '2' }, 6), []],
    ['as patched, with a label someone else added', pod({ a: '2' }, 6, { app: 'x' }), ['pods/default/p']],
    ['with another value', pod({ a: '3' }, 6), ['pods/default/p']],
  ])('a pod annotation patch, then the pod %s as an event before the answer', (_, event, keys) => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'ADDED', kind: 'pods', object: pod({ a: '1' }, 5) });
    live.applyIntended([patch]);
    expect(live.onEvent({ type: 'MODIFIED', kind: 'pods', object: event })).toEqual(keys);
  });

  it('without an intent, the same object is a change (someone else wrote it)', () => {
    const live = new LiveSnapshot(memoryLog());
    live.onEvent({ type: 'ADDED', kind: 'pods', object: pod({ a: '1' }, 5) });
    expect(live.onEvent({ type: 'MODIFIED', kind: 'pods', object: pod({ a: '2' }, 6) })).toEqual(['pods/default/p']);
  });
});
