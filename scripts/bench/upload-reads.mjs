// Reads during large uploads (performance issue: "GET p99 while a 10,000-target upload is
// validated stays within 2× of the idle p99"). On one Countersign instance: wrk on a small
// repository's timestamp.json alone (idle), then the same wrk run while large targets uploads to
// another repository follow each other back to back for the whole run. The uploads are signed
// before wrk starts, so the bench process spends the run sending bytes, not signing.
// Method: docs/bench.md "Reads during large uploads".
import { wrk } from './wrk.mjs';
import { DirectRepo, targetList } from './direct-repo.mjs';

export const READS = 'bench.test/reads';
export const UPLOADS = 'bench.test/uploads';

/** Creates the two repositories on `url`; resolves with what `measureReadsDuringUploads` needs. */
export async function prepareUploadScenario(url, { bigTargets, uploads }) {
  const reads = await DirectRepo.open(url, READS);
  await reads.post(reads.firstUpload(targetList('r-', 10)));
  const big = await DirectRepo.open(url, UPLOADS);
  await big.post(big.firstUpload(targetList('u-', 10)));
  const bodies = [];
  for (let v = 2; v < 2 + uploads; v++)
    bodies.push(big.targetsUpload(v, targetList('u-', bigTargets, v)));
  return { url, readUrl: `${url}/v2/${READS}/_trust/tuf/timestamp.json`, big, bodies };
}

/**
 * Idle wrk, then wrk with uploads running for all of it. Resolves with both wrk results, the
 * uploads made (each one's ms) and the p99 ratio; `ranOut` if the prepared uploads ran out before
 * wrk ended (the figure then includes idle time).
 */
export async function measureReadsDuringUploads(scenario, load) {
  const idle = await wrk(scenario.readUrl, load);
  const uploadMs = [];
  let running = true;
  let next = 0;
  let ranOut = false;
  const uploading = (async () => {
    while (running) {
      const body = scenario.bodies[next++];
      if (!body) {
        ranOut = true; // the rest of the run was idle: the report says so
        return;
      }
      uploadMs.push((await scenario.big.post(body)).ms);
    }
  })();
  // The first upload is under way before wrk starts counting.
  const during = await wrk(scenario.readUrl, { ...load, warmupS: 0 }).finally(() => {
    running = false;
  });
  await uploading;
  return {
    idle,
    during,
    uploads: uploadMs.length,
    uploadMs,
    ranOut,
    p99Ratio: during.p99Ms / idle.p99Ms,
  };
}
