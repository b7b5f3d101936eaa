// `kube-ovn-ipam plan`: the dry run of DESIGN §3.7. Reads a snapshot, plans every pod, prints
// the plan, writes nothing.
// Rules:
// - Exit 0 when a plan was computed (errors for single pods are part of the plan); exit 2, with
//   nothing on stdout, when the command line is wrong or the input cannot be read or decoded.
//   Every decoding problem is reported (file, document, object and field), not just the first.
// - Deterministic: no clock is read. `--now` defaults to the epoch, so the same input gives the
//   same bytes; it only matters for the cooldown of released addresses.
// - Linear at any size: files alone are decoded document by document as they are read, and the
//   output is written in pieces (render.ts), so 100,000 pods are never held twice.
import * as E from 'fp-ts/lib/Either.js';
import type { InputError } from '../adapters/snapshotFiles.js';
import { forEachSnapshotDocument, readSnapshotDocuments } from '../adapters/snapshotFiles.js';
import { parseMemory } from '../domain/AllocatorMemory.js';
import { planAll } from '../domain/ClusterPlanner.js';
import type { PlanOptions } from '../domain/ClusterPlanner.js';
import type { Plan } from '../domain/Plan.js';
import { SnapshotBuilder, buildSnapshot, formatProblem } from '../domain/Snapshot.js';
import type { FlagSpecs } from './args.js';
import { parseFlags, parseSeconds, parseTimestamp } from './args.js';
import { readCluster } from '../adapters/clusterSnapshot.js';
import { readKubeConfig } from '../adapters/kube/config.js';
import type { BuiltSnapshot, Origin, RawDocument } from '../domain/Snapshot.js';
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';
import { renderJsonChunks, renderTableChunks } from './render.js';
import { dns1123SubdomainRule, isDns1123Subdomain } from '../domain/schema/names.js';

export const planHelp = `Usage: ${PROGRAM} plan --snapshot PATH... [--output table|json] [--now TIME] [--cooldown SECONDS] [--ovn]
          [--non-primary-cni-mode] [--default-subnet NAME]

Prints every address the controller would allocate and every action it would take for a
snapshot of cluster objects (Pods, Namespaces, Subnets, IPs, IPPools,
NetworkAttachmentDefinitions, Deployments, ReplicaSets, StatefulSets, and KubeVirt's
VirtualMachines and VirtualMachineInstances), Subnet and IPPool status included (an IPPool
that is not ready: its status action, with the reason), and every pod's error. Writes nothing.

Flags:
  -s, --snapshot PATH     A YAML or JSON file (multi-document YAML and kind: List allowed), a
                          folder (its *.yaml, *.yml and *.json files, recursively, by path), or
                          - for standard input. Repeatable; paths after the flags count too.
                            ${PROGRAM} plan --snapshot cluster.yaml --snapshot manifests/
                            ${PROGRAM} plan manifests/ extra.yaml
                            kubectl get pods,subnets,ips -A -o yaml | ${PROGRAM} plan -s -
  -o, --output FORMAT     table (the default, for people) or json (one object with
                          allocations, actions and errors; the same input gives the same bytes).
                            ${PROGRAM} plan -s manifests/ --output json
      --now TIME          The current time, as RFC 3339. Only the cooldown of released
                          addresses reads it. Default 1970-01-01T00:00:00Z, so the output
                          depends on the input alone.
                            ${PROGRAM} plan -s manifests/ --now 2025-01-31T12:00:00Z
      --cooldown SECONDS  How long a released address rests before it is reused
                          (default: the controller's).
                            ${PROGRAM} plan -s manifests/ --cooldown 300
      --kubeconfig FILE   Read the objects from a live cluster (read-only). With --snapshot
                          too, the files are laid over the cluster's objects, as if they
                          were applied: a file's object replaces the cluster's of the same
                          kind, namespace and name. So a plan shows what applying them does.
                            ${PROGRAM} plan --kubeconfig ~/.kube/config -s pod.yaml
      --ovn               Also plan OVN's northbound rows, as a controller run with --ovn-nb
                          does: a logical switch per OVN Subnet, the router ovn-cluster with
                          the Subnet's gateway port, and a logical switch port per pod
                          interface on one (EnsureLogicalSwitch, EnsureLogicalRouter,
                          EnsureLogicalRouterPort, EnsureLogicalSwitchPort,
                          DeleteLogicalSwitchPort). Off by default, like the controller's.
                            ${PROGRAM} plan -s manifests/ --ovn
      --non-primary-cni-mode
                          Another CNI (Cilium, Calico, …) serves every pod's eth0, as with the
                          controller's flag of that name: no eth0 claim unless a pod names one of
                          our NADs in v1.multus-cni.io/default-network; attachments as always.
                            ${PROGRAM} plan -s manifests/ --non-primary-cni-mode
      --default-subnet NAME
                          The default network's Subnet, as the controller's flag of that name
                          (default ovn-default).
                            ${PROGRAM} plan -s manifests/ --default-subnet pods
  -h, --help              Show this help.

Exit status: 0 when a plan was computed (a pod that cannot get an address is an error in the
plan, not a failure), 2 when the command line is wrong or the input cannot be read or decoded.
`;

