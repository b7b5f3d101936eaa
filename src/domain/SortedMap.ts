// A persistent sorted map: the one ordered index the domain uses (claims, used addresses,
// MACs). It wraps sorted-btree's copy-on-write B+ tree.
// - SortedMap is never mutated: `set`/`delete` return a new map sharing every untouched node.
// - A batch of changes goes through `edit()`: an O(1) copy whose first change to each node
//   copies that node once; later changes to it are in place. `done()` seals it into a new
//   SortedMap. The map it was made from is never affected, so callers still see values.
import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS: under Node's ESM loader its class is the module's `default` field.
const BTreeClass = sortedBtree.default;
type BTree<K, V> = InstanceType<typeof BTreeClass<K, V>>;

// Node size: smaller nodes copy less per change; 32 measured best for this update-heavy use.
const NODE_SIZE = 32;

/** A value no map holds: what `get` answers for a missing key in `has`. */
const ABSENT: unique symbol = Symbol('absent');

export interface ReadonlySortedMap<K, V> {
  readonly size: number;
  get(key: K): V | undefined;
  has(key: K): boolean;
  /** The first entry whose key is >= `key`. */
  atOrAfter(key: K): readonly [K, V] | undefined;
  /** Entries in key order, from `from` (inclusive) when given. */
  entries(from?: K): IterableIterator<[K, V]>;
  values(): IterableIterator<V>;
}

abstract class Reader<K, V> implements ReadonlySortedMap<K, V> {
  protected constructor(protected readonly tree: BTree<K, V>) {}
  get size(): number {
    return this.tree.size;
  }
  get(key: K): V | undefined {
    return this.tree.get(key);
  }
  has(key: K): boolean {
    // sorted-btree's own `has` walks a range with a callback: a plain lookup costs a fraction.
    const value = this.tree.get(key, ABSENT as V);
    if (value !== undefined) return value !== ABSENT;
    // Its `get` answers undefined, not the default, for a key above the last one; or the value is undefined.
    return this.tree.getPairOrNextHigher(key) !== undefined && this.tree.has(key);
  }
  atOrAfter(key: K): readonly [K, V] | undefined {
    return this.tree.getPairOrNextHigher(key);
  }
  *entries(from?: K): IterableIterator<[K, V]> {
    yield* this.tree.entries(from);
  }
  *values(): IterableIterator<V> {
    yield* this.tree.values();
  }
}

export class SortedMap<K, V> extends Reader<K, V> {
  private constructor(tree: BTree<K, V>) {
    super(tree);
  }

  static empty<K, V>(compare: (a: K, b: K) => number): SortedMap<K, V> {
    return new SortedMap(new BTreeClass<K, V>(undefined, compare, NODE_SIZE));
  }

  /** @internal Seals a draft's tree. */
  static sealed<K, V>(tree: BTree<K, V>): SortedMap<K, V> {
    return new SortedMap(tree);
  }

  set(key: K, value: V): SortedMap<K, V> {
    return new SortedMap(this.tree.with(key, value, true));
  }

  delete(key: K): SortedMap<K, V> {
    return this.tree.has(key) ? new SortedMap(this.tree.without(key)) : this;
  }

  edit(): SortedMapDraft<K, V> {
    return SortedMapDraft.of(this.tree.clone());
  }
}

export class SortedMapDraft<K, V> extends Reader<K, V> {
  private constructor(tree: BTree<K, V>) {
    super(tree);
  }

  /** @internal */
  static of<K, V>(tree: BTree<K, V>): SortedMapDraft<K, V> {
    return new SortedMapDraft(tree);
  }

  set(key: K, value: V): void {
    this.tree.set(key, value, true);
  }

  delete(key: K): void {
    this.tree.delete(key);
  }

  /** A sealed copy of the current contents; the draft may go on changing without affecting it. */
  done(): SortedMap<K, V> {
    return SortedMap.sealed(this.tree.clone());
  }
}
