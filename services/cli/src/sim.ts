import type { Command } from './commands.js';

export const simCommand: Command = {
  summary:
    'simulate a vLLM fleet: replay a trace on a virtual clock, or `sim serve` real-time pods',
  usage: `kvroute sim --trace <file.jsonl> --pods N --policy <name> [--capacity-tokens T] [--load F] [--json]
       kvroute sim serve --pods N [--port P] [--model M] [--time-scale F] [--wire-shape S] [--capacity-tokens T] [--tokenizer DIR]`,
  handlesHelp: true,
  async run(args) {
    const sim = await import('@kvroute/sim');
    if (args[0] === 'serve') return sim.simServeCli(args.slice(1));
    return sim.runSimCli(args);
  },
};
