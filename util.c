/* util.c: see util.h. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *argv0 = "safepipe";
int failstatus = EXIT_TOOL;

void
setprogname_(const char *name)
{
	const char *p = strrchr(name, '/');

	argv0 = p ? p + 1 : name;
}

void
vweprintf(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);
	char buf[4096];
	int len, i;

	/* One write(2) per message, so that concurrent writers do not interleave. */
	len = snprintf(buf, sizeof(buf), "%s: ", argv0);
	len += vsnprintf(buf + len, sizeof(buf) - len, fmt, ap);
	if (len > (int)sizeof(buf) - 1)
		len = sizeof(buf) - 1;
	if (n > 0 && fmt[n - 1] == ':')
		len += snprintf(buf + len, sizeof(buf) - len, " %s", strerror(saved));
	if (len > (int)sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	/*
	 * A message is one line whatever names it carries: a name with a
	 * newline or an escape sequence (planted, or from a glob) must not
	 * forge a second line or drive the terminal. Names that matter are
	 * escaped before they get here (printname); this is the backstop.
	 */
	for (i = 0; i < len; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			buf[i] = '?';
	buf[len++] = '\n';
	writeall(STDERR_FILENO, buf, len);
	errno = saved;
}

void
badoption(char *const argv[])
{
	if (optopt)
		weprintf("-%c: unknown option or missing argument", optopt);
	else
		weprintf("%s: unknown option or missing argument", argv[optind - 1]);
}

void
weprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vweprintf(fmt, ap);
	va_end(ap);
}

void
eprintf(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vweprintf(fmt, ap);
	va_end(ap);
	exit(status);
}

void *
emalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		eprintf(failstatus, "malloc:");
	return p;
}

void *
ecalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		eprintf(failstatus, "calloc:");
	return p;
}

void *
erealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		eprintf(failstatus, "realloc:");
	return q;
}

char *
estrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		eprintf(failstatus, "strdup:");
	return p;
}

int
strtonum_(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == ' ' || *s == '\t' || *s == '+')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
strtosecs(const char *s, double *out)
{
	char *end;
	double v;

	/*
	 * What flock(1) takes for -w: anything strtod(3) reads whole, so
	 * " 5", "1e3" and "0x10" too; but a number of seconds, finite and not
	 * negative ("inf" and "nan" are not), and not beyond about 31 years.
	 */
	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v) || v < 0 || v > 1e9)
		return -1;
	*out = v;
	return 0;
}

ssize_t
readsome(int fd, void *buf, size_t size)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	for (;;) {
		if ((r = read(fd, buf, size)) >= 0)
			return r;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			poll(&p, 1, -1);	/* a non-blocking descriptor we inherited */
		else if (errno != EINTR)
			return -1;
	}
}

ssize_t
readall(int fd, void *buf, size_t size)
{
	size_t got = 0;
	ssize_t r;

	while (got < size) {
		if ((r = readsome(fd, (char *)buf + got, size - got)) < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
writeall(int fd, const void *buf, size_t size)
{
	const char *p = buf;
	ssize_t r;

	while (size > 0) {
		r = write(fd, p, size);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		size -= r;
	}
	return 0;
}

char *
printname(const char *name, int *escaped)
{
	const unsigned char *p;
	char *out, *o;
	int any = 0;

	for (p = (const unsigned char *)name; *p; p++)
		any |= *p < 0x20 || *p == 0x7f;
	if (escaped)
		*escaped = any;
	if (!any)
		return estrdup(name);
	out = o = emalloc(4 * strlen(name) + 1);
	for (p = (const unsigned char *)name; *p; p++) {
		if (*p == '\\')
			o += sprintf(o, "\\\\");
		else if (*p == '\n')
			o += sprintf(o, "\\n");
		else if (*p == '\r')
			o += sprintf(o, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			o += sprintf(o, "\\x%02x", *p);
		else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

char *
parentdir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;

	if (!slash)
		return estrdup(".");
	dir = estrdup(path);
	dir[slash - path + (slash == path)] = '\0';
	return dir;
}

int
othersmaywrite(const struct stat *dir)
{
	return (dir->st_uid != 0 && dir->st_uid != geteuid()) ||
	    (dir->st_mode & (S_IWGRP | S_IWOTH));
}

double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int
fshut(FILE *fp, const char *name)
{
	int bad = 0;

	/* A full disk shows up at flush or close, not at printf: check both. */
	if (fflush(fp) == EOF || ferror(fp))
		bad = 1;
	if (fclose(fp) == EOF)
		bad = 1;
	if (bad) {
		weprintf("%s: write error:", name);
		return -1;
	}
	return 0;
}

int
nprocs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 1024 ? 1024 : (int)n;
}

void
execfailed(const char *cmd)
{
	int status = errno == ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC;

	weprintf("%s:", cmd);
	_exit(status);
}

int
exitcode(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_TOOL;
}
