// The NodeKube port (src/effects/nodePorts.ts): the daemon's one write, through the REST
// chokepoint of src/adapters/kube/rest.ts. A JSON merge patch touches only the fields it names,
// so it never fights the controller over the rest of the IP object.
import { NODE_LABEL } from '../../domain/Records.js';
import type { NodeKube } from '../../effects/nodePorts.js';
import type { Request } from '../kube/rest.js';

export function makeNodeKube(request: Request): NodeKube {
  return {
    setIpNode: async (ipName, nodeName) => {
      await request('PATCH', `/apis/kubeovn.io/v1/ips/${encodeURIComponent(ipName)}`, {
        contentType: 'application/merge-patch+json',
        body: { metadata: { labels: { [NODE_LABEL]: nodeName } }, spec: { nodeName } },
      });
    },
  };
}
