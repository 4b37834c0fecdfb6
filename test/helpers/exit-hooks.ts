/**
 * Last-resort cleanup: synchronous hooks run when the test process exits normally or is
 * terminated by SIGINT/SIGTERM/SIGHUP (e.g. the runner cancelling a file), so no server or temp
 * directory outlives the test file whose after-hooks never ran.
 */
type Hook = () => void;

const hooks: Hook[] = [];
let installed = false;

function runHooks(): void {
  while (hooks.length > 0) {
    try {
      hooks.shift()!();
    } catch {
      // Best effort: the process is going away anyway.
    }
  }
}

function install(): void {
  installed = true;
  process.on('exit', runHooks);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runHooks();
      process.removeListener(signal, onSignal);
      // Die of the same signal, as we would have without this listener, unless someone else
      // also handles it and so has taken over deciding what happens.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Registers a hook; hooks run in registration order, each at most once. */
export function onProcessExit(hook: Hook): void {
  if (!installed) install();
  hooks.push(hook);
}
