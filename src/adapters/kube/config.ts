// Where the cluster credentials come from.
//
// Rules: an explicit path wins; inside a pod (KUBERNETES_SERVICE_HOST set) the service account;
// otherwise client-node's default search ($KUBECONFIG, then ~/.kube/config). Loading does no
// network I/O. A file that cannot be read or parsed, or that names no current cluster, is a
// one-line problem naming the file (readKubeConfig), which the commands print before exiting 2.
import { KubeConfig } from '@kubernetes/client-node';
import * as E from 'fp-ts/lib/Either.js';

/** The KubeConfig to talk to the cluster with (see the rules above), or what is wrong with it. */
export function readKubeConfig(path?: string): E.Either<string, KubeConfig> {
  const kc = new KubeConfig();
  const [source, load] = path !== undefined && path !== '' ? [`kubeconfig ${path}`, () => kc.loadFromFile(path)]
    : (process.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' ? ['the in-cluster service account', () => kc.loadFromCluster()]
    : ['the default kubeconfig ($KUBECONFIG, else ~/.kube/config)', () => kc.loadFromDefault()];
  try {
    load();
  } catch (err) {
    // One line: a YAML parser's message spans several.
    const message = typeof err === 'object' && err !== null && 'message' in err ? String(err.message) : String(err);
    return E.left(`cannot read ${source}: ${message.split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ')}`);
  }
  const cluster = kc.getCurrentCluster();
  const context = kc.getCurrentContext();
  if (cluster === null || cluster.server === '') return E.left(`${source} names no cluster to talk to (${context ? `current-context ${JSON.stringify(context)}` : 'no current-context'})`);
  return E.right(kc);
}

/** readKubeConfig for tests and wiring that cannot go on without one: throws the problem. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = readKubeConfig(path);
  if (E.isLeft(kc)) throw new Error(kc.left);
  return kc.right;
}
