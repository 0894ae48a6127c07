// Fault injection for the CLI fault-matrix test: CAKE_IMG_FAULT="SIGNAL@POINT" makes the
// process send itself SIGNAL (SIGINT, SIGTERM, SIGHUP) the first time it reaches POINT,
// so the test can stop a run at a known step instead of racing a timer. The points:
//   loaded   the source tree has been read
//   write    the first bytes of an output have been written
//   rename   a finished output is about to be renamed into place
//   script   a cook script is running (it has printed its first line)
//   console  QEMU is running (the guest console has printed)
// Unset (always, outside tests), this is one string comparison per point.
const spec = process.env.CAKE_IMG_FAULT;
const at = spec ? /^(SIGINT|SIGTERM|SIGHUP)@(\w+)$/.exec(spec) : null;
let fired = false;

export function faultPoint(point: string): void {
  if (!at || fired || at[2] !== point) return;
  fired = true;
  process.kill(process.pid, at[1] as NodeJS.Signals);
}
