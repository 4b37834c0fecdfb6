// The "reads during large uploads" phase of `npm run bench`: two fresh Countersign instances,
// one parsing large parts in its worker thread (the default) and one with
// countersign.limits.parseInWorkerBytes 0 (everything on the event loop), and notary-server for
// comparison (the goal is Countersign's own ratio; notary-server's says what the yardstick does
// under the same uploads), measured alike.
import { startCountersign, startNotaryServer } from './servers.mjs';
import { measureReadsDuringUploads, prepareUploadScenario } from './upload-reads.mjs';

/** Uploads signed in advance: enough for the run at 125 ms each (they take longer), and spare. */
export function uploadsNeeded(durationS) {
  return Math.ceil(durationS * 8) + 4;
}

export async function uploadPhase({ options, load, rss, stopLater, stopNow, say }) {
  const countersign = (name, config) => (o) =>
    startCountersign({ ...o, name, config, cpuProfDir: options.cpuProf });
  const variants = [
    { key: 'worker', start: countersign('countersign-uploads-worker') },
    {
      key: 'inline',
      start: countersign('countersign-uploads-inline', {
        countersign: { limits: { parseInWorkerBytes: 0 } },
      }),
    },
    {
      key: 'notaryServer',
      start: (o) => startNotaryServer({ ...o, name: 'notary-server-uploads' }),
    },
  ];
  const out = { targets: options.bigTargets, what: 'timestamp.json of another repository' };
  for (const v of variants) {
    say(`reads during ${options.bigTargets}-target uploads: ${v.key}`);
    const cs = stopLater(await v.start({ cpus: options.serverCpu, logLevel: 'warn' }));
    rss.watch(cs.name, cs.service.pid);
    const scenario = await prepareUploadScenario(cs.url, {
      bigTargets: options.bigTargets,
      uploads: uploadsNeeded(load.durationS + load.warmupS),
    });
    out[v.key] = await measureReadsDuringUploads(scenario, load);
    rss.unwatch(cs.name);
    await stopNow(cs);
  }
  return out;
}
