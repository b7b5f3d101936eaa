// The controller's restart on a real API server (issue 15 item 2), as a scaling series: with
// 10,000 and then 50,000 allocated pods (20,000 and 100,000 IP objects), from the start of the
// built CLI process (`node dist/src/cli/main.js controller`, one new pod created at that moment)
// to the new pod's annotations written, seen by an independent watch; floor: one bare paged LIST
// (limit 500) of those pods and IP objects, both at once, by this process. Three rounds per size,
// floor and restart alternating (two beyond 10,000 pods); medians are reported. The controller's peak RSS (VmHWM) is read
// once its pods queue has confirmed every pod, beside the size of what it listed (the objects'
// JSON as served).
// Rules:
// - The controller is a process of its own, so its memory is its own and its start-up (node,
//   module loading, the leader Lease) is in the figure; each round takes a Lease of its own, so
//   no round waits for the last one's to expire.
// - The pods and IP objects are seeded straight into etcd (etcdSeed.ts), each size adding to the
//   last; the addresses of the next size start past those the newcomers took.
// - A restart must write only the newcomer's claims and patch (checked with the API server's own
//   request counts); the seeded pods only need confirming.
// - BENCH_CPU_PROFILE=<dir> profiles each controller process (node's --cpu-prof, summarised
//   when it exits).
import { pathToFileURL } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Request } from '../src/adapters/kube/rest.js';
import { WATCH_PATHS } from '../src/adapters/kube/watcher.js';
import type { ApiServer } from '../test/harness/apiserver.js';
import { startController, type ControllerProcess, type LogLine } from '../test/harness/controllerProcess.js';
import {
  cpuOf, cpuSeconds, cpuSince, describeLists, describeServerTimes, median, note, now, rssOf, serverTimes, sleep, timedRest, watchPod, type Timed,
} from './controllerProbe.js';
import { allocatedOn, createNetworks, listAll, createPod, MACVLAN, OVN_DEFAULT, podBody, podNames, withApiServer } from './controllerWorkload.js';
import { seedThroughEtcd } from './etcdSeed.js';
import { childProfileArgs, summariseChildProfile } from './profile.js';
import { gc, report } from './report.js';

/** Rounds per size: three, two beyond 10,000 pods (a round at 50,000 takes minutes). */
const roundsAt = (pods: number): number => (pods > 10_000 ? 2 : 3);
const WORKERS = 3;
/** How long a restart may take: 2 minutes, 15 ms a pod beyond 8,000 (a loaded machine's API
 *  server served 50,000 pods and 100,000 IP objects in 3 to 4.5 minutes). */
const waitLimitMs = (pods: number): number => Math.max(120_000, 15 * pods);
const NS = 'bench';
const NETS = [OVN_DEFAULT, MACVLAN];

/** The floor: one bare paged LIST of the pods and IP objects, both at once; its time and (when
 *  `sized`, not for a timed one) the listed objects' size. Throws unless it lists `pods` pods
 *  with two IP objects each. */
const bareList = async (api: ApiServer, rest: Request, pods: number, sized = false): Promise<{ readonly ms: number; readonly bytes: number }> => {
  const lists: Timed[] = [];
  const timed = timedRest(rest, lists);
  const cpu = cpuOf(api);
  const started = now();
  const [p, i] = await Promise.all([listAll(timed, WATCH_PATHS.pods, sized), listAll(timed, WATCH_PATHS.ips, sized)]);
  const ms = now() - started;
  if (p.items !== pods || i.items !== 2 * pods) throw new Error(`listed ${p.items} pods and ${i.items} IP objects, expected ${pods} and ${2 * pods}`);
  note(`bare LIST: ${ms.toFixed(0)} ms${sized ? ` (${((p.bytes + i.bytes) / 2 ** 20).toFixed(0)} MiB of JSON)` : ''}; ${cpuSince(api, cpu, ms)}; ${describeLists(lists, started)}`);
  return { ms, bytes: p.bytes + i.bytes };
};

