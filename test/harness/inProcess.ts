// The controller in the test process, wired to the real adapters against a test API server.
import type { KubeConfig } from '@kubernetes/client-node';
import { makeKube } from '../../src/adapters/kube/kube.js';
import { makeWatcher } from '../../src/adapters/kube/watcher.js';
import { makeMetrics } from '../../src/adapters/metrics.js';
import type { ControllerOptions } from '../../src/effects/Controller.js';
import { Controller } from '../../src/effects/Controller.js';
import type { Log } from '../../src/effects/ports.js';

export const quietLog = (): Log => ({ info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined });

/** A controller (not started) that always writes: 2 workers, no sweep, no cooldown unless told. */
export const controllerFor = (kc: KubeConfig, options: Partial<ControllerOptions> = {}, log: Log = quietLog()): Controller =>
  new Controller(
    { kube: makeKube(kc), watcher: makeWatcher(kc), clock: { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) }, log, metrics: makeMetrics(), canWrite: () => true },
    { workers: 2, gcIntervalMs: 0, cooldownMs: 0, ...options },
  );
