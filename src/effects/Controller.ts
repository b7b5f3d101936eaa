// The controller: watches keep a LiveSnapshot current; pod and subnet keys go through work
// queues; each key is planned by the pure planner from the current snapshot and the plan is
// applied (DESIGN §1, §3.5). Level-based: an event only names a key.
// Rules:
// - Nothing is planned before every watched kind has been listed once (the start-up rebuild
//   reads IP objects and pod annotations together, in the planner).
// - A pod plan's intended writes enter the snapshot before they are written, so the next plan
//   (for any pod) already sees the claim; on failure the touched objects are read afresh.
// - Subnets have their own queue (SubnetReconciler.ts: status, and with OVN the logical
//   switch), so many pods in one subnet cost one status write; IPPools too (IPPoolReconciler.ts:
//   status), reconciled after their Subnet and whenever any IPPool changes.
// - The sweep deletes IP objects whose pod is gone, only after reading the pod afresh from the
//   API server (a stale cache must never free a live pod's address); with OVN it then audits
//   the NB's ports against the claims (ovnAudit.ts). It runs once at start-up and every
//   gcIntervalMs, and whenever a KubeVirt VM or VMI is deleted (or starts being deleted), so a
//   deleted VM's claims go without waiting for the period.
// - A key whose reconcile throws is that key's problem only: its queue catches it, it is
//   reported (ReconcileFailures.ts) and retried with backoff. A watch event whose handling
//   throws is reported the same way, the planner state is dropped, and the key is still queued.
//   The sweep skips an IP object whose release throws; a sweep that throws is reported.
// - KubeVirt's kinds are optional: a cluster that does not serve them reads them as empty,
//   without a warning.
import type { Action } from '../domain/Plan.js';
import type { PlanOptions } from '../domain/ClusterPlanner.js';
import type { NetworkSettings } from '../domain/PlanContext.js';
import type { PlannerState } from '../domain/IncrementalPlanner.js';
import { holderOf, holdPod, orphans, planPodWith, prepare, releaseOrphan, releasePodWith } from '../domain/IncrementalPlanner.js';
import type { Pod } from '../domain/schema/kube.js';
import type { IP } from '../domain/schema/kubeovn.js';
import { isGone } from '../domain/Workloads.js';
import { keyOf } from '../domain/Snapshot.js';
import type { ApplyResult, FaultHook } from './apply.js';
import { applyActions } from './apply.js';
import { fingerprint, fingerprintAll } from './fingerprints.js';
import { ownerAlive, refreshThenRevert } from './freshReads.js';
import { LiveSnapshot } from './LiveSnapshot.js';
import { PodMemory } from './PodMemory.js';
import { auditOvn } from './ovnAudit.js';
import { outcomeOf, SubnetReconciler } from './SubnetReconciler.js';
import { IPPoolReconciler } from './IPPoolReconciler.js';
import type { Metrics } from './metrics.js';
import type { Clock, Kube, Log, Ovn, WatchEvent, WatchHandle, WatchedKind, Watcher } from './ports.js';
import { OPTIONAL_KINDS } from './ports.js';
import type { ReconcileSite, ThrowHook } from './ReconcileFailures.js';
import { injectThrow, reportThrow } from './ReconcileFailures.js';
import type { Outcome } from './WorkQueue.js';
import { WorkQueue } from './WorkQueue.js';

export interface ControllerOptions {
  readonly workers: number;
  /** Period of the sweep of IP objects whose pod is gone; 0 disables it. */
  readonly gcIntervalMs: number;
  readonly cooldownMs: number;
  readonly fault?: FaultHook | undefined;
  /** Who serves eth0 and on which Subnet (--non-primary-cni-mode, --default-subnet). */
  readonly network?: NetworkSettings | undefined;
  /** Test-only (the production wiring never sets it): the keys whose reconcile throws. */
  readonly throwFor?: ThrowHook | undefined;
}

export interface ControllerDeps {
  readonly kube: Kube;
  readonly watcher: Watcher;
  readonly clock: Clock;
  readonly log: Log;
  readonly metrics: Metrics;
  /** The leader's fence: writes happen only while it holds. */
  readonly canWrite: () => boolean;
  /** OVN's NB database: when present, plans keep logical switches and ports in step. */
  readonly ovn?: Ovn | undefined;
}

