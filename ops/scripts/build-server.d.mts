/** Types of build-server.mjs, for the tests and the benchmark that build through it. */
export function buildServer(options?: { outdir?: string; entries?: Record<string, string> }): Promise<{ outdir: string; ms: number }>;
