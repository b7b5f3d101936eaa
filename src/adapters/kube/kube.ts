// The Kube port (src/effects/ports.ts) over the REST chokepoint: raw JSON in and out, no
// generated client models (they would rename and drop fields of our custom resources).
//
// Rules:
// - Patches are JSON merge patches (`application/merge-patch+json`): they work the same on
//   built-in kinds and custom resources, and `null` deletes a key.
// - Deleting what is absent resolves; reading what is absent resolves to undefined.
// - An IP object carries our finalizer from its creation, so it cannot vanish under a claim;
//   deleteIP removes only our finalizer (guarded by resourceVersion, so a finalizer someone
//   else adds in between is kept) and then deletes.
// - A Lease update is a merge patch that carries metadata.resourceVersion: the API server
//   applies it only to that version (else 409 Conflict), like a PUT, but it keeps the fields
//   the port does not know (acquireTime on a renewal, leaseTransitions).
// - MicroTime fields are written with exactly six fraction digits: the API server rejects a
//   `now` of Date.toISOString()'s three.
import type { KubeConfig } from '@kubernetes/client-node';
import type { IPPoolStatusView, SubnetStatusView } from '../../domain/Plan.js';
import { KubeApiError, type Kube, type Lease, type PodEvent } from '../../effects/ports.js';
import { makeRest, type Request, type RestOptions } from './rest.js';

export const IP_FINALIZER = 'kube-ovn-ipam.io/ip';
export const COMPONENT = 'kube-ovn-ipam';

const MERGE = 'application/merge-patch+json';
const IPS = '/apis/kubeovn.io/v1/ips';
const enc = encodeURIComponent;

const podPath = (namespace: string, name: string): string => `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`;
const ipPath = (name: string): string => `${IPS}/${enc(name)}`;
const leasesPath = (namespace: string): string => `/apis/coordination.k8s.io/v1/namespaces/${enc(namespace)}/leases`;

/** The Kube port for `kc`'s current cluster. */
export function makeKube(kc: KubeConfig, options: RestOptions = {}): Kube {
  return kubeOver(makeRest(kc, options));
}

