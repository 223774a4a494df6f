/* util.c: see util.h. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#ifndef VERSION
#define VERSION "unknown"	/* the Makefile defines it; a fuzz harness may not */
#endif

const char *argv0 = "safepipe";
const char *usagetext = "";
int failstatus = EXIT_TOOL;

void
setargv0(const char *name)
{
	argv0 = lastpart(name);
}

void
usage(int status)
{
	fputs(usagetext, status ? stderr : stdout);
	if (status == 0 && fshut(stdout, "<stdout>") < 0)
		exit(failstatus);
	exit(status);
}

int
version(void)
{
	printf("%s %s\n", argv0, VERSION);
	return fshut(stdout, "<stdout>") < 0 ? failstatus : 0;
}

/*
 * How many bytes at p make a control character: C0 and DEL, and C1 as
 * UTF-8 encodes it (U+0080..U+009F, 0xc2 0x80..0x9f), which a UTF-8
 * terminal may obey (U+009B is CSI); 0 for anything else.
 */
static int
control(const unsigned char *p)
{
	if (*p < 0x20 || *p == 0x7f)
		return 1;
	return p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f ? 2 : 0;
}

void
vweprintf(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t n = strlen(fmt);
	char buf[4096];
	int len, i, c;

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
	buf[len] = '\0';
	for (i = 0; i < len; i++)
		if ((c = control((unsigned char *)buf + i)) > 0)
			memset(buf + i, '?', (size_t)c);
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
parsenum(const char *s, long long min, long long max, long long *out)
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

/* Read a small file whole (procfs and friends); -1 if it cannot be read. */
ssize_t
slurp(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -1;
	n = readall(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
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
	int any = 0, n;

	for (p = (const unsigned char *)name; *p; p++)
		any |= control(p) > 0;
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
		else if ((n = control(p)) > 0) {
			o += sprintf(o, "\\x%02x", *p);
			if (n == 2)
				o += sprintf(o, "\\x%02x", *++p);
		} else
			*o++ = (char)*p;
	}
	*o = '\0';
	return out;
}

int
ownfd(const char *name)
{
	return strcmp(name, "/dev/stdin") == 0 || strncmp(name, "/dev/fd/", 8) == 0 ||
	    strncmp(name, "/proc/self/fd/", 14) == 0;
}

int
openoperand(const char *name, struct stat *st)
{
	int fd, own = ownfd(name), e;

	fd = open(name, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (own ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return -1;
	e = fstat(fd, st) < 0 ? errno : S_ISDIR(st->st_mode) ? EISDIR :
	    !own && !S_ISREG(st->st_mode) ? EINVAL : 0;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	/* Ours now: O_NONBLOCK only kept a planted FIFO from stopping the open. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

void
operandfailed(const char *show)
{
	if (errno == EINVAL)
		weprintf("%s: not a regular file", show);
	else if (errno == ELOOP)
		weprintf("%s: is a symbolic link: not followed", show);
	else
		weprintf("%s:", show);
}

const char *
lastpart(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

mode_t
newfilemode(void)
{
	mode_t um = umask(0);

	umask(um);
	return 0666 & ~um;
}

int
sameinode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
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

static int
oneclass(const struct stat *d)
{
	if (d->st_uid != 0 && d->st_uid != geteuid())
		return DIR_SHARED;
	if (!(d->st_mode & (S_IWGRP | S_IWOTH)))
		return DIR_PRIVATE;
	return d->st_mode & S_ISVTX ? DIR_STICKY : DIR_SHARED;
}

int
dirtrust(const char *dir, struct stat *ds)
{
	char *path, *slash;
	struct stat st;
	int r;

	if (stat(dir, ds) < 0 || !(path = realpath(dir, NULL)))
		return -1;
	r = oneclass(ds);
	/* Above it, a sticky directory of ours or root's is enough: ours stays put. */
	while (r != DIR_SHARED && (slash = strrchr(path, '/')) && slash != path) {
		*slash = '\0';
		if (stat(path, &st) < 0) {
			free(path);
			return -1;
		}
		if (oneclass(&st) == DIR_SHARED)
			r = DIR_SHARED;
	}
	if (r != DIR_SHARED && stat("/", &st) == 0 && oneclass(&st) == DIR_SHARED)
		r = DIR_SHARED;
	free(path);
	return r;
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
