/* Network destinations: addresses, CIDR ranges, ports and host names, as the
 * connect hooks see them. Called inside hooks, so nothing here allocates,
 * locks, keeps state or prints; glibc's inet_pton is the only help taken (it
 * does neither). Formatting is done by hand, as glibc's inet_ntop goes
 * through sprintf.
 *
 * One rule runs through it all: an address has one spelling. An IPv6
 * address that is IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible
 * (::a.b.c.d, but not :: and ::1, which are IPv6's own) is the IPv4 address,
 * in sockaddrs and in rules alike, and the families never meet otherwise:
 * "::/0" does not cover IPv4 destinations, "0.0.0.0/0" does not cover IPv6
 * ones. Translated forms that reach IPv4 only through a gateway (NAT64
 * 64:ff9b::/96, 6to4, Teredo) stay IPv6: no address in them is an IPv4
 * address on this host, so a policy that cares names those ranges itself. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "agentguard.h"

/* The kernel's shortest sockaddr_in6 (RFC 2133, before sin6_scope_id): it
 * connects with it, so refusing it here would let it pass unjudged. */
#define SIN6_LEN_MIN 24

static const uint8_t mapped_pre[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t zero_pre[12];

/* a is an IPv4 address in IPv6 dress, the last four bytes. */
static bool v4_inside(const uint8_t a[16])
{
	if (memcmp(a, mapped_pre, 12) == 0)
		return true;
	if (memcmp(a, zero_pre, 12) != 0)
		return false;
	/* ::a.b.c.d, but :: and ::1 are the unspecified and loopback addresses */
	return !(a[12] == 0 && a[13] == 0 && a[14] == 0 && a[15] <= 1);
}

static void set_v4(ag_netaddr_t *out, const uint8_t *a4, int port)
{
	memset(out, 0, sizeof(*out));
	out->family = 4;
	memcpy(out->addr, a4, 4);
	out->port = port;
}

static void set_v6(ag_netaddr_t *out, const uint8_t *a16, int port)
{
	if (v4_inside(a16)) {
		set_v4(out, a16 + 12, port);
		return;
	}
	memset(out, 0, sizeof(*out));
	out->family = 6;
	memcpy(out->addr, a16, 16);
	out->port = port;
}

/* Bits from prefix on are all zero. */
static bool host_bits_clear(const uint8_t *a, unsigned prefix, unsigned width)
{
	for (unsigned bit = prefix; bit < width; bit++)
		if (a[bit / 8] & (0x80u >> (bit % 8)))
			return false;
	return true;
}

static bool prefix_equal(const uint8_t *x, const uint8_t *y, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(x, y, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xffu << (8 - rest));
	return ((x[full] ^ y[full]) & mask) == 0;
}

/* Decimal, no sign, no leading zero, at most max. */
static int parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (n == 0 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned)(s[i] - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* An IPv6 range over the IPv4-shaped space: mapped ranges of /96 and longer
 * are IPv4 ranges. So are compatible ones, except where the range holds ::
 * or ::1 as well as compatible addresses (::/96 to ::/126): no one range
 * says both, and dropping either half would let a spelling past the rule. */
static int collapse_cidr(ag_cidr_t *c)
{
	if (c->family != 6 || c->prefix < 96)
		return 0;
	if (!v4_inside(c->addr))
		return memcmp(c->addr, zero_pre, 12) == 0 && c->prefix < 127 ? -1 : 0;
	uint8_t a4[4];
	memcpy(a4, c->addr + 12, 4);
	memset(c->addr, 0, sizeof(c->addr));
	memcpy(c->addr, a4, 4);
	c->family = 4;
	c->prefix = (uint8_t)(c->prefix - 96);
	return 0;
}

int ag_cidr_parse(const char *text, ag_cidr_t *out)
{
	char buf[64];
	ag_cidr_t c = {0};
	unsigned prefix;

	if (!text || !out)
		return -1;
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof(buf))
		return -1;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	/* inet_pton refuses zones, spaces and short IPv4 forms already; saying
	 * so here keeps that from resting on one libc's leniency. */
	for (size_t i = 0; i < alen; i++)
		if (!strchr("0123456789abcdefABCDEF.:", buf[i]))
			return -1;
	if (!strchr(buf, ':')) {
		if (inet_pton(AF_INET, buf, c.addr) != 1)
			return -1;
		c.family = 4;
	} else {
		if (inet_pton(AF_INET6, buf, c.addr) != 1)
			return -1;
		c.family = 6;
	}
	unsigned width = c.family == 4 ? 32 : 128;
	if (!slash)
		prefix = width;
	else if (parse_uint(slash + 1, strlen(slash + 1), width, &prefix) != 0)
		return -1;
	c.prefix = (uint8_t)prefix;
	if (!host_bits_clear(c.addr, prefix, width) || collapse_cidr(&c) != 0)
		return -1;
	*out = c;
	return 0;
}

bool ag_cidr_match(const ag_cidr_t *c, const ag_netaddr_t *a)
{
	ag_netaddr_t n;
	ag_cidr_t r;

	if (!c || !a)
		return false;
	/* Callers may build either side by hand: bring both to the one form. */
	if (a->family == 4)
		set_v4(&n, a->addr, a->port);
	else if (a->family == 6)
		set_v6(&n, a->addr, a->port);
	else
		return false;
	r = *c;
	if ((r.family != 4 && r.family != 6) || collapse_cidr(&r) != 0)
		return false;
	if (r.family != n.family || r.prefix > (r.family == 4 ? 32 : 128))
		return false;
	return prefix_equal(r.addr, n.addr, r.prefix);
}

int ag_port_range_parse(const char *text, uint16_t *lo, uint16_t *hi)
{
	unsigned a, b;

	if (!text || !lo || !hi)
		return -1;
	const char *dash = strchr(text, '-');
	size_t n = strlen(text);
	if (!dash) {
		if (parse_uint(text, n, 65535, &a) != 0)
			return -1;
		b = a;
	} else if (parse_uint(text, (size_t)(dash - text), 65535, &a) != 0 ||
		   parse_uint(dash + 1, n - (size_t)(dash + 1 - text), 65535, &b) != 0) {
		return -1;
	}
	if (a == 0 || a > b)
		return -1;
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

/* ---- host names --------------------------------------------------------------- */

static bool ieq(const char *x, const char *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char p = (unsigned char)x[i], q = (unsigned char)y[i];
		if (p >= 'A' && p <= 'Z')
			p = (unsigned char)(p - 'A' + 'a');
		if (q >= 'A' && q <= 'Z')
			q = (unsigned char)(q - 'A' + 'a');
		if (p != q)
			return false;
	}
	return true;
}

/* The length without one trailing dot, or 0 when the name has an empty
 * label ("", ".", ".a", "a..b", "a.."): such a name matches nothing. */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || s[0] == '.')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (s[i] == '.' && s[i - 1] == '.')
			return 0;
	return s[n - 1] == '.' ? 0 : n;
}

