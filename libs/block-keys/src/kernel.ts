import { CHAIN_WASM_BASE64 } from './chain-wasm.js';

/**
 * The xxh64 kernel (wasm/chain.wat): hashing a whole chain in one call keeps
 * bigints off the per-block path. `xxh64` exists for roots and for the rare
 * blocks with extra keys.
 */
interface KernelExports {
  memory: WebAssembly.Memory;
  xxh64(ptr: number, len: number, seed: bigint): bigint;
  chain(tok: number, blocks: number, blockSize: number, parent: bigint, out: number): void;
}

export class Kernel {
  private readonly ex: KernelExports;
  u8!: Uint8Array;
  u32!: Uint32Array;
  u64!: BigUint64Array;

  constructor() {
    const bytes = Buffer.from(CHAIN_WASM_BASE64, 'base64');
    // Synchronous compile is fine for a module of a few hundred bytes.
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    this.ex = instance.exports as unknown as KernelExports;
    this.refresh();
  }

  private refresh(): void {
    const buf = this.ex.memory.buffer;
    this.u8 = new Uint8Array(buf);
    this.u32 = new Uint32Array(buf);
    this.u64 = new BigUint64Array(buf);
  }

  /** Makes at least `bytes` of linear memory addressable. */
  ensure(bytes: number): void {
    const have = this.ex.memory.buffer.byteLength;
    if (have >= bytes) return;
    this.ex.memory.grow(Math.ceil((bytes - have) / 65536));
    this.refresh();
  }

  xxh64(ptr: number, len: number): bigint {
    return this.ex.xxh64(ptr, len, 0n);
  }

  chain(tok: number, blocks: number, blockSize: number, parent: bigint, out: number): void {
    this.ex.chain(tok, blocks, blockSize, parent, out);
  }
}
