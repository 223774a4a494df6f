/*
 * tests/crashfs/crashfs: a FUSE filesystem for the power-cut test, never
 * installed. It passes every operation through to a backing directory and
 * appends each one that changes the tree, or names a file handle that later
 * records refer to, to a log. tests/crashfs/crashcheck.py replays that log
 * to build the trees a power cut after each operation could leave.
 *
 *	crashfs backing mountpoint log
 *
 * Returns once mounted, printing the pid of the daemon that serves the
 * mount; the daemon ends when the mount is dropped (fusermount3 -u) or on
 * SIGTERM. The written bytes go to "log.data", so that each log line stays
 * short. One line per operation, fields separated by one space; a path is
 * relative to the mount, begins with '/' and has every byte outside '!'..'~'
 * and every '%' written as %XX; a REF is a path or "#" and a handle.
 *
 *	create #FH PATH MODE		a new regular file, opened as FH
 *	open #FH PATH FLAGS		an existing file opened as FH
 *	opendir #FH PATH
 *	release #FH			FH closed; its number may come back
 *	releasedir #FH
 *	write #FH OFFSET LENGTH DATAOFF	LENGTH bytes of log.data from DATAOFF
 *	truncate REF SIZE
 *	chmod REF MODE
 *	chown REF UID GID
 *	utimens REF
 *	mkdir PATH MODE
 *	rmdir PATH
 *	unlink PATH
 *	symlink PATH TARGET
 *	link FROM TO
 *	rename FROM TO FLAGS		renameat2(2)'s flags
 *	fsync #FH DATASYNC		DATASYNC is 1 for fdatasync(2)
 *	fsyncdir #FH DATASYNC		fsync(2) of a directory
 *
 * Only successful operations are logged, after they are done and before
 * the caller is answered: when a system call of the program under test has
 * returned, its record is in the log. The daemon serves one request at a
 * time (fuse_loop, not fuse_loop_mt), so the log is in the order in which
 * the operations completed. A record that cannot be written ends the daemon,
 * which breaks the mount loudly rather than leave an operation unlogged.
 *
 * Nothing that changes the tree goes unlogged: operations crashfs does not
 * implement (mknod, fallocate, copy_file_range, xattrs, tmpfile) fail with
 * ENOSYS or EOPNOTSUPP in the caller. In particular libfuse 3.14 has no
 * tmpfile operation, so open(2) with O_TMPFILE fails with EOPNOTSUPP here
 * and atomic.c stages a named temporary instead.
 *
 * The kernel must not hide or merge operations: no writeback cache (each
 * write(2) reaches us before it returns), direct I/O (no page cache to
 * answer reads or batch writes), no attribute or entry caching, and
 * hard_remove (the library would otherwise rename an open file that is
 * unlinked to a hidden name, an operation the program never made).
 */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ESCAPED (3 * PATH_MAX + 1)	/* a path with every byte as %XX */
#define LINE (2 * ESCAPED + 128)	/* the longest record: link or rename */

static int root = -1;		/* the backing directory */
static int logfd = -1;		/* the operation log */
static int datafd = -1;		/* the bytes of every write, in order */
static uint64_t dataoff;	/* how much of datafd is written */

/* Paths from FUSE are absolute within the mount; ours are relative to root. */
static const char *
rel(const char *path)
{
	return path[1] ? path + 1 : ".";
}

static void
escape(char *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p < '!' || *p > '~' || *p == '%') {
			*out++ = '%';
			*out++ = hex[*p >> 4];
			*out++ = hex[*p & 15];
		} else {
			*out++ = (char)*p;
		}
	}
	*out = '\0';
}

