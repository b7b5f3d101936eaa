// The floor under `plan`: a process that only reads and parses the snapshot file(s) given.
import * as E from 'fp-ts/lib/Either.js';
import { readSnapshotDocuments } from '../src/adapters/snapshotFiles.js';

const docs = await readSnapshotDocuments(process.argv.slice(2));
if (E.isLeft(docs)) throw new Error(docs.left.message);
process.stdout.write(`${docs.right.length}\n`);
