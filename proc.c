/* proc.c: see proc.h. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "util.h"

static const int fatal[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGXFSZ };
#define NFATAL (sizeof(fatal) / sizeof(fatal[0]))

static sigset_t callermask;
static sigset_t ignoredset;
static void (*cleanupfn)(void);
static volatile pid_t *forwardto;

int
proc_init(void)
{
	struct sigaction sa;
	int fd, closed = 0;

	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			closed |= 1 << fd;
	/* open(2) returns the lowest free number: it fills the holes. */
	while ((fd = open("/dev/null", O_RDWR | O_NOCTTY)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
	/* Still a hole: the next file we open would take it. Better not run. */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			_exit(failstatus);

	sigemptyset(&ignoredset);
	for (fd = 1; fd < NSIG; fd++)
		if (sigaction(fd, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			sigaddset(&ignoredset, fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigdelset(&ignoredset, SIGCHLD);

	sigprocmask(SIG_SETMASK, NULL, &callermask);
	return closed;
}

int
proc_inherited(int *fds, int max)
{
	struct dirent *d;
	long fd, lim;
	int n = 0, self, fl;
	char *end;
	DIR *dir;

	if ((dir = opendir("/proc/self/fd"))) {
		self = dirfd(dir);
		while (n < max && (d = readdir(dir))) {
			fd = strtol(d->d_name, &end, 10);
			if (*end || end == d->d_name || fd == self)
				continue;
			if ((fl = fcntl((int)fd, F_GETFD)) >= 0 && !(fl & FD_CLOEXEC))
				fds[n++] = (int)fd;
		}
		closedir(dir);
		return n;
	}
	lim = sysconf(_SC_OPEN_MAX);
	for (fd = 0; fd < (lim < 0 || lim > 65536 ? 65536 : lim) && n < max; fd++)
		if ((fl = fcntl((int)fd, F_GETFD)) >= 0 && !(fl & FD_CLOEXEC))
			fds[n++] = (int)fd;
	return n;
}

int
proc_ignored(int sig)
{
	return sigismember(&ignoredset, sig) == 1;
}

static void
onfatal(int sig)
{
	int e = errno;

	if (cleanupfn)
		cleanupfn();
	if (forwardto && *forwardto > 0)
		kill(*forwardto, sig);
	signal(sig, SIG_DFL);
	raise(sig);
	errno = e;
}

void
proc_catchfatal(void (*cleanup)(void), volatile pid_t *forward)
{
	struct sigaction sa;
	sigset_t set;
	size_t i;

	cleanupfn = cleanup;
	forwardto = forward;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = onfatal;
	/* One handler at a time: the second signal waits for the first to kill us. */
	sigfillset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < NFATAL; i++) {
		if (proc_ignored(fatal[i]))
			continue;
		sigaction(fatal[i], &sa, NULL);
		sigaddset(&set, fatal[i]);
	}
	/* A caller's blocked SIGTERM would otherwise leave no way to stop us cleanly. */
	sigprocmask(SIG_UNBLOCK, &set, NULL);
}

pid_t
proc_fork(void)
{
	sigset_t all, old;
	pid_t pid;
	size_t i;
	int e;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < NFATAL; i++)
			if (!proc_ignored(fatal[i]))
				signal(fatal[i], SIG_DFL);
		sigprocmask(SIG_SETMASK, &callermask, NULL);
		return 0;
	}
	e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return pid;
}
