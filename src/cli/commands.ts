// The subcommands of `kube-ovn-ipam` and their dispatch.
import type { CliIo } from './io.js';
import { EXIT_OK, EXIT_USAGE, PROGRAM } from './io.js';
import { auditHelp, runAudit } from './audit.js';
import { controllerHelp, runController } from './controller.js';
import { daemonHelp, runDaemon } from './daemon.js';
import { installCniHelp, runInstallCni } from './installCni.js';
import { planHelp, runPlan } from './plan.js';
import { runWebhook, webhookHelp } from './webhook.js';

interface Command {
  readonly summary: string;
  readonly help: string;
  readonly run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

const commands: Readonly<Record<string, Command>> = {
  plan: { summary: 'Dry run: print the allocations and actions for a snapshot of cluster objects.', help: planHelp, run: runPlan },
  controller: { summary: 'Run the controller: allocate addresses for every pod interface in a cluster.', help: controllerHelp, run: runController },
  daemon: { summary: 'Run the node daemon: serve the CNI plugin, plug pods into OVN networks.', help: daemonHelp, run: runDaemon },
  webhook: { summary: 'Run the admission webhook: check pods and workloads at creation, pass static MACs to Multus.', help: webhookHelp, run: runWebhook },
  audit: { summary: 'Report what is wrong in a live cluster\'s claims (and OVN, OVS); --fix repairs it.', help: auditHelp, run: runAudit },
  'install-cni': { summary: 'Install this executable as the kube-ovn CNI plugin (atomically).', help: installCniHelp, run: runInstallCni },
};

export const usage = `Usage: ${PROGRAM} <command> [flags]

Commands:
${Object.entries(commands).map(([name, c]) => `  ${name.padEnd(13)}${c.summary}`).join('\n')}
  help         Show this help, or a command's: ${PROGRAM} help plan

Run '${PROGRAM} <command> --help' for a command's flags.
`;

/** Runs the command line (without node and the script); resolves to the exit code. */
export const runCli = async (argv: readonly string[], io: CliIo): Promise<number> => {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(usage);
    return EXIT_USAGE;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout(usage);
      return EXIT_OK;
    }
    const command = Object.hasOwn(commands, topic) ? commands[topic] : undefined;
    if (command === undefined) return unknown(topic, io);
    io.stdout(command.help);
    return EXIT_OK;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (command === undefined) return unknown(name, io);
  return command.run(rest, io);
};

const unknown = (name: string, io: CliIo): number => {
  io.stderr(`${PROGRAM}: unknown command ${JSON.stringify(name)}\nRun '${PROGRAM} help' for usage.\n`);
  return EXIT_USAGE;
};
