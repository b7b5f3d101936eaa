// Issue 14 item 6: a kubeconfig that cannot be used is one line on stderr and exit 2 for every
// command that reads one (never `internal error` and a stack trace), and the controller refuses
// --default-cidr with --non-primary-cni-mode the same way. In-process: runCli with captured I/O.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-kubeconfig-'));
  writeFileSync(join(dir, 'garbage'), 'this: [is not\n');
  writeFileSync(join(dir, 'empty'), 'apiVersion: v1\nkind: Config\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = async (argv: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = { stdout: (t) => void (out.stdout += t), stderr: (t) => void (out.stderr += t), readStdin: async () => '' };
  const code = await runCli(argv, io);
  return { code, ...out };
};

describe('an unusable kubeconfig: one line, exit 2', () => {
  it.each([
    ['controller', ['--listen', '127.0.0.1:0']],
    ['webhook', ['--listen', '127.0.0.1:0']],
    ['daemon', ['--listen', '127.0.0.1:0', '--bind-socket', '/tmp/kube-ovn-ipam-kubeconfig-test.sock']],
    ['plan', []],
  ])('%s --kubeconfig /nonexistent', async (command, extra) => {
    const r = await run([command, '--kubeconfig', '/nonexistent', ...extra]);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `kube-ovn-ipam ${command}: cannot read kubeconfig /nonexistent: ENOENT: no such file or directory, open '/nonexistent'\n` });
  });

  it.each(['controller', 'webhook'])('%s --log-level "" (a manifest\'s empty ConfigMap key) is no value: the kubeconfig line, not an internal error', async (command) => {
    const r = await run([command, '--log-level', '', '--kubeconfig', '/nonexistent', '--listen', '127.0.0.1:0']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `kube-ovn-ipam ${command}: cannot read kubeconfig /nonexistent: ENOENT: no such file or directory, open '/nonexistent'\n` });
  });

  it('a file that names no cluster', async () => {
    const r = await run(['controller', '--kubeconfig', join(dir, 'empty'), '--listen', '127.0.0.1:0']);
    expect(r).toEqual({ code: 2, stdout: '', stderr: `kube-ovn-ipam controller: kubeconfig ${join(dir, 'empty')} names no cluster to talk to (no current-context)\n` });
  });

  it('a file that is not YAML', async () => {
    const r = await run(['webhook', '--kubeconfig', join(dir, 'garbage')]);
    expect({ code: r.code, lines: r.stderr.split('\n').length, start: r.stderr.startsWith(`kube-ovn-ipam webhook: cannot read kubeconfig ${join(dir, 'garbage')}: `) }).toEqual({ code: 2, lines: 2, start: true });
  });
});

it('controller --non-primary-cni-mode with --default-cidr: refused, no default Subnet in that mode', async () => {
  const r = await run(['controller', '--non-primary-cni-mode', '--default-cidr', '10.16.0.0/16', '--kubeconfig', '/nonexistent']);
  expect(r).toEqual({ code: 2, stdout: '', stderr: 'kube-ovn-ipam controller: --default-cidr: no default Subnet in --non-primary-cni-mode (another CNI serves eth0)\n' });
});
