/* Globs: the semantics rules are written in, checked case by case, then
 * against a plain recursive definition over every small input, then with
 * inputs built to make a naive matcher explode. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agentguard.h"

struct mcase {
	const char *pat;
	const char *str;
	bool want;
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Copies into buffers of exactly the given size with no terminating NUL,
 * so that under ASan any read past a length is caught. */
static bool match_exact(const char *pat, size_t patlen, const char *str, size_t len)
{
	char *p = malloc(patlen ? patlen : 1);
	char *s = malloc(len ? len : 1);

	cr_assert(p && s);
	memcpy(p, pat, patlen);
	memcpy(s, str, len);
	bool r = ag_glob_match(p, patlen, s, len);
	free(p);
	free(s);
	return r;
}

static void run_cases(const char *suite, const struct mcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		bool got = match_exact(c[i].pat, strlen(c[i].pat), c[i].str, strlen(c[i].str));
		cr_expect(got == c[i].want, "%s[%zu]: pattern \"%s\" vs \"%s\": want %s, got %s",
			  suite, i, c[i].pat, c[i].str, c[i].want ? "match" : "no match",
			  got ? "match" : "no match");
	}
}

#define RUN(cases) run_cases(#cases, cases, NELEM(cases))

Test(glob, literals)
{
	static const struct mcase cases[] = {
		{"/a/b", "/a/b", true},	   {"/a/b", "/a/c", false},  {"/a/b", "/a/b/", false},
		{"/a/b", "/a/bc", false},  {"/a/bc", "/a/b", false}, {"/a/b/", "/a/b", false},
		{"/a/b/", "/a/b/", true},  {"/a//b", "/a//b", true}, {"/a//b", "/a/b", false},
		{"/a/b", "/a//b", false},  {"abc", "abc", true},     {"abc", "ABC", false},
		{"/", "/", true},	   {"/", "", false},	     {"a", "/a", false},
		{"/a", "a", false},	   {"/a/b", "/a", false},    {"/a", "/a/b", false},
		{"/a b/c", "/a b/c", true}, {"/!^-.", "/!^-.", true},
	};
	RUN(cases);
}

Test(glob, star)
{
	static const struct mcase cases[] = {
		{"/a/*", "/a/b", true},
		{"/a/*", "/a/bcd", true},
		{"/a/*", "/a/", true}, /* as fnmatch(FNM_PATHNAME) has it */
		{"/a/*", "/a", false},
		{"/a/*", "/a/b/c", false},
		{"/a/*/c", "/a/b/c", true},
		{"/a/*/c", "/a/c", false},
		{"/a/b*", "/a/b", true},
		{"/a/b*", "/a/bxyz", true},
		{"/a/b*", "/a/ab", false},
		{"/a/*b", "/a/ab", true},
		{"/a/*b", "/a/b", true},
		{"/a/*b", "/a/abc", false},
		{"/a/*b*c", "/a/xbyc", true},
		{"/a/*b*c", "/a/bc", true},
		{"/a/*b*c", "/a/xbycb", false},
		{"/a/a*a*a", "/a/aaa", true},
		{"/a/a*a*a", "/a/aa", false},
		{"/a/*aab", "/a/aaaab", true},
		{"/a/*ab*ab", "/a/abaab", true},
		{"/a/*ab*ab", "/a/abaa", false},
		{"*", "abc", true},
		{"*", "", true},
		{"*", "/", false},
		{"*.c", "main.c", true},
		{"*.c", "main.h", false},
		{"/x/*.tar.gz", "/x/a.tar.gz", true},
		{"/x/*.tar.gz", "/x/a.tar.gzz", false},
		{"/x/*.tar.gz", "/x/.tar.gz", true},
		{"/a***b", "/ab", true},
		/* '**' that is not a whole component is just a star */
		{"/a**b", "/axxb", true},
		{"/a**b", "/ax/yb", false},
		{"/**b", "/xb", true},
		{"/**b", "/x/b", false},
		{"/b**", "/bc", true},
		{"/b**", "/bc/d", false},
		{"/a/b**", "/a/bc/d", false},
		{"/***", "/x", true},
		{"/***", "/x/y", false},
	};
	RUN(cases);
}

