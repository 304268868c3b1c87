# Reliability plan, run by the outer VM's /init on the sanitizer kernel
# (KASAN, UBSAN, lockdep, kmemleak; lab/kernel-san.config). The sizes come
# from /tests/reliability.env (lab/reliability.sh writes it): FUZZ_K
# CPUIDs, STRESS_K iterations per worker, LIFE_N VMs, RELOADS module loads.
# Any sanitizer report in the kernel log fails the run (lab/run.sh); a
# kmemleak report after everything fails it here.
. /tests/reliability.env
fail=0
km=/sys/kernel/debug/kmemleak

# The sanitizers must really be there, or the rest proves nothing.
ok=1
dmesg | grep -q 'KernelAddressSanitizer initialized' || { echo "reliability: no KASAN"; ok=0; }
[ -e /proc/lockdep ] || { echo "reliability: no lockdep"; ok=0; }
[ -e $km ] || { echo "reliability: no kmemleak"; ok=0; }
check "reliability/sanitizers on (KASAN, lockdep, kmemleak)" [ $ok = 1 ]
[ -e $km ] && echo clear > $km	# what boot left behind is not ours

# 1. Every in-lab test of make check, on this kernel.
( . /tests/payload.sh ) || fail=1

# 2. Fuzzing, stress, lifecycle (default scope).
kvm_load test || exit 1
run_ktap "reliability/fuzz $FUZZ_K CPUIDs" /tests/test_exit_stats_fuzz -k "$FUZZ_K" || fail=1
run_ktap "reliability/stress 2 VMs x 4 vCPUs x $STRESS_K iterations" \
	/tests/test_exit_stats_stress -k "$STRESS_K" || fail=1
run_ktap "reliability/lifecycle $LIFE_N VMs" /tests/test_exit_stats_lifecycle -k "$LIFE_N" || fail=1
kvm_unload || exit 1

# 3. Lifecycle in global scope: the totals are the sum of every VM.
kvm_load test "exit_stats_scope=global" || exit 1
run_ktap "reliability/lifecycle global $LIFE_N VMs" /tests/test_exit_stats_lifecycle -g -k "$LIFE_N" || fail=1
run_ktap "reliability/lifecycle global, a reader hammering" /tests/test_exit_stats_lifecycle -r -k "$(( LIFE_N / 5 ))" || fail=1
kvm_unload || exit 1

# 4. Unload and reload: the counters start from zero after every load.
good=0 bad=0
i=0
while [ $i -lt "$RELOADS" ]; do
	i=$((i + 1))
	if kvm_load test "exit_stats_scope=global" > /tmp/reload.out 2>&1 &&
	   /tests/test_exit_stats_lifecycle -z >> /tmp/reload.out 2>&1; then
		good=$((good + 1))
	else
		bad=$((bad + 1))
		sed "s/^/[reload $i] /" /tmp/reload.out | tail -8
	fi
	kvm_unload > /dev/null || { echo "reliability: rmmod failed at load $i"; bad=$((bad + 1)); break; }
done
echo "reliability: $RELOADS loads, $good started from zero, $bad did not"
echo "LAB-TEST: reliability/reload x$RELOADS: counters start from zero passed=$good failed=$bad rc=$([ $bad = 0 ] && echo 0 || echo 1)"
[ $bad = 0 ] || fail=1

# 5. kmemleak: objects must be older than 5 s to be reported; scan twice.
if [ -e $km ]; then
	sleep 6
	echo scan > $km
	echo scan > $km
	cat $km > /tmp/leaks
	n=$(grep -c 'unreferenced object' /tmp/leaks)
	echo "reliability: kmemleak: $n suspected leaks"
	head -60 /tmp/leaks
	check "reliability/kmemleak: no leak after all of the above" [ "$n" = 0 ]
fi
exit $fail
