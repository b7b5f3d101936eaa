// What the `kube-ovn` CNI plugin is told: the CNI_* environment, CNI_ARGS and the network
// configuration on stdin (CNI SPEC §2, §3; behaviour §5.1), checked and made canonical once.
// Rules:
// - Errors are values (`Outcome`), each a CNI error with the spec's code and a message that names
//   the variable or field: 4 for the environment (CNI_ARGS included), 6 when stdin is not a JSON
//   object, 1 for an unsupported cniVersion, 7 for any other problem in the configuration.
//   Every problem of one kind is reported at once, joined by "; ".
// - Roles: `"type": "kube-ovn"` makes us the main plugin (`server_socket`, `provider`, `routes`
//   at top level); otherwise `"ipam": {"type": "kube-ovn"}` makes us the IPAM plugin of the
//   plugin named by `type` (the same fields inside `ipam`). Empty strings count as absent:
//   the socket defaults to DEFAULT_SERVER_SOCKET, the provider to `ovn`.
// - CNI_ARGS is `K=V;K=V`; keys we do not know are ignored whatever IgnoreUnknown says (every
//   plugin of a chain sees the same CNI_ARGS, and runtimes always set IgnoreUnknown).
// - The MAC a runtime asks for comes from runtimeConfig `mac`, else CNI_ARGS `MAC` (the
//   reference macvlan plugin's precedence).
// - This module is on the plugin's start path: hand-checked, no io-ts, no fp-ts.
import { CniCode, type CniRequest, type CniRoute } from './Protocol.js';
import { nestingDepth } from '../schema/json.js';
import { interfaceNameProblem } from '../schema/names.js';

export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];
export const LATEST_VERSION: CniVersion = '1.1.0';
export const PLUGIN_TYPE = 'kube-ovn';
export const DEFAULT_SERVER_SOCKET = '/run/openvswitch/kube-ovn-daemon.sock';
export const DEFAULT_PROVIDER = 'ovn';

/** A CNI error result without its cniVersion (SPEC §5 "Error"). */
export interface CniError {
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: CniError };

export const success = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const failure = <T>(code: number, msg: string, details?: string): Outcome<T> => ({
  ok: false,
  error: details === undefined ? { code, msg } : { code, msg, details },
});

const versionList = SUPPORTED_VERSIONS.join(', ');

export const isSupportedVersion = (text: string): text is CniVersion =>
  (SUPPORTED_VERSIONS as readonly string[]).includes(text);

/** Orders two supported versions (they are listed oldest first). */
export const compareVersions = (a: CniVersion, b: CniVersion): number =>
  SUPPORTED_VERSIONS.indexOf(a) - SUPPORTED_VERSIONS.indexOf(b);

// ---- addresses (just enough to check routes and MACs, and to compare results) ----------------

const parseIPv4 = (text: string): readonly number[] | undefined => {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.map(Number);
};

