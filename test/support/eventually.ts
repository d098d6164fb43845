/** Poll until `check` returns true or `ms` pass; returns whether it succeeded and how long it took. No runtime imports: light enough for any test helper. */
export async function eventually(check: () => Promise<boolean> | boolean, ms = 5000, every = 50): Promise<{ ok: boolean; ms: number }> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (await check()) return { ok: true, ms: Date.now() - started };
    await new Promise((r) => setTimeout(r, every));
  }
  return { ok: (await check()) === true, ms: Date.now() - started };
}
