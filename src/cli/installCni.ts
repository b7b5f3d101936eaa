// `kube-ovn-ipam install-cni`: copies the running single executable (which is also the
// `kube-ovn` CNI plugin when its file is named so) into the CNI bin folder, atomically. The
// daemon's init container runs it with the host's /opt/cni/bin mounted.
//
// Rules: exit 2 for a usage error (a bad flag, no --source outside a single executable), 1 when
// the copy fails (the message names the path and the step), 0 otherwise, with one line on
// stdout saying what was done (installed, replaced, or already identical).
import { isSea } from 'node:sea';
import * as E from 'fp-ts/lib/Either.js';
import { installFile } from '../adapters/installFile.js';
import type { FlagSpecs } from './args.js';
import { parseFlags } from './args.js';
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';

export const DEFAULT_CNI_DIR = '/opt/cni/bin';
export const DEFAULT_CNI_NAME = 'kube-ovn';
const EXIT_IO = 1;

export const installCniHelp = `Usage: ${PROGRAM} install-cni [--dir DIR] [--name NAME] [--source FILE]

Installs the CNI plugin: copies FILE to DIR/NAME through a temporary file in DIR (fsync, chmod
0755, rename), so a container runtime never runs a half-written plugin. A target whose size and
sha256 already match is left as it is. The folder must exist.

Flags:
  --dir DIR       the CNI bin folder (default ${DEFAULT_CNI_DIR})
  --name NAME     the plugin's file name, the "type" of its network configs (default ${DEFAULT_CNI_NAME})
  --source FILE   what to install (default: this executable, when it runs as a Node single
                  executable; otherwise required)
  -h, --help      this help

Exit codes: 0 installed or already identical, 1 the copy failed, 2 a usage error.

Example (the daemon's init container, the host's /opt/cni/bin mounted at /host/opt/cni/bin):
  ${PROGRAM} install-cni --dir /host/opt/cni/bin
`;

const flags: FlagSpecs = {
  dir: { type: 'string' }, name: { type: 'string' }, source: { type: 'string' }, help: { type: 'boolean', short: 'h' },
};

export const runInstallCni = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const usageError = (why: string): number => {
    io.stderr(`${PROGRAM} install-cni: ${why}\nRun '${PROGRAM} install-cni --help' for usage.\n`);
    return EXIT_USAGE;
  };
  const args = parseFlags(argv, flags);
  if (E.isLeft(args)) return usageError(args.left);
  const positional = args.right.find((a) => a.kind === 'positional');
  if (positional !== undefined) return usageError(`unexpected argument ${JSON.stringify(positional.value)}`);
  const values: Record<string, string | boolean | undefined> = {};
  for (const a of args.right) if (a.kind === 'flag') values[a.name] = a.value ?? true;
  if (values['help'] === true) {
    io.stdout(installCniHelp);
    return EXIT_OK;
  }
  const str = (k: string): string | undefined => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const dir = str('dir') ?? DEFAULT_CNI_DIR;
  const name = str('name') ?? DEFAULT_CNI_NAME;
  if (dir === '') return usageError('--dir "": expected a folder');
  if (name === '' || name === '.' || name === '..' || name.includes('/')) return usageError(`--name ${JSON.stringify(name)}: expected a file name (no "/")`);
  const source = str('source') ?? (isSea() ? process.execPath : undefined);
  if (source === undefined || source === '') {
    return usageError('--source FILE is required when not running as the single executable (this is Node running a script)');
  }

  const result = await installFile(source, dir, name);
  if (!result.ok) {
    const f = result.failure;
    io.stderr(`${PROGRAM} install-cni: ${f.path}: could not ${f.step}: ${f.message}\n`);
    return EXIT_IO;
  }
  const o = result.outcome;
  const what = `${o.bytes} bytes, sha256 ${o.sha256}`;
  if (o.type === 'unchanged') io.stdout(`install-cni: ${o.target} is already identical to ${source} (${what}): left as it is\n`);
  else io.stdout(`install-cni: ${o.replaced ? 'replaced' : 'installed'} ${o.target} from ${source} (${what})\n`);
  return EXIT_OK;
};
