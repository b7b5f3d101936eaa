// jest globalSetup of the `cluster` project: starts the tier's one cluster (test/harness/cluster.ts)
// and tells the test files where it is (CLUSTER_STATE). Without root the tier cannot run: it
// says so and the test files skip.
import { rmSync, writeFileSync } from 'node:fs';
import { CLUSTER_STATE, startCluster, type ClusterInfo, type RunningCluster } from '../harness/cluster.js';

declare global {
  var kubeOvnIpamCluster: RunningCluster | undefined;
}

export default async function globalSetup(): Promise<void> {
  rmSync(CLUSTER_STATE, { force: true });
  if (process.getuid?.() !== 0) {
    process.stderr.write('cluster tier: not root, the cluster tests skip\n');
    return;
  }
  const cluster = await startCluster();
  globalThis.kubeOvnIpamCluster = cluster;
  const info: ClusterInfo = {
    dir: cluster.dir, url: cluster.url, token: cluster.token, kubeconfigPath: cluster.kubeconfigPath, caPath: cluster.caPath,
    nodeName: cluster.nodeName, nodeIp: cluster.nodeIp, containerdSocket: cluster.containerdSocket, cniBin: cluster.cniBin,
    ovsEnv: cluster.ovsEnv, ovsDb: cluster.ovsDb, image: cluster.image,
  };
  writeFileSync(CLUSTER_STATE, JSON.stringify(info, null, 2));
}
