export {
  describePrefixIndexConformance,
  keyRange,
  keysOf,
  removed,
  stored,
  testKey,
} from './conformance.js';
export { ReferenceIndex } from './reference-index.js';
export type { ConformanceFeatures, PrefixIndexFactory } from './conformance.js';
