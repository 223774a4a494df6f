#!/usr/bin/env python3
"""tests/crashfs/crashcheck.py: every state a power cut could leave, checked.

    crashcheck.py --initial DIR --final DIR --log LOG --name NAME
                  [--exited LINES] [--samples N] [--seed S] [--models LIST]
                  [--label TEXT] [--layout MODEL:K:SAMPLE --out DIR]

Reads the log that crashfs wrote of one run (LOG and LOG.data), starting
from DIR --initial, the tree before the run, all of it durable. For every
prefix of the log's operations (a crash after operation k, k = 0..n) and
every model below, it builds the tree that the crash could leave and checks
NAME and NAME.b2 in the top directory:

  - each is the old file or the new one (--final), byte for byte: never
    partial, never empty, never anything else;
  - the sidecar's BLAKE2b matches the archive, except in the documented
    window: from the rename onto NAME until the fsync of the directory
    after the rename onto NAME.b2, the new archive may sit beside the old
    sidecar (no rename moves two names; the fsync makes both durable);
  - once the program has exited 0 (the first LINES lines of the log), the
    new archive and the new sidecar, whatever the model;
  - any other name is a temporary that atomic.c stages, .NAME.PID.HEX.tmp
    or .NAME.b2.PID.HEX.tmp, which a crash may leave (counted).

Before any of that, the whole log replayed must give the --final tree byte
for byte: a recorder that missed an operation fails here, not silently.

The models. An operation is volatile until something made it durable:

  strict      POSIX's minimum, and nothing more. fsync(2) of a file makes
              its data and attributes durable, not its name; a directory's
              entries (create, link, rename, unlink, mkdir) are durable only
              once that directory is fsynced. Stricter than ext4, xfs and
              btrfs, which all also persist a new file's name when the file
              is fsynced; a program that is right here is right there.
              Nothing volatile survives. One state per k.
  optimistic  Everything up to k survives, as if the cache had been written
              back just before the cut (and what SIGKILL leaves). One state.
  ordered     ext4 (data=ordered, the default) and xfs. Metadata (names,
              sizes set by truncate, attributes) is journaled in the order it
              was made, so a crash keeps a prefix of it, up to a random point
              P; an fsync at s forces the journal through the last metadata
              change of what it syncs (xfs; ext4 forces all of it, a longer
              prefix, a subset of these states). File data is written back on
              its own schedule: each 4 KiB block of every write that no fsync
              of its file covers is kept or lost independently (torn writes;
              ext4's delayed allocation loses them).
  btrfs       Transactions commit atomically and in order, so again a prefix
              of all metadata up to P, but fsync does not force it: its log
              tree persists only the synced file's data, attributes and
              names (or the synced directory's entries), out of order with
              the rest. Data blocks as in ordered.

The two random models draw --samples states per k from a generator seeded
with the seed, the model, k and the sample number, so that every state can
be built again (--layout). Their first sample at each k is the harshest:
every volatile metadata change up to k kept, every volatile data block lost.

Exit status: 0 no violation, 1 violations (listed), 2 could not check.
"""

import argparse
import hashlib
import os
import random
import re
import sys
import urllib.parse

BLOCK = 4096            # the unit of a torn write: a page, a disk block
SHOW = 5                # violations printed per model; all are counted
MODELS = ("strict", "optimistic", "ordered", "btrfs")
ROOT = 1                # inode number of the mount's top directory
RENAME_EXCHANGE = 2


class Fail(Exception):
    """Could not check: exit 2."""