const flags: FlagSpecs = {
  'snapshot': { type: 'string', short: 's', multiple: true },
  'output': { type: 'string', short: 'o' },
  'now': { type: 'string' },
  'cooldown': { type: 'string' },
  'kubeconfig': { type: 'string' },
  'ovn': { type: 'boolean' },
  'non-primary-cni-mode': { type: 'boolean' },
  'default-subnet': { type: 'string' },
  'help': { type: 'boolean', short: 'h' },
};

const renderers: Readonly<Record<string, (plan: Plan) => Iterable<string>>> = { table: renderTableChunks, json: renderJsonChunks };

export interface PlanCommand {
  readonly help: boolean;
  readonly snapshots: readonly string[];
  /** The output, in pieces to write one after the other. */
  readonly render: (plan: Plan) => Iterable<string>;
  readonly options: PlanOptions;
  readonly kubeconfig: string | undefined;
}

/** The command line as a record, or the first thing wrong with it. A later flag wins. */
export const parsePlanArgs = (argv: readonly string[]): E.Either<string, PlanCommand> => {
  const args = parseFlags(argv, flags);
  if (E.isLeft(args)) return args;
  const snapshots: string[] = [];
  let help = false;
  let kubeconfig: string | undefined;
  let render = renderTableChunks;
  let now = 0;
  let cooldownMs: number | undefined;
  let ovn = false;
  let nonPrimary = false;
  let defaultSubnet: string | undefined;
  for (const arg of args.right) {
    const value = arg.value ?? '';
    if (arg.kind === 'positional' || arg.name === 'snapshot') {
      snapshots.push(value);
    } else if (arg.name === 'help') {
      help = true;
    } else if (arg.name === 'ovn') {
      ovn = true;
    } else if (arg.name === 'non-primary-cni-mode') {
      nonPrimary = true;
    } else if (arg.name === 'default-subnet') {
      if (!isDns1123Subdomain(value)) return E.left(`--default-subnet ${JSON.stringify(value)}: expected a Subnet name: ${dns1123SubdomainRule}`);
      defaultSubnet = value;
    } else if (arg.name === 'kubeconfig') {
      kubeconfig = value;
    } else if (arg.name === 'output') {
      const chosen = renderers[value];
      if (chosen === undefined) return E.left(`--output: expected table or json, got ${JSON.stringify(value)}`);
      render = chosen;
    } else if (arg.name === 'now') {
      const parsed = parseTimestamp(value);
      if (E.isLeft(parsed)) return E.left(`--now: ${parsed.left}`);
      now = parsed.right;
    } else if (arg.name === 'cooldown') {
      const parsed = parseSeconds(value);
      if (E.isLeft(parsed)) return E.left(`--cooldown: ${parsed.left}`);
      cooldownMs = parsed.right;
    }
  }
  const options: PlanOptions = {
    now, ...(cooldownMs === undefined ? {} : { cooldownMs }), ...(ovn ? { ovn } : {}),
    ...(nonPrimary ? { defaultNetwork: 'none' as const } : {}), ...(defaultSubnet === undefined ? {} : { defaultSubnet }),
  };
  return E.right({ help, snapshots, render, options, kubeconfig });
};