/** Replans in a row a pod gets at once, before it backs off. */
const MAX_IMMEDIATE_REPLANS = 3;
/** When a pod's plan finds the Lease not renewed (nothing written), it is planned again after this. */
const FENCED_RETRY_MS = 1000;

const watchedKinds: readonly WatchedKind[] = ['namespaces', 'subnets', 'ippools', 'nads', 'statefulsets', 'replicasets', 'virtualmachines', 'virtualmachineinstances', 'ips', 'pods'];

export class Controller {
  readonly live: LiveSnapshot;
  private readonly pods: WorkQueue;
  private readonly subnets: WorkQueue;
  private readonly ippools: WorkQueue;
  private readonly subnetReconciler: SubnetReconciler;
  private readonly handles: WatchHandle[] = [];
  private readonly synced = new Set<WatchedKind>();
  /** Per pod: its last sighting, first sighting, last errors and replans (PodMemory.ts). Pods
   *  whose last plan had errors are re-planned when a Subnet, NAD, IPPool or Namespace changes. */
  private readonly memory = new PodMemory();
  /** Pods whose plan is being applied (their intended writes are in the snapshot). */
  private readonly inFlight = new Set<string>();
  /** Pods the sweep is writing for (an orphan's release, an OVN repair): their plans wait. */
  private readonly held = new Set<string>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** The planner's state, kept across reconciles; undefined when it must be prepared afresh. */
  private planner: PlannerState | undefined;
  /** What the planner state was prepared from, per object of the kinds it does not follow. */
  private fingerprints = new Map<string, string>();
  private readyResolve!: () => void;
  readonly ready: Promise<void> = new Promise((r) => (this.readyResolve = r));

  constructor(private readonly deps: ControllerDeps, private readonly options: ControllerOptions) {
    this.live = new LiveSnapshot(deps.log, () => deps.clock.now());
    const hooks = (queue: ReconcileSite) => ({
      onStart: (_key: string, waitedMs: number) => deps.metrics.queueLatency.observe({ queue }, waitedMs / 1000),
      onDepth: (depth: number) => deps.metrics.queueDepth.set({ queue }, depth),
      onThrow: (key: string, err: unknown, repeated: boolean) => this.reportThrow(queue, key, err, repeated),
    });
    const backoff = { workers: options.workers, initialBackoffMs: 200, maxBackoffMs: 30_000 };
    const fault = (site: ReconcileSite, key: string) => injectThrow(options.throwFor, site, key);
    this.pods = new WorkQueue(async (k) => (fault('pods', k), this.reconcilePod(k)), deps.clock, backoff, hooks('pods'));
    this.subnetReconciler = new SubnetReconciler({ ...deps, live: this.live, fault: options.fault }, () => this.plannerState());
    const ippools = new IPPoolReconciler({ ...deps, live: this.live, fault: options.fault }, () => this.plannerState());
    this.ippools = new WorkQueue(async (k) => (fault('ippools', k), ippools.reconcile(k)), deps.clock, { ...backoff, workers: 1 }, hooks('ippools'));
    this.subnets = new WorkQueue(async (k) => {
      fault('subnets', k);
      const outcome = await this.subnetReconciler.reconcile(k);
      for (const pool of ippools.poolsOf(k)) this.ippools.add(pool);
      return outcome;
    }, deps.clock, { ...backoff, workers: 1 }, hooks('subnets'));
  }

  get isReady(): boolean {
    return this.synced.size === watchedKinds.length;
  }

  start(): void {
    for (const kind of watchedKinds) {
      this.handles.push(this.deps.watcher.watch(kind, (e) => this.onEvent(e), (err) => {
        if (err.kind === 'NotFound' && OPTIONAL_KINDS.includes(kind)) this.deps.log.debug('kind not served (not installed): read as empty', { kind });
        else this.deps.log.warn('watch failed; re-listing', { kind, error: err.message });
      }));
    }
    if (this.options.gcIntervalMs > 0) this.sweepTimer = setInterval(() => this.sweepInBackground(true), this.options.gcIntervalMs);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.pods.stop();
    this.subnets.stop();
    this.ippools.stop();
    await Promise.all(this.handles.map((h) => h.stop()));
  }

