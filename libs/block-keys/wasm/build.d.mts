export function compileChainWat(): Promise<string>;
export function renderModule(base64: string): string;
