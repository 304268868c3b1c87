# kvm-exitstat: one entry point per user action; each is a thin call into
# a script that can also be run alone.
KERNELS ?= 6.1 6.12
VENDORS ?= amd intel
VENDOR  ?= amd
KERNEL  ?= 6.1

.PHONY: all demo check check-quick soak experiment bench check-lab check-patches kernels clean

all: check

demo:
	@bash lab/demo.sh -v $(VENDOR) -k $(KERNEL)

check:
	@bash tests/check.sh -k "$(KERNELS)" -v "$(VENDORS)"

# The edit-test loop: unit tests, patch checks and in-lab tests on AMD for
# the first of KERNELS.
check-quick:
	@bash tests/check.sh -q -k "$(KERNELS)" -v amd

soak:
	@bash lab/reliability.sh -s -k $(KERNEL) -v "$(VENDORS)"

experiment:
	@bash lab/experiment.sh -v "$(VENDORS)"

bench:
	@bash lab/bench.sh -k "$(KERNELS)" -v "$(VENDORS)"

check-patches:
	@bash kernel/check-patches.sh $(KERNELS)

check-lab:
	@bash lab/check.sh -k "$(KERNELS)" -v "$(VENDORS)"

kernels:
	@for k in $(KERNELS); do bash kernel/build.sh $$k patched || exit 1; done

clean:
	rm -rf build tests/lab/build
