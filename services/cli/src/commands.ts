/** A CLI command: loaded lazily so `kvroute bench` never pulls in NATS or HTTP. */
export interface Command {
  summary: string;
  usage: string;
  /** Returns the exit code; long-running commands resolve when they stop. */
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, () => Promise<Command>> = {
  bench: async () => (await import('./bench.js')).benchCommand,
};
