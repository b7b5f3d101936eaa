// The node daemon's errors (a tagged union: STYLE rule 3) and how each reaches the CNI plugin:
// an HTTP status and a CniResponse with the spec's code (DESIGN §3.6).
import type { NodeError } from '../domain/cni/NodePlanner.js';
import type { CniResponse } from '../domain/cni/Protocol.js';
import { CniCode } from '../domain/cni/Protocol.js';

/** The plugin's code for a failed CHECK (a plugin-specific code, as the spec allows: >= 100). */
const CHECK_FAILED = 100;

export type DaemonError =
  | NodeError
  | { readonly code: 'NotAllocated'; readonly message: string }
  | { readonly code: 'PlumbingFailed'; readonly message: string }
  | { readonly code: 'Unavailable'; readonly message: string }
  | { readonly code: 'CheckFailed'; readonly message: string };

/** The HTTP status and the CniResponse of an error. */
export const cniErrorOf = (e: DaemonError): { readonly status: number; readonly response: CniResponse } => {
  switch (e.code) {
    case 'InvalidRequest':
    case 'UnknownProvider':
      return { status: 400, response: { error: e.message, code: CniCode.InvalidConfig } };
    case 'InvalidAllocation':
      return { status: 500, response: { error: e.message, code: CniCode.InvalidConfig } };
    case 'NotAllocated':
    case 'PlumbingFailed':
      return { status: 500, response: { error: e.message, code: CniCode.TryAgainLater } };
    case 'Unavailable':
      return { status: 503, response: { error: e.message, code: CniCode.TryAgainLater } };
    case 'CheckFailed':
      return { status: 409, response: { error: e.message, code: CHECK_FAILED } };
  }
};
