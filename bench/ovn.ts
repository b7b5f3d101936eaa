// Benchmark of issue 7 (OVN attachments): time from pod create to ADD answered, p50/p99 over
// PODS pods with eth0 + one OVN attachment, beside the same pods on an IPAM-only network, on
// the one-node cluster of ovnCluster.ts (real kube-apiserver, real OVS/OVN in userspace, the
// Controller with its Ovn port in this process, the node daemon in a process of its own, its
// unix socket POSTed to directly as the plugin does). Root only.
//
// Both runs: PODS pods, IN_FLIGHT of them in flight at any time (a fixed pool of workers, each
// taking the next pod when its last one is done, as a kubelet starts sandboxes side by side),
// in ROUNDS blocks that alternate OVN and baseline (50 OVN pods, 50 baseline pods, …), so a busy
// moment of this shared 2-core machine hits both alike. At 10 in flight the figures include
// queueing behind the other pods (the controller's 3 workers, the shared CPU): a burst of pod
// starts on one node, not one pod on an idle node.
// Per pod, untimed: a network namespace is created (the sandbox). Timed from just before the
// pod's POST to the API server (performance.now() in this process):
// - OVN run (pods `ovn-NNNN`, networks `default/attachnet`): the eth0 ADD (provider ovn) is
//   POSTed before the pod is created, so the daemon waits while the controller allocates; the
//   net1 ADD (provider attachnet.default.ovn) is POSTed once eth0 is answered, because Multus
//   runs a pod's delegates one after another (default network first). Sample = create → net1
//   answered 200. It includes: the controller's allocation of both networks (IP objects, the
//   two logical switch ports in OVN NB, the one annotation patch), the daemon's watch seeing it,
//   and per interface the daemon's plumbing: veth pair, addresses/MAC/MTU/routes in the netns,
//   the OVS port on br-int, and the wait until ovn-controller sets ovn-installed (as production
//   does with --ovn-installed-timeout).
// - Baseline run (pods `ipam-NNNN`, networks `macvlan`): the net1 IPAM-only ADD (provider
//   macvlan.default) is POSTed before the pod is created. Sample = create → net1 answered 200:
//   the controller's allocation of both networks (IP objects, eth0's logical switch port, the
//   patch) and the daemon's watch; the daemon only returns addresses, nothing is plumbed, and no
//   eth0 ADD is sent (that is the OVN part the ratio prices).
// Every pod stays until the end (the OVN switch ports accumulate). Then every interface is DELeted
// (net1 before eth0, as Multus does), the namespaces removed, and the cluster stopped, also
// when a run fails. Diagnostics go to stderr; stdout has only report lines.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { CniRequest } from '../src/domain/cni/Protocol.js';
import { createNetns, destroyAll, netnsPath } from '../test/harness/netns.js';
import { postAdd, type DaemonAnswer } from './cniCluster.js';
import { ATTACHNET, createPod, MACVLAN, NAMESPACE, postDel, startOvnCluster, type OvnCluster } from './ovnCluster.js';
import { percentile, report } from './report.js';

const PODS = 200;
const IN_FLIGHT = 10;
/** Blocks of PODS / ROUNDS pods, alternating OVN and baseline, so a busy moment of a shared
 *  machine hits both runs alike. */
const ROUNDS = 4;
/** How long the daemon may wait for an allocation (the plugin's deadline). */
const DEADLINE_MS = 60_000;
/** A DEL that has not answered by then is reported and skipped, so cleanup goes on. */
const DEL_LIMIT_MS = 30_000;

const note = (text: string): void => void process.stderr.write(`bench ovn: ${text}\n`);

const summary = (values: readonly number[]): string =>
  `min ${Math.min(...values).toFixed(1)} ms, p50 ${percentile(values, 50).toFixed(1)}, p90 ${percentile(values, 90).toFixed(1)}, ` +
  `p99 ${percentile(values, 99).toFixed(1)}, max ${Math.max(...values).toFixed(1)}`;

/** One interface of one pod, as the plugin would send it. */
interface Iface { readonly cniType: string; readonly ifName: string; readonly provider: string }

