// Reads that go past the controller's cache to the API server, where a stale cache would be
// wrong in a way that costs an address:
// - after a failed plan, the objects it touched are read afresh (a few tries), so the next plan
//   starts from the truth; what still could not be read is put back as it was before the plan
//   (LiveSnapshot.revertIntended). Reading first matters: while the outcome of a write is
//   unknown (its answer was lost), the intended IP object keeps its address held, so no other
//   pod is given an address that may have been written for this one;
// - before the sweep frees an IP object, its owner is read afresh: a pod the cache has not
//   shown yet must never lose its address.
import type { Action } from '../domain/Plan.js';
import type { Pod } from '../domain/schema/kube.js';
import type { IP } from '../domain/schema/kubeovn.js';
import type { Snapshot } from '../domain/Snapshot.js';
import { POD_UID_LABEL } from '../domain/Records.js';
import { vmHolds } from '../domain/ExistingClaims.js';
import { isGone } from '../domain/Workloads.js';
import type { LiveSnapshot } from './LiveSnapshot.js';
import type { Kube, Log } from './ports.js';

/** Tries to read an object afresh after a failed plan (200 ms doubling between them). */
const REFRESH_ATTEMPTS = 5;

export interface RefreshDeps {
  readonly kube: Kube;
  readonly live: LiveSnapshot;
  readonly log: Log;
  /** The controller is stopping: no more tries. */
  readonly stopping: () => boolean;
}

/** Reads the pod and the IP objects `actions` touched afresh, then puts back what could not be
 *  read (see the rules above). */
export const refreshThenRevert = async (deps: RefreshDeps, podKey: string, actions: readonly Action[]): Promise<void> => {
  const { kube, live } = deps;
  const [ns, name] = [podKey.slice(0, podKey.indexOf('/')), podKey.slice(podKey.indexOf('/') + 1)];
  const reads: (() => Promise<void>)[] = [
    async () => live.recordWrite('pods', podKey, (await kube.getPod(ns, name)) ?? null),
    ...actions.flatMap((a) => (a.type === 'CreateIP' || a.type === 'UpdateIP' || a.type === 'DeleteIP'
      ? [async () => live.recordWrite('ips', a.target, (await kube.getIP(a.target)) ?? null)] : [])),
  ];
  for (const read of reads) {
    for (let attempt = 1, delay = 200; ; attempt++, delay *= 2) {
      try {
        await read();
        break;
      } catch (err) {
        if (attempt >= REFRESH_ATTEMPTS || deps.stopping()) {
          deps.log.warn('could not refresh after a failed write', { pod: podKey, error: String(err) });
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
  live.revertIntended(actions);
};

/** Does the IP object's owner still live? A VM's also by the cache as it is now (vmHolds); a
 *  pod's by a fresh read, and when that read fails, yes (cannot tell: keep it). */
export const ownerAlive = async (kube: Kube, snapshot: Snapshot, ip: IP): Promise<boolean> => {
  if (vmHolds(snapshot, ip)) return true;
  try {
    const raw = (await kube.getPod(ip.spec.namespace, ip.spec.podName)) as Pod | undefined;
    if (raw === undefined || isGone(raw)) return false;
    const uid = ip.metadata.labels?.[POD_UID_LABEL];
    return uid === undefined || uid === raw.metadata.uid;
  } catch {
    return true;
  }
};
