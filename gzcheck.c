/*
 * gzcheck.c: test a gzip file the way a restore will read it, member by
 * member, and report the first fault with where it is. See gzcheck.h.
 *
 * Strict where gzip -t is lenient: bytes after the last member that are not
 * another member (zero padding included) count as trailing garbage, since a
 * backup archive has no business carrying any.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "gzcheck.h"
#include "util.h"

/* RFC 1952: a member's magic, method and header flag bits. */
enum { ID1 = 0x1f, ID2 = 0x8b, CM_DEFLATE = 8 };
enum {
	FTEXT = 1 << 0, FHCRC = 1 << 1, FEXTRA = 1 << 2, FNAME = 1 << 3, FCOMMENT = 1 << 4,
	FRESERVED = 0xe0
};
#define HEADER_FIXED 6	/* MTIME (4), XFL, OS after FLG */

/* A ustar header: where its fields are, and how long. */
enum {
	TAR_BLOCK = 512, TAR_SIZE = 124, TAR_SIZELEN = 12, TAR_CHKSUM = 148, TAR_CHKSUMLEN = 8,
	TAR_TYPEFLAG = 156
};

#define BUFSIZE (256 * 1024)
#define OUTSIZE (256 * 1024)

/* Input from a reader, with the file offset of each byte. */
struct src {
	gzcheck_reader *rd;
	void *ctx;
	unsigned char *buf;		/* window: buf[pos..len) not yet used */
	size_t pos, len;
	uint64_t base;			/* file offset of buf[0] */
	int err;
	unsigned char own[BUFSIZE];
};

/* The tar walker: follows headers through the inflated stream. */
struct tar {
	unsigned char block[TAR_BLOCK];
	size_t fill;
	uint64_t skip;		/* content and padding still to pass over */
	int zeros;		/* consecutive zero blocks */
	int ended;
	int bad;
};

static uint64_t
offset(const struct src *s)
{
	return s->base + s->pos;
}

/* More input: 1 if some, 0 at EOF, -1 on error. */
static int
fill(struct src *s)
{
	ssize_t n;

	if (s->pos < s->len)
		return 1;
	s->base += s->len;
	s->pos = s->len = 0;
	s->buf = s->own;
	do
		n = s->rd(s->ctx, s->own, sizeof(s->own));
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		s->err = errno;
		return -1;
	}
	s->len = n;
	return n > 0;
}

/* Next byte, or -1 at EOF, -2 on read error. */
static int
getbyte(struct src *s)
{
	int r = fill(s);

	if (r <= 0)
		return r == 0 ? -1 : -2;
	return s->buf[s->pos++];
}

static int
fault(struct gzcheck *g, uint64_t off, const char *msg)
{
	g->offset = off;
	snprintf(g->msg, sizeof(g->msg), "%s", msg);
	return GZ_BAD;
}

static uint64_t
tarnum(const unsigned char *f, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (f[0] & 0x80) {	/* GNU base-256 for sizes of 8 GiB and more */
		v = f[0] & 0x3f;
		for (i = 1; i < n; i++) {
			if (v >> 56)
				return UINT64_MAX;	/* no such archive: saturate */
			v = v << 8 | f[i];
		}
		return v;
	}
	for (i = 0; i < n && (f[i] == ' ' || f[i] == '\0'); i++)
		;
	for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = v << 3 | (f[i] - '0');
	return v;
}

