#!/bin/sh
# guardlock refuses lock files that are not what they seem: symlinks,
# fifos, sockets, devices, and files planted by another user in a
# world-writable directory.  Nothing hangs, nothing is touched.
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
	need python3 || exit 0
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

# Another user cannot run the tools/valgrind.sh wrapper in its private dir.
if [ "$(command -v guardlock)" != "$TOP/guardlock" ]; then
	test_skip 'planted lock files' 'guardlock is a wrapper here'
elif [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	test_expect_success 'a lock file planted by another user in a sticky world-writable dir is refused' '
		mkdir tmp && chmod 1777 tmp &&
		echo planted >tmp/x.lock && chown nobody tmp/x.lock && cp tmp/x.lock keep &&
		test_expect_code 125 timeout 20 guardlock tmp/x.lock touch ran 2>err &&
		test ! -e ran &&
		test_grep "^guardlock: tmp/x.lock: owned by uid $(id -u nobody) in world-writable directory tmp: refusing it, its owner could hold it forever or swap it \(use /run/lock\)$" err &&
		test_cmp keep tmp/x.lock
	'
	test_expect_success 'the same lock file in a private directory is fine' '
		mkdir priv && echo planted >priv/x.lock && chown nobody priv/x.lock &&
		timeout 20 guardlock priv/x.lock true
	'
	test_expect_success 'in a world-writable dir, our own and root'"'"'s lock files are fine' '
		chmod 755 . && mkdir tmp2 && chmod 1777 tmp2 &&
		timeout 20 guardlock tmp2/new.lock true &&
		test "$(stat -c %U:%a tmp2/new.lock)" = root:644 &&
		chown nobody tmp2/new.lock &&
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			sh -c "cd tmp2 && guardlock new.lock true"
	'
	test_expect_success 'an unprivileged user can lock a file it may only read, without a record' '
		chmod 755 . && mkdir pub && : >pub/ro.lock && chmod 644 pub/ro.lock &&
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			guardlock pub/ro.lock sh -c "flock -n pub/ro.lock true; echo \$?" >out &&
		echo 1 >want && test_cmp want out &&
		test ! -s pub/ro.lock
	'
else
	test_skip 'planted lock files' 'needs root to chown a file to another user'
fi

test_expect_success 'an existing lock file is never truncated, unlinked or renamed' '
	echo "#!/bin/sh" >keep.lock && cp keep.lock keep &&
	ino=$(stat -c %i keep.lock) &&
	timeout 20 guardlock keep.lock true &&
	timeout 20 guardlock -s keep.lock true &&
	test_cmp keep keep.lock &&
	test "$(stat -c %i keep.lock)" = "$ino"
'

test_done
