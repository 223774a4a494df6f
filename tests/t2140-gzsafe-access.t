#!/bin/sh
# Who may read an archive after gzsafe replaces it: the old file's owner,
# mode, ACL and user.* attributes carry over, as they do for `gzip > F`,
# but only from a file that is ours or root's; the sidecar gets exactly
# the archive's access; -m says the mode alone.
. "$(dirname "$0")/lib.sh"

gen_data 100000 3 >data

# acl: setfacl and getfacl, and a filesystem here that keeps ACLs.
if need setfacl getfacl && : >probe && setfacl -m u:nobody:r probe 2>/dev/null; then
	test_expect_success 'an ACL carries over to the replacement' '
		echo old | gzip >a.gz && chmod 640 a.gz && setfacl -m u:nobody:r a.gz &&
		getfacl --omit-header a.gz >want &&
		gzsafe --digest a.gz cat data &&
		gzip -dc a.gz | cmp - data &&
		getfacl --omit-header a.gz >got && test_cmp want got
	'
	test_expect_success 'the sidecar gets the archive'"'"'s ACL and mode, not its own old ones' '
		getfacl --omit-header a.gz >want &&
		getfacl --omit-header a.gz.b2 >got && test_cmp want got &&
		test "$(stat -c %a a.gz.b2)" = "$(stat -c %a a.gz)" &&
		chmod 666 a.gz.b2 && setfacl -b a.gz.b2 &&
		gzsafe --digest a.gz cat data &&
		getfacl --omit-header a.gz.b2 >got && test_cmp want got
	'
	test_expect_success '-m sets exactly that mode: the old ACL does not come back' '
		gzsafe -m 600 a.gz cat data &&
		test "$(stat -c %a a.gz)" = 600 &&
		! getfacl --omit-header a.gz | grep -q "^user:nobody"
	'
else
	test_skip 'ACLs' 'no setfacl, or no ACLs on this filesystem'
fi

# xattr: setfattr and getfattr, and a filesystem here that keeps user.*.
if need setfattr getfattr && : >xprobe && setfattr -n user.probe -v 1 xprobe 2>/dev/null; then
	test_expect_success 'a user xattr carries over to the replacement' '
		echo old | gzip >x.gz && setfattr -n user.origin -v nightly x.gz &&
		gzsafe --digest x.gz cat data &&
		gzip -dc x.gz | cmp - data &&
		test "$(getfattr --only-values -n user.origin x.gz)" = nightly
	'
else
	test_skip 'user xattrs' 'no setfattr, or no user xattrs on this filesystem'
fi

test_expect_success 'the owner, group and mode of a replaced file of ours carry over' '
	echo old | gzip >o.gz && chmod 604 o.gz &&
	gzsafe --digest o.gz cat data &&
	test "$(stat -c %a o.gz)" = 604 && test "$(stat -c %a o.gz.b2)" = 604
'

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null; then
	test_expect_success 'as root, a root:group file keeps its group' '
		echo old | gzip >g.gz && chgrp nogroup g.gz && chmod 640 g.gz &&
		gzsafe --digest g.gz cat data &&
		test "$(stat -c %U:%G:%a g.gz)" = root:nogroup:640 &&
		test "$(stat -c %U:%G:%a g.gz.b2)" = root:nogroup:640
	'
	test_expect_success 'a file planted by another user: its owner and mode are not copied' '
		echo planted | gzip >p.gz && chown nobody:nogroup p.gz && chmod 666 p.gz &&
		echo planted >p.gz.b2 && chown nobody:nogroup p.gz.b2 && chmod 666 p.gz.b2 &&
		(umask 077 && gzsafe --digest p.gz cat data) &&
		test "$(stat -c %U:%a p.gz)" = root:600 &&
		test "$(stat -c %U:%a p.gz.b2)" = root:600 &&
		gzip -dc p.gz | cmp - data
	'
	test_expect_success '-N -m 600: a planted sidecar does not keep its owner or mode either' '
		echo planted >q.gz.b2 && chown nobody q.gz.b2 && chmod 666 q.gz.b2 &&
		gzsafe -N -m 600 --digest q.gz cat data &&
		test "$(stat -c %U:%a q.gz):$(stat -c %U:%a q.gz.b2)" = root:600:root:600
	'
	test_expect_success 'a second name for a file of root'"'"'s (planted /etc/shadow): its group is not copied' '
		echo secret >shadowlike && chgrp nogroup shadowlike && chmod 640 shadowlike &&
		ln shadowlike h.gz &&
		(umask 022 && gzsafe h.gz cat data) &&
		test "$(stat -c %U:%G:%a h.gz)" = root:root:640 &&
		test "$(stat -c %G:%a shadowlike)" = nogroup:640 &&
		echo secret | cmp - shadowlike && gzip -dc h.gz | cmp - data
	'
	if need setfacl getfacl && mkdir theirs && setfacl -d -m u:daemon:r theirs 2>/dev/null; then
		test_expect_success 'a directory another user owns: their default ACL does not reach a new file' '
			chown nobody theirs &&
			gzsafe --digest theirs/db.gz cat data &&
			! getfacl -c theirs/db.gz | grep -q "^user:daemon" &&
			! getfacl -c theirs/db.gz.b2 | grep -q "^user:daemon"
		'
	else
		test_skip 'their default ACL' 'no setfacl, or no ACLs on this filesystem'
	fi
