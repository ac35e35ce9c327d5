// Ending the process once a classic command is done. Left to itself, Node
// first waits for V8's queued background work (optimising compilations no
// longer needed, ≈5 ms after a large evaluation) and tears the heap down;
// process.exit skips that. It would also drop output still queued in
// Node's stdio streams, so it is used only when those streams were never
// created: tsnix writes its results synchronously (FdOutput), and anything
// that reaches for process.stdout or process.stderr (warnings, progress,
// oclif) makes the process end the usual way.

let nodeStreamsUsed = false;

/** Notes any use of process.stdout and process.stderr from now on (call first thing). */
export function watchNodeStreams(): void {
  for (const name of ['stdout', 'stderr'] as const) {
    const d = Object.getOwnPropertyDescriptor(process, name);
    if (d?.get === undefined || !d.configurable) {
      nodeStreamsUsed = true;
      continue;
    }
    const get = d.get;
    Object.defineProperty(process, name, {
      configurable: true,
      enumerable: d.enumerable,
      get() {
        nodeStreamsUsed = true;
        return get.call(process);
      },
    });
  }
}

/** Ends the process with `status`: at once when nothing can be pending, else when Node is done. */
export function exitWith(status: number): void {
  if (nodeStreamsUsed) process.exitCode = status;
  else process.exit(status);
}
