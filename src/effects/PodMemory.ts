// What the controller remembers of each pod between its reconciles, one record per pod key:
// - the pod as last seen, so a pod gone from the cache can still be released from it;
// - when the pod (by UID) was first seen: the start of its allocation latency;
// - the text of its last plan's errors: a pod with errors is unsettled (planned again when what
//   it may be waiting for changes), and an unchanged failure is reported once;
// - how many of its plans in a row met a world they did not expect (409, 404).
// A record with nothing left in it is dropped, so memory follows the pods that need it.
import type { Pod } from '../domain/schema/kube.js';

interface PodRecord {
  lastSeen?: Pod;
  firstSeen?: { readonly uid: string | undefined; readonly at: number };
  errors?: string;
  replans?: number;
}

export class PodMemory {
  private readonly records = new Map<string, PodRecord>();
  /** The keys whose record holds errors (an index: iterated at every Subnet or NAD change). */
  private readonly unsettledKeys = new Set<string>();

  /** Pods whose last plan had errors. */
  get unsettled(): ReadonlySet<string> {
    return this.unsettledKeys;
  }

  /** The pod was seen (an event, or its deletion); `now` starts its allocation latency when
   *  this UID is new under the key (not for a deletion). */
  seen(key: string, pod: Pod, now?: number): void {
    const r = this.record(key);
    r.lastSeen = pod;
    if (now !== undefined && (r.firstSeen === undefined || r.firstSeen.uid !== pod.metadata.uid)) r.firstSeen = { uid: pod.metadata.uid, at: now };
  }

  lastSeen(key: string): Pod | undefined {
    return this.records.get(key)?.lastSeen;
  }

  forgetLastSeen(key: string): void {
    this.update(key, (r) => delete r.lastSeen);
  }

  /** Records the errors of the pod's plan (as one text, '' for none); returns whether they
   *  differ from its last plan's. */
  planned(key: string, errors: string): boolean {
    const changed = errors !== (this.records.get(key)?.errors ?? '');
    if (errors === '') {
      this.unsettledKeys.delete(key);
      this.update(key, (r) => delete r.errors);
    } else {
      this.unsettledKeys.add(key);
      this.record(key).errors = errors;
    }
    return changed;
  }

  /** When the pod was first seen, once: the latency is observed at its first allocation. */
  takeFirstSeen(key: string): number | undefined {
    const at = this.records.get(key)?.firstSeen?.at;
    this.update(key, (r) => delete r.firstSeen);
    return at;
  }

  /** One more plan in a row that met a world it did not expect; returns how many. */
  replanned(key: string): number {
    const r = this.record(key);
    r.replans = (r.replans ?? 0) + 1;
    return r.replans;
  }

  /** A plan that did not need replanning: the count starts again. */
  noReplan(key: string): void {
    this.update(key, (r) => delete r.replans);
  }

  /** The pod is gone: drops what was kept for its allocation (its last sighting stays until
   *  its release is written). */
  forget(key: string): void {
    this.unsettledKeys.delete(key);
    this.update(key, (r) => {
      delete r.firstSeen;
      delete r.errors;
    });
  }

  private record(key: string): PodRecord {
    let r = this.records.get(key);
    if (r === undefined) {
      r = {};
      this.records.set(key, r);
    }
    return r;
  }

  private update(key: string, change: (r: PodRecord) => void): void {
    const r = this.records.get(key);
    if (r === undefined) return;
    change(r);
    if (r.lastSeen === undefined && r.firstSeen === undefined && r.errors === undefined && r.replans === undefined) this.records.delete(key);
  }
}
