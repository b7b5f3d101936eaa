// A persistent sorted map: the one ordered index the domain uses (claims, used addresses,
// MACs). It wraps sorted-btree's copy-on-write B+ tree: every update returns a new map that
// shares all untouched nodes with the old one, so "immutable state" costs O(log n) per change.
import sortedBtree from 'sorted-btree';

// sorted-btree is CommonJS: under Node's ESM loader its class is the module's `default` field.
const BTreeClass = sortedBtree.default;
type BTree<K, V> = InstanceType<typeof BTreeClass<K, V>>;

export class SortedMap<K, V> {
  private constructor(private readonly tree: BTree<K, V>) {}

  static empty<K, V>(compare: (a: K, b: K) => number): SortedMap<K, V> {
    const tree = new BTreeClass<K, V>(undefined, compare);
    tree.freeze();
    return new SortedMap(tree);
  }

  get size(): number {
    return this.tree.size;
  }

  get(key: K): V | undefined {
    return this.tree.get(key);
  }

  has(key: K): boolean {
    return this.tree.has(key);
  }

  set(key: K, value: V): SortedMap<K, V> {
    const next = this.tree.with(key, value, true);
    next.freeze();
    return new SortedMap(next);
  }

  delete(key: K): SortedMap<K, V> {
    if (!this.tree.has(key)) return this;
    const next = this.tree.without(key);
    next.freeze();
    return new SortedMap(next);
  }

  /** The first entry whose key is >= `key`. */
  atOrAfter(key: K): readonly [K, V] | undefined {
    return this.tree.getPairOrNextHigher(key);
  }

  minKey(): K | undefined {
    return this.tree.minKey();
  }

  /** Entries in key order, from `from` (inclusive) when given. */
  *entries(from?: K): IterableIterator<[K, V]> {
    yield* this.tree.entries(from);
  }

  *values(): IterableIterator<V> {
    yield* this.tree.values();
  }
}
