export { createApp } from './app.js';
export type { AppDeps } from './app.js';
export { INDEXER_USAGE, indexerSettings } from './config.js';
export type { IndexerConfig } from './config.js';
export { Indexer } from './indexer.js';
export type { IndexerOptions } from './indexer.js';
export { indexerMain, indexerOptions } from './main.js';
