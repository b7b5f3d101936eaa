// The binaries of the real-component API server tests, and kubectl run against one kubeconfig.
//
// Rules:
// - kube-apiserver and kubectl are the v1.37 builds of `scripts/install-deps.sh`, cached in
//   `${KUBE_OVN_IPAM_CACHE:-/var/cache/kube-ovn-ipam}/bin`; env `KUBE_APISERVER` / `KUBECTL`
//   override them. Never `kubectl` from PATH: on this image that is a gcloud dispatcher, and
//   Debian's kubernetes-client is 1.20 (scripts/README-harness-notes.md).
// - etcd is env `ETCD`, else `etcd` from PATH (Debian's etcd-server 3.4 works).
// - A missing binary is an Error that says how to get it, never a silent skip.
// - kubectl always runs with `--kubeconfig` and a private `--cache-dir` (no ~/.kube writes), and
//   through the harness's one exec chokepoint (`run`).
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describeFailure, run, type RunResult } from './exec.js';

export const DEFAULT_CACHE = '/var/cache/kube-ovn-ipam';

const cacheBin = (): string => join(process.env['KUBE_OVN_IPAM_CACHE'] ?? DEFAULT_CACHE, 'bin');

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH, or undefined. */
function onPath(name: string): string | undefined {
  return (process.env['PATH'] ?? '').split(delimiter).filter((d) => d !== '')
    .map((d) => join(d, name)).find(isExecutable);
}

function required(what: string, path: string | undefined, origin: string, hint: string): string {
  if (path !== undefined && isExecutable(path)) return path;
  throw new Error(`${what} not found (${origin}${path === undefined ? '' : `: ${path}`}); ${hint}`);
}

const BUILD_HINT = 'run `sudo scripts/install-deps.sh` (it builds kube-apiserver and kubectl v1.37 into ' +
  '${KUBE_OVN_IPAM_CACHE:-/var/cache/kube-ovn-ipam}/bin), or point';

/** The kube-apiserver binary: env KUBE_APISERVER, else the install-deps cache. Throws when missing. */
export function kubeApiserverBinary(): string {
  const env = process.env['KUBE_APISERVER'];
  return env !== undefined && env !== ''
    ? required('kube-apiserver', env, 'env KUBE_APISERVER', 'fix KUBE_APISERVER or unset it')
    : required('kube-apiserver', join(cacheBin(), 'kube-apiserver'), 'install-deps cache',
      `${BUILD_HINT} KUBE_APISERVER at a kube-apiserver binary`);
}

/** The kubectl binary: env KUBECTL, else the install-deps cache. Throws when missing. */
export function kubectlBinary(): string {
  const env = process.env['KUBECTL'];
  return env !== undefined && env !== ''
    ? required('kubectl', env, 'env KUBECTL', 'fix KUBECTL or unset it')
    : required('kubectl', join(cacheBin(), 'kubectl'), 'install-deps cache', `${BUILD_HINT} KUBECTL at a kubectl binary`);
}

/** The etcd binary: env ETCD, else `etcd` on PATH. Throws when missing. */
export function etcdBinary(): string {
  const env = process.env['ETCD'];
  return env !== undefined && env !== ''
    ? required('etcd', env, 'env ETCD', 'fix ETCD or unset it')
    : required('etcd', onPath('etcd'), 'not on PATH',
      'run `sudo scripts/install-deps.sh` (it installs Debian\'s etcd-server), or set ETCD to an etcd binary');
}

export interface KubectlOptions {
  /** Written to kubectl's stdin (for `-f -`). */
  readonly input?: string;
  /** Default 60 s. */
  readonly timeoutMs?: number;
}

/** What a kubectl run printed; `code` is null when it was killed (timeout). */
export interface KubectlResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs kubectl against one cluster. */
export interface Kubectl {
  /** Never throws for a failing kubectl: the result carries its exit code and stderr. */
  (args: readonly string[], options?: KubectlOptions): Promise<KubectlResult>;
}

/** A kubectl bound to `kubeconfig`, with its discovery cache in `cacheDir`. */
export function kubectlFor(kubeconfig: string, cacheDir: string): {
  readonly kubectl: Kubectl;
  readonly kubectlOk: (args: readonly string[], options?: KubectlOptions) => Promise<string>;
} {
  const binary = kubectlBinary();
  const exec = (args: readonly string[], options: KubectlOptions = {}): Promise<RunResult> =>
    run([binary, `--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir}`, ...args], {
      timeoutMs: options.timeoutMs ?? 60_000,
      ...(options.input === undefined ? {} : { input: options.input }),
    });
  return {
    kubectl: async (args, options) => {
      const r = await exec(args, options);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
    /** Rejects unless kubectl exits 0 (naming argv and stderr); resolves with its stdout. */
    kubectlOk: async (args, options) => {
      const r = await exec(args, options);
      if (r.code !== 0) throw new Error(describeFailure(r));
      return r.stdout;
    },
  };
}

/**
 * Splits kubectl's table output (`get` without `-o`) into rows keyed by the header's column
 * names. Cells are cut at the header's column offsets, so an empty cell stays an empty string.
 */
export function parseTable(output: string): { readonly header: readonly string[]; readonly rows: readonly Record<string, string>[] } {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const headerLine = lines[0] ?? '';
  const columns = [...headerLine.matchAll(/\S+/g)].map((m) => ({ name: m[0], start: m.index }));
  const rows = lines.slice(1).map((line) => Object.fromEntries(columns.map((c, i) => {
    const next = columns[i + 1];
    return [c.name, line.slice(c.start, next === undefined ? undefined : next.start).trim()];
  })));
  return { header: columns.map((c) => c.name), rows };
}
