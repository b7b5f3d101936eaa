// The workloads whose pod templates the validating webhook checks (issue 12): apps/v1
// Deployment, ReplicaSet, StatefulSet, DaemonSet; batch/v1 Job, CronJob (its template is
// `spec.jobTemplate.spec.template`).
// Rules:
// - Deployment, ReplicaSet and StatefulSet decode with the snapshot's own schemas (the planner
//   simulates their pods); DaemonSet, Job and CronJob, which the snapshot does not hold, with the
//   few fields read here. Shape only, every other field passes unread.
// - More than one pod at once: replicas > 1 (default 1) for a Deployment, ReplicaSet or
//   StatefulSet; always for a DaemonSet (one per node); parallelism or completions > 1 for a Job
//   and for the Jobs of a CronJob.
// - The workload's own pods are those its selector (else its template's labels) selects in its
//   namespace; a ReplicaSet made by a Deployment drops `pod-template-hash` from its selector so
//   its siblings (the Deployment's other ReplicaSets) count as its own too.
import type * as t from 'io-ts';
import * as E from 'fp-ts/lib/Either.js';
import { decodeObject } from '../schema/decode.js';
import type { Deployment, ReplicaSet, StatefulSet } from '../schema/kube.js';
import { PodTemplate } from '../schema/kube.js';
import type { LabelSelector, TemplateMeta } from '../schema/meta.js';
import { LabelSelector as LabelSelectorCodec, ObjectMeta, TemplateMeta as TemplateMetaCodec, typeMeta } from '../schema/meta.js';
import { integer, struct } from '../schema/primitives.js';
import type { SnapshotKind } from '../Snapshot.js';
import type { Decoded, RequestedObject } from './AdmittedObject.js';
import { completed, decodeAdmitted } from './AdmittedObject.js';

export type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

const groups: Readonly<Record<WorkloadKind, string>> = {
  Deployment: 'apps', ReplicaSet: 'apps', StatefulSet: 'apps', DaemonSet: 'apps', Job: 'batch', CronJob: 'batch',
};

export const workloadKindOf = (kind: { readonly group: string; readonly kind: string }): WorkloadKind | undefined =>
  Object.prototype.hasOwnProperty.call(groups, kind.kind) && groups[kind.kind as WorkloadKind] === kind.group ? (kind.kind as WorkloadKind) : undefined;

export interface Workload {
  readonly kind: WorkloadKind;
  readonly namespace: string;
  readonly name: string;
  /** `Deployment default/web` */
  readonly title: string;
  /** The pod template's labels and annotations. */
  readonly template: TemplateMeta;
  /** The template asks for the host's network: the IPAM serves none of its pods. */
  readonly hostNetwork: boolean;
  /** Who runs at once when more than one pod may, in words (`the 3 replicas of …`). */
  readonly many: string | undefined;
  /** Selects the workload's own pods (which make way for the template's). */
  readonly ownPods: LabelSelector | undefined;
  /** Deployment, ReplicaSet, StatefulSet: the object as the snapshot would hold it. */
  readonly stored: Decoded<unknown> | undefined;
}

const JobSpec = struct({ template: PodTemplate }, { parallelism: integer, completions: integer, selector: LabelSelectorCodec });
type JobSpec = t.TypeOf<typeof JobSpec>;

const DaemonSet = struct({ metadata: ObjectMeta, spec: struct({ template: PodTemplate }, { selector: LabelSelectorCodec }) }, typeMeta);
const Job = struct({ metadata: ObjectMeta, spec: JobSpec }, typeMeta);
const CronJob = struct({ metadata: ObjectMeta, spec: struct({ jobTemplate: struct({ spec: JobSpec }, { metadata: TemplateMetaCodec }) }, {}) }, typeMeta);

const storedKinds: Readonly<Partial<Record<WorkloadKind, SnapshotKind>>> = { Deployment: 'deployments', ReplicaSet: 'replicasets', StatefulSet: 'statefulsets' };

const field = (value: unknown, ...path: readonly string[]): unknown =>
  path.reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined), value);

