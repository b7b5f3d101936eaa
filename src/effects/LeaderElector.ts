// Leader election on a coordination.k8s.io Lease. Rules:
// - A replica takes the Lease when it is absent, expired (renewTime + duration in the past, by
//   the local clock) or already its own; it renews every `renewEveryMs`.
// - It may write only while `canWrite()`: until its last successful renewal plus the lease
//   duration minus a safety margin. So a replica that cannot renew stops writing strictly before
//   another can take the Lease (which waits the full duration after the last renewal).
// - Losing the Lease (someone else holds it, or renewal failed past the deadline) calls
//   `onLost` once; the process then exits and restarts as a follower.
import type { Clock, Kube, Lease, Log } from './ports.js';
import { KubeApiError } from './ports.js';

export interface LeaderOptions {
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly leaseDurationMs: number;
  readonly renewEveryMs: number;
  /** Stop writing this long before the lease could expire (clock skew, slow requests). */
  readonly marginMs: number;
}

const microTime = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private validUntil = 0;
  private leading = false;
  private following = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  /** Ends the wait between two tries to take the Lease. */
  private wake: (() => void) | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly clock: Clock,
    private readonly log: Log,
    private readonly options: LeaderOptions,
  ) {}

  canWrite = (): boolean => this.leading && this.clock.now() < this.validUntil;

  /** Leads (or believes it does until its next renewal says otherwise). */
  isLeader = (): boolean => this.leading;

  /** The last Lease request was answered and another replica holds it: this one stands by. */
  isFollower = (): boolean => this.following;

  /** Resolves once this replica leads, or when stop() is called before it does; then keeps
   *  renewing until stop() or loss. */
  async run(onLost: () => void): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      if (await this.tryAcquire()) break;
      if (this.stopped) return;
      // Between tries the wait ends at stop(): a replica that never led stops at once.
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.timer = setTimeout(resolve, this.options.renewEveryMs);
      });
    }
    if (this.stopped) return;
    this.log.info('became the leader', { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
    // A failed renewal is tried again soon (a fifth of the period), until the fence (validUntil,
    // already short of the lease's end by the margin): one lost answer or one 409 while the
    // Lease is still ours is not a loss. Another holder is (tryAcquire says so at once).
    const renew = async () => {
      if (this.stopped) return;
      const ok = await this.tryAcquire();
      if (!ok && (this.following || this.clock.now() >= this.validUntil)) {
        this.leading = false;
        this.log.error('lost the leader lease: stopping writes', { identity: this.options.identity });
        onLost();
        return;
      }
      this.timer = setTimeout(() => void renew(), ok ? this.options.renewEveryMs : Math.max(1, Math.floor(this.options.renewEveryMs / 5)));
    };
    this.timer = setTimeout(() => void renew(), this.options.renewEveryMs);
  }

  stop(): void {
    this.stopped = true;
    this.leading = false;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  private expired(lease: Lease, now: number): boolean {
    if (lease.renewTime === undefined || lease.leaseDurationSeconds === undefined) return true;
    return Date.parse(lease.renewTime) + lease.leaseDurationSeconds * 1000 < now;
  }

  private async tryAcquire(): Promise<boolean> {
    const { namespace, name, identity, leaseDurationMs, marginMs } = this.options;
    const seconds = Math.ceil(leaseDurationMs / 1000);
    const started = this.clock.now();
    try {
      const lease = await this.kube.getLease(namespace, name);
      if (lease === undefined) {
        await this.kube.createLease(namespace, name, identity, seconds, microTime(started));
      } else if (lease.holder === identity || this.expired(lease, started)) {
        await this.kube.updateLease(namespace, name, identity, seconds, microTime(started), lease.resourceVersion, lease.holder !== identity);
      } else {
        if (this.leading) this.log.warn('the lease is held by another replica', { holder: lease.holder });
        this.leading = false;
        this.following = true;
        return false;
      }
      // Valid from when we asked, not from when the answer came.
      this.validUntil = started + leaseDurationMs - marginMs;
      this.leading = true;
      this.following = false;
      return true;
    } catch (err) {
      this.following = false;
      if (this.stopped) return false;
      const e = err instanceof KubeApiError ? err : undefined;
      this.log.warn('lease request failed', { error: String(err), conflict: e?.kind === 'Conflict' });
      return false;
    }
  }
}
