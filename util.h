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

extern const char *argv0;	/* program name for messages, set by setargv0() */
/* The program's usage text, its man page's SYNOPSIS, set once in main(). */
extern const char *usagetext;
/*
 * What the e-functions (emalloc, eprintf's callers that mean "cannot go on")
 * exit with: each program's own failure status from the table above, set
 * once in main().
 */
extern int failstatus;

void setargv0(const char *);

/* -h: the usage on stdout, exit 0; a usage error: on stderr, exit status. */
_Noreturn void usage(int status);
/* --version: "PROG VERSION" on stdout; 0, or failstatus if it could not be written. */
int version(void);

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
int parsenum(const char *, long long, long long, long long *);
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
/* A small file (procfs and friends) read whole, NUL-terminated; -1 if it cannot be. */
ssize_t slurp(const char *path, char *buf, size_t size);

/*
 * A name as it may be shown on a terminal, malloc'd: with any control
 * character in it, every backslash, newline and carriage return is
 * written as b2sum writes them (\\\\, \\n, \\r) and any other control
 * character as \\xHH, and *escaped is set; otherwise the name as it is.
 * Names that others may have chosen (a glob, a digest file) never reach
 * a terminal raw.
 */
char *printname(const char *name, int *escaped);

/*
 * Operands that name files others may have planted (a glob in a shared
 * directory): ownfd() says whether name is one of the caller's own
 * descriptors (/dev/stdin, /dev/fd/N, /proc/self/fd/N), which are read
 * whatever they are. openoperand() opens anything else read-only only if it
 * is a regular file and not a symbolic link, without blocking on a planted
 * FIFO, and fills *st; -1 with errno ELOOP (a link), EISDIR or EINVAL (not
 * a regular file) otherwise. operandfailed() says so in words.
 */
int ownfd(const char *name);
int openoperand(const char *name, struct stat *st);
void operandfailed(const char *show);

/* path's last component: "a/b" -> "b", "b" -> "b". */
const char *lastpart(const char *path);

/* The mode of a new file: 0666 less the umask. */
mode_t newfilemode(void);

/* Are a and b the same inode? */
int sameinode(const struct stat *a, const struct stat *b);

/* path's directory, as a malloc'd string: "a/b" -> "a", "b" -> ".", "/b" -> "/". */
char *parentdir(const char *path);
/*
 * Who may change directory dir and the directories above it. DIR_PRIVATE:
 * only we and root. DIR_STICKY: others may add names, but not remove or
 * rename ours (sticky, and owned by us or root: the owner of a sticky
 * directory may still move anything in it). DIR_SHARED: someone else may
 * rename or remove what we put there, in dir or in a directory above it,
 * swapping the whole subtree. -1 if it cannot be told (errno set). *ds gets
 * dir's own stat.
 */
enum { DIR_PRIVATE, DIR_STICKY, DIR_SHARED };
int dirtrust(const char *dir, struct stat *ds);

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
