/* locks.h: who holds flock(2) locks on a file, as the kernel lists them. */
#ifndef SAFEPIPE_LOCKS_H
#define SAFEPIPE_LOCKS_H

#include <sys/stat.h>

struct flockholder {
	long long pid;		/* the process that took it; 0 if not shown */
	int shared;		/* a shared (READ) lock */
};

/*
 * The flock(2) locks granted on the file st describes, from /proc/locks
 * ("1: FLOCK  ADVISORY  WRITE 6212 fe:00:10952720 0 EOF"); waiters
 * ("1: -> FLOCK ...") are not holders. Fills at most max entries and
 * returns how many there are; 0 also when /proc is not there.
 */
int flock_holders(const struct stat *st, struct flockholder *h, int max);

/* Does "fe:00:10952720" (hex major:minor:inode, as /proc spells a file) name st? */
int flock_names(const char *id, const struct stat *st);

/*
 * Does process pid hold a flock(2) lock on st through one of its
 * descriptors (its /proc/PID/fdinfo says so)? 1 yes, 0 no, -1 cannot tell
 * (another user's process, no /proc).
 */
int flock_heldby(long long pid, const struct stat *st);

/* A live process that holds a flock(2) lock on st, from /proc; 0 if none is seen. */
long long flock_scan(const struct stat *st);

/* The effective uid of a live process, or -1 if it cannot be seen. */
long long proc_euid(long long pid);

#endif
