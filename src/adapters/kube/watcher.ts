// The Watcher port (src/effects/ports.ts): list+watch of one kind, kept alive until stop().
//
// Rules:
// - LIST (raw JSON through the REST chokepoint, every page: `limit` + `continue`), then RESET
//   with every item (each given its list's apiVersion and kind when it lacks them), then WATCH
//   from the list's resourceVersion with client-node's `Watch`, which hands over each event's
//   `object` as the plain JSON.parse result (no model classes, no date conversion).
// - A clean close (the server's timeoutSeconds) re-watches from the last resourceVersion seen,
//   BOOKMARKs included. A 410 Gone (an ERROR event with code 410, or an HTTP 410) lists again at
//   once and emits RESET. Any other failure is reported through onError, then waits (exponential
//   backoff) and lists again. The backoff returns to its start once a watch proves healthy (it
//   delivered an event or lasted a second): a successful LIST alone does not, or a watch that is
//   refused right after each LIST would be retried at the initial delay forever.
// - A kind whose resource is not served (404 on LIST: the CRD is not installed, e.g. NADs on a
//   cluster without Multus) is an empty kind: RESET with no objects and one onError (NotFound)
//   when it goes missing, then a quiet LIST every `missingRetryMs` until it appears.
// - client-node's Watch swallows whatever the event callback throws; we catch it ourselves and
//   report it through onError, so a bug in a consumer is never silent.
// - Watch has no client-side timeout (it replaces its own 30 s timer signal): a watchdog ends a
//   watch that outlives timeoutSeconds by a minute (a silently dead connection) and re-watches.
// - stop() sets a flag that gates every delivery, aborts the watch, the pending LIST and any
//   sleep, and resolves when the loop has ended: no event and no error is delivered after it.
// - `queries` adds a kind's query parameters (a fieldSelector, say) to its LIST and WATCH alike.
// - Every object is handed over without `metadata.managedFields` (the server-side apply
//   bookkeeping, which nothing here reads): it is dropped as each LIST page and each event
//   arrives, so a cache of 100,000 objects does not keep half its memory in it.
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, type WatchedKind, type WatchEvent, type WatchHandle, type Watcher } from '../../effects/ports.js';
import { errorFromResponse, makeRest, toKubeApiError, type Query, type Request } from './rest.js';

/** The collection path of every watched kind (all namespaces). */
export const WATCH_PATHS: Readonly<Record<WatchedKind, string>> = {
  pods: '/api/v1/pods',
  namespaces: '/api/v1/namespaces',
  subnets: '/apis/kubeovn.io/v1/subnets',
  ips: '/apis/kubeovn.io/v1/ips',
  ippools: '/apis/kubeovn.io/v1/ippools',
  nads: '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions',
  statefulsets: '/apis/apps/v1/statefulsets',
  replicasets: '/apis/apps/v1/replicasets',
  virtualmachines: '/apis/kubevirt.io/v1/virtualmachines',
  virtualmachineinstances: '/apis/kubevirt.io/v1/virtualmachineinstances',
};

export interface WatcherOptions {
  /** Delay before re-listing after a failure; default 200 ms doubling up to 10 s. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** The server ends each watch after this long (then we re-watch); default 300. */
  readonly timeoutSeconds?: number;
  /** Objects per LIST page; default 500. */
  readonly pageSize?: number;
  /** How often to look again for a kind that is not served; default 10 000 ms. */
  readonly missingRetryMs?: number;
  /** Overrides of WATCH_PATHS (tests point a kind at a path that is not served). */
  readonly paths?: Partial<Record<WatchedKind, string>>;
  /** The REST chokepoint to list with; default one made from the KubeConfig. */
  readonly request?: Request;
  /** Extra query parameters of a kind's LIST and WATCH, e.g. the daemon's
   *  `{ pods: { fieldSelector: 'spec.nodeName=node-a' } }`. */
  readonly queries?: Partial<Record<WatchedKind, Query>>;
}

