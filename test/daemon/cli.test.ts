// `kube-ovn-ipam daemon` as users run it: the built CLI as a child process against a real
// kube-apiserver. It logs JSON, serves its socket and /healthz, /readyz on --listen, and on
// SIGTERM answers the ADD still waiting (503, code 11), exits 0 and removes its socket. Flags
// are checked in-process.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { runCli } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';
import { startApiServer, type ApiServer } from '../harness/apiserver.js';
import { buildCli, CLI_MAIN } from '../harness/controllerProcess.js';
import { waitFor } from '../harness/exec.js';
import { postJson } from '../harness/inProcess.js';
import { processStartTime, track, untrack } from '../harness/reaper.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const captured = (): CliIo & { out: string; err: string } => {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), readStdin: async () => '' };
  return io;
};

describe('kube-ovn-ipam daemon flags', () => {
  it('prints its help', async () => {
    const io = captured();
    expect(await runCli(['daemon', '--help'], io)).toBe(0);
    expect(io.out).toContain('--bind-socket PATH       the socket (default /run/openvswitch/kube-ovn-daemon.sock)');
    expect(io.out).toContain('--node-name NAME');
    expect(io.out).toContain('--listen HOST:PORT       /healthz, /readyz (socket bound, pods and Subnets listed) and\n                           /metrics (default 0.0.0.0:10665)\n');
  });

  it.each<[readonly string[], string]>([
    [['--mtu', 'big'], 'kube-ovn-ipam daemon: --mtu "big": expected an integer from 68 to 65535\n'],
    [['--wait-timeout', '0s'], 'kube-ovn-ipam daemon: --wait-timeout "0s": expected a positive duration such as 30s\n'],
    [['--listen', '10665'], 'kube-ovn-ipam daemon: --listen "10665": expected HOST:PORT with a port from 0 to 65535\n'],
    [['--listen', 'localhost:70000'], 'kube-ovn-ipam daemon: --listen "localhost:70000": expected HOST:PORT with a port from 0 to 65535\n'],
    [['--nope'], "kube-ovn-ipam daemon: unknown flag --nope\nRun 'kube-ovn-ipam daemon --help' for usage.\n"],
    [['extra'], 'kube-ovn-ipam daemon: unexpected argument "extra"\nRun \'kube-ovn-ipam daemon --help\' for usage.\n'],
  ])('refuses %j with exit 2', async (args, message) => {
    const io = captured();
    expect(await runCli(['daemon', ...args], io)).toBe(2);
    expect(io.err).toBe(message);
  });
});

describe('kube-ovn-ipam daemon process', () => {
  let api: ApiServer;
  let tmp: TempDir;
  let child: ChildProcess | undefined;
  let trackId: number | undefined;

  beforeAll(async () => {
    [api] = await Promise.all([startApiServer(), buildCli()]);
    tmp = makeTempDir('daemon-cli');
  }, 180_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    if (trackId !== undefined) untrack(trackId);
    await api?.stop();
    tmp?.remove();
  }, 60_000);

  it('serves, answers a waiting ADD on SIGTERM, exits 0 and removes its socket', async () => {
    const socket = `${tmp.path}/sock/kube-ovn-daemon.sock`;
    child = spawn(process.execPath, [CLI_MAIN, 'daemon', '--kubeconfig', api.kubeconfigPath, '--node-name', 'node-a', '--bind-socket', socket, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid ?? 0;
    trackId = track({ kind: 'process', pid, startTime: processStartTime(pid), name: 'daemon' });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => void (stdout += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => void (stderr += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child?.on('close', (code) => resolve(code)));

    await waitFor('the daemon to log "daemon started"', async () => (stdout.includes('"msg":"daemon started"') ? true : undefined), { timeoutMs: 20_000, intervalMs: 50 });
    const started = stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'daemon started');
    expect(started).toMatchObject({ level: 30, component: 'kube-ovn-ipam-daemon', node: 'node-a', socket, bridge: 'br-int', mtu: 1400 });
    const listen = String(started?.['listen']);
    expect(listen).toMatch(/^127\.0\.0\.1:\d+$/);
    const health = await fetch(`http://${listen}/healthz`);
    expect({ status: health.status, body: await health.text() }).toEqual({ status: 200, body: 'ok\n' });
    await waitFor('/readyz 200', async () => ((await fetch(`http://${listen}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 10_000, intervalMs: 50 });

    const waiting = postJson(socket, '/api/v1/add', {
      cni_type: 'kube-ovn', pod_name: 'later', pod_namespace: 'default', container_id: 'abc', net_ns: '', if_name: 'eth0', provider: 'ovn', deadline_ms: 20_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await waiting).toEqual({ status: 503, body: { code: 11, error: 'the daemon is stopping' } });
    expect(await exited).toBe(0);
    untrack(trackId);
    trackId = undefined;
    expect(existsSync(socket)).toBe(false);
    expect(stderr).toBe('');
    const lines = stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l['msg'] === 'shutting down')).toMatchObject({ level: 30, signal: 'SIGTERM' });
  }, 30_000);
});
