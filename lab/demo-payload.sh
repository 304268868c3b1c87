# The demo, inside the outer VM: the assignment's steps, printed as they run.
m=$(vendor_mod | tr - _)
echo "== 1. the distribution's KVM modules, as a stock system has them"
kvm_load stock || exit 1
say lsmod; lsmod
echo "== 2. out with the stock modules (the assignment: rmmod kvm_${m#kvm_}, rmmod kvm)"
kvm_unload || exit 1
echo "== 3. in with the patched ones, logging each query to dmesg"
kvm_load test "exit_stats_log=1" || exit 1
echo "== 4. a guest runs and reads its exit statistics through CPUID"
/tests/demo_guest || exit 1
echo "== 5. what the patch logged in the outer VM (dmesg)"
say "dmesg | grep cpuid"
dmesg | grep 'cpuid 0x4ffffff' | tail -6 | sed 's/^\[[ 0-9.]*\] /  /'
kvm_unload