  /** Resolves when both queues are empty and idle (for tests and orderly shutdown). */
  async idle(): Promise<void> {
    await this.pods.idle();
    await this.subnets.idle();
    await this.ippools.idle();
  }

  private planOptions(): PlanOptions {
    return { ...this.options.network, now: this.deps.clock.now(), cooldownMs: this.options.cooldownMs, released: this.live.released, ...(this.deps.ovn !== undefined ? { ovn: true } : {}) };
  }

  /** The planner state, prepared from the snapshot when it was dropped (start-up, a change it
   *  does not follow, a failed write). */
  private plannerState(): PlannerState {
    if (this.planner === undefined) {
      const started = this.deps.clock.now();
      this.planner = prepare(this.live.snapshot, this.planOptions());
      this.fingerprints = fingerprintAll(this.live.snapshot);
      this.deps.log.info('planner state rebuilt from IP objects and pod annotations', { claims: this.planner.ipam.claims.size, ms: this.deps.clock.now() - started });
      for (const u of this.planner.unreadable ?? []) this.deps.log.warn('allocator memory ignored: unreadable', { subnet: u.subnet, reason: u.message });
    }
    return this.planner;
  }

  /** Keeps the planner state in step with an event, or drops it to be prepared afresh.
   *  Returns whether a Namespace, Subnet, IPPool, NAD or StatefulSet changed in a way plans
   *  depend on (not, say, a status write). */
  private follow(e: WatchEvent): boolean {
    if (e.type === 'RESET') {
      this.planner = undefined;
      return true;
    }
    if (this.planner === undefined) return this.fingerprintChanged(e);
    switch (e.kind) {
      case 'pods': {
        const pod = e.object as Pod;
        if (e.type !== 'DELETED' && pod.spec?.hostNetwork !== true) this.planner = holdPod(this.planner, this.live.snapshot, pod);
        return false;
      }
      case 'ips': {
        const ip = e.object as IP;
        const holder = holderOf(this.planner, ip);
        const ours = holder !== undefined && holder.owner.name === ip.spec.podName && holder.owner.namespace === ip.spec.namespace;
        // An IP object we did not write, or one deleted while we still hold its claim.
        if ((e.type === 'DELETED') === ours) this.planner = undefined;
        return false;
      }
      default: {
        const changed = this.fingerprintChanged(e);
        if (changed) this.planner = undefined;
        return changed;
      }
    }
  }

  private fingerprintChanged(e: Exclude<WatchEvent, { type: 'RESET' }>): boolean {
    if (e.kind === 'pods' || e.kind === 'ips' || e.kind === 'replicasets') return false;
    const id = `${e.kind}/${keyOf(e.kind, e.object)}`;
    const now = e.type === 'DELETED' ? undefined : fingerprint(e.kind, e.object);
    if (this.fingerprints.get(id) === now) return false;
    if (now === undefined) this.fingerprints.delete(id);
    else this.fingerprints.set(id, now);
    return true;
  }

  /** Reports a throw (ReconcileFailures.ts); one of a pod, an event or the sweep also drops
   *  the planner state, which the throw may have left half-followed. */
  private reportThrow(site: ReconcileSite, key: string, err: unknown, repeated: boolean): void {
    if (site !== 'subnets' && site !== 'ippools') this.planner = undefined;
    reportThrow({ ...this.deps, podUid: (k) => this.live.snapshot.pods.get(k)?.object.metadata.uid }, site, key, err, repeated);
  }

