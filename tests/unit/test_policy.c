/* ag_policy_compile: every way a policy can be wrong, each reported at the
 * element that is wrong; what a good policy compiles to; and inputs built to
 * hurt a loader (deep nesting, many rules, long patterns, bad bytes).
 *
 * Error cases mark the expected position with a backtick in the text: the
 * backtick is removed before compiling and the error must point at the byte
 * that followed it. jansson's own syntax errors point at the last byte of
 * the token it tripped on; the loader's errors at the start of the element. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agentguard.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MARK	 '`'

static const ag_vars_t vars = {.workspace = "/w", .home = "/h", .tmpdir = "/t"};

struct ecase {
	const char *name;
	const char *text;
	size_t len;	  /* 0: strlen(text); set when the text holds a NUL */
	int line, col;	  /* used only when the text has no marker */
	const char *want; /* a substring of err.text */
};

/* Copies text without its marker; the marker's line and column (1-based,
 * counting bytes like an editor's status bar) go to *line and *col. */
static char *unmark(const char *text, size_t len, size_t *outlen, int *line, int *col)
{
	char *out = malloc(len + 1);
	size_t o = 0;
	int ln = 1, cl = 1;

	cr_assert_not_null(out);
	for (size_t i = 0; i < len; i++) {
		if (text[i] == MARK) {
			*line = ln;
			*col = cl;
			continue;
		}
		if (text[i] == '\n') {
			ln++;
			cl = 1;
		} else {
			cl++;
		}
		out[o++] = text[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static void expect_error(const char *name, const char *text, size_t len, int line, int col,
			 const char *want, const ag_vars_t *v)
{
	size_t n;
	int wl = line, wc = col;
	char *src = unmark(text, len, &n, &wl, &wc);
	/* Exactly n bytes, so a read past the end is caught under ASan. */
	char *exact = malloc(n ? n : 1);
	void *blob = (void *)0x1;
	size_t blen = 77;
	ag_error_t err;

	cr_assert_not_null(exact);
	memcpy(exact, src, n);
	int rc = ag_policy_compile(exact, n, "p.json", v, &blob, &blen, &err);
	cr_expect_eq(rc, -1, "%s: compiled, want an error", name);
	cr_expect(blob == (void *)0x1 && blen == 77, "%s: touched the outputs on error", name);
	cr_expect_str_eq(err.source, "p.json", "%s: source \"%s\"", name, err.source);
	cr_expect(err.line == wl && err.column == wc, "%s: at %d:%d, want %d:%d (%s)", name,
		  err.line, err.column, wl, wc, err.text);
	cr_expect(strstr(err.text, want) != NULL, "%s: text \"%s\" lacks \"%s\"", name, err.text,
		  want);
	free(exact);
	free(src);
}

static void run_errors(const struct ecase *c, size_t n, const ag_vars_t *v)
{
	for (size_t i = 0; i < n; i++)
		expect_error(c[i].name, c[i].text, c[i].len ? c[i].len : strlen(c[i].text),
			     c[i].line, c[i].col, c[i].want, v);
}

#define RUN(cases) run_errors(cases, NELEM(cases), &vars)

/* A policy of one rule whose text is given, on line 4. */
#define ONE(rule) "{\n  \"version\": 1,\n  \"rules\": [\n    " rule "\n  ]\n}\n"
/* A good rule, to go before or after the one under test. */
#define GOOD "{\"id\": \"g\", \"ops\": [\"read\"], \"paths\": [\"/g\"], \"action\": \"deny\"}"

Test(policy_errors, syntax)
{
	static const struct ecase cases[] = {
	    {"trailing comma", "{\"version\": 1, \"rules\": [],`}", 0, 0, 0,
	     "string or '}' expected"},
	    {"truncated", "{\"version\": 1, \"rules\": `[", 0, 0, 0, "']' expected"},
	    {"single quotes", "{`'version': 1}", 0, 0, 0, "string or '}' expected"},
	    {"text after the object", "{\"version\": 1, \"rules\": [] } `x", 0, 0, 0,
	     "end of file expected"},
	    {"bare string", "\"str`\"", 0, 0, 0, "'[' or '{' expected"},
	    {"missing comma on line 5",
	     "{\n  \"version\": 1,\n  \"rules\": [\n    " GOOD "\n    `{\"id\": \"b\"}\n  ]\n}\n",
	     0, 0, 0, "']' expected"},
	    {"empty input", "", 0, 1, 0, "expected near end of file"},
	    {"only whitespace", "\n\n  ` ", 0, 0, 0, "expected near end of file"},
	};
	RUN(cases);
}

Test(policy_errors, duplicate_keys)
{
	static const struct ecase cases[] = {
	    {"top level", "{\"version\": 1,\n \"version`\": 1, \"rules\": []}", 0, 0, 0,
	     "duplicate object key"},
	    {"in a rule",
	     ONE("{\"id\": \"a\", \"id`\": \"b\", \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "duplicate object key"},
	    {"rules twice", "{\"rules\": [], \"version\": 1, \"rules`\": []}", 0, 0, 0,
	     "duplicate object key"},
	};
	RUN(cases);
}

Test(policy_errors, unknown_fields)
{
	static const struct ecase cases[] = {
	    {"top level", "{\"version\": 1, \"rules\": [], `\"rulez\": []}", 0, 0, 0,
	     "unknown field \"rulez\" in the policy; known fields: version, description, "
	     "default, unguardable, rules"},
	    {"in a rule",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], `\"pathz\": [\"/x\"], \"action\": "
		 "\"deny\"}"),
	     0, 0, 0,
	     "unknown field \"pathz\" in a rule; known fields: id, description, ops, paths, "
	     "action, errno, unguardable, argv, addrs, ports, hosts"},
	    {"in the second rule",
	     "{\n  \"version\": 1,\n  \"rules\": [\n    " GOOD ",\n    {\"id\": \"b\", "
	     "\"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": \"deny\",\n     `\"Errno\": "
	     "\"EPERM\"}\n  ]\n}\n",
	     0, 0, 0, "unknown field \"Errno\""},
	    /* Field names are matched exactly; an escaped key is still its text. */
	    {"escaped key", "{\"version\": 1, \"rules\": [], `\"\\u0072ulesx\": 1}", 0, 0, 0,
	     "unknown field \"rulesx\""},
	};
	RUN(cases);
}

Test(policy_errors, unknown_names)
{
	static const struct ecase cases[] = {
	    {"op",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\", `\"wirte\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "unknown operation \"wirte\"; known: read, write, create"},
	    {"op in upper case",
	     ONE("{\"id\": \"a\", \"ops\": [`\"READ\"], \"paths\": [\"/x\"], \"action\": "
		 "\"deny\"}"),
	     0, 0, 0, "unknown operation \"READ\""},
	    {"action",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": "
		 "`\"block\"}"),
	     0, 0, 0, "unknown action \"block\"; expected \"allow\", \"deny\" or \"audit\""},
	    {"default", "{\"version\": 1, \"default\": `\"permit\", \"rules\": []}", 0, 0, 0,
	     "unknown action \"permit\""},
	    {"errno",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": "
		 "\"deny\", \"errno\": `\"EFOO\"}"),
	     0, 0, 0, "unknown errno \"EFOO\""},
	    {"errno as a number",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": \"deny\", "
		 "\"errno\": `13}"),
	     0, 0, 0, "\"errno\" must be a string"},
	};
	RUN(cases);
}

Test(policy_errors, ids)
{
	static const struct ecase cases[] = {
	    {"space",
	     ONE("{\"id\": `\"has space\", \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "rule id \"has space\" must be 1 to 64 letters"},
	    {"empty",
	     ONE("{\"id\": `\"\", \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "must be 1 to 64"},
	    {"slash",
	     ONE("{\"id\": `\"a/b\", \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "must be 1 to 64"},
	    {"65 characters",
	     ONE("{\"id\": `\"a234567890123456789012345678901234567890123456789012345678901234"
		 "5\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "must be 1 to 64"},
	    {"number",
	     ONE("{\"id\": `7, \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "\"id\" must be a string"},
	    {"used twice",
	     "{\n  \"version\": 1,\n  \"rules\": [\n    " GOOD ",\n    {\"ops\": [\"read\"], "
	     "\"id\": `\"g\", \"paths\": [\"/x\"], \"action\": \"deny\"}\n  ]\n}\n",
	     0, 0, 0, "rule id \"g\" is used twice"},
	};
	RUN(cases);
}

Test(policy_errors, missing_fields)
{
	static const struct ecase cases[] = {
	    {"id", ONE("`{\"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": \"deny\"}"), 0, 0,
	     0, "rule [0] has no \"id\""},
	    {"ops", ONE("`{\"id\": \"a\", \"paths\": [\"/x\"], \"action\": \"deny\"}"), 0, 0, 0,
	     "rule [0] has no \"ops\""},
	    {"paths", ONE("`{\"id\": \"a\", \"ops\": [\"read\"], \"action\": \"deny\"}"), 0, 0, 0,
	     "rule [0] has no \"paths\""},
	    {"action", ONE("`{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"]}"), 0, 0, 0,
	     "rule [0] has no \"action\""},
	    {"empty rule", "{\"version\": 1, \"rules\": [" GOOD ", `{}]}", 0, 0, 0,
	     "rule [1] has no \"id\""},
	    {"version", "`{\"rules\": []}", 0, 0, 0, "has no \"version\""},
	    {"version, indented", "\n  `{\"rules\": []}", 0, 0, 0, "has no \"version\""},
	    {"rules", "`{\"version\": 1}", 0, 0, 0, "needs a \"rules\" array"},
	    {"empty object", "`{}", 0, 0, 0, "has no \"version\""},
	};
	RUN(cases);
}

Test(policy_errors, patterns)
{
	static const struct ecase cases[] = {
	    {"relative",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/ok\", `\"x/y\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "path pattern \"x/y\" is not absolute"},
	    {"tilde",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"~/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "is not absolute"},
	    {"empty",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "is not absolute"},
	    {"single star",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"*.c\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "is not absolute"},
	    {"dot dot",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"/a/../b\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "contains \"..\""},
	    {"dot dot last",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[`\"${HOME}/..\"], \"action\": \"deny\"}"),
	     0, 0, 0, "contains \"..\""},
	    {"dot dot after **",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[`\"**/../x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "contains \"..\""},
	    {"unknown variable",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[`\"${USER}/x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "unknown variable ${USER}"},
	    {"lower-case variable",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[`\"${workspace}/x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "unknown variable ${workspace}"},
	    {"empty variable",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[`\"/x${}\"], \"action\": \"deny\"}"),
	     0, 0, 0, "unknown variable ${}"},
	    {"unterminated",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[`\"${HOME/x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "unterminated ${ in \"${HOME/x\""},
	    {"unterminated after a good one",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"${HOME}/${TMPDIR\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "unterminated ${"},
	};
	RUN(cases);
}

Test(policy_errors, errno_needs_deny)
{
	static const struct ecase cases[] = {
	    {"allow",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": "
		 "\"allow\", \"errno\": `\"EPERM\"}"),
	     0, 0, 0, "\"errno\" only applies to deny rules"},
	    {"audit, errno first",
	     ONE("{\"errno\": `\"EACCES\", \"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
		 "[\"/x\"], \"action\": \"audit\"}"),
	     0, 0, 0, "\"errno\" only applies to deny rules"},
	};
	RUN(cases);
}

Test(policy_errors, wrong_types)
{
	static const struct ecase cases[] = {
	    {"root array", "`[]", 0, 0, 0, "a policy must be a JSON object"},
	    {"version string", "{\"version\": `\"1\", \"rules\": []}", 0, 0, 0,
	     "unsupported policy version"},
	    {"version real", "{\"version\": `1.0, \"rules\": []}", 0, 0, 0,
	     "unsupported policy version"},
	    {"version bool", "{\"version\": `true, \"rules\": []}", 0, 0, 0,
	     "unsupported policy version"},
	    {"rules object", "{\"version\": 1, \"rules\": `{}}", 0, 0, 0,
	     "needs a \"rules\" array"},
	    {"rules null", "{\"version\": 1, \"rules\": `null}", 0, 0, 0,
	     "needs a \"rules\" array"},
	    {"rule string", "{\"version\": 1, \"rules\": [" GOOD ", `\"deny all\"]}", 0, 0, 0,
	     "each rule must be an object"},
	    {"rule array", "{\"version\": 1, \"rules\": [`[]]}", 0, 0, 0,
	     "each rule must be an object"},
	    {"ops string",
	     ONE("{\"id\": \"a\", \"ops\": `\"read\", \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "\"ops\" must be a non-empty array"},
	    {"op number",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\", `1], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "an operation must be a string"},
	    {"paths string",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": `\"/x\", "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "\"paths\" must be a non-empty array"},
	    {"path null",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\", `null], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "a path pattern must be a string"},
	    {"path object",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`{\"p\": 1}], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "a path pattern must be a string"},
	    {"action bool",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": `true}"),
	     0, 0, 0, "an action must be a string"},
	    {"default number", "{\"version\": 1, \"default\": `0, \"rules\": []}", 0, 0, 0,
	     "an action must be a string"},
	    {"description number", "{\"version\": 1, \"description\": `5, \"rules\": []}", 0, 0, 0,
	     "\"description\" must be a string"},
	    {"rule description array",
	     ONE("{\"id\": \"a\", \"description\": `[\"x\"], \"ops\": [\"read\"], \"paths\": "
		 "[\"/x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "\"description\" must be a string"},
	};
	RUN(cases);
}

Test(policy_errors, versions)
{
	static const struct ecase cases[] = {
	    {"2", "{\"version\": `2, \"rules\": []}", 0, 0, 0, "this agentguard reads 1"},
	    {"0", "{\"version\": `0, \"rules\": []}", 0, 0, 0, "this agentguard reads 1"},
	    {"-1", "{\"version\": `-1, \"rules\": []}", 0, 0, 0, "this agentguard reads 1"},
	    {"huge", "{\"version\": `4294967297, \"rules\": []}", 0, 0, 0,
	     "this agentguard reads 1"},
	    {"null", "{\"rules\": [], \"version\": `null}", 0, 0, 0, "unsupported policy version"},
	};
	RUN(cases);
}

Test(policy_errors, empty_arrays)
{
	static const struct ecase cases[] = {
	    {"ops", ONE("{\"id\": \"a\", \"ops\": `[], \"paths\": [\"/x\"], \"action\": \"deny\"}"),
	     0, 0, 0, "\"ops\" must be a non-empty array"},
	    {"paths",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": `[ ], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "\"paths\" must be a non-empty array"},
	};
	RUN(cases);
}

/* jansson refuses NUL in strings (no JSON_ALLOW_NUL), as an escape or raw. */
Test(policy_errors, nul)
{
	static const char raw_in_string[] =
	    "{\"version\": 1, \"rules\": [], \"description\": \"`a\0b\"}";
	static const char raw_outside[] = "{\"version\": 1,`\0 \"rules\": []}";
	static const struct ecase cases[] = {
	    {"escaped in a path",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"/x\\u0000y`\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "\\u0000 is not allowed"},
	    {"escaped in an id",
	     ONE("{\"id\": \"a\\u0000`\", \"ops\": [\"read\"], \"paths\": [\"/x\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "\\u0000 is not allowed"},
	    {"raw in a string", raw_in_string, sizeof(raw_in_string) - 1, 0, 0,
	     "control character 0x0"},
	    {"raw outside a string", raw_outside, sizeof(raw_outside) - 1, 0, 0,
	     "string or '}' expected"},
	};
	RUN(cases);
}

Test(policy_errors, bad_bytes)
{
	static const struct ecase cases[] = {
	    {"0xff in a string",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"`/\xff\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "unable to decode byte 0xff"},
	    {"overlong slash",
	     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [\"`/\xc0\xaf\"], "
		 "\"action\": \"deny\"}"),
	     0, 0, 0, "unable to decode byte 0xc0"},
	    {"truncated sequence in a key", "{\"version\": 1, \"rules\": [], `\"\xe2\x82\": 1}", 0,
	     0, 0, "unable to decode byte"},
	    {"0xff after the object", "{\"version\": 1, \"rules\": []`}\xff", 0, 0, 0,
	     "unable to decode byte 0xff"},
	    {"lone surrogate", "{\"version\": 1, \"rules\": [], \"x\": \"\\ud800`\"}", 0, 0, 0,
	     "invalid Unicode"},
	};
	RUN(cases);
}

/* Columns count bytes; CRLF is one line break; tabs are one column. */
Test(policy_errors, line_endings_and_tabs)
{
	static const struct ecase crlf[] = {
	    {"crlf",
	     "{\r\n\t\"version\": 1,\r\n\t\"rules\": [\r\n\t\t{\"id\": \"a\", \"ops\": "
	     "[\"read\"], `\"pathz\": [\"/x\"], \"action\": \"deny\"}\r\n\t]\r\n}\r\n",
	     0, 0, 0, "unknown field \"pathz\""},
	    {"tabs", "{\n\t\"version\": 1,\n\t\"rules\": [],\n\t\t`\"extra\": 1\n}\n", 0, 0, 0,
	     "unknown field \"extra\""},
	    {"after UTF-8",
	     "{\"description\": \"\xc3\xa9t\xc3\xa9\", \"version\": `\"1\", "
	     "\"rules\": []}",
	     0, 0, 0, "unsupported policy version"},
	};
	run_errors(crlf, NELEM(crlf), &vars);
}

/* The message and position the CLI prints for the example in the brief. */
Test(policy_errors, documented_example)
{
	static const char text[] = "{\n"
				   "  \"version\": 1,\n"
				   "  \"rules\": [\n"
				   "    {\n"
				   "      \"id\": \"a\",\n"
				   "      \"ops\": [\"read\"],\n"
				   "        \"pathz\": [\"/x\"],\n"
				   "      \"action\": \"deny\"\n"
				   "    }\n"
				   "  ]\n"
				   "}\n";
	expect_error("example", text, strlen(text), 7, 9,
		     "unknown field \"pathz\" in a rule; known fields: id, description, ops, "
		     "paths, action, errno, unguardable, argv, addrs, ports, hosts",
		     &vars);
}

Test(policy_errors, compile_file)
{
	char dir[] = "/tmp/agt-policy-XXXXXX";
	void *blob = NULL;
	size_t len = 0;
	ag_error_t err;

	cr_assert_not_null(mkdtemp(dir));
	char missing[64];
	snprintf(missing, sizeof(missing), "%s/none.json", dir);
	cr_expect_eq(ag_policy_compile_file(missing, &vars, &blob, &len, &err), -1);
	cr_expect_str_eq(err.source, missing);
	cr_expect(err.line == 0 && err.column == 0);
	cr_expect(strstr(err.text, "cannot open") != NULL, "text: %s", err.text);
	cr_expect(strstr(err.text, "No such file") != NULL, "text: %s", err.text);

	/* A directory opens but does not read. */
	cr_expect_eq(ag_policy_compile_file(dir, &vars, &blob, &len, &err), -1);
	cr_expect_str_eq(err.source, dir);
	cr_expect(err.text[0] != '\0');

	char file[64];
	snprintf(file, sizeof(file), "%s/p.json", dir);
	FILE *f = fopen(file, "w");
	cr_assert_not_null(f);
	fputs("{\n  \"version\": 1,\n  \"rules\": [],\n  \"bogus\": 1\n}\n", f);
	fclose(f);
	cr_expect_eq(ag_policy_compile_file(file, &vars, &blob, &len, &err), -1);
	cr_expect_str_eq(err.source, file);
	cr_expect(err.line == 4 && err.column == 3, "at %d:%d", err.line, err.column);

	f = fopen(file, "w");
	cr_assert_not_null(f);
	/* One rule: an empty rule list has a test of its own (policy.minimal). */
	fputs("{\"version\": 1, \"rules\": [" GOOD "]}", f);
	fclose(f);
	cr_expect_eq(ag_policy_compile_file(file, &vars, &blob, &len, &err), 0, "%s", err.text);
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
	cr_assert_not_null(rs);
	cr_expect_str_eq(ag_ruleset_var(rs, "SOURCE"), file);
	free(blob);
	unlink(file);
	rmdir(dir);
}

/* ---- what good policies compile to ------------------------------------ */

struct compiled {
	void *blob;
	size_t len;
	const ag_ruleset_t *rs;
};

static struct compiled compile_len(const char *text, size_t n, const ag_vars_t *v)
{
	struct compiled c = {0};
	ag_error_t err;

	int rc = ag_policy_compile(text, n, "p.json", v, &c.blob, &c.len, &err);
	cr_assert_eq(rc, 0, "does not compile: %d:%d: %s", err.line, err.column, err.text);
	c.rs = ag_ruleset_view(c.blob, c.len, &err);
	cr_assert_not_null(c.rs, "view: %s", err.text);
	return c;
}

static struct compiled compile(const char *text, const ag_vars_t *v)
{
	return compile_len(text, strlen(text), v);
}

/* The id of the rule deciding op on path, or "default". */
static const char *decide_id(const ag_ruleset_t *rs, ag_op_t op, const char *path,
			     ag_action_t *action)
{
	ag_request_t req = {.op = op, .path = path};
	ag_verdict_t v = ag_decide(rs, &req);
	if (action)
		*action = v.action;
	return ag_ruleset_rule_id(rs, v.rule);
}

struct dcase {
	ag_op_t op;
	const char *path;
	const char *rule;
	ag_action_t action;
};

static void run_decisions(const char *what, const ag_ruleset_t *rs, const struct dcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ag_action_t a;
		const char *id = decide_id(rs, c[i].op, c[i].path, &a);
		cr_expect(strcmp(id, c[i].rule) == 0 && a == c[i].action,
			  "%s[%zu]: %s %s: got %s/%s, want %s/%s", what, i,
			  ag_op_to_string(c[i].op), c[i].path, id, ag_action_to_string(a),
			  c[i].rule, ag_action_to_string(c[i].action));
	}
}

Test(policy, minimal)
{
	struct compiled c = compile("{\"version\": 1, \"rules\": []}", &vars);

	cr_expect_eq(ag_ruleset_nrules(c.rs), 0);
	cr_expect_eq(ag_ruleset_default(c.rs), AG_ALLOW);
	cr_expect_eq(ag_ruleset_guarded_ops(c.rs), 0);
	cr_expect_str_eq(ag_ruleset_var(c.rs, "WORKSPACE"), "/w");
	cr_expect_str_eq(ag_ruleset_var(c.rs, "HOME"), "/h");
	cr_expect_str_eq(ag_ruleset_var(c.rs, "TMPDIR"), "/t");
	cr_expect_str_eq(ag_ruleset_var(c.rs, "SOURCE"), "p.json");
	cr_expect_str_eq(ag_ruleset_var(c.rs, "MODE"), "enforce");
	cr_expect_str_eq(ag_ruleset_var(c.rs, "LOG"), "");
	cr_expect_null(ag_ruleset_var(c.rs, "PATH"));
	cr_expect_str_eq(decide_id(c.rs, AG_OP_DELETE, "/anything", NULL), "default");
	free(c.blob);
}

Test(policy, defaults_and_guarded_ops)
{
	static const struct {
		const char *text;
		ag_action_t def;
		uint32_t guarded;
	} cases[] = {
	    {"{\"version\": 1, \"default\": \"deny\", \"rules\": []}", AG_DENY, AG_OPS_ALL},
	    {"{\"version\": 1, \"default\": \"audit\", \"rules\": []}", AG_AUDIT, AG_OPS_ALL},
	    {"{\"version\": 1, \"default\": \"allow\", \"rules\": [{\"id\": \"a\", \"ops\": "
	     "[\"write\", \"chmod\"], \"paths\": [\"/x\"], \"action\": \"deny\"}, {\"id\": \"b\", "
	     "\"ops\": [\"exec\"], \"paths\": [\"/y\"], \"action\": \"allow\"}]}",
	     AG_ALLOW, AG_OPBIT(AG_OP_WRITE) | AG_OPBIT(AG_OP_CHMOD)},
	    {"{\"version\": 1, \"rules\": [{\"id\": \"a\", \"ops\": [\"connect\"], \"paths\": "
	     "[\"/s\"], \"action\": \"audit\"}]}",
	     AG_ALLOW, AG_OPBIT(AG_OP_CONNECT)},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		struct compiled c = compile(cases[i].text, &vars);
		cr_expect_eq(ag_ruleset_default(c.rs), cases[i].def, "[%zu]", i);
		cr_expect_eq(ag_ruleset_guarded_ops(c.rs), cases[i].guarded, "[%zu]: %#x", i,
			     ag_ruleset_guarded_ops(c.rs));
		free(c.blob);
	}
}

Test(policy, every_op_and_errno)
{
	struct compiled c = compile(
	    "{\"version\": 1, \"rules\": [{\"id\": \"all\", \"ops\": [\"read\", \"write\", "
	    "\"create\", \"delete\", \"rename\", \"link\", \"chmod\", \"exec\", \"connect\"], "
	    "\"paths\": [\"/x/**\"], \"action\": \"deny\", \"errno\": \"EROFS\"}]}",
	    &vars);
	for (ag_op_t op = 0; op < AG_OP__COUNT; op++) {
		ag_request_t req = {.op = op, .path = "/x/y"};
		ag_verdict_t v = ag_decide(c.rs, &req);
		cr_expect(v.action == AG_DENY && v.rule == 0 && v.err == EROFS, "%s",
			  ag_op_to_string(op));
	}
	cr_expect_eq(ag_ruleset_guarded_ops(c.rs), AG_OPS_ALL);
	free(c.blob);
}

/* Variable values are escaped: a workspace named with glob characters
 * matches only itself. */
Test(policy, variables_are_escaped)
{
	static const ag_vars_t odd = {.workspace = "/w[1]*", .home = "/h?", .tmpdir = "/t\\x"};
	struct compiled c = compile(
	    "{\"version\": 1, \"default\": \"allow\", \"rules\": ["
	    "{\"id\": \"ws\", \"ops\": [\"write\"], \"paths\": [\"${WORKSPACE}/**\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"home\", \"ops\": [\"write\"], \"paths\": [\"${HOME}/f\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"tmp\", \"ops\": [\"write\"], \"paths\": [\"${TMPDIR}/*\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"twice\", \"ops\": [\"read\"], \"paths\": [\"/d${HOME}${TMPDIR}/x\"], "
	    "\"action\": \"deny\"}]}",
	    &odd);
	static const struct dcase cases[] = {
	    {AG_OP_WRITE, "/w[1]*", "ws", AG_DENY},
	    {AG_OP_WRITE, "/w[1]*/a/b", "ws", AG_DENY},
	    {AG_OP_WRITE, "/w1/a", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/w1", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/w[1]x/a", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/w[1]", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/wa/a", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/h?/f", "home", AG_DENY},
	    {AG_OP_WRITE, "/hx/f", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/h/f", "default", AG_ALLOW},
	    {AG_OP_WRITE, "/t\\x/y", "tmp", AG_DENY},
	    {AG_OP_WRITE, "/tx/y", "default", AG_ALLOW},
	    {AG_OP_READ, "/d/h?/t\\x/x", "twice", AG_DENY},
	    {AG_OP_READ, "/d/hh/t\\x/x", "default", AG_ALLOW},
	};
	run_decisions("escaped", c.rs, cases, NELEM(cases));
	cr_expect_str_eq(ag_ruleset_var(c.rs, "WORKSPACE"), "/w[1]*");
	free(c.blob);
}

/* Patterns are cleaned up the way resolved paths are: one slash, no ".",
 * no trailing slash; a leading "**" means any absolute path. */
Test(policy, pattern_normalization)
{
	struct compiled c = compile(
	    "{\"version\": 1, \"rules\": ["
	    "{\"id\": \"messy\", \"ops\": [\"write\"], \"paths\": [\"//a//b/./c/\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"env\", \"ops\": [\"read\"], \"paths\": [\"**/.env\"], \"action\": "
	    "\"deny\"},"
	    "{\"id\": \"escaped\", \"ops\": [\"delete\"], \"paths\": [\"/s/\\\\*\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"json-escape\", \"ops\": [\"chmod\"], \"paths\": [\"\\/j\\u002fk\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"utf8\", \"ops\": [\"create\"], \"paths\": [\"/\xc3\xbc/**\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"dots\", \"ops\": [\"link\"], \"paths\": [\"/a/.../..b/.c\"], "
	    "\"action\": \"deny\"}]}",
	    &vars);
	static const struct dcase cases[] = {
	    {AG_OP_WRITE, "/a/b/c", "messy", AG_DENY},
	    {AG_OP_WRITE, "/a/b", "default", AG_ALLOW},
	    {AG_OP_READ, "/.env", "env", AG_DENY},
	    {AG_OP_READ, "/x/y/.env", "env", AG_DENY},
	    {AG_OP_READ, "/x/y/.envrc", "default", AG_ALLOW},
	    {AG_OP_DELETE, "/s/*", "escaped", AG_DENY},
	    {AG_OP_DELETE, "/s/x", "default", AG_ALLOW},
	    {AG_OP_CHMOD, "/j/k", "json-escape", AG_DENY},
	    {AG_OP_CREATE, "/\xc3\xbc/x", "utf8", AG_DENY},
	    {AG_OP_CREATE, "/u/x", "default", AG_ALLOW},
	    {AG_OP_LINK, "/a/.../..b/.c", "dots", AG_DENY},
	};
	run_decisions("normalized", c.rs, cases, NELEM(cases));
	free(c.blob);
}

/* The guard's own files are refused before any rule of the policy, even
 * one allowing everything. */
Test(policy, self_paths_come_first)
{
	static const char *const self[] = {"/s/log.jsonl", "/s/state/**", NULL};
	ag_vars_t v = vars;
	v.self_paths = self;
	struct compiled c = compile("{\"version\": 1, \"default\": \"deny\", \"rules\": ["
				    "{\"id\": \"everything\", \"ops\": [\"read\", \"write\", "
				    "\"create\", \"delete\", \"rename\", \"link\", \"chmod\", "
				    "\"exec\", \"connect\"], \"paths\": [\"/**\"], "
				    "\"action\": \"allow\"}]}",
				    &v);
	static const struct dcase cases[] = {
	    {AG_OP_WRITE, "/s/log.jsonl", "agentguard-self", AG_DENY},
	    {AG_OP_DELETE, "/s/log.jsonl", "agentguard-self", AG_DENY},
	    {AG_OP_RENAME, "/s/log.jsonl", "agentguard-self", AG_DENY},
	    {AG_OP_CHMOD, "/s/log.jsonl", "agentguard-self", AG_DENY},
	    {AG_OP_LINK, "/s/log.jsonl", "agentguard-self", AG_DENY},
	    {AG_OP_CREATE, "/s/state/rules-1.agc", "agentguard-self", AG_DENY},
	    {AG_OP_WRITE, "/s/state", "agentguard-self", AG_DENY},
	    {AG_OP_READ, "/s/log.jsonl", "everything", AG_ALLOW},
	    {AG_OP_EXEC, "/s/state/x", "everything", AG_ALLOW},
	    {AG_OP_WRITE, "/s/other", "everything", AG_ALLOW},
	    {AG_OP_WRITE, "/s/log.jsonl.1", "everything", AG_ALLOW},
	};

	cr_expect_eq(ag_ruleset_nrules(c.rs), 2);
	cr_expect_str_eq(ag_ruleset_rule_id(c.rs, 0), "agentguard-self");
	cr_expect_str_eq(ag_ruleset_rule_id(c.rs, 1), "everything");
	run_decisions("self", c.rs, cases, NELEM(cases));
	free(c.blob);

	/* An empty list adds no rule. */
	static const char *const none[] = {NULL};
	v.self_paths = none;
	c = compile("{\"version\": 1, \"rules\": [" GOOD "]}", &v);
	cr_expect_eq(ag_ruleset_nrules(c.rs), 1);
	cr_expect_str_eq(ag_ruleset_rule_id(c.rs, 0), "g");
	free(c.blob);
}

/* A user rule may not reuse the self rule's id either way round. */
Test(policy, self_rule_id_is_not_a_user_id)
{
	static const char *const self[] = {"/s/log", NULL};
	ag_vars_t v = vars;
	v.self_paths = self;
	expect_error("self id",
		     ONE("{\"id\": `\"agentguard-self\", \"ops\": [\"read\"], "
			 "\"paths\": [\"/x\"], \"action\": \"deny\"}"),
		     strlen(ONE("{\"id\": `\"agentguard-self\", \"ops\": [\"read\"], "
				"\"paths\": [\"/x\"], \"action\": \"deny\"}")),
		     0, 0, "is used twice", &v);
}

Test(policy, hash_follows_text_and_variables)
{
	static const char text[] = "{\"version\": 1, \"rules\": [" GOOD "]}";
	static const char *const self[] = {"/s/log", NULL};
	ag_vars_t other = vars, selfv = vars;
	other.workspace = "/w2";
	selfv.self_paths = self;
	struct compiled a = compile(text, &vars), b = compile(text, &vars),
			c = compile(text, &other),
			d = compile("{\"version\": 1, \"rules\": [" GOOD "] }", &vars),
			e = compile(text, &selfv);

	cr_expect_eq(ag_ruleset_hash(a.rs), ag_ruleset_hash(b.rs));
	cr_expect(a.len == b.len && memcmp(a.blob, b.blob, a.len) == 0, "not reproducible");
	cr_expect_neq(ag_ruleset_hash(a.rs), ag_ruleset_hash(c.rs));
	cr_expect_neq(ag_ruleset_hash(a.rs), ag_ruleset_hash(d.rs));
	cr_expect_neq(ag_ruleset_hash(a.rs), ag_ruleset_hash(e.rs));
	free(a.blob);
	free(b.blob);
	free(c.blob);
	free(d.blob);
	free(e.blob);
}

/* ---- hostile inputs ------------------------------------------------------ */

static char *nested(const char *before, size_t depth, const char *after)
{
	size_t bl = strlen(before), al = strlen(after);
	char *s = malloc(bl + 2 * depth + al + 1);

	cr_assert_not_null(s);
	memcpy(s, before, bl);
	memset(s + bl, '[', depth);
	memset(s + bl + depth, ']', depth);
	memcpy(s + bl + 2 * depth, after, al + 1);
	return s;
}

Test(policy_hostile, deep_nesting_past_jansson_limit)
{
	static const char before[] = "{\"version\": 1, \"rules\": [], \"description\": ";
	char *s = nested(before, 100000, "}");
	/* jansson gives up at depth 2048; the column is its, one past the
	 * 2048th '[' after the 45-byte lead (the object counts as one level). */
	expect_error("100000 deep", s, strlen(s), 1, (int)strlen(before) + 2048,
		     "maximum parsing depth", &vars);
	free(s);
}

/* Nesting jansson accepts but the position finder will not walk: the
 * message must still come, without a position rather than a wrong one. */
Test(policy_hostile, deep_nesting_within_jansson_limit)
{
	static const size_t depths[] = {100, 600, 2000};
	for (size_t i = 0; i < NELEM(depths); i++) {
		char *s =
		    nested("{\"version\": 1, \"rules\": [], \"description\": ", depths[i], "}");
		ag_error_t err;
		void *blob;
		size_t len;
		cr_expect_eq(ag_policy_compile(s, strlen(s), "p.json", &vars, &blob, &len, &err),
			     -1);
		cr_expect(strstr(err.text, "\"description\" must be a string") != NULL,
			  "depth %zu: %s", depths[i], err.text);
		bool exact = err.line == 1 && err.column == 44;
		bool none = err.line == 0 && err.column == 0;
		cr_expect(exact || none, "depth %zu: at %d:%d", depths[i], err.line, err.column);
		if (depths[i] <= 100)
			cr_expect(exact, "depth %zu: at %d:%d", depths[i], err.line, err.column);
		free(s);
	}
}

struct text {
	char *s;
	size_t len, cap;
};

static void addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct text *t, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		cr_assert(n >= 0);
		if (t->s && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->s = realloc(t->s, t->cap);
		cr_assert_not_null(t->s);
	}
}

static const char *const actions[] = {"allow", "audit", "deny"};

/* 10,000 rules: literal files, globs sharing one prefix, and a catch-all
 * at the end; every rule still decides for its own path. */
Test(policy_hostile, ten_thousand_rules)
{
	struct text t = {0};
	enum { N = 10000 };

	addf(&t, "{\"version\": 1, \"default\": \"deny\", \"rules\": [\n");
	for (int i = 0; i < N - 1; i++) {
		if (i % 2)
			addf(&t,
			     "{\"id\": \"r%d\", \"ops\": [\"write\"], \"paths\": [\"/lit/f%d\"], "
			     "\"action\": \"%s\"},\n",
			     i, i, actions[i % 3]);
		else
			addf(&t,
			     "{\"id\": \"r%d\", \"ops\": [\"write\"], \"paths\": [\"/g/*.%d\"], "
			     "\"action\": \"%s\"},\n",
			     i, i, actions[i % 3]);
	}
	addf(&t, "{\"id\": \"last\", \"ops\": [\"write\"], \"paths\": [\"/**\"], "
		 "\"action\": \"audit\"}]}\n");
	struct compiled c = compile_len(t.s, t.len, &vars);
	cr_expect_eq(ag_ruleset_nrules(c.rs), N);

	char path[64], id[32];
	for (int i = 0; i < N - 1; i += (i < 50 || i > N - 50) ? 1 : 97) {
		ag_action_t a;
		if (i % 2)
			snprintf(path, sizeof(path), "/lit/f%d", i);
		else
			snprintf(path, sizeof(path), "/g/x.%d", i);
		snprintf(id, sizeof(id), "r%d", i);
		const char *got = decide_id(c.rs, AG_OP_WRITE, path, &a);
		cr_expect_str_eq(got, id, "%s", path);
		cr_expect_eq(a, (ag_action_t)(i % 3), "%s: %s", path, ag_action_to_string(a));
		cr_expect_str_eq(decide_id(c.rs, AG_OP_READ, path, &a), "default", "%s", path);
		cr_expect_eq(a, AG_DENY);
	}
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, "/lit/f0", NULL), "last");
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, "/lit/f99999", NULL), "last");
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, "/g/x.1", NULL), "last");
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, "/g/sub/x.2", NULL), "last");
	free(c.blob);
	free(t.s);
}

/* An error in the last of many rules, all on one line: a big column. */
Test(policy_hostile, error_far_along_one_line)
{
	struct text t = {0};
	addf(&t, "{\"version\": 1, \"rules\": [");
	for (int i = 0; i < 2000; i++)
		addf(&t,
		     "{\"id\": \"r%d\", \"ops\": [\"read\"], \"paths\": [\"/p%d\"], "
		     "\"action\": \"deny\"}, ",
		     i, i);
	addf(
	    &t,
	    "{\"id\": \"bad\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": `\"nope\"}]}");
	expect_error("one line", t.s, t.len, 0, 0, "unknown action \"nope\"", &vars);
	free(t.s);
}

Test(policy_hostile, many_paths_in_one_rule)
{
	struct text t = {0};
	addf(&t,
	     "{\"version\": 1, \"rules\": [{\"id\": \"many\", \"ops\": [\"delete\"], \"paths\": [");
	for (int i = 0; i < 20000; i++)
		addf(&t, "%s\"/m/d%d/**\"", i ? ", " : "", i);
	addf(&t, "], \"action\": \"deny\"}]}");
	struct compiled c = compile_len(t.s, t.len, &vars);
	static const struct dcase cases[] = {
	    {AG_OP_DELETE, "/m/d0", "many", AG_DENY},
	    {AG_OP_DELETE, "/m/d19999/x/y", "many", AG_DENY},
	    {AG_OP_DELETE, "/m/d10000/x", "many", AG_DENY},
	    {AG_OP_DELETE, "/m/d20000/x", "default", AG_ALLOW},
	    {AG_OP_DELETE, "/m/x", "default", AG_ALLOW},
	};
	run_decisions("many paths", c.rs, cases, NELEM(cases));
	free(c.blob);
	free(t.s);
}

static char *long_path(size_t comps, size_t complen)
{
	char *p = malloc(comps * (complen + 1) + 1), *o = p;
	cr_assert_not_null(p);
	for (size_t i = 0; i < comps; i++) {
		*o++ = '/';
		memset(o, 'a' + (int)(i % 26), complen);
		o += complen;
	}
	*o = '\0';
	return p;
}

Test(policy_hostile, long_patterns)
{
	char *lit = long_path(40, 99); /* 4000 bytes */
	struct text t = {0};

	addf(&t,
	     "{\"version\": 1, \"rules\": [{\"id\": \"long\", \"ops\": [\"write\"], \"paths\": "
	     "[\"%s\", \"%s/*/**/z*\"], \"action\": \"deny\"}]}",
	     lit, lit);
	struct compiled c = compile_len(t.s, t.len, &vars);
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, lit, NULL), "long");
	char *deeper = malloc(strlen(lit) + 32);
	cr_assert_not_null(deeper);
	sprintf(deeper, "%s/q/r/s/zz", lit);
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, deeper, NULL), "long");
	sprintf(deeper, "%s/q/r/s/y", lit);
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, deeper, NULL), "default");
	lit[strlen(lit) - 1] = 'Z';
	cr_expect_str_eq(decide_id(c.rs, AG_OP_WRITE, lit, NULL), "default");
	free(c.blob);
	free(deeper);
	free(t.s);
	free(lit);

	/* Far past any path: refused with its position, not cut. */
	char *huge = long_path(1000, 99);
	t = (struct text){0};
	addf(&t,
	     "{\"version\": 1, \"rules\": [{\"id\": \"huge\", \"ops\": [\"write\"], "
	     "\"paths\": [`\"%s\"], \"action\": \"deny\"}]}",
	     huge);
	expect_error("100000 byte pattern", t.s, t.len, 0, 0, "pattern too long", &vars);
	free(t.s);

	/* Long only once a variable is expanded. */
	ag_vars_t v = vars;
	v.workspace = huge + 90000;
	expect_error("long workspace",
		     ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"${WORKSPACE}/**\"], "
			 "\"action\": \"deny\"}"),
		     strlen(ONE("{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": "
				"[`\"${WORKSPACE}/**\"], \"action\": \"deny\"}")),
		     0, 0, "pattern too long", &v);
	free(huge);

	/* Many wildcards: compiles, and a non-matching path is answered. */
	t = (struct text){0};
	addf(&t, "{\"version\": 1, \"rules\": [{\"id\": \"stars\", \"ops\": [\"read\"], "
		 "\"paths\": [\"");
	for (int i = 0; i < 1000; i++)
		addf(&t, "/*a*");
	addf(&t, "\"], \"action\": \"deny\"}]}");
	c = compile_len(t.s, t.len, &vars);
	char *p = long_path(1000, 3);
	cr_expect_str_eq(decide_id(c.rs, AG_OP_READ, p, NULL), "default");
	for (size_t i = 0; p[i]; i++)
		if (p[i] != '/')
			p[i] = 'a';
	cr_expect_str_eq(decide_id(c.rs, AG_OP_READ, p, NULL), "stars");
	free(p);
	free(c.blob);
	free(t.s);
}

Test(policy_hostile, long_id_and_strings)
{
	struct text t = {0};
	addf(&t, "{\"version\": 1, \"rules\": [{\"id\": `\"");
	for (int i = 0; i < 10000; i++)
		addf(&t, "x");
	addf(&t, "\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": \"deny\"}]}");
	expect_error("10000 byte id", t.s, t.len, 0, 0, "must be 1 to 64", &vars);
	free(t.s);

	/* Long names are quoted, but the message must still say what is wrong
	 * with them: err.text holds 512 bytes. */
	t = (struct text){0};
	addf(&t, "{\"version\": 1, \"rules\": [], `\"");
	for (int i = 0; i < 5000; i++)
		addf(&t, "k");
	addf(&t, "\": 1}");
	expect_error("5000 byte field name", t.s, t.len, 0, 0, "in the policy", &vars);
	free(t.s);

	t = (struct text){0};
	addf(&t,
	     "{\"version\": 1, \"rules\": [{\"id\": \"a\", \"ops\": [\"read\"], \"paths\": [`\"");
	for (int i = 0; i < 3000; i++)
		addf(&t, "r/");
	addf(&t, "\"], \"action\": \"deny\"}]}");
	expect_error("3000 component relative pattern", t.s, t.len, 0, 0, "is not absolute", &vars);
	free(t.s);
}

/* Allowed rules with the longest legal id. */
Test(policy, sixty_four_character_id)
{
	struct compiled c = compile(
	    "{\"version\": 1, \"rules\": [{\"id\": \"a234567890123456789012345678901234567890"
	    "123456789012345678901234\", \"ops\": [\"read\"], \"paths\": [\"/x\"], \"action\": "
	    "\"deny\"}, {\"id\": \"A.b_c:d-9\", \"ops\": [\"read\"], \"paths\": [\"/y\"], "
	    "\"action\": \"deny\"}]}",
	    &vars);
	cr_expect_eq(strlen(ag_ruleset_rule_id(c.rs, 0)), 64);
	cr_expect_str_eq(ag_ruleset_rule_id(c.rs, 1), "A.b_c:d-9");
	cr_expect_str_eq(ag_ruleset_rule_id(c.rs, -1), "default");
	cr_expect_str_eq(ag_ruleset_rule_id(c.rs, 2), "default");
	free(c.blob);
}
