// The closed set of allocation errors (STYLE.md rule 3). Each boundary maps the code: to a CNI
// error code, to requeue-or-terminal in the controller, to an Event reason, to an exit code.
export type AllocationErrorCode =
  | 'AddressConflict'
  | 'AddressOutOfRange'
  | 'NoAvailableAddress'
  | 'NoSubnet'
  | 'InvalidIPFamily'
  | 'InvalidAnnotation';

export interface AllocationError {
  readonly code: AllocationErrorCode;
  readonly message: string;
}

export const allocationError = (code: AllocationErrorCode, message: string): AllocationError => ({ code, message });
