/* Where a value sits in JSON source text. jansson drops positions once it
 * has built the tree, so a semantic error in a document it accepted (an
 * unknown field in rules[3], a bad name at rules[2].ops[1]) would have no
 * file:line:column. Rather than keep positions in a parser of our own, the
 * loader names the element by the path it already knows and we walk the
 * text again along that path.
 *
 * The whole document is checked first, so the answer never depends on how
 * far the walk had to read: a truncated or malformed text gives -1 even
 * when the wanted value comes before the damage. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "agentguard.h"

/* jansson allows 2048, but no sane policy nests past a handful, and the
 * checking pass recurses: this keeps it well inside a small thread stack. A
 * deeper document just gets no position. */
#define MAX_DEPTH 512

struct scan {
	const char *p;	 /* next byte to read */
	const char *end; /* never read here or beyond */
};

static bool at(const struct scan *s, char c)
{
	return s->p < s->end && *s->p == c;
}

static void skip_ws(struct scan *s)
{
	while (at(s, ' ') || at(s, '\t') || at(s, '\n') || at(s, '\r'))
		s->p++;
}

/* Whitespace, then c if it comes next. */
static bool eat(struct scan *s, char c)
{
	skip_ws(s);
	if (!at(s, c))
		return false;
	s->p++;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static long hex4(struct scan *s)
{
	long v = 0;

	if (s->end - s->p < 4)
		return -1;
	for (int i = 0; i < 4; i++) {
		int d = hexval(s->p[i]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	s->p += 4;
	return v;
}

/* A \u escape, s->p just past the 'u'. Like jansson, a high surrogate must
 * be followed by an escaped low one, and a lone surrogate is malformed. */
static long unicode_escape(struct scan *s)
{
	long hi = hex4(s), lo;

	if (hi < 0xD800 || hi > 0xDFFF)
		return hi;
	if (hi >= 0xDC00 || s->end - s->p < 2 || s->p[0] != '\\' || s->p[1] != 'u')
		return -1;
	s->p += 2;
	lo = hex4(s);
	if (lo < 0xDC00 || lo > 0xDFFF)
		return -1;
	return 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
}

static int utf8_encode(long cp, unsigned char out[4])
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xC0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3F);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xE0 | cp >> 12;
		out[1] = 0x80 | (cp >> 6 & 0x3F);
		out[2] = 0x80 | (cp & 0x3F);
		return 3;
	}
	out[0] = 0xF0 | cp >> 18;
	out[1] = 0x80 | (cp >> 12 & 0x3F);
	out[2] = 0x80 | (cp >> 6 & 0x3F);
	out[3] = 0x80 | (cp & 0x3F);
	return 4;
}

static int simple_escape(char c)
{
	switch (c) {
	case '"':
	case '\\':
	case '/':
		return c;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	default:
		return -1;
	}
}

/* One character of a string body, decoded into out. Returns how many bytes
 * it decoded to, 0 at the closing quote (consumed), -1 if malformed. Raw
 * bytes pass through undecoded, so a key compares as jansson stores it. */
static int str_char(struct scan *s, unsigned char out[4])
{
	unsigned char c;
	long cp;

	if (s->p >= s->end)
		return -1;
	c = (unsigned char)*s->p++;
	if (c == '"')
		return 0;
	if (c < 0x20)
		return -1;
	if (c != '\\') {
		out[0] = c;
		return 1;
	}
	if (s->p >= s->end)
		return -1;
	c = (unsigned char)*s->p++;
	cp = c == 'u' ? unicode_escape(s) : simple_escape(c);
	return cp < 0 ? -1 : utf8_encode(cp, out);
}

/* s->p on the opening quote. */
static int skip_string(struct scan *s)
{
	unsigned char buf[4];
	int n;

	s->p++;
	while ((n = str_char(s, buf)) > 0)
		;
	return n;
}

/* Reads the string at s->p whole, comparing its decoded value with key as
 * it goes: 1 if they are equal, 0 if not, -1 if the string is malformed. */
static int key_equals(struct scan *s, const char *key)
{
	size_t klen = strlen(key), k = 0;
	bool same = true;
	unsigned char buf[4];
	int n;

	s->p++;
	while ((n = str_char(s, buf)) > 0) {
		if (same && (size_t)n <= klen - k && memcmp(buf, key + k, n) == 0)
			k += n;
		else
			same = false;
	}
	if (n < 0)
		return -1;
	return same && k == klen;
}

static bool digits(struct scan *s)
{
	const char *start = s->p;

	while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
		s->p++;
	return s->p > start;
}

/* JSON's grammar, stricter than strtod's: no '+', no leading zeros, digits
 * on both sides of the point. "01" stops after the 0 and the caller then
 * trips on the 1. */
static int skip_number(struct scan *s)
{
	if (at(s, '-'))
		s->p++;
	if (at(s, '0'))
		s->p++;
	else if (!digits(s))
		return -1;
	if (at(s, '.')) {
		s->p++;
		if (!digits(s))
			return -1;
	}
	if (at(s, 'e') || at(s, 'E')) {
		s->p++;
		if (at(s, '+') || at(s, '-'))
			s->p++;
		if (!digits(s))
			return -1;
	}
	return 0;
}