const templatePath = (kind: WorkloadKind): readonly string[] => (kind === 'CronJob' ? ['spec', 'jobTemplate', 'spec', 'template'] : ['spec', 'template']);

const bySelector = (selector: LabelSelector | undefined, template: TemplateMeta): LabelSelector | undefined =>
  selector ?? (template.labels === undefined ? undefined : { matchLabels: template.labels });

/** A Deployment's ReplicaSet selects its own revision's pods; the Deployment's are all its own. */
const withoutRevision = (selector: LabelSelector | undefined): LabelSelector | undefined => {
  if (selector?.matchLabels === undefined) return selector;
  const { 'pod-template-hash': _revision, ...rest } = selector.matchLabels;
  return { ...selector, matchLabels: rest };
};

const jobPods = (spec: JobSpec, whose: string): string | undefined => {
  const counts = [spec.parallelism !== undefined && `parallelism ${spec.parallelism}`, spec.completions !== undefined && `completions ${spec.completions}`].filter((x): x is string => x !== false);
  return (spec.parallelism ?? 1) > 1 || (spec.completions ?? 1) > 1 ? `the pods of ${whose} (${counts.join(', ')})` : undefined;
};

type Facts = Pick<Workload, 'template' | 'many' | 'ownPods' | 'stored'>;

const replicated = (decoded: Decoded<unknown>, kind: WorkloadKind, title: string): Facts => {
  const object = decoded.entry.object as Deployment | ReplicaSet | StatefulSet;
  const template = object.spec.template.metadata ?? {};
  const replicas = object.spec.replicas ?? 1;
  const ownedByDeployment = kind === 'ReplicaSet' && (object.metadata.ownerReferences ?? []).some((o) => o.kind === 'Deployment');
  const selector = bySelector(object.spec.selector, template);
  return {
    template,
    many: replicas > 1 ? `the ${replicas} replicas of ${title}` : undefined,
    ownPods: ownedByDeployment ? withoutRevision(selector) : selector,
    stored: decoded,
  };
};

const factsOf = (req: RequestedObject, kind: WorkloadKind, title: string): E.Either<string, Facts> => {
  const stored = storedKinds[kind];
  if (stored !== undefined) return E.map((d: Decoded<unknown>) => replicated(d, kind, title))(decodeAdmitted<unknown>(req, stored));
  const raw = completed(req);
  const failed = (f: { readonly message: string }) => f.message;
  switch (kind) {
    case 'DaemonSet':
      return E.bimap(failed, (d: t.TypeOf<typeof DaemonSet>): Facts => {
        const template = d.spec.template.metadata ?? {};
        return { template, many: `the pods of ${title} (one per node)`, ownPods: bySelector(d.spec.selector, template), stored: undefined };
      })(decodeObject(DaemonSet, raw, title));
    case 'Job':
      return E.bimap(failed, (d: t.TypeOf<typeof Job>): Facts => {
        const template = d.spec.template.metadata ?? {};
        return { template, many: jobPods(d.spec, title), ownPods: bySelector(d.spec.selector, template), stored: undefined };
      })(decodeObject(Job, raw, title));
    default:
      return E.bimap(failed, (d: t.TypeOf<typeof CronJob>): Facts => {
        const spec = d.spec.jobTemplate.spec;
        const template = spec.template.metadata ?? {};
        return { template, many: jobPods(spec, `each Job of ${title}`), ownPods: bySelector(spec.selector, template), stored: undefined };
      })(decodeObject(CronJob, raw, title));
  }
};

/** Decodes the workload under admission, or says why it cannot be read. */
export const decodeWorkload = (req: RequestedObject, kind: WorkloadKind): E.Either<string, Workload> => {
  const raw = completed(req);
  const namespace = field(raw, 'metadata', 'namespace') as string;
  const name = field(raw, 'metadata', 'name') as string;
  const title = `${kind} ${namespace}/${name}`;
  const hostNetwork = field(raw, ...templatePath(kind), 'spec', 'hostNetwork') === true;
  return E.map((facts: Facts): Workload => ({ kind, namespace, name, title, hostNetwork, ...facts }))(factsOf(req, kind, title));
};
