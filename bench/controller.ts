// Benchmarks of the controller on a real API server (issue "The controller on a real API
// server"): etcd + kube-apiserver from the test harness, the Controller in this process with
// the real adapters and the CLI's defaults (3 workers), each figure beside a floor measured in
// the same run against the same API server.
// 1. Restart with 10,000 allocated pods (20,000 IP objects): from controller start (one new pod
//    is created at that moment) to the new pod's annotations written, seen by an independent
//    watch; floor: one bare paged LIST (limit 500) of those pods and IP objects, both at once,
//    after a warm-up LIST. Three rounds, floor and restart alternating; medians are reported.
// 2. 1,000 pods x 3 networks created at once (16 at a time) with the controller running: from
//    the first create to all 1,000 allocated (the controller's annotation patch answered), and
//    per pod create-to-allocated p50/p99; floor: the same 3,000 IP creates and 1,000 annotation
//    patches by a bare client (makeKube), as many pods at a time as the controller has workers,
//    each pod's writes in order, after its pods exist.
//    The floor runs once before and once after the controller (in namespaces of their own); the
//    baseline is their mean, and the per-pod percentiles pool both.
// The machine may be shared: alternating and bracketing keep a floor beside each measurement.
// Each benchmark gets its own API server; everything is stopped even on failure (and the
// harness's reaper removes what a killed process leaves). Diagnostics go to stderr, stdout has
// only report lines. BENCH_CPU_PROFILE=<dir> profiles the controller's windows (profile.ts).
import { pathToFileURL } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../src/adapters/kube/config.js';
import { makeKube } from '../src/adapters/kube/kube.js';
import { makeRest, type Request } from '../src/adapters/kube/rest.js';
import { makeWatcher, WATCH_PATHS } from '../src/adapters/kube/watcher.js';
import { makeMetrics, type PromMetrics } from '../src/adapters/metrics.js';
import { Controller } from '../src/effects/Controller.js';
import { startApiServer, type ApiServer } from '../test/harness/apiserver.js';
import {
  benchLog, cpuOf, cpuSince, describeCalls, describeLists, describeQueues, describeServerTimes, loadAverage, loopDelay, median, note, now,
  percentile, serverTimes, sleep, timedKube, timedRest, watchPod, type CallStats, type OnAnswer, type Timed,
} from './controllerProbe.js';
import {
  allocatedAnnotations, applyCrds, createIpObject, createNetworks, createPod, ipObjectOf, listAll, mapLimit,
  MACVLAN, MACVLAN2, OVN_DEFAULT, podBody, type Network,
} from './controllerWorkload.js';
import { startProfile } from './profile.js';
import { gc, report } from './report.js';

const SEED_CONCURRENCY = 16;
const WORKERS = 3;
const RESTART_ROUNDS = 3;
const WAIT_LIMIT_MS = 120_000;

interface Running {
  readonly controller: Controller;
  readonly calls: Map<string, CallStats>;
  readonly log: ReturnType<typeof benchLog>;
  readonly lists: Timed[];
  readonly metrics: PromMetrics;
}

/** A controller with the real adapters, probed, and the CLI's defaults; not yet started. */
const makeController = (kc: KubeConfig, onAnswer?: OnAnswer): Running => {
  const log = benchLog();
  const { kube, calls } = timedKube(makeKube(kc), onAnswer);
  const lists: Timed[] = [];
  const metrics = makeMetrics();
  const controller = new Controller(
    { kube, watcher: makeWatcher(kc, { request: timedRest(makeRest(kc), lists) }), clock: { now: () => Date.now(), sleep }, log, metrics, canWrite: () => true },
    { workers: WORKERS, gcIntervalMs: 360_000, cooldownMs: 0 },
  );
  return { controller, calls, log, lists, metrics };
};

/** Runs `body` with a controller, and stops it whatever happens. */
const withController = async (kc: KubeConfig, body: (r: Running) => Promise<void>, onAnswer?: OnAnswer): Promise<void> => {
  const r = makeController(kc, onAnswer);
  try {
    await body(r);
  } finally {
    await r.controller.stop();
  }
};

const describeRun = async (r: Running): Promise<string> =>
  `${describeCalls(r.calls)}; ${await describeQueues(r.metrics)}; ${r.log.warnings.length} warnings${r.log.warnings.length === 0 ? '' : `, first: ${r.log.warnings.slice(0, 3).join(' | ')}`}`;

