// Admission requests for the domain's webhook rules: the view the adapter extracts from an
// AdmissionReview v1, built from the seed's examples or from objects given as data.
import type { AdmissionRequestView } from '../../../src/domain/admission/Admission.js';
import type { RawDocument } from '../../../src/domain/Snapshot.js';

type Operation = AdmissionRequestView['operation'];

const groupVersion = (apiVersion: string): { group: string; version: string } => {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
};

/** The request for `object` (its apiVersion and kind name the resource), as the API server sends it. */
export const requestFor = (object: unknown, operation: Operation = 'CREATE'): AdmissionRequestView => {
  const o = object as { apiVersion: string; kind: string; metadata?: { name?: string; namespace?: string } };
  return {
    operation,
    kind: { ...groupVersion(o.apiVersion), kind: o.kind },
    namespace: o.metadata?.namespace ?? 'default',
    name: o.metadata?.name ?? '',
    object,
  };
};

/** The one document of a seed file (or of inline YAML) as a request. */
export const requestOf = (docs: readonly RawDocument[], operation: Operation = 'CREATE'): AdmissionRequestView => requestFor(docs[0]!.value, operation);
