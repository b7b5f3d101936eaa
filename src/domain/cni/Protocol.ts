// The daemon's socket protocol (DESIGN §3.6): Kube-OVN's CniRequest and CniResponse JSON, so
// either side can talk to the original's counterpart. `POST /api/v1/add` answers 200 with a
// CniResponse; `POST /api/v1/del` answers 204; an error answers 4xx/5xx with a CniResponse whose
// `error` says why, and `code` (ours, optional) the CNI error code the plugin should report.

export interface CniRoute {
  readonly dst?: string | undefined;
  readonly gw?: string | undefined;
}

export interface CniRequest {
  readonly cni_type: string;
  readonly pod_name: string;
  readonly pod_namespace: string;
  readonly container_id: string;
  readonly net_ns: string;
  readonly if_name: string;
  readonly provider: string;
  readonly routes?: readonly CniRoute[] | undefined;
  readonly dns?: unknown;
  /** Ours: the pod's UID from CNI_ARGS, when the runtime gives it. */
  readonly pod_uid?: string | undefined;
  /** Ours: the MAC the runtime asked for (CNI_ARGS MAC / runtimeConfig mac). */
  readonly mac?: string | undefined;
  /** Ours: milliseconds the daemon may wait for the allocation. */
  readonly deadline_ms?: number | undefined;
  /** Ours: CNI CHECK. The daemon only looks: it answers what ADD would, or that the
   *  interface has drifted from it, and changes nothing. */
  readonly check?: boolean | undefined;
}

export interface CniIp {
  readonly protocol: 'IPv4' | 'IPv6';
  /** Bare address. */
  readonly ip: string;
  /** The subnet's CIDR of that family, e.g. 10.16.0.0/16. */
  readonly cidr: string;
  readonly gateway?: string | undefined;
}

export interface CniResponse {
  readonly protocol?: string | undefined;
  readonly ips?: readonly CniIp[] | undefined;
  readonly mac_address?: string | undefined;
  readonly routes?: readonly CniRoute[] | undefined;
  readonly mtu?: number | undefined;
  readonly nicname?: string | undefined;
  readonly error?: string | undefined;
  /** Ours: the CNI error code for `error` (7 invalid config, 11 try again later, …). */
  readonly code?: number | undefined;
}

/** CNI spec error codes (SPEC.md "Error"). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IOFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  NoConnectivity: 52,
} as const;
