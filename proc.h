/*
 * proc.h: the process state a program inherits, made safe once at start,
 * and the fatal signals that must not leave a staged file behind.
 */
#ifndef SAFEPIPE_PROC_H
#define SAFEPIPE_PROC_H

#include <signal.h>
#include <sys/types.h>

/*
 * Call first in main(). Whatever the caller left us:
 * - descriptors 0, 1 and 2 are open (on /dev/null where they were closed),
 *   so that no file we open later can become our stdout or stderr;
 * - SIGCHLD is SIG_DFL: ignored, the kernel would reap our child and
 *   waitpid(2) could not tell how it ended;
 * - a signal ignored at start stays ignored (nohup keeps its promise),
 *   for us and, since exec(2) keeps SIG_IGN, for any command we run;
 * - the caller's signal mask is kept for a command we run
 *   (proc_fork), while we unblock the fatal signals we catch.
 * Returns a bitmask: bit n set if descriptor n was closed at start. Where
 * /dev/null cannot be opened to fill a hole, exits with failstatus (set it
 * first): nothing could be said, but nothing is done either.
 */
int proc_init(void);

/*
 * The descriptors this process inherited across exec (open, without
 * FD_CLOEXEC: ours all have it), as /proc/self/fd lists them, whatever their
 * numbers; up to max of them into fds. Returns how many; where /proc is
 * missing, those below the open-file limit.
 */
int proc_inherited(int *fds, int max);

/* Was sig ignored when the program started? */
int proc_ignored(int sig);

/*
 * Catch the fatal signals (INT, TERM, HUP, PIPE, XFSZ) that were not
 * ignored at start: on one, cleanup() runs (async-signal-safe code only),
 * the signal is passed on to *forward when that is a pid, and the program
 * dies of the same signal, so that its caller sees what happened.
 */
void proc_catchfatal(void (*cleanup)(void), volatile pid_t *forward);

/*
 * fork(2) for a child that will exec: in the child, the fatal signals are
 * back to SIG_DFL (our handler would remove the parent's staged file) and
 * the mask is the one the caller gave us, with no window in between.
 */
pid_t proc_fork(void);

#endif
