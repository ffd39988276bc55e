/* ag_json_locate: the positions the loader prints for semantic errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "agentguard.h"

struct loc_case {
	const char *name;
	const char *text;
	const char *path[8]; /* NULL-terminated */
	bool key_pos;
	int rc;
	int line, column;
	size_t len; /* 0: strlen(text) */
};

#define P(...) {__VA_ARGS__, NULL}
#define TOP {NULL}
#define AT(l, c) .line = (l), .column = (c)
#define NONE .rc = -1
#define KEY .key_pos = true

/* The text goes into a buffer of exactly len bytes with nothing after it,
 * so the sanitizer catches a read past len. */
static int locate(const char *text, size_t len, const char *const *path, size_t depth,
		  bool key_pos, int *line, int *column)
{
	char *buf = malloc(len ? len : 1);
	int rc;

	cr_assert_not_null(buf);
	memcpy(buf, text, len);
	rc = ag_json_locate(buf, len, path, depth, key_pos, line, column);
	free(buf);
	return rc;
}

static void run(const struct loc_case *cases, size_t n)
{
	for (const struct loc_case *c = cases; c < cases + n; c++) {
		size_t depth = 0, len = c->len ? c->len : strlen(c->text);
		int line = -7, column = -7;

		while (c->path[depth])
			depth++;
		int rc = locate(c->text, len, c->path, depth, c->key_pos, &line, &column);
		cr_expect_eq(rc, c->rc, "%s: returned %d, want %d", c->name, rc, c->rc);
		if (c->rc == 0)
			cr_expect(line == c->line && column == c->column,
				  "%s: at %d:%d, want %d:%d", c->name, line, column, c->line,
				  c->column);
		else
			cr_expect(line == -7 && column == -7, "%s: wrote a position on failure",
				  c->name);
	}
}

#define RUN(cases) run(cases, sizeof(cases) / sizeof(cases[0]))

/* Shaped like a policy, with the mistakes the loader reports. */
static const char policy[] =
	"{\n"
	"  \"version\": 1,\n"
	"  \"default\": \"deny\",\n"
	"  \"rules\": [\n"
	"    {\"id\": \"r0\", \"ops\": [\"read\"]},\n"
	"    {\"id\": \"r1\", \"ops\": [\"read\", \"write\"], \"paths\": [\"/ws/**\"]},\n"
	"    {\n"
	"      \"id\": \"r2\",\n"
	"      \"ops\": [\"read\", \"wirte\"]\n"
	"    },\n"
	"    {\"id\": \"r3\", \"ops\": [\"exec\", \"conect\"], \"foo\": true}\n"
	"  ]\n"
	"}\n";

Test(jsonloc, top_level)
{
	static const struct loc_case cases[] = {
		{"object", "{\"a\": 1}", TOP, AT(1, 1)},
		{"after whitespace", "  \n\t [1]", TOP, AT(2, 3)},
		{"key_pos without a key", "  {}", TOP, KEY, AT(1, 3)},
		{"string", "\"str\"", TOP, AT(1, 1)},
		{"number", "  42  ", TOP, AT(1, 3)},
		{"null", "\nnull", TOP, AT(2, 1)},
		{"policy", policy, TOP, AT(1, 1)},
		{"empty text", "", TOP, NONE},
		{"only whitespace", " \n\t\r ", TOP, NONE},
		{"key into empty object", "{}", P("a"), NONE},
		{"index into empty array", "[]", P("[0]"), NONE},
	};
	RUN(cases);
}