/** Starts an API server with the project's CRDs, runs `body`, and stops the server whatever
 *  happens. The harness's own CRD step looks for config/crd beside its source, which from
 *  dist/test/harness is dist/config/crd: so the CRDs are applied here, from the repository. */
const withApiServer = async (body: (api: ApiServer, kc: KubeConfig, rest: Request) => Promise<void>): Promise<void> => {
  const api = await startApiServer({ crds: false });
  try {
    await applyCrds(api);
    const kc = loadKubeConfig(api.kubeconfigPath);
    await body(api, kc, makeRest(kc));
  } finally {
    await api.stop();
  }
};

const allocatedOn = (pod: unknown, nets: readonly Network[]): boolean => {
  const a = (pod as { metadata?: { annotations?: Record<string, string> } } | undefined)?.metadata?.annotations ?? {};
  return nets.every((n) => a[`${n.provider}.kubernetes.io/allocated`] === 'true');
};

const podNames = (count: number): string[] => Array.from({ length: count }, (_, i) => `pod-${String(i).padStart(5, '0')}`);

/** The annotations the controller writes on a pod of `nets` that holds their i-th addresses. */
const annotationsOf = (nets: readonly Network[], i: number): Record<string, string> => Object.assign({}, ...nets.map((n) => allocatedAnnotations(n, i))) as Record<string, string>;

/** `count` pods with complete allocations on eth0 and net1, and their IP objects. */
const seedAllocated = async (rest: Request, ns: string, count: number, nets: readonly Network[]): Promise<number> => {
  const names = podNames(count);
  let t = now();
  const uids = await mapLimit(names, SEED_CONCURRENCY, (name, i) => createPod(rest, podBody(ns, name, [MACVLAN], annotationsOf(nets, i))));
  note(`seeded ${count} allocated pods in ${(now() - t).toFixed(0)} ms`);
  t = now();
  const ips = names.flatMap((name, i) => nets.map((n) => ipObjectOf(n, ns, name, uids[i]!, i)));
  await mapLimit(ips, SEED_CONCURRENCY, (ip) => createIpObject(rest, ip));
  note(`seeded ${ips.length} IP objects in ${(now() - t).toFixed(0)} ms`);
  return ips.length;
};

/** One restart: start a controller and create `newcomer` at once; ms until it is allocated. */
const restartOnce = async (api: ApiServer, kc: KubeConfig, rest: Request, ns: string, newcomer: string, round: number): Promise<number> => {
  const nets = [OVN_DEFAULT, MACVLAN];
  let allocated = 0;
  await withController(kc, async (r) => {
    const watch = await watchPod(kc, ns, newcomer, (pod) => allocatedOn(pod, nets), WAIT_LIMIT_MS);
    gc();
    const profiler = await startProfile(`controller-restart-${round}`);
    const cpu = cpuOf(api);
    const loop = loopDelay();
    const started = now();
    let syncedAt = 0;
    void r.controller.ready.then(() => (syncedAt = now()));
    try {
      r.controller.start();
      await createPod(rest, podBody(ns, newcomer, [MACVLAN]));
      await watch.seen;
    } finally {
      watch.stop();
    }
    allocated = now() - started;
    await r.controller.idle();
    const idle = now() - started;
    const usage = `${cpuSince(api, cpu, idle)}; ${loop.stop()}`;
    await profiler.stop();
    note(`restart ${round}: caches synced at ${(syncedAt - started).toFixed(0)} ms, ${newcomer} allocated at ${allocated.toFixed(0)} ms, queues idle at ${idle.toFixed(0)} ms; ${usage}`);
    note(`  ${r.log.timings.map((t) => `at ${(t.at - started).toFixed(0)} ms: ${t.line}`).join('; ')}`);
    note(`  LISTs: ${describeLists(r.lists, started)}`);
    note(`  ${await describeRun(r)}`);
    const ipWrites = ['createIP', 'updateIP', 'deleteIP'].reduce((s, k) => s + (r.calls.get(k)?.count ?? 0), 0);
    if (ipWrites !== nets.length || r.calls.get('patchPodAnnotations')?.count !== 1) note(`WARNING: expected ${nets.length} IP writes and 1 pod patch (the new pod's only)`);
  });
  return allocated;
};

