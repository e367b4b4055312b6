/**
 * Which partition a customer's events go to. FNV-1a over the UTF-8 bytes of the id: stable across
 * processes and versions (it is part of the data layout: changing it reorders in-flight customers).
 */
export function partitionOf(customerId: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < customerId.length; i++) {
    let code = customerId.charCodeAt(i);
    // Fold UTF-16 code units; ids are ASCII in practice, and any stable fold is enough here.
    hash ^= code & 0xff;
    hash = Math.imul(hash, 0x01000193);
    code >>>= 8;
    if (code) {
      hash ^= code;
      hash = Math.imul(hash, 0x01000193);
    }
  }
  return (hash >>> 0) % partitions;
}
