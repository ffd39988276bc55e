/* Network destinations. Every expected address is written as text and read
 * with glibc's inet_pton, never with the code under test, so the tables say
 * what an address is independently of how net.c reads it. After the tables: the
 * same properties over random addresses against plain reference code, and
 * random bytes as sockaddrs and strings, each in a heap block of exactly its
 * size so ASan sees any read past the end. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "agentguard.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define SUN_OFF	 offsetof(struct sockaddr_un, sun_path)

/* ---- helpers ------------------------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s ? s : 1;
}

static uint32_t rng(void)
{
	/* xorshift64*: fixed seed, same bytes on every run */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

/* The raw bytes of an address literal: family 4 or 6, no collapse. */
static int raw(const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (strchr(text, ':'))
		return inet_pton(AF_INET6, text, out) == 1 ? 6 : 0;
	return inet_pton(AF_INET, text, out) == 1 ? 4 : 0;
}

static void must_raw(const char *text, int fam, uint8_t out[16])
{
	int got = raw(text, out);

	cr_assert(got == fam, "test table: '%s' is not an IPv%d literal", text, fam);
}

/* A sockaddr for an address literal, the way a program builds it. */
static socklen_t mk_sa(const char *text, int port, struct sockaddr_storage *ss)
{
	uint8_t a[16];
	int fam = raw(text, a);

	memset(ss, 0, sizeof(*ss));
	if (fam == 4) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons((uint16_t)port);
		memcpy(&s->sin_addr, a, 4);
		return sizeof(*s);
	}
	cr_assert(fam == 6, "test table: '%s' is no address", text);
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons((uint16_t)port);
	memcpy(&s->sin6_addr, a, 16);
	return sizeof(*s);
}

/* The netaddr a program's address literal ends up as. */
static ag_netaddr_t addr_of(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len = mk_sa(text, 0, &ss);
	ag_netaddr_t a;

	cr_assert(ag_sockaddr_parse(&ss, len, &a, NULL, 0) > 0, "sockaddr for '%s'", text);
	return a;
}

static bool same_netaddr(const ag_netaddr_t *x, const ag_netaddr_t *y)
{
	return x->family == y->family && x->port == y->port &&
	       memcmp(x->addr, y->addr, sizeof(x->addr)) == 0;
}

static const char *hexdump(const uint8_t *b, size_t n)
{
	static __thread char buf[3 * 256 + 1];
	size_t o = 0;

	for (size_t i = 0; i < n && i < 256; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%02x%s", b[i],
				      i + 1 < n ? " " : "");
	buf[o] = '\0';
	return buf;
}

/* ---- ag_cidr_parse --------------------------------------------------------------- */

struct cidr_case {
	const char *text;
	int ret;
	int family; /* when ret == 0 */
	int prefix;
	const char *addr; /* the network, as a literal of that family */
};

/* clang-format off */
#define OK(t, f, p, a) {t, 0, f, p, a}
#define BAD(t)         {t, -1, 0, 0, NULL}
/* clang-format on */

