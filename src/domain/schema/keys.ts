// Annotation keys of DESIGN.md §3.1-3.2, and the error that names a bad annotation.
// Rules: the key of annotation `name` for provider `p` is `<p>.kubernetes.io/<name>`; the
// default network's provider is `ovn` (an empty provider means `ovn`, as in Kube-OVN), so its
// keys are `ovn.kubernetes.io/<name>`. A message always starts with `annotation <full key>: `.

export const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

export const DEFAULT_PROVIDER = 'ovn';

/** Names of the per-provider annotations, user-written and controller-written. */
export const AnnotationName = {
  ipAddress: 'ip_address',
  macAddress: 'mac_address',
  ipPool: 'ip_pool',
  logicalSwitch: 'logical_switch',
  routes: 'routes',
  ipFamily: 'ip_family',
  cidr: 'cidr',
  gateway: 'gateway',
  allocated: 'allocated',
} as const;
export type AnnotationName = (typeof AnnotationName)[keyof typeof AnnotationName];

/** The names the controller writes, in one merge patch per pod (DESIGN.md §3.2). */
export const controllerAnnotationNames: readonly AnnotationName[] = [
  AnnotationName.ipAddress,
  AnnotationName.macAddress,
  AnnotationName.cidr,
  AnnotationName.gateway,
  AnnotationName.logicalSwitch,
  AnnotationName.allocated,
];

/** The value of `allocated` once a network's annotations are complete. */
export const ALLOCATED_TRUE = 'true';

export const annotationPrefix = (provider: string): string =>
  `${provider === '' ? DEFAULT_PROVIDER : provider}.kubernetes.io/`;

/** `annotationKey('macvlan.default', 'ip_address')` = `macvlan.default.kubernetes.io/ip_address`.
 *  `name` may carry an interface suffix (`ip_address.net1`). */
export const annotationKey = (provider: string, name: string): string => annotationPrefix(provider) + name;

/** The per-interface key of a network used twice by one pod: `<p>.kubernetes.io/ip_address.net2`. */
export const perInterfaceKey = (provider: string, name: 'ip_address' | 'mac_address', ifName: string): string =>
  annotationKey(provider, `${name}.${ifName}`);

export interface InvalidAnnotation {
  readonly code: 'InvalidAnnotation';
  /** The full key, e.g. `macvlan.default.kubernetes.io/ip_address`. */
  readonly annotation: string;
  /** `annotation <key>: <detail>` */
  readonly message: string;
}

export const invalidAnnotation = (annotation: string, detail: string): InvalidAnnotation => ({
  code: 'InvalidAnnotation',
  annotation,
  message: `annotation ${annotation}: ${detail}`,
});
