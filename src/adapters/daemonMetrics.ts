// The daemon's Prometheus metrics (prom-client), served by serveHealth (src/adapters/http.ts)
// like the controller's: Node's default process metrics, and per CNI command (add, del) and
// outcome (`ok`, or the DaemonError code: NotAllocated, PlumbingFailed, …) a request count and
// a duration histogram. The outcome set is closed, so the label cardinality is bounded.
//
// withRequestMetrics wraps the CNI service the socket serves, so every request the daemon
// answers is counted; a request refused before it reaches the daemon (a body that is not a
// CNI request, a wrong path) is not.
import * as E from 'fp-ts/lib/Either.js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CniService } from './daemonServer.js';

export interface DaemonMetrics {
  readonly registry: Registry;
  observe(command: 'add' | 'del', outcome: string, seconds: number): void;
}

export const makeDaemonMetrics = (): DaemonMetrics => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kube_ovn_ipam_daemon_' });
  const requests = new Counter({ name: 'kube_ovn_ipam_cni_requests_total', help: 'CNI requests answered, by command (add, del) and outcome (ok or the error code).', labelNames: ['command', 'outcome'], registers: [registry] });
  const duration = new Histogram({
    name: 'kube_ovn_ipam_cni_request_seconds', help: 'From a CNI request received to its answer (an ADD includes waiting for its allocation).',
    labelNames: ['command', 'outcome'], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry],
  });
  return {
    registry,
    observe: (command, outcome, seconds) => {
      requests.inc({ command, outcome });
      duration.observe({ command, outcome }, seconds);
    },
  };
};

/** `service`, with each add and del observed in `metrics` (a thrown error counts as `internal`). */
export const withRequestMetrics = (service: CniService, metrics: DaemonMetrics, now: () => number = () => performance.now()): CniService => {
  const timed = async <L extends { readonly code: string }, R>(command: 'add' | 'del', call: () => Promise<E.Either<L, R>>): Promise<E.Either<L, R>> => {
    const started = now();
    let outcome = 'internal';
    try {
      const result = await call();
      outcome = E.isRight(result) ? 'ok' : result.left.code;
      return result;
    } finally {
      metrics.observe(command, outcome, (now() - started) / 1000);
    }
  };
  return {
    add: (req) => timed('add', () => service.add(req)),
    del: (req) => timed('del', () => service.del(req)),
  };
};
