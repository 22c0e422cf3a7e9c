export { run } from './main.js';
export type { Command } from './commands.js';
