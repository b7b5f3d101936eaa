// The daemon's socket (DESIGN §3.6): HTTP over a unix socket, Kube-OVN's paths and JSON.
//
// Rules:
// - `POST /api/v1/add` answers 200 with a CniResponse; `POST /api/v1/del` answers 204. Every
//   failure answers a CniResponse `{error, code}`: 400 for a request we cannot use (bad JSON,
//   a field of the wrong type: code 6 or 7), 404/405 for another path or method, else the
//   status the daemon's error maps to (cniErrorOf).
// - The request JSON is decoded here, at the edge: unknown fields are ignored, the string
//   fields Kube-OVN's plugin always sends default to "" when missing, and a field of the wrong
//   type is named.
// - The socket's directory is created; a stale socket file is removed (anything else at that
//   path is left alone and reported); the socket is chmod 0600 right after listen.
// - close() stops accepting, lets answered connections finish, and removes the socket file.
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import * as t from 'io-ts';
import type { CniRequest, CniResponse } from '../domain/cni/Protocol.js';
import { CniCode } from '../domain/cni/Protocol.js';
import { decodeObject } from '../domain/schema/decode.js';
import { struct } from '../domain/schema/primitives.js';
import type { DaemonError } from '../effects/DaemonErrors.js';
import { cniErrorOf } from '../effects/DaemonErrors.js';
import type { Log } from '../effects/ports.js';

export const ADD_PATH = '/api/v1/add';
export const DEL_PATH = '/api/v1/del';
const MAX_BODY = 1 << 20;

/** What the server calls: the Daemon, or anything shaped like it. */
export interface CniService {
  add(req: CniRequest): Promise<E.Either<DaemonError, CniResponse>>;
  del(req: CniRequest): Promise<E.Either<DaemonError, void>>;
}

export interface DaemonServer {
  readonly path: string;
  close(): Promise<void>;
}

const RouteJson = struct({}, { dst: t.string, gw: t.string });
const RequestJson = struct({}, {
  cni_type: t.string, pod_name: t.string, pod_namespace: t.string, container_id: t.string, net_ns: t.string,
  if_name: t.string, provider: t.string, routes: t.readonlyArray(RouteJson), dns: t.unknown,
  pod_uid: t.string, mac: t.string, deadline_ms: t.number, check: t.boolean,
});

/** The CniRequest in a request body, or why there is none. */
export function decodeCniRequest(body: string): E.Either<CniResponse, CniRequest> {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (e) {
    return E.left({ error: `the request body is not JSON: ${e instanceof Error ? e.message : String(e)}`, code: CniCode.DecodeFailure });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return E.left({ error: 'the request body must be a JSON object (a CniRequest)', code: CniCode.DecodeFailure });
  }
  const decoded = decodeObject(RequestJson, json, 'CNI request');
  if (E.isLeft(decoded)) return E.left({ error: decoded.left.message, code: CniCode.InvalidConfig });
  const r = decoded.right;
  return E.right({
    cni_type: r.cni_type ?? '', pod_name: r.pod_name ?? '', pod_namespace: r.pod_namespace ?? '', container_id: r.container_id ?? '',
    net_ns: r.net_ns ?? '', if_name: r.if_name ?? '', provider: r.provider ?? '',
    ...(r.routes === undefined ? {} : { routes: r.routes }),
    ...(r.dns === undefined ? {} : { dns: r.dns }),
    ...(r.pod_uid === undefined ? {} : { pod_uid: r.pod_uid }),
    ...(r.mac === undefined ? {} : { mac: r.mac }),
    ...(r.deadline_ms === undefined ? {} : { deadline_ms: r.deadline_ms }),
    ...(r.check === undefined ? {} : { check: r.check }),
  });
}

/** Removes a stale socket at `path`; refuses to remove anything that is not a socket. */
function clearSocketPath(path: string): void {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${path} exists and is not a socket; remove it or choose another --bind-socket`);
  rmSync(path);
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body?: CniResponse): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** Listens on the unix socket `path` and serves `service` until close(). */
export async function serveDaemon(path: string, service: CniService, log: Log): Promise<DaemonServer> {
  mkdirSync(dirname(path), { recursive: true });
  clearSocketPath(path);

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = (req.url ?? '').split('?')[0];
    if (url !== ADD_PATH && url !== DEL_PATH) return send(res, 404, { error: `no such endpoint ${req.method ?? ''} ${url ?? ''} (use POST ${ADD_PATH} or ${DEL_PATH})`, code: CniCode.InvalidConfig });
    if (req.method !== 'POST') return send(res, 405, { error: `${url} takes POST, not ${req.method ?? ''}`, code: CniCode.InvalidConfig });
    const body = await readBody(req);
    if (body === undefined) return send(res, 413, { error: `the request body is larger than ${MAX_BODY} bytes`, code: CniCode.InvalidConfig });
    const decoded = decodeCniRequest(body);
    if (E.isLeft(decoded)) return send(res, 400, decoded.left);
    const cni = decoded.right;
    const started = Date.now();
    const fields = { pod: `${cni.pod_namespace}/${cni.pod_name}`, ifName: cni.if_name, provider: cni.provider, container: cni.container_id.slice(0, 12) };
    if (url === ADD_PATH) {
      const result = await service.add(cni);
      if (E.isRight(result)) {
        log.info('ADD', { ...fields, ms: Date.now() - started });
        return send(res, 200, result.right);
      }
      const { status, response } = cniErrorOf(result.left);
      log.warn('ADD failed', { ...fields, ms: Date.now() - started, status, error: response.error });
      return send(res, status, response);
    }
    const result = await service.del(cni);
    if (E.isRight(result)) {
      log.info('DEL', { ...fields, ms: Date.now() - started });
      return send(res, 204);
    }
    const { status, response } = cniErrorOf(result.left);
    log.warn('DEL failed', { ...fields, ms: Date.now() - started, status, error: response.error });
    return send(res, status, response);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error('request failed', { error: err instanceof Error ? err.stack ?? err.message : String(err) });
      if (!res.headersSent) send(res, 500, { error: `internal error: ${err instanceof Error ? err.message : String(err)}`, code: CniCode.TryAgainLater });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  log.info('listening', { socket: path });

  let closed: Promise<void> | undefined;
  return {
    path,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }).then(() => rmSync(path, { force: true }));
      return closed;
    },
  };
}
