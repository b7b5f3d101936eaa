// The OVN half of the sweep (DESIGN §3.5, issue 7): reads the NB's switches, ports and router of ours,
// plans the audit against the Subnets and the controller's claims (domain/OvnPorts.ts),
// confirms each delete and applies.
// Rules:
// - The NB is read before the snapshot is looked at. A port is only ever created after its IP
//   object is in the snapshot (intended writes enter it first), so a port listed here with no
//   IP object in the later snapshot has no claim behind it.
// - A delete is applied only when a fresh GET of the IP object of that name finds nothing and
//   the snapshot still shows none (a stale cache must never unplug a live pod); when the read
//   fails the port stays until the next sweep.
// - A port ensure is applied only while its IP object is in the snapshot as the server wrote it
//   (a resourceVersion), so the audit never puts a port before its IP object.
// - The pods it writes for are held: no plan of theirs starts until the audit is done. A pod
//   whose plan is in flight is left to that plan (the snapshot holds a plan's intended writes
//   before they land, so such a pod may look committed when it is not). A switch is deleted only while no plan is
//   in flight and its Subnet is still gone.
// - The router (OvnRouter.ts) is audited with them: a missing router or router port is ensured
//   again; a router port is deleted only while its Subnet is still not a valid OVN one and no
//   plan is in flight (a pod plan ensures the router ports of the switches it writes).
// - Every repair is logged with its reason; repairs go CHUNK to a transaction, and a failed
//   chunk is retried one repair at a time, so one bad row never blocks the rest; what still
//   fails is logged and left to the next sweep.
import type { SeenOvn } from '../domain/OvnPorts.js';
import type { SeenRouter } from '../domain/OvnRouter.js';
import { ovnSubnetOf, planOvnAuditWithRouter } from '../domain/OvnRouter.js';
import type { PlannerState } from '../domain/IncrementalPlanner.js';
import type { Action } from '../domain/Plan.js';
import type { ApplyDeps } from './apply.js';
import { applyActions } from './apply.js';
import type { Ovn } from './ports.js';

export interface AuditResult {
  readonly ensured: number;
  readonly deleted: number;
  /** The logical switches the audit deleted. */
  readonly switchesDeleted: readonly string[];
}

export interface AuditDeps extends ApplyDeps {
  readonly ovn: Ovn;
  /** Takes the pods (`ns/name`) the audit is about to write for: no plan of theirs starts until
   *  `release`. A pod whose plan is being applied is not taken (the audit leaves it alone). */
  readonly hold: (podKeys: readonly string[]) => { readonly taken: ReadonlySet<string>; readonly release: () => void };
  /** Whether any pod plan is being applied now. */
  readonly plansInFlight: () => boolean;
}

/** At most this many actions per ovn-nbctl transaction (its command line must fit). */
const CHUNK = 50;