type WatchEnd =
  | { readonly type: 'closed'; readonly healthy: boolean }
  | { readonly type: 'gone' }
  | { readonly type: 'error'; readonly error: KubeApiError; readonly healthy: boolean };

interface Listed {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** The items' apiVersion and kind, from the list. */
  readonly apiVersion: string | undefined;
  readonly kind: string | undefined;
}

const HEALTHY_MS = 1_000;

const asRecord = (v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {});
const optString = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The Watcher for `kc`'s current cluster. */
export function makeWatcher(kc: KubeConfig, options: WatcherOptions = {}): Watcher {
  const request = options.request ?? makeRest(kc);
  const initialMs = options.backoff?.initialMs ?? 200;
  const maxMs = options.backoff?.maxMs ?? 10_000;
  const timeoutSeconds = options.timeoutSeconds ?? 300;
  const pageSize = options.pageSize ?? 500;
  const missingRetryMs = options.missingRetryMs ?? 10_000;

  return {
    watch(kind, onEvent, onError): WatchHandle {
      const path = options.paths?.[kind] ?? WATCH_PATHS[kind];
      const extra: Query = options.queries?.[kind] ?? {};
      const stopper = new AbortController();
      const stopping = stopper.signal;

      const report = (err: KubeApiError): void => {
        if (!stopping.aborted) onError(err);
      };
      const emit = (e: WatchEvent): void => {
        if (stopping.aborted) return;
        try {
          onEvent(e);
        } catch (err) {
          report(new KubeApiError('Other', 0, `watch ${kind}`, `the event handler threw: ${err instanceof Error ? err.message : String(err)}`));
        }
      };
      const sleep = (ms: number): Promise<void> =>
        new Promise((resolve) => {
          if (stopping.aborted) return resolve();
          const wake = (): void => {
            clearTimeout(timer);
            stopping.removeEventListener('abort', wake);
            resolve();
          };
          const timer = setTimeout(wake, ms);
          stopping.addEventListener('abort', wake, { once: true });
        });

      const listAll = async (): Promise<Listed> => {
        const items: unknown[] = [];
        let cont: string | undefined;
        let list: Record<string, unknown>;
        do {
          list = asRecord(await request('GET', path, { query: { ...extra, limit: pageSize, continue: cont }, signal: stopping }));
          if (Array.isArray(list['items'])) for (const o of list['items'] as unknown[]) items.push(received(o, typeMetaOf(list)));
          cont = optString(asRecord(list['metadata'])['continue']);
        } while (cont !== undefined);
        return { items, resourceVersion: optString(asRecord(list['metadata'])['resourceVersion']) ?? '', ...typeMetaOf(list) };
      };

      /** One WATCH from `rv`; `seen` records each resourceVersion it delivers. */
      const watchOnce = (listed: Listed, rv: string, seen: (rv: string) => void): Promise<WatchEnd> =>
        new Promise((resolve) => {
          const operation = `WATCH ${path}`;
          const startedAt = Date.now();
          let delivered = false;
          let settled = false;
          let controller: AbortController | undefined;
          const healthy = (): boolean => delivered || Date.now() - startedAt >= HEALTHY_MS;
          const finish = (end: WatchEnd): void => {
            if (settled) return;
            settled = true;
            clearTimeout(watchdog);
            stopping.removeEventListener('abort', onStop);
            controller?.abort();
            resolve(end);
          };
          const onStop = (): void => finish({ type: 'closed', healthy: true });
          stopping.addEventListener('abort', onStop, { once: true });
          const watchdog = setTimeout(() => finish({ type: 'closed', healthy: true }), (timeoutSeconds + 60) * 1000);
          const onWatchEvent = (type: string, obj: unknown): void => {
            if (settled) return;
            const version = optString(asRecord(asRecord(obj)['metadata'])['resourceVersion']);
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
              delivered = true;
              if (version !== undefined) seen(version);
              emit({ type, kind, object: received(obj, listed) });
            } else if (type === 'BOOKMARK') {
              delivered = true;
              if (version !== undefined) seen(version);
            } else if (type === 'ERROR') {
              const code = asRecord(obj)['code'];
              const status = typeof code === 'number' ? code : 0;
              finish(status === 410 ? { type: 'gone' } : { type: 'error', error: errorFromResponse(operation, status, obj, ''), healthy: healthy() });
            }
          };
          const onDone = (err: unknown): void => {
            if (err === null || err === undefined) return finish({ type: 'closed', healthy: healthy() });
            const error = toKubeApiError(operation, err);
            finish(error.status === 410 ? { type: 'gone' } : { type: 'error', error, healthy: healthy() });
          };
          new Watch(kc)
            .watch(path, { ...extra, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds }, onWatchEvent, onDone)
            .then(
              (c) => {
                controller = c;
                if (settled) c.abort();
              },
              (err: unknown) => finish({ type: 'error', error: toKubeApiError(operation, err), healthy: false }),
            );
        });

      const run = async (): Promise<void> => {
        let delay = initialMs;
        const backOff = async (): Promise<void> => {
          await sleep(delay);
          delay = Math.min(delay * 2, maxMs);
        };
        let missing = false;
        while (!stopping.aborted) {
          let listed: Listed;
          try {
            listed = await listAll();
          } catch (err) {
            if (stopping.aborted) return;
            const error = toKubeApiError(`LIST ${path}`, err);
            if (error.kind === 'NotFound') {
              if (!missing) {
                missing = true;
                emit({ type: 'RESET', kind, objects: [] });
                report(error);
              }
              await sleep(missingRetryMs);
            } else if (error.status !== 410) {
              // 410 here is an expired continue token: list again at once.
              report(error);
              await backOff();
            }
            continue;
          }
          if (stopping.aborted) return;
          missing = false;
          emit({ type: 'RESET', kind, objects: listed.items });
          let rv = listed.resourceVersion;
          for (;;) {
            const end = await watchOnce(listed, rv, (v) => (rv = v));
            if (stopping.aborted) return;
            if (end.type === 'gone') break;
            if (end.healthy) delay = initialMs;
            if (end.type === 'closed') {
              if (!end.healthy) await backOff();
              continue;
            }
            report(end.error);
            await backOff();
            break;
          }
        }
      };

      // run() handles its own failures; this only keeps a bug in it from being an unhandled rejection.
      const loop = run().catch((err: unknown) => report(toKubeApiError(`watch ${kind}`, err)));
      return {
        stop: async () => {
          stopper.abort();
          await loop;
        },
      };
    },
  };
}

