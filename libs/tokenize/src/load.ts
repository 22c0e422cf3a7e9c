import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { TokenizerLoadError } from './errors.js';
import { createModelTokenizer } from './model-tokenizer.js';
import type { CreateOptions } from './model-tokenizer.js';
import type { ModelFiles, TokenizerJson } from './tokenizer-json.js';
import type { ModelTokenizer } from './types.js';

/**
 * Reads a Hugging Face model directory (tokenizer.json, tokenizer_config.json, and the chat
 * template from chat_template.jinja, tokenizer_config.json or chat_template.json, in that order)
 * and builds its tokenizer. The only I/O in this package; no network.
 * @throws TokenizerLoadError naming the missing or malformed file.
 */
export async function loadModelTokenizer(
  dir: string,
  options: CreateOptions = {},
): Promise<ModelTokenizer> {
  return createModelTokenizer(await readModelFiles(dir), {
    ...options,
    model: options.model ?? basename(dir),
  });
}

export async function readModelFiles(dir: string): Promise<ModelFiles> {
  const tokenizer = (await readJson(join(dir, 'tokenizer.json'), true)) as TokenizerJson;
  const config = (await readJson(join(dir, 'tokenizer_config.json'), false)) ?? {};
  const jinja = await readText(join(dir, 'chat_template.jinja'));
  const processor = await readJson(join(dir, 'chat_template.json'), false);
  const fromConfig = config.chat_template;
  const fromProcessor = processor?.chat_template;
  const chatTemplate =
    jinja ??
    (isTemplate(fromConfig) ? fromConfig : isTemplate(fromProcessor) ? fromProcessor : undefined);
  return { tokenizer, config, ...(chatTemplate !== undefined ? { chatTemplate } : {}) };
}

function isTemplate(v: unknown): v is ModelFiles['chatTemplate'] {
  return (
    typeof v === 'string' ||
    (Array.isArray(v) &&
      v.every(
        (t: unknown) =>
          typeof t === 'object' &&
          t !== null &&
          typeof (t as Record<string, unknown>).name === 'string' &&
          typeof (t as Record<string, unknown>).template === 'string',
      ))
  );
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TokenizerLoadError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function readJson(path: string, required: true): Promise<Record<string, unknown>>;
async function readJson(
  path: string,
  required: false,
): Promise<Record<string, unknown> | undefined>;
async function readJson(
  path: string,
  required: boolean,
): Promise<Record<string, unknown> | undefined> {
  const text = await readText(path);
  if (text === undefined) {
    if (required) throw new TokenizerLoadError(`${path} not found`);
    return undefined;
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new TokenizerLoadError(`${path} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new TokenizerLoadError(`${path} must hold a JSON object`);
  return v as Record<string, unknown>;
}
