import { BitsetPrefixIndex } from './bitset-index.js';
import { createPrefixIndex } from './create-prefix-index.js';
import { describePrefixIndexConformance } from './testing/conformance.js';
import { ReferenceIndex } from './testing/reference-index.js';

describePrefixIndexConformance('createPrefixIndex (hybrid holders)', createPrefixIndex);
describePrefixIndexConformance(
  'bitset holders for every node',
  (o) => new BitsetPrefixIndex({ ...o, holderLayout: 'bitset' }),
);
// The model the property tests trust must pass the same cases.
describePrefixIndexConformance('reference model', (o) => new ReferenceIndex(o), {
  bounded: false,
});
