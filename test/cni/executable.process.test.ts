// The one executable of scripts/build-cni.sh under each of its names, in an empty environment
// (no PATH, so no Node.js to lean on): `kube-ovn` is the CNI plugin, any other name the
// `kube-ovn-ipam` CLI, whose arguments arrive as typed (a single executable repeats its name in
// argv[1], which must not be taken for the command). Links keep their own name: a symlink named
// kube-ovn to the CLI's file is the plugin, and the other way round.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { linkSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { run, runOk, type RunResult } from '../harness/exec.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const PLUGIN = join(ROOT, 'dist/cni/kube-ovn');
const CLI = join(ROOT, 'dist/cni/kube-ovn-ipam');
const VERSIONS = { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] };

let dir: TempDir;

const exec = (file: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<RunResult> =>
  run([file, ...args], { env, cleanEnv: true, timeoutMs: 20_000 });

const version = async (file: string): Promise<unknown> => {
  const r = await exec(file, [], { CNI_COMMAND: 'VERSION' });
  return { code: r.code, out: JSON.parse(r.stdout) as unknown, stderr: r.stderr };
};

beforeAll(async () => {
  await runOk(['bash', join(ROOT, 'scripts/build-cni.sh')], { timeoutMs: 180_000 });
  dir = makeTempDir('executable');
}, 200_000);

afterAll(() => dir.remove());

describe('one file, two names', () => {
  it('dist/cni/kube-ovn and dist/cni/kube-ovn-ipam are one file (a hard link)', () => {
    expect(statSync(CLI).ino).toBe(statSync(PLUGIN).ino);
  });

  it('as kube-ovn it is the plugin: VERSION', async () => {
    expect(await version(PLUGIN)).toEqual({ code: 0, out: VERSIONS, stderr: '' });
  });

  it('as kube-ovn-ipam it is the CLI: help prints the usage on stdout', async () => {
    const r = await exec(CLI, ['help']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^Usage: kube-ovn-ipam <command> \[flags\]\n/);
  });

  it("the CLI's arguments arrive as typed: a command's help, an unknown command, no command", async () => {
    const topic = await exec(CLI, ['help', 'plan']);
    expect([topic.code, topic.stdout.split('\n')[0]]).toEqual([0, 'Usage: kube-ovn-ipam plan --snapshot PATH... [--output table|json] [--now TIME] [--cooldown SECONDS] [--ovn]']);
    expect(await exec(CLI, ['frobnicate'])).toMatchObject({ code: 2, stdout: '', stderr: 'kube-ovn-ipam: unknown command "frobnicate"\nRun \'kube-ovn-ipam help\' for usage.\n' });
    expect(await exec(CLI)).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^Usage: kube-ovn-ipam /) });
  });

  it('the CLI plans the seed examples (flags after the command, a folder of YAML)', async () => {
    const r = await exec(CLI, ['plan', '--snapshot', join(ROOT, 'examples/macvlan-ipam'), '--output', 'json', '--now', '2025-01-31T12:00:00Z']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(Object.keys(JSON.parse(r.stdout) as object)).toEqual(['allocations', 'actions', 'errors']);
  });

  it('a link keeps its own name: kube-ovn → the plugin, any other name → the CLI', async () => {
    symlinkSync(CLI, join(dir.path, 'kube-ovn'));
    symlinkSync(PLUGIN, join(dir.path, 'kube-ovn-ipam'));
    linkSync(PLUGIN, join(dir.path, 'something-else'));
    expect(await version(join(dir.path, 'kube-ovn'))).toEqual({ code: 0, out: VERSIONS, stderr: '' });
    expect((await exec(join(dir.path, 'kube-ovn-ipam'), ['help'])).stdout).toMatch(/^Usage: kube-ovn-ipam /);
    expect((await exec(join(dir.path, 'something-else'), ['help'])).stdout).toMatch(/^Usage: kube-ovn-ipam /);
  });
});