/** 1. Restart with `count` allocated pods. */
export const benchRestart = (count: number): Promise<void> => withApiServer(async (api, kc, rest) => {
  const ns = 'bench';
  await createNetworks(rest, [ns], false);
  const ipCount = await seedAllocated(rest, ns, count, [OVN_DEFAULT, MACVLAN]);
  const lists: Timed[] = [];
  const bareList = async (pods: number): Promise<number> => {
    lists.length = 0;
    const timed = timedRest(rest, lists);
    const cpu = cpuOf(api);
    const started = now();
    const [listedPods, listedIps] = await Promise.all([listAll(timed, WATCH_PATHS.pods), listAll(timed, WATCH_PATHS.ips)]);
    const ms = now() - started;
    if (listedPods !== pods || listedIps !== ipCount + (pods - count) * 2) throw new Error(`listed ${listedPods} pods and ${listedIps} IP objects, expected ${pods} and ${ipCount + (pods - count) * 2}`);
    note(`bare LIST: ${ms.toFixed(0)} ms; ${cpuSince(api, cpu, ms)}; ${describeLists(lists, started)}`);
    return ms;
  };
  await bareList(count); // warm-up
  const floors: number[] = [];
  const restarts: number[] = [];
  for (let round = 0; round < RESTART_ROUNDS; round++) {
    gc();
    floors.push(await bareList(count + round));
    restarts.push(await restartOnce(api, kc, rest, ns, `newcomer-${round}`, round));
  }
  const [value, floor] = [median(restarts), median(floors)];
  note(`restart rounds: controller ${restarts.map((x) => x.toFixed(0)).join(', ')} ms; bare LIST ${floors.map((x) => x.toFixed(0)).join(', ')} ms`);
  report({ name: `controller.restart.${count}_pods.new_pod_allocated`, value, unit: 'ms', baseline: floor, baselineName: `bare paged LIST (limit 500) of the pods and IP objects, both at once (medians of ${RESTART_ROUNDS} alternating rounds)`, ratio: value / floor, target: 'ratio <= 2' });
});

/** The floor of the burst: `names` pods created in `ns` (not timed), then their IP creates and
 *  patch by a bare client, WORKERS pods at a time, each pod's IP creates at once and then its
 *  patch: the same writes in the same pattern as the controller's. Returns the time and each
 *  pod's completion. */
const burstFloor = async (api: ApiServer, kc: KubeConfig, rest: Request, ns: string, names: readonly string[], offset: number): Promise<{ ms: number; done: number[] }> => {
  const nets = [OVN_DEFAULT, MACVLAN, MACVLAN2];
  const uids = await mapLimit(names, SEED_CONCURRENCY, (name) => createPod(rest, podBody(ns, name, [MACVLAN, MACVLAN2])));
  const { kube, calls } = timedKube(makeKube(kc));
  gc();
  const server = await serverTimes(api);
  const cpu = cpuOf(api);
  const loop = loopDelay();
  const started = now();
  const done = await mapLimit(names, WORKERS, async (name, i) => {
    await Promise.all(nets.map((n) => kube.createIP(ipObjectOf(n, ns, name, uids[i]!, offset + i))));
    await kube.patchPodAnnotations(ns, name, annotationsOf(nets, offset + i));
    return now() - started;
  });
  const ms = now() - started;
  note(`floor in ${ns}: ${names.length * nets.length} IP creates and ${names.length} patches, ${WORKERS} pods at a time, in ${ms.toFixed(0)} ms; ${cpuSince(api, cpu, ms)}; ${loop.stop()}`);
  note(`  client: ${describeCalls(calls)}; server: ${describeServerTimes(server, await serverTimes(api))}`);
  return { ms, done };
};

/** The controller part of the burst: ms from the first create until all are allocated, and each
 *  pod's create-to-allocated. A pod is allocated when the API server answers the controller's
 *  annotation patch with all three `allocated: "true"` (an observing watch would itself load the
 *  server with a second stream of every pod event); a LIST afterwards checks every pod. */
