import type { Msg } from '@nats-io/transport-node';
import { BaseRpcContext } from '@nestjs/microservices';
import type { Delivery } from '../consumer-runner.js';

/** `@Ctx()` of a JetStream handler: the delivery (subject, sequence, delivery count, redelivered, headers). */
export class JetStreamContext<T = unknown> extends BaseRpcContext<[Delivery<T>]> {
  get delivery(): Delivery<T> {
    return this.args[0];
  }
  get subject(): string {
    return this.args[0].subject;
  }
  /** 1 on first delivery */
  get deliveryCount(): number {
    return this.args[0].deliveryCount;
  }
  /** may have been handled before (see Delivery.redelivered) */
  get redelivered(): boolean {
    return this.args[0].redelivered;
  }
  header(name: string): string | undefined {
    return this.args[0].header(name);
  }
}

/** `@Ctx()` of a core NATS handler (request/reply or broadcast). */
export class NatsMessageContext extends BaseRpcContext<[Msg]> {
  get subject(): string {
    return this.args[0].subject;
  }
  /** whether the sender waits for a reply (a request, not a plain publish) */
  get expectsReply(): boolean {
    return Boolean(this.args[0].reply);
  }
  header(name: string): string | undefined {
    const headers = this.args[0].headers;
    return headers?.has(name) ? headers.get(name) : undefined;
  }
}
