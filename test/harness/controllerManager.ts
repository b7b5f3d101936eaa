// kube-controller-manager for the API server harness (`startApiServer({ controllerManager: true })`):
// real Deployments, ReplicaSets and StatefulSets need it. There is no kubelet and no scheduler,
// so the pods it creates stay Pending and unbound (enough for IPAM), and deleting one removes it
// at once.
//
// Rules:
// - The binary is the v1.37 build of `scripts/build-kube-apiserver.sh` in the install-deps cache;
//   env `KUBE_CONTROLLER_MANAGER` overrides it. A missing binary is an Error that says how to
//   get it, before anything starts.
// - Only the controllers the tests need run (fewer informers, faster start): the workload
//   controllers and the garbage collector (cascading deletes).
// - No leader election, its identity is the kubeconfig's admin user
//   (`--use-service-account-credentials=false`), it serves /healthz on a free loopback port with
//   a self-signed cert in the harness's temp dir.
// - Ready means /healthz answers `ok` and lists every controller asked for (the controller
//   manager registers a health check per controller once it has started it).
// The process itself is started, tracked by the reaper and stopped (before the apiserver) by
// apiserver.ts, with the same helpers as etcd and kube-apiserver.
import { accessSync, constants } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { DEFAULT_CACHE } from './kubectl.js';

/** The controllers started by default. */
export const DEFAULT_CONTROLLERS: readonly string[] = ['deployment-controller', 'replicaset-controller', 'statefulset-controller', 'garbage-collector-controller'];

/** The kube-controller-manager binary: env KUBE_CONTROLLER_MANAGER, else the install-deps cache. */
export function kubeControllerManagerBinary(): string {
  const env = process.env['KUBE_CONTROLLER_MANAGER'];
  const path = env !== undefined && env !== ''
    ? env
    : join(process.env['KUBE_OVN_IPAM_CACHE'] ?? DEFAULT_CACHE, 'bin', 'kube-controller-manager');
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    throw new Error(env !== undefined && env !== ''
      ? `kube-controller-manager not found (env KUBE_CONTROLLER_MANAGER: ${path}); fix KUBE_CONTROLLER_MANAGER or unset it`
      : `kube-controller-manager not found (install-deps cache: ${path}); run \`sudo scripts/install-deps.sh\` ` +
        '(it builds it into ${KUBE_OVN_IPAM_CACHE:-/var/cache/kube-ovn-ipam}/bin), or point KUBE_CONTROLLER_MANAGER at a kube-controller-manager binary');
  }
}

export interface ControllerManagerConfig {
  readonly binary: string;
  /** The harness's temp dir: `kubeconfig` and `sa.key` are read from it, certs written to it. */
  readonly dir: string;
  readonly port: number;
  readonly controllers: readonly string[];
  readonly extraArgs: readonly string[];
}

/** The command line. */
export function controllerManagerArgv(c: ControllerManagerConfig): readonly string[] {
  return [c.binary, `--kubeconfig=${c.dir}/kubeconfig`,
    `--controllers=${c.controllers.join(',')}`,
    `--service-account-private-key-file=${c.dir}/sa.key`, '--use-service-account-credentials=false',
    // What root-ca-certificate-publisher-controller (the cluster tier) publishes as kube-root-ca.crt.
    `--root-ca-file=${c.dir}/apiserver.crt`,
    '--leader-elect=false', '--bind-address=127.0.0.1', `--secure-port=${c.port}`, `--cert-dir=${c.dir}/kcm-certs`,
    // Start every controller at once, and sync the pods of a workload without a rate limit.
    '--controller-start-interval=0s', '--kube-api-qps=200', '--kube-api-burst=400',
    ...c.extraArgs];
}

/** Resolves true when /healthz?verbose says ok and lists every controller asked for; rejects
 *  with what is missing otherwise. The cert is self-signed (its own cert dir): not verified. */
export function controllerManagerHealthy(port: number, controllers: readonly string[]): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = request(`https://127.0.0.1:${port}/healthz?verbose`, { rejectUnauthorized: false, timeout: 2_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const missing = controllers.filter((c) => !body.includes(`[+]${c} ok`));
        if (res.statusCode === 200 && missing.length === 0) resolve(true);
        else reject(new Error(`/healthz answered ${res.statusCode ?? 0}${missing.length > 0 ? `, not yet started: ${missing.join(', ')}` : ''}`));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('GET /healthz: no answer in 2 s')));
    req.on('error', reject);
    req.end();
  });
}
