// Installs one executable file into a folder atomically (what `kube-ovn-ipam install-cni` does
// with the CNI plugin): the container runtime may exec the target at any moment, so it must
// never see a half-written file.
//
// Rules:
// - The new content goes to a temporary file in the target's own folder (same filesystem, so
//   rename is atomic), is fsynced, chmod 0755, then renamed over the target; the folder is
//   fsynced so the rename survives a crash. A running old binary keeps its inode: nothing is
//   written in place (no ETXTBSY, no torn read).
// - A target whose size and sha256 equal the source's, already 0755, is left alone.
// - The folder must exist (a wrong --dir is reported, never created: a typo would install the
//   plugin where no runtime looks).
// - Every failure is a value naming the path and the step that failed; the temporary file is
//   removed on any failure.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, constants, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';

export type InstallOutcome =
  | { readonly type: 'installed'; readonly target: string; readonly bytes: number; readonly sha256: string; readonly replaced: boolean }
  | { readonly type: 'unchanged'; readonly target: string; readonly bytes: number; readonly sha256: string };

export interface InstallFailure {
  readonly path: string;
  /** What failed, e.g. `read the source`, `rename into place`. */
  readonly step: string;
  readonly message: string;
}

export type InstallResult = { readonly ok: true; readonly outcome: InstallOutcome } | { readonly ok: false; readonly failure: InstallFailure };

const MODE = 0o755;

const sha256Of = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path).on('error', reject).on('data', (chunk) => hash.update(chunk)).on('end', () => resolve(hash.digest('hex')));
  });

const why = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file or directory';
  if (e.code === 'EACCES' || e.code === 'EPERM') return `permission denied (${e.code})`;
  if (e.code === 'ENOSPC') return 'no space left on the device';
  if (e.code === 'EROFS') return 'read-only file system';
  return err instanceof Error ? err.message : String(err);
};

/** Copies `source` to `dir/name` atomically (see the rules above). Never throws. */
export async function installFile(source: string, dir: string, name: string): Promise<InstallResult> {
  const fail = (path: string, step: string, err: unknown | string): InstallResult =>
    ({ ok: false, failure: { path, step, message: typeof err === 'string' ? err : why(err) } });
  const target = join(dir, name);

  let sourceSize: number;
  try {
    const s = await stat(source);
    if (!s.isFile()) return fail(source, 'read the source', 'not a regular file');
    sourceSize = s.size;
  } catch (err) {
    return fail(source, 'read the source', err);
  }
  try {
    const d = await stat(dir);
    if (!d.isDirectory()) return fail(dir, 'open the target folder', 'not a directory');
  } catch (err) {
    return fail(dir, 'open the target folder', err);
  }
  let sha256: string;
  try {
    sha256 = await sha256Of(source);
  } catch (err) {
    return fail(source, 'read the source', err);
  }

  let existing: { readonly size: number; readonly mode: number; readonly isFile: boolean } | undefined;
  try {
    const t = await stat(target);
    existing = { size: t.size, mode: t.mode & 0o7777, isFile: t.isFile() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return fail(target, 'read the current target', err);
  }
  if (existing?.isFile === true && existing.size === sourceSize && existing.mode === MODE) {
    try {
      if ((await sha256Of(target)) === sha256) return { ok: true, outcome: { type: 'unchanged', target, bytes: sourceSize, sha256 } };
    } catch (err) {
      return fail(target, 'read the current target', err);
    }
  }

  const temp = join(dir, `.${basename(name)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let step = 'copy the source';
  try {
    await copyFile(source, temp, constants.COPYFILE_EXCL);
    step = 'fsync the copy';
    const handle = await open(temp, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    step = 'chmod 0755 the copy';
    await chmod(temp, MODE);
    step = `rename the copy over ${target}`;
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    return fail(temp, step, err);
  }
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    return fail(dir, 'fsync the target folder', err);
  }
  return { ok: true, outcome: { type: 'installed', target, bytes: sourceSize, sha256, replaced: existing !== undefined } };
}
