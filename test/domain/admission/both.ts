// `validate` and `validateWith` side by side: every row of the validatePod and
// validateWorkload tables goes through `validated`, which checks that the prepared path gives
// the very decision the full path gives, twice in a row from one prepared state (a request
// never changes the state it was answered from), and returns that decision.
import { expect } from '@jest/globals';
import type { AdmissionDecision, AdmissionRequestView } from '../../../src/domain/admission/Admission.js';
import { prepareAdmission, validate, validateWith } from '../../../src/domain/admission/Admission.js';
import type { PlanOptions } from '../../../src/domain/ClusterPlanner.js';
import type { Snapshot } from '../../../src/domain/Snapshot.js';

export const validated = (snapshot: Snapshot, req: AdmissionRequestView, options: PlanOptions): AdmissionDecision => {
  const full = validate(snapshot, req, options);
  const prepared = prepareAdmission(snapshot, options);
  expect(validateWith(prepared, snapshot, req, options)).toEqual(full);
  expect(validateWith(prepared, snapshot, req, options)).toEqual(full);
  return full;
};
