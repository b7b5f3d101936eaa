// The built controller (`dist/src/cli/main.js controller`) as a child process, for the tests
// that crash it, fail it over and scrape it (DESIGN §3.5, §1: "Deployment, 2 replicas, one
// leader").
//
// Rules:
// - `buildCli()` compiles the current source into dist/ (tsconfig.build.json) under a lock
//   file, so test files started in parallel do not write dist/ at the same time.
// - Every child is registered with the reaper the moment it exists and untracked once it has
//   exited: a killed test run leaves no controller behind.
// - stdout is pino's JSON lines: each is parsed and kept with the time this process read it;
//   a line that is not JSON is kept as `{ msg: <the text> }`. stderr is kept as text.
// - Waiting is by event, not by polling: a waiter is checked against every line already read
//   and every line that arrives; it fails at once when the process exits, or at its deadline,
//   with the tail of the log in the message.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { runOk, sleep } from './exec.js';
import { processAlive, processStartTime, track, untrack } from './reaper.js';

/** The repository, from test/harness or from its compiled copy in dist/test/harness (the bench). */
const HERE = fileURLToPath(import.meta.url);
export const REPO_ROOT = HERE.includes('/dist/test/') ? `${HERE.slice(0, HERE.lastIndexOf('/dist/test/'))}/` : fileURLToPath(new URL('../../', import.meta.url));
export const CLI_MAIN = `${REPO_ROOT}dist/src/cli/main.js`;
const BUILD_LOCK = `${REPO_ROOT}dist/.build-lock`;

