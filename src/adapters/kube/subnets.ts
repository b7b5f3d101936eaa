// Creating a Subnet that must exist (the controller's default Subnet, Kube-OVN's
// --default-ls/--default-cidr), through the REST chokepoint of rest.ts.
//
// Rules: an existing Subnet of that name is never modified, whatever its spec (a user's or a
// previous version's edit wins); the answer says which happened. Reading first keeps the common
// restart path a GET; a 409 on create (another writer in between) is "exists" too.
import { KubeApiError } from '../../effects/ports.js';
import type { Request } from './rest.js';

export interface SubnetToEnsure {
  readonly name: string;
  readonly spec: Readonly<Record<string, unknown>>;
}

export type EnsureOutcome =
  | { readonly type: 'created' }
  /** The spec's cidrBlock of the Subnet found, when it has one. */
  | { readonly type: 'exists'; readonly cidrBlock: string | undefined };

const SUBNETS = '/apis/kubeovn.io/v1/subnets';

const cidrOf = (obj: unknown): string | undefined => {
  const spec = typeof obj === 'object' && obj !== null ? (obj as { readonly spec?: unknown }).spec : undefined;
  const cidr = typeof spec === 'object' && spec !== null ? (spec as { readonly cidrBlock?: unknown }).cidrBlock : undefined;
  return typeof cidr === 'string' ? cidr : undefined;
};

/** Creates `subnet` unless a Subnet of its name exists; rejects with a KubeApiError. */
export async function ensureSubnet(request: Request, subnet: SubnetToEnsure, signal?: AbortSignal): Promise<EnsureOutcome> {
  const opts = signal === undefined ? {} : { signal };
  try {
    const existing = await request('GET', `${SUBNETS}/${encodeURIComponent(subnet.name)}`, opts);
    return { type: 'exists', cidrBlock: cidrOf(existing) };
  } catch (err) {
    if (!(err instanceof KubeApiError && err.kind === 'NotFound')) throw err;
  }
  try {
    await request('POST', SUBNETS, {
      ...opts,
      body: { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: subnet.name }, spec: subnet.spec },
    });
    return { type: 'created' };
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === 'Conflict') return { type: 'exists', cidrBlock: undefined };
    throw err;
  }
}
