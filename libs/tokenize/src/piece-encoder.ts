import { Tokenizer } from '@huggingface/tokenizers';
import type { AddedTokenSpec } from './added-tokens.js';
import type { TokenizerConfig, TokenizerJson } from './tokenizer-json.js';

/**
 * Encodes text that contains no added tokens (a piece between two of them) into token ids, without
 * special tokens. Pure: the same piece always gives the same ids.
 */
export interface PieceEncoder {
  readonly kind: 'byte-level-bpe' | 'library';
  encodePiece(piece: string): Uint32Array;
}

/** Any tokenizer.json the @huggingface/tokenizers library understands; slower than byte-level BPE. */
export class LibraryEncoder implements PieceEncoder {
  readonly kind = 'library' as const;
  readonly tokenizer: Tokenizer;
  /**
   * For pieces: without the `single_word` tokens the splitter handles. The library matches those
   * inside words too, so it would re-split a piece where the splitter rejected a match.
   */
  private readonly pieces: Tokenizer;

  constructor(json: TokenizerJson, config: TokenizerConfig) {
    this.tokenizer = new Tokenizer(json, config);
    const added = json.added_tokens ?? [];
    const splitterSingleWord = (t: AddedTokenSpec): boolean =>
      t.single_word === true && (t.normalized !== true || !json.normalizer);
    this.pieces = added.some(splitterSingleWord)
      ? new Tokenizer(
          { ...json, added_tokens: added.filter((t) => !splitterSingleWord(t)) },
          config,
        )
      : this.tokenizer;
  }

  encodePiece(piece: string): Uint32Array {
    return Uint32Array.from(this.pieces.encode(piece, { add_special_tokens: false }).ids);
  }

  /** The whole text, added tokens included, with or without the post-processor's special tokens. */
  encodeText(text: string, addSpecialTokens: boolean): Uint32Array {
    return Uint32Array.from(
      this.tokenizer.encode(text, { add_special_tokens: addSpecialTokens }).ids,
    );
  }
}
