// The one place the adapters start an external tool (STYLE rule 4): no shell (argv goes to
// spawn as it is), stdin the caller's text or at its end at once, stdout and stderr collected,
// SIGKILL at the deadline. Each chokepoint (node/exec.ts for `ip` and `ovs-vsctl`, ovn.ts for
// `ovn-nbctl`) turns the outcome into its own typed failure and log line.
import { spawn } from 'node:child_process';

export interface ToolOutcome {
  /** Exit code; null when killed or not started. */
  readonly code: number | null;
  readonly signal: string | undefined;
  readonly stdout: string;
  /** What the tool wrote, plus why it could not be started when it could not. */
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly ms: number;
}

/** Runs argv to its end (or to `timeoutMs`), with `input` on its stdin when given; never rejects. */
export const runTool = (argv: readonly string[], timeoutMs: number, input?: string): Promise<ToolOutcome> => {
  const [file, ...args] = argv;
  const started = Date.now();
  return new Promise((resolve) => {
    if (file === undefined) {
      resolve({ code: null, signal: undefined, stdout: '', stderr: 'empty argv', timedOut: false, ms: 0 });
      return;
    }
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => undefined); // a tool that exits without reading: its outcome says why
    child.stdin.end(input ?? '');
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const finish = (code: number | null, signal: string | null, extra: string): void => {
      clearTimeout(timer);
      resolve({
        code, signal: signal ?? undefined, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + extra,
        timedOut, ms: Date.now() - started,
      });
    };
    child.on('error', (e) => finish(null, null, `could not run ${file}: ${e.message}`));
    child.on('close', (code, signal) => finish(code, signal, ''));
  });
};
