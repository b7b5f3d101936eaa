// Benchmark of issue 15 item 1 (OVN ADD beside its floor): time from pod create to ADD
// answered, p50/p99 over PODS pods with eth0 + one OVN attachment, beside the FLOOR: the same
// operations without our code (ovnFloor.ts: the pod POSTed, one ovn-nbctl transaction with the
// same two logical switch ports, then per interface the veth pair, the OVS port with the same
// external_ids, the addresses and routes, and the wait for ovn-installed, from one bash script
// per pod). On the one-node cluster of ovnCluster.ts (real kube-apiserver, real OVS/OVN in
// userspace, the Controller with its Ovn port in this process, the node daemon in a process of
// its own, its unix socket POSTed to directly as the plugin does). Root only.
//
// Counts (environment, for development on a shared machine; the defaults are the figure's):
//   BENCH_OVN_PODS       pods per run (default 200)
//   BENCH_OVN_IN_FLIGHT  pods in flight at any time (default 10)
//   BENCH_OVN_ROUNDS     blocks per run (default 4; PODS / ROUNDS pods each)
//   BENCH_OVN_IPAM       0 leaves out the IPAM-only run (default 1: run it, as an extra figure)
// Every run: PODS pods, IN_FLIGHT of them in flight at any time (a fixed pool of workers, each
// taking the next pod when its last one is done, as a kubelet starts sandboxes side by side),
// in ROUNDS blocks. Per round ours and the floor alternate which goes first (ours, floor; then
// floor, ours; …), so neither always meets the fuller switches, and the IPAM-only block follows.
// At 10 in flight the figures include queueing behind the other pods (the controller's 3
// workers, the shared CPU): a burst of pod starts on one node, not one pod on an idle node.
// Per pod, untimed: a network namespace is created (the sandbox). Timed from just before the
// pod's POST to the API server:
// - Ours (pods `ovn-NNNN`, networks `default/attachnet`): the eth0 ADD (provider ovn) is
//   POSTed before the pod is created, so the daemon waits while the controller allocates; the
//   net1 ADD (provider attachnet.default.ovn) is POSTed once eth0 is answered, because Multus
//   runs a pod's delegates one after another (default network first). Sample = create → net1
//   answered 200. It includes the controller's allocation of both networks (IP objects, the
//   two logical switch ports in OVN NB, the one annotation patch), the daemon's watch seeing
//   it, and per interface the daemon's plumbing and its wait for ovn-installed.
// - Floor (pods `floor-NNNN`): sample = POST → its script's end (ovnFloor.ts).
// - IPAM-only (pods `ipam-NNNN`, networks `macvlan`): the net1 IPAM-only ADD (provider
//   macvlan.default) POSTed before the pod is created; sample = create → answered (nothing
//   plumbed). The earlier baseline of this figure, kept beside it.
// Where our time goes: per step from our own timestamps (ovnTrace.ts: the controller's ports,
// the daemon's debug log), printed as a table, the main phases reported beside the floor's.
// Every pod stays until the end (the OVN switch ports accumulate). Then every interface of ours
// is DELeted (net1 before eth0, as Multus does), the namespaces removed, and the cluster
// stopped, also when a run fails. Diagnostics go to stderr; stdout has only report lines.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { linkNamesOf } from '../src/domain/cni/NodePlanner.js';
import type { CniRequest } from '../src/domain/cni/Protocol.js';
import { createNetns, destroyAll, netnsPath } from '../test/harness/netns.js';
import { postAdd, type DaemonAnswer } from './cniCluster.js';
import { ATTACHNET, createPod, MACVLAN, NAMESPACE, postDel, startOvnCluster, type OvnCluster } from './ovnCluster.js';
import { floorPod } from './ovnFloor.js';
import { describeGaps, epochMs, gaps, stampDaemon, type Stamps } from './ovnTrace.js';
import { percentile, report } from './report.js';

