// SPDX-License-Identifier: GPL-2.0-only
#include "unit.h"
void host_tests(void) {}
