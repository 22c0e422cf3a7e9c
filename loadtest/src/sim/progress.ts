/** A one-line progress bar on stderr, redrawn in place. */
export function progressBar(label: string): {
  update: (done: number, total: number, virtualMs: number) => void;
  end: () => void;
} {
  const start = performance.now();
  let drawn = false;
  return {
    update(done, total, virtualMs) {
      const f = total > 0 ? done / total : 1;
      const width = 30;
      const bar = '#'.repeat(Math.round(f * width)).padEnd(width, '.');
      const wall = (performance.now() - start) / 1000;
      process.stderr.write(
        `\r${label} [${bar}] ${(f * 100).toFixed(0).padStart(3)}% ${done}/${total} requests, ` +
          `virtual ${(virtualMs / 1000).toFixed(0)} s, wall ${wall.toFixed(0)} s `,
      );
      drawn = true;
    },
    end() {
      if (drawn) process.stderr.write('\n');
    },
  };
}
