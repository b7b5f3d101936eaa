// The chaos run of issue 14, shared by its short form in the tests (test/chaos/) and its long
// form in `npm run chaos` (bench/chaos.ts): pods with three networks each are created, given
// their attachment addresses by CNI ADDs and deleted again, many at a time, while the
// controller is SIGKILLed and restarted, the API server is SIGKILLed and restarted, the node
// daemon is SIGKILLed during ADDs, and every request of ours meets injected 500s, 409s, lost
// answers, slow answers and cut watches (test/harness/faultProxy.ts). Then the faults stop and
// the run waits until every live pod is allocated, and judges the end state.
//
// What runs, all real: kube-apiserver and etcd, OVN's northbound database (the controller
// keeps a logical switch port per eth0), the built controller and daemon as processes (behind
// the fault proxy), and the built `kube-ovn` plugin executable, invoked as the IPAM plugin of
// the seed's macvlan NAD and of a second one (`macvlan2`), as macvlan invokes it: the NAD's
// config on stdin, CNI_ARGS as Multus sets them (K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_INFRA_CONTAINER_ID, K8S_POD_UID). Left out: macvlan itself (its link is not what is
// tested here) and eth0's ADD (OVN plumbing of 2,000 network namespaces); eth0's allocation and
// its OVN port are still made and judged. A code 11 (try again) is retried as kubelet retries
// a sandbox; any other failure is a finding.
//
// The end state is judged by `kube-ovn-ipam audit` (exit 0, no finding) and by what audit
// cannot know: every live pod's last ADD answer is the address its annotation holds now.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { invokeCni } from './cni.js';
import { startApiServer, type ApiServer } from './apiserver.js';
import { buildCli, CLI_MAIN, REPO_ROOT, startController, type ControllerProcess } from './controllerProcess.js';
import { run, runOk, sleep, waitFor } from './exec.js';
import { seededRandom, startFaultProxy, type FaultKind, type FaultProxy, type FaultRates } from './faultProxy.js';
import { startOvs, type OvsEnv } from './ovs.js';
import { makeTempDir, type TempDir } from './tmp.js';

export const PLUGIN = `${REPO_ROOT}dist/cni/kube-ovn`;
const EXAMPLES = `${REPO_ROOT}examples/macvlan-ipam/`;
const NODE = 'chaos-node';
const NS = 'default';
/** The attachments of every pod: interface, NAD, provider. */
const ATTACHMENTS = [
  { ifName: 'net1', nad: 'macvlan', provider: 'macvlan.default' },
  { ifName: 'net2', nad: 'macvlan2', provider: 'macvlan2.default' },
] as const;
const PROVIDERS = ['ovn', ...ATTACHMENTS.map((a) => a.provider)] as const;

export interface ChaosOptions {
  /** Pod creations in all. */
  readonly pods: number;
  /** Pods in flight at once. */
  readonly concurrency: number;
  /** Share of pods deleted again during the run (the rest live to the end). */
  readonly deleteShare: number;
  /** Share of creations that reuse the name of a pod deleted earlier. */
  readonly sameNameShare: number;
  readonly controllerKills: number;
  readonly daemonKills: number;
  readonly apiRestarts: number;
  readonly rates: FaultRates;
  readonly seed: number;
  /** Progress lines. */
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly created: number;
  readonly deleted: number;
  readonly sameName: number;
  readonly livePods: number;
  readonly adds: number;
  /** ADDs answered code 11 (and tried again). */
  readonly addRetries: number;
  readonly dels: number;
  readonly controllerKills: number;
  readonly daemonKills: number;
  readonly apiRestarts: number;
  /** Exits of the controller or daemon on their own (each started again, as kubelet would). */
  readonly exits: readonly string[];
  readonly faults: Readonly<Record<FaultKind, number>>;
  /** Pod creation to its last ADD answered, in ms: p50, p99, max. */
  readonly addLatencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
  /** From the start of the workload to its end, and from its end (faults off) to every live
   *  pod allocated and `audit` finding nothing (or its last try). */
  readonly runMs: number;
  readonly convergeMs: number;
  /** `audit --output json`: its exit code and findings. */
  readonly audit: { readonly code: number | null; readonly findings: readonly unknown[]; readonly stderr: string };
  /** Everything the run itself found wrong (ADD failures, answers that are not the annotation). */
  readonly problems: readonly string[];
}

interface PodMeta { readonly name: string; readonly uid: string; readonly annotations?: Readonly<Record<string, string>> }

/** The API server as the test's user: JSON over HTTPS with the admin token, retried while the
 *  API server restarts. */