  private onEvent(e: WatchEvent): void {
    if (e.type === 'DELETED' && e.kind === 'pods') {
      const pod = e.object as Pod;
      this.memory.seen(`${pod.metadata.namespace}/${pod.metadata.name}`, pod);
    }
    const changed = this.live.onEvent(e);
    let relevant: boolean;
    try {
      relevant = changed.length > 0 && this.follow(e);
    } catch (err) {
      this.reportThrow('events', `${e.kind}${e.type === 'RESET' ? '' : `/${keyOf(e.kind, e.object) ?? ''}`}`, err, false);
      relevant = true;
    }
    if (e.type === 'RESET' && !this.synced.has(e.kind)) {
      this.synced.add(e.kind);
      if (this.isReady) this.onSynced();
      return;
    }
    if (!this.isReady) return;
    if (e.type === 'RESET') return;
    for (const id of changed) {
      const key = id.slice(e.kind.length + 1);
      try {
        injectThrow(this.options.throwFor, 'events', id);
        this.route(e.kind, key, e.type, relevant, e.object);
      } catch (err) {
        this.reportThrow('events', id, err, false);
        // Still reconciled: a level-based reconcile reads the object itself.
        if (e.kind === 'pods') this.pods.add(key);
        if (e.kind === 'subnets') this.subnets.add(key);
        if (e.kind === 'ippools') this.ippools.add(key);
      }
    }
  }

  private onSynced(): void {
    this.deps.log.info('caches synced: rebuilding from IP objects and pod annotations', {
      pods: this.live.snapshot.pods.size, ips: this.live.snapshot.ips.size, subnets: this.live.snapshot.subnets.size,
    });
    // Pods that may still need addresses first: a restart must not make a new pod wait behind
    // thousands of pods whose allocation only needs confirming.
    const pods = [...this.live.snapshot.pods];
    const settled = (annotations: Readonly<Record<string, string>> | undefined) => Object.keys(annotations ?? {}).some((k) => k.endsWith('.kubernetes.io/allocated'));
    for (const [key, e] of pods) if (!settled(e.object.metadata.annotations)) this.pods.add(key);
    for (const [key, e] of pods) if (settled(e.object.metadata.annotations)) this.pods.add(key);
    for (const name of this.live.snapshot.subnets.keys()) this.subnets.add(name);
    for (const name of this.live.snapshot.ippools.keys()) this.ippools.add(name);
    this.sweepInBackground(false);
    this.readyResolve();
  }

  /** Plans again every pod whose last plan had errors (what it waits for may have come). */
  private replanUnsettled(): void {
    for (const p of this.memory.unsettled) this.pods.add(p);
  }

  /** Which keys an event concerns. Pods whose last plan failed are planned again when what
   *  they may have been waiting for changes: a Subnet, NAD, IPPool, Namespace or StatefulSet,
   *  or a released IP object. */
  private route(kind: WatchedKind, key: string, type: 'ADDED' | 'MODIFIED' | 'DELETED', relevant: boolean, object: unknown): void {
    const snap = this.live.snapshot;
    switch (kind) {
      case 'pods': {
        const pod = snap.pods.get(key)?.object;
        if (pod !== undefined) this.memory.seen(key, pod, this.deps.clock.now());
        this.pods.add(key);
        return;
      }
      case 'ips': {
        const ip = snap.ips.get(key)?.object ?? (type === 'DELETED' ? (object as IP | undefined) : undefined);
        if (ip?.spec !== undefined) {
          this.subnets.add(ip.spec.subnet);
          this.pods.add(`${ip.spec.namespace}/${ip.spec.podName}`);
        }
        if (type === 'DELETED') this.replanUnsettled();
        return;
      }
      case 'subnets':
        this.subnets.add(key);
        if (relevant) this.replanUnsettled();
        return;
      case 'ippools':
        // A pool's readiness depends on the others (overlap): a change of spec, or a pool that
        // comes or goes, reconciles every pool; anything else only this one.
        if (relevant || type !== 'MODIFIED') for (const name of snap.ippools.keys()) this.ippools.add(name);
        else this.ippools.add(key);
        if (relevant) this.replanUnsettled();
        return;
      case 'virtualmachines':
      case 'virtualmachineinstances': {
        if (relevant) this.replanUnsettled();
        // A VM (or VMI) going may leave claims no pod and no VM wants: release them now.
        const deleting = (object as { metadata?: { deletionTimestamp?: string } } | undefined)?.metadata?.deletionTimestamp !== undefined;
        if (relevant && (type === 'DELETED' || deleting)) this.sweepInBackground(false);
        return;
      }
      default:
        if (relevant) this.replanUnsettled();
    }
  }

