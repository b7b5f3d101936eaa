// An optional CPU profile of a window of the benchmark process (node:inspector), for finding
// where the controller's time goes: set BENCH_CPU_PROFILE=<dir> and each profiled window is
// written as `<dir>/<name>.cpuprofile` (open it in Chrome DevTools) and summarised on stderr:
// self time by area (the controller's planning, decoding, REST and watch, JSON, GC, idle) and
// the hottest functions. Without the variable, profiling costs nothing. A child process (the
// controller as a CLI process) is profiled by node's own --cpu-prof, written when it exits.
import { Session } from 'node:inspector/promises';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame { readonly functionName: string; readonly url: string; readonly lineNumber: number }
interface ProfileNode { readonly id: number; readonly callFrame: CallFrame; readonly children?: readonly number[] }
interface Profile { readonly nodes: readonly ProfileNode[]; readonly samples: readonly number[]; readonly timeDeltas: readonly number[]; readonly startTime: number; readonly endTime: number }

export interface Profiler {
  /** Stops, writes and summarises the profile (a no-op when profiling is off). */
  stop(): Promise<void>;
}

const DIR = process.env['BENCH_CPU_PROFILE'];

/** Starts profiling the window `name` when BENCH_CPU_PROFILE is set. */
export const startProfile = async (name: string): Promise<Profiler> => {
  if (DIR === undefined || DIR === '') return { stop: async () => undefined };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    stop: async () => {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
      session.disconnect();
      mkdirSync(DIR, { recursive: true });
      writeFileSync(join(DIR, `${name}.cpuprofile`), JSON.stringify(profile));
      process.stderr.write(summarise(name, profile));
    },
  };
};

/** Node's flags for another process that should write its profile as `name` when it exits,
 *  when profiling is on; none when off. */
export const childProfileArgs = (name: string): readonly string[] =>
  DIR === undefined || DIR === '' ? [] : ['--cpu-prof', '--cpu-prof-interval', '200', `--cpu-prof-dir=${DIR}`, `--cpu-prof-name=${name}.cpuprofile`];

/** Summarises, on stderr, the profile such a process wrote when it exited (a no-op when off). */
export const summariseChildProfile = (name: string): void => {
  if (DIR === undefined || DIR === '') return;
  try {
    process.stderr.write(summarise(name, JSON.parse(readFileSync(join(DIR, `${name}.cpuprofile`), 'utf8')) as Profile));
  } catch (err) {
    process.stderr.write(`cpu profile ${name}: not read: ${String(err)}\n`);
  }
};

/** Which part of the process a frame belongs to. */
const areaOf = (f: CallFrame): string => {
  const u = f.url;
  if (f.functionName === '(idle)') return 'idle (waiting on I/O)';
  if (f.functionName === '(garbage collector)') return 'GC';
  if (f.functionName === '(program)') return 'V8/native (program)';
  if (f.functionName === 'parse' && u === '') return 'JSON.parse';
  if (f.functionName === 'stringify' && u === '') return 'JSON.stringify';
  if (u.includes('/src/domain/schema/') || u.includes('/io-ts/') || u.includes('/fp-ts/')) return 'decode (schema, io-ts)';
  if (u.includes('/src/domain/Snapshot')) return 'decode (Snapshot)';
  if (u.includes('/src/domain/')) return 'planning (src/domain)';
  if (u.includes('/src/effects/LiveSnapshot')) return 'LiveSnapshot';
  if (u.includes('/src/effects/')) return 'controller (src/effects)';
  if (u.includes('/src/adapters/kube/')) return 'REST/watch adapter';
  if (u.includes('/@kubernetes/client-node/') || u.includes('/node-fetch/')) return 'client-node (watch)';
  if (u.includes('/pino') || u.includes('/prom-client/')) return 'log/metrics';
  if (u.includes('/bench/')) return 'bench harness';
  if (u.startsWith('node:')) return 'node internals (http, tls, streams)';
  if (u.includes('/node_modules/')) return 'other node_modules';
  return u === '' ? 'native/builtins' : 'other';
};

const summarise = (name: string, p: Profile): string => {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)!.callFrame;
    areas.set(areaOf(f), (areas.get(areaOf(f)) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${f.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + us);
  }
  // Inclusive time of the project's own functions (each counted once per sample, however deep).
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (f.url.includes('/src/')) seen.add(`${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`);
    }
    for (const k of seen) inclusive.set(k, (inclusive.get(k) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const line = (label: string, us: number): string => `  ${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${label}\n`;
  const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => line(k, v)).join('');
  return `cpu profile ${name}: ${(total / 1000).toFixed(0)} ms sampled (wall ${((p.endTime - p.startTime) / 1000).toFixed(0)} ms)\n by area (self time):\n${top(areas, 20)} hottest functions (self time):\n${top(fns, 25)} project functions (inclusive time):\n${top(inclusive, 25)}`;
};
