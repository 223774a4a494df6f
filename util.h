/* util.h: the error idiom, exit codes and small I/O helpers shared by the suite. */
#ifndef SAFEPIPE_UTIL_H
#define SAFEPIPE_UTIL_H

#include <stdarg.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/stat.h>

/*
 * One exit-code table for the whole suite (README, every man page).
 * Checkers answer 0 yes, 1 no, 2 could not tell; chain-loaders pass the
 * command's status through and keep 75 and 125..127 for themselves.
 */
enum {
	EXIT_NO       = 1,	/* checker: held, corrupt, mismatch */
	EXIT_UNSURE   = 2,	/* checker: usage, missing, unreadable, malformed */
	EXIT_BUSY     = 75,	/* guardlock: lock held (EX_TEMPFAIL) */
	EXIT_TOOL     = 125,	/* chain-loader: the tool itself failed */
	EXIT_NOEXEC   = 126,	/* command found but could not be executed */
	EXIT_NOTFOUND = 127	/* command not found */
};

extern const char *argv0;
/*
 * What the e-functions (emalloc, eprintf's callers that mean "cannot go on")
 * exit with: each program's own failure status from the table above, set
 * once in main().
 */
extern int failstatus;	/* program name for messages, set by setprogname_() */

void setprogname_(const char *);

/*
 * "prog: " + fmt on stderr; a fmt ending in ':' gets " " + strerror(errno)
 * appended, so that every error site is one line (sbase's eprintf idiom).
 */
/* After getopt_long(3) returned '?' with opterr = 0: name the bad option. */
void badoption(char *const argv[]);

void weprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
void vweprintf(const char *, va_list);
_Noreturn void eprintf(int, const char *, ...) __attribute__((format(printf, 2, 3)));

void *emalloc(size_t);
void *ecalloc(size_t, size_t);
void *erealloc(void *, size_t);
char *estrdup(const char *);

/* Strict numbers: the whole string, in range; 0 on success, -1 otherwise. */
int strtonum_(const char *, long long, long long, long long *);
int strtosecs(const char *, double *);	/* "1.5" -> 1.5 s, >= 0, finite */

/*
 * read(2) that retries on EINTR, and waits on a non-blocking descriptor
 * (one we inherited so: its O_NONBLOCK belongs to whoever shares it) with
 * poll(2) instead of failing with EAGAIN.
 */
ssize_t readsome(int, void *, size_t);
/* readsome(), and write(2), that also retry on short counts. */
ssize_t readall(int, void *, size_t);	/* < size only at EOF; -1 on error */
int writeall(int, const void *, size_t);	/* 0 or -1 */

/*
 * A name as it may be shown on a terminal, malloc'd: with any control
 * character in it, every backslash, newline and carriage return is
 * written as b2sum writes them (\\\\, \\n, \\r) and any other control
 * character as \\xHH, and *escaped is set; otherwise the name as it is.
 * Names that others may have chosen (a glob, a digest file) never reach
 * a terminal raw.
 */
char *printname(const char *name, int *escaped);

/* path's directory, as a malloc'd string: "a/b" -> "a", "b" -> ".", "/b" -> "/". */
char *parentdir(const char *path);
/*
 * May anyone but us and root change this directory (add, remove, rename
 * entries)? Its owner is someone else, or group or others may write it.
 * (The sticky bit limits them to their own entries: the caller decides.)
 */
int othersmaywrite(const struct stat *dir);

/* Seconds since t0, a CLOCK_MONOTONIC time. */
struct timespec;
double elapsed(const struct timespec *t0);

int fshut(FILE *, const char *);	/* flush+close; warns and returns -1 on error */
int nprocs(void);			/* online CPUs, at least 1 */

/* After a failed execvp(3): report and exit 126 or 127. */
_Noreturn void execfailed(const char *);

/* The status a chain-loader passes on for a wait(2) status: code, or 128+signal. */
int exitcode(int);

#endif
