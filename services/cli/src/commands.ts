/** A CLI command: loaded lazily so `kvroute bench` never pulls in NATS or HTTP. */
export interface Command {
  summary: string;
  usage: string;
  /** Returns the exit code; long-running commands resolve when they stop. */
  run(args: string[]): Promise<number>;
  /** The command parses its own flags and prints its own --help. */
  handlesHelp?: boolean;
  /** First arguments that name a subcommand; error messages name it (`kvroute loadtest e2e: …`). */
  subcommands?: readonly string[];
}

/** A command whose module parses its own flags and prints its own --help. */
function delegate(
  summary: string,
  usage: string,
  load: () => Promise<(argv: string[]) => Promise<number>>,
): Command {
  return { summary, usage, run: async (args) => (await load())(args), handlesHelp: true };
}

export const commands: Record<string, () => Promise<Command>> = {
  indexer: async () =>
    delegate(
      'run an index shard replica (NATS)',
      'kvroute indexer --help',
      async () => (await import('@kvroute/indexer')).indexerMain,
    ),
  router: async () =>
    delegate(
      'run the router: pick API and OpenAI-compatible gateway',
      'kvroute router --help',
      async () => (await import('@kvroute/router')).routerMain,
    ),
  publisher: async () =>
    delegate(
      'run the sidecar beside a vLLM pod: KV events → NATS',
      'kvroute publisher --help',
      async () => (await import('@kvroute/publisher')).publisherMain,
    ),
  demo: async () => (await import('./demo-command.js')).demoCommand,
  stack: async () => (await import('./stack-command.js')).stackCommand,
  sim: async () => (await import('./sim.js')).simCommand,
  loadtest: async () => (await import('./loadtest.js')).loadtestCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
};