class Op:
    """One operation that matters to a crash, in terms of inodes.

    kind: "name" (changes: (dir, name, inode or None) set atomically),
    "write" (ino, off, data), "truncate" (ino, size), "attr" (ino),
    "fsync" (ino), "fsyncdir" (ino, a directory).
    """

    def __init__(self, kind, line, **kw):
        self.kind = kind
        self.line = line        # 1-based line of the log, for messages
        self.ino = kw.get("ino")
        self.off = kw.get("off", 0)
        self.data = kw.get("data", b"")
        self.size = kw.get("size", 0)
        self.changes = kw.get("changes", ())
        self.text = kw.get("text", "")
        self.cut = None

    def metadata(self):
        return self.kind in ("name", "truncate", "attr")

    def touches(self, ino):
        """Is this metadata change part of what syncing ino makes durable?"""
        if self.kind == "name":
            return any(d == ino or i == ino for d, _, i in self.changes)
        return self.kind in ("truncate", "attr") and self.ino == ino

    def pieces(self):
        """A write cut at block boundaries: the parts a crash may tear."""
        if self.cut is None:
            self.cut, at, end = [], self.off, self.off + len(self.data)
            while at < end:
                nxt = min(end, (at // BLOCK + 1) * BLOCK)
                self.cut.append((at, self.data[at - self.off:nxt - self.off]))
                at = nxt
        return self.cut


class Tree:
    """The state of a tree: directory entries and file contents by inode."""

    def __init__(self, dirs, data, links):
        self.dirs = dirs        # dir inode -> {name: inode}
        self.data = data        # file inode -> bytes or bytearray
        self.links = links      # symlink inode -> target

    def copy(self):
        return Tree({d: dict(e) for d, e in self.dirs.items()},
                    dict(self.data), self.links)

    def content(self, ino):
        b = self.data.get(ino, b"")
        if not isinstance(b, bytearray):
            b = self.data[ino] = bytearray(b)
        return b

    def apply(self, op, piece=None):
        if op.kind == "name":
            for d, name, ino in op.changes:
                entries = self.dirs.setdefault(d, {})
                if ino is None:
                    entries.pop(name, None)
                else:
                    entries[name] = ino
        elif op.kind == "write":
            for off, b in ([piece] if piece else op.pieces()):
                buf = self.content(op.ino)
                if len(buf) < off:
                    buf.extend(bytes(off - len(buf)))
                buf[off:off + len(b)] = b
        elif op.kind == "truncate":
            buf = self.content(op.ino)
            if len(buf) > op.size:
                del buf[op.size:]
            else:
                buf.extend(bytes(op.size - len(buf)))

    def top(self):
        """The top directory: name -> ("f", bytes) | ("d", None) | ("l", target)."""
        out = {}
        for name, ino in self.dirs.get(ROOT, {}).items():
            if ino in self.dirs:
                out[name] = ("d", None)
            elif ino in self.links:
                out[name] = ("l", self.links[ino])
            else:
                out[name] = ("f", bytes(self.data.get(ino, b"")))
        return out


def unescape(s):
    return os.fsdecode(urllib.parse.unquote_to_bytes(s))


def snapshot(top):
    """Read a real directory tree into a Tree, numbering inodes from ROOT."""
    dirs, data, links = {}, {}, {}
    count = [ROOT]

    def walk(path, ino):
        dirs[ino] = {}
        for e in sorted(os.scandir(path), key=lambda e: e.name):
            count[0] += 1
            child = count[0]
            dirs[ino][e.name] = child
            if e.is_symlink():
                links[child] = os.readlink(e.path)
            elif e.is_dir():
                walk(e.path, child)
            else:
                with open(e.path, "rb") as f:
                    data[child] = f.read()
    walk(top, ROOT)
    return Tree(dirs, data, links), count[0]


class Log:
    """The log, replayed once on the tree as it really was, to name inodes."""

    def __init__(self, path, initial, nino):
        self.ops = []           # the operations, Op, in log order
        self.lines = 0
        self.exit_ops = {}      # lines read -> operations so far
        self.tree = initial.copy()
        self.nino = nino
        self.handles = {}
        with open(path + ".data", "rb") as f:
            self.blob = f.read()
        with open(path, encoding="ascii") as f:
            for n, line in enumerate(f, 1):
                self.parse(n, line.split())
                self.exit_ops[n] = len(self.ops)
                self.lines = n
        self.exit_ops[0] = 0

    def lookup(self, path):
        """(parent inode, last name, inode or None) of a path as it is now."""
        parts = [p for p in path.split("/") if p]
        d = ROOT
        for p in parts[:-1]:
            d = self.tree.dirs.get(d, {}).get(p)
            if d is None or d not in self.tree.dirs:
                raise Fail("log: no directory on the way to " + path)
        if not parts:
            return None, "", ROOT
        return d, parts[-1], self.tree.dirs[d].get(parts[-1])

    def inode(self, ref):
        if ref.startswith("#"):
            if ref not in self.handles:
                raise Fail("log: unknown handle " + ref)
            return self.handles[ref]
        ino = self.lookup(unescape(ref))[2]
        if ino is None:
            raise Fail("log: no such file " + unescape(ref))
        return ino

    def new(self):
        self.nino += 1
        return self.nino

    def add(self, op):
        self.ops.append(op)
        self.tree.apply(op)

    def name(self, n, text, changes):
        self.add(Op("name", n, changes=tuple(changes), text=text))

    def parse(self, n, f):
        if not f:
            raise Fail("log line %d: empty" % n)
        what, text = f[0], " ".join(f)
        if what in ("open", "opendir"):
            self.handles[f[1]] = self.inode(f[2])
        elif what in ("release", "releasedir"):
            self.handles.pop(f[1], None)
        elif what == "create":
            d, name, _ = self.lookup(unescape(f[2]))
            ino = self.new()
            self.tree.data[ino] = b""
            self.name(n, text, [(d, name, ino)])
            self.handles[f[1]] = ino
        elif what == "mkdir":
            d, name, _ = self.lookup(unescape(f[1]))
            ino = self.new()
            self.tree.dirs[ino] = {}
            self.name(n, text, [(d, name, ino)])
        elif what == "symlink":
            d, name, _ = self.lookup(unescape(f[1]))
            ino = self.new()
            self.tree.links[ino] = unescape(f[2])
            self.name(n, text, [(d, name, ino)])
        elif what in ("unlink", "rmdir"):
            d, name, _ = self.lookup(unescape(f[1]))
            self.name(n, text, [(d, name, None)])
        elif what == "link":
            ino = self.inode(f[1])
            d, name, _ = self.lookup(unescape(f[2]))
            self.name(n, text, [(d, name, ino)])
        elif what == "rename":
            sd, sname, sino = self.lookup(unescape(f[1]))
            dd, dname, dino = self.lookup(unescape(f[2]))
            if int(f[3]) & RENAME_EXCHANGE:
                self.name(n, text, [(dd, dname, sino), (sd, sname, dino)])
            else:
                self.name(n, text, [(sd, sname, None), (dd, dname, sino)])
        elif what == "write":
            off, length, at = int(f[2]), int(f[3]), int(f[4])
            if at + length > len(self.blob):
                raise Fail("log line %d: past the end of the data" % n)
            self.add(Op("write", n, ino=self.inode(f[1]), off=off,
                        data=self.blob[at:at + length], text=text))
        elif what == "truncate":
            self.add(Op("truncate", n, ino=self.inode(f[1]), size=int(f[2]),
                        text=text))
        elif what in ("chmod", "chown", "utimens"):
            self.add(Op("attr", n, ino=self.inode(f[1]), text=text))
        elif what in ("fsync", "fsyncdir"):
            self.add(Op(what, n, ino=self.inode(f[1]), text=text))
        else:
            raise Fail("log line %d: unknown operation %s" % (n, what))


class Crash:
    """Which operations a crash after operation k may keep, per model."""

    def __init__(self, ops):
        self.ops = ops
        n = len(ops)
        # synced[i]: 1 + the index of the sync that made op i durable, the
        # first one after it (n + 1: none); a crash after k keeps it if <= k.
        self.synced = [n + 1] * n
        self.force = [0] * (n + 1)      # ordered: the prefix forced by k
        self.btrfs = [set() for _ in range(n + 1)]      # names forced by k
        dirsync = {}                    # (op, dir) -> first fsync of dir after op
        for s, op in enumerate(ops):
            if op.kind not in ("fsync", "fsyncdir"):
                continue
            last = 0
            for i, o in enumerate(ops[:s]):
                if op.kind == "fsync" and o.kind in ("write", "truncate", "attr") \
                        and o.ino == op.ino:
                    self.synced[i] = min(self.synced[i], s + 1)
                if op.kind == "fsyncdir" and o.kind == "name":
                    for d, _, _ in o.changes:
                        if d == op.ino:
                            dirsync.setdefault((i, d), s + 1)
                if o.metadata() and o.touches(op.ino):
                    last = i + 1
                if op.kind == "fsync" and o.kind == "name" and \
                        any(x == op.ino for _, _, x in o.changes):
                    self.btrfs[s + 1].add(i)
            self.force[s + 1] = last
        # A name change in two directories (a rename across them) needs
        # both synced; ours are all in one.
        for i, o in enumerate(ops):
            if o.kind == "name":
                self.synced[i] = max(dirsync.get((i, d), n + 1)
                                     for d, _, _ in o.changes)
        for k in range(1, n + 1):
            self.force[k] = max(self.force[k], self.force[k - 1])
            self.btrfs[k] |= self.btrfs[k - 1]

    def durable(self, i, k):
        """Made durable by a sync among the first k operations: strict."""
        return self.synced[i] <= k

    def units(self, model, k, sample, seed):
        """(op index, piece or None) kept by a crash after op k, in order."""
        ops = self.ops[:k]
        if model == "optimistic":
            return [(i, None) for i in range(k)]
        if model == "strict":
            return [(i, None) for i in range(k) if self.durable(i, k)]
        rng = random.Random("%s:%s:%d:%d" % (seed, model, k, sample))
        low = self.force[k] if model == "ordered" else 0
        if sample == 0:
            p, keep = k, 0.0
        else:
            p, keep = rng.randint(low, k), 0.5
        out = []
        for i, op in enumerate(ops):
            if op.kind == "write":
                if self.durable(i, k):
                    out.append((i, None))
                else:
                    out.extend((i, pc) for pc in op.pieces()
                               if rng.random() < keep)
            elif op.metadata() and (i < p or self.durable(i, k) or
                                    (model == "btrfs" and i in self.btrfs[k])):
                out.append((i, None))
        return out


def digest_ok(archive, sidecar, name):
    """Does the sidecar hold a BLAKE2b of archive for name? b2sum's forms."""
    for line in sidecar.decode("latin-1").splitlines():
        m = re.fullmatch(r"([0-9a-f]+) [ *](.*)", line) or None
        if m:
            hexd, who = m.group(1), m.group(2)
        else:
            m = re.fullmatch(r"BLAKE2b(?:-(\d+))? \((.*)\) = ([0-9a-f]+)", line)
            if not m:
                continue
            hexd, who = m.group(3), m.group(2)
        if who != name or len(hexd) % 2 or not 2 <= len(hexd) <= 128:
            continue
        if hashlib.blake2b(archive, digest_size=len(hexd) // 2).hexdigest() == hexd:
            return True
    return False


def describe(entry):
    kind, b = entry
    if kind != "f":
        return "not a regular file"
    return "empty" if not b else "%d bytes, neither old nor new" % len(b)


class Checker:
    def __init__(self, a):
        self.name = a.name
        self.side = a.name + ".b2"
        initial, nino = snapshot(a.initial)
        final, _ = snapshot(a.final)
        self.initial = initial
        self.log = Log(a.log, initial, nino)
        self.ops = self.log.ops
        self.crash = Crash(self.ops)
        self.seed = a.seed
        self.samples = a.samples
        got = self.state("optimistic", len(self.ops), 0).top()
        if got != final.top():
            raise Fail("the log replayed is not the tree it was recorded on")
        self.old = initial.top()
        self.new = final.top()
        for t in (self.old, self.new):
            if t.get(self.name, ("",))[0] != "f" or t.get(self.side, ("",))[0] != "f":
                raise Fail("%s and %s must be files before and after" %
                           (self.name, self.side))
            if not digest_ok(t[self.name][1], t[self.side][1], self.name):
                raise Fail("%s does not vouch for %s before or after the run" %
                           (self.side, self.name))
        if self.old == self.new:
            raise Fail("the run changed neither %s nor %s: nothing to check" %
                       (self.name, self.side))
        self.exited = (self.log.exit_ops.get(a.exited) if a.exited is not None
                       else None)
        if a.exited is not None and self.exited is None:
            raise Fail("--exited %d: the log has %d lines" % (a.exited, self.log.lines))
        self.window = self.findwindow()
        temp = r"\.%s(\.b2)?\.[0-9]+\.[0-9a-f]+\.tmp" % re.escape(self.name)
        self.temp = re.compile(temp)

    def findwindow(self):
        """[rename onto NAME, fsync of the directory after NAME.b2's rename)."""
        lo = side = hi = None
        for k, op in enumerate(self.ops, 1):
            if op.kind == "name" and op.text.startswith("rename "):
                dest = {(d, n) for d, n, i in op.changes if i is not None}
                if lo is None and (ROOT, self.name) in dest:
                    lo = k
                if lo is not None and (ROOT, self.side) in dest:
                    side = k
            elif op.kind == "fsyncdir" and op.ino == ROOT and side and not hi:
                hi = k
        if lo is None:
            return range(0)
        return range(lo, hi or len(self.ops) + 1)

    def state(self, model, k, sample):
        t = self.initial.copy()
        for i, piece in self.crash.units(model, k, sample, self.seed):
            t.apply(self.ops[i], piece)
        return t

    def check(self, top, k):
        """The violations in one crash state; and whether it left a temp."""
        bad, temp = [], False
        for n in sorted(top):
            if n in (self.name, self.side):
                continue
            if self.temp.fullmatch(n) and top[n][0] == "f":
                temp = True
            else:
                bad.append("unexpected %s" % n)
        a, s = top.get(self.name), top.get(self.side)
        olda, news = self.old[self.name], self.new[self.side]
        newa, olds = self.new[self.name], self.old[self.side]
        if a is None:
            bad.append("%s missing" % self.name)
        elif a != olda and a != newa:
            bad.append("%s %s" % (self.name, describe(a)))
        if s is None:
            bad.append("%s missing" % self.side)
        elif s != olds and s != news:
            bad.append("%s %s" % (self.side, describe(s)))
        if bad:
            return bad, temp
        if not digest_ok(a[1], s[1], self.name):
            if not (a == newa and s == olds and k in self.window):
                bad.append("%s does not vouch for %s (%s archive, %s sidecar)" % (
                    self.side, self.name, "new" if a == newa else "old",
                    "new" if s == news else "old"))
        if self.exited is not None and k >= self.exited and (a != newa or s != news):
            bad.append("after exit 0: %s archive, %s sidecar" % (
                "new" if a == newa else "old", "new" if s == news else "old"))
        return bad, temp

    def run(self, models, label):
        total = violations = 0
        for model in models:
            n = len(self.ops)
            per = 1 if model in ("strict", "optimistic") else self.samples
            states = bad = temps = 0
            distinct = set()
            for k in range(n + 1):
                for sample in range(per):
                    top = self.state(model, k, sample).top()
                    states += 1
                    distinct.add(hash(tuple(sorted(top.items()))))
                    why, temp = self.check(top, k)
                    temps += temp
                    if why:
                        bad += 1
                        if bad <= SHOW:
                            print("crashcheck: %s: VIOLATION at %s:%d:%d (after %s): %s" % (
                                label, model, k, sample,
                                self.ops[k - 1].text if k else "nothing",
                                "; ".join(why)))
            print("crashcheck: %s: %s: %d crash points, %d states (%d distinct), "
                  "%d violations, %d leave a temporary" % (
                      label, model, n + 1, states, len(distinct), bad, temps))
            total += states
            violations += bad
        print("crashcheck: %s: all models: %d operations, exit 0 after %s, "
              "window %s: %d states, %d violations (seed %s)" % (
                  label, len(self.ops),
                  "?" if self.exited is None else self.exited,
                  "%d..%d" % (self.window.start, self.window.stop - 1)
                  if self.window else "none",
                  total, violations, self.seed))
        return violations

    def layout(self, spec, out):
        model, k, sample = spec.split(":")
        if model not in MODELS or not 0 <= int(k) <= len(self.ops):
            raise Fail("--layout %s: no such state" % spec)
        t = self.state(model, int(k), int(sample))
        os.mkdir(out)

        def write(d, path):
            for name, ino in t.dirs[d].items():
                p = os.path.join(path, name)
                if ino in t.dirs:
                    os.mkdir(p)
                    write(ino, p)
                elif ino in t.links:
                    os.symlink(t.links[ino], p)
                else:
                    with open(p, "wb") as f:
                        f.write(t.data.get(ino, b""))
        write(ROOT, out)


def main():
    p = argparse.ArgumentParser(prog="crashcheck.py")
    p.add_argument("--initial", required=True)
    p.add_argument("--final", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--exited", type=int)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--seed", default="1")
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--label", default="crashcheck")
    p.add_argument("--layout")
    p.add_argument("--out")
    a = p.parse_args()
    models = a.models.split(",")
    if any(m not in MODELS for m in models) or a.samples < 1 or \
            bool(a.layout) != bool(a.out):
        p.error("bad --models, --samples or --layout/--out")
    try:
        c = Checker(a)
        if a.layout:
            c.layout(a.layout, a.out)
            return 0
        return 1 if c.run(models, a.label) else 0
    except (Fail, OSError, ValueError, IndexError) as e:
        print("crashcheck: %s: %s" % (a.label, e), file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
