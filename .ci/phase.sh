# phase NAME ends the current phase (its time goes to stdout and, as one
# line, to $times) and starts NAME; phase "" only ends it. Sourced by
# .ci/vagrant.sh and .ci/vagrant-inside.sh, which set times=FILE.
phase_name=""
phase_start=$SECONDS
phase() {
	if [ -n "$phase_name" ]; then
		printf '%-44s %5ds\n' "$phase_name" $((SECONDS - phase_start)) >>"$times"
		printf -- '-- %s took %ds\n' "$phase_name" $((SECONDS - phase_start))
	fi
	phase_name=$1
	phase_start=$SECONDS
	[ -n "$1" ] && printf '\n== vagrant: %s (%s)\n' "$1" "$(date -u +%T)"
	return 0
}
