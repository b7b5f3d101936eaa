// Our own timestamps for the OVN benchmark's per-step breakdown (bench/ovn.ts): where a pod's
// create → ADD answered goes, step by step, in the controller (this process) and the daemon
// (its own process).
//
// Rules:
// - Every stamp is epoch milliseconds with sub-millisecond precision (performance.timeOrigin +
//   performance.now()), so stamps of the bench, the controller and the daemon process compare.
// - The controller's stamps come from wrapping its ports (watcher, Kube, Ovn): nothing in the
//   controller changes. Per pod the first watch event that names it, the last IP object create
//   answered, the OVN transaction that wrote its ports (start and answer), the annotation
//   patch answered.
// - The daemon's stamps come from its debug log (`allocation seen`, `apply` before each step,
//   `plugged`), written by daemonProcess.ts as JSON lines to a file (traceLog) and read back
//   here once the daemon has stopped (readTrace).
// - Only the stamps of ADDs are kept; a step without its stamps is left out of its row.
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { OvnAction } from '../src/domain/Plan.js';
import type { Kube, Log, Ovn, Watcher } from '../src/effects/ports.js';
import { percentile } from './report.js';

/** Epoch milliseconds, sub-millisecond precise, comparable across processes. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** Stamps by pod name, then by step. */
export type Stamps = Map<string, Map<string, number>>;

const stamp = (stamps: Stamps, pod: string, step: string, at: number, keepFirst = false): void => {
  const steps = stamps.get(pod) ?? new Map<string, number>();
  stamps.set(pod, steps);
  if (!(keepFirst && steps.has(step))) steps.set(step, at);
};

const podNameOf = (o: unknown): string | undefined => (o as { metadata?: { name?: string } } | undefined)?.metadata?.name;

/** The controller's ports, each stamping into `stamps` (see the rules above). */
export const tracedControllerPorts = (ports: { kube: Kube; watcher: Watcher; ovn: Ovn }, stamps: Stamps): { kube: Kube; watcher: Watcher; ovn: Ovn } => ({
  watcher: {
    watch: (kind, onEvent, onError) => ports.watcher.watch(kind, (e) => {
      const name = e.type !== 'RESET' && kind === 'pods' ? podNameOf(e.object) : undefined;
      if (name !== undefined) stamp(stamps, name, 'controller sees pod', epochMs(), true);
      onEvent(e);
    }, onError),
  },
  kube: {
    ...ports.kube,
    createIP: async (ip) => {
      const answer = await ports.kube.createIP(ip);
      stamp(stamps, ip.spec.podName, 'IP objects written', epochMs());
      return answer;
    },
    patchPodAnnotations: async (namespace, name, annotations) => {
      const answer = await ports.kube.patchPodAnnotations(namespace, name, annotations);
      stamp(stamps, name, 'annotation patched', epochMs());
      return answer;
    },
  },
  ovn: {
    ...ports.ovn,
    transact: async (actions: readonly OvnAction[]) => {
      const pods = [...new Set(actions.flatMap((a) => (a.type === 'EnsureLogicalSwitchPort' ? [a.port.externalIds['pod']?.split('/')[1] ?? ''] : [])))];
      const started = epochMs();
      await ports.ovn.transact(actions);
      const done = epochMs();
      for (const pod of pods) {
        stamp(stamps, pod, 'LSP transaction starts', started);
        stamp(stamps, pod, 'LSPs written', done);
      }
    },
  },
});

/** One line of the daemon's trace. */
export interface TraceLine {
  readonly t: number;
  readonly msg: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

/** A Log that writes every debug and info line as JSON (`{t, msg, fields}`) to `path`, and
 *  `close()` that resolves once all is written. Warnings and errors go to stderr. */
export const traceLog = (path: string): Log & { close(): Promise<void> } => {
  const out = createWriteStream(path);
  const line = (msg: string, fields?: Readonly<Record<string, unknown>>): void => void out.write(`${JSON.stringify({ t: epochMs(), msg, fields: fields ?? {} })}\n`);
  const loud = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>): void => void process.stderr.write(`daemon ${level}: ${msg} ${JSON.stringify(fields ?? {})}\n`);
  return {
    debug: line, info: line, warn: loud('warn'), error: loud('error'),
    close: () => new Promise((resolve) => out.end(resolve)),
  };
};

