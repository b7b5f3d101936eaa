// The health and metrics endpoints of the controller and the daemon: GET /healthz (the process
// runs), /readyz (what `ready` says: for the controller the leader's caches are synced, and a
// follower is ready as it is since it stands by; for the daemon its socket is bound and its
// watches have listed), /metrics (Prometheus text).
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSources {
  readonly ready: () => boolean;
  /** The body of a 503 /readyz; default `not ready: caches not synced`. */
  readonly notReady?: () => string;
  readonly registry: Registry;
}

export const serveHealth = (host: string, port: number, sources: HealthSources): Promise<Server> => {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ok = sources.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : `${sources.notReady?.() ?? 'not ready: caches not synced'}\n`);
    } else if (path === '/metrics') {
      sources.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': sources.registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
};
