// The node daemon's CNI programs (DESIGN §1 daemon row, §3.6; behaviour §5.2): ADD waits for
// the controller's allocation and, for OVN networks, plugs the pod; DEL unplugs it.
//
// Rules:
// - The daemon's view of the cluster is two watches: the pods of this node (the watcher is
//   given a `spec.nodeName` fieldSelector; without a node name it sees every pod) and the
//   Subnets. Nothing is answered before both have been listed once.
// - ADD waits BY WATCH for `<provider>.kubernetes.io/allocated: "true"` (or its per-interface
//   twin), never by polling: every pod event re-checks the requests waiting for that pod, so
//   an ADD is answered as soon as the controller's patch reaches the watch. When the request
//   names the pod's UID, a pod of that name with another UID is not the one asked for.
// - A provider no Subnet serves (other than `ovn`) is refused at once (400, code 7).
// - OVN networks: observe the host (the host end, our port and any other port with our
//   iface-id, the pod's link when there is a host end), plan (NodePlanner), apply in order. If any action fails,
//   the DEL plan of the same interface runs (compensation, STYLE rule 5) before the error
//   is answered, so a failed ADD leaves no veth and no OVS port behind.
// - After a successful ADD the IP object gets this node (spec.nodeName and the node-name
//   label); that write is logged when it fails, never fatal, and stop() waits for it.
// - ADDs and DELs of one container interface run one at a time, in arrival order.
// - Errors are values (DaemonError), mapped to HTTP status and CNI code by cniErrorOf
//   (DaemonErrors.ts); plans are applied by applyNode.ts.
import * as E from 'fp-ts/lib/Either.js';
import type { AddInput, AddPlan, NodeConfig, ValidRequest } from '../domain/cni/NodePlanner.js';
import { ifaceIdOf, linkNamesOf, planDel, planIpamAdd, planOvnAdd, validateRequest } from '../domain/cni/NodePlanner.js';
import type { CniRequest, CniResponse } from '../domain/cni/Protocol.js';
import { allocatedProvider, interfaceRoutes, isDefaultRouteInterface, parseRoutesAnnotation, readAllocation } from '../domain/cni/Routes.js';
import { siblingCidrs, sourceTableOf } from '../domain/cni/SourceRouting.js';
import type { Pod } from '../domain/schema/kube.js';
import type { Subnet } from '../domain/schema/kubeovn.js';
import { decodeRaw } from '../domain/Snapshot.js';
import { isOvnProvider } from '../domain/Subnet.js';
import { VM_ANNOTATION } from '../domain/VirtualMachines.js';
import { applyNodeActions } from './applyNode.js';
import type { DaemonError } from './DaemonErrors.js';
import type { Netlink, NodeKube, Ovs } from './nodePorts.js';
import type { Clock, Log, WatchEvent, WatchHandle, Watcher } from './ports.js';

export interface DaemonDeps {
  readonly netlink: Netlink;
  readonly ovs: Ovs;
  readonly kube: NodeKube;
  readonly watcher: Watcher;
  readonly clock: Clock;
  readonly log: Log;
}

export interface DaemonOptions extends NodeConfig {
  /** This node; undefined in tests that watch every pod (the pod's own nodeName is used). */
  readonly nodeName?: string | undefined;
  /** How long ADD waits for an allocation when the request does not say; default 30 000. */
  readonly defaultDeadlineMs?: number;
  /** The most a request may ask to wait; default 300 000. */
  readonly maxDeadlineMs?: number;
}

interface PodView {
  readonly uid: string | undefined;
  readonly nodeName: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

interface SubnetView {
  readonly provider: string;
  readonly mtu: number | undefined;
}

/** A pod interface whose allocation has been committed. */
interface Allocated {
  readonly pod: PodView;
  readonly provider: string;
}

const origin = { file: 'cluster', document: 0 } as const;
const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

export class Daemon {
  private readonly pods = new Map<string, PodView>();
  private readonly subnets = new Map<string, SubnetView>();
  private readonly listed = { pods: false, subnets: false };
  /** Re-checks of waiting requests: per pod key, and for any change ('*'). */
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly background = new Set<Promise<void>>();
  private handles: WatchHandle[] = [];
  private stopping = false;

