#!/bin/sh
# guardlock refuses lock files that are not what they seem: symlinks,
# fifos, sockets, devices, files planted or open to other users, second
# names in shared directories.  Nothing hangs, nothing is touched.
. "$(dirname "$0")/lib.sh"
need timeout || skip_all 'timeout(1) needed'

test_expect_success 'a symlink to a file is refused, the target untouched' '
	echo precious >target && cp target keep && touch -d @1000000000 target &&
	ln -s target l &&
	test_expect_code 125 timeout 20 guardlock l touch ran 2>err &&
	test ! -e ran &&
	test_grep "^guardlock: l: is a symbolic link: refusing to lock it$" err &&
	test_cmp keep target &&
	test "$(stat -c %Y target)" = 1000000000 &&
	flock -n target true
'

test_expect_success 'a dangling symlink is refused and its target not created' '
	ln -s nothere l2 &&
	test_expect_code 125 timeout 20 guardlock l2 touch ran 2>err &&
	test ! -e nothere && test ! -e ran &&
	test_grep "symbolic link" err
'

test_expect_success 'a symlink to a directory is refused' '
	mkdir dir && ln -s dir l3 &&
	test_expect_code 125 timeout 20 guardlock l3 true 2>err &&
	test -z "$(ls -A dir)"
'

test_expect_success 'a fifo is refused without hanging' '
	mkfifo f &&
	test_expect_code 125 timeout 20 guardlock f touch ran 2>err &&
	test ! -e ran &&
	test_grep "^guardlock: f: is a fifo: refusing to lock it$" err &&
	test_expect_code 125 timeout 20 guardlock -s -n f true 2>err &&
	test -p f
'

test_expect_success 'a socket is refused' '
	python3 -c "import socket; socket.socket(socket.AF_UNIX).bind(\"sock\")" &&
	test -S sock &&
	test_expect_code 125 timeout 20 guardlock sock true 2>err &&
	test_grep "is a socket: refusing" err
'

test_expect_success 'a device is refused' '
	test_expect_code 125 timeout 20 guardlock /dev/null touch ran 2>err &&
	test ! -e ran &&
	test_grep "^guardlock: /dev/null: is a device: refusing to lock it$" err
'

test_expect_success '--status of a symlink, fifo or device: 2, without hanging' '
	ln -s target2 sl && echo x >target2 && mkfifo f2 &&
	test_expect_code 2 timeout 20 guardlock --status sl >out 2>err &&
	test ! -s out && test_grep "symbolic link" err &&
	test_expect_code 2 timeout 20 guardlock --status f2 >out 2>err &&
	test ! -s out && test_grep "fifo" err &&
	test_expect_code 2 timeout 20 guardlock --status /dev/null >out 2>err
'

# Who may take part in a lock: only what the caller and root own and keep
# private, unless --public. Run against user nobody, the attacker.
if [ "$(command -v guardlock)" != "$TOP/guardlock" ]; then
	test_skip 'lock files and other users' 'guardlock is a wrapper here'
