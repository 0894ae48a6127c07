// "A failed build leaves no half-written image behind": outputs are written to a
// temporary file beside the target and renamed into place only when complete.
import * as fs from 'node:fs';
import * as path from 'node:path';

export async function writeAtomically<T>(target: string, work: (tmpPath: string) => Promise<T>): Promise<T> {
  const dir = path.dirname(path.resolve(target));
  const tmp = path.join(dir, `.${path.basename(target)}.cake-tmp-${process.pid}`);
  const cleanup = () => fs.rmSync(tmp, { force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const result = await work(tmp);
    fs.renameSync(tmp, target);
    return result;
  } catch (e) {
    cleanup();
    throw e;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
