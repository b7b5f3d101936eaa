// The snapshot file reader against a real file system (temporary folders).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as E from 'fp-ts/lib/Either.js';
import type { InputError } from '../../src/adapters/snapshotFiles.js';
import { readSnapshotDocuments } from '../../src/adapters/snapshotFiles.js';
import type { RawDocument } from '../../src/domain/Snapshot.js';

let root = '';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kube-ovn-ipam-cli-files-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** Writes files (relative path → text) under a fresh folder of `root`; returns the folder. */
const folder = (name: string, files: Readonly<Record<string, string>>): string => {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
};

const documents = async (paths: readonly string[], stdin?: () => Promise<string>): Promise<RawDocument[]> => {
  const result = await readSnapshotDocuments(paths, stdin);
  if (E.isLeft(result)) throw new Error(`unexpected input error: ${JSON.stringify(result.left)}`);
  return result.right;
};

const failure = async (paths: readonly string[], stdin?: () => Promise<string>): Promise<InputError> => {
  const result = await readSnapshotDocuments(paths, stdin);
  if (E.isRight(result)) throw new Error('expected an input error');
  return result.left;
};

describe('readSnapshotDocuments', () => {
  it('reads a folder recursively, only YAML and JSON files, sorted by relative path', async () => {
    const dir = folder('tree', {
      'b.yaml': 'name: b\n',
      'a.json': '{"name": "a.json"}',
      'a-z.yml': 'name: a-z\n',
      'a/c.yaml': 'name: a/c\n',
      'a/deeper/d.yaml': 'name: a/deeper/d\n',
      'Z.yaml': 'name: Z\n',
      'README.md': 'not: read\n',
      'notes.txt': 'not: read\n',
      'yaml': 'not: read\n',
    });
    const docs = await documents([dir]);
    expect(docs.map((d) => d.origin.file)).toEqual(
      ['Z.yaml', 'a-z.yml', 'a.json', 'a/c.yaml', 'a/deeper/d.yaml', 'b.yaml'].map((rel) => join(dir, rel)),
    );
    expect(docs.map((d) => d.value)).toEqual(
      ['Z', 'a-z', 'a.json', 'a/c', 'a/deeper/d', 'b'].map((name) => ({ name })),
    );
  });

  it('names files as given on the command line joined with their path inside the folder', async () => {
    const dir = folder('given', { 'x/one.yaml': 'a: 1\n' });
    expect((await documents([`${dir}/`]))[0]?.origin).toEqual({ file: `${dir}/x/one.yaml`, document: 0 });
  });

  it('follows symbolic links without looping on a cycle', async () => {
    const dir = folder('links', { 'real/one.yaml': 'a: 1\n' });
    symlinkSync('..', join(dir, 'real', 'up'));
    symlinkSync(join(dir, 'real', 'one.yaml'), join(dir, 'two.yaml'));
    symlinkSync(join(dir, 'missing.yaml'), join(dir, 'dangling.yaml'));
    expect((await documents([dir])).map((d) => d.origin.file)).toEqual([join(dir, 'real/one.yaml'), join(dir, 'two.yaml')]);
  });

  it('reads paths in the order given, and a named file whatever its extension', async () => {
    const dir = folder('order', { 'z.yaml': 'z: 1\n', 'a.txt': 'a: 1\n' });
    const docs = await documents([join(dir, 'z.yaml'), join(dir, 'a.txt')]);
    expect(docs).toEqual([
      { origin: { file: join(dir, 'z.yaml'), document: 0 }, value: { z: 1 } },
      { origin: { file: join(dir, 'a.txt'), document: 0 }, value: { a: 1 } },
    ]);
  });

  it('splits multi-document YAML, skipping empty documents but counting them', async () => {
    const file = join(folder('multi', { 'm.yaml': '---\n---\nkind: A\n---\n# only a comment\n---\nnull\n---\nkind: B\n' }), 'm.yaml');
    expect(await documents([file])).toEqual([
      { origin: { file, document: 1 }, value: { kind: 'A' } },
      { origin: { file, document: 4 }, value: { kind: 'B' } },
    ]);
  });

  it('reads an empty file as no documents', async () => {
    expect(await documents([join(folder('empty-file', { 'e.yaml': '' }), 'e.yaml')])).toEqual([]);
  });

  it('reads JSON, tab-indented included', async () => {
    const file = join(folder('json', { 'j.json': '{\n\t"kind": "Pod",\n\t"items": [1, 2]\n}\n' }), 'j.json');
    expect(await documents([file])).toEqual([{ origin: { file, document: 0 }, value: { kind: 'Pod', items: [1, 2] } }]);
  });

  it('reads standard input for "-", once however often it is named', async () => {
    let reads = 0;
    const stdin = (): Promise<string> => {
      reads += 1;
      return Promise.resolve('a: 1\n---\nb: 2\n');
    };
    expect(await documents(['-', '-'], stdin)).toEqual([
      { origin: { file: '-', document: 0 }, value: { a: 1 } },
      { origin: { file: '-', document: 1 }, value: { b: 2 } },
      { origin: { file: '-', document: 0 }, value: { a: 1 } },
      { origin: { file: '-', document: 1 }, value: { b: 2 } },
    ]);
    expect(reads).toBe(1);
  });

  it('reports standard input that cannot be read', async () => {
    expect(await failure(['-'])).toEqual({ file: '-', message: 'standard input is not available here' });
    expect(await failure(['-'], () => Promise.reject(new Error('stream closed')))).toEqual({ file: '-', message: 'stream closed' });
  });

  it.each([
    ['a mapping inside a compact mapping', 'a: 1\n---\nb: c: d\n', 1, 'line 3, column 4: Nested mappings are not allowed in compact mappings'],
    ['an unterminated flow sequence', 'a: [1, 2\nb: 3\n', 0,
      'line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]'],
    ['a duplicate key', 'kind: Pod\n---\n---\n{"a": 1, "a": 2}\n', 2, 'line 4, column 10: Map keys must be unique'],
    ['an unresolved alias', 'a: *nowhere\n', 0, 'Unresolved alias (the anchor must be set before the alias): nowhere'],
  ])('reports %s with file, document, line and column', async (_what, text, document, message) => {
    const file = join(folder(`syntax-${document}-${text.length}`, { 'bad.yaml': text }), 'bad.yaml');
    expect(await failure([file])).toEqual({ file, document, message });
  });

  it('reports a missing path as given, and reads nothing after it', async () => {
    const dir = folder('missing', { 'ok.yaml': 'a: 1\n' });
    expect(await failure([join(dir, 'ok.yaml'), 'no/such/file.yaml', '-'], () => Promise.reject(new Error('read')))).toEqual({
      file: 'no/such/file.yaml',
      message: 'no such file or directory',
    });
  });

  it('reports a folder with no snapshot files', async () => {
    const dir = folder('nothing', { 'README.md': '# no\n' });
    expect(await failure([dir])).toEqual({ file: dir, message: 'no .yaml, .yml or .json files in this folder' });
  });
});
