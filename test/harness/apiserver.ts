// A real kube-apiserver backed by a real etcd, started from scratch for one test file
// (DESIGN.md §4: "kube-apiserver + etcd, not a fake API server"). The recipe and its pitfalls
// are in scripts/README-harness-notes.md.
//
// Rules:
// - Everything lives in one temp dir (etcd data, serving cert, token file, kubeconfig, logs,
//   kubectl's discovery cache); the dir and both processes are tracked by the reaper the moment
//   they exist, so a killed test run leaves nothing behind.
// - Ports are free loopback ports (bind to port 0, close); a start that loses the race for a
//   port ("address already in use") is retried with fresh ports.
// - Readiness is asked, never assumed: etcd's /health, then the apiserver's /readyz over TLS
//   verified against our own cert. A process that dies or a timeout fails the start with the
//   tail of that process's log. Then the project's CRDs (config/crd/*.yaml) are applied and
//   waited for (Established and served), and the `default` namespace exists.
// - `stop()` stops the apiserver first (SIGTERM, wait, SIGKILL) and only then etcd: an
//   apiserver whose etcd is gone retries for minutes before it exits. It is idempotent, and
//   `startApiServer` calls it itself when starting fails.
// - With `controllerManager`, kube-controller-manager (controllerManager.ts) starts once the
//   apiserver is ready, beside the CRDs, is ready when its /healthz lists every controller asked
//   for, and is stopped first (before the apiserver).
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { runOk, sleep } from './exec.js';
import { etcdBinary, kubeApiserverBinary, kubectlBinary, kubectlFor, type Kubectl, type KubectlOptions } from './kubectl.js';
import { controllerManagerArgv, controllerManagerHealthy, DEFAULT_CONTROLLERS, kubeControllerManagerBinary } from './controllerManager.js';
import { launch, StartFailure, tail, terminate, waitReady, type Proc } from './proc.js';
import { makeTempDir } from './tmp.js';

/** The project's CRDs, applied by default. */
// The repository's config/crd, from test/harness or from its compiled copy in dist/test/harness.
const here = fileURLToPath(new URL('.', import.meta.url));
export const CRD_DIR = `${here.includes('/dist/test/') ? here.slice(0, here.lastIndexOf('/dist/test/')) : fileURLToPath(new URL('../..', import.meta.url))}/config/crd/`;

export interface ApiServerOptions {
  /** Apply `config/crd/*.yaml` and wait until each is Established and served; default true. */
  readonly crds?: boolean;
  /** Per readiness step (etcd, apiserver, CRDs); default 60 s. */
  readonly timeoutMs?: number;
  /** Appended to the kube-apiserver command line (a later flag wins; a list flag adds). */
  readonly extraArgs?: readonly string[];
  /** Keep the ServiceAccount admission plugin (pods get their ServiceAccount's token mounted;
   *  a namespace's pods need its `default` ServiceAccount, made by the controller manager's
   *  serviceaccount-controller). Default false: it is disabled. */
  readonly serviceAccounts?: boolean;
  /**
   * Also run kube-controller-manager (real Deployments, ReplicaSets, StatefulSets; pods stay
   * Pending and unbound). `true` runs the DEFAULT_CONTROLLERS; default false.
   */
  readonly controllerManager?: boolean | {
    /** Names as `--controllers` takes them; default DEFAULT_CONTROLLERS. */
    readonly controllers?: readonly string[];
    /** Appended to its command line. */
    readonly extraArgs?: readonly string[];
  };
}

type Component = 'kube-apiserver' | 'etcd' | 'kube-controller-manager';