/** Scrapes one sample of the controller's /metrics (summed over labels matching `labels`). */
const metric = async (listen: string, name: string, labels: string): Promise<number> => {
  const text = await (await fetch(`http://${listen}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm'))) if (m[1]!.includes(labels)) sum += Number(m[2]);
  return sum;
};

/** Resolves once the pods queue has started `reconciles` keys and holds none. */
const waitIdle = async (proc: ControllerProcess, listen: string, reconciles: number): Promise<void> => {
  const deadline = now() + waitLimitMs(reconciles);
  for (;;) {
    if (proc.exit !== undefined) throw new Error(`the controller exited: ${proc.tail()}`);
    const started = await metric(listen, 'kube_ovn_ipam_queue_wait_seconds_count', 'queue="pods"');
    if (started >= reconciles && (await metric(listen, 'kube_ovn_ipam_queue_depth', 'queue="pods"')) === 0) return;
    if (now() > deadline) throw new Error(`pods queue not idle after ${waitLimitMs(reconciles)} ms (${started} of ${reconciles} reconciles)`);
    await sleep(250);
  }
};

interface Round { readonly allocatedMs: number; readonly peakMiB: number }

/** One restart: start the controller process and create `newcomer` at once. */
const restartOnce = async (api: ApiServer, kc: KubeConfig, rest: Request, pods: number, newcomer: string, label: string): Promise<Round> => {
  const watch = await watchPod(kc, NS, newcomer, (pod) => allocatedOn(pod, NETS), waitLimitMs(pods));
  const server = await serverTimes(api);
  gc();
  const cpu = cpuOf(api);
  const [started, wallStarted] = [now(), Date.now()];
  const proc = startController({
    name: `bench-${label}`, nodeArgs: childProfileArgs(label),
    args: ['--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--lease-namespace', 'default', '--lease-name', `bench-${label}`, '--workers', String(WORKERS), '--gc-interval', '360s'],
  });
  try {
    await createPod(rest, podBody(NS, newcomer, [MACVLAN]));
    await Promise.race([watch.seen, proc.waitForExit(waitLimitMs(pods)).then(() => Promise.reject(new Error(`the controller exited: ${proc.tail()}`)))]);
    const allocatedMs = now() - started;
    const listen = await proc.listen();
    await waitIdle(proc, listen, pods + 1);
    const idleMs = now() - started;
    const rss = rssOf(proc.pid);
    const own = cpuSeconds(proc.pid);
    // pino's own time of a line (the controller's clock), not when this process read it: a
    // controller busy for seconds writes its lines late.
    const timeOf = (l: LogLine): number => (typeof l.fields['time'] === 'number' ? l.fields['time'] : l.at);
    const at = (msg: string): string => {
      const line = proc.lines.find((l) => l.msg.startsWith(msg));
      return line === undefined ? '?' : `${(timeOf(line) - wallStarted).toFixed(0)} ms`;
    };
    const rebuilt = proc.lines.find((l) => l.msg.startsWith('planner state rebuilt'))?.fields['ms'];
    note(`restart ${label}: caches synced at ${at('caches synced')}, planner state rebuilt at ${at('planner state rebuilt')} (${String(rebuilt)} ms), ${newcomer} allocated at ${allocatedMs.toFixed(0)} ms, `
      + `every pod confirmed at ${idleMs.toFixed(0)} ms; controller RSS peak ${rss.peakMiB.toFixed(0)} MiB, now ${rss.nowMiB.toFixed(0)} MiB, CPU ${(own * 1000).toFixed(0)} ms; ${cpuSince(api, cpu, idleMs)}`);
    note(`  log: ${proc.lines.slice(0, 8).map((l) => `${(timeOf(l) - wallStarted).toFixed(0)} ms ${l.msg}`).join('; ')}`);
    const writes = describeServerTimes(server, await serverTimes(api));
    note(`  server writes: ${writes}`);
    if (!writes.includes('POST ips 2x') || !writes.includes('PATCH pods 1x')) note('WARNING: expected 2 IP creates and 1 pod patch (the new pod\'s only)');
    const warnings = proc.lines.filter((l) => l.fields['level'] !== undefined && Number(l.fields['level']) >= 40);
    if (warnings.length > 0) note(`  ${warnings.length} warnings, first: ${warnings.slice(0, 3).map((l) => JSON.stringify(l.fields)).join(' | ')}`);
    return { allocatedMs, peakMiB: rss.peakMiB };
  } finally {
    watch.stop();
    await proc.stop(30_000);
    summariseChildProfile(label);
  }
};

/** Restart with each of `counts` allocated pods (ascending), on one API server. */
export const benchRestart = (counts: readonly number[]): Promise<void> => withApiServer(async (api, kc, rest) => {
  await createNetworks(rest, [NS], false);
  let [seeded, pods] = [0, 0]; // pods: the seeded ones and the newcomers
  for (const count of counts) {
    const t = now();
    // Addresses past those of every pod so far, newcomers included.
    await seedThroughEtcd(api, rest, NS, podNames(count - seeded, seeded), pods, NETS, [MACVLAN]);
    pods += count - seeded;
    seeded = count;
    note(`seeded ${count} allocated pods in all (${2 * count} IP objects) in ${(now() - t).toFixed(0)} ms`);
    const { bytes } = await bareList(api, rest, pods, true); // warm-up
    const [floors, restarts, peaks]: [number[], number[], number[]] = [[], [], []];
    for (let round = 0; round < roundsAt(count); round++) {
      gc();
      floors.push((await bareList(api, rest, pods)).ms);
      const r = await restartOnce(api, kc, rest, pods, `newcomer-${count}-${round}`, `restart-${count}-${round}`);
      pods++;
      restarts.push(r.allocatedMs);
      peaks.push(r.peakMiB);
    }
    const [value, floor] = [median(restarts), median(floors)];
    note(`restart rounds at ${count}: controller ${restarts.map((x) => x.toFixed(0)).join(', ')} ms; bare LIST ${floors.map((x) => x.toFixed(0)).join(', ')} ms; peak RSS ${peaks.map((x) => x.toFixed(0)).join(', ')} MiB`);
    report({
      name: `controller.restart.${count}_pods.new_pod_allocated`, value, unit: 'ms', baseline: floor, ratio: value / floor, target: 'ratio <= 2', scale: { series: 'controller.restart', x: count },
      baselineName: `bare paged LIST (limit 500) of the pods and IP objects, both at once (medians of ${roundsAt(count)} alternating rounds; the controller as a CLI process)`,
    });
    const peak = Math.max(...peaks);
    const listed = bytes / 2 ** 20;
    report({
      name: `controller.restart.${count}_pods.peak_rss`, value: peak, unit: 'MiB', baseline: listed, ratio: peak / listed, target: 'value <= 1024', scale: { series: 'controller.restart.peak_rss', x: count },
      baselineName: 'the listed pods and IP objects as JSON (MiB); value: the controller process\'s VmHWM, the most of its rounds',
    });
  }
});

// `node dist/bench/controllerRestart.js [pods…]` runs this alone (default 10000 50000).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const counts = process.argv.slice(2).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  await benchRestart(counts.length > 0 ? counts : [10_000, 50_000]);
}
