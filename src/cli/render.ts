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
// - Streamed: `renderJsonChunks`/`renderTableChunks` give the same text in pieces of about
//   64 KiB, in linear time, so a plan of 100,000 pods is never one string (nor a second copy of
//   every row); `renderJson`/`renderTable` join them.
import type { ActionType, AllocationView, Plan, PlanError } from '../domain/Plan.js';
import { planJson } from '../domain/Plan.js';

/** `--output json`: the object of DESIGN §3.7, two-space indented, with a final newline. */
export const renderJson = (plan: Plan): string => [...renderJsonChunks(plan)].join('');

/** `--output table`: what a person reads; see the file's rules. */
export const renderTable = (plan: Plan): string => [...renderTableChunks(plan)].join('');

/** renderJson in pieces: byte for byte `JSON.stringify(planJson(plan), null, 2)` and a newline. */
export const renderJsonChunks = (plan: Plan): Iterable<string> => batched(jsonPieces(planJson(plan)));

/** renderTable in pieces. */
export const renderTableChunks = (plan: Plan): Iterable<string> => batched(tablePieces(plan));

const CHUNK_CHARS = 1 << 16;

/** Joins small pieces into strings of at least CHUNK_CHARS (the last may be shorter). */
function* batched(pieces: Iterable<string>): Generator<string> {
  let buffer: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    buffer.push(piece);
    length += piece.length;
    if (length >= CHUNK_CHARS) {
      yield buffer.join('');
      buffer = [];
      length = 0;
    }
  }
  if (length > 0) yield buffer.join('');
}

/** `JSON.stringify(value, null, 2)` of a top-level object and a newline, one array element at
 *  a time: an element's own lines are stringified alone and indented to its depth. */
function* jsonPieces(value: unknown): Generator<string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    yield `${JSON.stringify(value, null, 2)}\n`;
    return;
  }
  // JSON.stringify leaves out a key whose value it cannot write.
  const entries = Object.entries(value).filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol');
  if (entries.length === 0) {
    yield '{}\n';
    return;
  }
  yield '{\n';
  for (const [i, [key, v]] of entries.entries()) {
    yield `  ${JSON.stringify(key)}: `;
    if (Array.isArray(v) && v.length > 0) {
      yield '[\n';
      for (const [j, element] of (v as readonly unknown[]).entries()) {
        yield `    ${indent(JSON.stringify(element, null, 2) ?? 'null', '    ')}${j === v.length - 1 ? '\n' : ',\n'}`;
      }
      yield '  ]';
    } else {
      yield indent(JSON.stringify(v, null, 2), '  ');
    }
    yield i === entries.length - 1 ? '\n' : ',\n';
  }
  yield '}\n';
}

/** JSON text nested `prefix` deeper (JSON escapes every newline inside a string). */
const indent = (json: string, prefix: string): string => json.replaceAll('\n', `\n${prefix}`);

/** The table's lines, each with its newline; a blank line between sections. */
function* tablePieces(plan: Plan): Generator<string> {
  const sections: (() => Iterable<string>)[] = [];
  if (plan.allocations.length > 0) sections.push(() => allocationTable(plan.allocations));
  if (plan.errors.length > 0) sections.push(() => errorLines(plan.errors));
  if (plan.actions.length > 0) sections.push(() => [`ACTIONS\n${actionSummary(plan.actions.map((a) => a.type))}`]);
  if (plan.allocations.some((x) => x.simulated === true) || plan.errors.some((x) => x.simulated === true)) sections.push(() => [footnote]);
  if (sections.length === 0) yield 'No pods to plan.\n';
  for (const [i, section] of sections.entries()) {
    if (i > 0) yield '\n';
    for (const line of section()) yield `${line}\n`;
  }
}

function* errorLines(errors: readonly PlanError[]): Generator<string> {
  yield 'ERRORS';
  for (const error of errors) yield errorLine(error);
}

const footnote = '* simulated: the pod does not exist yet; its workload would create it.';

const header = ['POD', 'INTERFACE', 'PROVIDER', 'SUBNET', 'ADDRESS', 'MAC', 'SOURCE'] as const;

const rowOf = (a: AllocationView): readonly string[] =>
  [podName(a.pod, a.simulated), a.interface, a.provider, a.subnet, a.ipAddress, a.macAddress, a.source].map(cell);

/** The header and a row per allocation: every column but the last padded to its widest cell,
 *  three spaces between columns. Two passes (widths, then rows), no row kept. */
function* allocationTable(allocations: readonly AllocationView[]): Generator<string> {
  const last = header.length - 1;
  const widths: number[] = header.map((h) => h.length);
  for (const a of allocations) rowOf(a).forEach((text, column) => (widths[column] = Math.max(widths[column] ?? 0, text.length)));
  const line = (row: readonly string[]): string => row.map((text, column) => (column === last ? text : text.padEnd(widths[column] ?? 0))).join('   ');
  yield line(header);
  for (const a of allocations) yield line(rowOf(a));
}

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