  /** After a failed plan: the touched objects read afresh, else put back (freshReads.ts). */
  private refreshThenRevert(podKey: string, actions: readonly Action[]): Promise<void> {
    return refreshThenRevert({ ...this.deps, live: this.live, stopping: () => this.stopping }, podKey, actions);
  }

  private async reconcilePod(key: string): Promise<Outcome> {
    if (this.held.has(key)) return { kind: 'after', ms: 100 };
    const snap = this.live.snapshot;
    const entry = snap.pods.get(key);
    const alive = entry !== undefined && entry.object.spec.hostNetwork !== true && !isGone(entry.object);
    const last = entry?.object ?? this.memory.lastSeen(key);
    if (!alive && last === undefined) return { kind: 'done' };
    const before = this.plannerState();
    const planned = alive ? planPodWith(before, snap, key, this.planOptions()) : releasePodWith(before, snap, last!, this.planOptions());
    // The fence is looked at once the plan is made: a long start-up rebuild (prepare, tens of
    // seconds at 50,000 pods on a busy machine) can outlast the Lease's renewal. Nothing is
    // written then, so the state before the plan stays right and is kept (dropping it would
    // mean a second rebuild), and the pod comes back once the Lease is renewed.
    if (planned.plan.actions.some((a) => a.type !== 'EmitEvent' && a.type !== 'UpdateSubnetStatus') && !this.deps.canWrite()) return { kind: 'after', ms: FENCED_RETRY_MS };
    this.planner = planned.state;
    const plan = planned.plan;
    // An unchanged failure is reported (logged, counted, an Event) once, not at every re-plan.
    const errorText = plan.errors.map((e) => `${e.code} ${e.message}`).join('\n');
    const newErrors = this.memory.planned(key, errorText);
    const actions = plan.actions.filter((a) => a.type !== 'UpdateSubnetStatus' && (newErrors || a.type !== 'EmitEvent'));
    if (newErrors) {
      for (const e of plan.errors) {
        this.deps.metrics.failures.inc({ code: e.code });
        this.deps.log.warn('allocation failed', { pod: e.pod, interface: e.interface, provider: e.provider, code: e.code, reason: e.message });
      }
    }
    if (!alive) this.memory.forget(key);
    this.deps.log.debug('pod planned', { pod: key, actions: actions.length, errors: plan.errors.length });
    if (actions.length === 0) {
      this.memory.noReplan(key);
      if (!alive) this.memory.forgetLastSeen(key);
      return { kind: 'done' };
    }
    const released = actions.flatMap((a) => (a.type === 'DeleteIP' ? [snap.ips.get(a.target)?.object.spec.subnet] : [])).filter((x): x is string => x !== undefined);
    this.inFlight.add(key);
    let result: ApplyResult;
    try {
      this.live.applyIntended(actions);
      result = await applyActions({ ...this.deps, live: this.live, fault: this.options.fault }, actions);
      if (result.kind !== 'applied') {
        this.planner = undefined;
        await this.refreshThenRevert(key, actions);
      }
    } catch (err) {
      // A throw (not a failed write): the intended writes in the snapshot may never have been
      // made; read them afresh (else put back what was there), then let the queue retry it.
      this.planner = undefined;
      await this.refreshThenRevert(key, actions);
      throw err;
    } finally {
      this.inFlight.delete(key);
    }
    if (released.length > 0) {
      for (const subnet of released) this.subnets.add(subnet);
      this.replanUnsettled();
    }
    if (result.kind === 'applied') {
      for (const a of plan.allocations) {
        if (a.source === 'existing') continue;
        this.deps.log.info('allocated', { pod: a.pod, interface: a.interface, provider: a.provider, subnet: a.subnet, address: a.ipAddress, mac: a.macAddress, source: a.source });
        this.deps.metrics.allocations.inc({ source: a.source });
      }
      if (!alive) this.memory.forgetLastSeen(key);
      const since = actions.some((a) => a.type === 'PatchPodAnnotations') ? this.memory.takeFirstSeen(key) : undefined;
      if (since !== undefined) this.deps.metrics.allocationLatency.observe((this.deps.clock.now() - since) / 1000);
    }
    for (const subnet of new Set([...plan.allocations.map((a) => a.subnet), ...this.subnetsOf(actions)])) this.subnets.add(subnet);
    return this.paced(key, result);
  }

