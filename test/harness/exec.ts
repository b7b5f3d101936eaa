// The one exec chokepoint of the test harness (STYLE.md rule 4): every external command the
// harness runs goes through `run`, with a timeout, an optional stdin and extra environment.
// `run` never throws for a non-zero exit (the result carries the code); `runOk` does, with an
// Error that names the argv and the command's stderr so a failing test says what went wrong.
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Written to the command's stdin, which is then closed. Without it stdin is /dev/null. */
  readonly input?: string;
  /** Added to (and overriding) this process's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Replaces this process's environment entirely (CNI plugins must not see stray CNI_*). */
  readonly cleanEnv?: boolean;
  /** Default 30 s. On expiry the command is killed with SIGKILL and the result has code null. */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly argv: readonly string[];
  /** Exit code; null when the command was killed by a signal or the timeout. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** Runs argv[0] with argv[1..] (no shell) and resolves with everything it printed. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty argv'));
  const env = options.cleanEnv === true ? { ...options.env } : { ...process.env, ...options.env };
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // EPIPE when the command exits without reading its stdin is not our failure.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
    const finish = (code: number | null, signal: NodeJS.Signals | null, extra = ''): void => {
      clearTimeout(timer);
      resolve({
        argv,
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + extra,
        timedOut,
      });
    };
    child.on('error', (e) => finish(null, null, `spawn failed: ${e.message}`));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** Describes a finished command for error messages: argv, how it ended, and its stderr. */
export function describeFailure(result: RunResult): string {
  const how = result.timedOut
    ? 'timed out'
    : result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited ${result.code}`;
  const stderr = result.stderr.trim();
  const stdout = result.stdout.trim();
  return `\`${result.argv.join(' ')}\` ${how}` +
    (stderr === '' ? '' : `; stderr: ${stderr}`) +
    (stderr === '' && stdout !== '' ? `; stdout: ${stdout}` : '');
}

/** Like `run`, but rejects unless the command exited 0; resolves with its stdout. */
export async function runOk(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(argv, options);
  if (result.code !== 0) throw new Error(describeFailure(result));
  return result.stdout;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `probe` every `intervalMs` until it returns a value other than undefined, and resolves
 * with it; rejects after `timeoutMs` with `what` and the last probe error in the message.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === '' ? '' : ` (last error: ${last})`}`);
    }
    await sleep(intervalMs);
  }
}

/** Reads the world until `problemsOf` finds nothing in it, and resolves with that world; at the
 *  deadline fails with the last list of problems and `context()` (e.g. a process's log tail). */
export async function waitForNoProblems<W>(
  read: () => Promise<W>,
  problemsOf: (world: W) => readonly string[],
  { timeoutMs = 30_000, intervalMs = 250, context = () => '' }: { timeoutMs?: number; intervalMs?: number; context?: () => string } = {},
): Promise<W> {
  let last: readonly string[] = [];
  try {
    return await waitFor('convergence', async () => {
      const world = await read();
      last = problemsOf(world);
      return last.length === 0 ? world : undefined;
    }, { timeoutMs, intervalMs });
  } catch (e) {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; still wrong:\n${last.join('\n')}\n${context()}`, { cause: e });
  }
}
