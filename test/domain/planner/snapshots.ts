// Snapshot builders for planner tests: the seed's examples (verbatim) plus YAML written inline.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
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