Test(glob, star_stays_in_component)
{
	static const struct mcase cases[] = {
		{"/*", "/a/b", false},	   {"/*/b", "/a/x/b", false}, {"/a*", "/a/", false},
		{"/*a", "/x/a", false},	   {"/*", "/", true},	      {"/a/*", "/a//", false},
		{"*", "a/", false},	   {"*/", "a/", true},	      {"/*/*", "/a/b", true},
		{"/*/*", "/a/b/c", false}, {"/?", "//", false},	      {"/a?b", "/a/b", false},
	};
	RUN(cases);
}

Test(glob, question)
{
	static const struct mcase cases[] = {
		{"/a/?", "/a/b", true},	 {"/a/?", "/a/", false},   {"/a/?", "/a/bc", false},
		{"/a?b", "/axb", true},	 {"/a/??", "/a/bc", true}, {"/a/??", "/a/b", false},
		{"/a/?*", "/a/b", true}, {"/a/?*", "/a/", false},  {"/a/*?", "/a/xyz", true},
		{"/a/*?", "/a/", false}, {"?", ".", true},	   {"?", "", false},
		{"/a/?\xe9", "/a/\xe9\xe9", true},
	};
	RUN(cases);
}

Test(glob, classes)
{
	static const struct mcase cases[] = {
		{"/[abc]", "/a", true},
		{"/[abc]", "/d", false},
		{"/[abc]", "/", false},
		{"/[abc]", "/ab", false},
		{"/[a-c]", "/b", true},
		{"/[a-c]", "/c", true},
		{"/[a-c]", "/d", false},
		{"/[!a-c]", "/d", true},
		{"/[!a-c]", "/b", false},
		{"/[^a-c]", "/d", true},
		{"/[^a-c]", "/a", false},
		{"/[!a-c]", "/", false},
		{"/[]]", "/]", true},
		{"/[]a]", "/a", true},
		{"/[]a]", "/b", false},
		{"/[!]]", "/]", false},
		{"/[!]]", "/x", true},
		{"/[^]]", "/]", false},
		{"/[^]a]", "/b", true},
		{"/[]-a]", "/^", true}, /* ']' (0x5d) to 'a' (0x61) */
		{"/[a-]", "/-", true},
		{"/[a-]", "/a", true},
		{"/[a-]", "/b", false},
		{"/[-a]", "/-", true},
		{"/[!-]", "/-", false},
		{"/[a-cx-z]", "/y", true},
		{"/[a-cx-z]", "/m", false},
		{"/[0-9][0-9]", "/42", true},
		{"/[0-9][0-9]", "/4a", false},
		{"/[z-a]", "/m", false},
		{"/[z-a]", "/z", false},
		{"/[*]", "/*", true},
		{"/[*]", "/a", false},
		{"/[?]", "/?", true},
		{"/[?]", "/a", false},
		{"/[[]", "/[", true},
		{"/[[]", "/]", false},
		{"/[!!]", "/!", false},
		{"/[a!]", "/!", true},
		{"/[a^]", "/^", true},
		{"/[\\]]", "/]", true},
		{"/[\\]a]", "/a", true},
		{"/[a\\-z]", "/-", true},
		{"/[a\\-z]", "/b", false},
		{"/[\\!a]", "/!", true},
		{"/[\\!a]", "/b", false},
		{"/[\\\\]", "/\\", true},
		{"/[!.]*", "/.x", false},
		{"/[!.]*", "/x.", true},
		{"/x[ab]*y", "/xbzzy", true},
		{"/x[ab]*y", "/xczzy", false},
		{"/*[0-9]", "/abc7", true},
		{"/*[0-9]", "/abc", false},
		{"/[\x80-\xff]", "/\xe9", true},
		{"/[a-z]", "/\xe9", false},
		{"/[!a-z]", "/\xe9", true},
		/* unclosed: the '[' is literal */
		{"/[", "/[", true},
		{"/[", "/a", false},
		{"/[ab", "/[ab", true},
		{"/[ab", "/a", false},
		{"/[]", "/[]", true},
		{"/[!]", "/[!]", true},
		{"/[!]", "/x", false},
		{"/[\\]", "/[]", true},
		{"/[a-", "/[a-", true},
		{"/[*", "/[xyz", true},
		{"/[*", "/xyz", false},
		/* an unclosed '[' must not make an earlier, closed one literal */
		{"/*[ab][", "/a[b[", true},
		{"/[[ab]", "/[", true}, /* one class: '[', 'a' and 'b' */
		{"/[[ab]", "/b", true},
		{"/[[ab]", "/[a", false},
		/* a class never spans a '/' */
		{"/a[/]b", "/a[/]b", true},
		{"/a[/]b", "/a/b", false},
		{"/[a/]", "/[a/]", true},
	};
	RUN(cases);
}