export const readTrace = async (path: string): Promise<TraceLine[]> =>
  (await readFile(path, 'utf8')).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as TraceLine);

/** The step an action's `apply` line ends (it is logged as the action's step starts); the
 *  host end's name says which interface (linkNamesOf). */
const DAEMON_STEP_OF_ACTION: Readonly<Record<string, string>> = {
  // applyNode.ts: the veth pair and the links of the host namespace in one step, then the port.
  CreateVethPair: 'host read', AddOvsPort: 'veth pair made, moved, up', ReplaceAddresses: 'OVS port added', WaitOvnInstalled: 'addresses, routes',
};

/** Stamps the daemon's trace lines into `stamps`, per pod, each step prefixed by the interface
 *  (`eth0: host read`): `podOf(port, ifName)` names the pod of a host end, `podOfName` checks a
 *  pod name. Only ADD lines count (`allocation seen` starts an ADD; DEL plans other actions). */
export const stampDaemon = (lines: readonly TraceLine[], stamps: Stamps, podOfPort: (port: string) => { pod: string; ifName: string } | undefined): void => {
  for (const l of lines) {
    if (l.msg === 'allocation seen') {
      const pod = String(l.fields['pod'] ?? '').split('/')[1] ?? '';
      stamp(stamps, pod, `${String(l.fields['ifName'])}: daemon sees allocation`, l.t, true);
    } else if (l.msg === 'apply' || l.msg === 'plugged') {
      const step = l.msg === 'plugged' ? 'ovn-installed' : DAEMON_STEP_OF_ACTION[String(l.fields['type'])];
      // ReplaceAddresses targets the pod's link (`eth0`); its reason names the pod and interface.
      const named = l.fields['type'] === 'ReplaceAddresses' ? /of [^/\s]+\/(\S+) (\S+)$/.exec(String(l.fields['reason'])) : null;
      const owner = named !== null ? { pod: named[1] ?? '', ifName: named[2] ?? '' } : podOfPort(String(l.msg === 'plugged' ? l.fields['port'] : l.fields['target']));
      if (step !== undefined && owner !== undefined) stamp(stamps, owner.pod, `${owner.ifName}: ${step}`, l.t, true);
    }
  }
};

/** The steps of one pod in time order, as `[from → to]` gaps: per step the p50 and p99 over the
 *  pods that have both stamps. `order` is the steps' expected order (stamps missing in a pod are
 *  skipped, the gap spanning them). */
export const gaps = (stamps: Stamps, pods: readonly string[], order: readonly string[]): { step: string; values: number[] }[] => {
  const byStep = new Map<string, number[]>(order.slice(1).map((s) => [s, []]));
  for (const pod of pods) {
    const steps = stamps.get(pod);
    if (steps === undefined) continue;
    let last: number | undefined;
    for (const step of order) {
      const at = steps.get(step);
      if (at === undefined) continue;
      if (last !== undefined) byStep.get(step)?.push(at - last);
      last = at;
    }
  }
  return [...byStep].map(([step, values]) => ({ step, values }));
};

/** A table (stderr) of `gaps`: step, pods, p50, p90, p99, and the p50's share of the sum of p50s. */
export const describeGaps = (title: string, rows: readonly { step: string; values: readonly number[] }[]): string => {
  const total = rows.reduce((sum, r) => sum + (r.values.length === 0 ? 0 : percentile(r.values, 50)), 0);
  const cell = (n: number): string => n.toFixed(1).padStart(8);
  return [
    `${title} (ms; each step from the one before)`,
    `  ${'step'.padEnd(42)}${'n'.padStart(5)}${'p50'.padStart(8)}${'p90'.padStart(8)}${'p99'.padStart(8)}  share`,
    ...rows.filter((r) => r.values.length > 0).map((r) => {
      const p50 = percentile(r.values, 50);
      return `  ${r.step.padEnd(42)}${String(r.values.length).padStart(5)}${cell(p50)}${cell(percentile(r.values, 90))}${cell(percentile(r.values, 99))}  ${(100 * p50 / total).toFixed(0).padStart(3)}%`;
    }),
  ].join('\n');
};