static void
tarblock(struct tar *t)
{
	const unsigned char *b = t->block;
	unsigned sum = 0;
	long ssum = 0;
	size_t i;
	uint64_t size, want;

	for (i = 0; i < TAR_BLOCK && !b[i]; i++)
		;
	if (i == TAR_BLOCK) {
		if (++t->zeros >= 2)
			t->ended = 1;
		return;
	}
	t->zeros = 0;
	/* Old tars summed the bytes as signed chars; GNU tar accepts either sum. */
	for (i = 0; i < TAR_BLOCK; i++) {
		sum += (i >= TAR_CHKSUM && i < TAR_CHKSUM + TAR_CHKSUMLEN) ? ' ' : b[i];
		ssum += (i >= TAR_CHKSUM && i < TAR_CHKSUM + TAR_CHKSUMLEN) ? ' ' : (signed char)b[i];
	}
	want = tarnum(b + TAR_CHKSUM, TAR_CHKSUMLEN);
	if (sum != want && (uint64_t)(int64_t)ssum != want) {
		t->bad = 1;
		return;
	}
	size = tarnum(b + TAR_SIZE, TAR_SIZELEN);
	/* Links, devices, directories and fifos carry no data. */
	if (strchr("123456", b[TAR_TYPEFLAG]) && b[TAR_TYPEFLAG])
		size = 0;
	if (size > UINT64_MAX - (TAR_BLOCK - 1)) {
		t->bad = 1;
		return;
	}
	t->skip = (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

static void
tarfeed(struct tar *t, const unsigned char *p, size_t n)
{
	size_t k;

	while (n > 0 && !t->ended && !t->bad) {
		if (t->skip > 0) {
			k = n < t->skip ? n : (size_t)t->skip;
			t->skip -= k;
		} else {
			k = TAR_BLOCK - t->fill < n ? TAR_BLOCK - t->fill : n;
			memcpy(t->block + t->fill, p, k);
			t->fill += k;
			if (t->fill == TAR_BLOCK) {
				t->fill = 0;
				tarblock(t);
			}
		}
		p += k;
		n -= k;
	}
}

/* Header bytes are fed to a running CRC for FHCRC. */
static int
hbyte(struct src *s, uLong *crc)
{
	int c = getbyte(s);

	if (c >= 0) {
		unsigned char b = c;

		*crc = crc32(*crc, &b, 1);
	}
	return c;
}

/* After the first member, a header cut short is just bytes that do not belong. */
#define NEED(c) do { if ((c) == -2) return GZ_IOERR; \
	if ((c) == -1) return fault(g, g->member > 1 ? start : offset(s), g->member > 1 ? \
	    "trailing garbage after the last member" : \
	    "truncated: unexpected end of file in header"); } while (0)

static int
header(struct src *s, struct gzcheck *g)
{
	uint64_t start = offset(s);
	uLong crc = crc32(0, NULL, 0);
	int c, flg, i, xlen;

	c = hbyte(s, &crc);
	NEED(c);
	if (c != ID1)
		return fault(g, start, g->member > 1 ? "trailing garbage after the last member" : "bad header: not in gzip format");
	c = hbyte(s, &crc);
	NEED(c);
	if (c != ID2)
		return fault(g, start, g->member > 1 ? "trailing garbage after the last member" : "bad header: not in gzip format");
	c = hbyte(s, &crc);
	NEED(c);
	if (c != CM_DEFLATE)
		return fault(g, start + 2, "bad header: unknown compression method");
	flg = hbyte(s, &crc);
	NEED(flg);
	if (flg & FRESERVED)
		return fault(g, start + 3, "bad header: unknown header flags set");
	for (i = 0; i < HEADER_FIXED; i++) {
		c = hbyte(s, &crc);
		NEED(c);
	}
	if (flg & FEXTRA) {
		c = hbyte(s, &crc);
		NEED(c);
		xlen = c;
		c = hbyte(s, &crc);
		NEED(c);
		xlen |= c << 8;
		while (xlen-- > 0) {
			c = hbyte(s, &crc);
			NEED(c);
		}
	}
	for (i = FNAME; i <= FCOMMENT; i <<= 1)	/* zero-terminated */
		if (flg & i)
			do {
				c = hbyte(s, &crc);
				NEED(c);
			} while (c != 0);
	if (flg & FHCRC) {		/* the low 16 bits of the header's CRC-32 */
		uint64_t at = offset(s);
		unsigned want = crc & 0xffff;
		int lo = getbyte(s), hi;

		NEED(lo);
		hi = getbyte(s);
		NEED(hi);
		if ((unsigned)(lo | hi << 8) != want)
			return fault(g, at, "bad header: header crc mismatch");
	}
	return GZ_OK;
}

static int
trailer(struct src *s, struct gzcheck *g, uLong crc, uint32_t isize)
{
	unsigned char t[8];
	uint64_t at = offset(s);
	int i, c;

	for (i = 0; i < 8; i++) {
		c = getbyte(s);
		if (c == -2)
			return GZ_IOERR;
		if (c == -1)
			return fault(g, offset(s), "truncated: unexpected end of file in trailer");
		t[i] = c;
	}
	if ((t[0] | t[1] << 8 | t[2] << 16 | (uint32_t)t[3] << 24) != (uint32_t)crc)
		return fault(g, at, "crc mismatch");
	if ((t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24) != isize)
		return fault(g, at + 4, "length mismatch");
	return GZ_OK;
}

static int
member(struct src *s, struct gzcheck *g, struct tar *t, z_stream *z, unsigned char *out)
{
	uLong crc = crc32(0, NULL, 0);
	uint32_t isize = 0;
	int r, zr;
	size_t got;

	if ((r = header(s, g)) != GZ_OK)
		return r;
	if (inflateReset(z) != Z_OK)
		return fault(g, offset(s), "inflate reset failed");
	for (;;) {
		r = fill(s);
		if (r < 0)
			return GZ_IOERR;
		if (r == 0)
			return fault(g, offset(s), "truncated: unexpected end of file in compressed data");
		z->next_in = s->buf + s->pos;
		z->avail_in = s->len - s->pos;
		do {
			z->next_out = out;
			z->avail_out = OUTSIZE;
			zr = inflate(z, Z_NO_FLUSH);
			got = OUTSIZE - z->avail_out;
			crc = crc32(crc, out, got);
			isize += got;
			g->out += got;
			if (t)
				tarfeed(t, out, got);
			if (zr == Z_DATA_ERROR || zr == Z_NEED_DICT || zr == Z_MEM_ERROR) {
				char msg[sizeof(g->msg)];

				s->pos = s->len - z->avail_in;
				snprintf(msg, sizeof(msg), "corrupt data: %s",
				    z->msg ? z->msg : "invalid deflate stream");
				return fault(g, offset(s), msg);
			}
		} while (zr == Z_OK && z->avail_out == 0);
		s->pos = s->len - z->avail_in;
		if (zr == Z_STREAM_END)
			return trailer(s, g, crc, isize);
	}
}

static int
check(struct src *s, int tar, struct gzcheck *g)
{
	static const char tarmsg[] = "tar archive has no end-of-archive blocks (cut off?)";
	unsigned char *out;
	struct tar t;
	z_stream z;
	int r;

	memset(g, 0, sizeof(*g));
	memset(&t, 0, sizeof(t));
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK) {
		g->err = ENOMEM;
		return GZ_IOERR;
	}
	/* Everything is had before the first read: a reader may count on it. */
	if (!(out = malloc(OUTSIZE))) {
		inflateEnd(&z);
		g->err = ENOMEM;
		return GZ_IOERR;
	}
	for (;;) {
		r = fill(s);
		if (r < 0) {
			r = GZ_IOERR;
			break;
		}
		if (r == 0) {
			r = g->member ? GZ_OK : fault(g, 0, "truncated: empty file");
			if (r == GZ_OK && tar && !t.ended)
				r = fault(g, offset(s), t.bad ? "not a tar archive (bad header checksum)" : tarmsg);
			break;
		}
		g->member++;
		if ((r = member(s, g, tar ? &t : NULL, &z, out)) != GZ_OK)
			break;
		if (tar && t.bad) {
			r = fault(g, offset(s), "not a tar archive (bad header checksum)");
			break;
		}
	}
	if (r == GZ_IOERR)
		g->err = s->err ? s->err : EIO;
	g->in = offset(s);
	if (g->member == 0)
		g->member = 1;
	inflateEnd(&z);
	free(out);
	return r;
}

int
gzcheck_read(gzcheck_reader *rd, void *ctx, int tar, struct gzcheck *g)
{
	struct src *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		memset(g, 0, sizeof(*g));
		g->err = ENOMEM;
		return GZ_IOERR;
	}
	s->rd = rd;
	s->ctx = ctx;
	r = check(s, tar, g);
	free(s);
	return r;
}

static ssize_t
fdread(void *ctx, void *buf, size_t n)
{
	return readsome(*(int *)ctx, buf, n);
}

int
gzcheck_fd(int fd, int tar, struct gzcheck *g)
{
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return gzcheck_read(fdread, &fd, tar, g);
}

struct mem {
	const unsigned char *p;
	uint64_t n, off;
};

/* Memory served as reads would serve a file. */
static ssize_t
memread(void *ctx, void *buf, size_t n)
{
	struct mem *m = ctx;

	if (n > m->n - m->off)
		n = m->n - m->off;
	if (n == 0)
		return 0;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

int
gzcheck_mem(const void *p, uint64_t n, int tar, struct gzcheck *g)
{
	struct mem m = { .p = p, .n = n };

	return gzcheck_read(memread, &m, tar, g);
}
