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
//   At most MAX_LISTED denials and warnings, then `… and N more`.
// - An object the IPAM's schemas cannot read is allowed, with a warning saying it was not
//   checked: the API server has already validated it, and the controller reports what it
//   cannot serve.
// Cost: `validate` plans one pod with planPod (this pod against every claim, no other pod
// planned), and a workload's simulation rebuilds the claims once: O(n) per request.
// `validateWith` gives the same decision from a state prepared once from the snapshot
// (prepareAdmission, Prepared.ts): per request only the object under admission is resolved
// and planned, in a Draft over the prepared claims, O(log n); the prepared state is shared by
// requests and never changed. What it cannot answer that way (a pod the cluster already knows
// by name, a workload's template beside its own pods) it answers as `validate` does.
import * as E from 'fp-ts/lib/Either.js';
import type { PlanOptions } from '../ClusterPlanner.js';
import type { Pod } from '../schema/kube.js';
import type { Snapshot } from '../Snapshot.js';
import { decodePod } from './AdmittedObject.js';
import type { Finding } from './Findings.js';
import { checkPod, checkPodWith } from './Findings.js';
import type { AdmissionState } from './Prepared.js';
import { NETWORKS_PATH, networksWithStaticMacs } from './StaticMac.js';
import type { Workload } from './Workload.js';
import { decodeWorkload, workloadKindOf } from './Workload.js';
import { checkWorkload, checkWorkloadWith } from './WorkloadChecks.js';

export type { AdmissionState } from './Prepared.js';
export { prepareAdmission } from './Prepared.js';

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

/** Denials and warnings listed, at most: a workload of 10,000 simulated pods that all stall
 *  would otherwise answer 10,000 warnings (megabytes the API server and kubectl must carry). */
export const MAX_LISTED = 20;

/** The first MAX_LISTED messages, then one that counts the rest. */
const capped = (messages: readonly string[]): readonly string[] =>
  messages.length <= MAX_LISTED ? messages : [...messages.slice(0, MAX_LISTED), `… and ${messages.length - MAX_LISTED} more`];

const decide = (findings: readonly Finding[]): AdmissionDecision => {
  const denials = capped(unique(findings.filter((f) => f.verdict === 'deny').map((f) => f.message)));
  const warnings = capped(unique(findings.filter((f) => f.verdict === 'warn').map((f) => f.message)));
  return denials.length === 0 ? allowed(warnings) : { allowed: false, message: denials.join('; '), warnings, patch: [] };
};

/** How a decision checks one pod and one workload: against the snapshot, or a prepared state. */
interface Checks {
  readonly pod: (pod: Pod) => readonly Finding[];
  readonly workload: (w: Workload) => readonly Finding[];
}

const validateBy = (checks: Checks, req: AdmissionRequestView): AdmissionDecision => {
  if (isPod(req)) {
    if (req.operation !== 'CREATE') return allowed();
    const pod = decodePod(req);
    if (E.isLeft(pod)) return unchecked('Pod', pod.left);
    return servedByIpam(pod.right) ? decide(checks.pod(pod.right)) : allowed();
  }
  const kind = workloadKindOf(req.kind);
  if (kind === undefined || (req.operation !== 'CREATE' && req.operation !== 'UPDATE')) return allowed();
  const workload = decodeWorkload(req, kind);
  if (E.isLeft(workload)) return unchecked(kind, workload.left);
  return decide(checks.workload(workload.right));
};

/** Pod CREATE and workload CREATE/UPDATE: deny what would fail later, warn about what may. */
export const validate = (snapshot: Snapshot, req: AdmissionRequestView, options: PlanOptions): AdmissionDecision =>
  validateBy({ pod: (p) => checkPod(snapshot, p, options), workload: (w) => checkWorkload(snapshot, w, options) }, req);

/** `validate`'s decision, from `prepared` = prepareAdmission(snapshot, …) (see the header). */
export const validateWith = (prepared: AdmissionState, snapshot: Snapshot, req: AdmissionRequestView, options: PlanOptions): AdmissionDecision =>
  validateBy({ pod: (p) => checkPodWith(prepared, snapshot, p, options), workload: (w) => checkWorkloadWith(prepared, snapshot, w, options) }, req);
