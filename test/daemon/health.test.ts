// The daemon's health and metrics endpoint (src/cli/daemon.ts with the controller's
// serveHealth), in-process with the command's own wiring against a real kube-apiserver:
// - /healthz answers 200 as soon as the daemon runs, also while the API server answers nothing;
// - /readyz answers 503 until pods and Subnets have been listed (the API server is frozen while
//   the daemon starts), then 200;
// - /metrics counts CNI requests per command and outcome exactly and has the process metrics;
// - a taken port fails the command's start with exit 1, naming --listen, before any socket.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { runCli } from '../../src/cli/commands.js';
import { startNodeDaemon, type RunningDaemon } from '../../src/cli/daemon.js';
import type { CliIo } from '../../src/cli/io.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { sleep, waitFor } from '../harness/exec.js';
import { postJson, quietLog } from '../harness/inProcess.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

let api: ApiServer;
let tmp: TempDir;
let running: RunningDaemon | undefined;

const get = async (listen: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> => {
  const res = await fetch(`http://${listen}${path}`, { method, signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
};

/** The value of the sample `name` whose labels are exactly `labels`, from Prometheus text. */
const sample = (text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined => {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]);
    if (JSON.stringify(got.sort()) === want) return Number(m[3]);
  }
  return undefined;
};

const add = (over: Record<string, unknown>): Record<string, unknown> => ({
  cni_type: 'kube-ovn', pod_name: 'p', pod_namespace: 'default', container_id: 'c0ffee', net_ns: '', if_name: 'net1', provider: 'nope.default', ...over,
});

beforeAll(async () => {
  api = await startApiServer();
  tmp = makeTempDir('daemon-health');
}, 120_000);

afterAll(async () => {
  await running?.stop();
  await api?.stop();
  tmp?.remove();
}, 60_000);

describe('daemon /healthz, /readyz, /metrics', () => {
  let listen: string;
  let socket: string;

  it('/healthz is 200 at once; /readyz is 503 until pods and Subnets are listed, then 200', async () => {
    socket = `${tmp.path}/kube-ovn-daemon.sock`;
    process.kill(api.pids.kubeApiserver, 'SIGSTOP');
    try {
      running = await startNodeDaemon({
        kubeconfig: api.kubeconfigPath, nodeName: 'node-a', socket, mtu: 1400, bridge: 'br-int',
        ovnInstalledTimeoutMs: 0, defaultDeadlineMs: 5_000, listen: { host: '127.0.0.1', port: 0 },
      }, quietLog());
      expect(running.listen).toMatch(/^127\.0\.0\.1:\d+$/);
      listen = running.listen!;
      expect(await get(listen, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
      expect(await get(listen, '/readyz')).toEqual({ status: 503, body: 'not ready: pods and Subnets not listed yet\n' });
      await sleep(300);
      expect(await get(listen, '/readyz')).toEqual({ status: 503, body: 'not ready: pods and Subnets not listed yet\n' });
    } finally {
      process.kill(api.pids.kubeApiserver, 'SIGCONT');
    }
    await waitFor('/readyz 200', async () => ((await get(listen, '/readyz')).status === 200 ? true : undefined), { timeoutMs: 15_000 });
    expect(await get(listen, '/readyz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(listen, '/healthz')).toEqual({ status: 200, body: 'ok\n' });
    expect(await get(listen, '/nope')).toEqual({ status: 404, body: '' });
    expect(await get(listen, '/healthz', 'POST')).toEqual({ status: 405, body: '' });
  }, 40_000);

  it('/metrics counts CNI requests by command and outcome, with the process metrics', async () => {
    const before = (await get(listen, '/metrics')).body;
    expect(sample(before, 'kube_ovn_ipam_cni_requests_total', { command: 'add', outcome: 'UnknownProvider' })).toBeUndefined();
    expect((await postJson(socket, '/api/v1/add', add({}))).status).toBe(400);
    expect((await postJson(socket, '/api/v1/add', add({ pod_name: 'q' }))).status).toBe(400);
    expect((await postJson(socket, '/api/v1/add', add({ pod_name: '' }))).status).toBe(400);
    const res = await get(listen, '/metrics');
    expect(res.status).toBe(200);
    const text = res.body;
    expect({
      unknownProvider: sample(text, 'kube_ovn_ipam_cni_requests_total', { command: 'add', outcome: 'UnknownProvider' }),
      invalid: sample(text, 'kube_ovn_ipam_cni_requests_total', { command: 'add', outcome: 'InvalidRequest' }),
      ok: sample(text, 'kube_ovn_ipam_cni_requests_total', { command: 'add', outcome: 'ok' }),
      durationCount: sample(text, 'kube_ovn_ipam_cni_request_seconds_count', { command: 'add', outcome: 'UnknownProvider' }),
      durationInf: sample(text, 'kube_ovn_ipam_cni_request_seconds_bucket', { command: 'add', outcome: 'UnknownProvider', le: '+Inf' }),
      durationUnder5s: sample(text, 'kube_ovn_ipam_cni_request_seconds_bucket', { command: 'add', outcome: 'UnknownProvider', le: '5' }),
    }).toEqual({ unknownProvider: 2, invalid: 1, ok: undefined, durationCount: 2, durationInf: 2, durationUnder5s: 2 });
    expect(sample(text, 'kube_ovn_ipam_daemon_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(text).toContain('# TYPE kube_ovn_ipam_cni_request_seconds histogram');
  }, 20_000);

  it('stop() closes the endpoint and removes the socket', async () => {
    await running?.stop();
    running = undefined;
    await expect(get(listen, '/healthz')).rejects.toThrow();
    expect(existsSync(socket)).toBe(false);
  }, 20_000);

  it('a taken --listen port: exit 1 naming the flag, and no socket made', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const io: CliIo & { out: string; err: string } = { out: '', err: '', stdout: (t) => void (io.out += t), stderr: (t) => void (io.err += t), readStdin: async () => '' };
    const other = `${tmp.path}/other.sock`;
    try {
      const code = await runCli(['daemon', '--kubeconfig', api.kubeconfigPath, '--bind-socket', other, '--listen', `127.0.0.1:${port}`, '--log-level', 'error'], io);
      expect({ code, err: io.err }).toEqual({ code: 1, err: `kube-ovn-ipam daemon: --listen 127.0.0.1:${port}: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n` });
      expect(existsSync(other)).toBe(false);
    } finally {
      taken.close();
    }
  }, 20_000);
});
