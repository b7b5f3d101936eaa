// The admission webhook's view of the cluster: the same watches the controller keeps (pods,
// namespaces, subnets, IP objects, IP pools, NADs, StatefulSets, ReplicaSets) feeding a
// LiveSnapshot, and the domain's admission rules answered from it. Rules:
// - Ready once every kind has listed once; until then a request is answered from nothing, so
//   the server reports not ready (/readyz 503) and the API server sends it to another replica
//   (or applies the webhook's failurePolicy).
// - Read-only: the webhook writes no claim. What it admits the controller still checks; a
//   conflict the view could not see yet (two creates in the same instant) is the controller's
//   to report (AddressConflict Event), never a duplicate.
// - Each review reads the snapshot synchronously: one request sees one consistent state.
import { mutate, validate, type AdmissionDecision, type AdmissionRequestView } from '../domain/admission/Admission.js';
import { LiveSnapshot } from './LiveSnapshot.js';
import type { Clock, Log, WatchedKind, WatchEvent, WatchHandle, Watcher } from './ports.js';

const watchedKinds: readonly WatchedKind[] = ['namespaces', 'subnets', 'ippools', 'nads', 'statefulsets', 'replicasets', 'ips', 'pods'];

export type ReviewPath = 'mutate' | 'validate';

export class AdmissionView {
  private readonly live: LiveSnapshot;
  private readonly synced = new Set<WatchedKind>();
  private readonly handles: WatchHandle[] = [];

  constructor(private readonly deps: { readonly watcher: Watcher; readonly clock: Clock; readonly log: Log }) {
    this.live = new LiveSnapshot(deps.log, () => deps.clock.now());
  }

  get isReady(): boolean {
    return this.synced.size === watchedKinds.length;
  }

  /** The kinds that have not listed yet (for /readyz's body). */
  get pending(): readonly WatchedKind[] {
    return watchedKinds.filter((k) => !this.synced.has(k));
  }

  start(): void {
    for (const kind of watchedKinds) {
      this.handles.push(this.deps.watcher.watch(kind, (e) => this.onEvent(e), (err) => this.deps.log.warn('watch failed; re-listing', { kind, error: err.message })));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.stop()));
  }

  /** Answers one admission request from the current view. */
  review(path: ReviewPath, request: AdmissionRequestView): AdmissionDecision {
    const snapshot = this.live.snapshot;
    if (path === 'mutate') return mutate(snapshot, request);
    return validate(snapshot, request, { now: this.deps.clock.now(), released: this.live.released });
  }

  private onEvent(e: WatchEvent): void {
    this.live.onEvent(e);
    if (e.type === 'RESET' && !this.synced.has(e.kind)) {
      this.synced.add(e.kind);
      if (this.isReady) {
        const s = this.live.snapshot;
        this.deps.log.info('caches synced: answering admission requests', { pods: s.pods.size, ips: s.ips.size, subnets: s.subnets.size, nads: s.nads.size });
      }
    }
  }
}