  /** A replan is immediate (the refreshed snapshot should now be right); a pod that keeps
   *  replanning backs off like a retry, so a conflict the plans cannot see never spins. */
  private paced(key: string, result: ApplyResult): Outcome {
    if (result.kind !== 'replan') {
      this.memory.noReplan(key);
      return outcomeOf(result);
    }
    const n = this.memory.replanned(key);
    if (n <= MAX_IMMEDIATE_REPLANS) return outcomeOf(result);
    this.deps.log.warn('a pod keeps replanning: backing off', { pod: key, replans: n, action: `${result.action.type} ${result.action.target}`, error: result.error });
    return { kind: 'retry', reason: result.error };
  }

  private subnetsOf(actions: readonly Action[]): string[] {
    return actions.flatMap((a) => (a.type === 'CreateIP' || a.type === 'UpdateIP' ? [a.ip.spec.subnet] : []));
  }

  /** Releases IP objects whose pod is gone, after confirming it with a fresh read. `fresh`:
   *  prepare the planner state again first (the periodic sweep); at start-up the state was
   *  just prepared. */
  async sweep(fresh = true): Promise<void> {
    if (!this.isReady) return;
    injectThrow(this.options.throwFor, 'sweep', '*');
    const snap = this.live.snapshot;
    // A look at the whole cluster: which IP objects does no live pod own?
    if (fresh) this.planner = undefined;
    const state = this.plannerState();
    const options = this.planOptions();
    // One IP object whose release throws is reported and skipped; the others are released.
    const releases = [...orphans(state)].flatMap(([target, reason]) => {
      try {
        injectThrow(this.options.throwFor, 'sweep', target);
        return [{ target, actions: releaseOrphan(state, snap, target, reason, options) }];
      } catch (err) {
        this.reportThrow('sweep', target, err, false);
        return [];
      }
    });
    for (const { target, actions } of releases) {
      const ip = snap.ips.get(target)?.object;
      if (ip === undefined) continue;
      const { taken, release } = this.hold([`${ip.spec.namespace}/${ip.spec.podName}`]);
      if (taken.size === 0) continue; // a pod of that name is being planned: next sweep
      try {
        if (await ownerAlive(this.deps.kube, this.live.snapshot, ip)) {
          this.deps.log.info('sweep: kept an IP object whose pod the cache did not show', { ip: target });
          continue;
        }
        this.live.applyIntended(actions);
        const result = await applyActions({ ...this.deps, live: this.live, fault: this.options.fault }, actions);
        if (result.kind === 'applied') this.subnets.add(ip.spec.subnet);
        else await this.refreshThenRevert(`${ip.spec.namespace}/${ip.spec.podName}`, actions); // the next sweep tries again
        this.planner = undefined;
      } catch (err) {
        this.reportThrow('sweep', target, err, false);
        await this.refreshThenRevert(`${ip.spec.namespace}/${ip.spec.podName}`, actions);
      } finally {
        release();
      }
    }
    const ovn = this.deps.ovn;
    if (ovn === undefined) return;
    const audit = await auditOvn({
      ...this.deps, ovn, live: this.live, fault: this.options.fault, hold: (keys) => this.hold(keys), plansInFlight: () => this.inFlight.size > 0,
    }, () => this.plannerState());
    for (const name of audit.switchesDeleted) this.subnetReconciler.forgetSwitch(name);
  }

  /** A sweep nobody awaits: a throw is reported, never an unhandled rejection (which would
   *  end the process). */
  private sweepInBackground(fresh: boolean): void {
    this.sweep(fresh).catch((err: unknown) => this.reportThrow('sweep', '*', err, false));
  }

  /** Holds the pods whose plan is not in flight (see `held`); the rest are not taken. */
  private hold(keys: readonly string[]): { readonly taken: ReadonlySet<string>; readonly release: () => void } {
    const taken = new Set(keys.filter((k) => !this.inFlight.has(k) && !this.held.has(k)));
    for (const k of taken) this.held.add(k);
    return { taken, release: () => { for (const k of taken) this.held.delete(k); } };
  }
}
