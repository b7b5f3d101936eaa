// The node daemon in a process of its own, as in production (its own DaemonSet pod), for the
// OVN benchmark (ovnCluster.ts): its NodeDaemonConfig is JSON in argv[2]; it prints `ready`
// once it serves its socket and stops on SIGTERM. Exactly what `kube-ovn-ipam daemon` wires
// (startNodeDaemon), with the harness's quiet log and its OVS namespace for the host ends.
// With a path in argv[3] its debug and info lines go there as timed JSON lines instead
// (ovnTrace.ts: the benchmark's per-step breakdown), written out before it exits, and its
// event-loop delay is printed to stderr when it stops.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startNodeDaemon, type NodeDaemonConfig } from '../src/cli/daemon.js';
import { quietLog } from '../test/harness/inProcess.js';
import { traceLog } from './ovnTrace.js';

const config = JSON.parse(process.argv[2] ?? '{}') as NodeDaemonConfig;
const trace = process.argv[3] === undefined ? undefined : traceLog(process.argv[3]);
const running = await startNodeDaemon(config, trace ?? quietLog());
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
process.stdout.write('ready\n');
const ms = (ns: number): string => (ns / 1e6).toFixed(1);
process.once('SIGTERM', () => {
  loop.disable();
  process.stderr.write(`bench daemon: event-loop delay p50 ${ms(loop.percentile(50))} ms, p99 ${ms(loop.percentile(99))} ms, max ${ms(loop.max)} ms\n`);
  void running.stop().then(() => trace?.close()).then(() => process.exit(0), () => process.exit(1));
});
