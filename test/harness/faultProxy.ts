// An HTTPS proxy in front of the real kube-apiserver that injects the faults a client meets on
// a bad day, for the chaos test (issue 14). It serves the API server's own certificate (SAN
// 127.0.0.1), so a kubeconfig differs from the API server's only in its port, and it forwards
// every request with its headers (the bearer token included) to the API server.
//
// Rules:
// - Faults are drawn per request from a seeded generator, only while `faults` is on, and only
//   for requests that are not watches:
//   - `error500`: answered 500 InternalError at once, nothing forwarded;
//   - `conflict409`: a write answered 409 Conflict at once, nothing forwarded (a create told
//     "already exists" is `alreadyExists409`);
//   - `lostAnswer`: forwarded, and once the API server has answered, the connection is dropped
//     without the answer, as when a request times out after the write landed;
//   - `slow`: forwarded after a pause of up to `slowMs`.
// - A watch is forwarded as a stream; while `faults` is on it may be cut after a random time
//   (the client must re-watch, and may be told 410 Gone).
// - An API server that cannot be reached (restarting) is a 503, as from a load balancer.
// - Every injected fault is counted by kind (`counts`).
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ApiServer } from './apiserver.js';

export type FaultKind = 'error500' | 'conflict409' | 'alreadyExists409' | 'lostAnswer' | 'slow' | 'watchCut' | 'unreachable503';

export interface FaultRates {
  /** Probability per non-watch request of each fault; the rest are forwarded as they are. */
  readonly error500: number;
  readonly conflict409: number;
  readonly lostAnswer: number;
  readonly slow: number;
  /** Probability that a watch is cut (after up to `watchCutMs`). */
  readonly watchCut: number;
}

export interface FaultProxyOptions {
  readonly rates: FaultRates;
  /** The longest pause of a `slow` request; default 2 s. */
  readonly slowMs?: number;
  /** The longest a cut watch lives; default 10 s. */
  readonly watchCutMs?: number;
  /** Seed of the fault draws; default 1. */
  readonly seed?: number;
}

export interface FaultProxy {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string;
  /** A kubeconfig as the API server's, with the proxy's URL. */
  readonly kubeconfigPath: string;
  /** Injected faults so far, by kind. */
  readonly counts: Readonly<Record<FaultKind, number>>;
  /** Whether faults are injected (unreachable-503 is not a choice: it always applies). */
  faults: boolean;
  stop(): Promise<void>;
}

/** mulberry32: a small seeded generator, so a run's faults can be replayed. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
};

const status = (res: ServerResponse, code: number, reason: string, message: string): void => {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

const isWatch = (url: string): boolean => /[?&]watch=(true|1)(&|$)/.test(url);
const isWrite = (method: string): boolean => method !== 'GET' && method !== 'HEAD';

/** Starts the proxy in front of `api` on a free port of 127.0.0.1. */
export async function startFaultProxy(api: ApiServer, options: FaultProxyOptions): Promise<FaultProxy> {
  const random = seededRandom(options.seed ?? 1);
  const ca = readFileSync(api.caPath, 'utf8');
  const upstream = new URL(api.url);
  const counts: Record<FaultKind, number> = { error500: 0, conflict409: 0, alreadyExists409: 0, lostAnswer: 0, slow: 0, watchCut: 0, unreachable503: 0 };
  const open = new Set<IncomingMessage>();

  const forward = (req: IncomingMessage, res: ServerResponse, then: 'answer' | 'drop', cutAfterMs?: number): void => {
    const out = request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, ca,
      headers: { ...req.headers, host: upstream.host },
    }, (answer) => {
      if (then === 'drop') {
        answer.resume();
        answer.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      // The API server went away mid-answer (a watch when it is killed): so does the client's
      // connection, as it would without a proxy between them.
      answer.on('close', () => {
        if (!answer.complete) res.socket?.destroy();
      });
      if (cutAfterMs !== undefined) {
        const timer = setTimeout(() => {
          counts.watchCut++;
          answer.destroy();
          res.socket?.destroy();
        }, cutAfterMs);
        answer.on('close', () => clearTimeout(timer));
      }
    });
    out.on('error', (e) => {
      if (process.env['FAULT_PROXY_DEBUG'] === '1') process.stderr.write(`fault proxy: ${req.method} ${req.url}: ${e.message}\n`);
      if (res.headersSent) {
        res.socket?.destroy();
        return;
      }
      counts.unreachable503++;
      status(res, 503, 'ServiceUnavailable', 'injected: the API server cannot be reached');
    });
    // The client went away before its answer (a request's 'close' only says its body was read).
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    open.add(req);
    res.on('close', () => open.delete(req));
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    if (isWatch(url)) {
      const cut = proxy.faults && random() < options.rates.watchCut;
      forward(req, res, 'answer', cut ? Math.floor(random() * (options.watchCutMs ?? 10_000)) : undefined);
      return;
    }
    if (!proxy.faults) {
      forward(req, res, 'answer');
      return;
    }
    const r = options.rates;
    let x = random();
    const take = (p: number): boolean => {
      if (x < p) return true;
      x -= p;
      return false;
    };
    if (take(r.error500)) {
      counts.error500++;
      req.resume();
      status(res, 500, 'InternalError', 'injected: an internal error');
    } else if (isWrite(method) && take(r.conflict409)) {
      req.resume();
      if (method === 'POST') {
        counts.alreadyExists409++;
        status(res, 409, 'AlreadyExists', 'injected: already exists');
      } else {
        counts.conflict409++;
        status(res, 409, 'Conflict', 'injected: the object has been modified; please apply your changes to the latest version and try again');
      }
    } else if (take(r.lostAnswer)) {
      counts.lostAnswer++;
      forward(req, res, 'drop');
    } else if (take(r.slow)) {
      counts.slow++;
      req.pause();
      setTimeout(() => forward(req, res, 'answer'), Math.floor(random() * (options.slowMs ?? 2_000)));
    } else {
      forward(req, res, 'answer');
    }
  };

  const server: Server = createServer({ cert: readFileSync(`${api.dir}/apiserver.crt`), key: readFileSync(`${api.dir}/apiserver.key`) }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfigPath = `${api.dir}/kubeconfig-proxy-${(server.address() as AddressInfo).port}`;
  const kubeconfig = JSON.parse(readFileSync(api.kubeconfigPath, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  for (const c of kubeconfig.clusters) c.cluster.server = url;
  writeFileSync(kubeconfigPath, JSON.stringify(kubeconfig, null, 2), { mode: 0o600 });

  const proxy: FaultProxy = {
    url,
    kubeconfigPath,
    counts,
    faults: false,
    stop: () => new Promise<void>((resolve) => {
      for (const req of open) req.socket.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  return proxy;
}
