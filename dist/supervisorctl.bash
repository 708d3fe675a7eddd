# bash completion for supervisorctl of bot-supervisor (the chat bot's plugin
# supervisor, not Debian's supervisord): verbs, options, plugin names asked
# of the running daemon, windows, signals and topics.
#
# Installed as PREFIX/share/bash-completion/completions/supervisorctl, where
# bash-completion loads it the first time supervisorctl is completed.

# The verbs, from supervisorctl's own help (so they follow the binary).
_bot_supervisorctl_verbs()
{
	"$1" --help 2>/dev/null |
	    sed -n '/^verbs:/,/^exit status/s/^  \([a-z][a-z]*\).*/\1/p'
}

# Names with saved history and no plugin in the config (what forget takes).
_bot_supervisorctl_forgettable()
{
	local ctl=$1
	shift
	timeout 2 "$ctl" "$@" system --json 2>/dev/null |
	    sed -n '/"unconfigured": \[/,/\]/s/^ *"\([a-z0-9_-]*\)",\{0,1\}$/\1/p'
}

# The plugin names of the running daemon: -s and -c as given on the line
# being completed; nothing if the daemon does not answer within 2 s.
_bot_supervisorctl_plugins()
{
	local ctl=$1
	shift
	timeout 2 "$ctl" "$@" status --json --fields name 2>/dev/null |
	    sed -n 's/^      "name": "\([a-z0-9_-]*\)",\{0,1\}$/\1/p'
}

_bot_supervisorctl()
{
	local cur prev words cword
	_init_completion || return

	local ctl=${words[0]}
	[[ -x $ctl ]] || ctl=supervisorctl
	local windows="30s 1m 5m 15m 1h 6h 24h 7d 30d"

	case $prev in
	-s)
		_filedir
		return
		;;
	-c)
		_filedir json
		return
		;;
	--last)
		return
		;;
	--since)
		COMPREPLY=($(compgen -W "$windows" -- "$cur"))
		return
		;;
	--fields)
		local fields="name role state state_since uptime_seconds
		    uptime_human restarts crashes starts breaker pid version
		    commands cpu_percent memory_mb tree_cpu_seconds
		    tree_memory_mb events queued output_suppressed chat_lines
		    chat_lines_dropped history_since upgrade"
		compopt -o nospace
		local head=${cur%,*}
		[[ $head == "$cur" ]] && head= || head+=,
		COMPREPLY=($(compgen -P "$head" -S , -W "$fields" -- "${cur##*,}"))
		return
		;;
	esac

	# The verb, the options that pick the daemon, and the words after the verb.
	local i verb= nargs=0
	local -a target=()
	for ((i = 1; i < cword; i++)); do
		case ${words[i]} in
		-s | -c)
			target+=("${words[i]}" "${words[i + 1]}")
			((i++))
			;;
		--last | --since | --fields)
			((i++))
			;;
		-*) ;;
		*)
			if [[ -z $verb ]]; then
				verb=${words[i]}
			else
				((nargs++))
			fi
			;;
		esac
	done

	if [[ $cur == -* ]]; then
		local opts="-s -c -j --json -h --help -V --version"
		case $verb in
		tail) opts+=" -f --follow" ;;
		history) opts+=" --last --since" ;;
		status) opts+=" --fields" ;;
		watch) opts+=" --samples" ;;
		esac
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	if [[ -z $verb ]]; then
		COMPREPLY=($(compgen -W "$(_bot_supervisorctl_verbs "$ctl")" -- "$cur"))
		return
	fi

	case $verb:$nargs in
	status:0 | metrics:0 | history:0 | crashes:0 | upgrade:0 | signal:0 | tail:0)
		COMPREPLY=($(compgen -W "$(_bot_supervisorctl_plugins "$ctl" \
		    "${target[@]}")" -- "$cur"))
		;;
	start:* | stop:* | restart:*)
		# Several names, or all.
		COMPREPLY=($(compgen -W "all $(_bot_supervisorctl_plugins "$ctl" \
		    "${target[@]}")" -- "$cur"))
		;;
	forget:0)
		COMPREPLY=($(compgen -W "$(_bot_supervisorctl_forgettable "$ctl" \
		    "${target[@]}")" -- "$cur"))
		;;
	metrics:1)
		COMPREPLY=($(compgen -W "$windows" -- "$cur"))
		;;
	history:1)
		COMPREPLY=($(compgen -W "last since" -- "$cur"))
		;;
	signal:1)
		COMPREPLY=($(compgen -W "HUP INT QUIT USR1 USR2 TERM KILL CONT
		    STOP" -- "$cur"))
		;;
	watch:*)
		COMPREPLY=($(compgen -W "state crash sample log alert" -- "$cur"))
		;;
	esac
} &&
	complete -F _bot_supervisorctl supervisorctl
