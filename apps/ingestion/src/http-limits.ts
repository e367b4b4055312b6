/** Limits of the HTTP door. No imports: main.ts reads these before telemetry loads Nest. */

/** bytes; larger bodies are refused with 413 TOO_LARGE before they are read */
export const MAX_BODY_BYTES = 1_048_576;
/** events in one POST /v1/events */
export const MAX_BATCH = 500;
