// A plan: everything the controller would do for a snapshot, as data (STYLE.md rule 1).
// Actions are a closed union, each with a `type`, a `target` and a `reason` in words; apply
// interprets them and does exactly what they say. Allocations and errors are what `plan`
// prints (DESIGN §3.7). Order is part of the contract: the same snapshot gives the same plan.
import type { AllocatorMemory } from './AllocatorMemory.js';
import type { Source } from './IpamState.js';

export interface AllocationView {
  /** `namespace/name` */
  readonly pod: string;
  readonly provider: string;
  readonly interface: string;
  readonly subnet: string;
  /** `v4`, `v6` or `v4,v6` */
  readonly ipAddress: string;
  readonly macAddress: string;
  readonly cidr: string;
  readonly gateway: string;
  readonly source: Source;
  /** A pod that does not exist yet: simulated from its workload. */
  readonly simulated?: true;
}

export type PlanErrorCode =
  | 'AddressConflict'
  | 'AddressOutOfRange'
  | 'NoAvailableAddress'
  | 'NoSubnet'
  | 'SubnetInvalid'
  | 'InvalidIPFamily'
  | 'InvalidAnnotation'
  | 'NetworkNotFound'
  | 'UnmanagedNetwork'
  | 'ProviderMismatch'
  | 'ClaimConflict';

export interface PlanError {
  /** `namespace/name` of the pod, or of the Subnet / IP object the error is about. */
  readonly pod: string;
  readonly provider: string;
  readonly interface?: string;
  readonly code: PlanErrorCode;
  readonly message: string;
  readonly simulated?: true;
}

/** The spec and labels of an IP object (kubeovn.io/v1), as the controller writes it. */
export interface IpObject {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: {
    readonly podName: string;
    readonly namespace: string;
    readonly subnet: string;
    readonly nodeName: string;
    readonly ipAddress: string;
    readonly v4IpAddress: string;
    readonly v6IpAddress: string;
    readonly macAddress: string;
    readonly containerID: string;
    readonly podType: string;
    readonly attachIps: readonly string[];
    readonly attachMacs: readonly string[];
    readonly attachSubnets: readonly string[];
  };
}

export interface SubnetStatusView {
  readonly v4availableIPs: number;
  readonly v4usingIPs: number;
  readonly v4availableIPrange: string;
  readonly v4usingIPrange: string;
  readonly v6availableIPs: number;
  readonly v6usingIPs: number;
  readonly v6availableIPrange: string;
  readonly v6usingIPrange: string;
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason: string; readonly message: string }[];
  /** What the allocator must remember across restarts (AllocatorMemory.ts), when anything. */
  readonly allocator?: AllocatorMemory;
}

/** An IPPool's status as Kube-OVN writes it (field names and types of its IPPool CRD). */
export interface IPPoolStatusView {
  readonly v4AvailableIPs: number;
  readonly v4AvailableIPRange: string;
  readonly v4UsingIPs: number;
  readonly v4UsingIPRange: string;
  readonly v6AvailableIPs: number;
  readonly v6AvailableIPRange: string;
  readonly v6UsingIPs: number;
  readonly v6UsingIPRange: string;
  readonly conditions: readonly { readonly type: string; readonly status: string; readonly reason: string; readonly message: string }[];
}

/** An OVN logical switch (one per OVN Subnet), as the controller keeps it in the NB database. */
export interface LogicalSwitchView {
  /** The Subnet's CIDR block (`v4`, `v6` or `v4,v6`), for `other_config:subnet` / `ipv6_prefix`. */
  readonly cidr: string;
  /** The Subnet's excluded addresses, for `other_config:exclude_ips`. */
  readonly excludeIps: readonly string[];
}

/** An OVN logical switch port (one per pod interface on an OVN Subnet). */
export interface LogicalSwitchPortView {
  readonly logicalSwitch: string;
  /** `"<mac> <ip>[ <ip6>]"`: both the port's addresses and its port security. */
  readonly addresses: string;
  /** `pod`, `ls`, `vendor` and the pod uid label. */
  readonly externalIds: Readonly<Record<string, string>>;
}

/** Which router port, on which router, and its switch-side peer (OvnRouter.ts names them). */
export interface LogicalRouterPortRef {
  readonly router: string;
  /** The Subnet's logical switch, where the peer lives. */
  readonly logicalSwitch: string;
  /** The peer: a logical switch port of type router on `logicalSwitch`. */
  readonly switchPort: string;
}

/** A logical router port (one per OVN Subnet, at its gateway) and its switch-side peer. */
export interface LogicalRouterPortView extends LogicalRouterPortRef {
  /** Deterministic per Subnet, so a re-plan writes the same MAC. */
  readonly mac: string;
  /** `<gateway>/<prefix>` per family, IPv4 first. */
  readonly networks: readonly string[];
}

