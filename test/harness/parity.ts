// "`plan` answers as the controller then does": the helpers of the tests that run the built
// `plan --kubeconfig … --output json` against a real API server, then let the controller write,
// and compare the two.
//
// Rules:
// - The CLI is built once per test file (buildCli, under its lock) so the plan is the current
//   source's.
// - What the controller wrote is read back from the API server as the plan's allocation
//   records: per IP object, its pod, provider (from the pod annotation keys that carry its
//   address), subnet, address and MAC; so `expect(written).toEqual(planned)` compares like with
//   like. Simulated allocations (workload previews) are left out of `planned`.
import type { ApiServer } from './apiserver.js';
import { buildCli, CLI_MAIN } from './controllerProcess.js';
import { run, type RunResult } from './exec.js';

export interface PlannedAllocation {
  readonly pod: string; readonly provider: string; readonly interface: string; readonly subnet: string;
  readonly ipAddress: string; readonly macAddress: string; readonly cidr: string; readonly gateway: string;
  readonly source: string; readonly simulated?: true;
}
export interface PlanJson {
  readonly allocations: readonly PlannedAllocation[];
  readonly actions: readonly { readonly type: string; readonly target: string; readonly reason: string; readonly [k: string]: unknown }[];
  readonly errors: readonly { readonly pod: string; readonly provider: string; readonly interface?: string; readonly code: string; readonly message: string; readonly simulated?: true }[];
}

/** Runs `plan --kubeconfig <api> --output json ...extra` with the built CLI; the parsed plan
 *  (undefined when stdout is not JSON) and the raw result. */
let built: Promise<void> | undefined;

export async function planLive(api: ApiServer, extra: readonly string[] = []): Promise<{ readonly plan: PlanJson | undefined; readonly result: RunResult }> {
  built ??= buildCli();
  await built;
  const result = await run([process.execPath, CLI_MAIN, 'plan', '--kubeconfig', api.kubeconfigPath, '--output', 'json', ...extra], { timeoutMs: 60_000 });
  let plan: PlanJson | undefined;
  try {
    plan = JSON.parse(result.stdout) as PlanJson;
  } catch {
    plan = undefined;
  }
  return { plan, result };
}

/** The part of an allocation both sides know: what the pod was given. */
export interface Given {
  readonly pod: string; readonly provider: string; readonly subnet: string; readonly ipAddress: string; readonly macAddress: string;
}

/** The plan's real (not simulated) allocations as `Given` records, sorted. */
export const plannedGiven = (plan: PlanJson): Given[] =>
  sortGiven(plan.allocations.filter((a) => a.simulated !== true).map((a) => ({ pod: a.pod, provider: a.provider, subnet: a.subnet, ipAddress: a.ipAddress, macAddress: a.macAddress })));

interface IpObject {
  readonly metadata: { readonly name: string };
  readonly spec: { readonly podName: string; readonly namespace: string; readonly subnet: string; readonly ipAddress?: string; readonly macAddress?: string };
}
interface PodObject { readonly metadata: { readonly name: string; readonly namespace: string; readonly annotations?: Record<string, string> } }

/** What the controller wrote, as `Given` records: one per pod network whose annotations say
 *  `allocated: "true"`, with the subnet of its IP object (named by the pod, or by its VM for a
 *  KubeVirt VM's pod); sorted. */
export async function writtenGiven(api: ApiServer): Promise<Given[]> {
  const pods = (JSON.parse(await api.kubectlOk(['get', 'pods', '-A', '-o', 'json'])) as { items: PodObject[] }).items;
  const ips = (JSON.parse(await api.kubectlOk(['get', 'ips', '-o', 'json'])) as { items: IpObject[] }).items;
  const out: Given[] = [];
  for (const pod of pods) {
    const a = pod.metadata.annotations ?? {};
    for (const key of Object.keys(a)) {
      const m = /^(.+)\.kubernetes\.io\/allocated$/.exec(key);
      if (m === null || a[key] !== 'true') continue;
      const provider = m[1]!;
      // A KubeVirt VM's pod claims under its VM (`ovn.kubernetes.io/virtualmachine`).
      const owner = a['ovn.kubernetes.io/virtualmachine'] ?? pod.metadata.name;
      const ipName = provider === 'ovn' ? `${owner}.${pod.metadata.namespace}` : `${owner}.${pod.metadata.namespace}.${provider}`;
      const ip = ips.find((i) => i.metadata.name === ipName);
      out.push({
        pod: `${pod.metadata.namespace}/${pod.metadata.name}`, provider, subnet: ip?.spec.subnet ?? `(no IP object ${ipName})`,
        ipAddress: a[`${provider}.kubernetes.io/ip_address`] ?? '', macAddress: a[`${provider}.kubernetes.io/mac_address`] ?? '',
      });
    }
  }
  return sortGiven(out);
}

const sortGiven = (list: Given[]): Given[] =>
  list.sort((x, y) => (x.pod === y.pod ? (x.provider < y.provider ? -1 : x.provider > y.provider ? 1 : 0) : x.pod < y.pod ? -1 : 1));
