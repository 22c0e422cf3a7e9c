export { describeBusConformance } from './bus-conformance.js';
export { freePort, startNatsServer } from '../nats-server.js';
export type { NatsServer } from '../nats-server.js';
export { FakePublisher } from '../fake-publisher.js';