const count = (name: string, fallback: number): number => {
  const n = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, not ${process.env[name] ?? ''}`);
  return n;
};
const PODS = count('BENCH_OVN_PODS', 200);
const IN_FLIGHT = count('BENCH_OVN_IN_FLIGHT', 10);
const ROUNDS = count('BENCH_OVN_ROUNDS', 4);
const WITH_IPAM = count('BENCH_OVN_IPAM', 1) !== 0;
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

const answered = async (pod: Pod, iface: Iface, answer: Promise<DaemonAnswer>, cluster: OvnCluster): Promise<number> => {
  const a = await answer;
  if (a.status !== 200) {
    // What OVS and OVN hold of the interface, for the failure's cause.
    const port = linkNamesOf(pod.containerId, iface.ifName).host;
    const lsp = iface.provider === 'ovn' ? `${pod.name}.${NAMESPACE}` : `${pod.name}.${NAMESPACE}.${iface.provider}`;
    const seen = await Promise.all([
      cluster.ovs.vsctl('--columns=name,ofport,external_ids,error', 'find', 'Interface', `name=${port}`),
      cluster.ovs.sbctl('--columns=logical_port,chassis,up', 'find', 'Port_Binding', `logical_port=${lsp}`),
    ].map((p) => p.catch((e: unknown) => String(e))));
    note(`ADD ${iface.ifName} of ${pod.name} failed; OVS: ${seen[0] ?? ''}; SB: ${seen[1] ?? ''}`);
    for (const log of ['ovs-vswitchd.log', 'ovn-controller.log']) {
      const lines = readFileSync(`${cluster.ovs.runDir}/${log}`, 'utf8').split('\n').filter((l) => l.includes(port) || l.includes(lsp));
      note(`${log}: ${lines.slice(-8).join('\n')}`);
    }
    throw new Error(`ADD ${iface.ifName} (${iface.provider}) of ${pod.name} answered ${a.status}: ${a.body}`);
  }
  return a.at;
};

interface Plugged { readonly pod: Pod; readonly ifaces: readonly Iface[] }

/** What every kind of run shares: where its pods' stamps go and what it plugged (for DEL). */
interface Context { readonly cluster: OvnCluster; readonly stamps: Stamps; readonly plugged: Plugged[] }

interface Run {
  readonly label: string;
  readonly prefix: string;
  /** The sample's parts, in order (the last is the sample). */
  readonly parts: readonly string[];
  /** Pod `i` (named `name`, its sandbox `netns`): resolves with create → each part, in ms. */
  readonly pod: (ctx: Context, name: string, i: number, netns: string) => Promise<readonly number[]>;
}

/** Ours, and the IPAM-only run: netns made, first ADD POSTed, pod created, the rest in order. */
const pluginRun = (label: string, prefix: string, networks: string, ifaces: readonly Iface[]): Run => ({
  label, prefix, parts: ifaces.map((f) => `${f.ifName} (${f.provider}) answered`),
  pod: async (ctx, name, i, netns) => {
    const pod: Pod = { name, containerId: `${prefix}${String(i).padStart(8 - prefix.length, '0')}`.padEnd(64, '0'), netns };
    ctx.plugged.push({ pod, ifaces });
    const [first, ...rest] = ifaces;
    if (first === undefined) throw new Error(`run ${label} has no interface`);
    const firstAnswer = postAdd(ctx.cluster.socket, request(pod, first));
    const created = performance.now();
    const stamps = new Map<string, number>([['create', epochMs()]]);
    ctx.stamps.set(name, stamps);
    try {
      await createPod(ctx.cluster.rest, name, networks);
    } finally {
      // Never leave the ADD's promise unobserved, even when the create failed.
      firstAnswer.catch(() => undefined);
    }
    const times = [await answered(pod, first, firstAnswer, ctx.cluster) - created];
    stamps.set(`${first.ifName}: answered`, performance.timeOrigin + created + (times[0] ?? NaN));
    for (const iface of rest) {
      times.push(await answered(pod, iface, postAdd(ctx.cluster.socket, request(pod, iface)), ctx.cluster) - created);
      stamps.set(`${iface.ifName}: answered`, performance.timeOrigin + created + (times[times.length - 1] ?? NaN));
    }
    return times;
  },
});

const OURS = pluginRun('ours (eth0 + attachnet)', 'ovn', 'default/attachnet', [ETH0, OVN_NET1]);
const IPAM = pluginRun('IPAM-only (macvlan)', 'ipam', 'macvlan', [IPAM_NET1]);
const FLOOR: Run = {
  label: 'floor (eth0 + attachnet, bare script)', prefix: 'floor', parts: ['eth0 ovn-installed', 'net1 ovn-installed'],
  pod: (ctx, name, i, netns) => floorPod(ctx.cluster.rest, ctx.cluster.ovs, name, i, netns, ctx.stamps),
};

/** What one run measured, over all its blocks. */
interface Tally {
  /** Per pod (by index): create → each part, in `run.parts` order. */
  readonly samples: (readonly number[])[];
  wallMs: number;
}

/** Pods `from` to `to` − 1 of `run`, IN_FLIGHT at a time; the first failure stops new pods and
 *  rejects once the rest end. */
const runBlock = async (ctx: Context, run: Run, from: number, to: number, into: Tally): Promise<void> => {
  let next = from;
  let failure: unknown;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < to) {
      const i = next++;
      try {
        into.samples[i] = await run.pod(ctx, `${run.prefix}-${String(i).padStart(4, '0')}`, i, await createNetns());
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  into.wallMs += performance.now() - started;
  if (failure !== undefined) throw failure;
};

const describe = (run: Run, t: Tally): void => {
  const wall = t.wallMs / 1000;
  note(`${run.label}: ${PODS} pods, ${IN_FLIGHT} in flight, in ${wall.toFixed(1)} s (${(PODS / wall).toFixed(1)} pods/s)`);
  run.parts.forEach((part, k) => note(`  create → ${part}: ${summary(t.samples.map((s) => s[k] ?? NaN))}`));
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

const PER_IFACE = ['daemon sees allocation', 'host read', 'veth pair made, moved, up', 'OVS port added', 'addresses, routes', 'ovn-installed', 'answered'];
/** Our steps in time order (ovnTrace.ts names them). */
const OUR_STEPS = ['create', 'controller sees pod', 'IP objects written', 'LSP transaction starts', 'LSPs written', 'annotation patched', ...['eth0', 'net1'].flatMap((f) => PER_IFACE.map((s) => `${f}: ${s}`))];
const FLOOR_STEPS = ['create', 'pod created', 'LSPs written', ...['eth0', 'net1'].flatMap((f) => [`${f}: veth pair made, moved, up`, `${f}: OVS port added`, `${f}: addresses, routes`, `${f}: ovn-installed`]), 'answered'];

/** Phases comparable between ours and the floor: [figure name, ours from → to, floor from → to]. */
/** Each phase: its name, our stamps, the floor's (none where its script goes straight on). */
const PHASES: readonly (readonly [string, readonly [string, string], readonly [string, string] | undefined])[] = [
  ['create_to_lsps_written', ['create', 'LSPs written'], ['create', 'LSPs written']],
  ['lsps_written_to_eth0_plumbing', ['LSPs written', 'eth0: host read'], undefined],
  ['eth0_plumbing', ['eth0: host read', 'eth0: addresses, routes'], ['LSPs written', 'eth0: addresses, routes']],
  ['eth0_ovn_installed_wait', ['eth0: addresses, routes', 'eth0: ovn-installed'], ['eth0: addresses, routes', 'eth0: ovn-installed']],
  ['eth0_installed_to_net1_plumbing', ['eth0: ovn-installed', 'net1: host read'], undefined],
  ['net1_plumbing', ['net1: host read', 'net1: addresses, routes'], ['eth0: ovn-installed', 'net1: addresses, routes']],
  ['net1_ovn_installed_wait', ['net1: addresses, routes', 'net1: ovn-installed'], ['net1: addresses, routes', 'net1: ovn-installed']],
];

const span = (stamps: Stamps, pods: readonly string[], [from, to]: readonly [string, string]): number[] =>
  pods.flatMap((p) => {
    const s = stamps.get(p);
    const [a, b] = [s?.get(from), s?.get(to)];
    return a === undefined || b === undefined ? [] : [b - a];
  });

/** The breakdown of ours and the floor (stderr), and each phase's p50 reported beside the floor's. */
const breakdown = (ctx: Context): void => {
  const ours = [...ctx.stamps.keys()].filter((p) => p.startsWith(`${OURS.prefix}-`));
  const floor = [...ctx.stamps.keys()].filter((p) => p.startsWith(`${FLOOR.prefix}-`));
  const ports = new Map(ctx.plugged.flatMap(({ pod, ifaces }) => ifaces.map((f) => [linkNamesOf(pod.containerId, f.ifName).host, { pod: pod.name, ifName: f.ifName }] as const)));
  stampDaemon(ctx.cluster.daemonTrace(), ctx.stamps, (port) => ports.get(port));
  note(describeGaps(`our steps, ${ours.length} pods`, gaps(ctx.stamps, ours, OUR_STEPS)));
  note(describeGaps(`the floor's steps, ${floor.length} pods`, gaps(ctx.stamps, floor, FLOOR_STEPS)));
  for (const [name, o, f] of PHASES) {
    const value = percentile(span(ctx.stamps, ours, o), 50);
    if (f === undefined) {
      report({ name: `ovn.step.${name}.p50`, value, unit: 'ms' });
      continue;
    }
    const baseline = percentile(span(ctx.stamps, floor, f), 50);
    report({
      name: `ovn.step.${name}.p50`, value, unit: 'ms', baseline, ...(baseline > 0 ? { ratio: value / baseline } : {}),
      baselineName: `the floor's ${f[0]} → ${f[1]} (p50)`,
    });
  }
};