Test(jsonloc, policy_paths)
{
	static const struct loc_case cases[] = {
		{"version", policy, P("version"), AT(2, 14)},
		{"version key", policy, P("version"), KEY, AT(2, 3)},
		{"default", policy, P("default"), AT(3, 14)},
		{"rules", policy, P("rules"), AT(4, 12)},
		{"rules key", policy, P("rules"), KEY, AT(4, 3)},
		{"rules[0]", policy, P("rules", "[0]"), AT(5, 5)},
		{"rules[1] key_pos on index", policy, P("rules", "[1]"), KEY, AT(6, 5)},
		{"rules[1].paths[0]", policy, P("rules", "[1]", "paths", "[0]"), AT(6, 54)},
		{"rules[2]", policy, P("rules", "[2]"), AT(7, 5)},
		{"rules[2].id key", policy, P("rules", "[2]", "id"), KEY, AT(8, 7)},
		{"rules[2].id", policy, P("rules", "[2]", "id"), AT(8, 13)},
		{"rules[2].ops[1]", policy, P("rules", "[2]", "ops", "[1]"), AT(9, 23)},
		{"rules[3].foo key", policy, P("rules", "[3]", "foo"), KEY, AT(11, 45)},
		{"rules[3].foo", policy, P("rules", "[3]", "foo"), AT(11, 52)},
		{"rules[3].ops[1]", policy, P("rules", "[3]", "ops", "[1]"), AT(11, 34)},
		{"missing key", policy, P("nokey"), NONE},
		{"missing nested key", policy, P("rules", "[3]", "bar"), NONE},
		{"index past end", policy, P("rules", "[4]"), NONE},
		{"inner index past end", policy, P("rules", "[1]", "ops", "[2]"), NONE},
		{"key into array", policy, P("rules", "ops"), NONE},
		{"index into object", policy, P("[0]"), NONE},
		{"into a number", policy, P("version", "[0]"), NONE},
		{"into a string", policy, P("default", "d"), NONE},
		{"key prefix", policy, P("vers"), NONE},
		{"key extended", policy, P("versions"), NONE},
	};
	RUN(cases);
}

static const char escaped[] = "{\n"
			      "\"s\": \"}]{[,:\\\"\\\\\",\n"
			      "\"a\\\"b\": 1,\n"
			      "\"c\\\\d\": 2,\n"
			      "\"e\\/f\": 3,\n"
			      "\"\\b\\f\\n\\r\\t\": 4,\n"
			      "\"\\u0066oo\": 5,\n"
			      "\"caf\\u00e9\": 6,\n"
			      "\"\\ud83d\\ude00\": 7,\n"
			      "\"z\": 8\n"
			      "}";

Test(jsonloc, escapes)
{
	static const struct loc_case cases[] = {
		{"string full of punctuation", escaped, P("s"), AT(2, 6)},
		{"escaped quote", escaped, P("a\"b"), AT(3, 9)},
		{"escaped quote key", escaped, P("a\"b"), KEY, AT(3, 1)},
		{"escaped backslash", escaped, P("c\\d"), AT(4, 9)},
		{"escaped slash", escaped, P("e/f"), AT(5, 9)},
		{"control escapes", escaped, P("\b\f\n\r\t"), AT(6, 15)},
		{"\\u0066oo is foo", escaped, P("foo"), AT(7, 13)},
		{"\\u00e9 as UTF-8", escaped, P("caf\xc3\xa9"), AT(8, 14)},
		{"surrogate pair as UTF-8", escaped, P("\xf0\x9f\x98\x80"), AT(9, 17)},
		{"after all of them", escaped, P("z"), AT(10, 6)},
		{"undecoded spelling", escaped, P("\\u0066oo"), NONE},
		{"escaped slash spelt", escaped, P("e\\/f"), NONE},
		{"decoded prefix", escaped, P("fo"), NONE},
		{"decoded extended", escaped, P("fooo"), NONE},
		{"partial UTF-8", escaped, P("caf\xc3"), NONE},
		{"uppercase hex", "{\"\\u0041\": 1}", P("A"), AT(1, 12)},
		{"raw UTF-8 key", "{\"\xc3\xa9\": 1, \"x\": 2}", P("\xc3\xa9"), AT(1, 8)},
		{"columns count bytes", "{\"\xc3\xa9\": 1, \"x\": 2}", P("x"), AT(1, 16)},
		{"columns count bytes, key", "{\"\xc3\xa9\": 1, \"x\": 2}", P("x"), KEY, AT(1, 11)},
		{"key that looks like an index", "{\"[0]\": 5}", P("[0]"), AT(1, 9)},
		{"unknown escape", "{\"\\x\": 1}", TOP, NONE},
		{"short \\u", "{\"\\u12\": 1}", TOP, NONE},
		{"bad hex", "{\"\\u12g4\": 1}", TOP, NONE},
		{"lone high surrogate", "{\"\\ud83d\": 1}", TOP, NONE},
		{"lone low surrogate", "{\"\\ude00\": 1}", TOP, NONE},
		{"high then not low", "{\"\\ud83d\\u0041\": 1}", TOP, NONE},
		{"high then plain text", "{\"\\ud83dxx\": 1}", TOP, NONE},
		{"raw tab in string", "{\"a\tb\": 1}", TOP, NONE},
		{"raw newline in string", "[\"a\nb\"]", TOP, NONE},
	};
	RUN(cases);
}

