// jest globalTeardown of the `cluster` project: stops the tier's cluster (every pod deleted
// through kubelet first, then every component), leaving nothing behind.
import { rmSync } from 'node:fs';
import { CLUSTER_STATE } from '../../dist/test/harness/cluster.js';

export default async function globalTeardown() {
  const cluster = globalThis.kubeOvnIpamCluster;
  globalThis.kubeOvnIpamCluster = undefined;
  rmSync(CLUSTER_STATE, { force: true });
  await cluster?.stop();
}