  constructor(private readonly deps: DaemonDeps, private readonly options: DaemonOptions) {}

  /** Starts the watches of pods and Subnets. */
  start(): void {
    const onError = (kind: string) => (err: Error): void => this.deps.log.warn('watch failed', { kind, error: err.message });
    this.handles = [
      this.deps.watcher.watch('pods', (e) => this.onPodEvent(e), onError('pods')),
      this.deps.watcher.watch('subnets', (e) => this.onSubnetEvent(e), onError('subnets')),
    ];
  }

  /** True once pods and Subnets have been listed. */
  get synced(): boolean {
    return this.listed.pods && this.listed.subnets;
  }

  /** Stops the watches, answers every waiting ADD (Unavailable), and waits for IP writes. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const set of this.waiters.values()) for (const recheck of [...set]) recheck();
    await Promise.all(this.handles.map((h) => h.stop()));
    await Promise.all([...this.background]);
  }

  async add(raw: CniRequest): Promise<E.Either<DaemonError, CniResponse>> {
    const valid = validateRequest(raw, 'add');
    if (E.isLeft(valid)) return valid;
    const req = valid.right;
    const waitMs = Math.min(req.deadlineMs ?? this.options.defaultDeadlineMs ?? 30_000, this.options.maxDeadlineMs ?? 300_000);
    const deadline = this.deps.clock.now() + waitMs;
    const synced = await this.waitUntil('*', () => (this.synced ? true : undefined), deadline);
    if (synced === undefined) {
      return E.left({ code: 'Unavailable', message: this.stopping ? 'the daemon is stopping' : `the daemon has not listed pods and Subnets from the API server within ${seconds(waitMs)}` });
    }
    if (req.provider !== 'ovn' && ![...this.subnets.values()].some((s) => s.provider === req.provider)) {
      return E.left({ code: 'UnknownProvider', provider: req.provider, message: `provider ${req.provider} is not bound to any subnet (no Subnet has spec.provider ${req.provider})` });
    }
    const key = `${req.podNamespace}/${req.podName}`;
    const allocated = await this.waitUntil(key, () => this.allocated(req), deadline);
    if (allocated === undefined) return E.left(this.notAllocated(req, waitMs));
    const { pod, provider } = allocated;
    this.deps.log.debug('allocation seen', { pod: key, ifName: req.ifName, provider });
    const allocation = readAllocation(pod.annotations, provider);
    if (E.isLeft(allocation)) return E.left({ code: 'InvalidAllocation', message: allocation.left });
    const annotationRoutes = parseRoutesAnnotation(pod.annotations, provider);
    if (E.isLeft(annotationRoutes)) return E.left({ code: 'InvalidAllocation', message: annotationRoutes.left });
    const input = {
      request: req, provider, allocation: allocation.right,
      defaultRoute: isDefaultRouteInterface(req.ifName, pod.annotations, provider),
      routes: interfaceRoutes(req.routes, annotationRoutes.right),
      siblingCidrs: siblingCidrs(pod.annotations, provider),
      portOwner: pod.annotations[VM_ANNOTATION] || undefined,
    };
    const mtu = this.subnetMtu(req.provider, allocation.right.subnet);
    if (raw.check === true) {
      // CHECK only looks: the answer ADD would give, or what has drifted; nothing is applied.
      return isOvnProvider(req.provider) ? this.locked(req, () => this.inspect(req, input, mtu)) : E.right(planIpamAdd(input).response);
    }
    const result = isOvnProvider(req.provider)
      ? await this.locked(req, () => this.plug(req, input, mtu))
      : await this.applyIpamOnly(planIpamAdd(input));
    if (E.isRight(result)) this.recordNode(ifaceIdOf(input.portOwner ?? req.podName, req.podNamespace, provider), pod);
    return result;
  }

  async del(raw: CniRequest): Promise<E.Either<DaemonError, void>> {
    const valid = validateRequest(raw, 'del');
    if (E.isLeft(valid)) return valid;
    const req = valid.right;
    // IPAM-only networks have nothing on the host (and a node may run them without OVS).
    if (!isOvnProvider(req.provider)) return E.right(undefined);
    return this.locked(req, async () => {
      try {
        await this.unplug(req);
        return E.right(undefined);
      } catch (err) {
        return E.left({ code: 'PlumbingFailed', message: `could not unplug ${req.podNamespace}/${req.podName} ${req.ifName}: ${describe(err)}` });
      }
    });
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** CHECK of an OVN interface: a finished plug plans only its routes and the wait; any other
   *  action means the interface is not what ADD made. */
  private async inspect(req: ValidRequest, input: AddInput, subnetMtu: number | undefined): Promise<E.Either<DaemonError, CniResponse>> {
    const planned = await this.planPlug(req, input, subnetMtu);
    if (E.isLeft(planned)) return planned;
    const drift = planned.right.actions.filter((a) => a.type !== 'AddRoute' && a.type !== 'WaitOvnInstalled');
    if (drift.length === 0) return E.right(planned.right.response);
    return E.left({ code: 'CheckFailed', message: `${req.podNamespace}/${req.podName} ${req.ifName} is not as ADD made it: ${drift.map((a) => a.reason).join('; ')}` });
  }