const ETH0: Iface = { cniType: 'kube-ovn', ifName: 'eth0', provider: 'ovn' };
const OVN_NET1: Iface = { cniType: 'kube-ovn', ifName: 'net1', provider: ATTACHNET };
const IPAM_NET1: Iface = { cniType: 'macvlan', ifName: 'net1', provider: MACVLAN };

interface Pod {
  readonly name: string;
  /** Unique in its first 8 characters: the daemon names host ends after them. */
  readonly containerId: string;
  readonly netns: string;
}

const request = (pod: Pod, iface: Iface): CniRequest => ({
  cni_type: iface.cniType, pod_name: pod.name, pod_namespace: NAMESPACE, container_id: pod.containerId, net_ns: netnsPath(pod.netns),
  if_name: iface.ifName, provider: iface.provider, routes: [], deadline_ms: DEADLINE_MS,
});

const answered = async (pod: Pod, iface: Iface, answer: Promise<DaemonAnswer>): Promise<number> => {
  const a = await answer;
  if (a.status !== 200) throw new Error(`ADD ${iface.ifName} (${iface.provider}) of ${pod.name} answered ${a.status}: ${a.body}`);
  return a.at;
};

interface Run {
  readonly label: string;
  readonly prefix: string;
  readonly networks: string;
  /** The interfaces, in Multus's order; the first is POSTed before the pod is created. */
  readonly ifaces: readonly Iface[];
}

const OVN_RUN: Run = { label: 'OVN (eth0 + attachnet)', prefix: 'ovn', networks: 'default/attachnet', ifaces: [ETH0, OVN_NET1] };
const IPAM_RUN: Run = { label: 'IPAM-only (macvlan)', prefix: 'ipam', networks: 'macvlan', ifaces: [IPAM_NET1] };

interface Plugged { readonly pod: Pod; readonly ifaces: readonly Iface[] }

/** One pod: netns (untimed), first ADD POSTed, pod created, the rest in order; resolves with
 *  create → last answer, and the answer times of each interface relative to create. */
const onePod = async (cluster: OvnCluster, run: Run, i: number, plugged: Plugged[]): Promise<readonly number[]> => {
  const name = `${run.prefix}-${String(i).padStart(4, '0')}`;
  const pod: Pod = { name, containerId: `${run.prefix}${String(i).padStart(8 - run.prefix.length, '0')}`.padEnd(64, '0'), netns: await createNetns() };
  plugged.push({ pod, ifaces: run.ifaces });
  const [first, ...rest] = run.ifaces;
  if (first === undefined) throw new Error(`run ${run.label} has no interface`);
  const firstAnswer = postAdd(cluster.socket, request(pod, first));
  const created = performance.now();
  try {
    await createPod(cluster.rest, name, run.networks);
  } finally {
    // Never leave the ADD's promise unobserved, even when the create failed.
    firstAnswer.catch(() => undefined);
  }
  const times = [await answered(pod, first, firstAnswer) - created];
  for (const iface of rest) times.push(await answered(pod, iface, postAdd(cluster.socket, request(pod, iface))) - created);
  return times;
};

/** What one run measured, over all its blocks. */
interface Tally {
  /** Per pod (by index): create → each interface answered, in `run.ifaces` order. */
  readonly samples: (readonly number[])[];
  wallMs: number;
  /** This process's CPU (µs) and event-loop delay while the run's blocks ran: the controller,
   *  the daemon and every child they spawn share this process. */
  readonly cpu: { user: number; system: number };
  readonly loop: IntervalHistogram;
}

const tally = (): Tally => ({ samples: [], wallMs: 0, cpu: { user: 0, system: 0 }, loop: monitorEventLoopDelay({ resolution: 10 }) });

/** Pods `from` to `to` − 1 of `run`, IN_FLIGHT at a time; the first failure stops new pods and
 *  rejects once the rest end. */
