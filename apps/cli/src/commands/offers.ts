import type { OfferMessage } from '@nunchi/contracts/core';
import { decodeJson } from '@nunchi/messaging';
import type { Resources } from '../resources.js';

/** Follows offers as adapters see them: mkt.offers.<channel>.<storeId>, wildcards allowed. */
export async function tailOffers(
  resources: Resources,
  options: { channel?: string; store?: string; limit?: number },
  onOffer: (offer: OfferMessage, subject: string) => void,
): Promise<void> {
  const messaging = await resources.messaging();
  const subject = `mkt.offers.${options.channel ?? '*'}.${options.store ?? '*'}`;
  for await (const msg of messaging.follow(subject, { max: options.limit }))
    onOffer(decodeJson(msg.data) as OfferMessage, msg.subject);
}
