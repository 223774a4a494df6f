# safepipe: guardlock, gzsafe, sumcheck.  See README.md.
.POSIX:
.SUFFIXES:

VERSION = 0.1.0

PREFIX = /usr/local
BINDIR = $(PREFIX)/bin
MANPREFIX = $(PREFIX)/share/man

CC = cc
PKG_CONFIG = pkg-config
CFLAGS = -O2 -g
LDFLAGS =
PROVE = prove
PROVEFLAGS =
# The test scripts make check runs (shell words: globs allowed).
TESTS = tests/

WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla -Wno-unused-parameter
# .ci/run sets WERROR=-Werror: warnings are errors where nobody reads them.
WERROR =
SAN_1 = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANFLAGS = $(SAN_$(SANITIZE))

PKG_CFLAGS = `$(PKG_CONFIG) --cflags zlib libb2 libdeflate`
ZLIB_LIBS = `$(PKG_CONFIG) --libs zlib`
B2_LIBS = `$(PKG_CONFIG) --libs libb2`
# libdeflate is gzsafe's deflate, and only that (see join.h).
DEFLATE_LIBS = `$(PKG_CONFIG) --libs libdeflate`

# B2REF=0: build as against a libb2 without its portable functions (a
# build without --enable-fat, any non-x86 port); see digest.c.
B2REF = 1
B2REF_0 = -DSAFEPIPE_NO_B2REF
SP_CPPFLAGS = -D_GNU_SOURCE -DVERSION='"$(VERSION)"' $(B2REF_$(B2REF))
SP_CFLAGS = $(SP_CPPFLAGS) $(PKG_CFLAGS) $(WARN) $(WERROR) -pthread $(SANFLAGS) $(CPPFLAGS) $(CFLAGS)
SP_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)

# One program per top-level source: lock.c, filter.c, verify.c.
PROG = guardlock gzsafe sumcheck
MAN = man/guardlock.1 man/gzsafe.1 man/sumcheck.1
HDR = util.h proc.h locks.h record.h atomic.h gzpool.h join.h digest.h sidecar.h gzcheck.h

GUARDLOCK_OBJ = lock.o record.o locks.o proc.o util.o
GZSAFE_OBJ = filter.o gzpool.o join.o gzcheck.o proc.o util.o atomic.o locks.o digest.o sidecar.o
SUMCHECK_OBJ = verify.o proc.o util.o atomic.o locks.o digest.o sidecar.o
OBJ = lock.o filter.o verify.o gzpool.o join.o gzcheck.o record.o locks.o proc.o util.o atomic.o digest.o sidecar.o

all: $(PROG)

guardlock: $(GUARDLOCK_OBJ)
	$(CC) -o $@ $(GUARDLOCK_OBJ) $(SP_LDFLAGS)

gzsafe: $(GZSAFE_OBJ)
	$(CC) -o $@ $(GZSAFE_OBJ) $(SP_LDFLAGS) $(DEFLATE_LIBS) $(ZLIB_LIBS) $(B2_LIBS)

sumcheck: $(SUMCHECK_OBJ)
	$(CC) -o $@ $(SUMCHECK_OBJ) $(SP_LDFLAGS) $(B2_LIBS)

$(OBJ): $(HDR) .flags

.SUFFIXES: .c .o
.c.o:
	$(CC) $(SP_CFLAGS) -c -o $@ $<

# Rebuild everything when the compiler or flags change (SANITIZE=1 and back).
.flags: FORCE
	@echo '$(CC) $(SP_CFLAGS) $(SP_LDFLAGS)' > .flags.new; \
	if cmp -s .flags.new .flags; then rm -f .flags.new; else mv .flags.new .flags; fi

# The tests' LD_PRELOAD shim: never sanitized (it runs inside the programs).
tests/shim.so: tests/shim.c
	$(CC) -shared -fPIC $(WARN) $(WERROR) -D_GNU_SOURCE -O2 -pthread -o $@ tests/shim.c -ldl

# The power-cut test's recording FUSE filesystem, never installed, never
# sanitized (it is the test's instrument, not a program under test). Without
# libfuse3 it is not built, and the test says so as it skips.
FUSE_CFLAGS = `$(PKG_CONFIG) --cflags fuse3`
FUSE_LIBS = `$(PKG_CONFIG) --libs fuse3`
tests/crashfs/crashfs: tests/crashfs/crashfs.c
	if $(PKG_CONFIG) --exists fuse3; then \
		$(CC) $(WARN) $(WERROR) -D_GNU_SOURCE -O2 -g $(FUSE_CFLAGS) -o $@ \
			tests/crashfs/crashfs.c $(FUSE_LIBS); \
	else \
		echo "no libfuse3 (libfuse3-dev): the power-cut test will skip"; \
	fi