/** The eight 16-bit groups of an IPv6 address (a dotted IPv4 tail allowed), or undefined. */
const parseIPv6 = (text: string): readonly number[] | undefined => {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  let body = text;
  if (text.includes('.')) {
    // A dotted IPv4 tail stands for the last two groups.
    const colon = text.lastIndexOf(':');
    const v4 = parseIPv4(text.slice(colon + 1));
    if (colon < 0 || v4 === undefined) return undefined;
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    body = `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (half === undefined || half === '') return [];
    const out: number[] = [];
    for (const g of half.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  if (head === undefined || rest === undefined) return undefined;
  if (halves.length === 1) return head.length === 8 ? head : undefined;
  const zeros = 8 - head.length - rest.length;
  if (zeros < 1) return undefined;
  return [...head, ...new Array<number>(zeros).fill(0), ...rest];
};

/** 4 or 6 for a bare IP address (no prefix, no zone), undefined for anything else. */
export const addressFamily = (text: string): 4 | 6 | undefined =>
  parseIPv4(text) !== undefined ? 4 : parseIPv6(text) !== undefined ? 6 : undefined;

/** The canonical text of an address (IPv6 per RFC 5952), so addresses compare as strings. */
export const canonicalAddress = (text: string): string | undefined => {
  if (parseIPv4(text) !== undefined) return text;
  const groups = parseIPv6(text);
  if (groups === undefined) return undefined;
  let best = { start: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j += 1;
    if (j - i > best.length) best = { start: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
};

/** Canonical `address/prefix`, or undefined when `text` is not one. */
export const canonicalCidr = (text: string): string | undefined => {
  const [address = '', prefix, ...more] = text.split('/');
  const family = addressFamily(address);
  if (family === undefined || prefix === undefined || more.length > 0) return undefined;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return undefined;
  return `${canonicalAddress(address) ?? address}/${prefix}`;
};

const isMac = (text: string): boolean => /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/.test(text);

// ---- environment ---------------------------------------------------------------------------

export const COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof COMMANDS)[number];

export interface CniArgs {
  readonly podNamespace?: string;
  readonly podName?: string;
  readonly podUid?: string;
  readonly infraContainerId?: string;
  readonly mac?: string;
  readonly ignoreUnknown: boolean;
}

export interface Environment {
  readonly command: CniCommand;
  readonly containerId?: string;
  readonly netns?: string;
  readonly ifName?: string;
  readonly path?: string;
  readonly args: CniArgs;
  /** KUBE_OVN_CNI_TIMEOUT_MS: how long the plugin may take in all, default DEFAULT_TIMEOUT_MS. */
  readonly timeoutMs: number;
}

export const DEFAULT_TIMEOUT_MS = 50_000;

const REQUIRED: Readonly<Record<CniCommand, readonly string[]>> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

const ARG_KEYS: Readonly<Record<string, keyof Omit<CniArgs, 'ignoreUnknown'>>> = {
  K8S_POD_NAMESPACE: 'podNamespace',
  K8S_POD_NAME: 'podName',
  K8S_POD_UID: 'podUid',
  K8S_POD_INFRA_CONTAINER_ID: 'infraContainerId',
  MAC: 'mac',
};

/** Parses CNI_ARGS (`K=V;K=V`); empty segments are skipped, a value may contain `=`. */
export const parseCniArgs = (text: string | undefined): Outcome<CniArgs> => {
  const fields: Record<string, string> = {};
  const problems: string[] = [];
  let ignoreUnknown = false;
  for (const pair of (text ?? '').split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0) {
      problems.push(`CNI_ARGS has an invalid pair "${pair}" (expected KEY=VALUE)`);
      continue;
    }
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key === 'IgnoreUnknown') {
      if (!/^(1|0|true|false)$/i.test(value)) problems.push(`CNI_ARGS IgnoreUnknown "${value}" is not a boolean (expected 1, 0, true or false)`);
      ignoreUnknown = value === '1' || value.toLowerCase() === 'true';
      continue;
    }
    const field = ARG_KEYS[key];
    if (field === undefined || value === '') continue;
    if (field === 'mac' && !isMac(value)) problems.push(`CNI_ARGS MAC "${value}" is not a MAC address (expected six hex octets, like 0a:58:0a:10:00:05)`);
    fields[field] = value;
  }
  if (problems.length > 0) return failure(CniCode.InvalidEnvironment, problems.join('; '));
  return success({ ...fields, ignoreUnknown });
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Linux interface name rules (the spec's "Name of the interface inside the container"). */
const ifNameProblem = (name: string): string | undefined => {
  const problem = interfaceNameProblem(name);
  return problem === undefined ? undefined : `CNI_IFNAME "${name}" ${problem}`;
};

/** Reads the CNI_* variables and KUBE_OVN_CNI_TIMEOUT_MS; what each command requires must be set. */
export const parseEnvironment = (env: Readonly<Record<string, string | undefined>>): Outcome<Environment> => {
  const value = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const commandText = value('CNI_COMMAND');
  const expected = `expected ${COMMANDS.slice(0, -1).join(', ')} or ${COMMANDS[COMMANDS.length - 1] ?? ''}`;
  if (commandText === undefined) return failure(CniCode.InvalidEnvironment, `CNI_COMMAND is not set (${expected})`);
  const command = COMMANDS.find((c) => c === commandText);
  if (command === undefined) return failure(CniCode.InvalidEnvironment, `CNI_COMMAND "${commandText}" is not a CNI command (${expected})`);
  const missing = REQUIRED[command].filter((name) => value(name) === undefined);
  if (missing.length > 0) {
    const [s, are] = missing.length > 1 ? ['s', 'are'] : ['', 'is'];
    return failure(CniCode.InvalidEnvironment, `${command} needs the environment variable${s} ${missing.join(', ')}, which ${are} not set`);
  }
  const problems: string[] = [];
  const containerId = value('CNI_CONTAINERID');
  if (containerId !== undefined && REQUIRED[command].length > 0 && !CONTAINER_ID.test(containerId)) {
    problems.push(`CNI_CONTAINERID "${containerId}" has invalid characters (expected a letter or digit, then letters, digits, "_", "." or "-")`);
  }
  const ifName = value('CNI_IFNAME');
  const ifProblem = ifName !== undefined && REQUIRED[command].length > 0 ? ifNameProblem(ifName) : undefined;
  if (ifProblem !== undefined) problems.push(ifProblem);
  const timeoutText = value('KUBE_OVN_CNI_TIMEOUT_MS');
  if (timeoutText !== undefined && !/^[1-9][0-9]{0,8}$/.test(timeoutText)) {
    problems.push(`KUBE_OVN_CNI_TIMEOUT_MS "${timeoutText}" is not a positive whole number of milliseconds`);
  }
  const args = parseCniArgs(value('CNI_ARGS'));
  if (!args.ok) problems.push(args.error.msg);
  if (problems.length > 0 || !args.ok) return failure(CniCode.InvalidEnvironment, problems.join('; '));
  const netns = value('CNI_NETNS');
  const path = value('CNI_PATH');
  return success({
    command,
    ...(containerId !== undefined && { containerId }),
    ...(netns !== undefined && { netns }),
    ...(ifName !== undefined && { ifName }),
    ...(path !== undefined && { path }),
    args: args.value,
    timeoutMs: timeoutText === undefined ? DEFAULT_TIMEOUT_MS : Number(timeoutText),
  });
};

export interface PodIdentity {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string;
}

/** The pod that ADD, DEL and CHECK act for; Kubernetes runtimes always pass it in CNI_ARGS. */
export const podIdentity = (args: CniArgs): Outcome<PodIdentity> => {
  const missing = [
    ...(args.podNamespace === undefined ? ['K8S_POD_NAMESPACE'] : []),
    ...(args.podName === undefined ? ['K8S_POD_NAME'] : []),
  ];
  if (args.podNamespace === undefined || args.podName === undefined) {
    return failure(CniCode.InvalidEnvironment,
      `CNI_ARGS has no ${missing.join(' and no ')} (the runtime passes the pod as K8S_POD_NAMESPACE=…;K8S_POD_NAME=…)`);
  }
  return success({ namespace: args.podNamespace, name: args.podName, ...(args.podUid !== undefined && { uid: args.podUid }) });
};

// ---- network configuration -----------------------------------------------------------------

export type PluginRole = 'main' | 'ipam';

export interface PluginConfig {
  readonly cniVersion: CniVersion;
  readonly name?: string;
  /** The top-level `type`: `kube-ovn`, or the main plugin that delegates IPAM to us. */
  readonly type: string;
  readonly role: PluginRole;
  readonly serverSocket: string;
  readonly provider: string;
  readonly routes: readonly CniRoute[];
  /** runtimeConfig `mac`. */
  readonly runtimeMac?: string;
  /** The result of the previous ADD (conflists, DEL, CHECK), as given. */
  readonly prevResult?: Readonly<Record<string, unknown>>;
}

type Json = Readonly<Record<string, unknown>>;

const isObject = (u: unknown): u is Json => typeof u === 'object' && u !== null && !Array.isArray(u);

/** A value, for an error message: at most 80 characters (the text it comes from nests at
 *  most MAX_CONFIG_DEPTH deep, so stringifying it cannot exhaust the stack). */
const show = (u: unknown): string => {
  if (u === undefined) return 'nothing';
  const text = JSON.stringify(u);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
};

/** Deeper than any network configuration nests (runtimeConfig and prevResult included). */
export const MAX_CONFIG_DEPTH = 64;

/** Parses stdin as a JSON object: code 6 when it is not one. */
export const parseJsonObject = (text: string): Outcome<Json> => {
  if (text.trim() === '') return failure(CniCode.DecodeFailure, 'the network configuration on stdin is empty');
  const depth = nestingDepth(text);
  if (depth > MAX_CONFIG_DEPTH) return failure(CniCode.DecodeFailure, `the network configuration on stdin nests ${depth} levels deep (at most ${MAX_CONFIG_DEPTH})`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return failure(CniCode.DecodeFailure, `the network configuration on stdin is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(parsed)) return failure(CniCode.DecodeFailure, `the network configuration on stdin is not a JSON object (got ${show(parsed)})`);
  return success(parsed);
};

