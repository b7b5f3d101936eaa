// The admission webhook's view of the cluster: the same watches the controller keeps (pods,
// namespaces, subnets, IP objects, IP pools, NADs, StatefulSets, ReplicaSets) feeding a
// LiveSnapshot, and the domain's admission rules answered from it. Rules:
// - Ready once every kind has listed once and the first prepared state exists; until then the
//   server reports not ready (/readyz 503), so the Service sends no request here (the API
//   server uses another replica, or applies the webhook's failurePolicy).
// - Read-only: the webhook writes no claim. What it admits the controller still checks; a
//   conflict the view could not see yet (two creates in the same instant) is the controller's
//   to report (AddressConflict Event), never a duplicate.
// - Each review reads the snapshot synchronously: one request sees one consistent state.
// - Validation answers from a prepared state (prepareAdmission: the claims rebuilt once, issue
//   12's 100 ms p99) plus the current snapshot, in O(log n) per request. The state is rebuilt
//   in the background after watch events, coalesced: the first change schedules one rebuild
//   REBUILD_DELAY_MS (or 4× the last rebuild's time) later and the changes meanwhile join it
//   (it reads the snapshot when it runs; a rebuild is synchronous, so none overlaps another).
//   Not ready until the first prepared state exists.
// - Staleness: objects the decision reads directly (the pod or workload under admission, NADs,
//   Subnets, IPPools, Namespaces, IP objects by name) are read from the current snapshot; the
//   claims, held addresses and indexes are those of the last rebuild, at most one rebuild
//   (its delay plus its time) behind the watch. A pod that claimed or freed an
//   address in that window may be missed: an admitted conflict is then the controller's to
//   report (AddressConflict Event, never a duplicate), as for two creates in the same instant.
import { mutate, prepareAdmission, validateWith, type AdmissionDecision, type AdmissionRequestView, type AdmissionState } from '../domain/admission/Admission.js';
import type { NetworkSettings } from '../domain/PlanContext.js';
import { LiveSnapshot } from './LiveSnapshot.js';
import type { Clock, Log, WatchedKind, WatchEvent, WatchHandle, Watcher } from './ports.js';
import { OPTIONAL_KINDS } from './ports.js';

// KubeVirt's kinds say which stopped VMs keep their addresses (optional: absent reads as empty).
const watchedKinds: readonly WatchedKind[] = ['namespaces', 'subnets', 'ippools', 'nads', 'statefulsets', 'replicasets', 'virtualmachines', 'virtualmachineinstances', 'ips', 'pods'];

export type ReviewPath = 'mutate' | 'validate';

export const REBUILD_DELAY_MS = 50;
/** A rebuild blocks the event loop (about 0.3 s at 5,000 pods): the next waits at least this
 *  many times as long, so rebuilds take at most a fifth of the loop under constant churn. */
const REBUILD_SPACING = 4;

export class AdmissionView {
  private readonly live: LiveSnapshot;
  private readonly synced = new Set<WatchedKind>();
  private readonly handles: WatchHandle[] = [];
  private prepared: AdmissionState | undefined;
  /** A rebuild is scheduled (it reads the snapshot when it runs, so later changes join it). */
  private rebuilding = false;
  /** How long the last rebuild took (ms). */
  private lastRebuildMs = 0;
  private stopped = false;

  constructor(private readonly deps: { readonly watcher: Watcher; readonly clock: Clock; readonly log: Log; readonly network?: NetworkSettings | undefined }) {
    this.live = new LiveSnapshot(deps.log, () => deps.clock.now());
  }

  get isReady(): boolean {
    return this.synced.size === watchedKinds.length && this.prepared !== undefined;
  }

  /** The kinds that have not listed yet (for /readyz's body). */
  get pending(): readonly WatchedKind[] {
    return watchedKinds.filter((k) => !this.synced.has(k));
  }

  start(): void {
    for (const kind of watchedKinds) {
      this.handles.push(this.deps.watcher.watch(kind, (e) => this.onEvent(e), (err) => {
        if (err.kind === 'NotFound' && OPTIONAL_KINDS.includes(kind)) this.deps.log.debug('kind not served (not installed): read as empty', { kind });
        else this.deps.log.warn('watch failed; re-listing', { kind, error: err.message });
      }));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.handles.map((h) => h.stop()));
  }

  /** Answers one admission request from the current view. */
  review(path: ReviewPath, request: AdmissionRequestView): AdmissionDecision {
    const snapshot = this.live.snapshot;
    if (path === 'mutate') return mutate(snapshot, request);
    // Before the first rebuild the server is not ready; answer from an empty prepared state of
    // this snapshot rather than throw (a request only comes through when the probe is ignored).
    const prepared = this.prepared ?? prepareAdmission(snapshot, this.options());
    return validateWith(prepared, snapshot, request, this.options());
  }

  private options() {
    return { ...this.deps.network, now: this.deps.clock.now(), released: this.live.released };
  }

  /** Schedules a rebuild of the prepared state, unless one is already scheduled or running. */
  private scheduleRebuild(): void {
    if (this.rebuilding || this.stopped) return;
    this.rebuilding = true;
    void this.deps.clock.sleep(Math.max(REBUILD_DELAY_MS, REBUILD_SPACING * this.lastRebuildMs)).then(() => this.rebuild());
  }

  /** Synchronous: no watch event comes in while it reads the snapshot. */
  private rebuild(): void {
    this.rebuilding = false;
    if (!this.stopped) {
      const started = this.deps.clock.now();
      const s = this.live.snapshot;
      this.prepared = prepareAdmission(s, this.options());
      this.lastRebuildMs = this.deps.clock.now() - started;
      this.deps.log.debug('admission state prepared', { pods: s.pods.size, ips: s.ips.size, ms: this.lastRebuildMs });
    }
  }

  private onEvent(e: WatchEvent): void {
    this.live.onEvent(e);
    if (e.type === 'RESET' && !this.synced.has(e.kind)) {
      this.synced.add(e.kind);
      if (this.synced.size === watchedKinds.length) {
        const s = this.live.snapshot;
        this.deps.log.info('caches synced: preparing the admission state', { pods: s.pods.size, ips: s.ips.size, subnets: s.subnets.size, nads: s.nads.size });
      }
    }
    if (this.synced.size === watchedKinds.length) this.scheduleRebuild();
  }
}
