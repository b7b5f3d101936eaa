// The node daemon in a process of its own, as in production (its own DaemonSet pod), for the
// OVN benchmark (ovnCluster.ts): its NodeDaemonConfig is JSON in argv[2]; it prints `ready`
// once it serves its socket and stops on SIGTERM. Exactly what `kube-ovn-ipam daemon` wires
// (startNodeDaemon), with the harness's quiet log and its OVS namespace for the host ends.
import { startNodeDaemon, type NodeDaemonConfig } from '../src/cli/daemon.js';
import { quietLog } from '../test/harness/inProcess.js';

const config = JSON.parse(process.argv[2] ?? '{}') as NodeDaemonConfig;
const running = await startNodeDaemon(config, quietLog());
process.stdout.write('ready\n');
process.once('SIGTERM', () => void running.stop().then(() => process.exit(0), () => process.exit(1)));
