/* locks.c: see locks.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "locks.h"

int
flock_names(const char *id, const struct stat *st)
{
	unsigned int maj, min;
	unsigned long long ino;

	return sscanf(id, "%x:%x:%llu", &maj, &min, &ino) == 3 &&
	    maj == major(st->st_dev) && min == minor(st->st_dev) &&
	    ino == (unsigned long long)st->st_ino;
}

int
flock_holders(const struct stat *st, struct flockholder *h, int max)
{
	char *line = NULL, *tok[8], *save, *p;
	size_t cap = 0;
	FILE *fp;
	int n, count = 0;

	if (!(fp = fopen("/proc/locks", "re")))
		return 0;
	while (getline(&line, &cap, fp) > 0) {
		for (n = 0, p = strtok_r(line, " \t\n", &save); p && n < 8;
		    p = strtok_r(NULL, " \t\n", &save))
			tok[n++] = p;
		if (n < 6 || strcmp(tok[1], "FLOCK") != 0 || !flock_names(tok[5], st))
			continue;
		if (count < max) {
			h[count].pid = strtoll(tok[4], NULL, 10);
			if (h[count].pid < 0)
				h[count].pid = 0;
			h[count].shared = strcmp(tok[3], "READ") == 0;
		}
		count++;
	}
	free(line);
	fclose(fp);
	return count;
}

long long
proc_euid(long long pid)
{
	char path[64], *line = NULL;
	long long uid = -1, real, eff;
	size_t cap = 0;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%lld/status", pid);
	if (pid <= 0 || !(fp = fopen(path, "re")))
		return -1;
	while (getline(&line, &cap, fp) > 0)
		if (sscanf(line, "Uid: %lld %lld", &real, &eff) == 2) {
			uid = eff;
			break;
		}
	free(line);
	fclose(fp);
	return uid;
}
