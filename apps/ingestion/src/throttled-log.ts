import type { Logger } from '@nestjs/common';

/** One log line per second at most, with a count: an outage must not turn into a log flood. */
export class ThrottledLog {
  private count = 0;
  private last = '';
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  add(detail: string): void {
    this.count++;
    this.last = detail;
    this.timer ??= setTimeout(() => {
      this.logger.warn(`${this.what}: ${this.count} in the last second (last: ${this.last})`);
      this.count = 0;
      this.timer = undefined;
    }, 1_000).unref();
  }
}
