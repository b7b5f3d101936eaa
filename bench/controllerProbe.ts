// What the controller benchmarks observe besides their figures, to say where the time went
// (all on stderr): the controller's own start-up log lines, its API calls counted and timed,
// the pages of its LISTs, its work-queue metrics, the CPU of this process, kube-apiserver and
// etcd over a window, the API server's own timing of each kind of write, and the machine's load. Plus an independent watch of one pod.
// Rules: probes wrap the real adapters (the Kube port, the REST chokepoint) without changing
// what they send; nothing here writes to the API server.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { loadavg } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Request } from '../src/adapters/kube/rest.js';
import type { PromMetrics } from '../src/adapters/metrics.js';
import type { Kube, Log, LogFields } from '../src/effects/ports.js';
import type { ApiServer } from '../test/harness/apiserver.js';

export const now = (): number => performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const note = (text: string): void => void process.stderr.write(`bench/controller: ${text}\n`);
export const loadAverage = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

/** A Log that keeps warnings and errors, and the controller's start-up lines with their time. */
export const benchLog = (): Log & { readonly warnings: string[]; readonly timings: { at: number; line: string }[] } => {
  const warnings: string[] = [];
  const timings: { at: number; line: string }[] = [];
  const keep = (level: string) => (msg: string, fields?: LogFields) => void warnings.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return {
    warnings,
    timings,
    info: (msg, fields) => {
      if (msg.startsWith('caches synced') || msg.startsWith('planner state rebuilt')) timings.push({ at: now(), line: `${msg} ${JSON.stringify(fields ?? {})}` });
    },
    warn: keep('warn'),
    error: keep('error'),
    debug: () => undefined,
  };
};

/** Calls of one Kube method: how many, and their summed and worst time. */
export interface CallStats { count: number; totalMs: number; maxMs: number }

/** Called with each answered Kube call: the method, its arguments and the server's answer. */
export type OnAnswer = (method: string, args: readonly unknown[], answer: unknown) => void;

/** The Kube port, each method's calls counted and timed (and `onAnswer` told of each answer). */
export const timedKube = (kube: Kube, onAnswer: OnAnswer = () => undefined): { readonly kube: Kube; readonly calls: Map<string, CallStats> } => {
  const calls = new Map<string, CallStats>();
  const wrapped = Object.fromEntries(Object.entries(kube).map(([name, fn]) => [name, async (...args: unknown[]) => {
    const started = now();
    try {
      const answer = await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      onAnswer(name, args, answer);
      return answer;
    } finally {
      const ms = now() - started;
      const s = calls.get(name) ?? { count: 0, totalMs: 0, maxMs: 0 };
      calls.set(name, { count: s.count + 1, totalMs: s.totalMs + ms, maxMs: Math.max(s.maxMs, ms) });
    }
  }])) as unknown as Kube;
  return { kube: wrapped, calls };
};

export const describeCalls = (calls: ReadonlyMap<string, CallStats>): string =>
  [...calls].map(([name, s]) => `${name} ${s.count}x mean ${(s.totalMs / s.count).toFixed(1)} ms max ${s.maxMs.toFixed(0)} ms`).join(', ');

/** One GET of the watcher (a LIST page): when it was sent and answered. */
export interface Timed { readonly path: string; readonly sent: number; answered: number }

/** The REST chokepoint, recording each GET. */
export const timedRest = (request: Request, into: Timed[]): Request => async (method, path, options) => {
  const t: Timed = { path, sent: now(), answered: 0 };
  try {
    return await request(method, path, options);
  } finally {
    t.answered = now();
    if (method === 'GET') into.push(t);
  }
};

/** When each kind's LIST pages (kinds of more than one page) were answered, relative to `t0`. */
export const describeLists = (lists: readonly Timed[], t0: number): string => {
  const byPath = new Map<string, Timed[]>();
  for (const t of lists) byPath.set(t.path, [...(byPath.get(t.path) ?? []), t]);
  return [...byPath].filter(([, ts]) => ts.length > 1).map(([path, ts]) => {
    const waiting = ts.reduce((s, t) => s + t.answered - t.sent, 0);
    return `${path} ${ts.length} pages, last answered at ${(ts.at(-1)!.answered - t0).toFixed(0)} ms (${waiting.toFixed(0)} ms inside requests)`;
  }).join('; ');
};

/** Reconciles started and seconds waited so far, per queue (pods, subnets). */
export type QueueCounts = ReadonlyMap<string, { readonly count: number; readonly sum: number }>;

export const queueCounts = async (metrics: PromMetrics): Promise<QueueCounts> => {
  const json = await metrics.registry.getMetricsAsJSON();
  const values = (name: string) => json.find((m) => m.name === name)?.values ?? [];
  const pick = (name: string, suffix: string, queue: string): number =>
    values(name).filter((v) => (v as { metricName?: string }).metricName === `${name}${suffix}` && v.labels['queue'] === queue).reduce((s, v) => s + v.value, 0);
  return new Map(['pods', 'subnets'].map((queue) => [queue, {
    count: pick('kube_ovn_ipam_queue_wait_seconds', '_count', queue),
    sum: pick('kube_ovn_ipam_queue_wait_seconds', '_sum', queue),
  }]));
};

