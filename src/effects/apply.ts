// Applying a plan: each action through the Kube port, in the plan's order, which is the
// durable order of DESIGN §3.5 (IP object, then pod annotations, then status). It stops at the
// first failure and says what the caller should do:
// - `replan`: the world was not what the plan assumed (409, 404): refresh, plan again now;
// - `retry`: the API server did not answer or failed (network, 429, 5xx): plan again later;
// - `terminal`: the server refused the write (400, 422, 403): retrying the same plan cannot help.
// OVN actions (logical switches and ports) go through the Ovn port, a run of consecutive ones as
// one transaction (a pod's switches and ports land together or not at all): a failed
// ovn-nbctl is `retry`; an OVN action without an Ovn port configured is `terminal` (a
// plan/config mismatch).
// A write is only attempted while `canWrite()` holds (the leader's fence). Events are best
// effort: a failed Event is logged and the plan goes on.
import type { Action, ActionType, OvnAction } from '../domain/Plan.js';
import { capEventMessage, isOvnAction } from '../domain/Plan.js';
import type { LiveSnapshot } from './LiveSnapshot.js';
import type { Kube, Log, Ovn } from './ports.js';
import { KubeApiError } from './ports.js';

export type ApplyResult =
  | { readonly kind: 'applied'; readonly count: number }
  | { readonly kind: 'replan' | 'retry' | 'terminal' | 'fenced'; readonly action: Action; readonly error: string };

/** A test-only hook: called before and after each write (the crash tests kill the process here). */
export type FaultHook = (stage: 'before' | 'after', type: ActionType, target: string) => void;

export interface ApplyDeps {
  readonly kube: Kube;
  readonly live: LiveSnapshot;
  readonly log: Log;
  readonly canWrite: () => boolean;
  readonly fault?: FaultHook | undefined;
  /** OVN's NB database; absent when the controller does not manage OVN. */
  readonly ovn?: Ovn | undefined;
}

/** An OVN action reached apply with no Ovn port configured. */
class NoOvnError extends Error {}

const ovnOf = (deps: ApplyDeps, a: Action): Ovn => {
  if (deps.ovn === undefined) throw new NoOvnError(`${a.type} ${a.target}: no OVN northbound database configured (--ovn-nb)`);
  return deps.ovn;
};

const splitKey = (key: string): [string, string] => {
  const i = key.indexOf('/');
  return [key.slice(0, i), key.slice(i + 1)];
};

/** The actions that go to the API server, one call each (OVN's go through applyOvn). */
type KubeAction = Exclude<Action, OvnAction>;

const write = async (deps: ApplyDeps, a: KubeAction): Promise<void> => {
  const { kube, live } = deps;
  switch (a.type) {
    case 'CreateIP':
      live.recordWrite('ips', a.target, await kube.createIP(a.ip));
      return;
    case 'UpdateIP':
      live.recordWrite('ips', a.target, await kube.updateIP(a.ip));
      return;
    case 'DeleteIP':
      await kube.deleteIP(a.target);
      live.recordWrite('ips', a.target, null);
      return;
    case 'PatchPodAnnotations': {
      const [ns, name] = splitKey(a.target);
      live.recordWrite('pods', a.target, await kube.patchPodAnnotations(ns, name, a.annotations));
      return;
    }
    case 'UpdateSubnetStatus':
      live.recordWrite('subnets', a.target, await kube.patchSubnetStatus(a.target, a.status));
      return;
    case 'UpdateIPPoolStatus':
      live.recordWrite('ippools', a.target, await kube.patchIPPoolStatus(a.target, a.status));
      return;
    case 'EmitEvent': {
      if (a.kind === 'Subnet') {
        await kube.emitSubnetEvent(a.target, live.snapshot.subnets.get(a.target)?.object.metadata.uid, a.event).catch((err: unknown) => {
          deps.log.warn('could not record an event', { subnet: a.target, reason: a.event.reason, error: String(err) });
        });
        return;
      }
      if (a.kind === 'IP') {
        await kube.emitIPEvent(a.target, live.snapshot.ips.get(a.target)?.object.metadata.uid, { ...a.event, message: capEventMessage(a.event.message) }).catch((err: unknown) => {
          deps.log.warn('could not record an event', { ip: a.target, reason: a.event.reason, error: String(err) });
        });
        return;
      }
      const [ns, name] = splitKey(a.target);
      const uid = (live.snapshot.pods.get(a.target)?.object.metadata.uid);
      await kube.emitPodEvent(ns, name, uid, { ...a.event, message: capEventMessage(a.event.message) }).catch((err: unknown) => {
        deps.log.warn('could not record an event', { pod: a.target, reason: a.event.reason, error: String(err) });
      });
      return;
    }
  }
};

