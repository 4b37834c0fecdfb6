// The "reads during large uploads" phase of `npm run bench`: two fresh Countersign instances,
// one parsing large parts in its worker thread (the default) and one with
// countersign.limits.parseInWorkerBytes 0 (everything on the event loop), measured alike.
import { startCountersign } from './servers.mjs';
import { measureReadsDuringUploads, prepareUploadScenario } from './upload-reads.mjs';

/** Uploads signed in advance: enough for the run at 125 ms each (they take longer), and spare. */
export function uploadsNeeded(durationS) {
  return Math.ceil(durationS * 8) + 4;
}

export async function uploadPhase({ options, load, rss, stopLater, stopNow, say }) {
  const variants = [
    { key: 'worker', name: 'countersign-uploads-worker', config: undefined },
    {
      key: 'inline',
      name: 'countersign-uploads-inline',
      config: { countersign: { limits: { parseInWorkerBytes: 0 } } },
    },
  ];
  const out = { targets: options.bigTargets, what: 'timestamp.json of another repository' };
  for (const v of variants) {
    say(`reads during ${options.bigTargets}-target uploads: ${v.key}`);
    const cs = stopLater(
      await startCountersign({
        cpus: options.serverCpu,
        logLevel: 'warn',
        name: v.name,
        config: v.config,
        cpuProfDir: options.cpuProf,
      })
    );
    rss.watch(v.name, cs.service.pid);
    const scenario = await prepareUploadScenario(cs.url, {
      bigTargets: options.bigTargets,
      uploads: uploadsNeeded(load.durationS + load.warmupS),
    });
    out[v.key] = await measureReadsDuringUploads(scenario, load);
    rss.unwatch(v.name);
    await stopNow(cs);
  }
  return out;
}
