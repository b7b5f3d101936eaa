// A synthetic cluster for the ip_pool benchmarks: one Subnet (10.0.0.0/8, room for any pool),
// and a StatefulSet `web` of `replicas` pods whose template's `ovn.kubernetes.io/ip_pool`
// lists `pool` addresses (`list`), or names the IPPool `big` whose spec.ips lists them
// (`ippool`). With `live` its pods exist (as the controller sees them), else `plan` simulates them.
export interface PoolWorkload {
  readonly form: 'list' | 'ippool';
  readonly pool: number;
  readonly replicas: number;
  readonly live: boolean;
}

/** The i-th pool address: every other address from 10.1.0.0 (so an IPPool's ranges do not merge into one). */
const address = (i: number): string => { const n = 2 * i; return `10.${1 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`; };

export const poolObjects = (w: PoolWorkload): unknown[] => {
  const addresses = Array.from({ length: w.pool }, (_, i) => address(i));
  const annotation = w.form === 'list' ? addresses.join(',') : 'big';
  const template = { metadata: { labels: { app: 'web' }, annotations: { 'ovn.kubernetes.io/ip_pool': annotation } } };
  const objects: unknown[] = [
    { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'ovn-default' }, spec: { cidrBlock: '10.0.0.0/8', provider: 'ovn' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'web', namespace: 'default', uid: 'sts-web' }, spec: { replicas: w.replicas, selector: { matchLabels: { app: 'web' } }, template } },
  ];
  if (w.form === 'ippool') objects.push({ apiVersion: 'kubeovn.io/v1', kind: 'IPPool', metadata: { name: 'big' }, spec: { subnet: 'ovn-default', ips: addresses } });
  if (w.live) {
    for (let i = 0; i < w.replicas; i++) {
      objects.push({
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `web-${i}`, namespace: 'default', uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, labels: { app: 'web' }, annotations: { 'ovn.kubernetes.io/ip_pool': annotation }, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'sts-web' }] },
        spec: { nodeName: 'node-0' },
      });
    }
  }
  return objects;
};
