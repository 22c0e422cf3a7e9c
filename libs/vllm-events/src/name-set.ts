const SLOTS = 64;

/**
 * A small fixed set of ASCII names (field names, event tags) looked up by the
 * bytes of a msgpack string without creating a string: a 64-slot open-address
 * table keyed on (length, first byte, last byte), then one byte comparison.
 * Map-shaped events carry a dozen keys each, so this runs on every key.
 */
export class NameSet {
  readonly names: readonly string[];
  private readonly bytes: Uint8Array[];
  private readonly slots = new Int16Array(SLOTS).fill(-1);

  constructor(names: readonly string[]) {
    if (names.length > SLOTS / 2) throw new RangeError('NameSet holds at most 32 names');
    this.names = names;
    this.bytes = names.map((n) => new TextEncoder().encode(n));
    this.bytes.forEach((b, i) => {
      let s = NameSet.slot(b, 0, b.length);
      while (this.slots[s] !== -1) s = (s + 1) & (SLOTS - 1);
      this.slots[s] = i;
    });
  }

  private static slot(buf: Uint8Array, start: number, n: number): number {
    return n === 0 ? 0 : (n * 31 + buf[start]! * 7 + buf[start + n - 1]!) & (SLOTS - 1);
  }

  /** Index of the name equal to buf[start, start+n), or -1. */
  find(buf: Uint8Array, start: number, n: number): number {
    let s = NameSet.slot(buf, start, n);
    for (;;) {
      const i = this.slots[s]!;
      if (i === -1) return -1;
      const name = this.bytes[i]!;
      if (name.length === n) {
        let k = 0;
        while (k < n && buf[start + k] === name[k]) k++;
        if (k === n) return i;
      }
      s = (s + 1) & (SLOTS - 1);
    }
  }
}
