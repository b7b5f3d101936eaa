// jest globalSetup of the `cluster` project: starts the tier's one cluster (test/harness/cluster.ts,
// run from its build in dist/: jest loads this file outside its ESM test runtime, and
// scripts/test.sh builds dist/ first) and tells the test files where it is (CLUSTER_STATE).
// Without root the tier cannot run: it says so, and the test files skip.
import { rmSync, writeFileSync } from 'node:fs';
import process from 'node:process';
import { CLUSTER_STATE, clusterInfo, startCluster } from '../../dist/test/harness/cluster.js';

export default async function globalSetup() {
  rmSync(CLUSTER_STATE, { force: true });
  if (process.getuid?.() !== 0) {
    process.stderr.write('cluster tier: not root, the cluster tests skip\n');
    return;
  }
  const cluster = await startCluster();
  globalThis.kubeOvnIpamCluster = cluster;
  writeFileSync(CLUSTER_STATE, JSON.stringify(clusterInfo(cluster), null, 2));
}
