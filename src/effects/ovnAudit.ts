// The OVN half of the sweep (DESIGN §3.5, issue 7): reads the NB's ports of ours, plans the
// audit against the controller's claims (domain/OvnPorts.ts), confirms each delete and applies.
// Rules:
// - The NB is read before the snapshot is looked at. A port is only ever created after its IP
//   object is in the snapshot (intended writes enter it first), so a port listed here with no
//   IP object in the later snapshot has no claim behind it.
// - A delete is applied only when a fresh GET of the IP object of that name finds nothing and
//   the snapshot still shows none (a stale cache must never unplug a live pod); when the read
//   fails the port stays until the next sweep.
// - An ensure is applied only while its IP object is in the snapshot as the server wrote it (a
//   resourceVersion) and no plan of its pod is in flight (`busy`): the snapshot holds a plan's
//   intended writes before they land, so a pod whose plan is being applied may look committed
//   when it is not. Its own plan writes its ports; the audit never puts a port before its IP
//   object, nor races a plan.
// - Every repair is logged with its reason; a failed ovn-nbctl is logged and left to the next
//   sweep.
import type { SeenOvn } from '../domain/OvnPorts.js';
import { planOvnAudit } from '../domain/OvnPorts.js';
import type { PlannerState } from '../domain/IncrementalPlanner.js';
import type { Action } from '../domain/Plan.js';
import type { ApplyDeps } from './apply.js';
import { applyActions } from './apply.js';
import type { Ovn } from './ports.js';

export interface AuditResult {
  readonly ensured: number;
  readonly deleted: number;
}

export interface AuditDeps extends ApplyDeps {
  readonly ovn: Ovn;
  /** Whether a plan of this pod (`ns/name`) is being applied now. */
  readonly busy: (podKey: string) => boolean;
}

/** One audit of OVN's ports. `state` is called after the NB was read. */
export async function auditOvn(deps: AuditDeps, state: () => PlannerState): Promise<AuditResult> {
  let seen: SeenOvn;
  try {
    const [ports, switches] = await Promise.all([deps.ovn.listPorts(), deps.ovn.listSwitches()]);
    seen = { ports, switches };
  } catch (err) {
    deps.log.warn('OVN audit: could not list logical switches and ports; next sweep', { error: String(err) });
    return { ensured: 0, deleted: 0 };
  }
  const ps = state();
  const planned = planOvnAudit({ ...ps.ctx, snapshot: deps.live.snapshot }, ps.ipam, seen);
  const confirmed: Action[] = [];
  for (const a of planned) {
    if (a.type === 'DeleteLogicalSwitchPort' && !(await ipObjectGone(deps, a.target))) {
      deps.log.info('OVN audit: kept a port whose IP object the cache did not show', { port: a.target });
      continue;
    }
    confirmed.push(a);
  }
  // Ensures last checked now: the snapshot may have moved while the deletes were confirmed.
  const settled = (a: Extract<Action, { type: 'EnsureLogicalSwitchPort' }>): boolean =>
    deps.live.snapshot.ips.get(a.target)?.object.metadata.resourceVersion !== undefined && !deps.busy(a.port.externalIds['pod'] ?? '');
  const actions = confirmed.filter((a) => a.type !== 'EnsureLogicalSwitchPort' || settled(a));
  if (actions.length === 0) return { ensured: 0, deleted: 0 };
  for (const a of actions) deps.log.info('OVN audit: repair', { action: a.type, target: a.target, reason: a.reason });
  const result = await applyActions(deps, actions);
  if (result.kind !== 'applied') {
    deps.log.warn('OVN audit: a repair failed; next sweep', { action: result.action.type, target: result.action.target, error: result.error });
    return { ensured: 0, deleted: 0 };
  }
  return {
    ensured: actions.filter((a) => a.type === 'EnsureLogicalSwitchPort' || a.type === 'EnsureLogicalSwitch').length,
    deleted: actions.filter((a) => a.type === 'DeleteLogicalSwitchPort' || a.type === 'DeleteLogicalSwitch').length,
  };
}

const ipObjectGone = async (deps: ApplyDeps, name: string): Promise<boolean> => {
  if (deps.live.snapshot.ips.has(name)) return false;
  try {
    return (await deps.kube.getIP(name)) === undefined && !deps.live.snapshot.ips.has(name);
  } catch {
    return false; // cannot tell: keep it
  }
};
