// Prometheus metrics (prom-client) behind the controller's Metrics record.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics } from '../effects/metrics.js';

export interface PromMetrics extends Metrics {
  readonly registry: Registry;
}

export const makeMetrics = (): PromMetrics => {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kube_ovn_ipam_' });
  const allocations = new Counter({ name: 'kube_ovn_ipam_allocations_total', help: 'Interfaces given addresses, by source (static, pool, dynamic).', labelNames: ['source'], registers: [registry] });
  const failures = new Counter({ name: 'kube_ovn_ipam_allocation_failures_total', help: 'Interfaces that could not be given addresses, by error code.', labelNames: ['code'], registers: [registry] });
  const queueDepth = new Gauge({ name: 'kube_ovn_ipam_queue_depth', help: 'Keys waiting in a work queue.', labelNames: ['queue'], registers: [registry] });
  const queueLatency = new Histogram({ name: 'kube_ovn_ipam_queue_wait_seconds', help: 'How long a key waited in its work queue.', labelNames: ['queue'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers: [registry] });
  const panics = new Counter({ name: 'kube_ovn_ipam_reconcile_panics_total', help: 'Reconciles that threw (caught at the work queue and retried with backoff), by queue; events: a watch event whose handling threw; sweep: the sweep of IP objects whose pod is gone.', labelNames: ['queue'], registers: [registry] });
  const allocationLatency = new Histogram({ name: 'kube_ovn_ipam_allocation_seconds', help: 'From a pod first seen to its annotations written.', buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] });
  const used = new Gauge({ name: 'kube_ovn_ipam_subnet_used_addresses', help: 'Addresses in use in a subnet.', labelNames: ['subnet', 'family'], registers: [registry] });
  const available = new Gauge({ name: 'kube_ovn_ipam_subnet_available_addresses', help: 'Addresses still free in a subnet.', labelNames: ['subnet', 'family'], registers: [registry] });
  return {
    registry,
    allocations: { inc: (l) => allocations.inc(l) },
    failures: { inc: (l) => failures.inc(l) },
    queueDepth: { set: (l, v) => queueDepth.set(l, v) },
    queueLatency: { observe: (l, s) => queueLatency.observe(l, s) },
    reconcilePanics: { inc: (l) => panics.inc(l) },
    allocationLatency: { observe: (s) => allocationLatency.observe(s) },
    subnetUsage: (subnet, status) => {
      used.set({ subnet, family: 'IPv4' }, status.v4usingIPs);
      available.set({ subnet, family: 'IPv4' }, status.v4availableIPs);
      used.set({ subnet, family: 'IPv6' }, status.v6usingIPs);
      available.set({ subnet, family: 'IPv6' }, status.v6availableIPs);
    },
  };
};