export const benchOvn = async (): Promise<void> => {
  if (process.getuid?.() !== 0) {
    note('SKIPPED: needs root (network namespaces, veth pairs, Open vSwitch)');
    return;
  }
  if (PODS === 0 || ROUNDS === 0 || IN_FLIGHT === 0 || PODS % ROUNDS !== 0) throw new Error(`BENCH_OVN_PODS (${PODS}) must be a non-zero multiple of BENCH_OVN_ROUNDS (${ROUNDS}), BENCH_OVN_IN_FLIGHT (${IN_FLIGHT}) above 0`);
  const started = performance.now();
  const cluster = await startOvnCluster();
  note(`cluster up in ${((performance.now() - started) / 1000).toFixed(1)} s; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const ctx: Context = { cluster, stamps: cluster.stamps, plugged: [] };
  const tallies = new Map<Run, Tally>([OURS, FLOOR, IPAM].map((r) => [r, { samples: [], wallMs: 0 }]));
  const tally = (run: Run): Tally => tallies.get(run) ?? { samples: [], wallMs: 0 };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const [from, to] = [round * PODS / ROUNDS, (round + 1) * PODS / ROUNDS];
      for (const run of [...(round % 2 === 0 ? [OURS, FLOOR] : [FLOOR, OURS]), ...(WITH_IPAM ? [IPAM] : [])]) await runBlock(ctx, run, from, to, tally(run));
      note(`round ${round + 1} of ${ROUNDS} done; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    }
    for (const run of [OURS, FLOOR, ...(WITH_IPAM ? [IPAM] : [])]) describe(run, tally(run));
    const last = (t: Tally): number[] => t.samples.map((s) => s[s.length - 1] ?? NaN);
    const [ours, floor, ipam] = [last(tally(OURS)), last(tally(FLOOR)), last(tally(IPAM))];
    for (const p of [50, 99]) {
      const [value, baseline] = [percentile(ours, p), percentile(floor, p)];
      report({
        name: `ovn.pod_create_to_add.vs_floor.p${p}`, value, unit: 'ms', baseline, ratio: value / baseline, target: 'ratio <= 1.3',
        baselineName: `the floor: the same ${PODS} pods' OVN NB ports, OVS ports, netns plumbing and ovn-installed waits by a bare script per pod (${IN_FLIGHT} in flight), POST to done (p${p})`,
        samples: ours, baselineSamples: floor,
      });
      if (!WITH_IPAM) continue;
      const ipamBase = percentile(ipam, p);
      report({
        name: `ovn.pod_create_to_add.eth0_attachnet.p${p}`, value, unit: 'ms', baseline: ipamBase, ratio: value / ipamBase,
        baselineName: `the same ${PODS} pods (${IN_FLIGHT} in flight) on the seed's IPAM-only macvlan network: create to net1 answered, nothing plumbed (p${p})`,
      });
    }
  } finally {
    await unplug(cluster, ctx.plugged);
    await destroyAll().catch((e: unknown) => note(`netns cleanup: ${String(e)}`));
    await cluster.stop();
  }
  breakdown(ctx);
  note(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
};

// `node dist/bench/ovn.js` runs this benchmark alone.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await benchOvn();