/** A step of a plan: IP object writes that go out together (independent claims), OVN actions
 *  that go out as one transaction, or one other action. Each step waits for the one before, so
 *  the order between kinds (IP objects, then OVN, then the pod's annotations, then status) is
 *  kept. */
type Step = { readonly kind: 'parallel'; readonly actions: KubeAction[] } | { readonly kind: 'ovn'; readonly actions: OvnAction[] };

const steps = (actions: readonly Action[]): Step[] => {
  const out: Step[] = [];
  for (const a of actions) {
    const last = out[out.length - 1];
    if (isOvnAction(a)) {
      if (last?.kind === 'ovn') last.actions.push(a);
      else out.push({ kind: 'ovn', actions: [a] });
      continue;
    }
    const together = a.type === 'CreateIP' || a.type === 'UpdateIP';
    if (together && last?.kind === 'parallel' && last.actions.every((b) => b.type === 'CreateIP' || b.type === 'UpdateIP')) last.actions.push(a);
    else out.push({ kind: 'parallel', actions: [a] });
  }
  return out;
};

/** One OVN transaction; the fault hook sees each of its actions before and after it. */
const applyOvn = async (deps: ApplyDeps, actions: readonly OvnAction[]): Promise<ApplyResult | undefined> => {
  const first = actions[0]!;
  if (!deps.canWrite()) return { kind: 'fenced', action: first, error: 'not the leader (or the lease could not be renewed in time)' };
  for (const a of actions) deps.fault?.('before', a.type, a.target);
  try {
    await ovnOf(deps, first).transact(actions);
  } catch (err) {
    const kind = err instanceof NoOvnError ? 'terminal' : 'retry';
    const message = err instanceof Error ? err.message : String(err);
    deps.log.warn('write failed', { action: first.type, target: first.target, transaction: actions.length, outcome: kind, error: message });
    return { kind, action: first, error: message };
  }
  for (const a of actions) {
    deps.fault?.('after', a.type, a.target);
    deps.log.info('applied', { action: a.type, target: a.target, reason: a.reason });
  }
  return undefined;
};

const applyOne = async (deps: ApplyDeps, a: KubeAction): Promise<ApplyResult | undefined> => {
  if (a.type !== 'EmitEvent' && !deps.canWrite()) return { kind: 'fenced', action: a, error: 'not the leader (or the lease could not be renewed in time)' };
  deps.fault?.('before', a.type, a.target);
  try {
    await write(deps, a);
  } catch (err) {
    const e = err instanceof KubeApiError ? err : new KubeApiError('Other', 0, a.type, String(err));
    const kind = e.kind === 'Conflict' || e.kind === 'NotFound' ? 'replan' : e.kind === 'Invalid' || e.kind === 'Forbidden' ? 'terminal' : 'retry';
    deps.log.warn('write failed', { action: a.type, target: a.target, outcome: kind, status: e.status, error: e.message });
    return { kind, action: a, error: e.message };
  }
  deps.fault?.('after', a.type, a.target);
  deps.log.info('applied', { action: a.type, target: a.target, reason: a.reason });
  return undefined;
};

export const applyActions = async (deps: ApplyDeps, actions: readonly Action[]): Promise<ApplyResult> => {
  let count = 0;
  for (const step of steps(actions)) {
    const results = step.kind === 'ovn' ? [await applyOvn(deps, step.actions)] : await Promise.all(step.actions.map((a) => applyOne(deps, a)));
    const failed = results.find((r) => r !== undefined);
    if (failed !== undefined) return failed;
    count += step.actions.length;
  }
  return { kind: 'applied', count };
};