const userClient = (api: ApiServer) => {
  const ca = readFileSync(api.caPath, 'utf8');
  const once = (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(`${api.url}${path}`, {
      method, ca, timeout: 30_000, agent: false,
      headers: {
        authorization: `Bearer ${api.token}`, accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
  /** Retries connection failures and 5xx for up to 3 minutes (an API server restart). */
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    const deadline = Date.now() + 180_000;
    for (;;) {
      try {
        const r = await once(method, path, body);
        if (r.status < 500 || Date.now() > deadline) return r;
      } catch (e) {
        if (Date.now() > deadline) throw e;
      }
      await sleep(250);
    }
  };
};

const podDoc = (name: string): object => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name, namespace: NS, annotations: { 'k8s.v1.cni.cncf.io/networks': ATTACHMENTS.map((a) => `${NS}/${a.nad}@${a.ifName}`).join(',') } },
  spec: { nodeName: NODE, containers: [{ name: 'c', image: 'pause' }] },
});

const quantile = (sorted: readonly number[], q: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** The NAD of an attachment, with the daemon's socket. */
const nadConfig = (a: (typeof ATTACHMENTS)[number], socket: string): Record<string, unknown> => ({
  cniVersion: '0.3.0', name: a.nad, type: 'macvlan', master: 'eth0', mode: 'bridge',
  ipam: { type: 'kube-ovn', server_socket: socket, provider: a.provider },
});

/** Runs the chaos run; the caller judges the report. Everything it started is stopped. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const random = seededRandom(o.seed);
  const problems: string[] = [];
  const started: { api?: ApiServer; ovs?: OvsEnv; proxy?: FaultProxy; tmp?: TempDir } = {};
  const processes: ControllerProcess[] = [];
  let stopping = false;
  try {
    const [api, ovs] = await Promise.all([
      startApiServer(),
      startOvs({ ovn: 'nb-only' }),
      buildCli(),
      runOk(['bash', `${REPO_ROOT}scripts/build-cni.sh`], { timeoutMs: 300_000 }),
    ]);
    Object.assign(started, { api, ovs });
    const tmp = makeTempDir('chaos');
    started.tmp = tmp;
    const socket = `${tmp.path}/daemon.sock`;
    for (const f of ['00-subnet-ovn-default.yaml', '01-nad-macvlan.yaml', '02-subnet-macvlan.yaml']) {
      await api.kubectlOk(['apply', '-f', `${EXAMPLES}${f}`]);
    }
    await api.kubectlOk(['apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'macvlan2', namespace: NS }, spec: { config: JSON.stringify(nadConfig(ATTACHMENTS[1], socket)) } },
        { apiVersion: 'kubeovn.io/v1', kind: 'Subnet', metadata: { name: 'macvlan2' }, spec: { protocol: 'IPv4', provider: 'macvlan2.default', cidrBlock: '172.18.0.0/16', gateway: '172.18.0.1' } },
      ] }),
    });
    const proxy = await startFaultProxy(api, { rates: o.rates, seed: o.seed });
    started.proxy = proxy;
    const user = userClient(api);

    // Like kubelet with restartPolicy Always: a controller or daemon that exits on its own (a
    // controller that lost its Lease exits 1 by design) is started again, and counted.
    const exits: string[] = [];
    const supervise = (p: ControllerProcess, restart: () => ControllerProcess): ControllerProcess => {
      void p.waitForExit(24 * 3_600_000).then((exit) => {
        if (stopping || exit.signal === 'SIGKILL') return;
        exits.push(`${p.name} exited code=${exit.code} signal=${exit.signal}`);
        o.log(`${p.name} exited (code ${exit.code}); starting it again`);
        restart();
      }, () => undefined);
      return p;
    };
    let controller: ControllerProcess;
    const startCtl = (): ControllerProcess => {
      controller = startController({
        name: `controller-${processes.length}`,
        args: ['--kubeconfig', proxy.kubeconfigPath, '--listen', '127.0.0.1:0', '--identity', 'chaos', '--lease-namespace', NS,
          '--lease-duration', '4s', '--gc-interval', '10s', '--ovn-nb', ovs.db.nb ?? ''],
      });
      processes.push(controller);
      return supervise(controller, startCtl);
    };
    let daemon: ControllerProcess;
    const startDaemon = (): ControllerProcess => {
      daemon = startController({
        command: 'daemon', name: `daemon-${processes.length}`,
        args: ['--kubeconfig', proxy.kubeconfigPath, '--listen', '127.0.0.1:0', '--node-name', NODE, '--bind-socket', socket, '--wait-timeout', '20s'],
      });
      processes.push(daemon);
      return supervise(daemon, startDaemon);
    };
    startCtl();
    startDaemon();
    await daemon!.waitForLog('daemon started', { timeoutMs: 60_000 });
    proxy.faults = true;

    // The disruptions, each at its share of the creations made so far.
    const counts = { controllerKills: 0, daemonKills: 0, apiRestarts: 0 };
    const disruptions: { at: number; what: () => Promise<void> }[] = [];
    const spread = (n: number, offset: number, what: () => Promise<void>): void => {
      for (let j = 0; j < n; j++) disruptions.push({ at: Math.floor(o.pods * ((j + offset) / (n + 1))), what });
    };
    /** SIGKILLs the process `current()` names, counts it, and starts another after up to `pauseMs`. */
    const killAndRestart = (what: 'controller' | 'daemon', current: () => ControllerProcess, start: () => ControllerProcess, pauseMs: number) => async () => {
      const victim = current();
      process.kill(victim.pid, 'SIGKILL');
      await victim.waitForExit(10_000);
      const n = ++counts[what === 'controller' ? 'controllerKills' : 'daemonKills'];
      o.log(`${what} SIGKILLed (${n})`);
      await sleep(Math.floor(random() * pauseMs));
      start();
    };
    spread(o.controllerKills, 1, killAndRestart('controller', () => controller, startCtl, 1_500));
    spread(o.daemonKills, 0.7, killAndRestart('daemon', () => daemon, startDaemon, 1_000));
    spread(o.apiRestarts, 0.5, async () => {
      o.log('kube-apiserver SIGKILLed');
      await api.restartApiserver({ kill: true });
      counts.apiRestarts++;
      o.log(`kube-apiserver restarted (${counts.apiRestarts})`);
    });
    disruptions.sort((a, b) => a.at - b.at);
    const running: Promise<void>[] = [];

    // The workload.
    const live = new Map<string, { uid: string; answers: Map<string, string> }>();
    const freed: string[] = [];
    const latencies: number[] = [];
    const stats = { created: 0, deleted: 0, sameName: 0, adds: 0, addRetries: 0, dels: 0 };
    let next = 0;
    const cni = (command: 'ADD' | 'DEL', name: string, uid: string, containerId: string, a: (typeof ATTACHMENTS)[number]) => invokeCni({
      plugin: PLUGIN, command, containerId, netns: `/var/run/netns/chaos-${containerId.slice(0, 12)}`, ifName: a.ifName,
      args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: NS, K8S_POD_NAME: name, K8S_POD_INFRA_CONTAINER_ID: containerId, K8S_POD_UID: uid },
      netconf: nadConfig(a, socket), timeoutMs: 60_000,
    });
    /** ADD until it is answered (code 11: again, as kubelet retries the sandbox); the address. */
    const add = async (name: string, uid: string, containerId: string, a: (typeof ATTACHMENTS)[number]): Promise<string | undefined> => {
      const deadline = Date.now() + 180_000;
      for (;;) {
        stats.adds++;
        const t0 = Date.now();
        const r = await cni('ADD', name, uid, containerId, a);
        if (process.env['CHAOS_VERBOSE'] === '1' && Date.now() - t0 > 5_000) o.log(`slow ADD ${name} ${a.ifName}: ${Date.now() - t0} ms, exit ${r.code}: ${r.stdout.trim().slice(0, 200)}`);
        const result = r.result as { ips?: { address: string }[]; code?: number; msg?: string } | undefined;
        if (r.code === 0) return result?.ips?.[0]?.address.split('/')[0];
        if (result?.code === 11 && Date.now() < deadline) {
          stats.addRetries++;
          await sleep(200 + Math.floor(random() * 300));
          continue;
        }
        problems.push(`ADD ${name} ${a.ifName}: exit ${r.code}: ${r.stdout.trim()} ${r.stderr.trim()}`.slice(0, 400));
        return undefined;
      }
    };
    const lifeOf = async (): Promise<void> => {
      for (;;) {
        const i = next++;
        if (i >= o.pods) return;
        while (disruptions.length > 0 && disruptions[0]!.at <= i) running.push(disruptions.shift()!.what());
        const reuse = freed.length > 0 && random() < o.sameNameShare;
        const name = reuse ? freed.shift()! : `pod-${i}`;
        if (reuse) stats.sameName++;
        const begin = Date.now();
        let created = await user('POST', `/api/v1/namespaces/${NS}/pods`, podDoc(name));
        // A create retried across an API server restart may have landed the first time.
        if (created.status === 409) created = await user('GET', `/api/v1/namespaces/${NS}/pods/${name}`);
        if (created.status !== 201 && created.status !== 200) {
          problems.push(`create ${name}: ${created.status} ${JSON.stringify(created.json).slice(0, 300)}`);
          continue;
        }
        stats.created++;
        const uid = (created.json as { metadata: PodMeta }).metadata.uid;
        const containerId = `${i.toString(16).padStart(8, '0')}${uid.replace(/-/g, '')}`.slice(0, 40);
        const answers = new Map<string, string>();
        await Promise.all(ATTACHMENTS.map(async (a) => {
          const address = await add(name, uid, containerId, a);
          if (address !== undefined) answers.set(a.provider, address);
        }));
        latencies.push(Date.now() - begin);
        live.set(name, { uid, answers });
        if (random() >= o.deleteShare) continue;
        await sleep(Math.floor(random() * 500));
        await Promise.all(ATTACHMENTS.map(async (a) => {
          // DEL until it succeeds (code 11 while the daemon restarts: again, as kubelet does).
          for (const deadline = Date.now() + 60_000; ;) {
            stats.dels++;
            const r = await cni('DEL', name, uid, containerId, a);
            if (r.code === 0) break;
            if ((r.result as { code?: number } | undefined)?.code !== 11 || Date.now() > deadline) {
              problems.push(`DEL ${name} ${a.ifName}: exit ${r.code}: ${r.stdout.trim()}`.slice(0, 400));
              break;
            }
            await sleep(200);
          }
        }));
        const gone = await user('DELETE', `/api/v1/namespaces/${NS}/pods/${name}?gracePeriodSeconds=0`, { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid } });
        if (gone.status !== 200) problems.push(`delete ${name}: ${gone.status} ${JSON.stringify(gone.json).slice(0, 300)}`);
        stats.deleted++;
        live.delete(name);
        freed.push(name);
        if (stats.created % 50 === 0) o.log(`${stats.created} created, ${stats.deleted} deleted, ${stats.addRetries} ADD retries`);
      }
    };
    const workStart = Date.now();
    await Promise.all(Array.from({ length: o.concurrency }, lifeOf));
    await Promise.all(running);
    const runMs = Date.now() - workStart;
    proxy.faults = false;
    o.log(`workload done in ${runMs} ms; waiting for every live pod to be allocated`);

    // Convergence: every live pod allocated on every network, with what its last ADD answered.
    const convergeStart = Date.now();
    const pods = await waitFor('every live pod allocated on its three networks', async () => {
      const list = await user('GET', `/api/v1/namespaces/${NS}/pods`);
      const items = (list.json as { items: { metadata: PodMeta }[] }).items.map((p) => p.metadata);
      return items.every((p) => PROVIDERS.every((pr) => p.annotations?.[`${pr}.kubernetes.io/allocated`] === 'true')) ? items : undefined;
    }, { timeoutMs: 180_000, intervalMs: 1_000 });
    if (pods.length !== live.size) problems.push(`${pods.length} pods exist, the run left ${live.size}`);
    for (const pod of pods) {
      const mine = live.get(pod.name);
      if (mine === undefined || mine.uid !== pod.uid) {
        problems.push(`pod ${pod.name} (${pod.uid}) is not one the run left`);
        continue;
      }
      for (const a of ATTACHMENTS) {
        const annotated = pod.annotations?.[`${a.provider}.kubernetes.io/ip_address`];
        if (mine.answers.get(a.provider) !== annotated) problems.push(`pod ${pod.name} ${a.ifName}: ADD answered ${mine.answers.get(a.provider)}, the annotation says ${annotated}`);
      }
    }
    // Audit until it finds nothing: a claim whose pod went while a fault hid the deletion is
    // released by the next sweep (--gc-interval 10s), so the last findings count after 90 s.
    const auditArgv = [process.execPath, CLI_MAIN, 'audit', '--kubeconfig', api.kubeconfigPath, '--ovn-nb', ovs.db.nb ?? '', '--output', 'json'];
    let audit = await run(auditArgv, { timeoutMs: 120_000 });
    for (const deadline = Date.now() + 90_000; audit.code !== 0 && Date.now() < deadline; audit = await run(auditArgv, { timeoutMs: 120_000 })) await sleep(2_000);
    const convergeMs = Date.now() - convergeStart;
    let findings: readonly unknown[] = [];
    try {
      findings = (JSON.parse(audit.stdout) as { findings: unknown[] }).findings;
    } catch {
      findings = [`audit printed no JSON: ${audit.stdout.slice(0, 300)}`];
    }
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      ...stats, ...counts, livePods: pods.length, faults: { ...proxy.counts },
      addLatencyMs: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted.at(-1) ?? 0 },
      exits, runMs, convergeMs, audit: { code: audit.code, findings, stderr: audit.stderr.trim().slice(0, 2_000) }, problems,
    };
  } finally {
    stopping = true;
    await Promise.all(processes.map((p) => p.stop()));
    await started.proxy?.stop();
    await started.api?.stop();
    await started.ovs?.stop();
    started.tmp?.remove();
  }
}
