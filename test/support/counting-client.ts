import type { CqlClient } from '@nunchi/cassandra';

/**
 * `client`, with the CQL of every request it sends appended to `sent` (a batch as `BATCH`; a page of a paged
 * read counts once, as the server sees it): medium tests count the requests a code path makes.
 */
export function countingClient(client: CqlClient, sent: string[]): CqlClient {
  return new Proxy(client, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if ((key === 'execute' || key === 'batch') && typeof value === 'function')
        return (...args: unknown[]) => {
          sent.push(key === 'batch' ? 'BATCH' : (args[0] as string));
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