/** Runs `plan` with the arguments after the subcommand; resolves to the exit code. */
export const runPlan = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const fail = (message: string): number => {
    io.stderr(`${PROGRAM} plan: ${message}\n`);
    return EXIT_USAGE;
  };
  const usage = (message: string): number => fail(`${message}\nRun '${PROGRAM} plan --help' for usage.`);

  const parsed = parsePlanArgs(argv);
  if (E.isLeft(parsed)) return usage(parsed.left);
  const command = parsed.right;
  if (command.help) {
    io.stdout(planHelp);
    return EXIT_OK;
  }
  if (command.kubeconfig === undefined && command.snapshots.length === 0) return usage('no input: give --snapshot PATH (a file, a folder, or - for standard input) or --kubeconfig FILE');

  const built = command.kubeconfig === undefined ? await fromFiles(command.snapshots, io) : await overCluster(command.kubeconfig, command.snapshots, io);
  if (E.isLeft(built)) return fail(built.left);
  const { snapshot, problems, duplicates } = built.right;
  if (problems.length > 0) {
    for (const problem of problems) io.stderr(`${PROGRAM} plan: ${formatProblem(problem)}\n`);
    return EXIT_USAGE;
  }
  for (const d of duplicates) {
    const where = (o: Origin) => `${o.file}: document ${o.document}`;
    io.stderr(`${PROGRAM} plan: warning: ${where(d.kept)}: ${d.kind} ${d.key} is also in ${where(d.dropped)}; the later one is used, as kubectl apply of both would leave it\n`);
  }
  // An unreadable allocator memory is ignored by the planner (AllocatorMemory.ts); say so.
  for (const [name, e] of snapshot.subnets) {
    const memory = parseMemory(e.object.status?.allocator);
    if (E.isLeft(memory)) io.stderr(`${PROGRAM} plan: warning: Subnet ${name}: ${memory.left}; ignored (released addresses and never-used-first are not known)\n`);
  }
  for (const chunk of command.render(planAll(snapshot, command.options))) io.stdout(chunk);
  return EXIT_OK;
};

/** The files' snapshot, each document decoded as it is read (no list of every raw document);
 *  or why it cannot be read. */
const fromFiles = async (paths: readonly string[], io: CliIo): Promise<E.Either<string, BuiltSnapshot>> => {
  const builder = new SnapshotBuilder();
  const read = await forEachSnapshotDocument(paths, io.readStdin, (doc) => builder.add(doc));
  return E.isLeft(read) ? E.left(formatInputError(read.left)) : E.right(builder.result());
};

/** The cluster's objects with the files' (if any) laid over them (overlayDocuments), as a
 *  snapshot; or why either cannot be read. */
const overCluster = async (kubeconfig: string, paths: readonly string[], io: CliIo): Promise<E.Either<string, BuiltSnapshot>> => {
  const kc = readKubeConfig(kubeconfig);
  if (E.isLeft(kc)) return kc;
  let cluster: readonly RawDocument[];
  try {
    cluster = await readCluster(kc.right);
  } catch (err) {
    return E.left(`${kubeconfig}: cannot read the cluster: ${err instanceof Error ? err.message : String(err)}`);
  }
  const files = paths.length === 0 ? E.right([]) : await readSnapshotDocuments(paths, io.readStdin);
  if (E.isLeft(files)) return E.left(formatInputError(files.left));
  return E.right(buildSnapshot(overlayDocuments(cluster, files.right)));
};

/** The cluster's objects with the files' laid over them, as `kubectl apply` of those files would
 *  leave the cluster: a file's object replaces the cluster's of the same kind, namespace and
 *  name (in the cluster's place); the rest of the files' objects follow, in file order. */
const CLUSTER_SCOPED: ReadonlySet<string> = new Set(['Namespace', 'Subnet', 'IP', 'IPPool']);

export const overlayDocuments = (cluster: readonly RawDocument[], files: readonly RawDocument[]): readonly RawDocument[] => {
  if (cluster.length === 0) return files;
  const keyOf = (doc: RawDocument): string | undefined => {
    const v = doc.value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
    if (typeof v !== 'object' || v === null || typeof v.kind !== 'string' || typeof v.metadata?.name !== 'string') return undefined;
    const ns = CLUSTER_SCOPED.has(v.kind) ? '' : typeof v.metadata.namespace === 'string' ? v.metadata.namespace : 'default';
    return `${v.kind}/${ns}/${v.metadata.name}`;
  };
  const replacing = new Map<string, RawDocument>();
  const rest: RawDocument[] = [];
  for (const doc of files) {
    const key = keyOf(doc);
    if (key !== undefined && cluster.some((c) => keyOf(c) === key)) replacing.set(key, doc);
    else rest.push(doc);
  }
  return [...cluster.map((c) => replacing.get(keyOf(c) ?? '') ?? c), ...rest];
};

/** `<file>: document <n>: <message>`, or `<file>: <message>` when no document is concerned. */
export const formatInputError = (error: InputError): string =>
  error.document === undefined ? `${error.file}: ${error.message}` : `${error.file}: document ${error.document}: ${error.message}`;
