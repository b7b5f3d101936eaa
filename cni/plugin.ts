// The `kube-ovn` CNI plugin's commands (CNI SPEC §2, 1.1.0; behaviour §5.1): ADD, DEL and CHECK
// ask the node daemon over its socket, VERSION, STATUS and GC answer here.
// Rules:
// - The order of checks is the reference skeleton's: the environment (code 4), then the
//   configuration (6, 1, 7), then CNI_ARGS' pod (4), then the daemon.
// - ADD prints the result in the configuration's cniVersion; DEL, CHECK and GC print nothing on
//   success; every failure prints a CNI error `{cniVersion, code, msg, details?}` and exits 1.
// - DEL succeeds when the daemon says there is nothing to delete (it answers 204), but an
//   unreachable daemon is code 11: we cannot know what is left, so the runtime must retry.
// - CHECK (0.4.0+) asks the daemon with ADD semantics and compares its addresses with prevResult.
// - STATUS (1.1.0): exit 0 when the daemon answers on its socket, else code 50. GC (1.1.0):
//   nothing is kept on the node by the plugin, and the controller releases addresses; success.
// - Deadline: the whole run fits in KUBE_OVN_CNI_TIMEOUT_MS (default 50 s) so the plugin answers
//   before the runtime gives up on it; the daemon is told to answer a margin before the HTTP
//   timeout, which fires a margin before the deadline (see `budget`).
import type { DaemonClient } from '../src/adapters/daemonClient.js';
import { CniCode, type CniRequest } from '../src/domain/cni/Protocol.js';
import {
  buildRequest, declaredVersion, LATEST_VERSION, parseEnvironment, parseJsonObject, parsePluginConfig, podIdentity,
  requireVersion, success, SUPPORTED_VERSIONS, type CniError, type Environment, type Outcome, type PluginConfig,
} from '../src/domain/cni/PluginConfig.js';
import { buildResult, checkResult, errorResult, versionResult, type ResultContext } from '../src/domain/cni/Result.js';

export interface PluginIo {
  /** The process environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** All of stdin; code 5 when it cannot be read. */
  readonly readStdin: () => Promise<Outcome<string>>;
  /** Milliseconds since the plugin started. */
  readonly elapsedMs: () => number;
  readonly connect: (socketPath: string) => DaemonClient;
}

export interface PluginOutput {
  /** What to print on stdout ('' for none). */
  readonly stdout: string;
  /** What to print on stderr ('' for none). */
  readonly stderr: string;
  readonly exitCode: 0 | 1;
}

export interface Budget {
  /** What the daemon is told it may take (deadline_ms). */
  readonly daemonMs: number;
  /** When the plugin stops waiting for the daemon's answer. */
  readonly httpMs: number;
}

/** Splits what is left of `totalMs`: a margin (5 %, 0.5 to 2.5 s) before the deadline for us, another for the
 *  daemon. Half a second at least: a loaded node's daemon may answer a few hundred ms after its own deadline. */
export const budget = (totalMs: number, elapsedMs: number): Budget => {
  const margin = Math.min(2500, Math.max(500, Math.round(totalMs / 20)));
  const left = totalMs - elapsedMs;
  return { daemonMs: Math.max(0, Math.round(left - 2 * margin)), httpMs: Math.max(0, Math.round(left - margin)) };
};

/** STATUS need not wait the whole budget: a daemon that answers nothing in 10 s is not available. */
const STATUS_TIMEOUT_MS = 10_000;

export const ABOUT = `kube-ovn CNI plugin (kube-ovn-ipam); CNI protocol versions supported: ${SUPPORTED_VERSIONS.join(', ')}`;

const done: PluginOutput = { stdout: '', stderr: '', exitCode: 0 };

const printed = (value: unknown): PluginOutput => ({ stdout: JSON.stringify(value), stderr: '', exitCode: 0 });

interface Call {
  readonly io: PluginIo;
  readonly env: Environment;
  readonly config: PluginConfig;
}

const context = ({ env, config }: Call): ResultContext => ({
  role: config.role,
  cniVersion: config.cniVersion,
  ifName: env.ifName ?? '',
  netns: env.netns ?? '',
  ...(config.prevResult !== undefined && { prevResult: config.prevResult }),
});

interface Prepared {
  readonly request: CniRequest;
  readonly times: Budget;
  readonly client: DaemonClient;
}