/** The cniVersion stdin declares, when it is one we speak: for error results of a bad config. */
export const declaredVersion = (text: string): CniVersion | undefined => {
  const parsed = parseJsonObject(text);
  const version = parsed.ok ? parsed.value['cniVersion'] : undefined;
  return typeof version === 'string' && isSupportedVersion(version) ? version : undefined;
};

const optionalString = (section: Json, key: string, path: string, problems: string[]): string | undefined => {
  const v = section[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') {
    problems.push(`${path}${key} is not a string (got ${show(v)})`);
    return undefined;
  }
  return v;
};

/** Checks `routes`: a list of `{dst?, gw?}` with a CIDR and an address of one family. */
const readRoutes = (u: unknown, path: string, problems: string[]): readonly CniRoute[] => {
  if (u === undefined || u === null) return [];
  if (!Array.isArray(u)) {
    problems.push(`${path} is not a list of routes (expected [{"dst": "10.0.0.0/8", "gw": "10.16.0.1"}], got ${show(u)})`);
    return [];
  }
  const routes: CniRoute[] = [];
  u.forEach((entry: unknown, i) => {
    const at = `${path}[${i}]`;
    if (!isObject(entry)) {
      problems.push(`${at} is not an object (got ${show(entry)})`);
      return;
    }
    const before = problems.length;
    const dst = optionalString(entry, 'dst', `${at}.`, problems);
    const gw = optionalString(entry, 'gw', `${at}.`, problems);
    if (problems.length > before) return;
    if (dst === undefined && gw === undefined) {
      problems.push(`${at} has neither dst nor gw`);
      return;
    }
    const cidr = dst === undefined ? undefined : canonicalCidr(dst);
    if (dst !== undefined && cidr === undefined) problems.push(`${at}.dst "${dst}" is not a CIDR (expected address/prefix, like 10.0.0.0/16)`);
    if (gw !== undefined && addressFamily(gw) === undefined) problems.push(`${at}.gw "${gw}" is not an IP address`);
    if (dst !== undefined && gw !== undefined && cidr !== undefined && addressFamily(gw) !== undefined
      && addressFamily(cidr.split('/')[0] ?? '') !== addressFamily(gw)) {
      problems.push(`${at}.gw "${gw}" and ${at}.dst "${dst}" are of different IP families`);
    }
    if (problems.length === before) routes.push({ ...(dst !== undefined && { dst }), ...(gw !== undefined && { gw }) });
  });
  return routes;
};

