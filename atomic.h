/* atomic.h: stage a file beside its target and publish it in one rename. */
#ifndef SAFEPIPE_ATOMIC_H
#define SAFEPIPE_ATOMIC_H

#include <sys/types.h>

enum {
	ATOMIC_NOREPLACE = 1 << 0,	/* fail with EEXIST if the target exists */
	ATOMIC_NOSYNC    = 1 << 1	/* skip fsync of the file and directory */
};

struct atomic {
	int dirfd;		/* the target's directory, O_RDONLY for fsync */
	int fd;			/* the staged file, O_RDWR */
	const char *path;	/* target as given, for messages */
	char *name;		/* target's last component, relative to dirfd */
	char tmp[288];		/* hidden temp name while one exists, else "" */
	int anon;		/* fd is an unnamed O_TMPFILE */
};

/*
 * Stage a new file for path: an unnamed O_TMPFILE in path's directory where
 * the filesystem has one (nothing to clean up even after SIGKILL), else a
 * hidden ".NAME.XXXXXX" created O_EXCL. mode is filtered by the umask.
 * 0, or -1 with errno set (ENOENT: no such directory).
 */
int atomic_open(struct atomic *, const char *path, mode_t mode);

int atomic_sync(struct atomic *);		/* fsync the staged file */
int atomic_flush(struct atomic *);		/* close a duplicate: late write-back errors */
int atomic_publish(struct atomic *, int flags);	/* make it the target, one step */
int atomic_syncdir(struct atomic *);		/* persist the new name */

/* sync, publish and syncdir as flags say; on failure the target is untouched. */
int atomic_commit(struct atomic *, int flags);

/*
 * Serialise commits into one directory among safepipe's writers, so that
 * two of them racing for one name cannot leave one's data beside the
 * other's sidecar: an exclusive flock(2) on the target's directory, held
 * only across the renames. A descriptor for that directory inherited from
 * our caller (guardlock or flock(1) locking the directory itself) means the
 * caller already serialises us, and waiting would wait for ourselves: then
 * nothing is taken. Anyone who can open the directory can take that lock,
 * so a holder of another uid than ours or root's (no writer of ours) is not
 * waited for at all; any other holder at most `patience` seconds, after
 * which the commit goes ahead unlocked. Unlocked costs nothing unless two
 * of our writers race in that instant, and then only a mismatched pair
 * that sumcheck -c reports, never a silent one.
 * Returns 1 if the lock is held, 0 if not; atomic_unlockdir releases it.
 */
#define ATOMIC_LOCKWAIT 10	/* seconds: a commit takes milliseconds */
int atomic_lockdir(struct atomic *, int patience);
void atomic_unlockdir(struct atomic *, int held);

/*
 * Give the staged file, before any data is in it, the access that the
 * file `from` has, read through fromfd (O_PATH will do), never its name:
 * what selects the owner and group (the owner only when we are root; the
 * group when we may, or when it grants nothing), the mode, the POSIX access
 * ACL (whatever the directory's default ACL gave the new file goes), and
 * user.* extended attributes. 0, or -1 with errno set and *step naming
 * what failed.
 */
enum {
	ATOMIC_OWNER = 1 << 0,
	ATOMIC_MODE  = 1 << 1,
	ATOMIC_ACL   = 1 << 2,
	ATOMIC_XATTR = 1 << 3
};
int atomic_copyattrs(struct atomic *, int fromfd, const struct stat *from, int what,
    const char **step);

/* Drop the access ACL the staged file took from its directory's default ACL. */
int atomic_dropacl(struct atomic *);

/*
 * The access a staged replacement gets: what `what` selects of the file
 * behind fromfd (an O_PATH descriptor will do), if that is a regular file
 * of ours or root's with one name and, when want is given, that very
 * inode; otherwise ours, as any new file's, 0666 less the umask (narrowed
 * by the old mode if the old file is ours or root's but has more names),
 * without a default ACL from a directory another user owns. Another user's
 * file may have been planted to make ours theirs. 0, or -1 with errno and
 * *step.
 */
int atomic_like(struct atomic *, int fromfd, const struct stat *want, int what,
    const char **step);

/*
 * Can path be replaced by a rename? 1 a regular file (*st filled), 0 none,
 * -1 not: *why says what it is (a symbolic link would be replaced, not the
 * file it names; a directory or device not at all).
 */
int atomic_target(const char *path, struct stat *st, const char **why);

/* Remove whatever was staged; the target is untouched. */
void atomic_abort(struct atomic *);

/*
 * Async-signal-safe: unlink every hidden temp that still exists, in every
 * open struct atomic. Call from a fatal-signal handler before dying.
 */
void atomic_cleanup(void);

#endif
