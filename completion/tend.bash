# SPDX-License-Identifier: MIT
# bash completion for tend(1): subcommands, each subcommand's options, and
# the names of the processes of a running daemon (for status, start, stop,
# restart, send, logs, wait, logrotate). Installed as
# <datadir>/bash-completion/completions/tend.
#
# Process names come from `tend status` (its first column), asked of the
# daemon that the command line being completed would talk to (its -c and
# -s are passed on). With no daemon, or one we may not talk to, that prints
# nothing on stdout and fails at once; `timeout` bounds a daemon that hangs.

# The subcommands, as `tend --help` lists them (this list if it fails).
_tend_subcommands="run pool daemon check demo submit worker results help status start stop restart send logs wait reload shutdown pool-status close join put get logrotate events"
_tend_demos="list fork process pool subprocess queue thread race lock threadlocal local multicore distributed"

# _tend_subcommand_list TEND: one subcommand a line.
_tend_subcommand_list() {
  local subs
  subs=$("$1" --help 2>/dev/null </dev/null | awk '/^  [a-z]/ { print $1 }')
  printf '%s\n' "${subs:-${_tend_subcommands// /$'\n'}}"
}

# _tend_processes TEND [-c FILE] [-s SOCKET]: one process name a line.
_tend_processes() {
  local tend=$1 name rest
  shift
  command -v timeout >/dev/null 2>&1 || return 0
  timeout 2 "$tend" status "$@" 2>/dev/null </dev/null |
    while read -r name rest; do
      [[ $name == NAME || -z $name ]] || printf '%s\n' "$name"
    done
}

# _tend_reply WORDS CUR: COMPREPLY from the newline-separated WORDS that
# start with CUR, once each (no globbing: "GROUP:*" stays as it is).
_tend_reply() {
  local w
  local -A seen=()
  COMPREPLY=()
  while IFS= read -r w; do
    [[ -n $w && $w == "$2"* && -z ${seen[$w]:-} ]] || continue
    seen[$w]=1
    COMPREPLY+=("$w")
  done <<<"$1"
}

