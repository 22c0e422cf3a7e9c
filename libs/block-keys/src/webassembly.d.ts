// The slice of the WebAssembly JS API the kernel uses. Node has it at run
// time; @types/node 20 does not declare it and the DOM lib would bring the
// whole browser along.
declare namespace WebAssembly {
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, unknown>);
    readonly exports: Record<string, unknown>;
  }
}
