/* record.h: guardlock's holder record, and the words that name a holder. */
#ifndef SAFEPIPE_RECORD_H
#define SAFEPIPE_RECORD_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * The holder record is always exactly RECORD_SIZE bytes, padded with
 * spaces: rewriting it never leaves a tail of an older, longer record, so
 * guardlock never has to truncate a lock file.
 */
#define RECORD_SIZE	1024
#define RECORD_MAGIC	"guardlock holder record 1\n"
#define CMD_MAX		640	/* room for the program's name in a record */
#define DESC_MAX	(CMD_MAX + 512)

struct record {
	long long pid;		/* the holder, which is the command after exec */
	long long start;	/* its start: clock ticks after boot, /proc/PID/stat field 22 */
	long long since;	/* when it took the lock, seconds since the epoch */
	char boot[40];		/* /proc/sys/kernel/random/boot_id: what start counts from */
	char host[128];
	char cmd[CMD_MAX + 8];
};

/*
 * Parse a holder record, the first bytes of a lock file. Anyone who could
 * write the file chose them: 0 and *r filled for a complete record, -1
 * otherwise.
 */
int record_parse(const char *buf, size_t len, struct record *r);

/*
 * Write our record into the lock file behind fd (which holds the lock),
 * naming pid and the program cmd (its last component), never its
 * arguments. NULL when written (or when a write error was reported); else
 * why no record was written.
 */
const char *record_write(int fd, const char *path, const struct stat *st, long long pid,
    const char *cmd);

/*
 * Who holds the lock on the file st describes, in words, from its record
 * (fd: the lock file, or -1 if it could not be opened) as far as the
 * kernel confirms it, else from /proc.
 */
void record_describe(int fd, const struct stat *st, char *out, size_t size);

#endif