_tend() {
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n : || return
  else
    # Without bash-completion: bash splits GROUP:NAME into three words at
    # the ':' (COMP_WORDBREAKS); join them again.
    local i w
    words=()
    for ((i = 0; i <= COMP_CWORD; i++)); do
      w=${COMP_WORDS[i]}
      if ((i > 1)) && [[ $w == : || ${COMP_WORDS[i - 1]} == : ]]; then
        words[${#words[@]} - 1]+=$w
      else
        words+=("$w")
      fi
    done
    cword=$((${#words[@]} - 1))
    cur=${words[cword]}
    prev=${words[cword - 1]}
  fi

  # The subcommand: the first word that is not an option.
  local i sub="" subi=0
  for ((i = 1; i < cword; i++)); do
    if [[ ${words[i]} != -* ]]; then
      sub=${words[i]}
      subi=$i
      break
    fi
  done
  if [[ -z $sub ]]; then
    if [[ $cur == -* ]]; then
      _tend_reply $'--help\n--version' "$cur"
    else
      _tend_reply "$(_tend_subcommand_list "${words[0]}")" "$cur"
    fi
    return 0
  fi

  # Per subcommand: its options, those of them that take a value, and what
  # its other words are (names: 1 process names, 2 also "all"; one: a
  # single name).
  local opts="" valopts="" names=0 one=0
  local ctlopts="-c --config -s --socket -h --help" ctlval="-c --config -s --socket"
  case $sub in
    run)
      opts="--input --input-file --stdin --timeout --kill-after --cwd --env --json --show-exit --help --"
      valopts="--input --input-file --timeout --kill-after --cwd --env"
      ;;
    pool)
      opts="-j --jobs -k --keep-order --joblog --timeout --kill-after --halt-on-error --dry-run --progress --no-progress --help --"
      valopts="-j --jobs --joblog --timeout --kill-after"
      ;;
    daemon) opts="-c --config --strict -h --help"; valopts="-c --config" ;;
    check) opts="-c --config -q --quiet --json --strict --allow-skipped -h --help"; valopts="-c --config" ;;
    demo)
      opts="--scale --seed --interval --iterations --threads --seconds --redis -h --help"
      valopts="--scale --seed --interval --iterations --threads --seconds --redis"
      ;;
    help) ;;
    status) opts="-j --json $ctlopts"; valopts=$ctlval; names=1 ;;
    start | stop | restart) opts="-j --json $ctlopts"; valopts=$ctlval; names=2 ;;
    logrotate) opts=$ctlopts; valopts=$ctlval; names=1 ;;
    wait) opts="-j --json $ctlopts"; valopts=$ctlval; names=1; one=1 ;;
    logs)
      opts="-f --follow -n --lines -E --stderr $ctlopts"
      valopts="$ctlval -n --lines"
      names=1; one=1
      ;;
    send) opts=$ctlopts; valopts=$ctlval; names=1; one=1 ;;
    reload) opts="-j --json $ctlopts"; valopts=$ctlval ;;
    shutdown) opts=$ctlopts; valopts=$ctlval ;;
    put) opts="--nowait $ctlopts"; valopts=$ctlval ;;
    get) opts="--timeout -n --lines $ctlopts"; valopts="$ctlval --timeout -n --lines" ;;
    events) opts="-f --follow -j --json --type $ctlopts"; valopts="$ctlval --type" ;;
    *)
      # A subcommand this file does not know yet: the long options of its
      # --help.
      opts=$("${words[0]}" "$sub" --help 2>/dev/null </dev/null |
               grep -oE -- '--[a-z][a-z-]*' | sort -u | tr '\n' ' ')
      ;;
  esac

  # The line so far after the subcommand: -c/-s to pass on to `tend
  # status`, the words that are not options, and where "--" is.
  local -a ctl=() args=()
  local dashdash=0
  for ((i = subi + 1; i < cword; i++)); do
    local w=${words[i]}
    if [[ $w == -- ]]; then
      dashdash=$i
      break
    elif [[ " $valopts " == *" $w "* ]]; then
      [[ " $ctlval " == *" $w "* ]] && ctl+=("$w" "${words[i + 1]}")
      i=$((i + 1))
    elif [[ $w != -* ]]; then
      args+=("$w")
      # run and pool: the command starts at the first word that is not
      # one of their options.
      if [[ $sub == run || $sub == pool ]]; then
        dashdash=$((i - 1))
        break
      fi
    fi
  done

  # The value of an option.
  if [[ " $valopts " == *" $prev "* ]] && ((dashdash == 0)); then
    case $prev in
      -c | --config | -s | --socket | --input-file | --joblog)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -f -- "$cur"))
        ;;
      --cwd)
        compopt -o filenames 2>/dev/null
        COMPREPLY=($(compgen -d -- "$cur"))
        ;;
    esac
    return 0
  fi

  case $sub in
    run | pool)
      if ((dashdash > 0)); then
        # The command, then its own arguments.
        if declare -F _command_offset >/dev/null 2>&1; then
          _command_offset $((dashdash + 1))
        elif ((cword == dashdash + 1)); then
          COMPREPLY=($(compgen -c -- "$cur"))
        else
          compopt -o filenames 2>/dev/null
          COMPREPLY=($(compgen -f -- "$cur"))
        fi
        return 0
      fi
      ;;
    help)
      ((${#args[@]} == 0)) && _tend_reply "$(_tend_subcommand_list "${words[0]}")" "$cur"
      return 0
      ;;
    demo)
      if [[ $cur != -* ]]; then
        ((${#args[@]} == 0)) && _tend_reply "${_tend_demos// /$'\n'}" "$cur"
        return 0
      fi
      ;;
    send)
      if ((${#args[@]} == 1)) && [[ $cur != -* ]]; then
        _tend_reply "-" "$cur"
        return 0
      fi
      ;;
  esac

  if [[ $cur == -* ]] || ((names == 0)); then
    _tend_reply "${opts// /$'\n'}" "$cur"
    return 0
  fi
  ((one == 1 && ${#args[@]} > 0)) && return 0

  # Process names, GROUP:* for each group, and "all" where it is allowed.
  local list name more=""
  list=$(_tend_processes "${words[0]}" "${ctl[@]}")
  if ((one == 0)); then
    while IFS= read -r name; do
      [[ $name == *:* ]] && more+=$'\n'"${name%%:*}:*"
    done <<<"$list"
  fi
  ((names == 2)) && more+=$'\n'all
  _tend_reply "$list$more" "$cur"
  # bash replaces only what follows the last ':' of the word.
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local colon=${cur%"${cur##*:}"} i
    for i in "${!COMPREPLY[@]}"; do
      COMPREPLY[i]=${COMPREPLY[i]#"$colon"}
    done
  fi
  return 0
}

complete -F _tend tend
