// Snapshot builders for planner tests: the seed's examples (verbatim), YAML written inline and
// objects given as data; and small readers of plans (annotations after a patch, action lists).
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Action, Plan } from '../../../src/domain/Plan.js';
import type { RawDocument, Snapshot } from '../../../src/domain/Snapshot.js';
import { buildSnapshot } from '../../../src/domain/Snapshot.js';

export const seedDir = new URL('../../../../shared/seed/examples/', import.meta.url);

export const docsOf = (file: string, text: string): RawDocument[] =>
  parseAllDocuments(text).map((doc, document) => ({ origin: { file, document }, value: doc.toJS() as unknown }));

export const seed = (name: string): RawDocument[] => docsOf(name, readFileSync(new URL(name, seedDir), 'utf8'));

export const inline = (text: string): RawDocument[] => docsOf('inline.yaml', text);

export const snapshotOf = (...docs: RawDocument[][]): Snapshot => {
  const { snapshot, problems } = buildSnapshot(docs.flat());
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'));
  return snapshot;
};

export const subnetYaml = (name: string, cidrBlock: string, provider = 'ovn', extra = ''): string => `
apiVersion: kubeovn.io/v1
kind: Subnet
metadata: {name: ${name}}
spec:
  cidrBlock: ${cidrBlock}
  provider: ${provider}
${extra}
---
`;

export const ovnDefault = (cidr = '10.16.0.0/16') => inline(subnetYaml('ovn-default', cidr));

// ---- Objects as data, and reading plans ------------------------------------------------------

/** Documents from plain objects (one per value), as a file would give them. */
export const objects = (file: string, ...values: unknown[]): RawDocument[] => values.map((value, document) => ({ origin: { file, document }, value }));

export interface PodOptions {
  readonly namespace?: string;
  readonly uid?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly nodeName?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly phase?: string;
  /** An owning StatefulSet (apps/v1). */
  readonly statefulSet?: { readonly name: string; readonly uid: string };
}

export const podObject = (name: string, o: PodOptions = {}): unknown => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: o.namespace ?? 'default',
    ...(o.uid !== undefined && { uid: o.uid }),
    ...(o.creationTimestamp !== undefined && { creationTimestamp: o.creationTimestamp }),
    ...(o.deletionTimestamp !== undefined && { deletionTimestamp: o.deletionTimestamp }),
    ...(o.labels !== undefined && { labels: o.labels }),
    annotations: o.annotations ?? {},
    ...(o.statefulSet !== undefined && { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: o.statefulSet.name, uid: o.statefulSet.uid }] }),
  },
  spec: o.nodeName !== undefined ? { nodeName: o.nodeName } : {},
  ...(o.phase !== undefined && { status: { phase: o.phase } }),
});

export const pod = (name: string, o: PodOptions = {}): RawDocument[] => objects(`pod-${name}.yaml`, podObject(name, o));

export interface IpOptions {
  readonly namespace?: string;
  readonly podUid?: string;
  readonly mac?: string;
  readonly nodeName?: string;
  readonly podType?: string;
}

/** An IP object as the controller writes it (labels and finalizer included). */
export const ipObject = (name: string, podName: string, subnet: string, address: string, o: IpOptions = {}): unknown => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'IP',
  metadata: {
    name,
    finalizers: ['kube-ovn-ipam.io/ip'],
    labels: {
      'ovn.kubernetes.io/subnet': subnet,
      ...(o.nodeName !== undefined && o.nodeName !== '' && { 'ovn.kubernetes.io/node-name': o.nodeName }),
      ...(o.podUid !== undefined && { 'ipam.kube-ovn.io/pod-uid': o.podUid }),
    },
  },
  spec: {
    podName, namespace: o.namespace ?? 'default', subnet, nodeName: o.nodeName ?? '',
    ipAddress: address, v4IpAddress: address.includes(':') ? '' : address, v6IpAddress: address.includes(':') ? address : '',
    macAddress: o.mac ?? '', containerID: '', podType: o.podType ?? '',
  },
});

export const ip = (name: string, podName: string, subnet: string, address: string, o: IpOptions = {}): RawDocument[] =>
  objects(`ip-${name}.yaml`, ipObject(name, podName, subnet, address, o));

export const statefulSetObject = (name: string, replicas: number, annotations: Readonly<Record<string, string>>, uid = `uid-${name}`): unknown => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name, namespace: 'default', uid },
  spec: { replicas, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name }, annotations } } },
});

export const deploymentObject = (name: string, replicas: number, annotations: Readonly<Record<string, string>>, strategy: 'Recreate' | 'RollingUpdate' = 'RollingUpdate'): unknown => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: { replicas, strategy: { type: strategy }, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name }, annotations } } },
});

export const nadObject = (name: string, config: unknown, namespace = 'default'): unknown => ({
  apiVersion: 'k8s.cni.cncf.io/v1',
  kind: 'NetworkAttachmentDefinition',
  metadata: { name, namespace },
  spec: { config: JSON.stringify(config) },
});

export const subnetObject = (name: string, cidrBlock: string, provider = 'ovn', extra: Readonly<Record<string, unknown>> = {}): unknown => ({
  apiVersion: 'kubeovn.io/v1',
  kind: 'Subnet',
  metadata: { name },
  spec: { cidrBlock, provider, ...extra },
});

/** A pod's annotations after the plan's PatchPodAnnotations for it (merge; null deletes). */
export const annotationsAfter = (snapshot: Snapshot, plan: Plan, podKey: string): Record<string, string> => {
  const result: Record<string, string> = { ...(snapshot.pods.get(podKey)?.object.metadata.annotations ?? {}) };
  for (const a of plan.actions) {
    if (a.type !== 'PatchPodAnnotations' || a.target !== podKey) continue;
    for (const [k, v] of Object.entries(a.annotations)) {
      if (v === null) delete result[k];
      else result[k] = v;
    }
  }
  return result;
};

/** `type target` of every action, in order: the shape of a plan at a glance. */
export const actionList = (plan: Plan): string[] => plan.actions.map((a) => `${a.type} ${a.target}`);

/** The actions of one type. */
export const actionsOfType = <T extends Action['type']>(plan: Plan, type: T): Extract<Action, { type: T }>[] =>
  plan.actions.filter((a): a is Extract<Action, { type: T }> => a.type === type);

/** The EmitEvent action the planner gives for an error of a real pod. */
export const warningFor = (target: string, reason: string, message: string, code: string): Action => ({
  type: 'EmitEvent', target, reason: message, event: { type: 'Warning', reason, message: `${code}: ${message}` },
});
