// Schemas of KubeVirt's VirtualMachine and VirtualMachineInstance (kubevirt.io/v1), which the
// IPAM reads only to know whether a VM's addresses are still wanted (VirtualMachines.ts).
// Rules: shape only, and only metadata (name, namespace, uid, deletionTimestamp, owners): the
// spec and status pass unread, so any served KubeVirt version decodes.
import type * as t from 'io-ts';
import { struct } from './primitives.js';
import { ObjectMeta, typeMeta } from './meta.js';

export const VirtualMachine = struct({ metadata: ObjectMeta }, typeMeta);
export type VirtualMachine = t.TypeOf<typeof VirtualMachine>;

export const VirtualMachineInstance = struct({ metadata: ObjectMeta }, typeMeta);
export type VirtualMachineInstance = t.TypeOf<typeof VirtualMachineInstance>;
