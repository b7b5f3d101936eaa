// Schema of Multus's NetworkAttachmentDefinition (k8s.cni.cncf.io/v1).
// Rules: shape only; `spec.config` is a JSON string, parsed by netconf.ts (`parseNetConf`).
// `spec` and `spec.config` are optional, as in Multus's CRD (config/crd/): an absent config is
// `''`, which Multus reads as "the configuration is in a file on the node".
import * as t from 'io-ts';
import { struct } from './primitives.js';
import { ObjectMeta, typeMeta } from './meta.js';

export const NetworkAttachmentDefinitionSpec = struct({}, { config: t.string });
export type NetworkAttachmentDefinitionSpec = t.TypeOf<typeof NetworkAttachmentDefinitionSpec>;

export const NetworkAttachmentDefinition = struct(
  { metadata: ObjectMeta },
  { ...typeMeta, spec: NetworkAttachmentDefinitionSpec },
);
export type NetworkAttachmentDefinition = t.TypeOf<typeof NetworkAttachmentDefinition>;
