import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { NunchiConfig } from '../config.js';

/** Injection token of the validated NunchiConfig. */
export const CONFIG = Symbol('NunchiConfig');

@Global()
@Module({})
export class ConfigModule {
  /** The config is loaded once in main.ts (before Nest) and handed in here. */
  static forRoot(config: NunchiConfig): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: CONFIG, useValue: config }], exports: [CONFIG] };
  }
}
