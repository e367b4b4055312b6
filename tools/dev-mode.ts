/**
 * `npm start`, `npm run demo` and the benchmarks run on a development machine. Nunchi has no key for
 * identities outside an explicit development mode (libs/config: NUNCHI_IDENTITY_SECRET or NUNCHI_DEV_MODE),
 * so these tools turn development mode on — for themselves and the processes they start — unless a key or a
 * mode is configured, and say so: its key is public, fit for demo data only.
 */
export function developmentModeUnlessConfigured(say: (line: string) => void): void {
  const env = process.env;
  if (env['NUNCHI_IDENTITY_SECRET'] || env['NUNCHI_DEV_MODE'] || env['NODE_ENV'] === 'production') return;
  env['NUNCHI_DEV_MODE'] = '1';
  say(
    'development mode (NUNCHI_DEV_MODE=1): identities are keyed with the public development key — demo data only; set NUNCHI_IDENTITY_SECRET for real customers',
  );
}