  /** Reads the host's state for the interface and plans its ADD. */
  private async planPlug(req: ValidRequest, input: AddInput, subnetMtu: number | undefined): Promise<E.Either<DaemonError, AddPlan>> {
    const names = linkNamesOf(req.containerId, req.ifName);
    const ifaceId = ifaceIdOf(input.portOwner ?? req.podName, req.podNamespace, input.provider);
    try {
      // The pod's link and the interface's source rules matter only to a plug that has its
      // host end. Without one (every fresh ADD) the plan plugs afresh whatever the pod holds, so
      // neither is read (two `ip` processes fewer per interface, issue #15): our rules are made
      // after the veth pair (the plan's order) and DEL removes them with it, so a pod without
      // the host end holds none of ours unless the host end was deleted by hand (or DEL could
      // not remove them). A rule left so points into its interface's table, which is empty (its
      // routes went with the link); this ADD replaces it when the interface wants rules, and
      // the next DEL removes it in any case.
      const [[hostEnd, podLink, sourceRules], port, interfaces] = await Promise.all([
        this.deps.netlink.readLink({ name: names.host, netns: this.options.hostNetns })
          .then(async (end) => end === undefined ? [end, undefined, []] as const : [end, ...await Promise.all([
            this.deps.netlink.readLink({ name: req.ifName, netns: req.netns }),
            req.netns === '' ? Promise.resolve([]) : this.deps.netlink.readSourceRules(req.netns, sourceTableOf(req.ifName)),
          ])] as const),
        this.deps.ovs.portExists(names.host),
        this.deps.ovs.findPortsByIfaceId(ifaceId),
      ]);
      const host = {
        hostLink: hostEnd !== undefined, port, ifacePorts: interfaces.map((i) => i.name),
        hostEnd, podLink, portIds: interfaces.find((i) => i.name === names.host)?.externalIds, sourceRules,
      };
      return planOvnAdd({ ...input, subnetMtu, host }, this.options);
    } catch (err) {
      return E.left({ code: 'PlumbingFailed', message: `could not read the host's state for ${req.podNamespace}/${req.podName} ${req.ifName}: ${describe(err)}` });
    }
  }