const burstController = async (api: ApiServer, kc: KubeConfig, rest: Request, ns: string, names: readonly string[]): Promise<{ ms: number; latencies: number[] }> => {
  const nets = [OVN_DEFAULT, MACVLAN, MACVLAN2];
  const allocatedAt = new Map<string, number>();
  const onAnswer: OnAnswer = (method, args, answer) => {
    if (method === 'patchPodAnnotations' && args[0] === ns && allocatedOn(answer, nets) && !allocatedAt.has(args[1] as string)) allocatedAt.set(args[1] as string, now());
  };
  const createdAt = new Map<string, number>();
  let ms = 0;
  await withController(kc, async (r) => {
    r.controller.start();
    await r.controller.ready;
    await r.controller.idle();
    gc();
    const server = await serverTimes(api);
    const profiler = await startProfile('controller-burst');
    const cpu = cpuOf(api);
    const loop = loopDelay();
    const started = now();
    await mapLimit(names, SEED_CONCURRENCY, (name) => {
      createdAt.set(name, now());
      return createPod(rest, podBody(ns, name, [MACVLAN, MACVLAN2]));
    });
    const createdIn = now() - started;
    const deadline = started + WAIT_LIMIT_MS;
    while (allocatedAt.size < names.length) {
      if (now() > deadline) throw new Error(`${allocatedAt.size} of ${names.length} pods allocated after ${WAIT_LIMIT_MS} ms`);
      await sleep(10);
    }
    ms = Math.max(...allocatedAt.values()) - started;
    const usage = `${cpuSince(api, cpu, now() - started)}; ${loop.stop()}`;
    await profiler.stop();
    await r.controller.idle();
    note(`burst in ${ns}: ${names.length} pods created in ${createdIn.toFixed(0)} ms, all allocated at ${ms.toFixed(0)} ms; ${usage}`);
    note(`  client: ${await describeRun(r)}`);
    note(`  server: ${describeServerTimes(server, await serverTimes(api))}`);
  }, onAnswer);
  const listed = (await rest('GET', `/api/v1/namespaces/${ns}/pods`)) as { items: unknown[] };
  const missing = listed.items.filter((p) => !allocatedOn(p, nets)).length;
  if (listed.items.length !== names.length || missing > 0) throw new Error(`after the burst ${ns} has ${listed.items.length} pods, ${missing} of them not allocated`);
  return { ms, latencies: names.map((n) => allocatedAt.get(n)! - createdAt.get(n)!).sort((a, b) => a - b) };
};

/** 2. `count` pods x 3 networks created at once with the controller running. */
export const benchBurst = (count: number): Promise<void> => withApiServer(async (api, kc, rest) => {
  await createNetworks(rest, ['floor-a', 'burst', 'floor-b'], true);
  const names = podNames(count);
  // Floor addresses are offset past the controller's, so the objects never disagree.
  const before = await burstFloor(api, kc, rest, 'floor-a', names, 2 * count);
  const run = await burstController(api, kc, rest, 'burst', names);
  const after = await burstFloor(api, kc, rest, 'floor-b', names, 3 * count);
  const floor = (before.ms + after.ms) / 2;
  const done = [...before.done, ...after.done].sort((a, b) => a - b);
  const name = `controller.burst.${count}_pods_x3`;
  report({ name: `${name}.all_allocated`, value: run.ms, unit: 'ms', baseline: floor, baselineName: `bare client: the same IP creates (a pod's at once) and patches, ${WORKERS} pods at a time (mean of one run before and one after)`, ratio: run.ms / floor, target: 'ratio <= 1.5' });
  for (const p of [50, 99]) {
    const [value, base] = [percentile(run.latencies, p), percentile(done, p)];
    report({ name: `${name}.create_to_allocated.p${p}`, value, unit: 'ms', baseline: base, baselineName: `bare client: p${p} of each pod's writes done, from the start of the writes`, ratio: value / base });
  }
});

export const benchController = async (restartPods = 10_000, burstPods = 1_000): Promise<void> => {
  const started = now();
  note(`load average at start: ${loadAverage()}`);
  if (restartPods > 0) await benchRestart(restartPods);
  if (burstPods > 0) await benchBurst(burstPods);
  note(`done in ${((now() - started) / 1000).toFixed(0)} s; load average ${loadAverage()}`);
};

// `node dist/bench/controller.js [restartPods] [burstPods]` runs these alone (0 skips one).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [restart, burst] = process.argv.slice(2).map(Number).map((n) => (Number.isInteger(n) && n >= 0 ? n : undefined));
  await benchController(restart, burst);
}