Test(glob, escapes)
{
	static const struct mcase cases[] = {
		{"/a\\*", "/a*", true},
		{"/a\\*", "/ab", false},
		{"/a\\*", "/a", false},
		{"/a\\?", "/a?", true},
		{"/a\\?", "/ab", false},
		{"/\\[ab]", "/[ab]", true},
		{"/\\[ab]", "/a", false},
		{"/[ab\\]", "/[ab]", true},
		{"/a\\\\b", "/a\\b", true},
		{"/a\\\\b", "/ab", false},
		{"/\\a", "/a", true},
		{"/\\a", "/\\a", false},
		{"/a\\", "/a\\", true}, /* a lone trailing '\' is itself */
		{"/a\\", "/a", false},
		{"\\", "\\", true},
		{"\\", "", false},
		{"/\\*\\*", "/**", true},
		{"/\\*\\*", "/x", false},
		{"/\\**", "/*abc", true},
		{"/\\**", "/abc", false},
		{"/*\\*", "/abc*", true},
		{"/*\\*", "/abc", false},
		{"/a/\\*\\*/b", "/a/b", false},
		{"/a/\\*\\*/b", "/a/**/b", true},
		{"/a/\\*\\*/b", "/a/x/b", false},
		{"/a/*\\*/b", "/a/**/b", true},
		/* an escaped '/' is a separator like any other */
		{"/a\\/b", "/a/b", true},
		{"/a\\/b", "/a\\/b", false},
		{"/a\\/", "/a/", true},
		{"/a\\\\/b", "/a\\/b", true},
		{"/ws\\/**", "/ws/x/y", true},
	};
	RUN(cases);
}

Test(glob, dstar_at_start)
{
	static const struct mcase cases[] = {
		{"**", "", true},
		{"**", "/", true},
		{"**", "/a/b", true},
		{"**", "a", true},
		{"**", "a/b/", true},
		{"**/b", "b", true},
		{"**/b", "/b", true},
		{"**/b", "/a/b", true},
		{"**/b", "/a/x/b", true},
		{"**/b", "/a/bc", false},
		{"**/b", "/a/b/c", false},
		{"**/*.c", "/src/x/main.c", true},
		{"**/*.c", "/src/x/main.h", false},
		{"/**/b", "/b", true},
		{"/**/b", "/a/x/b", true},
		{"/**/b", "b", false},
		{"/**/b", "/b/", false},
		{"/**/.git/**", "/r/.git", true},
		{"/**/.git/**", "/r/.git/config", true},
		{"/**/.git/**", "/r/.gitignore", false},
	};
	RUN(cases);
}

