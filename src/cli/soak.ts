import { printReport, saveReport } from '../bench/report.js';
import { DevToolsMissingError } from '../bench/dev-tools.js';
import { soak, soakSvg, type SoakReport } from '../bench/soak.js';

/** `emobot soak`: the report on stdout and in <out>/soak.json, the curves in <out>/soak.svg; exit 1 when it failed. */
export async function soakCommand(options: { minutes: number; out: string; json: boolean }): Promise<number> {
  const progress = (line: string) => process.stderr.write(`soak: ${line}\n`);
  progress(`the daemon in full mode for ${options.minutes} min`);
  const interrupted = new AbortController();
  const interrupt = () => {
    progress('interrupted: stopping the daemon and reporting what was measured');
    interrupted.abort();
  };
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  let report: SoakReport;
  try {
    report = await soak({ minutes: options.minutes, sampleSeconds: Math.min(10, (options.minutes * 60) / 12), progress, signal: interrupted.signal });
  } catch (err) {
    if (!(err instanceof DevToolsMissingError)) throw err;
    process.stderr.write(`emobot soak: ${err.message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', interrupt).off('SIGTERM', interrupt);
  }
  const files = saveReport(options.out, 'soak', report, soakSvg(report));
  progress(`${report.passed ? 'passed' : 'FAILED'}: RSS ${report.rss.afterWarmUpMb} -> ${report.rss.atEndMb} MB (${report.rss.growthPercent}%), wrote ${files.json} and ${files.svg}`);
  printReport(report, options.json);
  return report.passed ? 0 : 1;
}
