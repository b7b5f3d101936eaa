// Capability ports: every piece of I/O the effects layer does goes through one of these
// records of async functions (DESIGN §2). The real implementations live in src/adapters; tests
// of the effects layer pass real adapters against real components, never mocks.
import type { IPPoolStatusView, IpObject, OvnAction, SubnetStatusView } from '../domain/Plan.js';
import type { SeenPort, SeenSwitch } from '../domain/OvnPorts.js';
import type { SeenRouter } from '../domain/OvnRouter.js';

/** Kinds the controller watches, by their Snapshot map name. */
export type WatchedKind = 'pods' | 'namespaces' | 'subnets' | 'ips' | 'ippools' | 'nads' | 'statefulsets' | 'replicasets' | 'virtualmachines' | 'virtualmachineinstances';

/** Kinds of optional add-ons (KubeVirt): on a cluster that does not serve them they read as
 *  empty, quietly (no warning). */
export const OPTIONAL_KINDS: readonly WatchedKind[] = ['virtualmachines', 'virtualmachineinstances'];

/** What a watch reports. Objects are the API server's JSON, undecoded. */
export type WatchEvent =
  | { readonly type: 'RESET'; readonly kind: WatchedKind; readonly objects: readonly unknown[] }
  | { readonly type: 'ADDED' | 'MODIFIED' | 'DELETED'; readonly kind: WatchedKind; readonly object: unknown };

export interface WatchHandle {
  /** Stops the watch; no event is delivered after it resolves. */
  stop(): Promise<void>;
}

/**
 * A list+watch of one kind, kept alive by the adapter: it lists (emitting RESET with every
 * object), then watches from the list's resourceVersion; on a 410 or any error it lists again
 * (after a backoff for errors) and emits RESET again. `onError` reports each failure.
 */
export interface Watcher {
  watch(kind: WatchedKind, onEvent: (e: WatchEvent) => void, onError: (err: KubeApiError) => void): WatchHandle;
}

export type KubeErrorKind = 'NotFound' | 'Conflict' | 'Invalid' | 'Forbidden' | 'Unavailable' | 'Other';

/** Every failure of the Kube port: the HTTP status (0 when no answer) and the server's message. */
export class KubeApiError extends Error {
  constructor(
    readonly kind: KubeErrorKind,
    readonly status: number,
    readonly operation: string,
    message: string,
  ) {
    super(`${operation}: ${status === 0 ? '' : `${status} `}${message}`);
    this.name = 'KubeApiError';
  }
}

export interface PodEvent {
  readonly type: 'Normal' | 'Warning';
  readonly reason: string;
  readonly message: string;
}

export interface Lease {
  readonly holder: string | undefined;
  /** RFC 3339 with microseconds, as the API server writes it. */
  readonly renewTime: string | undefined;
  readonly leaseDurationSeconds: number | undefined;
  readonly resourceVersion: string;
}

/**
 * Writes and the few direct reads. Every call either resolves to the API server's answer
 * (raw JSON) or rejects with a KubeApiError. Deleting what is absent resolves.
 */
export interface Kube {
  /** JSON merge patch of metadata.annotations (`null` deletes a key). */
  patchPodAnnotations(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<unknown>;
  /** Creates the IP object (kubeovn.io/v1) with the controller's finalizer. */
  createIP(ip: IpObject): Promise<unknown>;
  /** Merge-patches an existing IP object's labels and spec. */
  updateIP(ip: IpObject): Promise<unknown>;
  /** Removes the controller's finalizer and deletes the IP object; absent is success. */
  deleteIP(name: string): Promise<void>;
  /** Merge-patches a Subnet's status through the status subresource. */
  patchSubnetStatus(name: string, status: SubnetStatusView): Promise<unknown>;
  /** Merge-patches an IPPool's status through the status subresource. */
  patchIPPoolStatus(name: string, status: IPPoolStatusView): Promise<unknown>;
  /** Records an Event on a pod (involvedObject: the pod, with its UID when known). */
  emitPodEvent(namespace: string, name: string, uid: string | undefined, event: PodEvent): Promise<void>;
  /** Records an Event on a Subnet (in namespace `default`, as for any cluster-scoped object). */
  emitSubnetEvent(name: string, uid: string | undefined, event: PodEvent): Promise<void>;
  /** Records an Event on an IP object (in namespace `default`, as for any cluster-scoped object). */
  emitIPEvent(name: string, uid: string | undefined, event: PodEvent): Promise<void>;
  /** A fresh read of one pod (undefined when it does not exist). */
  getPod(namespace: string, name: string): Promise<unknown>;
  /** A fresh read of one IP object (undefined when it does not exist). */
  getIP(name: string): Promise<unknown>;
  /** The Lease (coordination.k8s.io/v1), undefined when absent. */
  getLease(namespace: string, name: string): Promise<Lease | undefined>;
  /** Creates the Lease held by `holder`; rejects with Conflict if someone created it first. */
  createLease(namespace: string, name: string, holder: string, durationSeconds: number, now: string): Promise<Lease>;
  /** Replaces the Lease if it still has `resourceVersion` (else Conflict). */
  updateLease(namespace: string, name: string, holder: string, durationSeconds: number, now: string, resourceVersion: string, acquired: boolean): Promise<Lease>;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export type LogFields = Readonly<Record<string, unknown>>;

export interface Log {
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
}

/**
 * OVN's northbound database (over `ovn-nbctl`). Failures reject with an OvnError carrying the
 * argv and stderr.
 */
export interface Ovn {
  /** Applies the actions, in order, as ONE transaction: all of them or none. Each is
   *  idempotent: an ensure creates what is missing and sets every column it owns (a switch's
   *  `other_config:subnet`/`ipv6_prefix`/`exclude_ips`; a port's switch, addresses, port
   *  security and external_ids); a delete of what is absent succeeds. */
  transact(actions: readonly OvnAction[]): Promise<void>;
  /** Every logical switch port with `external_ids:vendor=kube-ovn` but those of type router, in name order. */
  listPorts(): Promise<readonly SeenPort[]>;
  /** Every logical switch with `external_ids:vendor=kube-ovn`, in name order. */
  listSwitches(): Promise<readonly SeenSwitch[]>;
  /** The default VPC's router, the router ports and the switch ports of type router with
   *  `external_ids:vendor=kube-ovn`, each list in name order. (listPorts leaves the latter out.) */
  listRouter(): Promise<SeenRouter>;
}

/** An `ovn-nbctl` call that failed: how it was called, how it ended, what it said. */
export class OvnError extends Error {
  constructor(
    readonly argv: readonly string[],
    /** Exit code; null when killed (the timeout) or not started. */
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly timedOut: boolean,
  ) {
    super(`${argv.join(' ')}: ${timedOut ? 'timed out' : `exit ${exitCode === null ? 'none' : exitCode}`}${stderr.trim() === '' ? '' : `: ${stderr.trim()}`}`);
    this.name = 'OvnError';
  }
}