# Every skip is a TAP skip with its reason; the count and the reasons close
# the run, so that a machine without root, tmpfs or a tool shows it. A test
# script per CPU (PROVEFLAGS=-j1 for one at a time): the tests synchronise
# on FIFOs and markers, never on timing, so a loaded machine is one more test.
check: all tests/shim.so tests/crashfs/crashfs
	@rm -f .skips; st=0; j=`nproc 2>/dev/null || echo 1`; \
	SAFEPIPE_SKIPLOG=$$PWD/.skips $(PROVE) -j $$j $(PROVEFLAGS) $(TESTS) || st=$$?; \
	touch .skips; echo "make check: `wc -l <.skips` skipped"; \
	sed 's/^/  skip: /' .skips; rm -f .skips; exit $$st

demo: all
	sh examples/demo.sh

bench: all
	sh bench/run.sh

lint:
	mandoc -Tlint -Wwarning $(MAN)

# Static analysis: cppcheck, gcc's -fanalyzer and shellcheck must all be clean.
analyze:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE $(OBJ:.o=.c)
	for f in $(OBJ:.o=.c); do \
		gcc -fanalyzer $(SP_CPPFLAGS) $(PKG_CFLAGS) $(WARN) -Werror -c -o /dev/null $$f || exit 1; \
	done
	if $(PKG_CONFIG) --exists fuse3; then \
		cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
			--inline-suppr --suppress=missingIncludeSystem -D_GNU_SOURCE \
			$(FUSE_CFLAGS) tests/crashfs/crashfs.c && \
		gcc -fanalyzer -D_GNU_SOURCE $(FUSE_CFLAGS) $(WARN) -Werror -c -o /dev/null \
			tests/crashfs/crashfs.c; \
	fi
	shellcheck tests/lib.sh tests/*.t tests/fuzz/run.sh tests/crashfs/*.sh bench/*.sh tools/*.sh examples/*.sh .ci/run

# The programs under valgrind memcheck for a representative subset of tests.
valgrind: all tests/shim.so
	sh tools/valgrind.sh

# Kill, fill and race the programs many times; TORTURE=full for the long run.
TORTURE = ci
torture: all tests/shim.so tests/crashfs/crashfs
	sh tools/torture.sh $(TORTURE)

# libFuzzer harnesses in tests/fuzz/, FUZZTIME seconds each.
FUZZTIME = 60
fuzz:
	FUZZTIME=$(FUZZTIME) sh tests/fuzz/run.sh

# The example scripts go where the cron and systemd examples call them
# (SBINDIR); the examples themselves and the Prometheus alert rules go to
# SHAREDIR, their paths rewritten for this PREFIX, to be copied into
# /etc/cron.d, /etc/systemd/system and Prometheus's rule_files.
SBINDIR = $(PREFIX)/sbin
SHAREDIR = $(PREFIX)/share/safepipe
SCRIPTS = backup.sh restore-drill.sh check-backups.sh
UNITS = backup.cron backup.service backup.timer check-backups.service \
	check-backups.timer safepipe-failure@.service
RULES = safepipe.rules.yml safepipe.tests.yml

# Every directory it creates is 0755 and every file 0755 or 0644, whatever
# the umask (root's 077 would leave the tools to root alone); a directory
# that is there already keeps its mode (a group-writable /usr/local is the
# admin's choice).
INSTALLDIRS = $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANPREFIX)/man1 $(DESTDIR)$(SBINDIR) \
	$(DESTDIR)$(SHAREDIR) $(DESTDIR)$(SHAREDIR)/prometheus

install: all
	for d in $(INSTALLDIRS); do \
		test -d "$$d" || install -d -m 755 "$$d" || exit 1; \
	done
	install -m 755 $(PROG) $(DESTDIR)$(BINDIR)/
	install -m 644 $(MAN) $(DESTDIR)$(MANPREFIX)/man1/
	cd examples && install -m 755 $(SCRIPTS) $(DESTDIR)$(SBINDIR)/
	for f in $(UNITS); do \
		sed -e 's|/usr/local/sbin|$(SBINDIR)|g' -e 's|/usr/local/bin|$(BINDIR)|g' \
			examples/$$f > $(DESTDIR)$(SHAREDIR)/$$f || exit 1; \
	done
	cd $(DESTDIR)$(SHAREDIR) && chmod 644 $(UNITS)
	cd examples/prometheus && install -m 644 $(RULES) $(DESTDIR)$(SHAREDIR)/prometheus/

uninstall:
	cd $(DESTDIR)$(BINDIR) && rm -f $(PROG)
	cd $(DESTDIR)$(MANPREFIX)/man1 && rm -f guardlock.1 gzsafe.1 sumcheck.1
	cd $(DESTDIR)$(SBINDIR) && rm -f $(SCRIPTS)
	cd $(DESTDIR)$(SHAREDIR) && rm -f $(UNITS)
	cd $(DESTDIR)$(SHAREDIR)/prometheus && rm -f $(RULES)
	rmdir $(DESTDIR)$(SHAREDIR)/prometheus $(DESTDIR)$(SHAREDIR) 2>/dev/null || true

clean:
	rm -f $(PROG) $(OBJ) .flags .flags.new .skips tests/shim.so tests/crashfs/crashfs

FORCE:

.PHONY: all check demo bench lint analyze valgrind torture fuzz install uninstall clean FORCE
