const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON as UTF-8 bytes (a Buffer: Node encodes small strings faster that way than TextEncoder does). */
export function encodeJson(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value) ?? 'null', 'utf8');
}

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
}

/** Strict UTF-8 then JSON; throws DecodeError with a reason a sender can act on. */
export function decodeJson(bytes: Uint8Array): unknown {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch (error) {
    throw new DecodeError('body is not valid UTF-8', { cause: error });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DecodeError(`body is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}