const runBlock = async (cluster: OvnCluster, run: Run, from: number, to: number, into: Tally, plugged: Plugged[]): Promise<void> => {
  let next = from;
  let failure: unknown;
  const started = performance.now();
  const cpu = process.cpuUsage();
  into.loop.enable();
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < to) {
      const i = next++;
      try {
        into.samples[i] = await onePod(cluster, run, i, plugged);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  into.loop.disable();
  const used = process.cpuUsage(cpu);
  into.cpu.user += used.user;
  into.cpu.system += used.system;
  into.wallMs += performance.now() - started;
  if (failure !== undefined) throw failure;
};

const describe = (run: Run, t: Tally): void => {
  const wall = t.wallMs / 1000;
  note(`${run.label}: ${PODS} pods, ${IN_FLIGHT} in flight, in ${wall.toFixed(1)} s (${(PODS / wall).toFixed(1)} pods/s); this process: CPU user ${(t.cpu.user / 1e6).toFixed(1)} s, ` +
    `system ${(t.cpu.system / 1e6).toFixed(1)} s, event-loop delay p50 ${(t.loop.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(t.loop.percentile(99) / 1e6).toFixed(1)} ms`);
  run.ifaces.forEach((iface, k) => note(`  create → ${iface.ifName} (${iface.provider}) answered: ${summary(t.samples.map((s) => s[k] ?? NaN))}`));
};

/** DELs every interface ADDed (last first, as Multus does), IN_FLIGHT pods at a time; never throws. */
const unplug = async (cluster: OvnCluster, plugged: readonly Plugged[]): Promise<void> => {
  const started = performance.now();
  let failed = 0;
  let next = 0;
  const del = async (pod: Pod, iface: Iface): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer in ${DEL_LIMIT_MS} ms`)), DEL_LIMIT_MS); });
    try {
      const a = await Promise.race([postDel(cluster.socket, request(pod, iface)), limit]);
      if (a.status !== 204) throw new Error(`answered ${a.status}: ${a.body}`);
    } catch (err) {
      if (failed++ < 5) note(`DEL ${iface.ifName} (${iface.provider}) of ${pod.name}: ${String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  };
  const worker = async (): Promise<void> => {
    for (let p = plugged[next++]; p !== undefined; p = plugged[next++]) {
      for (const iface of [...p.ifaces].reverse()) await del(p.pod, iface);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  note(`DEL of ${plugged.length} pods' interfaces in ${((performance.now() - started) / 1000).toFixed(1)} s${failed > 0 ? `; ${failed} failed` : ''}`);
};

export const benchOvn = async (): Promise<void> => {
  if (process.getuid?.() !== 0) {
    note('SKIPPED: needs root (network namespaces, veth pairs, Open vSwitch)');
    return;
  }
  const started = performance.now();
  const cluster = await startOvnCluster();
  note(`cluster up in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const plugged: Plugged[] = [];
  try {
    const [ovnTally, ipamTally] = [tally(), tally()];
    for (let round = 0; round < ROUNDS; round++) {
      const [from, to] = [round * PODS / ROUNDS, (round + 1) * PODS / ROUNDS];
      await runBlock(cluster, OVN_RUN, from, to, ovnTally, plugged);
      await runBlock(cluster, IPAM_RUN, from, to, ipamTally, plugged);
    }
    describe(OVN_RUN, ovnTally);
    describe(IPAM_RUN, ipamTally);
    const last = (t: Tally): number[] => t.samples.map((s) => s[s.length - 1] ?? NaN);
    const [ovn, ipam] = [last(ovnTally), last(ipamTally)];
    for (const p of [50, 99]) {
      const [value, baseline] = [percentile(ovn, p), percentile(ipam, p)];
      report({
        name: `ovn.pod_create_to_add.eth0_attachnet.p${p}`, value, unit: 'ms', baseline, ratio: value / baseline,
        baselineName: `the same ${PODS} pods (${IN_FLIGHT} in flight) on the seed's IPAM-only macvlan network: create to net1 answered, nothing plumbed (p${p})`,
      });
    }
  } finally {
    await unplug(cluster, plugged);
    await destroyAll().catch((e: unknown) => note(`netns cleanup: ${String(e)}`));
    await cluster.stop();
  }
  note(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};

// `node dist/bench/ovn.js` runs this benchmark alone.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchOvn();
