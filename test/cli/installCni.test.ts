// `kube-ovn-ipam install-cni` in-process against real temporary folders: the copy is exact,
// 0755, leaves no temporary file, is skipped when identical, replaces an existing target by
// rename (a new inode, never an in-place write), and every failure names the path and the step.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { runCli } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/io.js';
import { makeTempDir, type TempDir } from '../harness/tmp.js';

const captured = (): CliIo & { out: string; err: string } => {
  const io = { out: '', err: '', stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t), readStdin: async () => '' };
  return io;
};

const run = async (args: readonly string[]): Promise<{ code: number; out: string; err: string }> => {
  const io = captured();
  const code = await runCli(['install-cni', ...args], io);
  return { code, out: io.out, err: io.err };
};

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('kube-ovn-ipam install-cni', () => {
  let tmp: TempDir;
  let source: string;
  let bin: string;
  const content = Buffer.concat([Buffer.from('#!/bin/sh\necho plugin\n'), Buffer.alloc(300_000, 7)]);

  beforeEach(() => {
    tmp = makeTempDir('install-cni');
    source = `${tmp.path}/kube-ovn-ipam`;
    bin = `${tmp.path}/bin`;
    writeFileSync(source, content);
    chmodSync(source, 0o700);
    mkdirSync(bin);
  });

  afterEach(() => tmp.remove());

  it('copies the source to DIR/kube-ovn: same bytes, mode 0755, no temporary file left', async () => {
    expect(await run(['--dir', bin, '--source', source])).toEqual({
      code: 0, err: '', out: `install-cni: installed ${bin}/kube-ovn from ${source} (${content.length} bytes, sha256 ${sha(content)})\n`,
    });
    expect(readFileSync(`${bin}/kube-ovn`).equals(content)).toBe(true);
    expect(statSync(`${bin}/kube-ovn`).mode & 0o7777).toBe(0o755);
    expect(readdirSync(bin)).toEqual(['kube-ovn']);
  });

  it('a second run finds the target identical and leaves it (same inode)', async () => {
    expect((await run(['--dir', bin, '--source', source])).code).toBe(0);
    const before = statSync(`${bin}/kube-ovn`);
    expect(await run(['--dir', bin, '--source', source])).toEqual({
      code: 0, err: '', out: `install-cni: ${bin}/kube-ovn is already identical to ${source} (${content.length} bytes, sha256 ${sha(content)}): left as it is\n`,
    });
    const after = statSync(`${bin}/kube-ovn`);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({ ino: before.ino, mtimeMs: before.mtimeMs });
    expect(readdirSync(bin)).toEqual(['kube-ovn']);
  });

  it('replaces a different target by rename: a new inode, the old inode keeps its old bytes', async () => {
    const old = Buffer.from('old plugin');
    writeFileSync(`${bin}/my-plugin`, old, { mode: 0o755 });
    const before = statSync(`${bin}/my-plugin`);
    // An open descriptor stands for the runtime executing the old binary right now.
    const fd = openSync(`${bin}/my-plugin`, 'r');
    try {
      expect(await run(['--dir', bin, '--name', 'my-plugin', '--source', source])).toEqual({
        code: 0, err: '', out: `install-cni: replaced ${bin}/my-plugin from ${source} (${content.length} bytes, sha256 ${sha(content)})\n`,
      });
      const buf = Buffer.alloc(64);
      const n = readSync(fd, buf, 0, 64, 0);
      expect(buf.subarray(0, n).toString()).toBe('old plugin');
    } finally {
      closeSync(fd);
    }
    const after = statSync(`${bin}/my-plugin`);
    expect(after.ino).not.toBe(before.ino);
    expect(readFileSync(`${bin}/my-plugin`).equals(content)).toBe(true);
    expect(after.mode & 0o7777).toBe(0o755);
    expect(readdirSync(bin)).toEqual(['my-plugin']);
  });

  it('same content with another mode is installed again with 0755', async () => {
    writeFileSync(`${bin}/kube-ovn`, content, { mode: 0o644 });
    chmodSync(`${bin}/kube-ovn`, 0o644);
    expect((await run(['--dir', bin, '--source', source])).out).toMatch(/^install-cni: replaced /);
    expect(statSync(`${bin}/kube-ovn`).mode & 0o7777).toBe(0o755);
  });

  it.each<[string, (t: { bin: string; source: string; root: string }) => readonly string[], (t: { bin: string; source: string; root: string }) => string]>([
    ['a folder that does not exist', (t) => ['--dir', `${t.root}/nope`, '--source', t.source],
      (t) => `kube-ovn-ipam install-cni: ${t.root}/nope: could not open the target folder: no such file or directory\n`],
    ['a --dir that is a file', (t) => ['--dir', t.source, '--source', t.source],
      (t) => `kube-ovn-ipam install-cni: ${t.source}: could not open the target folder: not a directory\n`],
    ['a source that does not exist', (t) => ['--dir', t.bin, '--source', `${t.root}/missing`],
      (t) => `kube-ovn-ipam install-cni: ${t.root}/missing: could not read the source: no such file or directory\n`],
    ['a source that is a folder', (t) => ['--dir', t.bin, '--source', t.bin],
      (t) => `kube-ovn-ipam install-cni: ${t.bin}: could not read the source: not a regular file\n`],
  ])('%s: exit 1, the path and the step named', async (_case, args, message) => {
    const t = { bin, source, root: tmp.path };
    expect(await run(args(t))).toEqual({ code: 1, out: '', err: message(t) });
    expect(readdirSync(bin)).toEqual([]);
  });

  it('a failure after the copy (the target is a folder): exit 1, the step named, no temporary file left', async () => {
    mkdirSync(`${bin}/kube-ovn/inside`, { recursive: true });
    const r = await run(['--dir', bin, '--source', source]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(new RegExp(`^kube-ovn-ipam install-cni: ${bin}/\\.kube-ovn\\.tmp-\\d+-[0-9a-f]{8}: could not rename the copy over ${bin}/kube-ovn: `));
    expect(readdirSync(bin)).toEqual(['kube-ovn']);
    expect(readdirSync(`${bin}/kube-ovn`)).toEqual(['inside']);
  });

  it.each<[readonly string[], string]>([
    [['--dir', '/tmp'], "kube-ovn-ipam install-cni: --source FILE is required when not running as the single executable (this is Node running a script)\nRun 'kube-ovn-ipam install-cni --help' for usage.\n"],
    [['--name', 'a/b', '--source', '/bin/sh'], 'kube-ovn-ipam install-cni: --name "a/b": expected a file name (no "/")\nRun \'kube-ovn-ipam install-cni --help\' for usage.\n'],
    [['--dir', '', '--source', '/bin/sh'], 'kube-ovn-ipam install-cni: --dir "": expected a folder\nRun \'kube-ovn-ipam install-cni --help\' for usage.\n'],
    [['--nope'], "kube-ovn-ipam install-cni: unknown flag --nope\nRun 'kube-ovn-ipam install-cni --help' for usage.\n"],
    [['extra'], 'kube-ovn-ipam install-cni: unexpected argument "extra"\nRun \'kube-ovn-ipam install-cni --help\' for usage.\n'],
  ])('usage error %j: exit 2', async (args, message) => {
    expect(await run(args)).toEqual({ code: 2, out: '', err: message });
  });

  it('prints its help, and is listed in the command table', async () => {
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--dir DIR       the CNI bin folder (default /opt/cni/bin)');
    const io = captured();
    expect(await runCli(['help'], io)).toBe(0);
    expect(io.out).toContain('  install-cni  Install this executable as the kube-ovn CNI plugin (atomically).\n');
  });
});