export interface ApiServer {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** A bearer token of the user `admin` in group `system:masters`. */
  readonly token: string;
  /** A kubeconfig (context `kube-ovn-ipam-test`) with `url`, the serving cert as CA, and `token`. */
  readonly kubeconfigPath: string;
  /** The self-signed serving certificate (SAN 127.0.0.1, localhost), usable as the CA. */
  readonly caPath: string;
  /** `http://127.0.0.1:<port>`, etcd's client URL. */
  readonly etcdUrl: string;
  /** The temp dir holding everything; removed by `stop()`. */
  readonly dir: string;
  /** The processes (for leak checks); `kubeControllerManager` only when it was asked for. */
  readonly pids: { readonly kubeApiserver: number; readonly etcd: number; readonly kubeControllerManager?: number };
  /** Milliseconds from `startApiServer` to /readyz ok, and to fully ready (CRDs, namespace,
   *  and the controller manager when asked for). */
  readonly startup: { readonly readyMs: number; readonly totalMs: number };
  /** kubectl with `--kubeconfig`; never throws for a failing kubectl. */
  readonly kubectl: Kubectl;
  /** kubectl that rejects unless it exits 0 (naming argv and stderr); resolves with stdout. */
  kubectlOk(args: readonly string[], options?: KubectlOptions): Promise<string>;
  /** The last `lines` lines of the kube-apiserver log (or `etcd`'s, or the controller manager's). */
  logTail(lines?: number, which?: Component): string;
  /** Stops kube-apiserver (SIGKILL with `kill`, else SIGTERM) and starts it again on the same
   *  port with the same etcd and flags; resolves once /readyz says ok. Clients see refused
   *  connections meanwhile, as from a crashed or upgraded API server. */
  restartApiserver(options?: { readonly kill?: boolean }): Promise<void>;
  /** Stops the controller manager (if any), the apiserver, then etcd, then removes the temp
   *  dir; idempotent. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (free when this returns; a race is handled by retrying). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}

/** A free port below the kernel's ephemeral range (32768 and up here), for a server restarted on
 *  its port: no client socket can hold it as its source port meanwhile. A client that keeps
 *  connecting to a dead server's ephemeral port can even be given that very port and connect to
 *  itself (TCP simultaneous open), which held kube-apiserver's port in a chaos run. */
export async function stablePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
    if (attempt >= 50) throw new Error('stablePort: no free port in 20000-29999 after 50 tries');
  }
}

/** GET `url` over TLS trusting only `ca`; resolves with status and body. */
function httpsGet(url: string, ca: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { Authorization: `Bearer ${token}` }, timeout: 2_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: no answer in 2 s`)));
    req.on('error', reject);
    req.end();
  });
}

const ATTEMPTS = 3;

/** Starts etcd until it is healthy, retrying with fresh ports when one was taken meanwhile. */
async function startEtcd(binary: string, dir: string, timeoutMs: number): Promise<{ proc: Proc; url: string }> {
  for (let attempt = 1; ; attempt++) {
    const [client, peer] = [await freePort(), await freePort()];
    const url = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const proc = launch('etcd', [binary, '--name', 'test', '--data-dir', `${dir}/etcd-${attempt}`,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `test=${peerUrl}`], `${dir}/etcd.log`);
    try {
      await waitReady(proc, `etcd's /health at ${url}`, async () => {
        const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2_000) });
        return res.ok && (await res.json() as { health?: string }).health === 'true';
      }, timeoutMs);
      return { proc, url };
    } catch (e) {
      await terminate(proc, 2_000);
      if (!(e instanceof StartFailure && e.portInUse && attempt < ATTEMPTS)) throw e;
    }
  }
}

/** Starts kube-apiserver until /readyz says ok, retrying with a fresh port when one was taken. */
async function startKubeApiserver(
  binary: string, dir: string, etcdUrl: string, token: string, extraArgs: readonly string[], serviceAccounts: boolean, timeoutMs: number,
  fixedPort?: number,
): Promise<{ proc: Proc; url: string }> {
  const ca = readFileSync(`${dir}/apiserver.crt`, 'utf8');
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? await stablePort();
    const url = `https://127.0.0.1:${port}`;
    const proc = launch('kube-apiserver', [binary, `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1', `--secure-port=${port}`,
      `--tls-cert-file=${dir}/apiserver.crt`, `--tls-private-key-file=${dir}/apiserver.key`,
      `--token-auth-file=${dir}/tokens.csv`, '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${dir}/sa.key`, `--service-account-signing-key-file=${dir}/sa.key`,
      '--service-cluster-ip-range=10.96.0.0/12', `--cert-dir=${dir}/certs`,
      // With a loopback advertise address only "none" is accepted (README-harness-notes.md).
      '--endpoint-reconciler-type=none',
      // No controller-manager, so no `default` ServiceAccount: its admission would reject every
      // pod. (A repeated list flag adds to the list: it cannot be undone by extraArgs.)
      ...(serviceAccounts ? [] : ['--disable-admission-plugins=ServiceAccount']),
      ...extraArgs], `${dir}/kube-apiserver.log`);
    try {
      await waitReady(proc, `kube-apiserver's /readyz at ${url}`, async () => {
        const res = await httpsGet(`${url}/readyz`, ca, token);
        if (res.status !== 200) throw new Error(`/readyz answered ${res.status}: ${res.body.trim().split('\n').filter((l) => l.includes('[-]')).join(', ')}`);
        return res.body.trim() === 'ok';
      }, timeoutMs);
      return { proc, url };
    } catch (e) {
      await terminate(proc, 5_000);
      if (!(e instanceof StartFailure && e.portInUse && attempt < ATTEMPTS && fixedPort === undefined)) throw e;
    }
  }
}

