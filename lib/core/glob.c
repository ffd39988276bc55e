/* Path globs for policy rules.
 *
 * Matching runs at two levels, each with the classic wildcard scheme that
 * remembers only the most recent star: across components for '**', within
 * one component for '*'. Remembering only the latest star is enough because
 * everything between two stars must match a run of fixed length (one byte
 * per token, one component per component pattern), so the leftmost place
 * that run fits is never worse than a later one. Nothing recurses and
 * nothing allocates, and a hostile pattern costs at worst a quadratic number
 * of steps at each level, never an exponential one. */
#include <stdint.h>
#include <string.h>

#include "agentguard.h"
#include "blob.h"
#include "compile.h"
#include "str.h"

/* A cursor that has run past the last component. */
#define END SIZE_MAX

/* A component is [beg, end); next is where the following one starts, or
 * END when this one was the last. A trailing '/' thus leaves an empty last
 * component, which is what lets a trailing '**' match "/ws/" as well as
 * "/ws". */
struct comp {
	size_t beg, end, next;
};

AG_HOT_TEXT static struct comp str_comp(const char *s, size_t len, size_t at)
{
	struct comp c = {at, len, END};

	/* A loop, not memchr: a path component is short, and libc's memchr
	 * is one more page for a forked child to fault in. */
	for (size_t i = at; i < len; i++)
		if (s[i] == '/') {
			c.end = i;
			c.next = i + 1;
			break;
		}
	return c;
}

/* "\/" is a plain separator: escaping a character that is not magic means
 * the character itself, and a component can never contain a '/'. */
AG_HOT_TEXT static struct comp pat_comp(const char *p, size_t plen, size_t at)
{
	struct comp c = {at, plen, END};

	for (size_t i = at; i < plen; i++) {
		if (p[i] == '\\' && i + 1 < plen && p[i + 1] == '/') {
			c.end = i;
			c.next = i + 2;
			break;
		}
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (p[i] == '/') {
			c.end = i;
			c.next = i + 1;
			break;
		}
	}
	return c;
}

AG_HOT_TEXT static bool is_dstar(const char *p, struct comp c)
{
	return c.end - c.beg == 2 && p[c.beg] == '*' && p[c.beg + 1] == '*';
}

AG_HOT_TEXT static unsigned char class_char(const char *p, size_t pn, size_t *i)
{
	if (p[*i] == '\\' && *i + 1 < pn) {
		*i += 2;
		return (unsigned char)p[*i - 1];
	}
	return (unsigned char)p[(*i)++];
}

/* The class opening at p[*pi] against c: 1 or 0, with *pi moved past the
 * class, or -1 when no ']' closes it, in which case the '[' is literal. A
 * ']' right after the opening (or after its '!'/'^') is a member; so is a
 * '-' that cannot form a range. */
AG_HOT_TEXT static int class_match(const char *p, size_t pn, size_t *pi, unsigned char c)
{
	size_t i = *pi + 1;
	bool neg = i < pn && (p[i] == '!' || p[i] == '^');
	bool hit = false;

	if (neg)
		i++;
	for (size_t first = i; i < pn;) {
		if (p[i] == ']' && i > first) {
			*pi = i + 1;
			return hit != neg;
		}
		unsigned char lo = class_char(p, pn, &i), hi = lo;
		if (i + 1 < pn && p[i] == '-' && p[i + 1] != ']') {
			i++;
			hi = class_char(p, pn, &i);
		}
		if (lo <= c && c <= hi)
			hit = true;
	}
	return -1;
}

/* One token (not '*') at p[*pi] against the byte c; on a match *pi moves
 * past the token. Once a '[' is found unclosed, every later '[' in the
 * component is unclosed too (any ']' that could close it would have closed
 * the earlier one), so *lit_from spares us rescanning to the end each time:
 * without it, a component of unclosed '[' would cost a cubic amount. */
AG_HOT_TEXT static bool token_match(const char *p, size_t pn, size_t *pi, unsigned char c, size_t *lit_from)
{
	size_t i = *pi;

	if (p[i] == '?') {
		*pi = i + 1;
		return true;
	}
	if (p[i] == '[' && i < *lit_from) {
		int r = class_match(p, pn, pi, c);
		if (r >= 0)
			return r;
		*lit_from = i;
	}
	if (p[i] == '\\' && i + 1 < pn) {
		*pi = i + 2;
		return (unsigned char)p[i + 1] == c;
	}
	*pi = i + 1;
	return (unsigned char)p[i] == c;
}

/* One pattern component against one string component, which holds no '/',
 * so a star here can take any byte it meets. */
AG_HOT_TEXT static bool comp_match(const char *p, size_t pn, const char *s, size_t sn)
{
	size_t pi = 0, si = 0, star_p = END, star_s = 0, lit_from = pn;

	while (si < sn) {
		if (pi < pn && p[pi] == '*') {
			while (pi < pn && p[pi] == '*')
				pi++;
			if (pi == pn)
				return true;
			star_p = pi;
			star_s = si;
			continue;
		}
		if (pi < pn && token_match(p, pn, &pi, (unsigned char)s[si], &lit_from)) {
			si++;
			continue;
		}
		if (star_p == END)
			return false;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < pn && p[pi] == '*')
		pi++;
	return pi == pn;
}

AG_HOT_TEXT bool ag_glob_match(const char *pat, size_t patlen, const char *str, size_t len)
{
	size_t pi = 0, si = 0, star_p = END, star_s = END;
	bool star = false;

	for (;;) {
		struct comp pc = {0, 0, END};
		if (pi != END) {
			pc = pat_comp(pat, patlen, pi);
			if (is_dstar(pat, pc)) {
				star = true;
				star_p = pi = pc.next;
				star_s = si;
				continue;
			}
		}
		if (si == END)
			return pi == END;
		struct comp sc = str_comp(str, len, si);
		if (pi != END &&
		    comp_match(pat + pc.beg, pc.end - pc.beg, str + sc.beg, sc.end - sc.beg)) {
			pi = pc.next;
			si = sc.next;
			continue;
		}
		/* Let the latest '**' take one more component and retry after it. */
		if (!star || star_s == END)
			return false;
		if (star_p == END)
			return true;
		star_s = str_comp(str, len, star_s).next;
		pi = star_p;
		si = star_s;
	}
}

/* Components are split exactly as ag_glob_match splits them, so that a
 * glob without '**' matches only strings with as many '/' as it has
 * separators, and the decision may pass over the others unmatched. */
uint32_t ag__glob_slashes(const char *pat, size_t len)
{
	uint32_t n = 0;

	if (len == 3 && memcmp(pat, "/**", 3) == 0)
		return AG_SLASHES_ALL;
	for (size_t at = 0;; n++) {
		struct comp c = pat_comp(pat, len, at);
		if (is_dstar(pat, c))
			return AG_SLASHES_ANY;
		if (c.next == END)
			return n < AG_SLASHES_ALL ? n : AG_SLASHES_ANY;
		at = c.next;
	}
}

bool ag_glob_has_magic(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '*' || s[i] == '?' || s[i] == '[')
			return true;
	}
	return false;
}

size_t ag_glob_escape(char *dst, size_t dstsz, const char *src)
{
	size_t n = 0;

	if (dstsz == 0)
		return (size_t)-1;
	for (; *src; src++) {
		bool magic = strchr("*?[]\\", *src) != NULL;
		if (n + magic + 1 >= dstsz) {
			dst[n] = '\0';
			return (size_t)-1;
		}
		if (magic)
			dst[n++] = '\\';
		dst[n++] = *src;
	}
	dst[n] = '\0';
	return n;
}
