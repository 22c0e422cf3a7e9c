import { TokenizerError } from './errors.js';

/** How a template expects `content`: vLLM's "string" (text parts joined) or "openai" (parts). */
export type ContentFormat = 'string' | 'openai';

/** Text-bearing part types and the field that holds their text, as vLLM parses them. */
const TEXT_PARTS: Record<string, string> = {
  text: 'text',
  input_text: 'text',
  output_text: 'text',
  refusal: 'refusal',
  thinking: 'thinking',
};

/**
 * Validates OpenAI chat messages and converts them to what vLLM hands the chat template
 * (`parse_chat_messages`): content parts reduced to text (joined with "\n" for string-format
 * templates), `null` content as empty, name / tool_call_id / tool_calls / reasoning kept,
 * tool-call `arguments` parsed from JSON strings into objects. Roles are not checked here: the
 * template decides what an unknown role means, as it does in vLLM.
 * @throws TokenizerError naming the bad message and field.
 */
export function toConversation(
  messages: unknown,
  format: ContentFormat,
): Record<string, unknown>[] {
  if (!Array.isArray(messages)) throw new TokenizerError('messages must be an array');
  // OpenAI requires at least one; Python templates that read messages[0] raise on none.
  if (messages.length === 0) throw new TokenizerError('messages must not be empty');
  return messages.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m))
      throw new TokenizerError(`messages[${i}] must be an object`);
    const msg = m as Record<string, unknown>;
    const role = msg.role;
    if (typeof role !== 'string') throw new TokenizerError(`messages[${i}].role must be a string`);
    const texts = contentTexts(msg.content, i);
    const out: Record<string, unknown> = { role };
    // vLLM joins a tool message's text parts even for templates that take parts.
    out.content =
      format === 'string' || role === 'tool'
        ? texts.join('\n')
        : texts.map((text) => ({ type: 'text', text }));
    if (role === 'assistant') {
      const calls = msg.tool_calls;
      if (calls !== undefined && calls !== null) {
        if (!Array.isArray(calls))
          throw new TokenizerError(`messages[${i}].tool_calls must be an array`);
        // Kept even when empty, as vLLM does: templates may test `'tool_calls' in message`.
        out.tool_calls = calls.map((c, j) => toolCall(c, i, j));
      }
      if (typeof msg.reasoning === 'string') {
        out.reasoning = msg.reasoning;
        out.reasoning_content = msg.reasoning;
      }
    }
    if (role === 'tool' && 'tool_call_id' in msg) out.tool_call_id = msg.tool_call_id;
    if (typeof msg.name === 'string') out.name = msg.name;
    return out;
  });
}

function contentTexts(content: unknown, i: number): string[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content))
    throw new TokenizerError(`messages[${i}].content must be a string, an array of parts or null`);
  const texts: string[] = [];
  content.forEach((part: unknown, j) => {
    if (typeof part === 'string') {
      texts.push(part);
      return;
    }
    const where = `messages[${i}].content[${j}]`;
    if (typeof part !== 'object' || part === null)
      throw new TokenizerError(`${where} must be an object`);
    const p = part as Record<string, unknown>;
    const type = p.type;
    if (typeof type !== 'string') throw new TokenizerError(`${where}.type must be a string`);
    const field = TEXT_PARTS[type];
    if (field === undefined)
      throw new TokenizerError(
        `${where} has type '${type}': only text parts can be tokenized (media parts need the engine's processor)`,
        { code: 'media' },
      );
    const text = p[field];
    if (text === undefined || text === null) return; // vLLM skips such parts
    if (typeof text !== 'string') throw new TokenizerError(`${where}.${field} must be a string`);
    texts.push(text);
  });
  return texts;
}

function toolCall(call: unknown, i: number, j: number): unknown {
  const where = `messages[${i}].tool_calls[${j}]`;
  if (typeof call !== 'object' || call === null)
    throw new TokenizerError(`${where} must be an object`);
  const c = { ...(call as Record<string, unknown>) };
  const fn = c.function;
  if (typeof fn !== 'object' || fn === null)
    throw new TokenizerError(`${where}.function must be an object`);
  const f = { ...(fn as Record<string, unknown>) };
  f.arguments = parseArguments(f.arguments);
  c.function = f;
  return c;
}

/** vLLM: JSON strings become objects; invalid JSON or other types become `{}`. */
function parseArguments(args: unknown): unknown {
  if (typeof args === 'string') {
    try {
      return JSON.parse(args) as unknown;
    } catch {
      return {};
    }
  }
  return typeof args === 'object' && args !== null ? args : {};
}