/** Starts kube-controller-manager until /healthz lists its controllers, retrying with a fresh
 *  port when one was taken. `procs` holds the process while it runs (so a failing start of
 *  something else stops it too). */
async function startControllerManager(
  binary: string, dir: string, option: Exclude<ApiServerOptions['controllerManager'], undefined | boolean>, timeoutMs: number, procs: Proc[],
): Promise<Proc> {
  const controllers = option.controllers ?? DEFAULT_CONTROLLERS;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const proc = launch('kube-controller-manager', controllerManagerArgv({ binary, dir, port, controllers, extraArgs: option.extraArgs ?? [] }),
      `${dir}/kube-controller-manager.log`);
    procs.push(proc);
    try {
      await waitReady(proc, `kube-controller-manager's /healthz at 127.0.0.1:${port}`, () => controllerManagerHealthy(port, controllers), timeoutMs);
      return proc;
    } catch (e) {
      await terminate(proc, 5_000);
      procs.splice(procs.indexOf(proc), 1);
      if (!(e instanceof StartFailure && e.portInUse && attempt < ATTEMPTS)) throw e;
    }
  }
}

/** Writes the serving cert and key, the service-account key, the token file and the kubeconfig. */
async function writeCredentials(dir: string, url: string | undefined, token: string): Promise<void> {
  if (url !== undefined) {
    writeFileSync(`${dir}/kubeconfig`, JSON.stringify({
      apiVersion: 'v1', kind: 'Config', 'current-context': 'kube-ovn-ipam-test',
      clusters: [{ name: 'test', cluster: { server: url, 'certificate-authority': `${dir}/apiserver.crt` } }],
      users: [{ name: 'admin', user: { token } }],
      contexts: [{ name: 'kube-ovn-ipam-test', context: { cluster: 'test', user: 'admin', namespace: 'default' } }],
    }, null, 2), { mode: 0o600 });
    return;
  }
  // P-256 keys: as good as RSA here and generated in milliseconds.
  await Promise.all([
    runOk(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-days', '2', '-subj', '/CN=kube-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', `${dir}/apiserver.key`, '-out', `${dir}/apiserver.crt`]),
    // SEC1 ("EC PRIVATE KEY"): --service-account-key-file finds no public key in a PKCS#8 one.
    runOk(['openssl', 'ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${dir}/sa.key`]),
  ]);
  writeFileSync(`${dir}/tokens.csv`, `${token},admin,admin,system:masters\n`, { mode: 0o600 });
}

/** Applies the CRDs, waits until each is Established and served, and makes sure `default` exists. */
async function prepareCluster(kubectlOk: ApiServer['kubectlOk'], kubectl: Kubectl, crds: boolean, timeoutMs: number): Promise<void> {
  if (crds) {
    const names = (await kubectlOk(['apply', '-f', CRD_DIR, '-o', 'name'])).split('\n').filter((l) => l !== '');
    await kubectlOk(['wait', '--for=condition=Established', `--timeout=${Math.ceil(timeoutMs / 1000)}s`, ...names],
      { timeoutMs: timeoutMs + 10_000 });
    // Established precedes discovery: wait until every resource is served (`<plural>.<group>`).
    const resources = names.map((n) => n.slice(n.indexOf('/') + 1)).join(',');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await kubectl(['get', resources, '--all-namespaces', '-o', 'name']);
      if (r.code === 0) break;
      if (Date.now() >= deadline) throw new Error(`CRDs not served after ${timeoutMs} ms: ${r.stderr.trim()}`);
      await sleep(100);
    }
    // The apiserver holds every create of a custom resource for 2 s while its CRD became
    // Established less than 2 s ago (apiextensions' crdHandler, "justCreated"). Wait that out
    // here, so no test's first create hides a 2 s pause. The condition's time is truncated to
    // the second, as is the server's own check: 2 s after it is enough.
    type Crd = { status?: { conditions?: { type: string; lastTransitionTime?: string }[] } };
    // One name gives the object itself, several a List.
    const got = JSON.parse(await kubectlOk(['get', ...names, '-o', 'json'])) as Crd & { items?: Crd[] };
    const established = (got.items ?? [got]).map((crd) =>
      Date.parse(crd.status?.conditions?.find((c) => c.type === 'Established')?.lastTransitionTime ?? ''));
    const settled = Math.max(0, ...established.filter((t) => !Number.isNaN(t))) + 2_000 + 100;
    if (settled > Date.now()) await sleep(settled - Date.now());
  }
  const ns = await kubectl(['get', 'namespace', 'default', '-o', 'name']);
  if (ns.code !== 0) {
    const created = await kubectl(['create', 'namespace', 'default']);
    if (created.code !== 0 && !/AlreadyExists/.test(created.stderr)) {
      throw new Error(`creating namespace default: ${created.stderr.trim()}`);
    }
  }
}

/** Starts etcd and kube-apiserver, applies the project's CRDs; see the header for the rules. */
export async function startApiServer(options: ApiServerOptions = {}): Promise<ApiServer> {
  const begin = Date.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  // Resolve every binary first: a missing one must fail with how to get it, before any work.
  const apiserverBin = kubeApiserverBinary();
  const etcdBin = etcdBinary();
  kubectlBinary();
  const kcm = options.controllerManager === undefined || options.controllerManager === false ? undefined
    : { binary: kubeControllerManagerBinary(), option: options.controllerManager === true ? {} : options.controllerManager };
  const tmp = makeTempDir('apiserver');
  const dir = tmp.path;
  const procs: Proc[] = [];
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const errors: string[] = [];
      // Controller manager, then apiserver (its shutdown needs etcd), then etcd.
      for (const p of [...procs].reverse()) {
        const error = await terminate(p, p.name === 'kube-apiserver' ? 10_000 : 5_000);
        if (error !== undefined) errors.push(error);
      }
      if (errors.length > 0) throw new Error(`ApiServer.stop: ${errors.join('; ')} (left for the reaper)`);
      tmp.remove();
    })();
    return stopping;
  };

  try {
    const token = randomBytes(24).toString('hex');
    mkdirSync(`${dir}/certs`);
    await writeCredentials(dir, undefined, token);
    const etcd = await startEtcd(etcdBin, dir, timeoutMs);
    procs.push(etcd.proc);
    let apiserver = await startKubeApiserver(apiserverBin, dir, etcd.url, token, options.extraArgs ?? [], options.serviceAccounts ?? false, timeoutMs);
    procs.push(apiserver.proc);
    const readyMs = Date.now() - begin;
    await writeCredentials(dir, apiserver.url, token);
    const { kubectl, kubectlOk } = kubectlFor(`${dir}/kubeconfig`, `${dir}/kubectl-cache`);
    // The controller manager starts beside the CRDs (it needs neither them nor `default`).
    const [, controllerManager] = await Promise.all([
      prepareCluster(kubectlOk, kubectl, options.crds ?? true, timeoutMs),
      kcm === undefined ? undefined : startControllerManager(kcm.binary, dir, kcm.option, timeoutMs, procs),
    ]);
    const logs: Record<Component, string> = {
      'kube-apiserver': `${dir}/kube-apiserver.log`, etcd: `${dir}/etcd.log`, 'kube-controller-manager': `${dir}/kube-controller-manager.log`,
    };
    return {
      url: apiserver.url,
      token,
      kubeconfigPath: `${dir}/kubeconfig`,
      caPath: `${dir}/apiserver.crt`,
      etcdUrl: etcd.url,
      dir,
      pids: {
        kubeApiserver: apiserver.proc.pid, etcd: etcd.proc.pid,
        ...(controllerManager === undefined ? {} : { kubeControllerManager: controllerManager.pid }),
      },
      startup: { readyMs, totalMs: Date.now() - begin },
      kubectl,
      kubectlOk,
      logTail: (lines = 30, which = 'kube-apiserver') => tail(logs[which], lines),
      restartApiserver: async ({ kill = false } = {}) => {
        const old = apiserver.proc;
        if (kill) {
          try {
            process.kill(old.pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        const error = await terminate(old, 10_000);
        if (error !== undefined) throw new Error(`restartApiserver: ${error}`);
        procs.splice(procs.indexOf(old), 1);
        const port = Number(new URL(apiserver.url).port);
        apiserver = await startKubeApiserver(apiserverBin, dir, etcd.url, token, options.extraArgs ?? [], options.serviceAccounts ?? false, timeoutMs, port);
        procs.splice(procs.indexOf(etcd.proc) + 1, 0, apiserver.proc);
      },
      stop,
    };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}