const ourSection = (conf: Json, type: string): { role: PluginRole; section: Json; path: string } | string => {
  if (type === PLUGIN_TYPE) return { role: 'main', section: conf, path: '' };
  const ipam = conf['ipam'];
  if (ipam === undefined) return `type is "${type}" and there is no ipam section (expected type "${PLUGIN_TYPE}", or ipam.type "${PLUGIN_TYPE}")`;
  if (!isObject(ipam)) return `ipam is not an object (got ${show(ipam)})`;
  if (ipam['type'] !== PLUGIN_TYPE) return `neither type (${show(type)}) nor ipam.type (${show(ipam['type'])}) is "${PLUGIN_TYPE}"`;
  return { role: 'ipam', section: ipam, path: 'ipam.' };
};

/** Parses the network configuration a runtime (or the main plugin, for IPAM) wrote on stdin. */
export const parsePluginConfig = (stdin: string): Outcome<PluginConfig> => {
  const parsed = parseJsonObject(stdin);
  if (!parsed.ok) return parsed;
  const conf = parsed.value;
  const version = conf['cniVersion'];
  if (typeof version !== 'string' || version === '') {
    return failure(CniCode.InvalidConfig, `cniVersion is ${version === undefined ? 'missing' : `not a version (got ${show(version)})`} (supported: ${versionList})`);
  }
  if (!isSupportedVersion(version)) return failure(CniCode.IncompatibleVersion, `cniVersion "${version}" is not supported (supported: ${versionList})`);
  const type = conf['type'];
  if (typeof type !== 'string' || type === '') {
    const what = type === undefined ? 'missing' : `not a plugin name (got ${show(type)})`;
    return failure(CniCode.InvalidConfig, `type is ${what} (expected "${PLUGIN_TYPE}", or an ipam section with type "${PLUGIN_TYPE}")`);
  }
  const found = ourSection(conf, type);
  if (typeof found === 'string') return failure(CniCode.InvalidConfig, found);
  const problems: string[] = [];
  const { role, section, path } = found;
  const name = optionalString(conf, 'name', '', problems);
  const serverSocket = optionalString(section, 'server_socket', path, problems) ?? DEFAULT_SERVER_SOCKET;
  const provider = optionalString(section, 'provider', path, problems) ?? DEFAULT_PROVIDER;
  const routes = readRoutes(section['routes'], `${path}routes`, problems);
  let runtimeMac: string | undefined;
  const runtimeConfig = conf['runtimeConfig'];
  if (runtimeConfig !== undefined && runtimeConfig !== null && !isObject(runtimeConfig)) {
    problems.push(`runtimeConfig is not an object (got ${show(runtimeConfig)})`);
  } else if (isObject(runtimeConfig)) {
    runtimeMac = optionalString(runtimeConfig, 'mac', 'runtimeConfig.', problems);
    if (runtimeMac !== undefined && !isMac(runtimeMac)) {
      problems.push(`runtimeConfig.mac "${runtimeMac}" is not a MAC address (expected six hex octets, like 0a:58:0a:10:00:05)`);
    }
  }
  const prevResult = conf['prevResult'];
  if (prevResult !== undefined && prevResult !== null && !isObject(prevResult)) problems.push(`prevResult is not an object (got ${show(prevResult)})`);
  if (problems.length > 0) return failure(CniCode.InvalidConfig, problems.join('; '));
  return success({
    cniVersion: version,
    ...(name !== undefined && { name }),
    type,
    role,
    serverSocket,
    provider,
    routes,
    ...(runtimeMac !== undefined && { runtimeMac }),
    ...(isObject(prevResult) && { prevResult }),
  });
};

/** Code 1 when `command` first appeared in a later spec than the configuration's version. */
export const requireVersion = (config: PluginConfig, since: CniVersion, command: CniCommand): CniError | undefined =>
  compareVersions(config.cniVersion, since) < 0
    ? { code: CniCode.IncompatibleVersion, msg: `${command} needs cniVersion ${since} or later, and the configuration says ${config.cniVersion}` }
    : undefined;

/** The daemon request for ADD, DEL or CHECK (Protocol.ts), with the daemon's share of the deadline. */
export const buildRequest = (config: PluginConfig, env: Environment, pod: PodIdentity, deadlineMs: number): CniRequest => {
  const mac = config.runtimeMac ?? env.args.mac;
  return {
    cni_type: config.type,
    pod_name: pod.name,
    pod_namespace: pod.namespace,
    ...(pod.uid !== undefined && { pod_uid: pod.uid }),
    container_id: env.containerId ?? '',
    net_ns: env.netns ?? '',
    if_name: env.ifName ?? '',
    provider: config.provider,
    routes: config.routes,
    ...(mac !== undefined && { mac }),
    deadline_ms: deadlineMs,
  };
};