/** The items' apiVersion and kind, from a list. */
function typeMetaOf(list: Record<string, unknown>): Pick<Listed, 'apiVersion' | 'kind'> {
  const listKind = optString(list['kind']);
  return { apiVersion: optString(list['apiVersion']), kind: listKind?.endsWith('List') === true ? listKind.slice(0, -'List'.length) : undefined };
}

/** A received object (just parsed, so ours to change) without its managedFields, and with its
 *  list's apiVersion and kind when it has none (built-in lists leave them out). */
function received(obj: unknown, listed: Pick<Listed, 'apiVersion' | 'kind'>): unknown {
  if (typeof obj !== 'object' || obj === null) return obj;
  const o = obj as Record<string, unknown>;
  const meta = o['metadata'];
  if (typeof meta === 'object' && meta !== null && 'managedFields' in meta) {
    // A copy without it, not `delete`: a deleted property turns the object into a slower, larger dictionary.
    const { managedFields: _dropped, ...rest } = meta as Record<string, unknown>;
    o['metadata'] = rest;
  }
  if ((o['apiVersion'] !== undefined || listed.apiVersion === undefined) && (o['kind'] !== undefined || listed.kind === undefined)) return obj;
  return {
    ...(listed.apiVersion === undefined ? {} : { apiVersion: listed.apiVersion }),
    ...(listed.kind === undefined ? {} : { kind: listed.kind }),
    ...o,
  };
}
