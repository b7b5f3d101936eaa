// The controller in the test process, wired to the real adapters against a test API server.
import type { KubeConfig } from '@kubernetes/client-node';
import type { NodeDaemonConfig } from '../../src/cli/daemon.js';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import type { ControllerOptions } from '../../src/effects/Controller.js';
import { Controller } from '../../src/effects/Controller.js';
import type { Log, Ovn } from '../../src/effects/ports.js';
import type { ApiServer } from './apiserver.js';
import { netnsPath } from './netns.js';
import type { OvsEnv } from './ovs.js';

export const quietLog = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

/** A controller (not started) that always writes: 2 workers, no sweep, no cooldown unless told;
 *  with `ovn` (e.g. `makeOvn({ db: ovs.db.nb!, log })`) it keeps OVN's NB in step. */
export const controllerFor = (kc: KubeConfig, options: Partial<ControllerOptions> = {}, log: Log = quietLog(), ovn?: Ovn): Controller =>
  new Controller(
    { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: makeMetrics(), canWrite: () => true, ovn },
    { workers: 2, gcIntervalMs: 0, cooldownMs: 0, ...options },
  );

/** The daemon's config against the test API server and the harness's OVS (its bridge, its
 *  database and the namespace the host ends live in): no ovn-installed wait, 20 s deadline. */
export const daemonConfigFor = (api: ApiServer, ovs: OvsEnv, nodeName: string): Omit<NodeDaemonConfig, 'socket'> => ({
  kubeconfig: api.kubeconfigPath, nodeName, mtu: 1400, ovsDb: ovs.db.ovs, bridge: ovs.bridge,
  hostNetns: ovs.netns === undefined ? undefined : netnsPath(ovs.netns), ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 20_000,
});