/* Write it all, or end the daemon: an unlogged operation would lie. */
static void
logall(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t r;

	while (n > 0) {
		if ((r = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			err(1, "log");
		}
		p += r;
		n -= (size_t)r;
	}
}

static void logop(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
logop(const char *fmt, ...)
{
	char line[LINE];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		errx(1, "log: record too long");
	line[n++] = '\n';
	logall(logfd, line, (size_t)n);
}

/* The REF of a record: the handle where the caller used one. */
static void
ref(char *out, const char *path, const struct fuse_file_info *fi)
{
	if (fi)
		snprintf(out, ESCAPED, "#%llu", (unsigned long long)fi->fh);
	else
		escape(out, path);
}

static int
cf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	int r;

	if (fi)
		r = fstat((int)fi->fh, st);
	else
		r = fstatat(root, rel(path), st, AT_SYMLINK_NOFOLLOW);
	return r < 0 ? -errno : 0;
}

static int
cf_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	if (size == 0)
		return -EINVAL;
	if ((n = readlinkat(root, rel(path), buf, size - 1)) < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int
cf_mkdir(const char *path, mode_t mode)
{
	char p[ESCAPED];

	if (mkdirat(root, rel(path), mode) < 0)
		return -errno;
	escape(p, path);
	logop("mkdir %s %o", p, (unsigned)mode);
	return 0;
}

static int
cf_unlink(const char *path)
{
	char p[ESCAPED];

	if (unlinkat(root, rel(path), 0) < 0)
		return -errno;
	escape(p, path);
	logop("unlink %s", p);
	return 0;
}

static int
cf_rmdir(const char *path)
{
	char p[ESCAPED];

	if (unlinkat(root, rel(path), AT_REMOVEDIR) < 0)
		return -errno;
	escape(p, path);
	logop("rmdir %s", p);
	return 0;
}

static int
cf_symlink(const char *target, const char *path)
{
	char p[ESCAPED], t[ESCAPED];

	if (symlinkat(target, root, rel(path)) < 0)
		return -errno;
	escape(p, path);
	escape(t, target);
	logop("symlink %s %s", p, t);
	return 0;
}

static int
cf_rename(const char *from, const char *to, unsigned int flags)
{
	char f[ESCAPED], t[ESCAPED];

	/* glibc 2.36 has renameat2, but the syscall needs no feature test. */
	if (syscall(SYS_renameat2, root, rel(from), root, rel(to), flags) < 0)
		return -errno;
	escape(f, from);
	escape(t, to);
	logop("rename %s %s %u", f, t, flags);
	return 0;
}

static int
cf_link(const char *from, const char *to)
{
	char f[ESCAPED], t[ESCAPED];

	if (linkat(root, rel(from), root, rel(to), 0) < 0)
		return -errno;
	escape(f, from);
	escape(t, to);
	logop("link %s %s", f, t);
	return 0;
}

static int
cf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	char r[ESCAPED];
	int e;

	e = fi ? fchmod((int)fi->fh, mode) : fchmodat(root, rel(path), mode, 0);
	if (e < 0)
		return -errno;
	ref(r, path, fi);
	logop("chmod %s %o", r, (unsigned)mode);
	return 0;
}

static int
cf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	char r[ESCAPED];
	int e;

	e = fi ? fchown((int)fi->fh, uid, gid) :
	    fchownat(root, rel(path), uid, gid, AT_SYMLINK_NOFOLLOW);
	if (e < 0)
		return -errno;
	ref(r, path, fi);
	logop("chown %s %ld %ld", r, (long)(int)uid, (long)(int)gid);
	return 0;
}

static int
truncateat(const char *path, off_t size)
{
	int fd, r;

	if ((fd = openat(root, rel(path), O_WRONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	r = ftruncate(fd, size);
	close(fd);
	return r;
}

static int
cf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	char r[ESCAPED];
	int e;

	e = fi ? ftruncate((int)fi->fh, size) : truncateat(path, size);
	if (e < 0)
		return -errno;
	ref(r, path, fi);
	logop("truncate %s %lld", r, (long long)size);
	return 0;
}

static int
cf_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	char r[ESCAPED];
	int e;

	e = fi ? futimens((int)fi->fh, tv) :
	    utimensat(root, rel(path), tv, AT_SYMLINK_NOFOLLOW);
	if (e < 0)
		return -errno;
	ref(r, path, fi);
	logop("utimens %s", r);
	return 0;
}

/*
 * The backing descriptor serves reads and writes at the offsets the kernel
 * gives, so it must not append, and the caller's O_TRUNC is a record of
 * its own.
 */
static int
backflags(int flags)
{
	return (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NOCTTY)) |
	    O_NOFOLLOW | O_CLOEXEC;
}

static void
opened(const char *what, const char *path, struct fuse_file_info *fi, int fd,
    unsigned arg)
{
	char p[ESCAPED];

	fi->fh = (uint64_t)fd;
	fi->direct_io = 1;
	escape(p, path);
	logop("%s #%d %s %o", what, fd, p, arg);
	if (fi->flags & O_TRUNC)
		logop("truncate #%d 0", fd);
}

static int
cf_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	if ((fd = openat(root, rel(path), backflags(fi->flags))) < 0)
		return -errno;
	if ((fi->flags & O_TRUNC) && ftruncate(fd, 0) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	opened("open", path, fi, fd, (unsigned)fi->flags);
	return 0;
}

static int
cf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd;

	/* Only a file that did not exist is a new inode in the log. */
	fd = openat(root, rel(path), backflags(fi->flags) | O_CREAT | O_EXCL, mode);
	if (fd < 0 && errno == EEXIST && !(fi->flags & O_EXCL))
		return cf_open(path, fi);
	if (fd < 0)
		return -errno;
	opened("create", path, fi, fd, (unsigned)mode);
	return 0;
}

static int
cf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n;

	if ((n = pread((int)fi->fh, buf, size, off)) < 0)
		return -errno;
	return (int)n;
}

