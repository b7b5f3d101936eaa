// Where the controller's cluster credentials come from.
//
// Rules: an explicit path wins; inside a pod (KUBERNETES_SERVICE_HOST set) the service account;
// otherwise client-node's default search ($KUBECONFIG, then ~/.kube/config). Loading does no
// network I/O; a bad file throws here, at start, naming the file.
import { KubeConfig } from '@kubernetes/client-node';

/** The KubeConfig to talk to the cluster with (see the rules above). */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined && path !== '') {
    kc.loadFromFile(path);
  } else if ((process.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '') {
    kc.loadFromCluster();
  } else {
    kc.loadFromDefault();
  }
  return kc;
}
