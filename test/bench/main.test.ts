// The built bench end to end (`node dist/bench/main.js`, as `npm run bench` runs it, with the
// core section's quick form): the HTML report is written where --report says, and holds every
// figure the bench printed on stdout, its name and its value; an unknown section is refused
// by name, before anything runs; and the built runner still writes the report when the process
// dies of an uncaught exception or is interrupted. No timing is asserted.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeXml } from '../../bench/svg.js';
import { buildCli, REPO_ROOT } from '../harness/controllerProcess.js';
import { run } from '../harness/exec.js';
import { makeTempDir } from '../harness/tmp.js';

const MAIN = `${REPO_ROOT}dist/bench/main.js`;
const dir = makeTempDir('bench-main');

beforeAll(() => buildCli(), 240_000);
afterAll(() => dir.remove());

interface Line { readonly name: string; readonly value: number; readonly unit: string }

describe('node dist/bench/main.js', () => {
  it('writes the report with every figure it printed', async () => {
    const path = join(dir.path, 'report.html');
    const r = await run([process.execPath, '--expose-gc', MAIN, '--only', 'core', '--quick', '--report', path], { timeoutMs: 300_000 });
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.length).toBe(14);
    expect(r.stderr).toContain(`bench: report of 14 figures written to ${path}`);
    const html = readFileSync(path, 'utf8');
    for (const l of lines) {
      expect(l.name.startsWith('core.')).toBe(true);
      expect(html).toContain(`<td>${escapeXml(l.name)}</td><td class="num">${l.value} ${escapeXml(l.unit)}</td>`);
    }
    expect(html).toContain('<tr class="section"><th colspan="6">core</th></tr>');
    expect(html).toContain('<th>command</th>');
  }, 300_000);

  it('refuses an unknown section by name and writes nothing', async () => {
    const path = join(dir.path, 'never.html');
    const r = await run([process.execPath, MAIN, '--only', 'core,pols', '--report', path], { timeoutMs: 60_000 });
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: '' });
    expect(r.stderr.split('\n')[0]).toBe('bench: unknown section "pols"; the sections are core, planner, pools, controller, cni, ovn, cluster');
    expect(existsSync(path)).toBe(false);
  }, 60_000);
});

describe('the built runner, when the process dies', () => {
  /** A bench of two sections, `ok` (one figure) and `dies`, which reports one and then `dies`. */
  let scripts = 0;
  const script = (dies: string): string => {
    const file = join(dir.path, `dies-${scripts++}.mjs`);
    writeFileSync(file, [
      `import { runBench } from '${REPO_ROOT}dist/bench/runner.js';`,
      `import { report } from '${REPO_ROOT}dist/bench/report.js';`,
      `process.exitCode = await runBench([`,
      `  { name: 'ok', run: () => report({ name: 'dies.ok', value: 1, unit: 'ms' }) },`,
      `  { name: 'dies', run: () => { report({ name: 'dies.partial', value: 2, unit: 'ms' }); process.stderr.write('running\\n'); return new Promise(() => { ${dies} }); } },`,
      `], process.argv.slice(2));`,
    ].join('\n'));
    return file;
  };

  it('writes the report when an uncaught exception kills it', async () => {
    const path = join(dir.path, 'crash.html');
    const r = await run([process.execPath, script("setTimeout(() => { throw new Error('late <failure>'); }, 10);"), '--report', path], { timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('<td>dies.ok</td><td class="num">1 ms</td>');
    expect(html).toContain('<td>dies.partial</td><td class="num">2 ms</td>');
    expect(html).toContain('<strong>Section dies failed</strong>');
    expect(html).toContain('the process died of an uncaught exception: Error: late &lt;failure&gt;');
  }, 60_000);

  it('writes the report when interrupted, then dies of the signal', async () => {
    const path = join(dir.path, 'interrupted.html');
    const child = spawn(process.execPath, [script('setInterval(() => undefined, 1000);'), '--report', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
    await new Promise<void>((resolve) => child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('running')) resolve();
    }));
    child.kill('SIGINT');
    expect(await exited).toBe('SIGINT');
    const html = readFileSync(path, 'utf8');
    expect(html).toContain('<td>dies.partial</td><td class="num">2 ms</td>');
    expect(html).toContain('<pre>interrupted by SIGINT</pre>');
  }, 60_000);
});
