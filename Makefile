# kvm-exitstat: one entry point per user action; each is a thin call into
# a script that can also be run alone.
KERNELS ?= 6.1 6.12
VENDORS ?= amd intel
VENDOR  ?= amd
KERNEL  ?= 6.1

.PHONY: all demo check check-quick soak mutate experiment bench check-lab check-dist check-patches kernels \
	host-modules install-host uninstall-host deb clean

all: check

demo:
	@bash lab/demo.sh -v $(VENDOR) -k $(KERNEL)

check:
	@bash tests/check.sh -k "$(KERNELS)" -v "$(VENDORS)"

# The edit-test loop: unit tests, patch checks and in-lab tests on AMD for
# the first of KERNELS.
check-quick:
	@bash tests/check.sh -q -k "$(KERNELS)" -v amd

# The long suites: each patch built alone, then each prefix of the series
# booted and run (lab/bisect.sh); then Debian's own kernels on Intel, under
# Bochs, which make check leaves out for time (check-dist runs them alone).
soak:
	@bash kernel/check-patches.sh -e $(KERNELS)
	@bash lab/bisect.sh -k "$(KERNELS)" -v "$(VENDORS)"
	@bash lab/mutate.sh
	@bash lab/reliability.sh -s -k $(KERNEL) -v "$(VENDORS)"
	@bash lab/check.sh -k "$(KERNELS)" -v intel -f dist
	@LAB_EMU_RETRY=0 bash lab/repeat.sh 20 bash lab/check.sh -k 6.1 -v amd -f dist-cloud

# Mutations of the series, each against the tests that should catch it.
mutate:
	@bash lab/mutate.sh

experiment:
	@bash lab/experiment.sh -v "$(VENDORS)"

bench:
	@bash lab/bench.sh -k "$(KERNELS)" -v "$(VENDORS)"

check-patches:
	@bash kernel/check-patches.sh $(KERNELS)

check-lab:
	@bash lab/check.sh -k "$(KERNELS)" -v "$(VENDORS)"

# Debian's own kernel images in the lab, with the modules the DKMS package
# builds for them (FLAVOUR=dist-cloud for the cloud images).
FLAVOUR ?= dist
check-dist:
	@bash lab/check.sh -k "$(KERNELS)" -v "$(VENDORS)" -f $(FLAVOUR)

# Real hosts: the patched KVM for the kernel whose headers are KDIR.
KDIR ?= /lib/modules/$(shell uname -r)/build
host-modules:
	@bash kernel/host-modules.sh $(KDIR)

install-host: host-modules
	@bash kernel/install-host.sh install

uninstall-host:
	@bash kernel/install-host.sh uninstall

deb:
	@bash kernel/deb.sh

kernels:
	@for k in $(KERNELS); do bash kernel/build.sh $$k patched || exit 1; done

clean:
	rm -rf build tests/lab/build