  private async plug(req: ValidRequest, input: AddInput, subnetMtu: number | undefined): Promise<E.Either<DaemonError, CniResponse>> {
    const planned = await this.planPlug(req, input, subnetMtu);
    if (E.isLeft(planned)) return planned;
    const plan = planned.right;
    for (const why of plan.skipped) this.deps.log.warn('route skipped', { pod: `${req.podNamespace}/${req.podName}`, ifName: req.ifName, why });
    try {
      await applyNodeActions(this.deps, plan.actions);
    } catch (err) {
      this.deps.log.error('ADD failed; removing what it made', { pod: `${req.podNamespace}/${req.podName}`, ifName: req.ifName, error: describe(err) });
      try {
        await this.unplug(req);
      } catch (undo) {
        this.deps.log.error('compensation failed', { pod: `${req.podNamespace}/${req.podName}`, ifName: req.ifName, error: describe(undo) });
      }
      return E.left({ code: 'PlumbingFailed', message: `could not plug ${req.podNamespace}/${req.podName} ${req.ifName}: ${describe(err)}` });
    }
    this.deps.log.info('plugged', { pod: `${req.podNamespace}/${req.podName}`, ifName: req.ifName, provider: input.provider, port: linkNamesOf(req.containerId, req.ifName).host });
    return E.right(plan.response);
  }

  /** Observes the host and applies the DEL plan of the interface. The pod's source rules are
   *  best effort: they live in its netns and go with it, so a netns that cannot be read or
   *  changed any more (being torn down) never fails a DEL. */
  private async unplug(req: Pick<ValidRequest, 'containerId' | 'ifName' | 'netns'>): Promise<void> {
    const names = linkNamesOf(req.containerId, req.ifName);
    const bestEffort = <T>(what: string, fallback: T) => (err: unknown): T => {
      this.deps.log.warn(`DEL: could not ${what} in the pod's netns; they go with it`, { netns: req.netns, ifName: req.ifName, error: describe(err) });
      return fallback;
    };
    const [hostLink, port, sourceRules] = await Promise.all([
      this.deps.netlink.linkExists({ name: names.host, netns: this.options.hostNetns }),
      this.deps.ovs.portExists(names.host),
      req.netns === '' ? Promise.resolve([]) : this.deps.netlink.readSourceRules(req.netns, sourceTableOf(req.ifName)).catch(bestEffort('read the source rules', [] as readonly string[])),
    ]);
    const plan = planDel(req, this.options, { hostLink, port, sourceRules });
    await applyNodeActions(this.deps, plan.filter((a) => a.type !== 'SetSourceRules'));
    await applyNodeActions(this.deps, plan.filter((a) => a.type === 'SetSourceRules')).catch(bestEffort('remove the source rules', undefined));
  }

  private async applyIpamOnly(plan: AddPlan): Promise<E.Either<DaemonError, CniResponse>> {
    try {
      await applyNodeActions(this.deps, plan.actions);
      return E.right(plan.response);
    } catch (err) {
      return E.left({ code: 'PlumbingFailed', message: describe(err) });
    }
  }

