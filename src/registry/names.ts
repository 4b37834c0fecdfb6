/**
 * GUN → registry repository (docs/interfaces.md, "Registries and review policy"): drop the GUN's
 * first component (the host) and prepend the registry's `repositoryPrefix`.
 * `staging.store.test/acme/web` with prefix `staging/` is `staging/acme/web`.
 */
import { fail } from '../errors.js';

const REPOSITORY =
  /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

export function isRepositoryName(name: string): boolean {
  return name.length <= 255 && REPOSITORY.test(name);
}

export function repositoryForGun(gun: string, repositoryPrefix = ''): string {
  const slash = gun.indexOf('/');
  if (slash <= 0 || slash === gun.length - 1) {
    fail('INVALID_NAME', `GUN ${JSON.stringify(gun)} has no repository path after its host`);
  }
  const repo = `${repositoryPrefix}${gun.slice(slash + 1)}`;
  if (!isRepositoryName(repo))
    fail('INVALID_NAME', `${JSON.stringify(repo)} is not a valid registry repository name`);
  return repo;
}