static int
cf_write(const char *path, const char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	ssize_t n;

	if ((n = pwrite((int)fi->fh, buf, size, off)) < 0)
		return -errno;
	logall(datafd, buf, (size_t)n);
	logop("write #%llu %lld %zd %llu", (unsigned long long)fi->fh,
	    (long long)off, n, (unsigned long long)dataoff);
	dataoff += (uint64_t)n;
	return (int)n;
}

static int
cf_statfs(const char *path, struct statvfs *sv)
{
	return fstatvfs(root, sv) < 0 ? -errno : 0;
}

static int
cf_release(const char *path, struct fuse_file_info *fi)
{
	close((int)fi->fh);
	logop("release #%llu", (unsigned long long)fi->fh);
	return 0;
}

/* The backing store's durability is not the point, but its errors are real. */
static int
cf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	if ((datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh)) < 0)
		return -errno;
	logop("fsync #%llu %d", (unsigned long long)fi->fh, datasync != 0);
	return 0;
}

static int
cf_opendir(const char *path, struct fuse_file_info *fi)
{
	char p[ESCAPED];
	DIR *d;
	int fd;

	fd = openat(root, rel(path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		int e = errno;

		close(fd);
		return -e;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	escape(p, path);
	logop("opendir #%d %s", fd, p);
	return 0;
}

static DIR *
dirof(const struct fuse_file_info *fi)
{
	return (DIR *)(uintptr_t)fi->fh;
}

static int
cf_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	DIR *d = dirof(fi);
	struct dirent *e;

	/* Offsets of 0 throughout: the library asks again from the start. */
	rewinddir(d);
	errno = 0;
	while ((e = readdir(d)) != NULL)
		if (fill(buf, e->d_name, NULL, 0, 0))
			break;
	return errno ? -errno : 0;
}

static int
cf_releasedir(const char *path, struct fuse_file_info *fi)
{
	int fd = dirfd(dirof(fi));

	closedir(dirof(fi));
	logop("releasedir #%d", fd);
	return 0;
}

static int
cf_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	int fd = dirfd(dirof(fi));

	if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
		return -errno;
	logop("fsyncdir #%d %d", fd, datasync != 0);
	return 0;
}

static void *
cf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	cfg->hard_remove = 1;
	cfg->nullpath_ok = 1;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	cfg->entry_timeout = cfg->attr_timeout = cfg->negative_timeout = 0;
	return NULL;
}

static const struct fuse_operations ops = {
	.getattr = cf_getattr,
	.readlink = cf_readlink,
	.mkdir = cf_mkdir,
	.unlink = cf_unlink,
	.rmdir = cf_rmdir,
	.symlink = cf_symlink,
	.rename = cf_rename,
	.link = cf_link,
	.chmod = cf_chmod,
	.chown = cf_chown,
	.truncate = cf_truncate,
	.open = cf_open,
	.read = cf_read,
	.write = cf_write,
	.statfs = cf_statfs,
	.release = cf_release,
	.fsync = cf_fsync,
	.opendir = cf_opendir,
	.readdir = cf_readdir,
	.releasedir = cf_releasedir,
	.fsyncdir = cf_fsyncdir,
	.init = cf_init,
	.create = cf_create,
	.utimens = cf_utimens,
};

static int
xopenlog(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		err(1, "%s", path);
	return fd;
}

static void
usage(void)
{
	fprintf(stderr, "usage: crashfs backing mountpoint log\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	char *opts[] = { argv[0], "-o", "fsname=crashfs,subtype=crashfs,default_permissions" };
	struct fuse_args args = FUSE_ARGS_INIT(3, opts);
	char mnt[PATH_MAX], *data;
	struct fuse *f;
	pid_t pid;
	int r, null;

	if (argc != 4)
		usage();
	if ((root = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		err(1, "%s", argv[1]);
	if (!realpath(argv[2], mnt))
		err(1, "%s", argv[2]);
	logfd = xopenlog(argv[3]);
	if (asprintf(&data, "%s.data", argv[3]) < 0)
		err(1, "asprintf");
	datafd = xopenlog(data);
	free(data);

	if (!(f = fuse_new(&args, &ops, sizeof(ops), NULL)))
		errx(1, "cannot set up the filesystem");
	if (fuse_mount(f, mnt) < 0)
		errx(1, "%s: cannot mount", mnt);
	/*
	 * Mounted before the fork: when our caller sees us exit, the mount is
	 * in place. The daemon keeps stderr, so that its errors are seen.
	 */
	if ((pid = fork()) < 0) {
		warn("fork");
		fuse_unmount(f);
		return 1;
	}
	if (pid > 0) {
		printf("%ld\n", (long)pid);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	setsid();
	if ((null = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	if (fuse_set_signal_handlers(fuse_get_session(f)) < 0)
		errx(1, "cannot set signal handlers");
	r = fuse_loop(f);
	fuse_remove_signal_handlers(fuse_get_session(f));
	fuse_unmount(f);
	fuse_destroy(f);
	fuse_opt_free_args(&args);
	return r == 0 ? 0 : 1;
}
