// SPDX-License-Identifier: GPL-2.0-only
/*
 * exitstat: what the formats (format_*.c) share.
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <time.h>

#include "exitstat.h"

const char *es_isa_name(unsigned int isa)
{
	return isa == ES_ISA_VMX ? "Intel VMX" : "AMD SVM";
}

/* Decimal on VMX, hex on SVM, as the vendors' manuals number them. */
void es_reason_str(char *buf, size_t len, unsigned int isa, uint32_t reason)
{
	snprintf(buf, len, isa == ES_ISA_VMX ? "%" PRIu32 : "0x%" PRIx32, reason);
}

/* Local time: "2024-11-20 10:00:01 UTC", or without date "10:00:01". */
void es_stamp(char *buf, size_t len, double wall, bool date)
{
	time_t t = (time_t)wall;
	struct tm tm;

	if (!localtime_r(&t, &tm) ||
	    !strftime(buf, len, date ? "%Y-%m-%d %H:%M:%S %Z" : "%H:%M:%S", &tm))
		snprintf(buf, len, "?");
}

/* Cycles as seconds at the host's TSC rate; only where it is known. */
double es_seconds(const struct es_info *info, uint64_t cycles)
{
	return (double)cycles / (info->tsc_khz * 1000.0);
}

/*
 * A string between double quotes, with \ and " escaped. quote "json":
 * control characters as \u00XX; "prom" (label values): newline as \n, other
 * control characters as '?'.
 */
void es_print_escaped(FILE *f, const char *s, const char *quote)
{
	bool json = quote[0] == 'j';

	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
		else if (json)
			fprintf(f, "\\u%04x", *s);
		else
			fputs(*s == '\n' ? "\\n" : "?", f);
	}
	fputc('"', f);
}
