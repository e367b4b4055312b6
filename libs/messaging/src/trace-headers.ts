import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { extractTraceContext, injectTraceContext, type Context } from '@nunchi/telemetry';

/** W3C trace context into NATS headers: there is no official NATS instrumentation, so it lives here, once. */
export function headersWithTrace(extra: Record<string, string> = {}, ctx?: Context): MsgHdrs {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(injectTraceContext({ ...extra }, ctx))) h.set(key, value);
  return h;
}

export function traceContextOf(h: MsgHdrs | undefined): Context {
  return extractTraceContext((key) => (h?.has(key) ? h.get(key) : undefined));
}