/** One audit of OVN's switches and ports. `state` is called after the NB was read. */
export async function auditOvn(deps: AuditDeps, state: () => PlannerState): Promise<AuditResult> {
  const none: AuditResult = { ensured: 0, deleted: 0, switchesDeleted: [] };
  let seen: SeenOvn;
  let router: SeenRouter;
  try {
    const [ports, switches, routerSeen] = await Promise.all([deps.ovn.listPorts(), deps.ovn.listSwitches(), deps.ovn.listRouter()]);
    seen = { ports, switches };
    router = routerSeen;
  } catch (err) {
    deps.log.warn('OVN audit: could not list logical switches, ports and the router; next sweep', { error: String(err) });
    return none;
  }
  const ps = state();
  const planned = planOvnAuditWithRouter({ ...ps.ctx, snapshot: deps.live.snapshot }, ps.ipam, seen, router);
  if (planned.length === 0) return none;
  const seenPod = new Map(seen.ports.map((p) => [p.name, p.externalIds['pod']]));
  const podOf = (a: Action): string | undefined =>
    a.type === 'EnsureLogicalSwitchPort' ? a.port.externalIds['pod'] : a.type === 'DeleteLogicalSwitchPort' ? seenPod.get(a.target) : undefined;
  // A port delete followed by an ensure of the same port is a move, not an orphan's removal.
  const ensured = new Set(planned.flatMap((a) => (a.type === 'EnsureLogicalSwitchPort' ? [a.target] : [])));
  const { taken, release } = deps.hold([...new Set(planned.flatMap((a) => podOf(a) ?? []))]);
  try {
    const confirmed: Action[] = [];
    for (const a of planned) {
      const pod = podOf(a);
      if (pod !== undefined && !taken.has(pod)) continue; // its plan is in flight: that plan writes its ports
      if (a.type === 'DeleteLogicalSwitchPort' && !ensured.has(a.target) && !(await ipObjectGone(deps, a.target))) {
        deps.log.info('OVN audit: kept a port whose IP object the cache did not show', { port: a.target });
        continue;
      }
      confirmed.push(a);
    }
    // Checked last, now: the snapshot may have moved while the deletes were confirmed.
    const written = (name: string): boolean => deps.live.snapshot.ips.get(name)?.object.metadata.resourceVersion !== undefined;
    const current = state();
    const stillNotOvn = (subnet: string): boolean => ovnSubnetOf({ ...current.ctx, snapshot: deps.live.snapshot }, subnet) === undefined;
    const moving = new Set(planned.flatMap((a) => (a.type === 'EnsureLogicalRouterPort' ? [a.target] : [])));
    const actions = confirmed.filter((a) =>
      a.type === 'EnsureLogicalSwitchPort' ? written(a.target)
      : a.type === 'DeleteLogicalSwitch' ? !deps.live.snapshot.subnets.has(a.target) && !deps.plansInFlight()
      : a.type === 'DeleteLogicalRouterPort' && !moving.has(a.target) ? stillNotOvn(a.routerPort.logicalSwitch) && !deps.plansInFlight()
      : true);
    const applied = await applyInChunks(deps, actions);
    return {
      ensured: applied.filter((a) => a.type === 'EnsureLogicalSwitchPort' || a.type === 'EnsureLogicalSwitch' || a.type === 'EnsureLogicalRouter' || a.type === 'EnsureLogicalRouterPort').length,
      deleted: applied.filter((a) => a.type === 'DeleteLogicalSwitchPort' || (a.type === 'DeleteLogicalRouterPort' && !moving.has(a.target))).length,
      switchesDeleted: applied.flatMap((a) => (a.type === 'DeleteLogicalSwitch' ? [a.target] : [])),
    };
  } finally {
    release();
  }
}

/** Applies the repairs, CHUNK actions per transaction; a chunk that fails is applied again one
 *  repair at a time, so one bad row never holds up the others. A move (a port's delete and its
 *  ensure on the new switch) always stays in one transaction. Resolves with what was applied. */
const applyInChunks = async (deps: AuditDeps, actions: readonly Action[]): Promise<Action[]> => {
  const units: Action[][] = [];
  for (const a of actions) {
    const last = units[units.length - 1]?.at(-1);
    const move = (a.type === 'EnsureLogicalSwitchPort' && last?.type === 'DeleteLogicalSwitchPort') || (a.type === 'EnsureLogicalRouterPort' && last?.type === 'DeleteLogicalRouterPort');
    if (move && last?.target === a.target) units[units.length - 1]!.push(a);
    else units.push([a]);
  }
  const applied: Action[] = [];
  for (let i = 0; i < units.length;) {
    const chunk: Action[][] = [];
    while (i < units.length && (chunk.length === 0 || chunk.flat().length + units[i]!.length <= CHUNK)) chunk.push(units[i++]!);
    for (const a of chunk.flat()) deps.log.info('OVN audit: repair', { action: a.type, target: a.target, reason: a.reason });
    if ((await applyActions(deps, chunk.flat())).kind === 'applied') {
      applied.push(...chunk.flat());
      continue;
    }
    for (const unit of chunk) {
      const result = await applyActions(deps, unit);
      if (result.kind === 'applied') applied.push(...unit);
      else deps.log.warn('OVN audit: a repair failed; next sweep', { action: result.action.type, target: result.action.target, error: result.error });
    }
  }
  return applied;
};

const ipObjectGone = async (deps: ApplyDeps, name: string): Promise<boolean> => {
  if (deps.live.snapshot.ips.has(name)) return false;
  try {
    return (await deps.kube.getIP(name)) === undefined && !deps.live.snapshot.ips.has(name);
  } catch {
    return false; // cannot tell: keep it
  }
};