/** One JSON log line of the controller. */
export interface LogLine {
  readonly msg: string;
  /** `Date.now()` of this process when the line was read. */
  readonly at: number;
  /** Everything pino wrote (level, time, component, msg and the call's fields). */
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ControllerOptions {
  /** Flags after `controller`, e.g. `['--kubeconfig', path, '--listen', '127.0.0.1:0']`. */
  readonly args: readonly string[];
  /** Added to the environment (KUBE_OVN_IPAM_FAULT is removed from the inherited one). */
  readonly env?: Readonly<Record<string, string>>;
  /** A label for messages. */
  readonly name?: string;
  /** The command to run; default `controller` (the daemon's log and life are alike). */
  readonly command?: 'controller' | 'daemon';
  /** Node's own flags, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  readonly nodeArgs?: readonly string[];
}

export interface ControllerProcess {
  readonly name: string;
  readonly pid: number;
  /** Every log line read so far, in order. */
  readonly lines: readonly LogLine[];
  /** stderr so far. */
  stderr(): string;
  /** How it ended, once it has. */
  readonly exit: Exit | undefined;
  /** The first line from index `from` on that `match` accepts (a `msg` or a predicate). */
  waitForLog(match: string | ((l: LogLine) => boolean), options?: { timeoutMs?: number; from?: number }): Promise<LogLine>;
  /** `host:port` of /healthz, /readyz and /metrics, from the "starting" line. */
  listen(timeoutMs?: number): Promise<string>;
  /** Sends `signal` (no-op once exited). */
  kill(signal: NodeJS.Signals): void;
  /** Resolves with how it ended; rejects after `timeoutMs`. */
  waitForExit(timeoutMs?: number): Promise<Exit>;
  /** SIGCONT, SIGTERM, up to `graceMs`, SIGKILL; resolves once it has exited. Idempotent. */
  stop(graceMs?: number): Promise<Exit>;
  /** The last `n` log lines and stderr, for failure messages. */
  tail(n?: number): string;
}

/** Creates the build lock holding `content` (written first, then linked into place, so the lock
 *  never exists empty); else says who holds it (NaN: gone in between or unreadable). */
function tryLock(content: string): { readonly taken: true } | { readonly taken: false; readonly holder: number } {
  mkdirSync(`${REPO_ROOT}dist`, { recursive: true });
  const mine = `${BUILD_LOCK}.${process.pid}`;
  writeFileSync(mine, content);
  try {
    linkSync(mine, BUILD_LOCK);
    return { taken: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    rmSync(mine, { force: true });
  }
  try {
    return { taken: false, holder: Number(readFileSync(BUILD_LOCK, 'utf8').trim()) };
  } catch {
    return { taken: false, holder: NaN };
  }
}

/** Compiles src/ into dist/ (the tests start the built CLI), one build at a time. */
export async function buildCli(timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const content = `${process.pid}\n`;
  for (;;) {
    const lock = tryLock(content);
    if (lock.taken) break;
    if (!Number.isNaN(lock.holder) && !processAlive(lock.holder)) {
      rmSync(BUILD_LOCK, { force: true }); // its builder died
      continue;
    }
    if (Date.now() > deadline) throw new Error(`buildCli: ${BUILD_LOCK} held by pid ${lock.holder} for ${timeoutMs} ms`);
    await sleep(200);
  }
  const id = track({ kind: 'file', path: BUILD_LOCK, content });
  try {
    // `npx tsc -p tsconfig.build.json`, without npx's own start-up.
    await runOk([process.execPath, `${REPO_ROOT}node_modules/typescript/bin/tsc`, '-p', `${REPO_ROOT}tsconfig.build.json`], { timeoutMs });
  } finally {
    rmSync(BUILD_LOCK, { force: true });
    untrack(id);
  }
}

/** Starts `node dist/src/cli/main.js controller ...args`. */
export function startController(options: ControllerOptions): ControllerProcess {
  const env: Record<string, string | undefined> = { ...process.env };
  delete env['KUBE_OVN_IPAM_FAULT'];
  Object.assign(env, options.env ?? {});
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_MAIN, options.command ?? 'controller', ...options.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`startController: could not spawn ${CLI_MAIN}`);
  const name = options.name ?? `controller-${pid}`;
  let startTime = 'exited';
  try {
    startTime = processStartTime(pid);
  } catch {
    // Already gone: the exit handler says how.
  }
  const trackId = track({ kind: 'process', pid, startTime, name });

  const lines: LogLine[] = [];
  let stderr = '';
  let partial = '';
  let exit: Exit | undefined;
  const listeners = new Set<() => void>();
  const notify = (): void => {
    for (const l of [...listeners]) l();
  };

  // KOVT_PROCESS_LOG_DIR: each process's output also goes to <dir>/<name>.log as it comes (for
  // a run that hangs, whose lines in memory are never printed).
  const logDir = process.env['KOVT_PROCESS_LOG_DIR'];
  if (logDir !== undefined) mkdirSync(logDir, { recursive: true });
  const logFile = logDir === undefined ? undefined : `${logDir}/${name}.log`;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    if (logFile !== undefined) appendFileSync(logFile, chunk);
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    const at = Date.now();
    for (const text of parts) {
      if (text.trim() === '') continue;
      let fields: Record<string, unknown>;
      try {
        const parsed: unknown = JSON.parse(text);
        fields = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { msg: text };
      } catch {
        fields = { msg: text };
      }
      lines.push({ msg: typeof fields['msg'] === 'string' ? fields['msg'] : '', at, fields });
    }
    notify();
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (logFile !== undefined) appendFileSync(logFile, chunk);
    stderr += chunk;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('error', (e) => {
      stderr += `spawn failed: ${e.message}\n`;
    });
    // 'close': stdio is drained too, so every line it wrote has been read.
    child.on('close', (code, signal) => {
      exit = { code, signal };
      untrack(trackId);
      resolve(exit);
      notify();
    });
  });

  const tail = (n = 20): string => {
    const logs = lines.slice(-n).map((l) => JSON.stringify(l.fields)).join('\n');
    const err = stderr.trim().split('\n').slice(-n).join('\n');
    return `${name} (pid ${pid}${exit ? `, exited code=${exit.code} signal=${exit.signal}` : ''}); last log lines:\n${logs}${err === '' ? '' : `\nstderr:\n${err}`}`;
  };

  const waitForLog: ControllerProcess['waitForLog'] = (match, { timeoutMs = 20_000, from = 0 } = {}) => {
    const test = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    const what = typeof match === 'string' ? `log line ${JSON.stringify(match)}` : 'a matching log line';
    return new Promise((resolve, reject) => {
      let next = from;
      const check = (): void => {
        for (; next < lines.length; next++) {
          const line = lines[next]!;
          if (test(line)) {
            done();
            resolve(line);
            return;
          }
        }
        if (exit !== undefined) {
          done();
          reject(new Error(`${what}: the process exited first; ${tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; ${tail()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      listeners.add(check);
      check();
    });
  };

  const kill = (signal: NodeJS.Signals): void => {
    if (exit !== undefined) return;
    try {
      process.kill(pid, signal);
    } catch {
      // Exited in between.
    }
  };

  const waitForExit = (timeoutMs = 20_000): Promise<Exit> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for exit; ${tail()}`)), timeoutMs);
      void exited.then((e) => {
        clearTimeout(timer);
        resolve(e);
      });
    });

  let stopping: Promise<Exit> | undefined;
  const stop = (graceMs = 5_000): Promise<Exit> => {
    stopping ??= (async () => {
      if (exit !== undefined) return exit;
      kill('SIGCONT');
      kill('SIGTERM');
      try {
        return await waitForExit(graceMs);
      } catch {
        kill('SIGKILL');
        return waitForExit(5_000);
      }
    })();
    return stopping;
  };

  return {
    name,
    pid,
    lines,
    stderr: () => stderr,
    get exit() {
      return exit;
    },
    waitForLog,
    listen: async (timeoutMs = 20_000) => {
      const line = await waitForLog('starting', { timeoutMs });
      const listen = line.fields['listen'];
      if (typeof listen !== 'string') throw new Error(`"starting" line without a listen address: ${JSON.stringify(line.fields)}`);
      return listen;
    },
    kill,
    waitForExit,
    stop,
    tail,
  };
}
