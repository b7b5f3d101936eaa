// What the controller does when reconciling one key threw (a bug, in the planner or in apply,
// met by one object): the work queue caught it (WorkQueue.ts) and retries the key with backoff;
// here it is reported, so it is never silent and never more than that key's problem.
// Rules:
// - Every throw is counted (kube_ovn_ipam_reconcile_panics_total{queue}).
// - A throw is logged (warn: queue, key, error; debug: the stack) and, for a pod, told by a
//   Warning Event `ReconcileFailed` whose message starts `InternalError:`, once per distinct
//   error of the key: a key that keeps throwing the same thing is not reported at every retry.
// - The Event is best effort, as in apply: a failed Event is logged and nothing else.
// - `throwFor` is a test-only fault hook (ControllerOptions.throwFor): the production wiring
//   (src/cli/controller.ts) never sets it. It stands for a planner or apply that throws.
import { capEventMessage } from '../domain/Plan.js';
import type { Metrics } from './metrics.js';
import type { Kube, Log } from './ports.js';

/** Where the controller can meet a throw: its three queues, the watch events, and the sweep
 *  (key: an IP object's name, or `*` for the sweep as a whole). */
export type ReconcileSite = 'pods' | 'subnets' | 'ippools' | 'events' | 'sweep';

/** A test-only hook: true makes that key's reconcile (or that object's event) throw. */
export type ThrowHook = (site: ReconcileSite, key: string) => boolean;

/** The Event reason of a pod whose reconcile threw. */
export const RECONCILE_FAILED = 'ReconcileFailed';

export interface ReportDeps {
  readonly kube: Kube;
  readonly log: Log;
  readonly metrics: Metrics;
  /** The pod's UID as the cache holds it (the Event's involvedObject), if it is known. */
  readonly podUid: (key: string) => string | undefined;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The message of the Warning Event of a pod whose reconcile threw `err` (capped). */
export const reconcileFailedMessage = (err: unknown): string =>
  capEventMessage(`InternalError: reconciling this pod failed unexpectedly and is retried with backoff: ${messageOf(err)}`);

/** Throws when the test-only hook names this key (see ThrowHook). */
export const injectThrow = (hook: ThrowHook | undefined, site: ReconcileSite, key: string): void => {
  if (hook?.(site, key) === true) throw new Error(`injected fault (test hook throwFor) at ${site} ${key}`);
};

/** Reports a throw of `site` for `key`; `repeated`: the key's last attempt threw the same. */
export const reportThrow = (deps: ReportDeps, site: ReconcileSite, key: string, err: unknown, repeated: boolean): void => {
  deps.metrics.reconcilePanics.inc({ queue: site });
  if (repeated) return;
  const error = messageOf(err);
  const what = site === 'events' ? 'handling a watch event threw: planner state dropped, key queued'
    : site === 'sweep' ? 'sweep threw: skipped until the next sweep' : 'reconcile threw: retrying with backoff';
  deps.log.warn(what, { queue: site, key, error });
  deps.log.debug(`${what} (stack)`, { queue: site, key, stack: err instanceof Error ? err.stack : undefined });
  if (site !== 'pods') return;
  const i = key.indexOf('/');
  const [ns, name] = [key.slice(0, i), key.slice(i + 1)];
  void deps.kube.emitPodEvent(ns, name, deps.podUid(key), { type: 'Warning', reason: RECONCILE_FAILED, message: reconcileFailedMessage(err) })
    .catch((e: unknown) => deps.log.warn('could not record an event', { pod: key, reason: RECONCILE_FAILED, error: String(e) }));
};