/* A '*' anywhere but as the whole first label, and "*" alone (it would be
 * every name, which a rule says by naming no hosts), make a pattern that
 * matches nothing. */
bool ag_host_match(const char *pattern, const char *host)
{
	if (!pattern || !host)
		return false;
	size_t hn = name_len(host);
	bool wild = pattern[0] == '*' && pattern[1] == '.';
	const char *suf = wild ? pattern + 2 : pattern;
	size_t sn = name_len(suf);

	if (hn == 0 || sn == 0 || memchr(suf, '*', sn))
		return false;
	if (!wild)
		return hn == sn && ieq(host, suf, sn);
	/* at least one whole label in front of the suffix */
	return hn >= sn + 2 && host[hn - sn - 1] == '.' && ieq(host + hn - sn, suf, sn);
}

/* ---- sockaddrs ---------------------------------------------------------------- */

static int unix_path(const uint8_t *sp, size_t n, char *path, size_t pathsz)
{
	static const char hex[] = "0123456789abcdef";
	size_t need = 0, o = 0;

	if (n == 0) { /* unnamed */
		need = 1;
	} else if (sp[0] != 0) {
		const uint8_t *nul = memchr(sp, 0, n);
		n = nul ? (size_t)(nul - sp) : n;
		need = n + 1 + (sp[0] == '@' ? 2 : 0);
	} else {
		need = 2;
		for (size_t i = 1; i < n; i++)
			need += sp[i] >= 0x20 && sp[i] < 0x7f && sp[i] != '\\' ? 1 : 4;
	}
	if (!path || pathsz < need)
		return -1;
	if (n == 0) {
		path[0] = '\0';
		return 0;
	}
	if (sp[0] != 0) {
		/* A relative path that starts with '@' must not read as abstract. */
		if (sp[0] == '@') {
			memcpy(path, "./", 2);
			o = 2;
		}
		memcpy(path + o, sp, n);
		path[o + n] = '\0';
		return 0;
	}
	/* Abstract names are bytes, NULs included: escaping '\' as well keeps
	 * every name its own spelling. */
	path[o++] = '@';
	for (size_t i = 1; i < n; i++) {
		if (sp[i] >= 0x20 && sp[i] < 0x7f && sp[i] != '\\') {
			path[o++] = (char)sp[i];
			continue;
		}
		path[o++] = '\\';
		path[o++] = 'x';
		path[o++] = hex[sp[i] >> 4];
		path[o++] = hex[sp[i] & 15];
	}
	path[o] = '\0';
	return 0;
}

