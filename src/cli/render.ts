// Renders a plan for a person (`table`) or a program (`json`), DESIGN §3.7.
// Rules:
// - Pure and deterministic: the same plan gives the same text, byte for byte. Nothing is sorted
//   here except the action summary: the planner's order is the contract.
// - The table is plain text: columns padded to their widest cell and separated by three spaces,
//   no trailing spaces, control characters in any value shown as one space so a row stays one
//   line, an empty value shown as `-`. A simulated pod (one its workload would create) gets a `*`
//   after its name, and the output ends with a footnote saying what `*` means.
// - Sections, separated by a blank line, appear only when they have something to say: the
//   allocation table, `ERRORS` (one line per error), `ACTIONS` (a count per action type, in the
//   fixed order below). An empty plan says `No pods to plan.`
import type { ActionType, AllocationView, Plan, PlanError } from '../domain/Plan.js';
import { planJson } from '../domain/Plan.js';

/** `--output json`: the object of DESIGN §3.7, two-space indented, with a final newline. */
export const renderJson = (plan: Plan): string => `${JSON.stringify(planJson(plan), null, 2)}\n`;

/** `--output table`: what a person reads; see the file's rules. */
export const renderTable = (plan: Plan): string => {
  const sections: string[] = [];
  if (plan.allocations.length > 0) sections.push(allocationTable(plan.allocations));
  if (plan.errors.length > 0) sections.push(['ERRORS', ...plan.errors.map(errorLine)].join('\n'));
  if (plan.actions.length > 0) sections.push(`ACTIONS\n${actionSummary(plan.actions.map((a) => a.type))}`);
  if ([...plan.allocations, ...plan.errors].some((x) => x.simulated === true)) sections.push(footnote);
  return sections.length === 0 ? 'No pods to plan.\n' : `${sections.join('\n\n')}\n`;
};

const footnote = '* simulated: the pod does not exist yet; its workload would create it.';

const header = ['POD', 'INTERFACE', 'PROVIDER', 'SUBNET', 'ADDRESS', 'MAC', 'SOURCE'] as const;

const allocationTable = (allocations: readonly AllocationView[]): string => {
  const rows = allocations.map((a) => [podName(a.pod, a.simulated), a.interface, a.provider, a.subnet, a.ipAddress, a.macAddress, a.source].map(cell));
  return table([[...header], ...rows]).join('\n');
};

/** Pads every column but the last to its widest cell; three spaces between columns. */
const table = (rows: readonly (readonly string[])[]): string[] => {
  const last = header.length - 1;
  const widths = header.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) => row.map((text, column) => (column === last ? text : text.padEnd(widths[column] ?? 0))).join('   '));
};

/** `<code>: <message>`: the planner's message already names the pod, interface and provider. */
const errorLine = (error: PlanError): string => `${error.code}: ${oneLine(error.message)}`;

/** Display order of action types: the order apply writes them in (DESIGN §3.5), then the rest. */
const actionOrder: Readonly<Record<ActionType, number>> = {
  CreateIP: 0,
  UpdateIP: 1,
  EnsureLogicalSwitch: 2,
  EnsureLogicalRouter: 3,
  EnsureLogicalRouterPort: 4,
  EnsureLogicalSwitchPort: 5,
  PatchPodAnnotations: 6,
  DeleteLogicalSwitchPort: 7,
  DeleteIP: 8,
  UpdateSubnetStatus: 9,
  UpdateIPPoolStatus: 10,
  DeleteLogicalRouterPort: 11,
  DeleteLogicalSwitch: 12,
  EmitEvent: 13,
};

/** `3 CreateIP, 1 PatchPodAnnotations` */
export const actionSummary = (types: readonly ActionType[]): string => {
  const counts = new Map<ActionType, number>();
  for (const type of types) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => actionOrder[a] - actionOrder[b])
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
};

const podName = (pod: string, simulated: true | undefined): string => (simulated === true ? `${pod}*` : pod);

const oneLine = (text: string): string => text.replace(/\p{Cc}+/gu, ' ');

const cell = (text: string): string => (text === '' ? '-' : oneLine(text));
