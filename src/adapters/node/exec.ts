// The exec chokepoints of the node daemon (STYLE rule 4): every `ip` and every `ovs-vsctl` the
// daemon runs goes through `makeIp` or `makeVsctl`.
//
// Rules:
// - Every call goes through runTool (../spawn.ts: no shell, stdin closed, output collected,
//   SIGKILL at its timeout) and is logged at debug with its argv, duration and outcome.
// - A call that does not exit 0 rejects with a NodeToolError carrying the argv and stderr;
//   deciding that a failure means "already absent" is the caller's business (see isNotFound).
// - `ip` inside another network namespace runs as `nsenter --net=<path> -- ip …`: `ip -n`
//   takes only names under /var/run/netns, while a runtime may pass /proc/<pid>/ns/net.
// - `ovs-vsctl` always names its database (`--db=`, from the daemon's config, else
//   `unix:$OVS_RUNDIR/db.sock`, else ovs-vsctl's default) and bounds its own wait (`--timeout`).
import type { Log } from '../../effects/ports.js';
import { NodeToolError } from '../../effects/nodePorts.js';
import { runTool } from '../spawn.js';

export interface ExecOptions {
  /** Default 10 000 ms. */
  readonly timeoutMs?: number;
  readonly log: Log;
}

/** Runs argv and resolves with stdout; rejects with a NodeToolError naming `tool`. */
async function execTool(tool: string, argv: readonly string[], timeoutMs: number, log: Log, input?: string): Promise<string> {
  const result = await runTool(argv, timeoutMs, input);
  if (result.code === 0) {
    log.debug('exec', { tool, argv, ...(input === undefined ? {} : { input }), ms: result.ms });
    return result.stdout;
  }
  log.debug('exec failed', { tool, argv, ...(input === undefined ? {} : { input }), ms: result.ms, code: result.code, signal: result.signal, timedOut: result.timedOut, stderr: result.stderr.trim() });
  throw new NodeToolError(tool, argv, result.code, result.stderr, result.timedOut, result.timedOut ? undefined : result.signal);
}

/** `ip` with `args`, in the namespace at path `netns` (undefined: ours); `input` is its stdin
 *  (for `-batch -`). */
export type Ip = (args: readonly string[], netns?: string, input?: string) => Promise<string>;

export function makeIp(options: ExecOptions): Ip {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return (args, netns, input) =>
    execTool('ip', netns === undefined ? ['ip', ...args] : ['nsenter', `--net=${netns}`, '--', 'ip', ...args], timeoutMs, options.log, input);
}

export interface VsctlOptions extends ExecOptions {
  /** `unix:/path/db.sock` or `tcp:…`; default `unix:$OVS_RUNDIR/db.sock` when OVS_RUNDIR is set. */
  readonly db?: string | undefined;
}

/** `ovs-vsctl --db=… --timeout=… <args>`; `waitMs` overrides the timeout of one call. */
export type Vsctl = (args: readonly string[], waitMs?: number) => Promise<string>;

/** The database ovs-vsctl talks to: the configured one, else the one in $OVS_RUNDIR. */
export function ovsDbOf(configured: string | undefined): string | undefined {
  if (configured !== undefined && configured !== '') return configured;
  const rundir = process.env['OVS_RUNDIR'];
  return rundir !== undefined && rundir !== '' ? `unix:${rundir}/db.sock` : undefined;
}

export function makeVsctl(options: VsctlOptions): Vsctl {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const db = ovsDbOf(options.db);
  return (args, waitMs) => {
    const ms = waitMs ?? timeoutMs;
    const seconds = Math.max(1, Math.ceil(ms / 1000));
    const argv = ['ovs-vsctl', ...(db === undefined ? [] : [`--db=${db}`]), `--timeout=${seconds}`, ...args];
    // ovs-vsctl ends itself at --timeout; our kill is the backstop.
    return execTool('ovs-vsctl', argv, seconds * 1000 + 5_000, options.log);
  };
}

/** True when a failure of `ip` says the device (or route, or namespace) is not there. */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof NodeToolError)) return false;
  return /Cannot find device|does not exist|No such device|No such process|No such file or directory|Invalid "netns" value/i.test(err.stderr);
}
