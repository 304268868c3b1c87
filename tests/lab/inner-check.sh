# Inside the inner VM (a Linux guest of the patched KVM, started by QEMU
# -accel kvm in the outer VM): exitstat --json, then Debian's cpuid for the
# same leaves, then exitstat --json again. The outer VM reads the host-side
# view between the two (after INNER-MARK, then it tells this VM to go on) and
# checks that everything agrees.
isa=$(cpuid -1 -r -l 0x4ffffffb | sed -n 's/.*eax=0x\(.\).*/\1/p')
case $isa in 1) r=10 ;; 2) r=0x72 ;; *) echo "inner: no exit statistics"; exit 1 ;; esac
j=$(/tests/exitstat --json) || exit 1
echo "INNER-J1 $j"
echo "INNER-MARK"
read -r -t 3000 go
echo "INNER-CPUID-TOTAL $(cpuid -1 -r -l 0x4fffffff | grep 0x4f)"
echo "INNER-CPUID-REASON $(cpuid -1 -r -l 0x4ffffffd -s $r | grep 0x4f)"
j=$(/tests/exitstat --json) || exit 1
echo "INNER-J2 $j"
