import { TokenizerError } from './errors.js';

/**
 * The `tools` a template sees in vLLM: `[tool.model_dump() for tool in request.tools]` of its
 * pydantic models ChatCompletionToolsParam {type: "function", function} and FunctionDefinition
 * {name, description, parameters}, both keeping unknown fields. model_dump writes declared fields
 * first, in declaration order, missing ones as None (`tojson` prints null), then the unknown
 * fields in request order. Templates print tools with `tojson`, so key order and the nulls are
 * tokens. null or absent tools stay as they are (the template sees null).
 * @throws TokenizerError for a tool vLLM's validation refuses, naming the field.
 */
export function toToolDicts(tools: unknown): unknown {
  if (tools === undefined || tools === null) return tools;
  if (!Array.isArray(tools)) throw new TokenizerError('tools must be an array');
  return tools.map((tool: unknown, i) => {
    const where = `tools[${i}]`;
    const t = record(tool, where);
    const type = t.type ?? 'function';
    if (type !== 'function') throw new TokenizerError(`${where}.type must be "function"`);
    const f = record(t.function, `${where}.function`);
    if (typeof f.name !== 'string')
      throw new TokenizerError(`${where}.function.name must be a string`);
    const description = f.description ?? null;
    if (description !== null && typeof description !== 'string')
      throw new TokenizerError(`${where}.function.description must be a string or null`);
    const parameters = f.parameters ?? null;
    if (parameters !== null) record(parameters, `${where}.function.parameters`);
    const { name, description: _d, parameters: _p, ...fnExtra } = f;
    const { type: _t, function: _f, ...extra } = t;
    return {
      type,
      function: { name, description, parameters, ...fnExtra },
      ...extra,
    };
  });
}

function record(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new TokenizerError(`${where} must be an object`);
  return v as Record<string, unknown>;
}
