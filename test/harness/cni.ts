// Invokes a CNI plugin exactly as a container runtime does (CNI spec, "Execution protocol"):
// parameters in CNI_* environment variables, the network configuration as JSON on stdin, the
// result (or error) as JSON on stdout. The plugin gets no other environment than PATH and the
// CNI_* variables, so the test sees what it would see under containerd or Multus.
import { run } from './exec.js';

export const CNI_PLUGIN_DIR = '/usr/lib/cni';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'STATUS' | 'GC';

export interface CniInvocation {
  /** Path of the plugin executable, e.g. `${CNI_PLUGIN_DIR}/macvlan`. */
  readonly plugin: string;
  readonly command: CniCommand;
  /** Required for ADD, DEL and CHECK. */
  readonly containerId?: string;
  /** Path of the network namespace, e.g. netnsPath(name); required for ADD and CHECK. */
  readonly netns?: string;
  /** Required for ADD, DEL and CHECK. */
  readonly ifName?: string;
  /** CNI_ARGS, joined as `K=V;K=V` in insertion order. */
  readonly args?: Readonly<Record<string, string>>;
  /** CNI_PATH, where the plugin looks for delegates (its IPAM plugin); default [CNI_PLUGIN_DIR]. */
  readonly path?: readonly string[];
  /** The network configuration (with `cniVersion`, `name`, `type`, …). */
  readonly netconf: object;
  /** Default 30 s. */
  readonly timeoutMs?: number;
}

export interface CniOutcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON when it is JSON (a result, a version answer or an error). */
  readonly result?: unknown;
}

/** The environment a runtime gives the plugin for this invocation. */
export function cniEnvironment(inv: CniInvocation): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    CNI_COMMAND: inv.command,
    CNI_PATH: (inv.path ?? [CNI_PLUGIN_DIR]).join(':'),
  };
  if (inv.containerId !== undefined) env['CNI_CONTAINERID'] = inv.containerId;
  if (inv.netns !== undefined) env['CNI_NETNS'] = inv.netns;
  if (inv.ifName !== undefined) env['CNI_IFNAME'] = inv.ifName;
  if (inv.args !== undefined) {
    env['CNI_ARGS'] = Object.entries(inv.args).map(([k, v]) => `${k}=${v}`).join(';');
  }
  return env;
}

/** Runs the plugin once; never throws for a failing plugin (the outcome carries its error JSON). */
export async function invokeCni(inv: CniInvocation): Promise<CniOutcome> {
  const out = await run([inv.plugin], {
    input: JSON.stringify(inv.netconf),
    env: cniEnvironment(inv),
    cleanEnv: true,
    ...(inv.timeoutMs === undefined ? {} : { timeoutMs: inv.timeoutMs }),
  });
  let result: unknown;
  try {
    result = out.stdout.trim() === '' ? undefined : JSON.parse(out.stdout);
  } catch {
    result = undefined;
  }
  return { code: out.code, stdout: out.stdout, stderr: out.stderr, ...(result === undefined ? {} : { result }) };
}

/** Like `invokeCni`, but rejects unless the plugin exited 0, naming the command and its output. */
export async function invokeCniOk(inv: CniInvocation): Promise<CniOutcome> {
  const outcome = await invokeCni(inv);
  if (outcome.code !== 0) {
    throw new Error(`CNI ${inv.command} ${inv.plugin} (container ${inv.containerId ?? '-'}, if ${inv.ifName ?? '-'}) ` +
      `exited ${outcome.code}: ${outcome.stdout.trim()} ${outcome.stderr.trim()}`);
  }
  return outcome;
}
