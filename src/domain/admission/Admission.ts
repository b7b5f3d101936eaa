// The admission webhook's rules (DESIGN §1, §3.4; issue 12), pure: from the controller's view
// of the cluster (a Snapshot, which does not hold the object under admission yet) and one
// request to a decision. The webhook adapter only decodes the AdmissionReview and encodes the
// answer.
// Rules:
// - mutate, Pod CREATE only, always allowed: writes each static MAC of an IPAM-only attachment
//   into its element of `k8s.v1.cni.cncf.io/networks` (StaticMac.ts) with one JSON Patch
//   `replace`; no patch when nothing changes. Anything else: allowed, no patch.
// - validate, Pod CREATE and workload CREATE/UPDATE (apps/v1 Deployment, ReplicaSet,
//   StatefulSet, DaemonSet; batch/v1 Job, CronJob): the planner's errors for the pod or the
//   template, sorted into denials and warnings (Findings.ts, WorkloadChecks.ts). Denied when
//   anything is denied, with every denial joined by "; "; warnings either way. Never a patch.
// - An object the IPAM's schemas cannot read is allowed, with a warning saying it was not
//   checked: the API server has already validated it, and the controller reports what it
//   cannot serve.
// Cost: one pod is planned with planPod (this pod against every claim, no other pod planned);
// a workload's simulation rebuilds the claims once and plans only its own simulated pods.
import * as E from 'fp-ts/lib/Either.js';
import type { PlanOptions } from '../ClusterPlanner.js';
import type { Pod } from '../schema/kube.js';
import type { Snapshot } from '../Snapshot.js';
import { decodePod } from './AdmittedObject.js';
import type { Finding } from './Findings.js';
import { checkPod } from './Findings.js';
import { NETWORKS_PATH, networksWithStaticMacs } from './StaticMac.js';
import { decodeWorkload, workloadKindOf } from './Workload.js';
import { checkWorkload } from './WorkloadChecks.js';

export interface JsonPatchOp {
  readonly op: 'add' | 'replace';
  readonly path: string;
  readonly value: unknown;
}

/** What the webhook adapter extracts from an AdmissionReview v1 request. */
export interface AdmissionRequestView {
  readonly operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  readonly kind: { readonly group: string; readonly version: string; readonly kind: string };
  /** request.namespace */
  readonly namespace: string;
  /** request.name ('' when generateName is used) */
  readonly name: string;
  /** raw request.object (undecoded JSON) */
  readonly object: unknown;
}

export interface AdmissionDecision {
  readonly allowed: boolean;
  /** When denied: every denial, joined by '; '. */
  readonly message?: string;
  /** Admission warnings (kubectl prints them). */
  readonly warnings: readonly string[];
  /** Empty: no patch. */
  readonly patch: readonly JsonPatchOp[];
}

const allowed = (warnings: readonly string[] = [], patch: readonly JsonPatchOp[] = []): AdmissionDecision => ({ allowed: true, warnings, patch });

const isPod = (req: AdmissionRequestView): boolean => req.kind.group === '' && req.kind.kind === 'Pod';

const unchecked = (what: string, why: string): AdmissionDecision => allowed([`kube-ovn-ipam did not check this ${what}: ${why}`]);

const servedByIpam = (pod: Pod): boolean => pod.spec.hostNetwork !== true;

/** Pod CREATE: the networks annotation with every static MAC of an IPAM-only attachment. */
export const mutate = (snapshot: Snapshot, req: AdmissionRequestView): AdmissionDecision => {
  if (req.operation !== 'CREATE' || !isPod(req)) return allowed();
  const pod = decodePod(req);
  if (E.isLeft(pod) || !servedByIpam(pod.right)) return allowed();
  const value = networksWithStaticMacs(snapshot, pod.right);
  return allowed([], value === undefined ? [] : [{ op: 'replace', path: NETWORKS_PATH, value }]);
};

const unique = (messages: readonly string[]): readonly string[] => [...new Set(messages)];

const decide = (findings: readonly Finding[]): AdmissionDecision => {
  const denials = unique(findings.filter((f) => f.verdict === 'deny').map((f) => f.message));
  const warnings = unique(findings.filter((f) => f.verdict === 'warn').map((f) => f.message));
  return denials.length === 0 ? allowed(warnings) : { allowed: false, message: denials.join('; '), warnings, patch: [] };
};

/** Pod CREATE and workload CREATE/UPDATE: deny what would fail later, warn about what may. */
export const validate = (snapshot: Snapshot, req: AdmissionRequestView, options: PlanOptions): AdmissionDecision => {
  if (isPod(req)) {
    if (req.operation !== 'CREATE') return allowed();
    const pod = decodePod(req);
    if (E.isLeft(pod)) return unchecked('Pod', pod.left);
    return servedByIpam(pod.right) ? decide(checkPod(snapshot, pod.right, options)) : allowed();
  }
  const kind = workloadKindOf(req.kind);
  if (kind === undefined || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return allowed();
  const workload = decodeWorkload(req, kind);
  if (E.isLeft(workload)) return unchecked(kind, workload.left);
  return decide(checkWorkload(snapshot, workload.right, options));
};
