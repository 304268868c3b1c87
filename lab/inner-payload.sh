# The demo inside the inner VM (a Linux guest of the patched KVM): the
# assignment's cpuid commands, then exitstat.
isa=$(cpuid -1 -r -l 0x4ffffffb | sed -n 's/.*eax=0x\(.\).*/\1/p')
case $isa in
1) reasons="10 12 30 48"; what="VMX: 10 CPUID, 12 HLT, 30 I/O, 48 EPT violation" ;;
2) reasons="0x72 0x78 0x7b 0x400"; what="SVM: 0x72 CPUID, 0x78 HLT, 0x7b I/O, 0x400 NPF" ;;
*) echo "inner: no exit statistics from the hypervisor (leaf 0x4ffffffb)"; exit 1 ;;
esac
echo "== inner VM: $(uname -r); exit reasons shown: $what"
for l in 0x4fffffff 0x4ffffffe; do
	echo "inner\$ cpuid -1 -r -l $l"
	cpuid -1 -r -l $l | grep 0x4f
done
for n in $reasons; do
	for l in 0x4ffffffd 0x4ffffffc; do
		echo "inner\$ cpuid -1 -r -l $l -s $n"
		cpuid -1 -r -l $l -s $n | grep 0x4f
	done
done
if [ -x /tests/exitstat ]; then
	echo "inner\$ exitstat"
	/tests/exitstat || exit 1
	echo "inner\$ exitstat -- sh -c 'dd if=/dev/zero of=/tmp/f bs=64k count=256; sync; rm /tmp/f'"
	/tests/exitstat -- sh -c 'dd if=/dev/zero of=/tmp/f bs=64k count=256 2>/dev/null; sync; rm /tmp/f' || exit 1
fi