else
	test_skip 'owners' 'needs root, user nobody and group nogroup'
fi

test_expect_success 'a hard-linked old archive of ours: a private mode stays private' '
	echo old | gzip >hl.gz && chmod 600 hl.gz && ln hl.gz hl-copy.gz &&
	(umask 022 && gzsafe --digest hl.gz cat data) &&
	test "$(stat -c %a hl.gz)" = 600 && test "$(stat -c %a hl.gz.b2)" = 600 &&
	gzip -dc hl-copy.gz >old && echo old | cmp - old
'

test_expect_success 'a sidecar name that cannot be replaced is refused before the producer runs' '
	rm -f ran && mkdir s.gz.b2 &&
	test_expect_code 125 gzsafe --digest s.gz touch ran 2>err &&
	test ! -e ran && test ! -e s.gz &&
	test_grep "^gzsafe: s.gz.b2: is a directory$" err &&
	rmdir s.gz.b2 && ln -s elsewhere s.gz.b2 &&
	test_expect_code 125 gzsafe --digest s.gz touch ran 2>err &&
	test ! -e ran && test ! -e elsewhere &&
	test_grep "^gzsafe: s.gz.b2: is a symbolic link; refusing to replace it$" err
'

test_expect_success 'an empty OUTPUT name is a usage error, named' '
	test_expect_code 125 gzsafe "" true 2>err &&
	test_grep "^gzsafe: OUTPUT is an empty name$" err
'

if need setfacl getfacl && mkdir dacl && setfacl -d -m u:nobody:rw dacl 2>/dev/null; then
	test_expect_success 'a directory'"'"'s default ACL never widens a replaced archive, nor -m'"'"'s' '
		seq 5 | gzip >dacl/db.gz && setfacl -b dacl/db.gz && chmod 640 dacl/db.gz &&
		gzsafe --digest dacl/db.gz cat data &&
		! getfacl -c dacl/db.gz | grep -q "^user:nobody" &&
		! getfacl -c dacl/db.gz.b2 | grep -q "^user:nobody" &&
		test "$(stat -c %a dacl/db.gz)" = 640 &&
		gzsafe -m 640 dacl/m.gz cat data &&
		! getfacl -c dacl/m.gz | grep -q "^user:nobody"
	'
	test_expect_success 'a new file takes the directory'"'"'s default ACL, as any new file' '
		gzsafe dacl/new.gz cat data &&
		getfacl -c dacl/new.gz | grep -q "^user:nobody"
	'
else
	test_skip 'default ACLs' 'no setfacl, or no ACLs on this filesystem'
fi

if nobody_ok && getent group users >/dev/null; then
	test_expect_success 'not root: the old group kept where the caller is in it' '
		mkdir grp && chmod 777 grp &&
		setpriv --reuid=nobody --regid=nogroup --groups=users sh -c "cd grp && seq 3 | gzip >db.gz && chgrp users db.gz && chmod 640 db.gz && $_nobody_bin/gzsafe --digest db.gz seq 5" &&
		test "$(stat -c %U:%G:%a grp/db.gz)" = nobody:users:640 &&
		test "$(stat -c %G grp/db.gz.b2)" = users
	'
	test_expect_success 'not root: a group it cannot keep, that may read, is refused, not changed' '
		chgrp users grp/db.gz && cp grp/db.gz keep.gz &&
		test_expect_code 125 setpriv --reuid=nobody --regid=nogroup --clear-groups \
		    sh -c "cd grp && $_nobody_bin/gzsafe db.gz seq 9" 2>err &&
		test_grep "cannot carry over its group" err &&
		cmp keep.gz grp/db.gz && test "$(stat -c %G grp/db.gz)" = users
	'
else
	test_skip 'groups as another user' 'needs root, user nobody, setpriv and group users'
fi

test_done