Test(glob, dstar_in_middle)
{
	static const struct mcase cases[] = {
		{"/a/**/b", "/a/b", true},
		{"/a/**/b", "/a/x/b", true},
		{"/a/**/b", "/a/x/y/b", true},
		{"/a/**/b", "/a/x/y/c", false},
		{"/a/**/b", "/a/b/c", false},
		{"/a/**/b", "/ab", false},
		{"/a/**/b", "/b", false},
		{"/a/**/b", "/a/xb", false},
		{"/a/**/b", "/a//b", true},
		{"/a/**/b/**/c", "/a/x/b/y/c", true},
		{"/a/**/b/**/c", "/a/b/c", true},
		{"/a/**/b/**/c", "/a/b/b/b/c", true},
		{"/a/**/b/**/c", "/a/c/b", false},
		{"/a/**/**/b", "/a/b", true},
		{"/a/**/**/b", "/a/x/y/z/b", true},
		{"/a/**/x*/b", "/a/q/xy/b", true},
		{"/a/**/x*/b", "/a/q/yx/b", false},
		{"/a/**/b/c", "/a/b/b/c", true},
		{"/a/**/b/c", "/a/b/x/b/c", true},
		{"/a/**/b/c", "/a/b/c/b", false},
		{"/a/**/b/c", "/a/b/c/b/c", true},
		{"/a/**/?/c", "/a/b/c", true},
		{"/a/**/?/c", "/a/c", false},
		{"/a/**/[bc]", "/a/x/y/c", true},
		{"/a/**/[bc]", "/a/x/y/d", false},
	};
	RUN(cases);
}

Test(glob, dstar_at_end)
{
	static const struct mcase cases[] = {
		{"/ws/**", "/ws", true},
		{"/ws/**", "/ws/", true},
		{"/ws/**", "/ws/a", true},
		{"/ws/**", "/ws/a/b/c", true},
		{"/ws/**", "/ws/.env", true},
		{"/ws/**", "/wsx", false},
		{"/ws/**", "/ws-old/a", false},
		{"/ws/**", "/w", false},
		{"/ws/**", "/", false},
		{"/ws/**", "", false},
		{"/ws/**", "/other/ws/a", false},
		{"/a/b*/**", "/a/bc", true},
		{"/a/b*/**", "/a/bc/d/e", true},
		{"/a/b*/**", "/a/c/d", false},
		{"/a/**/", "/a/", true},
		{"/a/**/", "/a/b/", true},
		{"/a/**/", "/a/b", false},
	};
	RUN(cases);
}

/* A '**' can stand for nothing at all, wherever it is; the remainders here
 * are what a caller passes after matching a rule's fixed prefix. */
Test(glob, dstar_matches_zero_components)
{
	static const struct mcase cases[] = {
		{"/**", "", true},
		{"/**", "/", true},
		{"/**", "/x/y", true},
		{"/**", "x", false},
		{"/a/**/**", "/a", true},
		{"**/**", "", true},
		{"/a/**/b/**", "/a/b", true},
		{"**/a", "a", true},
		{"/**/**/a", "/a", true},
		{"/b*/c", "", false},
		{"/b*/c", "/bx/c", true},
		{"/b*/c", "/x/y", false},
		{"/**/x", "/x", true},
		{"/**/x/**", "/x", true},
		{"/**/x/**", "/a/x/b", true},
		{"/**/x/**", "/a/y/b", false},
	};
	RUN(cases);
}

Test(glob, dotfiles_are_not_special)
{
	static const struct mcase cases[] = {
		{"/h/*", "/h/.bashrc", true},
		{"/h/.*", "/h/.bashrc", true},
		{"/h/.*", "/h/bashrc", false},
		{"/h/?bashrc", "/h/.bashrc", true},
		{"/h/**", "/h/.ssh/id_rsa", true},
		{"/h/**/id_*", "/h/.ssh/id_rsa", true},
		{"/h/*/id_rsa", "/h/.ssh/id_rsa", true},
		{"/h/[.]*", "/h/.x", true},
		{"/h/*", "/h/.", true},
		{"/h/*", "/h/..", true},
		{"/h/.?*", "/h/.", false},
	};
	RUN(cases);
}

Test(glob, empty)
{
	static const struct mcase cases[] = {
		{"", "", true},	    {"", "a", false},	 {"", "/", false},   {"a", "", false},
		{"*", "", true},    {"?", "", false},	 {"/", "", false},   {"**", "", true},
		{"/**", "", true},  {"[a]", "", false},	 {"\\", "", false},  {"***", "", true},
		{"/*", "/", true},  {"/*", "", false},
	};
	RUN(cases);
}