/** Each queue's reconciles and mean wait, since `since` (counts taken earlier) when given. */
export const describeQueues = async (metrics: PromMetrics, since?: QueueCounts): Promise<string> => {
  const out: string[] = [];
  for (const [queue, now] of await queueCounts(metrics)) {
    const count = now.count - (since?.get(queue)?.count ?? 0);
    const sum = now.sum - (since?.get(queue)?.sum ?? 0);
    out.push(`${queue} queue: ${count} reconciles, mean wait ${count === 0 ? 0 : ((1000 * sum) / count).toFixed(0)} ms`);
  }
  return out.join('; ');
};

/** Measures how late this process's event loop runs (what a blocked loop adds to every answer). */
export const loopDelay = (): { stop(): string } => {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return {
    stop: () => {
      h.disable();
      return `event loop delay mean ${(h.mean / 1e6).toFixed(1)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(0)} ms, max ${(h.max / 1e6).toFixed(0)} ms`;
    },
  };
};

type Cpu = { readonly node: number; readonly apiserver: number; readonly etcd: number };

/** CPU seconds (user + system) a process has used so far (/proc, 100 ticks a second). */
export const cpuSeconds = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

/** A process's peak and current resident set (VmHWM, VmRSS of /proc/<pid>/status), in MiB. */
export const rssOf = (pid: number): { readonly peakMiB: number; readonly nowMiB: number } => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { peakMiB: kib('VmHWM') / 1024, nowMiB: kib('VmRSS') / 1024 };
};

/** CPU seconds used so far by this process, kube-apiserver and etcd (/proc, 100 ticks a second). */
export const cpuOf = (api: ApiServer): Cpu => {
  const ticks = cpuSeconds;
  const own = process.cpuUsage();
  return { node: (own.user + own.system) / 1e6, apiserver: ticks(api.pids.kubeApiserver), etcd: ticks(api.pids.etcd) };
};

/** Each process's CPU over a window that started at `before` and lasted `ms`, in % of a core. */
export const cpuSince = (api: ApiServer, before: Cpu, ms: number): string => {
  const after = cpuOf(api);
  const pct = (k: keyof Cpu): string => `${k} ${(((after[k] - before[k]) * 1e5) / ms).toFixed(0)}%`;
  return `CPU (% of one core): ${pct('node')}, ${pct('apiserver')}, ${pct('etcd')}; load ${loadAverage()}`;
};

/** An independent watch of one pod (client-node's Watch): `seen` resolves at the first event for
 *  which `done` holds; it rejects when the watch ends first or after `limitMs`. */
export const watchPod = async (kc: KubeConfig, namespace: string, name: string, done: (pod: unknown) => boolean, limitMs: number): Promise<{ readonly seen: Promise<void>; stop(): void }> => {
  let settle!: (err?: Error) => void;
  const seen = new Promise<void>((resolve, reject) => (settle = (err) => (err === undefined ? resolve() : reject(err))));
  seen.catch(() => undefined); // awaited later: a failure before then is not unhandled
  const timer = setTimeout(() => settle(new Error(`pod ${namespace}/${name}: not seen done after ${limitMs} ms`)), limitMs);
  // resourceVersion 0: a watch without one was closed by the server at once.
  const request = await new Watch(kc).watch(`/api/v1/namespaces/${namespace}/pods`, { fieldSelector: `metadata.name=${name}`, resourceVersion: '0' },
    (type, obj) => {
      if (type !== 'DELETED' && type !== 'ERROR' && done(obj)) settle();
    },
    (err: unknown) => settle(new Error(`the watch of pod ${namespace}/${name} ended: ${String(err)}`)));
  return {
    seen,
    stop: () => {
      clearTimeout(timer);
      settle();
      request.abort();
    },
  };
};

export const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The API server's own request durations so far: summed seconds and count per verb and
 *  resource (apiserver_request_duration_seconds, from /metrics). */
export type ServerTimes = ReadonlyMap<string, { readonly sum: number; readonly count: number }>;

export const serverTimes = async (api: ApiServer): Promise<ServerTimes> => {
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(`${api.url}/metrics`, { ca: readFileSync(api.caPath), headers: { Authorization: `Bearer ${api.token}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  const out = new Map<string, { sum: number; count: number }>();
  for (const m of text.matchAll(/^apiserver_request_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (!['POST', 'PATCH'].includes(labels['verb'] ?? '')) continue;
    const key = `${labels['verb']} ${labels['resource']}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
    const e = out.get(key) ?? { sum: 0, count: 0 };
    out.set(key, m[1] === 'sum' ? { ...e, sum: e.sum + Number(m[3]) } : { ...e, count: e.count + Number(m[3]) });
  }
  return out;
};

/** Mean server-side duration of each kind of write since `before`. */
export const describeServerTimes = (before: ServerTimes, after: ServerTimes): string =>
  [...after].flatMap(([key, a]) => {
    const b = before.get(key) ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    return count === 0 ? [] : [`${key} ${count}x mean ${((1000 * (a.sum - b.sum)) / count).toFixed(1)} ms`];
  }).join(', ');
