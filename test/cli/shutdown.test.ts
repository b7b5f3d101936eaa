// Issue 14 item 6: SIGTERM ends every long-running command within 5 s (the bound), also
// when the API server was never reachable. The built CLI (`node dist/src/cli/main.js`) runs as
// a child process with a kubeconfig that points at
// - a closed port (every request is refused at once: the command sits in its retry loops), or
// - a server that accepts TCP and never answers (a request is in flight when SIGTERM comes).
// Each command is sent SIGTERM once it is seen waiting on the API server (a refused request
// logged, or a connection held by the silent server), and must exit 0 on its own, having
// logged "shutting down", before a 5 s deadline; one still running then is killed and fails.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { buildCli, CLI_MAIN } from '../harness/controllerProcess.js';
import { waitFor } from '../harness/exec.js';
import { processStartTime, track, untrack } from '../harness/reaper.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

/** The bound the issue names for a graceful shutdown. */
const SHUTDOWN_BOUND_MS = 5000;

let tmp: TempDir;
let closedPort: number;
let silent: net.Server;
const held: net.Socket[] = [];

const kubeconfig = (name: string, port: number): string => {
  const path = `${tmp.path}/${name}`;
  writeFileSync(path, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: abc}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`);
  return path;
};

const listening = (server: net.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));

beforeAll(async () => {
  tmp = makeTempDir('shutdown');
  const probe = net.createServer();
  closedPort = await listening(probe);
  await new Promise((r) => probe.close(r)); // nothing listens there any more
  silent = net.createServer((socket) => void held.push(socket));
  await listening(silent);
  await buildCli();
}, 180_000);

afterAll(async () => {
  for (const s of held) s.destroy();
  await new Promise((r) => silent?.close(r));
  tmp?.remove();
});

const commands: readonly (readonly [string, (dir: string) => readonly string[]])[] = [
  ['controller', () => ['--listen', '127.0.0.1:0']],
  ['webhook', () => ['--listen', '127.0.0.1:0']],
  ['daemon', (dir) => ['--listen', '127.0.0.1:0', '--bind-socket', `${dir}/daemon.sock`, '--node-name', 'node-a']],
];
const servers = ['a closed port', 'a server that never answers'] as const;
const cases = commands.flatMap(([command, extra]) => servers.map((server) => ({ command, extra, server })));

describe('SIGTERM while the API server was never reachable: exit 0 within 5 s', () => {
  it.each(cases)('$command, API server at $server', async ({ command, extra, server }) => {
    const port = server === 'a closed port' ? closedPort : (silent.address() as net.AddressInfo).port;
    const config = kubeconfig(`${command}-${port}`, port);
    const connectionsBefore = held.length;
    const child = spawn(process.execPath, [CLI_MAIN, command, '--kubeconfig', config, ...extra(tmp.path)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid ?? 0;
    const trackId = track({ kind: 'process', pid, startTime: processStartTime(pid), name: `shutdown-${command}` });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => void (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => void (stderr += c.toString('utf8')));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await waitFor(`${command} waiting on the API server`, async () =>
        (server === 'a closed port' ? stdout.includes('ECONNREFUSED') : held.length > connectionsBefore) ? true : undefined, { timeoutMs: 30_000, intervalMs: 50 });
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), SHUTDOWN_BOUND_MS)));
      const outcome = await Promise.race([exit, deadline]);
      clearTimeout(timer);
      const lines = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; signal?: string });
      expect({ outcome, stderr, shuttingDown: lines.filter((l) => l.msg === 'shutting down').map((l) => l.signal) })
        .toEqual({ outcome: { code: 0, signal: null }, stderr: '', shuttingDown: ['SIGTERM'] });
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exit;
      }
      untrack(trackId);
    }
  }, 60_000);
});