/* Lengths are explicit: whatever follows them in the buffer must not count. */
Test(glob, explicit_lengths)
{
	static const struct {
		const char *pat;
		size_t patlen;
		const char *str;
		size_t len;
		bool want;
	} cases[] = {
		{"/a/bXYZ", 4, "/a/b", 4, true},
		{"/a/b", 4, "/a/bXYZ", 4, true},
		{"/a/*", 3, "/a/b", 4, false},
		{"/a/*", 3, "/a/", 3, true},
		{"/a/b/c", 6, "/a/b/c", 4, false},
		{"/a/b/c", 4, "/a/b/c", 4, true},
		{"/ws/**junk", 6, "/ws/x", 5, true},
		{"/ws/**junk", 6, "/ws", 3, true},
		{"/[ab]", 3, "/[a", 3, true}, /* the class is cut before its ']' */
		{"/[ab]", 3, "/a", 2, false},
		{"/a\\*", 3, "/a\\", 3, true}, /* the escape is cut: a lone '\' */
		{"/a\\*", 3, "/a*", 3, false},
		{"abc", 0, "abc", 0, true},
		{"abc", 0, "abc", 1, false},
		{"*x", 1, "abc", 3, true},
		{"**/x", 2, "a/b/c", 5, true},
		{"**/x", 3, "a/b/c", 5, false},
		{"[!a]", 4, "bz", 1, true},
		{"[!a]z", 4, "bz", 1, true},
		/* NUL is a byte like any other */
		{"a\0b", 3, "a\0b", 3, true},
		{"a\0b", 3, "a\0c", 3, false},
		{"a?b", 3, "a\0b", 3, true},
		{"a*", 2, "a\0\0", 3, true},
		{"[\0]", 3, "\0", 1, true},
		{"[!\0]", 4, "\0", 1, false},
		{"/\0/**", 5, "/\0/x/y", 6, true},
		{"a", 2, "a", 1, false},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		bool got = match_exact(cases[i].pat, cases[i].patlen, cases[i].str, cases[i].len);
		cr_expect(got == cases[i].want, "explicit[%zu]: %.*s (%zu) vs %.*s (%zu): want %d",
			  i, (int)cases[i].patlen, cases[i].pat, cases[i].patlen, (int)cases[i].len,
			  cases[i].str, cases[i].len, cases[i].want);
	}
}

Test(glob, has_magic)
{
	static const struct {
		const char *s;
		bool want;
	} cases[] = {
		{"", false},	   {"/a/b", false},  {"/a/*", true},	   {"/a?", true},
		{"/[ab]", true},   {"/a]", false},   {"\\*", false},	   {"\\\\*", true},
		{"a\\?b", false},  {"\\[x]", false}, {"\\", false},	   {"a\\", false},
		{"**", true},	   {"!^-.{}", false}, {"/ws/**", true},	   {"[", true},
		{"\\\\", false},   {"\\\\\\[", false}, {"x\\y?", true},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		const char *s = cases[i].s;
		cr_expect(ag_glob_has_magic(s, strlen(s)) == cases[i].want,
			  "has_magic[%zu] \"%s\": want %d", i, s, cases[i].want);
	}
	cr_expect(!ag_glob_has_magic("ab*", 2), "the '*' lies beyond the length");
	cr_expect(!ag_glob_has_magic("a\\*", 2), "a trailing '\\' escapes nothing here");
	cr_expect(ag_glob_has_magic("a\0*", 3), "NUL does not end the text");
}

Test(glob, escape)
{
	static const struct {
		const char *src;
		const char *want;
	} cases[] = {
		{"", ""},
		{"/a/b", "/a/b"},
		{"*", "\\*"},
		{"a?b", "a\\?b"},
		{"[x]", "\\[x\\]"},
		{"\\", "\\\\"},
		{"/**/", "/\\*\\*/"},
		{"!^-/.{}", "!^-/.{}"},
		{"/h/[*?]\\", "/h/\\[\\*\\?\\]\\\\"},
	};
	char buf[64];

	for (size_t i = 0; i < NELEM(cases); i++) {
		size_t n = ag_glob_escape(buf, sizeof(buf), cases[i].src);
		cr_expect(n == strlen(cases[i].want), "escape[%zu] \"%s\": length %zu", i,
			  cases[i].src, n);
		cr_expect_str_eq(buf, cases[i].want, "escape[%zu] \"%s\"", i, cases[i].src);
		cr_expect(!ag_glob_has_magic(buf, n), "escape[%zu]: output has magic", i);
	}
}