export type Action =
  | { readonly type: 'CreateIP'; readonly target: string; readonly reason: string; readonly ip: IpObject }
  | { readonly type: 'UpdateIP'; readonly target: string; readonly reason: string; readonly ip: IpObject }
  | { readonly type: 'DeleteIP'; readonly target: string; readonly reason: string }
  | {
      readonly type: 'PatchPodAnnotations';
      readonly target: string;
      readonly reason: string;
      /** Merge patch of metadata.annotations: `null` deletes a key. */
      readonly annotations: Readonly<Record<string, string | null>>;
    }
  | {
      readonly type: 'EmitEvent';
      /** `namespace/name` of a pod, or with `kind` the name of that cluster-scoped object. */
      readonly target: string;
      readonly reason: string;
      readonly kind?: 'Subnet' | 'IP';
      readonly event: { readonly type: 'Normal' | 'Warning'; readonly reason: string; readonly message: string };
    }
  | { readonly type: 'UpdateSubnetStatus'; readonly target: string; readonly reason: string; readonly status: SubnetStatusView }
  | { readonly type: 'UpdateIPPoolStatus'; readonly target: string; readonly reason: string; readonly status: IPPoolStatusView }
  | { readonly type: 'EnsureLogicalSwitch'; readonly target: string; readonly reason: string; readonly logicalSwitch: LogicalSwitchView }
  | { readonly type: 'EnsureLogicalSwitchPort'; readonly target: string; readonly reason: string; readonly port: LogicalSwitchPortView }
  | { readonly type: 'DeleteLogicalSwitchPort'; readonly target: string; readonly reason: string }
  | { readonly type: 'DeleteLogicalSwitch'; readonly target: string; readonly reason: string }
  | { readonly type: 'EnsureLogicalRouter'; readonly target: string; readonly reason: string }
  | { readonly type: 'EnsureLogicalRouterPort'; readonly target: string; readonly reason: string; readonly routerPort: LogicalRouterPortView }
  | { readonly type: 'DeleteLogicalRouterPort'; readonly target: string; readonly reason: string; readonly routerPort: LogicalRouterPortRef };

export type ActionType = Action['type'];

/** The actions on OVN's northbound database. */
export type OvnAction = Extract<Action, { readonly type: OvnActionType }>;
type OvnActionType = 'EnsureLogicalSwitch' | 'EnsureLogicalSwitchPort' | 'DeleteLogicalSwitchPort' | 'DeleteLogicalSwitch' | 'EnsureLogicalRouter' | 'EnsureLogicalRouterPort' | 'DeleteLogicalRouterPort';
const OVN_ACTION_TYPES: ReadonlySet<ActionType> = new Set<OvnActionType>(['EnsureLogicalSwitch', 'EnsureLogicalSwitchPort', 'DeleteLogicalSwitchPort', 'DeleteLogicalSwitch', 'EnsureLogicalRouter', 'EnsureLogicalRouterPort', 'DeleteLogicalRouterPort']);

export const isOvnAction = (a: Action): a is OvnAction => OVN_ACTION_TYPES.has(a.type);

export interface Plan {
  readonly allocations: readonly AllocationView[];
  readonly actions: readonly Action[];
  readonly errors: readonly PlanError[];
}

/** The `--output json` object of DESIGN §3.7: actions carry only type, target and reason. */
export const planJson = (plan: Plan): unknown => ({
  allocations: plan.allocations,
  actions: plan.actions.map((a) => ({ type: a.type, target: a.target, reason: a.reason })),
  errors: plan.errors,
});

/** Actions that allocate or record an allocation (what a converged snapshot no longer needs). */
export const isAllocationAction = (a: Action): boolean =>
  a.type === 'CreateIP' || a.type === 'UpdateIP' || a.type === 'PatchPodAnnotations' || a.type === 'EnsureLogicalSwitch' || a.type === 'EnsureLogicalSwitchPort'
  || a.type === 'EnsureLogicalRouter' || a.type === 'EnsureLogicalRouterPort';

/** The longest Event message we write, in characters: the API server stores any length, and
 *  one pod's message listing every failed attachment could otherwise run to megabytes. */
export const EVENT_MESSAGE_LIMIT = 1024;

/** `message`, cut to EVENT_MESSAGE_LIMIT characters with what was left out counted. */
export const capEventMessage = (message: string): string => {
  if (message.length <= EVENT_MESSAGE_LIMIT) return message;
  const kept = EVENT_MESSAGE_LIMIT - 40;
  return `${message.slice(0, kept)}… and ${message.length - kept} more characters`;
};
