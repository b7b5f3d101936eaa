// Benchmarks of the controller on a real API server (issue "The controller on a real API
// server"): etcd + kube-apiserver from the test harness, the Controller with the real adapters
// and the CLI's defaults (3 workers), each figure beside a floor measured in the same run
// against the same API server.
// 1. Restart with 10,000 and 50,000 allocated pods, the controller as a CLI process, with its
//    peak RSS: controllerRestart.ts.
// 2. 1,000 (or 5,000) pods x 3 networks created at once (16 at a time) with the controller running: from
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
import { makeKube } from '../src/adapters/kube/kube.js';
import { makeRest, type Request } from '../src/adapters/kube/rest.js';
import { makeWatcher } from '../src/adapters/kube/watcher.js';
import { makeMetrics, type PromMetrics } from '../src/adapters/metrics.js';
import { Controller } from '../src/effects/Controller.js';
import type { ApiServer } from '../test/harness/apiserver.js';
import {
  benchLog, cpuOf, cpuSince, describeCalls, describeQueues, describeServerTimes, loadAverage, loopDelay, note, now,
  percentile, queueCounts, serverTimes, sleep, timedKube, timedRest, type CallStats, type OnAnswer, type QueueCounts, type Timed,
} from './controllerProbe.js';
import { benchRestart } from './controllerRestart.js';
import {
  allocatedOn, annotationsOf, createNetworks, createPod, ipObjectOf, mapLimit, MACVLAN, MACVLAN2, OVN_DEFAULT, podBody, podNames, withApiServer,
} from './controllerWorkload.js';
import { startProfile } from './profile.js';
import { gc, report } from './report.js';

/** Pods created at a time: the burst's own creates. */
const CREATE_CONCURRENCY = 16;
/** Pods created at a time before a floor (not timed). */
const SEED_CONCURRENCY = 64;
const WORKERS = 3;
/** How long the burst may take: 2 minutes, 200 ms a pod beyond 600 (on a loaded machine the
 *  floor alone took 62 ms a pod at 5,000). */
const waitLimitMs = (pods: number): number => Math.max(120_000, 200 * pods);

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

const describeRun = async (r: Running, since?: QueueCounts): Promise<string> =>
  `${describeCalls(r.calls)}; ${await describeQueues(r.metrics, since)}; ${r.log.warnings.length} warnings${r.log.warnings.length === 0 ? '' : `, first: ${r.log.warnings.slice(0, 3).join(' | ')}`}`;

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
    // The start-up's reconciles (every pod of the floor before) are not the burst's.
    const queued = await queueCounts(r.metrics);
    const server = await serverTimes(api);
    const profiler = await startProfile('controller-burst');
    const cpu = cpuOf(api);
    const loop = loopDelay();
    const started = now();
    await mapLimit(names, CREATE_CONCURRENCY, (name) => {
      createdAt.set(name, now());
      return createPod(rest, podBody(ns, name, [MACVLAN, MACVLAN2]));
    });
    const createdIn = now() - started;
    const deadline = started + waitLimitMs(names.length);
    while (allocatedAt.size < names.length) {
      if (now() > deadline) throw new Error(`${allocatedAt.size} of ${names.length} pods allocated after ${waitLimitMs(names.length)} ms`);
      await sleep(10);
    }
    ms = Math.max(...allocatedAt.values()) - started;
    const usage = `${cpuSince(api, cpu, now() - started)}; ${loop.stop()}`;
    await profiler.stop();
    await r.controller.idle();
    note(`burst in ${ns}: ${names.length} pods created in ${createdIn.toFixed(0)} ms, all allocated at ${ms.toFixed(0)} ms; ${usage}`);
    note(`  client: ${await describeRun(r, queued)}`);
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
  report({ name: `${name}.all_allocated`, value: run.ms, unit: 'ms', baseline: floor, baselineName: `bare client: the same IP creates (a pod's at once) and patches, ${WORKERS} pods at a time (mean of one run before and one after)`, ratio: run.ms / floor, target: 'ratio <= 1.5', scale: { series: 'controller.burst', x: count } });
  for (const p of [50, 99]) {
    const [value, base] = [percentile(run.latencies, p), percentile(done, p)];
    report({ name: `${name}.create_to_allocated.p${p}`, value, unit: 'ms', baseline: base, baselineName: `bare client: p${p} of each pod's writes done, from the start of the writes`, ratio: value / base, samples: run.latencies, baselineSamples: done });
  }
});

/** The restart at 10,000 pods and, when `restartPods` is more, at `restartPods` too (a scaling
 *  series); then the burst of `burstPods`. */
export const benchController = async (restartPods = 10_000, burstPods = 1_000): Promise<void> => {
  const started = now();
  note(`load average at start: ${loadAverage()}`);
  if (restartPods > 0) await benchRestart(restartPods > 10_000 ? [10_000, restartPods] : [restartPods]);
  if (burstPods > 0) await benchBurst(burstPods);
  note(`done in ${((now() - started) / 1000).toFixed(0)} s; load average ${loadAverage()}`);
};

// `node dist/bench/controller.js [restartPods] [burstPods]` runs these alone (0 skips one).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [restart, burst] = process.argv.slice(2).map(Number).map((n) => (Number.isInteger(n) && n >= 0 ? n : undefined));
  await benchController(restart, burst);
}