static int skip_word(struct scan *s, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(s->end - s->p) < n || memcmp(s->p, w, n) != 0)
		return -1;
	s->p += n;
	return 0;
}

static int skip_value(struct scan *s, int level);

/* s->p on the '['; level counts the containers around this one. */
static int skip_array(struct scan *s, int level)
{
	s->p++;
	if (eat(s, ']'))
		return 0;
	do {
		if (skip_value(s, level + 1) < 0)
			return -1;
	} while (eat(s, ','));
	return eat(s, ']') ? 0 : -1;
}

static int skip_object(struct scan *s, int level)
{
	s->p++;
	if (eat(s, '}'))
		return 0;
	do {
		skip_ws(s);
		if (!at(s, '"') || skip_string(s) < 0 || !eat(s, ':') ||
		    skip_value(s, level + 1) < 0)
			return -1;
	} while (eat(s, ','));
	return eat(s, '}') ? 0 : -1;
}

/* Whitespace, then one value. */
static int skip_value(struct scan *s, int level)
{
	skip_ws(s);
	if (s->p >= s->end)
		return -1;
	switch (*s->p) {
	case '{':
		return level < MAX_DEPTH ? skip_object(s, level) : -1;
	case '[':
		return level < MAX_DEPTH ? skip_array(s, level) : -1;
	case '"':
		return skip_string(s);
	case 't':
		return skip_word(s, "true");
	case 'f':
		return skip_word(s, "false");
	case 'n':
		return skip_word(s, "null");
	default:
		return skip_number(s);
	}
}

/* "[N]", decimal, names an array element. */
static bool parse_index(const char *elem, size_t *idx)
{
	const char *p = elem + 1;
	size_t n = 0;

	if (elem[0] != '[' || *p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (SIZE_MAX - (size_t)(*p - '0')) / 10)
			return false;
		n = n * 10 + (size_t)(*p - '0');
	}
	if (p[0] != ']' || p[1] != '\0')
		return false;
	*idx = n;
	return true;
}

/* s->p on the '['; leaves it on element idx. */
static int enter_array(struct scan *s, int level, size_t idx)
{
	s->p++;
	if (eat(s, ']'))
		return -1;
	for (; idx > 0; idx--)
		if (skip_value(s, level + 1) < 0 || !eat(s, ','))
			return -1;
	skip_ws(s);
	return 0;
}

/* s->p on the '{'; leaves it on the value of the first member named key
 * and *keyp on that member's opening quote. The loader has jansson reject
 * duplicates anyway; elsewhere the first is the one a reader finds. */
static int enter_object(struct scan *s, int level, const char *key, const char **keyp)
{
	int eq;

	s->p++;
	if (eat(s, '}'))
		return -1;
	do {
		skip_ws(s);
		if (!at(s, '"'))
			return -1;
		*keyp = s->p;
		eq = key_equals(s, key);
		if (eq < 0 || !eat(s, ':'))
			return -1;
		if (eq) {
			skip_ws(s);
			return 0;
		}
		if (skip_value(s, level + 1) < 0)
			return -1;
	} while (eat(s, ','));
	return -1;
}

/* Columns count bytes, not characters: the same as jansson's column on
 * ASCII text, further right than it after multibyte UTF-8 on the line.
 * CRLF is one line break and a lone CR is one too, though jansson counts
 * only LF, because that is where an editor shows the line. */
static int position(const char *text, const char *where, int *line, int *column)
{
	size_t ln = 1, col = 1;

	for (const char *p = text; p < where; p++) {
		if (*p == '\r' && p + 1 < where && p[1] == '\n')
			p++;
		if (*p == '\n' || *p == '\r') {
			ln++;
			col = 1;
		} else {
			col++;
		}
	}
	if (ln > INT_MAX || col > INT_MAX)
		return -1;
	if (line)
		*line = (int)ln;
	if (column)
		*column = (int)col;
	return 0;
}

/* One value and nothing after it but whitespace. */
static bool well_formed(const char *text, size_t len)
{
	struct scan s = {text, text + len};

	if (skip_value(&s, 0) < 0)
		return false;
	skip_ws(&s);
	return s.p == s.end;
}

int ag_json_locate(const char *text, size_t len, const char *const *path, size_t depth,
		   bool key_pos, int *line, int *column)
{
	struct scan s;
	const char *keyp = NULL;
	size_t idx;
	int rc;

	if (!text || (depth && !path) || depth > MAX_DEPTH || !well_formed(text, len))
		return -1;
	s = (struct scan){text, text + len};
	skip_ws(&s);
	for (int i = 0; i < (int)depth; i++) {
		keyp = NULL;
		if (!path[i])
			return -1;
		/* The value's type decides how to read the element, so a key
		 * that happens to look like "[0]" is still found. */
		if (at(&s, '[') && parse_index(path[i], &idx))
			rc = enter_array(&s, i, idx);
		else if (at(&s, '{'))
			rc = enter_object(&s, i, path[i], &keyp);
		else
			rc = -1;
		if (rc < 0)
			return -1;
	}
	return position(text, key_pos && keyp ? keyp : s.p, line, column);
}