/* Lengths follow the kernel's: what it would refuse with EINVAL is -1 here,
 * and what it would take is parsed, so a caller may let -1 through. */
int ag_sockaddr_parse(const void *sa, size_t len, ag_netaddr_t *out, char *path, size_t pathsz)
{
	sa_family_t fam;
	ag_netaddr_t a;

	if (!sa || len < sizeof(fam))
		return -1;
	memcpy(&fam, sa, sizeof(fam));
	if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in s;
		memcpy(&s, sa, sizeof(s));
		set_v4(&a, (const uint8_t *)&s.sin_addr, ntohs(s.sin_port));
	} else if (fam == AF_INET6 && len >= SIN6_LEN_MIN) {
		struct sockaddr_in6 s;
		memcpy(&s, sa, SIN6_LEN_MIN);
		set_v6(&a, s.sin6_addr.s6_addr, ntohs(s.sin6_port));
	} else if (fam == AF_UNIX && len <= sizeof(struct sockaddr_un)) {
		size_t off = offsetof(struct sockaddr_un, sun_path);
		if (unix_path((const uint8_t *)sa + off, len - off, path, pathsz) != 0)
			return -1;
		memset(&a, 0, sizeof(a));
		a.port = -1;
		if (out)
			*out = a;
		return AF_UNIX;
	} else {
		return -1;
	}
	if (out)
		*out = a;
	if (path && pathsz > 0)
		path[0] = '\0';
	return fam;
}

/* ---- formatting --------------------------------------------------------------- */

static size_t put_dec(char *o, unsigned v)
{
	size_t n = 0;

	if (v >= 100)
		o[n++] = (char)('0' + v / 100);
	if (v >= 10)
		o[n++] = (char)('0' + v / 10 % 10);
	o[n++] = (char)('0' + v % 10);
	return n;
}

static size_t fmt_v4(char *o, const uint8_t *a)
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		if (i)
			o[n++] = '.';
		n += put_dec(o + n, a[i]);
	}
	return n;
}

/* RFC 5952: lower case, no leading zeros, the longest run of two or more
 * zero groups (the first of equals) as "::". */
static size_t fmt_v6(char *o, const uint8_t *a)
{
	static const char hex[] = "0123456789abcdef";
	unsigned g[8];
	int best = -1, bestlen = 1, run = 0;
	size_t n = 0;

	for (int i = 0; i < 8; i++) {
		g[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
		run = g[i] ? 0 : run + 1;
		if (run > bestlen) {
			bestlen = run;
			best = i - run + 1;
		}
	}
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			o[n++] = ':';
			o[n++] = ':';
			i += bestlen - 1;
			continue;
		}
		if (i && i != best + bestlen)
			o[n++] = ':';
		bool lead = true;
		for (int s = 12; s >= 0; s -= 4) {
			unsigned d = g[i] >> s & 15;
			if (lead && d == 0 && s)
				continue;
			lead = false;
			o[n++] = hex[d];
		}
	}
	return n;
}

size_t ag_netaddr_format(const ag_netaddr_t *a, char *buf, size_t sz)
{
	char tmp[48];
	ag_netaddr_t c;
	size_t n;

	if (!buf || sz == 0)
		return 0;
	buf[0] = '\0';
	if (!a)
		return 0;
	if (a->family == 4)
		set_v4(&c, a->addr, a->port);
	else if (a->family == 6)
		set_v6(&c, a->addr, a->port);
	else
		return 0;
	n = c.family == 4 ? fmt_v4(tmp, c.addr) : fmt_v6(tmp, c.addr);
	if (n + 1 > sz)
		return 0;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}