elif nobody_ok; then
	test_expect_success 'a lock file planted by another user in a sticky world-writable dir is refused' '
		mkdir tmp && chmod 1777 tmp &&
		as_nobody sh -c "echo planted >tmp/x.lock" && cp tmp/x.lock keep &&
		test_expect_code 125 timeout 20 guardlock tmp/x.lock touch ran 2>err &&
		test ! -e ran &&
		test_grep "^guardlock: tmp/x.lock: owned by uid $(id -u nobody) in tmp, a directory others can write: refusing it, its owner could hold it forever or swap it$" err &&
		test_expect_code 125 timeout 20 guardlock --public tmp/x.lock touch ran 2>err &&
		test ! -e ran && test_cmp keep tmp/x.lock
	'
	test_expect_success 'another user'"'"'s lock file in a private directory: refused, unless --public' '
		mkdir priv && echo planted >priv/x.lock && chown nobody priv/x.lock && chmod 600 priv/x.lock &&
		test_expect_code 125 timeout 20 guardlock priv/x.lock touch ran 2>err &&
		test ! -e ran &&
		test_grep "^guardlock: priv/x.lock: owned by uid $(id -u nobody), who could hold it forever: use a lock file of your own, or --public$" err &&
		timeout 20 guardlock --public priv/x.lock true
	'
	test_expect_success 'a new lock file is private: another user can neither open nor hold it' '
		mkdir tmp2 && chmod 1777 tmp2 &&
		timeout 20 guardlock tmp2/new.lock true &&
		test "$(stat -c %U:%a tmp2/new.lock)" = root:600 &&
		test_must_fail as_nobody timeout 20 flock -n tmp2/new.lock true 2>err &&
		test_grep "Permission denied" err &&
		test_must_fail as_nobody timeout 20 guardlock -n tmp2/new.lock true &&
		timeout 20 guardlock -n tmp2/new.lock true
	'
	test_expect_success 'a lock file others may open is refused with the fix named; private again, it works' '
		: >open.lock && chmod 644 open.lock &&
		test_expect_code 125 timeout 20 guardlock -n open.lock touch ran 2>err &&
		test ! -e ran &&
		test_grep "^guardlock: open.lock: other users may open it \(mode 0644\) and so hold it forever: remove it while no job holds it \(guardlock then creates it private\), or --public$" err &&
		chmod 640 open.lock &&
		test_expect_code 125 timeout 20 guardlock -n open.lock true 2>err &&
		test_grep "mode 0640" err &&
		rm open.lock && timeout 20 guardlock -n open.lock true &&
		test "$(stat -c %a open.lock)" = 600
	'
	test_expect_success 'what --public costs: another user can hold the lock and refuse us' '
		: >pub.lock && chmod 644 pub.lock && mkdir nb && chmod 777 nb &&
		mkfifo nb/go &&
		as_nobody timeout 60 flock pub.lock sh -c "touch nb/held; read _ <nb/go" &
		wait_for nb/held 20 &&
		test_expect_code 75 timeout 20 guardlock -n --public pub.lock true 2>err &&
		test_grep "busy: held by pid [0-9]+ \(flock\), no holder record" err &&
		echo >nb/go && wait
	'
	test_expect_success 'an unprivileged user locks a file it may only read with --public, without a record' '
		mkdir pub && : >pub/ro.lock && chmod 644 pub/ro.lock &&
		test_expect_code 125 as_nobody guardlock pub/ro.lock true 2>err &&
		test_grep "other users may open it" err &&
		as_nobody guardlock --public pub/ro.lock sh -c "flock -n pub/ro.lock true; echo \$?" >out &&
		echo 1 >want && test_cmp want out &&
		test ! -s pub/ro.lock
	'
	test_expect_success 'a second name (a hard link to a file that is no lock) in a shared dir is refused' '
		mkdir tmp3 && chmod 1777 tmp3 && : >victim && chmod 600 victim &&
		ln victim tmp3/h.lock &&
		test_expect_code 125 timeout 20 guardlock tmp3/h.lock touch ran 2>err &&
		test ! -e ran && test ! -s victim &&
		test_grep "^guardlock: tmp3/h.lock: has 2 names in tmp3, a directory others can write: refusing it, it may be a link to a file that is not a lock$" err
	'
	test_expect_success 'with a second name in a private dir the lock works, and no record is written' '
		: >victim2 && chmod 600 victim2 && ln victim2 h2.lock &&
		timeout 20 guardlock h2.lock true && test ! -s victim2
	'
	test_expect_success 'a group-writable directory: a member can plant or swap the lock file' '
		mkdir grp && chgrp nogroup grp && chmod 2770 grp &&
		setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c ": >grp/m.lock; chmod 600 grp/m.lock" &&
		test_expect_code 125 timeout 20 guardlock grp/m.lock touch ran 2>err &&
		test_grep "owned by uid $(id -u nobody) in grp, a directory others can write" err &&
		test_expect_code 125 timeout 20 guardlock grp/mine.lock touch ran 2>err &&
		test_grep "^guardlock: grp/mine.lock: others can change its directory grp, or one above it, and so swap the lock file: use a directory only you can write, or --public$" err &&
		test ! -e ran
	'
	test_expect_success 'a sticky directory another user owns: its owner can swap the lock file' '
		mkdir sticky && chown nobody sticky && chmod 1777 sticky &&
		test_expect_code 125 timeout 20 guardlock sticky/s.lock touch ran 2>err &&
		test_grep "^guardlock: sticky/s.lock: others can change its directory sticky, or one above it," err &&
		test ! -e ran && test ! -e sticky/s.lock
	'
	test_expect_success 'a private directory under one others may write: the parent can be renamed away' '
		mkdir -p open/priv && chmod 0777 open && chmod 0700 open/priv &&
		test_expect_code 125 timeout 20 guardlock open/priv/p.lock touch ran 2>err &&
		test_grep "^guardlock: open/priv/p.lock: others can change its directory open/priv, or one above it," err &&
		test ! -e ran && test ! -e open/priv/p.lock &&
		chmod 0755 open && timeout 20 guardlock open/priv/p.lock touch ran && test -e ran
	'
	test_expect_success 'the record names the command, never its arguments, and only root reads it' '
		rm -f held && mkfifo go2 || exit 1
		guardlock rec.lock sh -c "cat rec.lock >during; touch held; read _ <go2" sh --password=hunter2 &
		wait_for held 20 &&
		test_grep "^cmd sh$" during && ! grep -q hunter2 during rec.lock &&
		test_must_fail as_nobody cat rec.lock 2>/dev/null &&
		echo >go2 && wait
	'
	test_expect_success '--status for another user: the holder from /proc, without opening the file' '
		rm -f held && mkfifo go3 || exit 1
		guardlock st.lock sh -c "touch held; read _ <go3" &
		wait_for held 20 &&
		test_expect_code 1 as_nobody guardlock --status st.lock >out 2>err &&
		test_grep "^held by pid [0-9]+ \(sh\), its holder record not readable here, running since .* ago\)$" out &&
		echo >go3 && wait &&
		as_nobody guardlock --status st.lock >out &&
		echo free >want && test_cmp want out
	'
else
	test_skip 'lock files and other users' 'needs root, user nobody and setpriv'
fi

test_expect_success 'an existing lock file is never truncated, unlinked or renamed' '
	echo "#!/bin/sh" >keep.lock && chmod 600 keep.lock && cp keep.lock keep &&
	ino=$(stat -c %i keep.lock) &&
	timeout 20 guardlock keep.lock true &&
	timeout 20 guardlock -s keep.lock true &&
	test_cmp keep keep.lock &&
	test "$(stat -c %i keep.lock)" = "$ino"
'

test_done