Test(jsonloc, scalars)
{
	static const char arr[] = "[1, -2.5e+3, 0, true, false, null, \"x\", 1E10, -0]";
	static const struct loc_case cases[] = {
		{"integer", arr, P("[0]"), AT(1, 2)},
		{"exponent", arr, P("[1]"), AT(1, 5)},
		{"zero", arr, P("[2]"), AT(1, 14)},
		{"true", arr, P("[3]"), AT(1, 17)},
		{"false", arr, P("[4]"), AT(1, 23)},
		{"null", arr, P("[5]"), AT(1, 30)},
		{"string", arr, P("[6]"), AT(1, 36)},
		{"capital E", arr, P("[7]"), AT(1, 41)},
		{"minus zero", arr, P("[8]"), AT(1, 47)},
		{"past end", arr, P("[9]"), NONE},
		{"leading zero", "[01]", TOP, NONE},
		{"bare point", "[1.]", TOP, NONE},
		{"no integer part", "[.5]", TOP, NONE},
		{"plus sign", "[+1]", TOP, NONE},
		{"empty exponent", "[1e]", TOP, NONE},
		{"signed empty exponent", "[1e-]", TOP, NONE},
		{"lone minus", "[-]", TOP, NONE},
		{"short true", "[tru]", TOP, NONE},
		{"short null", "[nul]", TOP, NONE},
		{"long true", "[truee]", TOP, NONE},
		{"capital True", "[True]", TOP, NONE},
		{"two numbers", "[1 2]", TOP, NONE},
	};
	RUN(cases);
}

Test(jsonloc, empty_containers)
{
	static const char doc[] = "{\"a\": {}, \"b\": [], \"c\": [{}, []]}";
	static const struct loc_case cases[] = {
		{"empty object", doc, P("a"), AT(1, 7)},
		{"empty array", doc, P("b"), AT(1, 16)},
		{"empty object in array", doc, P("c", "[0]"), AT(1, 26)},
		{"empty array in array", doc, P("c", "[1]"), AT(1, 30)},
		{"key in empty object", doc, P("a", "x"), NONE},
		{"index in empty array", doc, P("b", "[0]"), NONE},
		{"index in inner empty", doc, P("c", "[1]", "[0]"), NONE},
		{"past end", doc, P("c", "[2]"), NONE},
		{"spaced empties", "[ { } , [\n] ]", P("[1]"), AT(1, 9)},
	};
	RUN(cases);
}

