// Reads, once, every object a plan needs from a live cluster (for `plan --kubeconfig`): the
// watched kinds plus Deployments, each listed in pages. A kind the cluster does not serve
// (a missing CRD: 404) reads as empty. Objects come back as documents with origin `cluster`.
import type { KubeConfig } from '@kubernetes/client-node';
import type { RawDocument } from '../domain/Snapshot.js';
import { KubeApiError } from '../effects/ports.js';
import { makeRest } from './kube/rest.js';
import { WATCH_PATHS } from './kube/watcher.js';

const paths: readonly [string, string, string][] = [
  ...Object.entries(WATCH_PATHS).map(([kind, path]): [string, string, string] => [kind, path, kindName(kind)]),
  ['deployments', '/apis/apps/v1/deployments', 'Deployment'],
];

/** The `kind` of the objects listed at a WATCH_PATHS key (`pods` → `Pod`). */
export function kindName(kind: string): string {
  return { pods: 'Pod', namespaces: 'Namespace', subnets: 'Subnet', ips: 'IP', ippools: 'IPPool', nads: 'NetworkAttachmentDefinition', statefulsets: 'StatefulSet', replicasets: 'ReplicaSet', virtualmachines: 'VirtualMachine', virtualmachineinstances: 'VirtualMachineInstance' }[kind] ?? kind;
}

interface ListBody {
  readonly apiVersion?: string;
  readonly items?: readonly Record<string, unknown>[];
  readonly metadata?: { readonly continue?: string };
}

export const readCluster = async (kc: KubeConfig): Promise<RawDocument[]> => {
  const request = makeRest(kc);
  const docs: RawDocument[] = [];
  for (const [, path, kind] of paths) {
    let next: string | undefined;
    do {
      let body: ListBody;
      try {
        body = (await request('GET', path, { query: { limit: 500, continue: next } })) as ListBody;
      } catch (err) {
        if (err instanceof KubeApiError && err.kind === 'NotFound') break;
        throw err;
      }
      const apiVersion = body.apiVersion ?? 'v1';
      for (const item of body.items ?? []) docs.push({ origin: { file: 'cluster', document: docs.length }, value: { apiVersion, kind, ...item } });
      next = body.metadata?.continue || undefined;
    } while (next !== undefined);
  }
  return docs;
};
