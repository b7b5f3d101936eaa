// The cluster-side capabilities the controller writes through, built one way for every command
// that writes what a plan says (`controller`, `audit --fix`): the API server's REST chokepoint
// and the Kube port over it, and, when an OVN northbound database is named, the Ovn port.
import type { KubeConfig } from '@kubernetes/client-node';
import { kubeOver } from '../adapters/kube/kube.js';
import { makeRest, type Request } from '../adapters/kube/rest.js';
import { makeOvn } from '../adapters/ovn.js';
import type { Kube, Log, Ovn } from '../effects/ports.js';

/** Is `text` an OVSDB address `--ovn-nb` accepts (`unix:…`, `tcp:…`, `ssl:…`)? */
export const isOvsdbAddress = (text: string): boolean => /^(unix|tcp|ssl):\S+$/.test(text);

/** The REST chokepoint (every request aborted by `signal`, when given), the Kube port, and the
 *  Ovn port when `ovnNb` is not empty. */
export const clusterPorts = (
  kc: KubeConfig, ovnNb: string, log: Log, signal?: AbortSignal,
): { readonly request: Request; readonly kube: Kube; readonly ovn: Ovn | undefined } => {
  const request = makeRest(kc, signal === undefined ? {} : { signal });
  return { request, kube: kubeOver(request), ovn: ovnNb === '' ? undefined : makeOvn({ db: ovnNb, log }) };
};