/** The Kube port over any request function (the one the watcher shares, for instance). */
export function kubeOver(request: Request): Kube {
  /** The object, or undefined on 404. */
  const getOrUndefined = async (path: string): Promise<unknown> => {
    try {
      return await request('GET', path);
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === 'NotFound') return undefined;
      throw err;
    }
  };

  const removeFinalizer = async (name: string): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const current = await getOrUndefined(ipPath(name));
      if (current === undefined) return;
      const meta = metadataOf(current);
      const finalizers = stringArray(meta['finalizers']);
      if (!finalizers.includes(IP_FINALIZER)) return;
      const rest = finalizers.filter((f) => f !== IP_FINALIZER);
      try {
        await request('PATCH', ipPath(name), {
          contentType: MERGE,
          body: { metadata: { resourceVersion: meta['resourceVersion'], finalizers: rest.length === 0 ? null : rest } },
        });
        return;
      } catch (err) {
        if (err instanceof KubeApiError && err.kind === 'NotFound') return;
        // Someone changed the object between our read and our patch: read again.
        if (!(err instanceof KubeApiError && err.kind === 'Conflict') || attempt >= 5) throw err;
      }
    }
  };

  /** Records an Event about `involvedObject` in `namespace` (core/v1 Event, count 1). */
  const postEvent = async (namespace: string, involvedObject: Readonly<Record<string, string>>, event: PodEvent): Promise<void> => {
    const now = new Date().toISOString();
    await request('POST', `/api/v1/namespaces/${enc(namespace)}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${involvedObject['name'] ?? ''}.`, namespace },
        involvedObject,
        reason: event.reason,
        message: event.message,
        type: event.type,
        source: { component: COMPONENT },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
        reportingComponent: COMPONENT,
      },
    });
  };

  return {
    patchPodAnnotations: (namespace, name, annotations) =>
      request('PATCH', podPath(namespace, name), { contentType: MERGE, body: { metadata: { annotations } } }),

    createIP: (ip) =>
      request('POST', IPS, {
        body: { apiVersion: 'kubeovn.io/v1', kind: 'IP', metadata: { name: ip.name, labels: ip.labels, finalizers: [IP_FINALIZER] }, spec: ip.spec },
      }),

    updateIP: (ip) => request('PATCH', ipPath(ip.name), { contentType: MERGE, body: { metadata: { labels: ip.labels }, spec: ip.spec } }),

    deleteIP: async (name) => {
      await removeFinalizer(name);
      try {
        await request('DELETE', ipPath(name));
      } catch (err) {
        if (!(err instanceof KubeApiError && err.kind === 'NotFound')) throw err;
      }
    },

    patchSubnetStatus: (name, status: SubnetStatusView) =>
      request('PATCH', `/apis/kubeovn.io/v1/subnets/${enc(name)}/status`, { contentType: MERGE, body: { status } }),

    patchIPPoolStatus: (name, status: IPPoolStatusView) =>
      request('PATCH', `/apis/kubeovn.io/v1/ippools/${enc(name)}/status`, { contentType: MERGE, body: { status } }),

    emitPodEvent: (namespace, name, uid, event: PodEvent) =>
      postEvent(namespace, { apiVersion: 'v1', kind: 'Pod', namespace, name, ...(uid === undefined ? {} : { uid }) }, event),

    // A cluster-scoped object's Events live in `default`, where kubectl describe looks.
    emitSubnetEvent: (name, uid, event: PodEvent) =>
      postEvent('default', { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', name, ...(uid === undefined ? {} : { uid }) }, event),

    emitIPEvent: (name, uid, event: PodEvent) =>
      postEvent('default', { apiVersion: 'kubeovn.io/v1', kind: 'IP', name, ...(uid === undefined ? {} : { uid }) }, event),

    getPod: (namespace, name) => getOrUndefined(podPath(namespace, name)),

    getIP: (name) => getOrUndefined(ipPath(name)),

    getLease: async (namespace, name) => {
      const lease = await getOrUndefined(`${leasesPath(namespace)}/${enc(name)}`);
      return lease === undefined ? undefined : leaseOf(lease);
    },

    createLease: async (namespace, name, holder, durationSeconds, now) => {
      const at = microTime(now, `POST ${leasesPath(namespace)}`);
      const created = await request('POST', leasesPath(namespace), {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: 0 },
        },
      });
      return leaseOf(created);
    },

    updateLease: async (namespace, name, holder, durationSeconds, now, resourceVersion, acquired) => {
      const path = `${leasesPath(namespace)}/${enc(name)}`;
      const at = microTime(now, `PATCH ${path}`);
      const updated = await request('PATCH', path, {
        contentType: MERGE,
        body: {
          metadata: { resourceVersion },
          spec: { holderIdentity: holder, leaseDurationSeconds: durationSeconds, renewTime: at, ...(acquired ? { acquireTime: at } : {}) },
        },
      });
      return leaseOf(updated);
    },
  };
}

/**
 * `now` (RFC 3339, any fraction length, any offset) as a MicroTime: UTC, six fraction digits.
 * Rejects (as Invalid) what is not a time.
 */
export function microTime(now: string, operation: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(now);
  const ms = Date.parse(now);
  if (m === null || Number.isNaN(ms)) throw new KubeApiError('Invalid', 0, operation, `not an RFC 3339 time: ${JSON.stringify(now)}`);
  const micros = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  // Whole seconds from Date (which also applies the offset); the fraction from the text.
  const seconds = new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19);
  return `${seconds}.${micros}Z`;
}

function metadataOf(obj: unknown): Record<string, unknown> {
  const meta = typeof obj === 'object' && obj !== null ? (obj as { readonly metadata?: unknown }).metadata : undefined;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
}

function stringArray(v: unknown): readonly string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

const optString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The Lease record of a coordination.k8s.io/v1 Lease's JSON. */
export function leaseOf(obj: unknown): Lease {
  const spec = typeof obj === 'object' && obj !== null ? (obj as { readonly spec?: unknown }).spec : undefined;
  const s = typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
  const duration = s['leaseDurationSeconds'];
  return {
    holder: optString(s['holderIdentity']),
    renewTime: optString(s['renewTime']),
    leaseDurationSeconds: typeof duration === 'number' ? duration : undefined,
    resourceVersion: optString(metadataOf(obj)['resourceVersion']) ?? '',
  };
}
