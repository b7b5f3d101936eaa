// The controller in the test process, wired to the real adapters against a test API server.
import type { KubeConfig } from '@kubernetes/client-node';
import { request as httpRequest } from 'node:http';
import type { NodeDaemonConfig } from '../../src/cli/daemon.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import type { ControllerOptions } from '../../src/effects/Controller.js';
import { Controller } from '../../src/effects/Controller.js';
import type { Log, Ovn } from '../../src/effects/ports.js';
import { loadKubeConfig } from '../../src/adapters/kube/config.js';
import { startApiServer, type ApiServer } from './apiserver.js';
import { REPO_ROOT } from './controllerProcess.js';
import { runOk } from './exec.js';
import { destroyAll, netnsPath } from './netns.js';
import { startOvs, type OvsEnv } from './ovs.js';

export const quietLog = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

/** A controller (not started): 2 workers, no sweep, no cooldown unless told; with `ovn` (e.g.
 *  `makeOvn({ db: ovs.db.nb!, log })`) it keeps OVN's NB in step. It may always write unless
 *  `canWrite` says otherwise (the fence a LeaderElector keeps). */
export const controllerFor = (kc: KubeConfig, options: Partial<ControllerOptions> = {}, log: Log = quietLog(), ovn?: Ovn, canWrite: () => boolean = () => true): Controller =>
  new Controller(
    { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: makeMetrics(), canWrite, ovn },
    { workers: 2, gcIntervalMs: 0, cooldownMs: 0, ...options },
  );

/** The daemon's config against the test API server and the harness's OVS (its bridge, its
 *  database and the namespace the host ends live in): no ovn-installed wait, 20 s deadline. */
export const daemonConfigFor = (api: ApiServer, ovs: OvsEnv, nodeName: string): Omit<NodeDaemonConfig, 'socket'> => ({
  kubeconfig: api.kubeconfigPath, nodeName, mtu: 1400, ovsDb: ovs.db.ovs, bridge: ovs.bridge,
  hostNetns: ovs.netns === undefined ? undefined : netnsPath(ovs.netns), ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 20_000,
});

/** A log that keeps `<level> <msg> <fields as JSON>` lines (debug dropped unless `debug`), for
 *  tests that read what was logged. */
export const memoryLog = (options: { readonly debug?: boolean } = {}): Log & { readonly lines: string[] } => {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, fields?: Readonly<Record<string, unknown>>) => void lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  return { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: options.debug === true ? at('debug') : () => undefined };
};

/** The arguments of every `ip` the daemon ran (after `ip`, joined), from a memoryLog({ debug:
 *  true }) (its `exec` lines), from line `from` on; under `nsenter`, of the `ip` after `--`. */
export const ipRuns = (lines: readonly string[], from = 0): string[] =>
  lines.slice(from).flatMap((l) => {
    const m = /^debug exec(?: failed)? (.*)$/.exec(l);
    if (m === null) return [];
    const { tool, argv } = JSON.parse(m[1]!) as { tool: string; argv: string[] };
    if (tool !== 'ip') return [];
    const dash = argv.indexOf('--');
    return [(argv[0] === 'nsenter' && dash >= 0 ? argv.slice(dash + 1) : argv).slice(1).join(' ')];
  });

/** POSTs `body` as JSON to the daemon's unix socket; resolves with the status and the parsed
 *  body (undefined when empty). */
export const postJson = (socketPath: string, path: string, body: unknown): Promise<{ readonly status: number; readonly body: unknown }> =>
  new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest({ socketPath, path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? undefined : JSON.parse(text) as unknown });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });

/** Stops what a node test started, each part only if it was: the daemon, then the controller,
 *  then the API server and OVS together, then every network namespace and link this process
 *  made, then the temp folder. */
export const stopNodeCluster = async (parts: {
  readonly running?: { stop(): Promise<void> } | undefined;
  readonly controller?: Controller | undefined;
  readonly api?: ApiServer | undefined;
  readonly ovs?: OvsEnv | undefined;
  readonly tmp?: { remove(): void } | undefined;
}): Promise<void> => {
  await parts.running?.stop();
  await parts.controller?.stop();
  await Promise.all([parts.api?.stop(), parts.ovs?.stop()]);
  await destroyAll();
  parts.tmp?.remove();
};

/** The one-node cluster of the end-to-end node tests: the plugin built (scripts/build-cni.sh),
 *  a real API server and OVS/OVN, the controller in-process with `manifests` (YAML texts)
 *  applied in order, once its caches are synced. */
export const startNodeCluster = async (manifests: readonly string[]): Promise<{ readonly api: ApiServer; readonly ovs: OvsEnv; readonly controller: Controller }> => {
  await runOk(['bash', `${REPO_ROOT}scripts/build-cni.sh`], { timeoutMs: 300_000 });
  // Whichever of the two started is stopped when the other failed: the caller gets nothing to stop.
  const [apiStarted, ovsStarted] = await Promise.allSettled([startApiServer(), startOvs()]);
  if (apiStarted.status === 'rejected' || ovsStarted.status === 'rejected') {
    await Promise.all([apiStarted.status === 'fulfilled' ? apiStarted.value.stop() : undefined, ovsStarted.status === 'fulfilled' ? ovsStarted.value.stop() : undefined]);
    throw apiStarted.status === 'rejected' ? apiStarted.reason : (ovsStarted as PromiseRejectedResult).reason;
  }
  const [api, ovs] = [apiStarted.value, ovsStarted.value];
  const controller = controllerFor(loadKubeConfig(api.kubeconfigPath));
  controller.start();
  for (const input of manifests) await api.kubectlOk(['apply', '-f', '-'], { input });
  await controller.ready;
  return { api, ovs, controller };
};