Test(glob, escape_too_small)
{
	char buf[8];

	/* "a*b" becomes "a\*b": four bytes and the NUL */
	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 5, "a*b") == 4);
	cr_expect_str_eq(buf, "a\\*b");

	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 4, "a*b") == (size_t)-1);
	cr_expect(memchr(buf, '\0', 4) != NULL, "NUL-terminated within dstsz");
	cr_expect(buf[4] == 'x', "nothing written past dstsz");

	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 3, "ab*") == (size_t)-1, "no room for the escape pair");
	cr_expect(memchr(buf, '\0', 3) != NULL);
	cr_expect(buf[3] == 'x');

	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 3, "abc") == (size_t)-1, "no room for the NUL");
	cr_expect(memchr(buf, '\0', 3) != NULL);

	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 1, "a") == (size_t)-1);
	cr_expect(buf[0] == '\0' && buf[1] == 'x');

	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 1, "") == 0);
	cr_expect(buf[0] == '\0');

	memset(buf, 'x', sizeof(buf));
	cr_expect(ag_glob_escape(buf, 0, "") == (size_t)-1);
	cr_expect(buf[0] == 'x', "a zero-sized buffer is not touched");
}

/* escape(x) must match x and nothing else: x itself, x with any one byte
 * changed, x one byte shorter or longer, and every other sample. */
static void check_round_trip(const char *x, const char *const *others, size_t nothers)
{
	char pat[256], y[128];
	size_t n = ag_glob_escape(pat, sizeof(pat), x), xl = strlen(x);
	static const char subst[] = "a*?[]\\/!-.";

	cr_assert(n != (size_t)-1 && xl + 1 < sizeof(y), "escape \"%s\" failed", x);
	cr_expect(match_exact(pat, n, x, xl), "\"%s\" escaped as \"%s\" does not match it", x, pat);
	for (size_t i = 0; i < xl; i++) {
		for (const char *c = subst; *c; c++) {
			if (*c == x[i])
				continue;
			memcpy(y, x, xl + 1);
			y[i] = *c;
			cr_expect(!match_exact(pat, n, y, xl), "\"%s\" matches \"%s\"", pat, y);
		}
	}
	if (xl > 0)
		cr_expect(!match_exact(pat, n, x, xl - 1), "\"%s\" matches a prefix", pat);
	memcpy(y, x, xl);
	y[xl] = '/';
	cr_expect(!match_exact(pat, n, y, xl + 1), "\"%s\" matches \"%s/\"", pat, x);
	for (size_t j = 0; j < nothers; j++)
		if (strcmp(others[j], x) != 0)
			cr_expect(!match_exact(pat, n, others[j], strlen(others[j])),
				  "\"%s\" matches \"%s\"", pat, others[j]);
}

Test(glob, escape_round_trip)
{
	static const char *const samples[] = {
		"",	     "*",	"**",	     "/**",	  "/a/**/b", "[!a-z]", "\\",
		"\\\\*",     "[]",	"[",	     "]",	  "?*?",     "/ws/*.c", "a\\/b",
		"/[*]/?/\\", "**/**",	"/a/b",	     "[^]]",	  "*\\",     "\\[",	"/\\/",
		"/x/[a-",    "/.*",	"/.?*/**/*",
	};
	for (size_t i = 0; i < NELEM(samples); i++)
		check_round_trip(samples[i], samples, NELEM(samples));
}

/* A small generator with a fixed seed, so a failure is reproducible. */
static uint32_t rnd(uint32_t *st)
{
	*st = *st * 1103515245u + 12345u;
	return *st >> 16;
}