  /** Runs `task` after every earlier task of the same container interface. */
  private async locked<T>(req: Pick<ValidRequest, 'containerId' | 'ifName'>, task: () => Promise<T>): Promise<T> {
    const key = `${req.containerId}/${req.ifName}`;
    const before = this.locks.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  private recordNode(ipName: string, pod: PodView): void {
    const node = this.options.nodeName ?? pod.nodeName;
    if (node === undefined || node === '') return;
    const write = this.deps.kube.setIpNode(ipName, node).then(
      () => this.deps.log.debug('IP object placed', { ip: ipName, node }),
      (err: unknown) => this.deps.log.warn('could not record the node on the IP object', { ip: ipName, node, error: describe(err) }),
    );
    this.background.add(write);
    void write.finally(() => this.background.delete(write));
  }

  // ---- the cluster view -----------------------------------------------------------------------

  private subnetMtu(provider: string, named: string | undefined): number | undefined {
    const byName = named === undefined ? undefined : this.subnets.get(named);
    return (byName ?? [...this.subnets.values()].find((s) => s.provider === provider))?.mtu;
  }

  /** The committed allocation of the request's interface, if the cache has it. */
  private allocated(req: ValidRequest): Allocated | undefined {
    const pod = this.pods.get(`${req.podNamespace}/${req.podName}`);
    if (pod === undefined || (req.podUid !== undefined && pod.uid !== req.podUid)) return undefined;
    const provider = allocatedProvider(pod.annotations, req.provider, req.ifName);
    return provider === undefined ? undefined : { pod, provider };
  }

  private notAllocated(req: ValidRequest, waitMs: number): DaemonError {
    if (this.stopping) return { code: 'Unavailable', message: 'the daemon is stopping' };
    const pod = this.pods.get(`${req.podNamespace}/${req.podName}`);
    const node = this.options.nodeName === undefined ? '' : ` on node ${this.options.nodeName}`;
    const why = pod === undefined
      ? ` (the daemon has not seen the pod${node})`
      : req.podUid !== undefined && pod.uid !== req.podUid ? ` (the pod of that name has UID ${pod.uid ?? 'none'}, the runtime asked for ${req.podUid})` : '';
    return {
      code: 'NotAllocated',
      message: `no address allocated to pod ${req.podNamespace}/${req.podName} for provider ${req.provider} within ${seconds(waitMs)}; see the controller's Events on the pod${why}`,
    };
  }

  /**
   * Resolves with `check()`'s first value other than undefined, re-checked on every change of
   * `key` (a pod key, or '*' for any); undefined at the deadline or when the daemon stops.
   */
  private waitUntil<T>(key: string, check: () => T | undefined, deadline: number): Promise<T | undefined> {
    const first = check();
    if (first !== undefined || this.stopping) return Promise.resolve(first);
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set<() => void>();
      this.waiters.set(key, set);
      const done = (value: T | undefined): void => {
        clearTimeout(timer);
        set.delete(recheck);
        if (set.size === 0 && this.waiters.get(key) === set) this.waiters.delete(key);
        resolve(value);
      };
      const recheck = (): void => {
        const value = check();
        if (value !== undefined || this.stopping) done(value);
      };
      const timer = setTimeout(() => done(check()), Math.max(0, deadline - this.deps.clock.now()));
      set.add(recheck);
    });
  }

  private notify(key: string | undefined): void {
    const keys = key === undefined ? [...this.waiters.keys()] : [key];
    for (const k of keys) for (const recheck of [...(this.waiters.get(k) ?? [])]) recheck();
  }

  private onPodEvent(e: WatchEvent): void {
    if (e.type === 'RESET') {
      this.pods.clear();
      for (const o of e.objects) this.putPod(o);
      this.listed.pods = true;
      this.notify(undefined);
      return;
    }
    const key = e.type === 'DELETED' ? this.dropPod(e.object) : this.putPod(e.object);
    if (key !== undefined) this.notify(key);
  }

  private putPod(raw: unknown): string | undefined {
    const d = decodeRaw(raw, origin, 0);
    if (d === undefined || !d.ok) {
      if (d !== undefined) this.deps.log.warn('pod skipped', { problem: d.problem.message });
      return undefined;
    }
    const pod = d.entry.object as Pod;
    this.pods.set(d.key, { uid: pod.metadata.uid, nodeName: pod.spec.nodeName, annotations: pod.metadata.annotations ?? {} });
    return d.key;
  }

  private dropPod(raw: unknown): string | undefined {
    const meta = (raw as { metadata?: { name?: unknown; namespace?: unknown } } | undefined)?.metadata;
    if (typeof meta?.name !== 'string') return undefined;
    const key = `${typeof meta.namespace === 'string' ? meta.namespace : 'default'}/${meta.name}`;
    this.pods.delete(key);
    return key;
  }

  private onSubnetEvent(e: WatchEvent): void {
    const put = (raw: unknown): void => {
      const d = decodeRaw(raw, origin, 0);
      if (d === undefined || !d.ok) return;
      const s = d.entry.object as Subnet;
      this.subnets.set(d.key, { provider: s.spec.provider === undefined || s.spec.provider === '' ? 'ovn' : s.spec.provider, mtu: s.spec.mtu });
    };
    if (e.type === 'RESET') {
      this.subnets.clear();
      for (const o of e.objects) put(o);
      this.listed.subnets = true;
    } else if (e.type === 'DELETED') {
      const name = (e.object as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
      if (typeof name === 'string') this.subnets.delete(name);
    } else {
      put(e.object);
    }
    this.notify(undefined);
  }
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));