Test(jsonloc, duplicates_and_indexes)
{
	static const char dup[] = "{\"k\": 1, \"k\": 2}";
	static const char arr[] = "[10, 11, 12]";
	static const struct loc_case cases[] = {
		{"first duplicate", dup, P("k"), AT(1, 7)},
		{"first duplicate key", dup, P("k"), KEY, AT(1, 2)},
		{"escaped duplicate first", "{\"\\u006b\": 1, \"k\": 2}", P("k"), AT(1, 12)},
		{"leading zeros in index", arr, P("[002]"), AT(1, 10)},
		{"negative index", arr, P("[-1]"), NONE},
		{"space in index", arr, P("[ 1]"), NONE},
		{"unclosed index", arr, P("[1"), NONE},
		{"empty index", arr, P("[]"), NONE},
		{"trailing text after index", arr, P("[1]x"), NONE},
		{"bare number", arr, P("1"), NONE},
		{"huge index", arr, P("[99999999999999999999999999]"), NONE},
	};
	RUN(cases);
}

Test(jsonloc, line_endings)
{
	static const char crlf[] = "{\r\n  \"a\": 1,\r\n  \"b\": [\r\n    true\r\n  ]\r\n}\r\n";
	static const struct loc_case cases[] = {
		{"CRLF", crlf, P("a"), AT(2, 8)},
		{"CRLF key", crlf, P("b"), KEY, AT(3, 3)},
		{"CRLF nested", crlf, P("b", "[0]"), AT(4, 5)},
		{"lone CR", "{\r\"a\":\r1}", P("a"), AT(3, 1)},
		{"lone CR key", "{\r\"a\":\r1}", P("a"), KEY, AT(2, 1)},
		{"LF, CRLF, CR", "\n\r\n\r[1]", TOP, AT(4, 1)},
		{"CR then CRLF", "\r\r\n[1]", TOP, AT(3, 1)},
		{"LF CR is two", "\n\r[1]", TOP, AT(3, 1)},
		{"tab is one column", "{\t\"a\":\t1}", P("a"), AT(1, 8)},
	};
	RUN(cases);
}

Test(jsonloc, malformed)
{
	static const struct loc_case cases[] = {
		{"trailing text", "{\"a\": 1} x", P("a"), NONE},
		{"second value", "{\"a\": 1}{}", P("a"), NONE},
		{"extra brace", "{\"a\": 1}}", P("a"), NONE},
		{"missing colon", "{\"a\" 1}", TOP, NONE},
		{"missing comma", "{\"a\": 1 \"b\": 2}", P("a"), NONE},
		{"trailing comma in array", "[1,]", P("[0]"), NONE},
		{"trailing comma in object", "{\"a\": 1,}", P("a"), NONE},
		{"lone comma", "{,}", TOP, NONE},
		{"number key", "{1: 2}", TOP, NONE},
		{"single quotes", "{'a': 1}", TOP, NONE},
		{"mismatched close", "[1}", TOP, NONE},
		{"unopened close", "]", TOP, NONE},
		{"vertical tab", "\v[1]", TOP, NONE},
		{"damage after the target", "{\"a\": 1, \"b\": [}", P("a"), NONE},
	};
	RUN(cases);
}

Test(jsonloc, truncated)
{
	static const struct loc_case cases[] = {
		{"in a string", "{\"a\": \"abc", TOP, NONE},
		{"in an escape", "{\"a\": \"\\", TOP, NONE},
		{"in a \\u", "{\"a\": \"\\u00", TOP, NONE},
		{"one hex digit short", "[\"\\u004", TOP, NONE},
		{"between surrogates", "[\"\\ud83d\\", TOP, NONE},
		{"in a literal", "{\"a\": tr", TOP, NONE},
		{"after a comma", "{\"a\": 1,", TOP, NONE},
		{"after a key", "{\"a\"", TOP, NONE},
		{"after a colon", "{\"a\":", TOP, NONE},
		{"unclosed array", "[1, 2", P("[0]"), NONE},
		{"in an exponent", "[1e", TOP, NONE},
	};
	RUN(cases);

	/* Every strict prefix of an object is malformed. */
	const char *path[] = {"version"};
	for (size_t len = 0; len < strlen(policy) - 1; len++) {
		int line = -7, column = -7;
		int rc = locate(policy, len, path, 1, false, &line, &column);
		cr_expect_eq(rc, -1, "prefix of %zu bytes: returned %d", len, rc);
	}
}