Test(glob, escape_round_trip_random)
{
	static const char alpha[] = "*?[]\\/!^-a";
	uint32_t st = 7;
	char x[16];

	for (int k = 0; k < 3000; k++) {
		size_t n = rnd(&st) % sizeof(x);
		for (size_t i = 0; i < n; i++)
			x[i] = alpha[rnd(&st) % (sizeof(alpha) - 1)];
		x[n] = '\0';
		check_round_trip(x, NULL, 0);
	}
}

/* The definition, written the obvious way: split both on '/', let '**'
 * take zero or more components and '*' zero or more bytes, recursively.
 * Exponential, so only for small inputs; no classes or escapes. */
struct span {
	const char *p;
	size_t n;
};

static size_t split(const char *s, struct span *out, size_t max)
{
	size_t k = 0;
	const char *beg = s;

	for (;; s++) {
		if (*s == '/' || *s == '\0') {
			cr_assert(k < max);
			out[k++] = (struct span){beg, (size_t)(s - beg)};
			if (*s == '\0')
				return k;
			beg = s + 1;
		}
	}
}

static bool ref_comp(const char *p, size_t pn, const char *s, size_t sn)
{
	if (pn == 0)
		return sn == 0;
	if (*p == '*')
		return ref_comp(p + 1, pn - 1, s, sn) || (sn > 0 && ref_comp(p, pn, s + 1, sn - 1));
	if (sn == 0)
		return false;
	return (*p == '?' || *p == *s) && ref_comp(p + 1, pn - 1, s + 1, sn - 1);
}

static bool ref_comps(const struct span *pc, size_t np, const struct span *sc, size_t ns)
{
	if (np == 0)
		return ns == 0;
	if (pc->n == 2 && memcmp(pc->p, "**", 2) == 0)
		return ref_comps(pc + 1, np - 1, sc, ns) ||
		       (ns > 0 && ref_comps(pc, np, sc + 1, ns - 1));
	return ns > 0 && ref_comp(pc->p, pc->n, sc->p, sc->n) &&
	       ref_comps(pc + 1, np - 1, sc + 1, ns - 1);
}

static bool ref_match(const char *pat, const char *str)
{
	struct span pc[32], sc[32];
	size_t np = split(pat, pc, NELEM(pc)), ns = split(str, sc, NELEM(sc));

	return ref_comps(pc, np, sc, ns);
}

/* Writes the index-th word over alpha (by length, then lexically). */
static void nth_word(char *out, unsigned long index, const char *alpha)
{
	size_t a = strlen(alpha), len = 0;
	unsigned long count = 1;

	while (index >= count) {
		index -= count;
		count *= a;
		len++;
	}
	for (size_t i = len; i-- > 0; index /= a)
		out[i] = alpha[index % a];
	out[len] = '\0';
}

Test(glob, agrees_with_definition_on_all_small_inputs)
{
	/* every pattern over {a b * ? /} up to 5 bytes, every string over
	 * {a b /} up to 5 bytes: 3906 x 364 pairs */
	char pat[8], str[8];

	for (unsigned long i = 0; i < 3906; i++) {
		nth_word(pat, i, "ab*?/");
		for (unsigned long j = 0; j < 364; j++) {
			nth_word(str, j, "ab/");
			bool want = ref_match(pat, str);
			bool got = ag_glob_match(pat, strlen(pat), str, strlen(str));
			if (got != want)
				cr_assert_fail("\"%s\" vs \"%s\": definition says %d, got %d", pat,
					       str, want, got);
		}
	}
}

Test(glob, agrees_with_definition_on_random_inputs)
{
	static const char *const ptok[] = {"a", "b", "*", "?", "/", "**", "/**/", "*a"};
	static const char *const stok[] = {"a", "b", "/", "ab", "/a/"};
	uint32_t st = 12345;
	char pat[64], str[64];

	for (int k = 0; k < 100000; k++) {
		size_t np = rnd(&st) % 9, ns = rnd(&st) % 10;
		pat[0] = str[0] = '\0';
		for (size_t i = 0; i < np; i++)
			strcat(pat, ptok[rnd(&st) % NELEM(ptok)]);
		for (size_t i = 0; i < ns; i++)
			strcat(str, stok[rnd(&st) % NELEM(stok)]);
		bool want = ref_match(pat, str);
		bool got = ag_glob_match(pat, strlen(pat), str, strlen(str));
		if (got != want)
			cr_assert_fail("\"%s\" vs \"%s\": definition says %d, got %d", pat, str,
				       want, got);
	}
}

