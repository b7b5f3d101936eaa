// Schemas of the built-in Kubernetes kinds the IPAM reads: Pod, Namespace, and the workload
// controllers whose pod templates carry network annotations (Deployment, ReplicaSet,
// StatefulSet).
// Rules: shape only, and only the fields the IPAM uses; everything else passes unread.
// A workload's `spec.template` is required (the API server requires it too).
import * as t from 'io-ts';
import { integer, intOrString, struct } from './primitives.js';
import { LabelSelector, ObjectMeta, TemplateMeta, typeMeta } from './meta.js';

export const PodSpec = struct({}, { nodeName: t.string, hostNetwork: t.boolean });
export type PodSpec = t.TypeOf<typeof PodSpec>;

export const PodStatus = struct({}, { phase: t.string, podIP: t.string });
export type PodStatus = t.TypeOf<typeof PodStatus>;

export const Pod = struct({ metadata: ObjectMeta, spec: PodSpec }, { ...typeMeta, status: PodStatus });
export type Pod = t.TypeOf<typeof Pod>;

export const Namespace = struct({ metadata: ObjectMeta }, typeMeta);
export type Namespace = t.TypeOf<typeof Namespace>;

export const PodTemplate = struct({}, { metadata: TemplateMeta });
export type PodTemplate = t.TypeOf<typeof PodTemplate>;

export const RollingUpdateDeployment = struct({}, { maxSurge: intOrString, maxUnavailable: intOrString });
export type RollingUpdateDeployment = t.TypeOf<typeof RollingUpdateDeployment>;

export const DeploymentStrategy = struct({}, { type: t.string, rollingUpdate: RollingUpdateDeployment });
export type DeploymentStrategy = t.TypeOf<typeof DeploymentStrategy>;

export const DeploymentSpec = struct(
  { template: PodTemplate },
  { replicas: integer, selector: LabelSelector, strategy: DeploymentStrategy },
);
export type DeploymentSpec = t.TypeOf<typeof DeploymentSpec>;

export const Deployment = struct({ metadata: ObjectMeta, spec: DeploymentSpec }, typeMeta);
export type Deployment = t.TypeOf<typeof Deployment>;

export const ReplicaSetSpec = struct({ template: PodTemplate }, { replicas: integer, selector: LabelSelector });
export type ReplicaSetSpec = t.TypeOf<typeof ReplicaSetSpec>;

export const ReplicaSet = struct({ metadata: ObjectMeta, spec: ReplicaSetSpec }, typeMeta);
export type ReplicaSet = t.TypeOf<typeof ReplicaSet>;

export const StatefulSetOrdinals = struct({}, { start: integer });
export type StatefulSetOrdinals = t.TypeOf<typeof StatefulSetOrdinals>;

export const StatefulSetSpec = struct(
  { template: PodTemplate },
  { replicas: integer, selector: LabelSelector, ordinals: StatefulSetOrdinals },
);
export type StatefulSetSpec = t.TypeOf<typeof StatefulSetSpec>;

export const StatefulSet = struct({ metadata: ObjectMeta, spec: StatefulSetSpec }, typeMeta);
export type StatefulSet = t.TypeOf<typeof StatefulSet>;