/* The loader hands over a buffer with its length; what follows is not ours. */
Test(jsonloc, explicit_len)
{
	static const struct loc_case cases[] = {
		{"second document ignored", "{\"a\":1}{\"b\":2}", P("a"), AT(1, 6), .len = 7},
		{"nor the one past len", "{\"a\":1}{\"b\":2}", P("b"), NONE, .len = 7},
		{"garbage ignored", "{\"a\":1} trailing garbage", P("a"), AT(1, 6), .len = 7},
		{"space then garbage", "{\"a\":1} trailing garbage", P("a"), AT(1, 6), .len = 8},
		{"cut object", "{\"a\":1,\"b\":2}", P("a"), NONE, .len = 7},
		{"array then junk", "[1, 2, 3]xyz", P("[2]"), AT(1, 8), .len = 9},
		{"cut string", "\"abc\"", TOP, NONE, .len = 4},
		{"cut number is a number", "123456", TOP, AT(1, 1), .len = 3},
		{"NUL inside len", "[1,\0 2]", TOP, NONE, .len = 7},
	};
	RUN(cases);
}

static char *nested(size_t n, const char *open, const char *inner, const char *close)
{
	size_t lo = strlen(open), li = strlen(inner), lc = strlen(close);
	char *s = malloc(n * (lo + lc) + li + 1), *p = s;

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, inner, li);
	p += li;
	for (size_t i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static const char **repeat(size_t n, const char *elem)
{
	const char **path = malloc((n ? n : 1) * sizeof(*path));

	cr_assert_not_null(path);
	for (size_t i = 0; i < n; i++)
		path[i] = elem;
	return path;
}

#define ARR "[", "]", "[0]"
#define OBJ "{\"a\":", "}", "a"

/* 512 levels are allowed; past that the answer is -1 and the stack survives. */
Test(jsonloc, nesting_limit)
{
	static const struct {
		size_t levels, depth;
		const char *inner, *open, *close, *elem;
		int rc, column;
	} cases[] = {
		{512, 0, "", ARR, 0, 1},	   {512, 511, "", ARR, 0, 512},
		{512, 512, "", ARR, -1, 0},	   {512, 512, "7", ARR, 0, 513},
		{513, 0, "", ARR, -1, 0},	   {512, 511, "0", OBJ, 0, 2556},
		{512, 512, "0", OBJ, 0, 2561},	   {513, 0, "0", OBJ, -1, 0},
		{100000, 0, "", ARR, -1, 0},	   {100000, 3, "0", OBJ, -1, 0},
		{2, 600, "", ARR, -1, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = nested(cases[i].levels, cases[i].open, cases[i].inner, cases[i].close);
		const char **path = repeat(cases[i].depth, cases[i].elem);
		int line = 0, column = 0;
		int rc = locate(text, strlen(text), path, cases[i].depth, false, &line, &column);

		cr_expect_eq(rc, cases[i].rc, "case %zu: returned %d", i, rc);
		if (rc == 0 && cases[i].rc == 0)
			cr_expect(line == 1 && column == cases[i].column, "case %zu: at %d:%d", i,
				  line, column);
		free(path);
		free(text);
	}
}

Test(jsonloc, arguments)
{
	const char *path[] = {"a", NULL};
	int line = -7, column = -7;

	cr_expect_eq(ag_json_locate(NULL, 0, NULL, 0, false, &line, &column), -1);
	cr_expect_eq(ag_json_locate("{}", 2, NULL, 1, false, &line, &column), -1);
	cr_expect_eq(ag_json_locate("{\"a\":1}", 7, path, 2, false, &line, &column), -1);
	cr_expect(line == -7 && column == -7);
	cr_expect_eq(ag_json_locate("{\"a\":1}", 7, path, 1, false, NULL, NULL), 0);
	cr_expect_eq(ag_json_locate("{\"a\":1}", 7, path, 1, false, &line, &column), 0);
	cr_expect(line == 1 && column == 6);
}