/** ADD, DEL or CHECK: the daemon request with this run's budget. */
const daemonCall = (call: Call): Outcome<Prepared> => {
  const pod = podIdentity(call.env.args);
  if (!pod.ok) return pod;
  const times = budget(call.env.timeoutMs, call.io.elapsedMs());
  if (times.daemonMs <= 0) {
    return { ok: false, error: { code: CniCode.TryAgainLater, msg: `no time left to ask the daemon (KUBE_OVN_CNI_TIMEOUT_MS is ${call.env.timeoutMs})` } };
  }
  return success({ request: buildRequest(call.config, call.env, pod.value, times.daemonMs), times, client: call.io.connect(call.config.serverSocket) });
};

const add = async (call: Call): Promise<Outcome<unknown>> => {
  const prepared = daemonCall(call);
  if (!prepared.ok) return prepared;
  const { request, times, client } = prepared.value;
  const answer = await client.add(request, times.httpMs);
  if (!answer.ok) return answer;
  return buildResult(answer.value, context(call));
};

const del = async (call: Call): Promise<Outcome<undefined>> => {
  const prepared = daemonCall(call);
  if (!prepared.ok) return prepared;
  const { request, times, client } = prepared.value;
  return client.del(request, times.httpMs);
};

const check = async (call: Call): Promise<Outcome<undefined>> => {
  const tooOld = requireVersion(call.config, '0.4.0', 'CHECK');
  if (tooOld !== undefined) return { ok: false, error: tooOld };
  if (call.config.prevResult === undefined) {
    return { ok: false, error: { code: CniCode.InvalidConfig, msg: 'prevResult is missing (CHECK needs the result of the ADD)' } };
  }
  const prepared = daemonCall(call);
  if (!prepared.ok) return prepared;
  const { request, times, client } = prepared.value;
  // The daemon only looks (check: true): CHECK must never change the pod's network.
  const answer = await client.add({ ...request, check: true }, times.httpMs);
  if (!answer.ok) return answer;
  const mismatch = checkResult(answer.value, context(call));
  return mismatch === undefined ? success(undefined) : { ok: false, error: mismatch };
};

const status = async (call: Call): Promise<Outcome<undefined>> => {
  const tooOld = requireVersion(call.config, '1.1.0', 'STATUS');
  if (tooOld !== undefined) return { ok: false, error: tooOld };
  const times = budget(call.env.timeoutMs, call.io.elapsedMs());
  const answer = await call.io.connect(call.config.serverSocket).ping(Math.min(times.httpMs, STATUS_TIMEOUT_MS));
  return answer.ok ? answer : { ok: false, error: { code: CniCode.PluginNotAvailable, msg: answer.error.msg } };
};

const gc = (call: Call): Outcome<undefined> => {
  const tooOld = requireVersion(call.config, '1.1.0', 'GC');
  return tooOld === undefined ? success(undefined) : { ok: false, error: tooOld };
};

/** Runs one invocation; never throws for anything the runtime or the daemon can cause. */
export const runPlugin = async (io: PluginIo): Promise<PluginOutput> => {
  const commandSet = (io.env['CNI_COMMAND'] ?? '') !== '';
  const env = parseEnvironment(io.env);
  // Without CNI_COMMAND a person is probably at a terminal: do not wait for stdin.
  const stdin = commandSet ? await io.readStdin() : success('');
  const text = stdin.ok ? stdin.value : '';
  const version = declaredVersion(text) ?? LATEST_VERSION;
  const fail = (error: CniError): PluginOutput => ({
    stdout: JSON.stringify(errorResult(version, error)),
    stderr: commandSet ? '' : `${ABOUT}\n`,
    exitCode: 1,
  });
  if (!env.ok) return fail(env.error);
  if (env.value.command === 'VERSION') {
    const request = parseJsonObject(text);
    const requested = request.ok ? request.value['cniVersion'] : undefined;
    return printed(versionResult(typeof requested === 'string' ? requested : undefined));
  }
  if (!stdin.ok) return fail(stdin.error);
  const config = parsePluginConfig(text);
  if (!config.ok) return fail(config.error);
  const call: Call = { io, env: env.value, config: config.value };
  switch (env.value.command) {
    case 'ADD': {
      const result = await add(call);
      return result.ok ? printed(result.value) : fail(result.error);
    }
    case 'DEL': {
      const result = await del(call);
      return result.ok ? done : fail(result.error);
    }
    case 'CHECK': {
      const result = await check(call);
      return result.ok ? done : fail(result.error);
    }
    case 'STATUS': {
      const result = await status(call);
      return result.ok ? done : fail(result.error);
    }
    case 'GC': {
      const result = gc(call);
      return result.ok ? done : fail(result.error);
    }
  }
};
