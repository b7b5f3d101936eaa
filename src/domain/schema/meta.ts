// Schemas of the pieces Kubernetes objects share: ObjectMeta (a subset), owner references,
// label selectors, status conditions, and the metadata of a pod template.
// Rules: shape only (types and presence); what a value means is checked where it is used.
// `metadata.name` is required on stored objects; a template's metadata has no name.
import * as t from 'io-ts';
import { strings, stringMap, struct } from './primitives.js';

export const OwnerReference = struct(
  { apiVersion: t.string, kind: t.string, name: t.string, uid: t.string },
  { controller: t.boolean, blockOwnerDeletion: t.boolean },
);
export type OwnerReference = t.TypeOf<typeof OwnerReference>;

export const ObjectMeta = struct(
  { name: t.string },
  {
    namespace: t.string,
    uid: t.string,
    resourceVersion: t.string,
    creationTimestamp: t.string,
    deletionTimestamp: t.string,
    labels: stringMap,
    annotations: stringMap,
    ownerReferences: t.readonlyArray(OwnerReference),
    finalizers: strings,
  },
);
export type ObjectMeta = t.TypeOf<typeof ObjectMeta>;

/** The metadata of a pod template (Deployment, ReplicaSet, StatefulSet). */
export const TemplateMeta = struct({}, { labels: stringMap, annotations: stringMap });
export type TemplateMeta = t.TypeOf<typeof TemplateMeta>;

export const LabelSelectorRequirement = struct({ key: t.string, operator: t.string }, { values: strings });
export type LabelSelectorRequirement = t.TypeOf<typeof LabelSelectorRequirement>;

export const LabelSelector = struct({}, {
  matchLabels: stringMap,
  matchExpressions: t.readonlyArray(LabelSelectorRequirement),
});
export type LabelSelector = t.TypeOf<typeof LabelSelector>;

export const Condition = struct(
  { type: t.string, status: t.string },
  { reason: t.string, message: t.string, lastUpdateTime: t.string, lastTransitionTime: t.string },
);
export type Condition = t.TypeOf<typeof Condition>;

/** `apiVersion` and `kind`: optional, because list responses leave them out of their items. */
export const typeMeta = { apiVersion: t.string, kind: t.string } as const;
