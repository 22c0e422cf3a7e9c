export { createApp } from './app.js';
export { parsePublisherConfig, PUBLISHER_USAGE, publisherSettings } from './config.js';
export { publisherMain } from './main.js';
export { createPublisher } from './publisher.js';
export type { AppDeps } from './app.js';
export type { PublisherConfig } from './config.js';
export type { Publisher, PublisherDeps, PublisherOptions, PublisherStatus } from './publisher.js';
