/* atomic.c: see atomic.h. The syscall order is the whole point of the file. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "locks.h"
#include "proc.h"
#include "util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/*
 * Staged files with a name, so that a signal handler can remove them. The
 * handler reads tmp[] of each slot; a slot's pointer is set before the name
 * is created and cleared after it is gone, so the handler never misses one.
 */
#define NSLOTS 8
static struct atomic *volatile slots[NSLOTS];

static void
track(struct atomic *a)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (!slots[i]) {
			slots[i] = a;
			return;
		}
}

static void
untrack(struct atomic *a)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (slots[i] == a)
			slots[i] = NULL;
}

void
atomic_cleanup(void)
{
	int i;

	for (i = 0; i < NSLOTS; i++)
		if (slots[i] && slots[i]->tmp[0])
			unlinkat(slots[i]->dirfd, slots[i]->tmp, 0);
}

/* A hidden name that no other writer will pick: pid, clock and a counter. */
static void
tmpname(struct atomic *a, unsigned n)
{
	struct timespec ts;
	sigset_t all, old;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* Block signals while tmp[] is half written: the handler reads it. */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	snprintf(a->tmp, sizeof(a->tmp), ".%.200s.%ld.%lx%x.tmp", a->name,
	    (long)getpid(), (unsigned long)ts.tv_nsec, n);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void
cleartmp(struct atomic *a)
{
	sigset_t all, old;

	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	a->tmp[0] = '\0';
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int
atomic_open(struct atomic *a, const char *path, mode_t mode)
{
	char *dir = parentdir(path);
	unsigned n;
	int e;

	memset(a, 0, sizeof(*a));
	a->fd = a->dirfd = -1;
	a->path = path;
	a->name = estrdup(lastpart(path));
	if (!*a->name || strcmp(a->name, ".") == 0 || strcmp(a->name, "..") == 0) {
		free(dir);
		free(a->name);
		a->name = NULL;
		errno = EISDIR;
		return -1;
	}
	a->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (a->dirfd < 0)
		goto fail;

	a->fd = openat(a->dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (a->fd >= 0) {
		a->anon = 1;
		track(a);
		return 0;
	}
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL && errno != ENOENT)
		goto fail;

	track(a);
	for (n = 0; n < 100; n++) {
		tmpname(a, n);
		a->fd = openat(a->dirfd, a->tmp,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (a->fd >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	cleartmp(a);
	untrack(a);
fail:
	e = errno;
	if (a->dirfd >= 0)
		close(a->dirfd);
	free(a->name);
	a->name = NULL;
	a->dirfd = -1;
	errno = e;
	return -1;
}

int
atomic_sync(struct atomic *a)
{
	return fsync(a->fd);
}

/*
 * Some filesystems (NFS) report a failed write-back only when the file is
 * closed, and every close(2) flushes, a duplicate's as much as the last
 * one's. One is closed here, before the staged file has its name, so that
 * such a failure stops the commit: with --no-sync it is the only check.
 */
int
atomic_flush(struct atomic *a)
{
	int d = fcntl(a->fd, F_DUPFD_CLOEXEC, 3);

	return d < 0 ? -1 : close(d);
}

int
atomic_syncdir(struct atomic *a)
{
	/* Without this the rename itself may not survive a power cut. */
	return fsync(a->dirfd);
}

/* Give an unnamed O_TMPFILE the name to, in the target's directory. */
static int
linkanon(struct atomic *a, const char *to)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", a->fd);
	if (linkat(AT_FDCWD, proc, a->dirfd, to, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno == EEXIST)
		return -1;
	/* No /proc mounted: AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH. */
	return linkat(a->fd, "", a->dirfd, to, AT_EMPTY_PATH);
}

static int
renamenoreplace(struct atomic *a)
{
	if (syscall(SYS_renameat2, a->dirfd, a->tmp, a->dirfd, a->name,
	    RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* No renameat2 here: link(2) refuses an existing name just as well. */
	if (linkat(a->dirfd, a->tmp, a->dirfd, a->name, 0) < 0)
		return -1;
	unlinkat(a->dirfd, a->tmp, 0);
	return 0;
}

int
atomic_publish(struct atomic *a, int flags)
{
	unsigned n;
	int r;

	if (a->anon && (flags & ATOMIC_NOREPLACE)) {
		/* linkat refuses an existing name: no temp name ever exists. */
		return linkanon(a, a->name);
	}
	if (a->anon) {
		/*
		 * rename(2) takes names, not descriptors, so an O_TMPFILE
		 * needs a name for the instant between link and rename.
		 */
		for (n = 0;; n++) {
			tmpname(a, n);
			if (linkanon(a, a->tmp) == 0)
				break;
			if (errno != EEXIST || n == 100) {
				cleartmp(a);
				return -1;
			}
		}
	}
	if (flags & ATOMIC_NOREPLACE)
		r = renamenoreplace(a);
	else
		r = renameat(a->dirfd, a->tmp, a->dirfd, a->name);
	if (r < 0) {
		int e = errno;

		unlinkat(a->dirfd, a->tmp, 0);
		cleartmp(a);
		errno = e;
		return -1;
	}
	cleartmp(a);
	return 0;
}

/*
 * Does the caller hold the directory's lock, through a descriptor we
 * inherited (guardlock or flock(1) on the directory)? Then taking it
 * would wait for ourselves; held exclusively, it keeps writers apart
 * already. A descriptor for the directory that holds no lock counts for
 * nothing.
 */
static int
inherited(struct atomic *a)
{
	struct stat d;
	int shared;

	return fstat(a->dirfd, &d) == 0 && flock_inherited(&d, &shared) >= 0;
}

/* Does /proc/locks still list a lock on d taken by pid? */
static int
stillheld(const struct stat *d, long long pid)
{
	struct flockholder h[16];
	int i, n = flock_holders(d, h, 16);

	for (i = 0; i < n && i < 16; i++)
		if (h[i].pid == pid)
			return 1;
	return 0;
}

/*
 * Does only another user hold the lock on the directory? Our writers run as
 * us or as root: a holder of any other uid can only be someone who opened
 * the directory to delay our commit, and waiting for them buys nothing.
 * /proc/locks names the process that took a lock, which may have exited
 * and left it to a child: then the live holder is looked for, and one we
 * cannot see is not ours (ours and root's are always visible to us).
 */
static int
foreignhold(struct atomic *a)
{
	struct flockholder h[16];
	struct stat d;
	long long uid;
	int i, n;

	if (fstat(a->dirfd, &d) < 0 || (n = flock_holders(&d, h, 16)) == 0 || n > 16)
		return 0;
	for (i = 0; i < n; i++) {
		if ((uid = proc_euid(h[i].pid)) < 0 || flock_heldby(h[i].pid, &d) == 0)
			uid = proc_euid(flock_scan(&d));
		/* Nobody seen: released this instant (try again), or hidden from us. */
		if (uid < 0 && !stillheld(&d, h[i].pid))
			return 0;
		if (uid == 0 || uid == (long long)geteuid())
			return 0;
	}
	return 1;
}

int
atomic_lockdir(struct atomic *a, int patience)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	long n;

	if (inherited(a))
		return 0;
	for (n = 0; n < patience * 100L; n++) {
		if (flock(a->dirfd, LOCK_EX | LOCK_NB) == 0)
			return 1;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return 0;	/* a filesystem without flock */
		if (foreignhold(a))
			return 0;
		nanosleep(&tick, NULL);
	}
	return 0;
}

void
atomic_unlockdir(struct atomic *a, int held)
{
	if (held)
		flock(a->dirfd, LOCK_UN);
}

int
atomic_commit(struct atomic *a, int flags)
{
	if (!(flags & ATOMIC_NOSYNC) && atomic_sync(a) < 0)
		return -1;
	if (atomic_publish(a, flags) < 0)
		return -1;
	if (!(flags & ATOMIC_NOSYNC) && atomic_syncdir(a) < 0)
		return -1;
	return 0;
}

#define ACL_XATTR "system.posix_acl_access"
#define USER_XATTR "user."

/*
 * The source is read through its descriptor, never its name again: the
 * name may have been swapped since the caller decided to trust what the
 * descriptor shows. An O_PATH descriptor has no xattr calls of its own,
 * so they go through /proc/self/fd, which names that very inode.
 */
static ssize_t
listattrs(int fd, char *buf, size_t size)
{
	char self[64];
	ssize_t n;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if ((n = listxattr(self, buf, size)) >= 0 || errno != ENOENT)
		return n;
	return flistxattr(fd, buf, size);
}

static ssize_t
getattr(int fd, const char *name, void *buf, size_t size)
{
	char self[64];
	ssize_t n;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if ((n = getxattr(self, name, buf, size)) >= 0 || errno != ENOENT)
		return n;
	return fgetxattr(fd, name, buf, size);
}

/* Copy the extended attributes that what selects; 0, or -1 at the first failure. */
static int
copyxattrs(struct atomic *a, int fromfd, int what, const char **step)
{
	char *names = NULL, *name;
	unsigned char *val = NULL;
	ssize_t n, v;
	int r = -1, acl, user;

	/* Sizes can change between the two calls: ask again until they agree. */
	for (;;) {
		if ((n = listattrs(fromfd, NULL, 0)) < 0) {
			/* Nothing to copy where the filesystem keeps none. */
			r = errno == ENOTSUP ? 0 : -1;
			goto out;
		}
		free(names);
		if (!(names = malloc((size_t)n + 1)))
			goto out;
		if ((n = listattrs(fromfd, names, (size_t)n)) >= 0)
			break;
		if (errno != ERANGE)
			goto out;
	}
	for (name = names; name < names + n; name += strlen(name) + 1) {
		acl = strcmp(name, ACL_XATTR) == 0;
		user = strncmp(name, USER_XATTR, sizeof(USER_XATTR) - 1) == 0;
		if (!(acl && (what & ATOMIC_ACL)) && !(user && (what & ATOMIC_XATTR)))
			continue;
		*step = acl ? "ACL" : name;
		for (;;) {
			if ((v = getattr(fromfd, name, NULL, 0)) < 0)
				goto out;
			free(val);
			if (!(val = malloc((size_t)v + 1)))
				goto out;
			if ((v = getattr(fromfd, name, val, (size_t)v)) >= 0)
				break;
			if (errno != ERANGE)
				goto out;
		}
		if (fsetxattr(a->fd, name, val, (size_t)v, 0) < 0)
			goto out;
	}
	r = 0;
out:
	free(names);
	free(val);
	return r;
}

int
atomic_dropacl(struct atomic *a)
{
	if (fremovexattr(a->fd, ACL_XATTR) == 0 || errno == ENODATA || errno == ENOTSUP)
		return 0;
	return -1;
}

/*
 * The group: root sets it; anyone else may give a file a group they are in.
 * Where the old group cannot be kept, it matters only if it may read or
 * write: then refusing beats changing who may.
 */
static int
keepgroup(struct atomic *a, const struct stat *from, const char **step)
{
	struct stat now;

	*step = "group";
	if (fstat(a->fd, &now) < 0)
		return -1;
	if (now.st_gid == from->st_gid || fchown(a->fd, (uid_t)-1, from->st_gid) == 0)
		return 0;
	return from->st_mode & S_IRWXG ? -1 : 0;
}

int
atomic_copyattrs(struct atomic *a, int fromfd, const struct stat *from, int what,
    const char **step)
{
	if ((what & ATOMIC_OWNER) && geteuid() == 0) {
		*step = "chown";
		if (fchown(a->fd, from->st_uid, from->st_gid) < 0)
			return -1;
	} else if ((what & ATOMIC_OWNER) && keepgroup(a, from, step) < 0) {
		return -1;
	}
	/*
	 * A new file takes the directory's default ACL: the replacement must
	 * have the old file's ACL, or none, not the directory's.
	 */
	if (what & ATOMIC_ACL) {
		*step = "ACL";
		if (atomic_dropacl(a) < 0)
			return -1;
	}
	/* The mode before the ACL: setting an ACL sets the group bits from its mask. */
	if (what & ATOMIC_MODE) {
		*step = "chmod";
		if (fchmod(a->fd, from->st_mode & 07777) < 0)
			return -1;
	}
	if (!(what & (ATOMIC_ACL | ATOMIC_XATTR)))
		return 0;
	*step = "extended attributes";
	return copyxattrs(a, fromfd, what, step);
}

int
atomic_like(struct atomic *a, int fromfd, const struct stat *want, int what, const char **step)
{
	struct stat st, dir;
	int ours;

	ours = fromfd >= 0 && fstat(fromfd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (!want || sameinode(&st, want)) && (st.st_uid == 0 || st.st_uid == geteuid());
	if (ours && st.st_nlink == 1)
		return atomic_copyattrs(a, fromfd, &st, what, step);
	/*
	 * A directory another user owns may carry a default ACL they chose:
	 * it gives them nothing of ours. (Where no old file vouches for the
	 * access, the new file is just ours.)
	 */
	*step = "default ACL";
	if ((what & ATOMIC_ACL) && fstat(a->dirfd, &dir) == 0 && dir.st_uid != 0 &&
	    dir.st_uid != geteuid() && atomic_dropacl(a) < 0)
		return -1;
	/*
	 * A second name may be a link someone planted to a file of root's
	 * (/etc/shadow's group must not get our data): only its mode counts,
	 * and only to narrow ours, so a hard-linked backup that was private
	 * stays private.
	 */
	*step = "chmod";
	if (!(what & ATOMIC_MODE))
		return 0;
	return fchmod(a->fd, newfilemode() & (ours ? st.st_mode & 07777 : 07777));
}

/* Does this process have CAP_FOWNER, as root has unless it was dropped? */
static int
fowner(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, d) < 0)
		return geteuid() == 0;
	return (d[CAP_TO_INDEX(CAP_FOWNER)].effective & CAP_TO_MASK(CAP_FOWNER)) != 0;
}

/*
 * Would rename(2) onto st, at path, fail for want of the right? In a sticky
 * directory only the file's owner, the directory's and a holder of
 * CAP_FOWNER may. Better said before a producer runs for hours than at the
 * commit. Where the directory cannot be looked at, or the capability is
 * held in a user namespace the file's owner is not mapped into, the commit
 * will tell.
 */
static int
stuck(const char *path, const struct stat *st)
{
	uid_t me = geteuid();
	struct stat ds;
	char *dir;
	int r;

	if (st->st_uid == me || fowner() || !(dir = parentdir(path)))
		return 0;
	r = stat(dir, &ds) == 0 && (ds.st_mode & S_ISVTX) && ds.st_uid != me;
	free(dir);
	return r;
}

int
atomic_target(const char *path, struct stat *st, const char **why)
{
	if (lstat(path, st) < 0) {
		*why = strerror(errno);
		return errno == ENOENT ? 0 : -1;
	}
	if (S_ISREG(st->st_mode) && stuck(path, st)) {
		*why = "another user's file in a sticky directory: only they, the directory's "
		    "owner or root (CAP_FOWNER) may replace it";
		return -1;
	}
	if (S_ISREG(st->st_mode))
		return 1;
	*why = S_ISLNK(st->st_mode) ? "is a symbolic link; refusing to replace it" :
	    S_ISDIR(st->st_mode) ? "is a directory" : "not a regular file";
	return -1;
}

void
atomic_abort(struct atomic *a)
{
	if (a->tmp[0]) {
		unlinkat(a->dirfd, a->tmp, 0);
		cleartmp(a);
	}
	untrack(a);
	if (a->fd >= 0)
		close(a->fd);
	if (a->dirfd >= 0)
		close(a->dirfd);
	free(a->name);
	a->fd = a->dirfd = -1;
	a->name = NULL;
}
