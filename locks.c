/* locks.c: see locks.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

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

/* Does one of /proc/PID/fdinfo's lines say that pid holds a flock on st? */
static int
fdinfoholds(const char *dir, const struct stat *st, long long pid)
{
	char path[64 + sizeof(((struct dirent *)0)->d_name)], buf[4096], kind[16], id[64], *p;
	struct dirent *d;
	ssize_t n;
	DIR *fds;
	int fd, found = 0;

	if (!(fds = opendir(dir)))
		return -1;
	while (!found && (d = readdir(fds))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%lld/fdinfo/%s", pid, d->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (p = buf; !found && (p = strstr(p, "lock:")); p++)
			found = sscanf(p, "lock: %*s %15s %*s %*s %*s %63s", kind, id) == 2 &&
			    strcmp(kind, "FLOCK") == 0 && flock_names(id, st);
	}
	closedir(fds);
	return found;
}

int
flock_heldby(long long pid, const struct stat *st)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/proc/%lld/fdinfo", pid);
	return fdinfoholds(dir, st, pid);
}

long long
flock_scan(const struct stat *st)
{
	struct dirent *d;
	long long pid, found = 0;
	char *end;
	DIR *procs;

	if (!(procs = opendir("/proc")))
		return 0;
	while (!found && (d = readdir(procs)))
		if ((pid = strtoll(d->d_name, &end, 10)) > 0 && !*end &&
		    flock_heldby(pid, st) == 1)
			found = pid;
	closedir(procs);
	return found;
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
