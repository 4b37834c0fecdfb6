/**
 * `countersign completion bash|zsh`: a shell completion script on standard output, to be sourced
 * (`source <(countersign completion bash)`, or saved under bash-completion's or zsh's directory;
 * docs/client.md "Shell completion"). It completes command names, the second word of the commands
 * that have one (`submission get|list`, `audit verify|list`, …), and the flags of the client and
 * store commands; anything else falls back to file names. The words are fixed in the script when
 * it is printed, so completing never runs countersign.
 */
import { fail } from '../errors.js';
import { didYouMean } from '../util/suggest.js';
import type { FlagSpec } from './args.js';
import { CHECK_FLAGS, PULL_FLAGS, VERIFY_FLAGS } from './client-usage.js';
import { STORE_FLAGS } from './store-usage.js';

const SHELLS = ['bash', 'zsh'] as const;

/** The second word of the commands that take one. */
const SUBCOMMANDS: Record<string, readonly string[]> = {
  submission: ['get', 'list'],
  audit: ['verify', 'list'],
  config: ['check'],
  user: ['add', 'list', 'remove', 'unlock'],
  keys: ['reseal'],
  completion: SHELLS,
};

const STORE_COMMANDS = [
  'submit',
  'submission',
  'approve',
  'reject',
  'publish',
  'revoke',
  'report',
  'waive',
  'audit',
];

function flagWords(spec: FlagSpec): string {
  return Object.keys(spec)
    .map((n) => `--${n}`)
    .join(' ');
}

/** The flags offered per command; commands not listed get --help alone. */
function flagsByCommand(): Record<string, string> {
  const byCommand: Record<string, string> = {
    check: flagWords(CHECK_FLAGS),
    verify: flagWords(VERIFY_FLAGS),
    pull: flagWords(PULL_FLAGS),
  };
  for (const c of STORE_COMMANDS) byCommand[c] = flagWords(STORE_FLAGS);
  return byCommand;
}

/** Single-quoted for the shell (the words are ours, but quoting keeps the script well-formed). */
function quote(words: string): string {
  return `'${words.replace(/'/g, `'\\''`)}'`;
}

export function bashScript(commands: readonly string[]): string {
  const sub = Object.entries(SUBCOMMANDS)
    .map(([c, words]) => `    ${c}) subs=${quote(words.join(' '))} ;;`)
    .join('\n');
  const flags = Object.entries(flagsByCommand())
    .map(([c, words]) => `    ${c}) flags=${quote(`${words}`)} ;;`)
    .join('\n');
  return `# countersign shell completion (bash). Load it with:  source <(countersign completion bash)
_countersign() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" command="\${COMP_WORDS[1]}" subs="" flags="--help"
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${quote(commands.join(' '))} -- "$cur") )
    return 0
  fi
  case "$command" in
${sub}
  esac
  case "$command" in
${flags}
  esac
  if [ "$COMP_CWORD" -eq 2 ] && [ -n "$subs" ] && [[ "$cur" != -* ]]; then
    COMPREPLY=( $(compgen -W "$subs" -- "$cur") )
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
  return 0
}
complete -o filenames -F _countersign countersign
`;
}

/** zsh runs the bash function through its bashcompinit layer. */
export function zshScript(commands: readonly string[]): string {
  return `#compdef countersign
# countersign shell completion (zsh). Load it with:  source <(countersign completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bashScript(commands).split('\n').slice(1).join('\n')}`;
}

export function completion(argv: readonly string[], commands: readonly string[]): number {
  if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) {
    process.stdout.write(
      'Usage: countersign completion bash|zsh\n\nPrints a completion script; load it with  source <(countersign completion bash)\n'
    );
    return 0;
  }
  const [shell, ...rest] = argv;
  if (shell === undefined || rest.length > 0 || !(SHELLS as readonly string[]).includes(shell))
    fail(
      'USAGE',
      `completion takes one shell: bash or zsh${shell === undefined ? '' : `, not ${JSON.stringify(argv.join(' '))}${didYouMean(shell, SHELLS)}`}`
    );
  process.stdout.write(shell === 'bash' ? bashScript(commands) : zshScript(commands));
  return 0;
}
