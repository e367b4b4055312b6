import cliProgress from 'cli-progress';

export interface Progress {
  tick(by?: number): void;
  stop(): void;
}

/** A progress bar on a terminal; on a pipe (CI, logs) a line every 10 %. */
export function progress(
  label: string,
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | eta {eta_formatted}`,
        stream,
        hideCursor: true,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = Date.now();
    let done = 0;
    bar.start(total, 0, { rate: 0 });
    return {
      tick(by = 1) {
        done += by;
        bar.update(done, { rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)) });
      },
      stop: () => bar.stop(),
    };
  }
  let done = 0;
  let nextReport = Math.ceil(total / 10);
  return {
    tick(by = 1) {
      done += by;
      if (done >= nextReport && done < total) {
        stream.write(`${label}: ${done}/${total}\n`);
        nextReport += Math.ceil(total / 10);
      }
    },
    stop: () => undefined,
  };
}