static const struct cidr_case cidr_cases[] = {
    /* IPv4 */
    OK("10.0.0.0/8", 4, 8, "10.0.0.0"),
    OK("169.254.169.254", 4, 32, "169.254.169.254"),
    OK("169.254.169.254/32", 4, 32, "169.254.169.254"),
    OK("0.0.0.0/0", 4, 0, "0.0.0.0"),
    OK("0.0.0.0", 4, 32, "0.0.0.0"),
    OK("255.255.255.255", 4, 32, "255.255.255.255"),
    OK("255.255.255.254/31", 4, 31, "255.255.255.254"),
    OK("128.0.0.0/1", 4, 1, "128.0.0.0"),
    OK("10.128.0.0/9", 4, 9, "10.128.0.0"),
    OK("192.168.0.0/16", 4, 16, "192.168.0.0"),
    OK("127.0.0.0/8", 4, 8, "127.0.0.0"),
    BAD("10.0.0.1/8"),			/* host bits under the prefix */
    OK("10.0.0.0/7", 4, 7, "10.0.0.0"), /* 10 is 0000 1010 */
    BAD("10.0.0.0/6"),
    BAD("128.0.0.0/0"),
    BAD("0.0.0.1/31"),
    BAD("10.0.0.0/33"),
    BAD("10.0.0.0/255"),
    BAD("10.0.0.0/256"),
    BAD("10.0.0.0/4294967304"), /* 2^32 + 8 */
    BAD("10.0.0.0/"),
    BAD("/8"),
    BAD("/"),
    BAD(""),
    BAD("10.0.0.0/08"),
    BAD("10.0.0.0/008"),
    BAD("10.0.0.0/00"),
    BAD("0.0.0.0/00"),
    BAD("10.0.0.0/+8"),
    BAD("10.0.0.0/-8"),
    BAD("10.0.0.0/ 8"),
    BAD("10.0.0.0/8 "),
    BAD("10.0.0.0 /8"),
    BAD(" 10.0.0.0/8"),
    BAD("10.0.0.0/8\n"),
    BAD("\t10.0.0.0"),
    BAD("10.0.0.0/8/8"),
    BAD("10.0.0.0//8"),
    BAD("10.0.0.0/0x8"),
    BAD("10.0.0.0/8a"),
    BAD("010.0.0.0/8"),
    BAD("10.00.0.0/16"),
    BAD("1.2.3.04"),
    BAD("10.0.0/24"),
    BAD("10.0/16"),
    BAD("10"),
    BAD("167772160"),
    BAD("0x0a.0.0.0"),
    BAD("0xa000000"),
    BAD("10.0.0.0.0"),
    BAD("256.0.0.0"),
    BAD("1.2.3.256"),
    BAD("1.2.3.4."),
    BAD(".1.2.3.4"),
    BAD("1..2.3"),
    BAD("1.2.3.-4"),
    BAD("1.2.3.4a"),
    BAD("localhost"),
    BAD("[10.0.0.1]"),
    BAD("10.0.0.1:80"),
    /* IPv6, every spelling */
    OK("fd00:ec2::254", 6, 128, "fd00:ec2::254"),
    OK("FD00:EC2::254", 6, 128, "fd00:ec2::254"),
    OK("Fd00:eC2::254", 6, 128, "fd00:ec2::254"),
    OK("fd00:0ec2:0000:0000:0000:0000:0000:0254", 6, 128, "fd00:ec2::254"),
    OK("fd00:ec2:0:0:0:0:0:254", 6, 128, "fd00:ec2::254"),
    OK("fd00:ec2::0:254", 6, 128, "fd00:ec2::254"),
    OK("fd00:ec2::0.0.2.84", 6, 128, "fd00:ec2::254"),
    OK("fd00:ec2::254/128", 6, 128, "fd00:ec2::254"),
    OK("::1", 6, 128, "::1"),
    OK("0:0:0:0:0:0:0:1", 6, 128, "::1"),
    OK("::1/128", 6, 128, "::1"),
    OK("::", 6, 128, "::"),
    OK("::/128", 6, 128, "::"),
    OK("::/0", 6, 0, "::"),
    OK("::/1", 6, 1, "::"),
    OK("8000::/1", 6, 1, "8000::"),
    OK("2001:db8::/32", 6, 32, "2001:db8::"),
    OK("2001:DB8::/32", 6, 32, "2001:db8::"),
    OK("fe80::/10", 6, 10, "fe80::"),
    OK("fc00::/7", 6, 7, "fc00::"),
    OK("1:2:3:4:5:6:7:8", 6, 128, "1:2:3:4:5:6:7:8"),
    OK("1:2:3:4:5:6:7::", 6, 128, "1:2:3:4:5:6:7:0"),
    OK("::2:3:4:5:6:7:8", 6, 128, "0:2:3:4:5:6:7:8"),
    OK("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6, 128,
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    OK("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", 6, 127,
       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"),
    BAD("2001:db8::1/32"),
    BAD("2001:db8::/129"),
    BAD("2001:db8::/0128"),
    BAD("2001:db8::/+32"),
    BAD("::1/127"),
    BAD("fe80::1%eth0"),
    BAD("fe80::1%1"),
    BAD("fe80::%eth0/64"),
    BAD("[::1]"),
    BAD("[::1]:80"),
    BAD("::1 "),
    BAD(" ::1"),
    BAD(":: 1"),
    BAD("1:2:3:4:5:6:7:8:9"),
    BAD("1:2:3:4:5:6:7"),
    BAD("1::2::3"),
    BAD("12345::"),
    BAD(":::"),
    BAD(":"),
    BAD("1:"),
    BAD(":1"),
    BAD("::g"),
    BAD("::-1"),
    BAD("::ffff:1.2.3"),
    BAD("::ffff:01.2.3.4"),
    BAD("::ffff:1.2.3.4.5"),
    BAD("::ffff:256.2.3.4"),
    BAD("::1.2.3.4:5"),
    BAD("0000:0000:0000:0000:0000:0000:0000:0000:0000"),
    /* IPv4-mapped: the IPv4 address or range */
    OK("::ffff:1.2.3.4", 4, 32, "1.2.3.4"),
    OK("::FFFF:1.2.3.4", 4, 32, "1.2.3.4"),
    OK("::ffff:102:304", 4, 32, "1.2.3.4"),
    OK("0:0:0:0:0:ffff:1.2.3.4", 4, 32, "1.2.3.4"),
    OK("0000:0000:0000:0000:0000:FFFF:0102:0304", 4, 32, "1.2.3.4"),
    OK("::ffff:169.254.169.254", 4, 32, "169.254.169.254"),
    OK("::ffff:a9fe:a9fe", 4, 32, "169.254.169.254"),
    OK("::ffff:1.2.3.4/128", 4, 32, "1.2.3.4"),
    OK("::ffff:1.2.3.0/120", 4, 24, "1.2.3.0"),
    OK("::ffff:10.0.0.0/104", 4, 8, "10.0.0.0"),
    OK("::ffff:a00:0/104", 4, 8, "10.0.0.0"),
    OK("::ffff:128.0.0.0/97", 4, 1, "128.0.0.0"),
    OK("::ffff:0.0.0.0/96", 4, 0, "0.0.0.0"),
    OK("::ffff:0:0/96", 4, 0, "0.0.0.0"),
    BAD("::ffff:1.2.3.4/120"),
    OK("::ffff:10.0.0.0/103", 4, 7, "10.0.0.0"),
    BAD("::ffff:10.0.0.0/102"),
    BAD("::ffff:0:0/95"), /* the ffff is under the prefix: host bits */
    BAD("::ffff:0:0/80"),
    /* shorter than /96 over the IPv4-shaped space: stays IPv6 */
    OK("::/80", 6, 80, "::"),
    OK("::/95", 6, 95, "::"),
    OK("::/64", 6, 64, "::"),
    /* IPv4-compatible: the IPv4 address, but :: and ::1 are IPv6's own */
    OK("::1.2.3.4", 4, 32, "1.2.3.4"),
    OK("::102:304", 4, 32, "1.2.3.4"),
    OK("0:0:0:0:0:0:1.2.3.4", 4, 32, "1.2.3.4"),
    OK("::10.0.0.0/104", 4, 8, "10.0.0.0"),
    OK("::128.0.0.0/97", 4, 1, "128.0.0.0"),
    OK("::0.0.0.2", 4, 32, "0.0.0.2"),
    OK("::2", 4, 32, "0.0.0.2"),
    OK("::2/127", 4, 31, "0.0.0.2"),
    OK("::4/126", 4, 30, "0.0.0.4"),
    OK("::0.1.0.0/112", 4, 16, "0.1.0.0"),
    OK("::0.0.0.1", 6, 128, "::1"),
    OK("::0.0.0.0", 6, 128, "::"),
    OK("::/127", 6, 127, "::"),
    /* ::/96 .. ::/126 hold ::, ::1 and IPv4-compatible addresses at once */
    BAD("::/96"),
    BAD("::0.0.0.0/96"),
    BAD("::/104"),
    BAD("::/120"),
    BAD("::/126"),
    /* look-alikes that are not IPv4 addresses: NAT64, translated, neighbours */
    OK("64:ff9b::1.2.3.4", 6, 128, "64:ff9b::102:304"),
    OK("64:ff9b::/96", 6, 96, "64:ff9b::"),
    OK("64:ff9b:1::/48", 6, 48, "64:ff9b:1::"),
    OK("::ffff:0:1.2.3.4", 6, 128, "0:0:0:0:ffff:0:102:304"),
    OK("::fffe:1.2.3.4", 6, 128, "::fffe:102:304"),
    OK("::1:ffff:1.2.3.4", 6, 128, "0:0:0:0:1:ffff:102:304"),
    OK("ffff::1.2.3.4", 6, 128, "ffff::102:304"),
    OK("::ffff:0:0:0/96", 6, 96, "0:0:0:0:ffff::"),
    OK("2002:102:304::/48", 6, 48, "2002:102:304::"),
};

static void check_cidr(const struct cidr_case *c)
{
	ag_cidr_t out, canary;
	uint8_t want[16];

	memset(&canary, 0xa5, sizeof(canary));
	out = canary;
	int got = ag_cidr_parse(c->text, &out);
	cr_expect(got == c->ret, "cidr '%s': want %d, got %d", c->text, c->ret, got);
	if (got != 0 || c->ret != 0) {
		cr_expect(memcmp(&out, &canary, sizeof(out)) == 0,
			  "cidr '%s': out written on failure", c->text);
		return;
	}
	must_raw(c->addr, c->family, want);
	cr_expect(out.family == c->family, "cidr '%s': family %d, want %d", c->text, out.family,
		  c->family);
	cr_expect(out.prefix == c->prefix, "cidr '%s': prefix %d, want %d", c->text, out.prefix,
		  c->prefix);
	cr_expect(memcmp(out.addr, want, 16) == 0, "cidr '%s': addr %s, want %s", c->text,
		  hexdump(out.addr, 16), c->addr);
}

Test(cidr, parse_table)
{
	for (size_t i = 0; i < NELEM(cidr_cases); i++)
		check_cidr(&cidr_cases[i]);
	cr_expect(ag_cidr_parse(NULL, &(ag_cidr_t){0}) == -1);
	cr_expect(ag_cidr_parse("10.0.0.0/8", NULL) == -1);
}

/* Every accepted case, re-spelled: upper case, the mapped form of IPv4, and
 * the text inside a larger buffer must all say the same. */
Test(cidr, respellings_agree)
{
	for (size_t i = 0; i < NELEM(cidr_cases); i++) {
		const struct cidr_case *c = &cidr_cases[i];
		char buf[128];
		ag_cidr_t x, y;

		if (c->ret != 0)
			continue;
		cr_assert(ag_cidr_parse(c->text, &x) == 0);
		snprintf(buf, sizeof(buf), "%s", c->text);
		for (char *p = buf; *p; p++)
			if (*p >= 'a' && *p <= 'f')
				*p = (char)(*p - 'a' + 'A');
		cr_expect(ag_cidr_parse(buf, &y) == 0 && memcmp(&x, &y, sizeof(x)) == 0,
			  "cidr '%s' vs '%s'", c->text, buf);
		if (c->family == 4 && !strchr(c->text, ':')) {
			const char *slash = strchr(c->text, '/');
			int p = slash ? atoi(slash + 1) : 32;
			snprintf(buf, sizeof(buf), "::ffff:%.*s/%d",
				 (int)(slash ? slash - c->text : (long)strlen(c->text)), c->text,
				 p + 96);
			cr_expect(ag_cidr_parse(buf, &y) == 0 && memcmp(&x, &y, sizeof(x)) == 0,
				  "cidr '%s' vs '%s'", c->text, buf);
		}
	}
}

Test(cidr, every_prefix)
{
	char buf[80];
	ag_cidr_t c;

	/* the all-ones address is valid under /p only at p = width */
	for (int p = 0; p <= 130; p++) {
		snprintf(buf, sizeof(buf), "0.0.0.0/%d", p);
		cr_expect(ag_cidr_parse(buf, &c) == (p <= 32 ? 0 : -1), "%s", buf);
		if (p <= 32)
			cr_expect(c.family == 4 && c.prefix == p, "%s", buf);
		snprintf(buf, sizeof(buf), "255.255.255.255/%d", p);
		cr_expect(ag_cidr_parse(buf, &c) == (p == 32 ? 0 : -1), "%s", buf);
		snprintf(buf, sizeof(buf), "2001:db8::/%d", p);
		cr_expect(ag_cidr_parse(buf, &c) == (p >= 29 && p <= 128 ? 0 : -1), "%s", buf);
		snprintf(buf, sizeof(buf), "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/%d", p);
		cr_expect(ag_cidr_parse(buf, &c) == (p == 128 ? 0 : -1), "%s", buf);
		snprintf(buf, sizeof(buf), "::ffff:0.0.0.0/%d", p);
		cr_expect(ag_cidr_parse(buf, &c) == (p >= 96 && p <= 128 ? 0 : -1), "%s", buf);
		if (p >= 96 && p <= 128)
			cr_expect(c.family == 4 && c.prefix == p - 96, "%s", buf);
		snprintf(buf, sizeof(buf), "::/%d", p);
		int want = p <= 95 || p == 127 || p == 128 ? 0 : -1;
		cr_expect(ag_cidr_parse(buf, &c) == want, "%s", buf);
		if (want == 0)
			cr_expect(c.family == 6 && c.prefix == p, "%s", buf);
	}
}

Test(cidr, long_text)
{
	char *s = malloc(1 << 16);

	cr_assert(s);
	memset(s, '1', (1 << 16) - 1);
	s[(1 << 16) - 1] = '\0';
	cr_expect(ag_cidr_parse(s, &(ag_cidr_t){0}) == -1);
	memcpy(s, "10.0.0.0/", 9);
	cr_expect(ag_cidr_parse(s, &(ag_cidr_t){0}) == -1);
	/* a longest real spelling still fits */
	cr_expect(ag_cidr_parse("0000:0000:0000:0000:0000:ffff:255.255.255.255/128",
				&(ag_cidr_t){0}) == 0);
	free(s);
}

/* ---- ag_cidr_match ---------------------------------------------------------------- */

struct match_case {
	const char *cidr;
	const char *addr; /* as a program would put it in a sockaddr */
	bool want;
};

static const struct match_case match_cases[] = {
    {"10.0.0.0/8", "10.1.2.3", true},
    {"10.0.0.0/8", "10.255.255.255", true},
    {"10.0.0.0/8", "10.0.0.0", true},
    {"10.0.0.0/8", "11.0.0.0", false},
    {"10.0.0.0/8", "9.255.255.255", false},
    {"10.0.0.0/8", "::ffff:10.1.2.3", true},
    {"10.0.0.0/8", "::FFFF:a01:203", true},
    {"10.0.0.0/8", "0:0:0:0:0:ffff:0a01:0203", true},
    {"10.0.0.0/8", "::10.1.2.3", true},
    {"10.0.0.0/8", "::ffff:11.0.0.0", false},
    {"10.0.0.0/8", "64:ff9b::10.1.2.3", false},
    {"10.0.0.0/8", "::ffff:0:10.1.2.3", false},
    {"10.0.0.0/8", "a01:203::", false},
    {"10.128.0.0/9", "10.127.255.255", false},
    {"10.128.0.0/9", "10.128.0.0", true},
    {"128.0.0.0/1", "127.255.255.255", false},
    {"128.0.0.0/1", "128.0.0.0", true},
    {"128.0.0.0/1", "255.255.255.255", true},
    {"1.2.3.4/31", "1.2.3.5", true},
    {"1.2.3.4/31", "1.2.3.6", false},
    {"1.2.3.4", "1.2.3.4", true},
    {"1.2.3.4", "1.2.3.5", false},
    {"0.0.0.0/0", "1.2.3.4", true},
    {"0.0.0.0/0", "0.0.0.0", true},
    {"0.0.0.0/0", "255.255.255.255", true},
    {"0.0.0.0/0", "::ffff:1.2.3.4", true},
    {"0.0.0.0/0", "::1.2.3.4", true},
    {"0.0.0.0/0", "::1", false},
    {"0.0.0.0/0", "::", false},
    {"0.0.0.0/0", "2001:db8::1", false},
    {"0.0.0.0/0", "64:ff9b::1.2.3.4", false},
    {"0.0.0.0", "::ffff:0.0.0.0", true},
    {"0.0.0.0", "::", false},
    {"0.0.0.1", "::1", false},
    {"127.0.0.1", "::1", false},
    {"127.0.0.0/8", "::ffff:127.0.0.1", true},
    {"127.0.0.0/8", "::127.0.0.1", true},
    {"::/0", "2001:db8::1", true},
    {"::/0", "::1", true},
    {"::/0", "::", true},
    {"::/0", "64:ff9b::1.2.3.4", true},
    {"::/0", "1.2.3.4", false},
    {"::/0", "::ffff:1.2.3.4", false},
    {"::/0", "::1.2.3.4", false},
    {"::/80", "::ffff:1.2.3.4", false},
    {"::/80", "::1", true},
    {"::/127", "::", true},
    {"::/127", "::1", true},
    {"::/127", "::2", false},
    {"::/127", "0.0.0.0", false},
    {"::/127", "0.0.0.1", false},
    {"::1", "::1", true},
    {"::1", "::0.0.0.1", true},
    {"::1", "0:0:0:0:0:0:0:1", true},
    {"::1", "0.0.0.1", false},
    {"::1", "127.0.0.1", false},
    {"::1", "::ffff:0.0.0.1", false},
    {"::", "::", true},
    {"::", "0.0.0.0", false},
    {"::ffff:10.0.0.0/104", "10.2.3.4", true},
    {"::ffff:10.0.0.0/104", "::ffff:10.2.3.4", true},
    {"::ffff:10.0.0.0/104", "::10.2.3.4", true},
    {"::ffff:10.0.0.0/104", "11.2.3.4", false},
    {"::ffff:0.0.0.0/96", "8.8.8.8", true},
    {"::ffff:0.0.0.0/96", "::1", false},
    {"::1.2.3.4", "1.2.3.4", true},
    {"::1.2.3.4", "::ffff:1.2.3.4", true},
    {"::2/127", "0.0.0.3", true},
    {"::2/127", "::3", true},
    {"::2/127", "::1", false},
    {"169.254.169.254", "::ffff:169.254.169.254", true},
    {"169.254.169.254", "::ffff:a9fe:a9fe", true},
    {"169.254.169.254", "::a9fe:a9fe", true},
    {"169.254.169.254", "169.254.169.255", false},
    {"169.254.169.254", "fd00:ec2::254", false},
    {"169.254.169.254", "64:ff9b::a9fe:a9fe", false},
    {"fd00:ec2::254", "FD00:EC2:0:0:0:0:0:254", true},
    {"fd00:ec2::254", "fd00:ec2::255", false},
    {"fd00:ec2::254", "169.254.169.254", false},
    {"2001:db8::/32", "2001:db8:ffff::1", true},
    {"2001:db8::/32", "2001:db9::", false},
    {"2001:db8::/32", "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false},
    {"8000::/1", "8000::", true},
    {"fe80::/10", "fe80::1", true},
    {"fe80::/10", "febf::1", true},
    {"fe80::/10", "fec0::1", false},
    {"64:ff9b::/96", "64:ff9b::1.2.3.4", true},
    {"64:ff9b::/96", "1.2.3.4", false},
    {"64:ff9b::/96", "::ffff:1.2.3.4", false},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
     true},
};

Test(cidr, match_table)
{
	for (size_t i = 0; i < NELEM(match_cases); i++) {
		const struct match_case *m = &match_cases[i];
		ag_cidr_t c;
		ag_netaddr_t a;

		cr_assert(ag_cidr_parse(m->cidr, &c) == 0, "table cidr '%s'", m->cidr);
		a = addr_of(m->addr);
		cr_expect(ag_cidr_match(&c, &a) == m->want, "'%s' vs '%s': want %d", m->cidr,
			  m->addr, m->want);
		/* the port never matters */
		a.port = 65535;
		cr_expect(ag_cidr_match(&c, &a) == m->want, "'%s' vs '%s' port", m->cidr, m->addr);
	}
}

/* Built by hand, without the collapse: the match brings both sides to the
 * one form itself. */
Test(cidr, match_uncollapsed_input)
{
	ag_netaddr_t a = {.family = 6, .port = -1};
	ag_cidr_t c;

	must_raw("::ffff:10.1.2.3", 6, a.addr);
	cr_assert(ag_cidr_parse("10.0.0.0/8", &c) == 0);
	cr_expect(ag_cidr_match(&c, &a));
	must_raw("::10.1.2.3", 6, a.addr);
	cr_expect(ag_cidr_match(&c, &a));
	must_raw("::1", 6, a.addr);
	cr_expect(!ag_cidr_match(&c, &a));

	ag_cidr_t m = {.family = 6, .prefix = 104};
	must_raw("::ffff:10.0.0.0", 6, m.addr);
	a = addr_of("10.9.9.9");
	cr_expect(ag_cidr_match(&m, &a));
	/* the v4 form ignores whatever sits past its first four bytes */
	a.addr[7] = 0x55;
	cr_expect(ag_cidr_match(&c, &a));

	/* nonsense families and prefixes match nothing */
	ag_cidr_t bad = {.family = 4, .prefix = 33};
	a = addr_of("10.0.0.1");
	cr_expect(!ag_cidr_match(&bad, &a));
	bad = (ag_cidr_t){.family = 6, .prefix = 129};
	a = addr_of("::2:1");
	cr_expect(!ag_cidr_match(&bad, &a));
	bad = (ag_cidr_t){.family = 5, .prefix = 0};
	cr_expect(!ag_cidr_match(&bad, &a));
	a.family = 0;
	cr_expect(ag_cidr_parse("::/0", &c) == 0);
	cr_expect(!ag_cidr_match(&c, &a));
	cr_expect(!ag_cidr_match(NULL, &a));
	cr_expect(!ag_cidr_match(&c, NULL));
}

static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void rand_bytes(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)rng();
}

/* Random ranges and addresses against a mask computed the plain way; each
 * IPv4 range also spelled mapped and compatible, each address through
 * AF_INET, mapped and compatible sockaddrs. */
Test(cidr, match_random_v4)
{
	rng_seed(0x5eed4);
	for (int i = 0; i < 20000; i++) {
		uint8_t net[4], host[4];
		int p = (int)(rng() % 33);
		uint32_t mask = p ? ~0u << (32 - p) : 0;
		char t[3][80], at[3][64], n4[16], h4[16];
		ag_cidr_t c[3];

		rand_bytes(net, 4);
		rand_bytes(host, 4);
		if (rng() % 2) /* often inside */
			for (int k = 0; k < 4; k++)
				host[k] = (uint8_t)((net[k] & (mask >> (24 - 8 * k))) |
						    (host[k] & ~(mask >> (24 - 8 * k))));
		uint32_t nv = be32(net) & mask;
		inet_ntop(AF_INET, &(uint32_t){htonl(nv)}, n4, sizeof(n4));
		inet_ntop(AF_INET, host, h4, sizeof(h4));
		bool want = (be32(host) & mask) == nv;
		snprintf(t[0], sizeof(t[0]), "%s/%d", n4, p);
		snprintf(t[1], sizeof(t[1]), "::ffff:%s/%d", n4, p + 96);
		snprintf(t[2], sizeof(t[2]), "::%s/%d", n4, p + 96);
		snprintf(at[0], sizeof(at[0]), "%s", h4);
		snprintf(at[1], sizeof(at[1]), "::ffff:%s", h4);
		snprintf(at[2], sizeof(at[2]), "::%s", h4);
		for (int k = 0; k < 3; k++) {
			int r = ag_cidr_parse(t[k], &c[k]);
			/* ::0.0.0.0/96..126 is refused: it holds :: and ::1 too;
			 * ::/127, ::/128 and ::1/128 are IPv6's own */
			bool refused = k == 2 && nv == 0 && p < 31;
			bool own = k == 2 && nv <= 1 && p >= 31;
			cr_expect(r == (refused ? -1 : 0), "%s", t[k]);
			if (own)
				cr_expect(c[k].family == 6 && c[k].prefix == p + 96, "%s", t[k]);
			else if (r == 0 && k > 0)
				cr_expect(memcmp(&c[0], &c[k], sizeof(c[0])) == 0, "%s vs %s", t[0],
					  t[k]);
		}
		for (int k = 0; k < 3; k++) {
			bool inside = !(k == 2 && be32(host) <= 1); /* ::, ::1 */
			ag_netaddr_t a = addr_of(at[k]);
			cr_expect(ag_cidr_match(&c[0], &a) == (want && inside), "%s vs %s", t[0],
				  at[k]);
		}
	}
}

Test(cidr, match_random_v6)
{
	rng_seed(0x5eed6);
	for (int i = 0; i < 20000; i++) {
		uint8_t net[16], host[16], ref[16];
		int p = (int)(rng() % 129);
		char t[80], h[64];
		ag_cidr_t c;

		rand_bytes(net, 16);
		rand_bytes(host, 16);
		net[0] |= 1; /* keep clear of the IPv4-shaped space */
		for (int bit = p; bit < 128; bit++)
			net[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
		if (rng() % 2)
			for (int bit = 0; bit < p; bit++) {
				uint8_t m = (uint8_t)(0x80u >> (bit % 8));
				host[bit / 8] =
				    (uint8_t)((host[bit / 8] & ~m) | (net[bit / 8] & m));
			}
		host[0] |= 1;
		bool want = true;
		for (int bit = 0; bit < p; bit++) {
			uint8_t m = (uint8_t)(0x80u >> (bit % 8));
			if ((host[bit / 8] & m) != (net[bit / 8] & m))
				want = false;
		}
		memcpy(ref, net, 16);
		inet_ntop(AF_INET6, net, t, sizeof(t));
		snprintf(t + strlen(t), sizeof(t) - strlen(t), "/%d", p);
		inet_ntop(AF_INET6, host, h, sizeof(h));
		cr_assert(ag_cidr_parse(t, &c) == 0, "%s", t);
		cr_expect(c.family == 6 && c.prefix == p && memcmp(c.addr, ref, 16) == 0, "%s", t);
		ag_netaddr_t a = addr_of(h);
		cr_expect(ag_cidr_match(&c, &a) == want, "%s vs %s", t, h);
	}
}

/* ---- ag_port_range_parse ------------------------------------------------------- */

static const struct {
	const char *text;
	int ret, lo, hi;
} port_cases[] = {
    {"443", 0, 443, 443},
    {"1", 0, 1, 1},
    {"80", 0, 80, 80},
    {"65535", 0, 65535, 65535},
    {"8000-8100", 0, 8000, 8100},
    {"80-80", 0, 80, 80},
    {"1-65535", 0, 1, 65535},
    {"65535-65535", 0, 65535, 65535},
    {"1-1", 0, 1, 1},
    {"0", -1, 0, 0},
    {"00", -1, 0, 0},
    {"0-80", -1, 0, 0},
    {"0-0", -1, 0, 0},
    {"65536", -1, 0, 0},
    {"99999", -1, 0, 0},
    {"655350", -1, 0, 0},
    {"4294967297", -1, 0, 0},		/* 2^32 + 1 */
    {"18446744073709551617", -1, 0, 0}, /* 2^64 + 1 */
    {"1-65536", -1, 0, 0},
    {"1-4294967297", -1, 0, 0},
    {"80-79", -1, 0, 0},
    {"65535-1", -1, 0, 0},
    {"2-1", -1, 0, 0},
    {"-1", -1, 0, 0},
    {"-80", -1, 0, 0},
    {"80-", -1, 0, 0},
    {"-", -1, 0, 0},
    {"--", -1, 0, 0},
    {"80--90", -1, 0, 0},
    {"80-90-100", -1, 0, 0},
    {"80-+90", -1, 0, 0},
    {"", -1, 0, 0},
    {" 80", -1, 0, 0},
    {"80 ", -1, 0, 0},
    {"80\n", -1, 0, 0},
    {"80 - 90", -1, 0, 0},
    {"80- 90", -1, 0, 0},
    {"080", -1, 0, 0},
    {"80-090", -1, 0, 0},
    {"+80", -1, 0, 0},
    {"0x50", -1, 0, 0},
    {"8O", -1, 0, 0},
    {"80.0", -1, 0, 0},
    {"1e3", -1, 0, 0},
    {"http", -1, 0, 0},
    {"80,443", -1, 0, 0},
    {"80:90", -1, 0, 0},
    {"\xd9\xa8\xd9\xa0", -1, 0, 0}, /* Arabic-Indic "80" */
};

Test(ports, parse_table)
{
	for (size_t i = 0; i < NELEM(port_cases); i++) {
		uint16_t lo = 0xbeef, hi = 0xcafe;
		int got = ag_port_range_parse(port_cases[i].text, &lo, &hi);

		cr_expect(got == port_cases[i].ret, "port '%s': want %d, got %d",
			  port_cases[i].text, port_cases[i].ret, got);
		if (port_cases[i].ret == 0)
			cr_expect(lo == port_cases[i].lo && hi == port_cases[i].hi,
				  "port '%s': %u-%u", port_cases[i].text, lo, hi);
		else
			cr_expect(lo == 0xbeef && hi == 0xcafe, "port '%s': written on failure",
				  port_cases[i].text);
	}
	uint16_t lo, hi;
	cr_expect(ag_port_range_parse(NULL, &lo, &hi) == -1);
	cr_expect(ag_port_range_parse("80", NULL, &hi) == -1);
	cr_expect(ag_port_range_parse("80", &lo, NULL) == -1);
}

Test(ports, every_port)
{
	char buf[32];
	uint16_t lo, hi;

	for (unsigned p = 0; p <= 70000; p++) {
		snprintf(buf, sizeof(buf), "%u", p);
		int want = p >= 1 && p <= 65535 ? 0 : -1;
		cr_expect(ag_port_range_parse(buf, &lo, &hi) == want, "%s", buf);
		if (want == 0)
			cr_expect(lo == p && hi == p, "%s", buf);
		snprintf(buf, sizeof(buf), "%u-%u", 100u, p);
		want = p >= 100 && p <= 65535 ? 0 : -1;
		cr_expect(ag_port_range_parse(buf, &lo, &hi) == want, "%s", buf);
	}
	char *s = malloc(100001);
	cr_assert(s);
	memset(s, '9', 100000);
	s[100000] = '\0';
	cr_expect(ag_port_range_parse(s, &lo, &hi) == -1);
	s[0] = '1';
	s[1] = '-';
	cr_expect(ag_port_range_parse(s, &lo, &hi) == -1);
	free(s);
}

/* ---- ag_host_match ---------------------------------------------------------------- */

static const struct {
	const char *pattern, *host;
	bool want;
} host_cases[] = {
    {"example.com", "example.com", true},
    {"EXAMPLE.com", "example.COM", true},
    {"example.com", "ExAmPlE.CoM", true},
    {"example.com.", "example.com", true},
    {"example.com", "example.com.", true},
    {"example.com.", "example.com.", true},
    {"example.com", "example.com..", false},
    {"example.com..", "example.com", false},
    {"example.com", "www.example.com", false},
    {"example.com", "example.co", false},
    {"example.com", "example.comm", false},
    {"example.com", "xexample.com", false},
    {"example.com", "exampleXcom", false},
    {"example.com", "", false},
    {"example.com", ".", false},
    {"example.com", ".example.com", false},
    {"localhost", "localhost", true},
    {"localhost", "LOCALHOST.", true},
    {"*.example.com", "www.example.com", true},
    {"*.example.com", "a.b.example.com", true},
    {"*.example.com", "WWW.EXAMPLE.COM", true},
    {"*.example.com", "www.example.com.", true},
    {"*.Example.COM.", "WWW.example.com", true},
    {"*.example.com", "x.example.com", true},
    {"*.example.com", "example.com", false},
    {"*.example.com", "example.com.", false},
    {"*.example.com", ".example.com", false},
    {"*.example.com", "..example.com", false},
    {"*.example.com", "a..example.com", false},
    {"*.example.com", "wwwexample.com", false},
    {"*.example.com", "www.example.co", false},
    {"*.example.com", "www.example.comm", false},
    {"*.example.com", "www.example.com.evil", false},
    {"*.example.com", "example.com.evil.com", false},
    {"*.example.com", "www.badexample.com", false},
    {"*.ample.com", "www.example.com", false},
    {"*.example.com", "*.example.com", true}, /* "*" is just a label in a host */
    {"*.com", "a.com", true},
    {"*.com", "com", false},
    {"*.com", "a.b.c.d.com", true},
    {"*", "example.com", false},
    {"*", "*", false},
    {"*", "a", false},
    {"*.", "a.", false},
    {"*.", "a", false},
    {"*..", "a..", false},
    {"*.*.com", "a.b.com", false},
    {"*.*", "a.b", false},
    {"a*.com", "ab.com", false},
    {"a*.com", "a*.com", false},
    {"*example.com", "www.example.com", false},
    {"*example.com", "*example.com", false},
    {"**.example.com", "a.example.com", false},
    {"www.*.com", "www.a.com", false},
    {"example.*", "example.com", false},
    {".example.com", "a.example.com", false},
    {".example.com", ".example.com", false},
    {"example..com", "example..com", false},
    {"", "", false},
    {".", ".", false},
    {"", "example.com", false},
    {"..", "..", false},
    /* ASCII folding only, and only of letters */
    {"a@b.com", "a`b.com", false},
    {"a[b.com", "a{b.com", false},
    {"a^b.com", "a~b.com", false},
    {"a\\b.com", "a|b.com", false},
    {"\xc3\xa4.com", "\xc3\xa4.com", true},
    {"\xc3\x84.com", "\xc3\xa4.com", false},
    {"xn--bcher-kva.example", "XN--BCHER-KVA.example", true},
    {"1.2.3.4", "1.2.3.4", true},
};

Test(hosts, match_table)
{
	for (size_t i = 0; i < NELEM(host_cases); i++)
		cr_expect(ag_host_match(host_cases[i].pattern, host_cases[i].host) ==
			      host_cases[i].want,
			  "'%s' vs '%s': want %d", host_cases[i].pattern, host_cases[i].host,
			  host_cases[i].want);
	cr_expect(!ag_host_match(NULL, "a.com"));
	cr_expect(!ag_host_match("a.com", NULL));
	cr_expect(!ag_host_match(NULL, NULL));
}

/* Names far longer than DNS allows: linear time, right answers. */
Test(hosts, hostile_lengths, .timeout = 30)
{
	size_t n = 4u << 20;
	char *host = malloc(n + 1), *pat = malloc(n + 3);

	cr_assert(host && pat);
	for (size_t i = 0; i < n; i++)
		host[i] = i % 2 ? '.' : 'a';
	host[n - 1] = 'a';
	host[n] = '\0';
	memcpy(pat, "*.", 2);
	memcpy(pat + 2, host + 2, n - 1);
	cr_expect(ag_host_match(pat, host));
	cr_expect(!ag_host_match(pat, host + 2));
	cr_expect(ag_host_match(host, host));
	cr_expect(!ag_host_match(host, host + 2));
	host[n / 2] = '.'; /* "a..a": an empty label */
	cr_expect(!ag_host_match(host, host));
	cr_expect(!ag_host_match(pat, host));
	memset(host, '.', n);
	cr_expect(!ag_host_match(host, host));
	memset(host, '*', n);
	cr_expect(!ag_host_match(host, host));
	memset(pat, '*', n + 2);
	pat[n + 2] = '\0';
	cr_expect(!ag_host_match(pat, "a.b"));
	free(host);
	free(pat);
}

/* ---- ag_sockaddr_parse ------------------------------------------------------------ */

struct inet_case {
	const char *addr;
	int port;
	size_t len; /* 0: the natural size */
	int ret;
	int family;	  /* 4 or 6 when ret > 0 */
	const char *want; /* the collapsed address */
};

static const struct inet_case inet_cases[] = {
    {"1.2.3.4", 443, 0, AF_INET, 4, "1.2.3.4"},
    {"0.0.0.0", 0, 0, AF_INET, 4, "0.0.0.0"},
    {"255.255.255.255", 65535, 0, AF_INET, 4, "255.255.255.255"},
    {"127.0.0.1", 1, sizeof(struct sockaddr_in) + 1, AF_INET, 4, "127.0.0.1"},
    {"127.0.0.1", 80, sizeof(struct sockaddr_storage), AF_INET, 4, "127.0.0.1"},
    {"127.0.0.1", 80, sizeof(struct sockaddr_in) - 1, -1, 0, NULL},
    {"127.0.0.1", 80, 8, -1, 0, NULL},
    {"127.0.0.1", 80, 2, -1, 0, NULL},
    {"127.0.0.1", 80, 1, -1, 0, NULL},
    {"::1", 53, 0, AF_INET6, 6, "::1"},
    {"::", 0, 0, AF_INET6, 6, "::"},
    {"2001:db8::1", 8080, 0, AF_INET6, 6, "2001:db8::1"},
    {"FD00:EC2::254", 80, 0, AF_INET6, 6, "fd00:ec2::254"},
    {"::ffff:169.254.169.254", 80, 0, AF_INET6, 4, "169.254.169.254"},
    {"::ffff:a9fe:a9fe", 80, 0, AF_INET6, 4, "169.254.169.254"},
    {"::169.254.169.254", 80, 0, AF_INET6, 4, "169.254.169.254"},
    {"::0.0.0.2", 80, 0, AF_INET6, 4, "0.0.0.2"},
    {"::0.0.0.1", 80, 0, AF_INET6, 6, "::1"},
    {"::ffff:0.0.0.0", 80, 0, AF_INET6, 4, "0.0.0.0"},
    {"::ffff:0.0.0.1", 80, 0, AF_INET6, 4, "0.0.0.1"},
    {"64:ff9b::169.254.169.254", 80, 0, AF_INET6, 6, "64:ff9b::a9fe:a9fe"},
    {"::ffff:0:1.2.3.4", 80, 0, AF_INET6, 6, "::ffff:0:102:304"},
    /* the kernel takes the RFC 2133 size, without sin6_scope_id */
    {"::ffff:1.2.3.4", 80, 24, AF_INET6, 4, "1.2.3.4"},
    {"2001:db8::1", 80, 24, AF_INET6, 6, "2001:db8::1"},
    {"2001:db8::1", 80, 23, -1, 0, NULL},
    {"2001:db8::1", 80, sizeof(struct sockaddr_in), -1, 0, NULL},
    {"2001:db8::1", 80, 2, -1, 0, NULL},
    {"2001:db8::1", 80, sizeof(struct sockaddr_storage), AF_INET6, 6, "2001:db8::1"},
};

Test(sockaddr, inet_table)
{
	for (size_t i = 0; i < NELEM(inet_cases); i++) {
		const struct inet_case *c = &inet_cases[i];
		struct sockaddr_storage ss;
		socklen_t nat = mk_sa(c->addr, c->port, &ss);
		size_t len = c->len ? c->len : nat;
		/* exactly len bytes on the heap, so ASan sees a read past them */
		uint8_t *buf = malloc(len);
		ag_netaddr_t a, canary;
		char path[16] = "junk";
		uint8_t want[16];

		cr_assert(buf);
		memcpy(buf, &ss, len < sizeof(ss) ? len : sizeof(ss));
		memset(&canary, 0x5a, sizeof(canary));
		a = canary;
		int got = ag_sockaddr_parse(buf, len, &a, path, sizeof(path));
		cr_expect(got == c->ret, "%s len %zu: want %d, got %d", c->addr, len, c->ret, got);
		if (c->ret > 0 && got == c->ret) {
			must_raw(c->want, c->family, want);
			cr_expect(a.family == c->family && memcmp(a.addr, want, 16) == 0 &&
				      a.port == c->port,
				  "%s len %zu: family %d addr %s port %d", c->addr, len, a.family,
				  hexdump(a.addr, 16), a.port);
			cr_expect(path[0] == '\0', "%s: path not emptied", c->addr);
			cr_expect(ag_sockaddr_parse(buf, len, NULL, NULL, 0) == c->ret);
		} else if (c->ret < 0) {
			cr_expect(memcmp(&a, &canary, sizeof(a)) == 0, "%s len %zu: out written",
				  c->addr, len);
		}
		free(buf);
	}
}

/* The scope and flow label say which link, not which address. */
Test(sockaddr, inet6_scope_ignored)
{
	struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(22)};
	ag_netaddr_t a, b;

	must_raw("fe80::1", 6, s.sin6_addr.s6_addr);
	cr_assert(ag_sockaddr_parse(&s, sizeof(s), &a, NULL, 0) == AF_INET6);
	s.sin6_scope_id = 7;
	s.sin6_flowinfo = htonl(0x12345);
	cr_assert(ag_sockaddr_parse(&s, sizeof(s), &b, NULL, 0) == AF_INET6);
	cr_expect(same_netaddr(&a, &b));
	cr_expect(b.port == 22);
}

/* At an odd address, as bytes a program may hand over. */
Test(sockaddr, unaligned)
{
	uint8_t store[sizeof(struct sockaddr_in6) + 1];
	struct sockaddr_storage ss;
	socklen_t len = mk_sa("::ffff:10.0.0.1", 8443, &ss);
	ag_netaddr_t a;

	memcpy(store + 1, &ss, len);
	cr_expect(ag_sockaddr_parse(store + 1, len, &a, NULL, 0) == AF_INET6);
	cr_expect(a.family == 4 && a.port == 8443 && a.addr[0] == 10 && a.addr[3] == 1);
}

Test(sockaddr, other_families)
{
	static const int fams[] = {AF_UNSPEC, AF_NETLINK,   AF_PACKET, AF_BLUETOOTH,
				   AF_VSOCK,  AF_APPLETALK, AF_MAX,    0xffff};
	struct sockaddr_storage ss;

	for (size_t i = 0; i < NELEM(fams); i++) {
		memset(&ss, 0, sizeof(ss));
		ss.ss_family = (sa_family_t)fams[i];
		char path[64];
		ag_netaddr_t a;
		cr_expect(ag_sockaddr_parse(&ss, sizeof(ss), &a, path, sizeof(path)) == -1,
			  "family %d", fams[i]);
	}
	cr_expect(ag_sockaddr_parse(NULL, 16, NULL, NULL, 0) == -1);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	cr_expect(ag_sockaddr_parse(&ss, 0, NULL, NULL, 0) == -1);
	cr_expect(ag_sockaddr_parse(&ss, 1, NULL, NULL, 0) == -1);
}

struct unix_case {
	const char *what;
	const char *bytes; /* sun_path */
	size_t n;	   /* bytes of it in the sockaddr */
	int ret;
	const char *want;
};

/* clang-format off */
#define UNIX(w, b, r, want) {w, b, sizeof(b) - 1, r, want}
/* clang-format on */

static const struct unix_case unix_cases[] = {
    UNIX("path with NUL", "/tmp/s.sock\0", AF_UNIX, "/tmp/s.sock"),
    UNIX("path without NUL", "/tmp/s.sock", AF_UNIX, "/tmp/s.sock"),
    UNIX("junk after NUL", "/tmp/s\0junk\0more", AF_UNIX, "/tmp/s"),
    UNIX("relative", "run/s", AF_UNIX, "run/s"),
    UNIX("relative @", "@s", AF_UNIX, "./@s"),
    UNIX("relative @ NUL", "@\0", AF_UNIX, "./@"),
    UNIX("raw bytes in a path", "/tmp/\x01\xff\\x", AF_UNIX, "/tmp/\x01\xff\\x"),
    UNIX("unnamed", "", AF_UNIX, ""),
    UNIX("abstract", "\0foo", AF_UNIX, "@foo"),
    UNIX("abstract empty", "\0", AF_UNIX, "@"),
    UNIX("abstract NULs", "\0a\0b\0", AF_UNIX, "@a\\x00b\\x00"),
    UNIX("abstract backslash", "\0a\\x00b", AF_UNIX, "@a\\x5cx00b"),
    UNIX("abstract high", "\0\xff\x80\x7f", AF_UNIX, "@\\xff\\x80\\x7f"),
    UNIX("abstract controls", "\0\n\t\x1f ", AF_UNIX, "@\\x0a\\x09\\x1f "),
    UNIX("abstract @", "\0@x", AF_UNIX, "@@x"),
    UNIX("abstract slash", "\0/tmp/x", AF_UNIX, "@/tmp/x"),
};

Test(sockaddr, unix_table)
{
	for (size_t i = 0; i < NELEM(unix_cases); i++) {
		const struct unix_case *c = &unix_cases[i];
		size_t len = SUN_OFF + c->n;
		uint8_t *buf = malloc(len);
		char path[PATH_MAX];
		ag_netaddr_t a;

		cr_assert(buf);
		sa_family_t fam = AF_UNIX;
		memcpy(buf, &fam, sizeof(fam));
		memcpy(buf + SUN_OFF, c->bytes, c->n);
		int got = ag_sockaddr_parse(buf, len, &a, path, sizeof(path));
		cr_expect(got == c->ret, "%s: want %d, got %d", c->what, c->ret, got);
		if (got == AF_UNIX) {
			size_t wn = strlen(c->want);
			cr_expect(strcmp(path, c->want) == 0, "%s: got '%s'", c->what, path);
			cr_expect(a.port == -1 && a.family != 4 && a.family != 6, "%s: out",
				  c->what);
			/* exactly enough room, and one byte short */
			char *tight = malloc(wn + 1);
			cr_assert(tight);
			cr_expect(ag_sockaddr_parse(buf, len, NULL, tight, wn + 1) == AF_UNIX,
				  "%s: tight", c->what);
			cr_expect(memcmp(tight, c->want, wn + 1) == 0, "%s: tight", c->what);
			memset(tight, 'z', wn + 1);
			cr_expect(ag_sockaddr_parse(buf, len, &a, tight, wn) == -1, "%s: short",
				  c->what);
			cr_expect(ag_sockaddr_parse(buf, len, &a, NULL, 0) == -1, "%s: no path",
				  c->what);
			free(tight);
		}
		free(buf);
	}
}

Test(sockaddr, unix_lengths)
{
	struct sockaddr_un s = {.sun_family = AF_UNIX};
	uint8_t big[sizeof(s) + 8];
	char path[PATH_MAX];

	/* all 108 bytes used, no NUL: the kernel takes it */
	memset(s.sun_path, 'x', sizeof(s.sun_path));
	s.sun_path[0] = '/';
	cr_expect(ag_sockaddr_parse(&s, sizeof(s), NULL, path, sizeof(path)) == AF_UNIX);
	cr_expect(strlen(path) == sizeof(s.sun_path) && path[0] == '/');
	/* longer than a sockaddr_un: the kernel refuses it */
	memset(big, 0, sizeof(big));
	memcpy(big, &s, sizeof(s));
	cr_expect(ag_sockaddr_parse(big, sizeof(s) + 1, NULL, path, sizeof(path)) == -1);
	cr_expect(ag_sockaddr_parse(big, sizeof(big), NULL, path, sizeof(path)) == -1);
	/* the abstract worst case: 107 bytes, all escaped */
	memset(s.sun_path, 0xff, sizeof(s.sun_path));
	s.sun_path[0] = '\0';
	cr_expect(ag_sockaddr_parse(&s, sizeof(s), NULL, path, sizeof(path)) == AF_UNIX);
	cr_expect(strlen(path) == 1 + 4 * (sizeof(s.sun_path) - 1));
	cr_expect(ag_sockaddr_parse(&s, sizeof(s), NULL, path, 1 + 4 * 107) == -1);
	cr_expect(ag_sockaddr_parse(&s, sizeof(s), NULL, path, 2 + 4 * 107) == AF_UNIX);
	/* every length from none up */
	memcpy(big, &s, sizeof(s));
	for (size_t len = 0; len <= sizeof(big); len++) {
		int want = len >= SUN_OFF && len <= sizeof(s) ? AF_UNIX : -1;
		cr_expect(ag_sockaddr_parse(big, len, NULL, path, sizeof(path)) == want, "len %zu",
			  len);
	}
}

/* ---- ag_netaddr_format ---------------------------------------------------------- */

static const struct {
	const char *in, *want;
} fmt_cases[] = {
    {"0.0.0.0", "0.0.0.0"},
    {"255.255.255.255", "255.255.255.255"},
    {"10.0.0.1", "10.0.0.1"},
    {"1.20.100.0", "1.20.100.0"},
    {"169.254.169.254", "169.254.169.254"},
    {"::", "::"},
    {"::1", "::1"},
    {"1::", "1::"},
    {"0:0:0:0:0:0:0:1", "::1"},
    {"1:0:0:0:0:0:0:0", "1::"},
    {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
    {"2001:DB8::1", "2001:db8::1"},
    {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},    /* the first of equal runs */
    {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},	      /* the longest run */
    {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"}, /* one zero group stays */
    {"1:0:1:0:1:0:1:0", "1:0:1:0:1:0:1:0"},
    {"0:1:0:0:0:0:0:0", "0:1::"},
    {"0:0:1:0:0:0:0:0", "0:0:1::"},
    {"0:0:0:0:0:1:0:0", "::1:0:0"},
    {"0:0:0:0:0:0:1:0", "0.1.0.0"},
    {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},
    {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
    {"fd00:ec2::254", "fd00:ec2::254"},
    {"fe80::1", "fe80::1"},
    {"fe80:0:0:0:0abc:0:0:0", "fe80::abc:0:0:0"},
    {"0abc:00de:000f:1000:0100:0010:0001:0000", "abc:de:f:1000:100:10:1:0"},
    {"64:ff9b::1.2.3.4", "64:ff9b::102:304"},
    {"::ffff:0:1.2.3.4", "::ffff:0:102:304"},
    /* IPv4-shaped IPv6 prints as the IPv4 address it is */
    {"::ffff:1.2.3.4", "1.2.3.4"},
    {"::1.2.3.4", "1.2.3.4"},
    {"::2", "0.0.0.2"},
};

Test(format, table)
{
	for (size_t i = 0; i < NELEM(fmt_cases); i++) {
		/* raw, uncollapsed: format brings it to the one form too */
		ag_netaddr_t a = {.port = -1};
		char buf[64];
		int fam = raw(fmt_cases[i].in, a.addr);

		cr_assert(fam, "table: %s", fmt_cases[i].in);
		a.family = (uint8_t)fam;
		size_t n = ag_netaddr_format(&a, buf, sizeof(buf));
		cr_expect(strcmp(buf, fmt_cases[i].want) == 0 && n == strlen(buf),
			  "format %s: got '%s' (%zu), want '%s'", fmt_cases[i].in, buf, n,
			  fmt_cases[i].want);
		/* the same through a sockaddr */
		ag_netaddr_t b = addr_of(fmt_cases[i].in);
		ag_netaddr_format(&b, buf, sizeof(buf));
		cr_expect(strcmp(buf, fmt_cases[i].want) == 0, "format %s via sockaddr: '%s'",
			  fmt_cases[i].in, buf);
	}
}

Test(format, buffer_sizes)
{
	ag_netaddr_t a = addr_of("2001:db8::1");
	char buf[64];

	for (size_t sz = 0; sz < sizeof(buf); sz++) {
		memset(buf, 'z', sizeof(buf));
		size_t n = ag_netaddr_format(&a, buf, sz);
		if (sz > strlen("2001:db8::1")) {
			cr_expect(n == 11 && strcmp(buf, "2001:db8::1") == 0, "sz %zu", sz);
		} else {
			cr_expect(n == 0, "sz %zu", sz);
			cr_expect(sz == 0 ? buf[0] == 'z' : buf[0] == '\0', "sz %zu", sz);
		}
		for (size_t k = sz; k < sizeof(buf); k++)
			cr_expect(buf[k] == 'z', "sz %zu: wrote byte %zu", sz, k);
	}
	ag_netaddr_t widest = {.family = 6};
	memset(widest.addr, 0xff, 16);
	cr_expect(ag_netaddr_format(&widest, buf, INET6_ADDRSTRLEN) == 39);
	a = addr_of("255.255.255.255");
	cr_expect(ag_netaddr_format(&a, buf, INET_ADDRSTRLEN) == 15);
	a.family = 0;
	cr_expect(ag_netaddr_format(&a, buf, sizeof(buf)) == 0 && buf[0] == '\0');
	a.family = 5;
	cr_expect(ag_netaddr_format(&a, buf, sizeof(buf)) == 0 && buf[0] == '\0');
	cr_expect(ag_netaddr_format(NULL, buf, sizeof(buf)) == 0 && buf[0] == '\0');
	cr_expect(ag_netaddr_format(&a, NULL, 10) == 0);
}

/* parse(format(a)) == a over random addresses, with runs of zero groups
 * made likely; and glibc's inet_ntop agrees wherever it does not choose the
 * mixed notation, which only IPv4-shaped addresses get and those print as
 * IPv4 here. */
Test(format, round_trips)
{
	rng_seed(0xf0f0);
	for (int i = 0; i < 50000; i++) {
		struct sockaddr_storage ss;
		ag_netaddr_t a;
		char buf[64], ref[64];
		socklen_t len;

		memset(&ss, 0, sizeof(ss));
		if (rng() % 3 == 0) {
			struct sockaddr_in *s = (struct sockaddr_in *)&ss;
			s->sin_family = AF_INET;
			rand_bytes((uint8_t *)&s->sin_addr, 4);
			s->sin_port = (uint16_t)rng();
			len = sizeof(*s);
		} else {
			struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
			uint8_t *b = s->sin6_addr.s6_addr;
			s->sin6_family = AF_INET6;
			rand_bytes(b, 16);
			for (int g = 0; g < 8; g++)
				if (rng() % 2)
					b[2 * g] = b[2 * g + 1] = 0;
			if (rng() % 8 == 0)
				memcpy(b, (uint8_t[12]){[10] = 0xff, [11] = 0xff}, 12);
			else if (rng() % 8 == 0)
				memset(b, 0, 12 + rng() % 5);
			s->sin6_port = (uint16_t)rng();
			len = sizeof(*s);
		}
		int fam = ag_sockaddr_parse(&ss, len, &a, NULL, 0);
		cr_assert(fam == AF_INET || fam == AF_INET6);
		size_t n = ag_netaddr_format(&a, buf, sizeof(buf));
		cr_assert(n > 0 && n == strlen(buf));

		ag_cidr_t c;
		cr_expect(ag_cidr_parse(buf, &c) == 0, "reparse '%s'", buf);
		cr_expect(c.family == a.family && c.prefix == (a.family == 4 ? 32 : 128) &&
			      memcmp(c.addr, a.addr, 16) == 0,
			  "round trip '%s'", buf);
		cr_expect(ag_cidr_match(&c, &a), "'%s' matches itself", buf);

		struct sockaddr_storage again;
		ag_netaddr_t b;
		len = mk_sa(buf, a.port, &again);
		cr_expect(ag_sockaddr_parse(&again, len, &b, NULL, 0) > 0 && same_netaddr(&a, &b),
			  "round trip via sockaddr '%s'", buf);

		inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.addr, ref, sizeof(ref));
		cr_expect(strcmp(buf, ref) == 0, "'%s' vs inet_ntop '%s'", buf, ref);
	}
}

/* ---- hostile input ----------------------------------------------------------------
 * No .timeout on these: Criterion 2.4's runner leaks a timer entry when
 * several timed tests run, and LSan fails the sanitized build for it. */

/* Random bytes as sockaddrs of every length, in blocks of exactly that
 * length, with the family word often one we parse. */
Test(hostile, sockaddrs)
{
	static const sa_family_t fams[] = {AF_INET, AF_INET6, AF_UNIX};

	size_t seen[4] = {0}; /* refused, inet, abstract, named or unnamed */

	rng_seed(0xbad5a);
	for (int i = 0; i < 200000; i++) {
		size_t len = rng() % (sizeof(struct sockaddr_storage) + 16);
		size_t pathsz = rng() % 4 == 0 ? rng() % 64 : rng() % 512;
		uint8_t *sa = malloc(len ? len : 1);
		char *path = pathsz ? malloc(pathsz) : NULL;
		ag_netaddr_t a;

		cr_assert(sa && (path || !pathsz));
		rand_bytes(sa, len);
		if (len >= 2 && rng() % 4) {
			sa_family_t f = fams[rng() % 3];
			memcpy(sa, &f, sizeof(f));
		}
		if (len > SUN_OFF && rng() % 2)
			sa[SUN_OFF] = 0; /* abstract */
		int got = ag_sockaddr_parse(sa, len, &a, path, pathsz);
		cr_assert(got == -1 || got == AF_INET || got == AF_INET6 || got == AF_UNIX,
			  "ret %d", got);
		seen[got < 0 ? 0 : got != AF_UNIX ? 1 : path[0] == '@' ? 2 : 3]++;
		if (got == AF_INET || got == AF_INET6) {
			char buf[64];
			cr_assert(a.family == 4 || a.family == 6);
			cr_assert(a.port >= 0 && a.port <= 65535);
			if (a.family == 4)
				for (int k = 4; k < 16; k++)
					cr_assert(a.addr[k] == 0);
			cr_assert(ag_netaddr_format(&a, buf, sizeof(buf)) > 0);
			ag_cidr_t c;
			cr_assert(ag_cidr_parse(buf, &c) == 0, "'%s'", buf);
			cr_assert(ag_cidr_match(&c, &a), "'%s'", buf);
		} else if (got == AF_UNIX) {
			size_t n = strnlen(path, pathsz);
			cr_assert(n < pathsz);
			cr_assert(a.port == -1);
			if (len > SUN_OFF && sa[SUN_OFF] == 0) {
				cr_assert(path[0] == '@');
				for (size_t k = 0; k < n; k++)
					cr_assert(path[k] >= 0x20 && path[k] < 0x7f, "%zu", k);
			} else if (n > 0) {
				cr_assert(path[0] != '@');
			}
		}
		free(sa);
		free(path);
	}
	/* the loop reached every outcome often */
	for (int k = 0; k < 4; k++)
		cr_expect(seen[k] > 5000, "outcome %d seen %zu times", k, seen[k]);
}

/* Text in a block of exactly its size, so ASan sees a read past the NUL. */
static char *heap_text(const char *t)
{
	size_t n = strlen(t);
	char *s = malloc(n + 1);

	cr_assert(s);
	memcpy(s, t, n + 1);
	return s;
}

/* Random text: loose bytes, or pieces of addresses, ranges and names
 * strung together, so that much of it is nearly right. */
static char *rand_text(void)
{
	static const char *const pieces[] = {
	    "0",       "1",	  "10",	     "255", "256",  "65535", "65536", "ffff", "FFFF",
	    "a",       "B",	  "::",	     ":",   ".",    "..",    "/",     "/0",   "/8",
	    "/32",     "/96",	  "/128",    "-",   "*",    "*.",    " ",     "%",    "64:ff9b",
	    "0.0.0.0", "1.2.3.4", "::ffff:", "com", "xn--", "08",    "\xff",  "\x01"};
	static const char loose[] = "0123456789abcdefABCDEF.:/-*% ";
	char buf[256];
	size_t n = 0;

	if (rng() % 3 == 0) {
		size_t len = rng() % 4 == 0 ? rng() % 200 : rng() % 48;
		for (; n < len; n++)
			buf[n] = rng() % 16 ? loose[rng() % (sizeof(loose) - 1)]
					    : (char)(rng() % 255 + 1);
	} else {
		for (int k = (int)(rng() % 10); k >= 0; k--) {
			const char *p = pieces[rng() % NELEM(pieces)];
			size_t pl = strlen(p);
			if (n + pl >= sizeof(buf))
				break;
			memcpy(buf + n, p, pl);
			n += pl;
		}
	}
	buf[n] = '\0';
	return heap_text(buf);
}

/* Host names from a few labels, sometimes with a dot too many or few. */
static char *rand_name(bool pattern)
{
	static const char *const labels[] = {"a", "A", "b", "*", "xn--a", "com", "COM", "", "@"};
	char buf[128];
	size_t n = 0;

	if (pattern && rng() % 2) {
		memcpy(buf, "*.", 2);
		n = 2;
	}
	for (int k = (int)(rng() % 4); k >= 0; k--) {
		const char *l = labels[rng() % NELEM(labels)];
		size_t ll = strlen(l);
		memcpy(buf + n, l, ll);
		n += ll;
		if (k || rng() % 4 == 0)
			buf[n++] = '.';
	}
	buf[n] = '\0';
	return heap_text(buf);
}

/* The host rule written the long way: fold, drop one trailing dot, split
 * into labels; then compare label lists. */
static int ref_labels(const char *s, char lab[][64], int max)
{
	char t[256];
	size_t n = strlen(s);
	int k = 0;

	if (n >= sizeof(t))
		return -1;
	for (size_t i = 0; i <= n; i++)
		t[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
	if (n && t[n - 1] == '.')
		t[--n] = '\0';
	for (char *p = t, *dot;; p = dot + 1) {
		dot = strchr(p, '.');
		size_t ll = dot ? (size_t)(dot - p) : strlen(p);
		if (ll == 0 || ll >= 64 || k == max)
			return -1;
		memcpy(lab[k], p, ll);
		lab[k++][ll] = '\0';
		if (!dot)
			return k;
	}
}

static bool ref_host_match(const char *pattern, const char *host)
{
	char pl[16][64], hl[16][64];
	int np = ref_labels(pattern, pl, 16), nh = ref_labels(host, hl, 16), skip = 0;

	if (np < 0 || nh < 0)
		return false;
	if (strcmp(pl[0], "*") == 0) {
		if (np == 1 || nh < np)
			return false;
		skip = 1;
	} else if (nh != np) {
		return false;
	}
	for (int i = skip; i < np; i++)
		if (strchr(pl[i], '*') || strcmp(pl[i], hl[nh - np + i]) != 0)
			return false;
	return true;
}

Test(hostile, strings)
{
	size_t cidrs = 0, ports = 0, hosts = 0;

	rng_seed(0x57a1c);
	for (int i = 0; i < 300000; i++) {
		char *s = rand_text(), *t = rand_text();
		ag_cidr_t c;
		uint16_t lo, hi;

		if (ag_cidr_parse(s, &c) == 0) {
			cidrs++;
			unsigned w = c.family == 4 ? 32 : 128;
			cr_assert(c.family == 4 || c.family == 6, "'%s'", s);
			cr_assert(c.prefix <= w, "'%s'", s);
			for (unsigned bit = c.prefix; bit < 128; bit++)
				cr_assert(!(c.addr[bit / 8] & (0x80u >> (bit % 8))), "'%s'", s);
			ag_netaddr_t a = {.family = c.family, .port = -1};
			memcpy(a.addr, c.addr, 16);
			cr_assert(ag_cidr_match(&c, &a), "'%s' holds its network", s);
		}
		if (ag_port_range_parse(s, &lo, &hi) == 0) {
			ports++;
			cr_assert(lo >= 1 && lo <= hi, "'%s'", s);
		}
		cr_assert(ag_host_match(s, t) == ref_host_match(s, t), "'%s' vs '%s'", s, t);
		free(s);
		free(t);

		s = rand_name(true);
		t = rand_name(false);
		bool m = ag_host_match(s, t);
		hosts += m;
		cr_assert(m == ref_host_match(s, t), "'%s' vs '%s': got %d", s, t, m);
		free(s);
		free(t);
	}
	/* enough of it was nearly right to reach the accepting paths */
	cr_expect(cidrs > 1000 && ports > 1000 && hosts > 1000, "%zu cidrs, %zu ports, %zu hosts",
		  cidrs, ports, hosts);
}

/* Valid texts with one byte changed, dropped or doubled: still either
 * refused or a well-formed range. */
Test(hostile, mutations)
{
	rng_seed(0x3a7a7e);
	for (size_t i = 0; i < NELEM(cidr_cases); i++) {
		const char *src = cidr_cases[i].text;
		size_t n = strlen(src);

		for (int k = 0; k < 2000 && n > 0; k++) {
			char *s = malloc(n + 2);
			size_t at = rng() % n, len = n;
			cr_assert(s);
			memcpy(s, src, n + 1);
			switch (rng() % 3) {
			case 0: s[at] = (char)(rng() % 255 + 1); break;
			case 1:
				memmove(s + at, s + at + 1, n - at);
				len--;
				break;
			default:
				memmove(s + at + 1, s + at, n - at + 1);
				len++;
				break;
			}
			s[len] = '\0';
			ag_cidr_t c;
			if (ag_cidr_parse(s, &c) == 0) {
				char buf[64], back[80];
				ag_netaddr_t a = {.family = c.family};
				memcpy(a.addr, c.addr, 16);
				cr_assert(ag_netaddr_format(&a, buf, sizeof(buf)) > 0);
				snprintf(back, sizeof(back), "%s/%u", buf, c.prefix);
				ag_cidr_t d;
				cr_assert(ag_cidr_parse(back, &d) == 0 &&
					      memcmp(&c, &d, sizeof(c)) == 0,
					  "'%s' -> '%s'", s, back);
			}
			free(s);
		}
	}
}
