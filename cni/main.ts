// Entry of the `kube-ovn` CNI plugin binary (built by scripts/build-cni.sh into a single
// executable): wires the process (environment, stdin, stdout, clock) and the daemon client to
// `runPlugin`, prints its output, and exits with its code.
// Rules: the plugin starts on every pod network operation, so this path loads no heavy module
// (no client-node, io-ts or fp-ts); stdin is read with one synchronous read unless that would
// block; anything unexpected still ends as a CNI error on stdout and exit 1.
import { readFileSync, writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { daemonClient } from '../src/adapters/daemonClient.js';
import { CniCode } from '../src/domain/cni/Protocol.js';
import { failure, LATEST_VERSION, success, type Outcome } from '../src/domain/cni/PluginConfig.js';
import { errorResult, PluginCode } from '../src/domain/cni/Result.js';
import { runPlugin, type PluginOutput } from './plugin.js';

const readStream = (): Promise<Outcome<string>> =>
  new Promise((resolve) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (chunk: Buffer) => chunks.push(chunk));
    process.stdin.on('end', () => resolve(success(Buffer.concat(chunks).toString('utf8'))));
    process.stdin.on('error', (err) => resolve(failure(CniCode.IOFailure, `cannot read the network configuration from stdin: ${err.message}`)));
  });

const readStdin = async (): Promise<Outcome<string>> => {
  if (isatty(0)) return success('');
  try {
    return success(readFileSync(0, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    // A non-blocking stdin (inherited from the caller) cannot be read synchronously.
    if (err.code === 'EAGAIN') return readStream();
    if (err.code === 'EOF' || err.code === 'EBADF') return success('');
    return failure(CniCode.IOFailure, `cannot read the network configuration from stdin: ${err.message}`);
  }
};

const write = (fd: number, text: string): void => {
  if (text === '') return;
  try {
    writeSync(fd, text.endsWith('\n') ? text : `${text}\n`);
  } catch {
    // The runtime stopped listening: nothing more to tell it.
  }
};

const finish = (output: PluginOutput): never => {
  write(1, output.stdout);
  write(2, output.stderr);
  process.exit(output.exitCode);
};

const main = async (): Promise<never> => {
  try {
    return finish(await runPlugin({
      env: process.env,
      readStdin,
      elapsedMs: () => performance.now(),
      connect: daemonClient,
    }));
  } catch (e) {
    const error = { code: PluginCode.Internal, msg: `internal error in the kube-ovn plugin: ${e instanceof Error ? e.message : String(e)}` };
    return finish({ stdout: JSON.stringify(errorResult(LATEST_VERSION, error)), stderr: e instanceof Error && e.stack !== undefined ? e.stack : '', exitCode: 1 });
  }
};

void main();
