// Temporary directories for tests: `<os.tmpdir()>/kube-ovn-ipam-<pid>-<label>-XXXXXX`, tracked
// by the reaper so that a crashed test leaves none behind. Unix socket paths must fit in 107
// bytes, so keep labels short: OVS puts sockets like `<dir>/ovnsb_db.sock` in these.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { track, untrack } from './reaper.js';

export const TMP_PREFIX = 'kube-ovn-ipam-';

export interface TempDir {
  readonly path: string;
  /** Removes the directory and everything in it; idempotent. */
  remove(): void;
}

/** Creates a fresh, empty directory; `label` (letters, digits, dashes) names its purpose. */
export function makeTempDir(label: string): TempDir {
  if (!/^[a-z0-9-]{1,20}$/i.test(label)) throw new Error(`makeTempDir: bad label ${JSON.stringify(label)}`);
  const path = mkdtempSync(join(tmpdir(), `${TMP_PREFIX}${process.pid}-${label}-`));
  const id = track({ kind: 'dir', path });
  let removed = false;
  return {
    path,
    remove(): void {
      if (removed) return;
      rmSync(path, { recursive: true, force: true });
      untrack(id);
      removed = true;
    },
  };
}
