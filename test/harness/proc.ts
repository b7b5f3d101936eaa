// Server processes of the harness: launched with their output in a log file, tracked by the
// reaper, waited for by a readiness probe, and stopped with SIGTERM then SIGKILL. Shared by the
// API server (etcd, kube-apiserver, kube-controller-manager) and the cluster tier (scheduler,
// containerd, kubelet, registry).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { sleep } from './exec.js';
import { processAlive, processStartTime, track, untrack } from './reaper.js';

export function tail(path: string, lines: number): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').slice(-lines).join('\n');
}

/** A started server process: its log, its reaper record, and how it ended (once it has). */
export interface Proc {
  readonly name: string;
  readonly pid: number;
  readonly startTime: string;
  readonly log: string;
  readonly trackId: number;
  exit: string | undefined;
}

/** Spawns `argv` with stdout and stderr appended to `log`, and records it with the reaper. */
export function launch(name: string, argv: readonly string[], log: string): Proc {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('launch: empty argv');
  const fd = openSync(log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(file, args, { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not spawn ${file}`);
  // If it has already exited, /proc is gone: record a start time that never matches.
  let startTime = 'exited';
  try {
    startTime = processStartTime(pid);
  } catch {
    // Exited at once; `exit` below says how.
  }
  const proc: Proc = { name, pid, startTime, log, trackId: track({ kind: 'process', pid, startTime, name }), exit: undefined };
  child.on('error', (e) => { proc.exit = `failed: ${e.message}`; });
  child.on('exit', (code, signal) => { proc.exit = code === null ? `was killed by ${signal ?? 'a signal'}` : `exited ${code}`; });
  return proc;
}

export const running = (p: Proc): boolean => p.exit === undefined && processAlive(p.pid, p.startTime);

/** SIGTERM, wait up to `graceMs`, SIGKILL, wait; untracks the process once it is gone. */
export async function terminate(p: Proc, graceMs: number): Promise<string | undefined> {
  for (const [signal, waitMs] of [['SIGTERM', graceMs], ['SIGKILL', 5_000]] as const) {
    if (!running(p)) break;
    try {
      process.kill(p.pid, signal);
    } catch {
      // Exited in between.
    }
    const deadline = Date.now() + waitMs;
    while (running(p) && Date.now() < deadline) await sleep(25);
  }
  if (running(p)) return `${p.name} (pid ${p.pid}) survived SIGKILL`;
  untrack(p.trackId);
  return undefined;
}

/** Thrown when a process exits before it is ready; `portInUse` makes the start retryable. */
export class StartFailure extends Error {
  constructor(message: string, readonly portInUse: boolean) {
    super(message);
  }
}

/** Polls `probe` (true = ready) every 50 ms; fails at once when `p` exits, or at the deadline. */
export async function waitReady(p: Proc, what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!running(p)) {
      const log = tail(p.log, 30);
      throw new StartFailure(`${p.name} ${p.exit ?? 'exited'} before ${what}; last lines of ${p.log}:\n${log}`,
        /address already in use/i.test(log));
    }
    try {
      if (await probe()) return;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) {
      throw new StartFailure(`timed out after ${timeoutMs} ms waiting for ${what}` +
        `${last === '' ? '' : ` (last error: ${last})`}; last lines of ${p.log}:\n${tail(p.log, 30)}`, false);
    }
    await sleep(50);
  }
}