/* Hostile inputs: only correctness is asserted; that they finish at all
 * under the test timeout is the point. */
static char *repeat(const char *head, const char *unit, size_t times, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
	char *s = malloc(hl + ul * times + tl + 1);

	cr_assert(s);
	memcpy(s, head, hl);
	for (size_t i = 0; i < times; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + ul * times, tail, tl + 1);
	return s;
}

static void expect_match(const char *pat, const char *str, bool want, const char *what)
{
	bool got = match_exact(pat, strlen(pat), str, strlen(str));
	cr_expect(got == want, "%s: want %s", what, want ? "match" : "no match");
}

Test(glob, hostile_dstar_components, .timeout = 60)
{
	char *pat = repeat("/", "**/", 2000, "z");
	char *hit = repeat("", "/a", 3999, "/z");
	char *miss = repeat("", "/a", 4000, "");
	char *alt = repeat("", "/**/a", 2000, "/z");
	char *many = repeat("", "/**", 10000, "/b");
	char *deep = repeat("", "/a", 32767, "");

	expect_match(pat, hit, true, "2000 '**' then z vs 3999 components then z");
	expect_match(pat, miss, false, "2000 '**' then z vs 4000 components without z");
	expect_match(pat, "/z", true, "2000 '**' all matching nothing");
	expect_match(alt, hit, true, "2000 '**/a' then z vs 3999 a then z");
	expect_match(alt, miss, false, "2000 '**/a' then z vs 4000 a");
	expect_match(many, deep, false, "10000 '**' then b vs 32767 components");
	many[strlen(many) - 2] = '\0';
	expect_match(many, deep, true, "10000 '**' vs 32767 components");
	expect_match(many, "", true, "10000 '**' vs nothing");
	free(pat);
	free(hit);
	free(miss);
	free(alt);
	free(many);
	free(deep);
}

Test(glob, hostile_stars, .timeout = 60)
{
	char *ab = repeat("", "*a", 5000, "*b");
	char *as = repeat("", "a", 65536, "");
	char *asb = repeat("", "a", 65535, "b");
	char *stars = repeat("/", "*", 10000, "");
	char *starsy = repeat("/", "*", 10000, "y");
	char *xs = repeat("/", "x", 65535, "");
	char *late = repeat("*", "a", 1000, "b");
	char *as20k = repeat("", "a", 20000, "");

	expect_match(ab, as, false, "*a*a...*b vs 64 KiB of a");
	expect_match(ab, asb, true, "*a*a...*b vs 64 KiB of a then b");
	expect_match(stars, xs, true, "10000 stars vs 64 KiB component");
	expect_match(starsy, xs, false, "10000 stars then y vs 64 KiB component");
	expect_match(late, as20k, false, "*aaa...ab vs 20000 a");
	expect_match(late + 1, as20k, false, "aaa...ab vs 20000 a");
	free(ab);
	free(as);
	free(asb);
	free(stars);
	free(starsy);
	free(xs);
	free(late);
	free(as20k);
}

Test(glob, hostile_brackets, .timeout = 60)
{
	char *open = repeat("/", "[", 20000, "");
	char *opens = repeat("/", "*[", 5000, "*x");
	char *brackets = repeat("/", "[", 20000, "");
	char *classes = repeat("/", "*[ab]", 2000, "*c");
	char *abs = repeat("/", "ab", 20000, "");

	expect_match(open, brackets, true, "20000 unclosed '[' vs themselves");
	expect_match(opens, brackets, false, "*[*[...*x vs 20000 '['");
	expect_match(classes, abs, false, "*[ab]...*c vs abab...");
	free(open);
	free(opens);
	free(brackets);
	free(classes);
	free(abs);
}
