/* Log lines: every field, read back with jansson as a log reader would;
 * escaping; and lines that do not fit, cut but still one valid JSON object
 * that never leaves its buffer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentguard.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define GUARD	 32
#define CANARY	 0xA5

/* Formats into a buffer of exactly bufsz bytes with canaries on both
 * sides; checks the canaries and the length contract. Returns a malloc'd
 * copy of the line (NUL-terminated) and its length. */
static char *format(const ag_logrec_t *r, size_t bufsz, size_t *len)
{
	unsigned char *mem = malloc(bufsz + 2 * GUARD);
	cr_assert_not_null(mem);
	memset(mem, CANARY, bufsz + 2 * GUARD);
	char *buf = (char *)mem + GUARD;

	size_t n = ag_log_format(buf, bufsz, r);
	for (size_t i = 0; i < GUARD; i++) {
		cr_assert_eq(mem[i], CANARY, "bufsz %zu: wrote %zu bytes before the buffer", bufsz,
			     GUARD - i);
		cr_assert_eq(mem[GUARD + bufsz + i], CANARY, "bufsz %zu: wrote past the buffer",
			     bufsz);
	}
	if (bufsz > 0) {
		cr_assert_lt(n, bufsz, "bufsz %zu: returned %zu", bufsz, n);
		cr_assert_eq(buf[n], '\0', "bufsz %zu: no NUL at the returned length", bufsz);
	} else {
		cr_assert_eq(n, 0);
	}
	char *copy = malloc(n + 1);
	cr_assert_not_null(copy);
	memcpy(copy, bufsz ? buf : "", n);
	copy[n] = '\0';
	free(mem);
	*len = n;
	return copy;
}

/* The line as an object; fails the test when it is not one line of JSON
 * ending in "}\n". */
static json_t *parse(const ag_logrec_t *r, size_t bufsz)
{
	size_t n;
	char *line = format(r, bufsz, &n);
	json_error_t jerr;

	cr_assert_geq(n, 2, "bufsz %zu: line too short", bufsz);
	cr_assert(line[n - 2] == '}' && line[n - 1] == '\n', "bufsz %zu: line ends \"%s\"", bufsz,
		  line + n - (n > 20 ? 20 : n));
	cr_assert_eq(strchr(line, '\n'), line + n - 1, "bufsz %zu: a newline inside the line",
		     bufsz);
	json_t *o = json_loadb(line, n, 0, &jerr);
	cr_assert_not_null(o, "bufsz %zu: not JSON (%s at %d:%d): ...%s", bufsz, jerr.text,
			   jerr.line, jerr.column,
			   line + (jerr.position > 40 ? jerr.position - 40 : 0));
	cr_assert(json_is_object(o));
	free(line);
	return o;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_string(v), "\"%s\" is not a string", key);
	return json_string_value(v);
}

static json_int_t integer(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_assert(json_is_integer(v), "\"%s\" is not an integer", key);
	return json_integer_value(v);
}

static void expect_null(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	cr_expect(v && json_is_null(v), "\"%s\" should be present and null", key);
}

static const char *const argv3[] = {"rm", "-rf", "/home/u/x", NULL};

static ag_logrec_t full(void)
{
	return (ag_logrec_t){.ts_ms = 1700000000123LL,
			     .pid = 4242,
			     .ppid = 4241,
			     .exe = "/usr/bin/rm",
			     .op = AG_OP_DELETE,
			     .path = "/home/u/x",
			     .path2 = NULL,
			     .argv = NULL,
			     .addr = NULL,
			     .port = -1,
			     .rule = "outside-workspace",
			     .action = AG_DENY,
			     .err = EACCES,
			     .audit_mode = false,
			     .repeat = 1};
}

Test(log, every_field)
{
	ag_logrec_t r = full();
	json_t *o = parse(&r, 4096);

	cr_expect_str_eq(str(o, "ts"), "2023-11-14T22:13:20.123Z");
	cr_expect_eq(integer(o, "pid"), 4242);
	cr_expect_eq(integer(o, "ppid"), 4241);
	cr_expect_str_eq(str(o, "exe"), "/usr/bin/rm");
	cr_expect_str_eq(str(o, "op"), "delete");
	cr_expect_str_eq(str(o, "path"), "/home/u/x");
	expect_null(o, "path2");
	expect_null(o, "argv");
	expect_null(o, "addr");
	expect_null(o, "port");
	cr_expect_str_eq(str(o, "rule"), "outside-workspace");
	cr_expect_str_eq(str(o, "action"), "deny");
	cr_expect_str_eq(str(o, "errno"), "EACCES");
	cr_expect_str_eq(str(o, "mode"), "enforce");
	cr_expect_null(json_object_get(o, "repeat"), "repeat only when > 1");
	cr_expect_eq(json_object_size(o), 14, "unexpected keys: %zu", json_object_size(o));
	json_decref(o);
}

Test(log, optional_fields_present)
{
	ag_logrec_t r = full();
	r.op = AG_OP_RENAME;
	r.path2 = "/home/u/y";
	r.argv = argv3;
	r.addr = "169.254.169.254";
	r.port = 80;
	r.action = AG_AUDIT;
	r.err = EPERM;
	r.audit_mode = true;
	r.repeat = 17;
	json_t *o = parse(&r, 4096);

	cr_expect_str_eq(str(o, "op"), "rename");
	cr_expect_str_eq(str(o, "path2"), "/home/u/y");
	json_t *a = json_object_get(o, "argv");
	cr_assert(json_is_array(a) && json_array_size(a) == 3);
	for (size_t i = 0; i < 3; i++)
		cr_expect_str_eq(json_string_value(json_array_get(a, i)), argv3[i]);
	cr_expect_str_eq(str(o, "addr"), "169.254.169.254");
	cr_expect_eq(integer(o, "port"), 80);
	cr_expect_str_eq(str(o, "action"), "audit");
	cr_expect_str_eq(str(o, "errno"), "EPERM");
	cr_expect_str_eq(str(o, "mode"), "audit");
	cr_expect_eq(integer(o, "repeat"), 17);
	json_decref(o);

	static const char *const empty[] = {NULL};
	r.argv = empty;
	r.port = 0;
	r.repeat = 0;
	o = parse(&r, 4096);
	cr_expect(json_is_array(json_object_get(o, "argv")) &&
		  json_array_size(json_object_get(o, "argv")) == 0);
	cr_expect_eq(integer(o, "port"), 0);
	cr_expect_null(json_object_get(o, "repeat"));
	json_decref(o);

	r.repeat = 2;
	o = parse(&r, 4096);
	cr_expect_eq(integer(o, "repeat"), 2);
	json_decref(o);
}

Test(log, timestamps)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {999, "1970-01-01T00:00:00.999Z"},
	    {1000, "1970-01-01T00:00:01.000Z"},
	    {1700000000123LL, "2023-11-14T22:13:20.123Z"},
	    {951782400007LL, "2000-02-29T00:00:00.007Z"},
	    {1735689599999LL, "2024-12-31T23:59:59.999Z"},
	    {4102444800050LL, "2100-01-01T00:00:00.050Z"},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		ag_logrec_t r = full();
		r.ts_ms = cases[i].ms;
		json_t *o = parse(&r, 1024);
		cr_expect_str_eq(str(o, "ts"), cases[i].want, "%lld", (long long)cases[i].ms);
		json_decref(o);
	}
}

Test(log, names)
{
	for (ag_op_t op = 0; op < AG_OP__COUNT; op++) {
		ag_logrec_t r = full();
		r.op = op;
		json_t *o = parse(&r, 1024);
		cr_expect_str_eq(str(o, "op"), ag_op_to_string(op));
		cr_expect_eq(ag_op_from_string(str(o, "op")), (int)op);
		json_decref(o);
	}
	static const struct {
		ag_action_t a;
		const char *want;
	} acts[] = {{AG_ALLOW, "allow"}, {AG_AUDIT, "audit"}, {AG_DENY, "deny"}};
	for (size_t i = 0; i < NELEM(acts); i++) {
		ag_logrec_t r = full();
		r.action = acts[i].a;
		json_t *o = parse(&r, 1024);
		cr_expect_str_eq(str(o, "action"), acts[i].want);
		json_decref(o);
	}
	static const struct {
		int e;
		const char *want;
	} errs[] = {{EACCES, "EACCES"},
		    {EPERM, "EPERM"},
		    {EROFS, "EROFS"},
		    {ENOENT, "ENOENT"},
		    {ELOOP, "ELOOP"},
		    {ENAMETOOLONG, "ENAMETOOLONG"},
		    {ECONNREFUSED, "ECONNREFUSED"}};
	for (size_t i = 0; i < NELEM(errs); i++) {
		ag_logrec_t r = full();
		r.err = errs[i].e;
		json_t *o = parse(&r, 1024);
		cr_expect_str_eq(str(o, "errno"), errs[i].want);
		cr_expect_eq(ag_errno_from_string(str(o, "errno")), errs[i].e);
		json_decref(o);
	}
	/* One we do not name still says which. */
	ag_logrec_t r = full();
	r.err = ENOMEM;
	json_t *o = parse(&r, 1024);
	cr_expect_eq(integer(o, "errno"), ENOMEM);
	json_decref(o);
}

/* Paths are bytes: whatever they hold comes back the same. */
Test(log, escaping)
{
	static const char *const nasty[] = {
	    "/a\"b",
	    "/back\\slash\\",
	    "/new\nline",
	    "/cr\rtab\t",
	    "/ctl\x01\x02\x1f\x7f",
	    "/\"},\"injected\":\"x",
	    "/\xc3\xa9t\xc3\xa9/\xe2\x82\xac",
	    "\\u0041",
	    "",
	};
	for (size_t i = 0; i < NELEM(nasty); i++) {
		ag_logrec_t r = full();
		const char *argv[] = {nasty[i], "x\ny", NULL};
		r.exe = nasty[i];
		r.path = nasty[i];
		r.path2 = nasty[i];
		r.argv = argv;
		r.addr = nasty[i];
		r.rule = nasty[i];
		json_t *o = parse(&r, 4096);
		cr_expect_str_eq(str(o, "exe"), nasty[i], "[%zu]", i);
		cr_expect_str_eq(str(o, "path"), nasty[i], "[%zu]", i);
		cr_expect_str_eq(str(o, "path2"), nasty[i], "[%zu]", i);
		cr_expect_str_eq(str(o, "addr"), nasty[i], "[%zu]", i);
		cr_expect_str_eq(str(o, "rule"), nasty[i], "[%zu]", i);
		json_t *a = json_object_get(o, "argv");
		cr_expect_str_eq(json_string_value(json_array_get(a, 0)), nasty[i]);
		cr_expect_str_eq(json_string_value(json_array_get(a, 1)), "x\ny");
		cr_expect_null(json_object_get(o, "injected"));
		json_decref(o);
	}
}

static char *filled(size_t n, char c)
{
	char *s = malloc(n + 1);
	cr_assert_not_null(s);
	memset(s, c, n);
	s[0] = '/';
	s[n] = '\0';
	return s;
}

/* A path too long for the line is cut and marked, and the line stays
 * whole. */
Test(log, long_path_is_cut)
{
	char *path = filled(10000, 'p');
	ag_logrec_t r = full();
	r.path = path;
	json_t *o = parse(&r, 4096);
	const char *got = str(o, "path");
	size_t n = strlen(got);
	cr_expect_gt(n, 1000, "cut too short: %zu", n);
	cr_expect_lt(n, 4096);
	cr_expect_str_eq(got + n - 3, "...");
	cr_expect(strncmp(got, path, n - 3) == 0, "the kept part is the path's start");
	cr_expect_str_eq(str(o, "rule"), "outside-workspace");
	cr_expect_str_eq(str(o, "mode"), "enforce");
	json_decref(o);
	free(path);
}

/* Every buffer size from 17 to 20000 (tiny_buffers has the rest) with
 * every string long: the result is
 * always shorter than the buffer and stays in it, and from 512 bytes on it
 * is one valid JSON object with every field. */
Test(log, every_buffer_size)
{
	char *exe = filled(3000, 'e'), *path = filled(5000, 'p'), *path2 = filled(4000, 'q');
	char *a1 = filled(1500, 'a'), *a2 = filled(1500, 'b'), *addr = filled(300, 'd');
	char *rule = filled(64, 'r');
	const char *argv[] = {a1, "\"quoted\"\n", a2, NULL};
	ag_logrec_t r = full();
	r.exe = exe;
	r.path = path;
	r.path2 = path2;
	r.argv = argv;
	r.addr = addr;
	r.port = 65535;
	r.rule = rule;
	r.repeat = 4294967295u;
	static const char *const keys[] = {"ts",   "pid",    "ppid",  "exe",  "op",
					   "path", "path2",  "argv",  "addr", "port",
					   "rule", "action", "errno", "mode", "repeat"};

	for (size_t sz = 17; sz <= 20000; sz++) {
		size_t n;
		if (sz < 512) {
			free(format(&r, sz, &n));
			continue;
		}
		json_t *o = parse(&r, sz);
		for (size_t k = 0; k < NELEM(keys); k++)
			cr_assert_not_null(json_object_get(o, keys[k]), "bufsz %zu: no \"%s\"", sz,
					   keys[k]);
		json_decref(o);
	}
	free(exe);
	free(path);
	free(path2);
	free(a1);
	free(a2);
	free(addr);
	free(rule);
}

/* The smallest buffers, each on its own: nothing written outside them. */
Test(log, tiny_buffers)
{
	ag_logrec_t r = full();
	for (size_t sz = 0; sz <= 16; sz++) {
		size_t n;
		free(format(&r, sz, &n));
	}
}

/* A refused exec with a long command line (rm -rf with many names): argv
 * is cut, not the line. The size is the one the guard formats into. */
Test(log, many_argv_entries)
{
	enum { N = 5000 };
	const char **argv = calloc(N + 1, sizeof(*argv));
	cr_assert_not_null(argv);
	argv[0] = "rm";
	argv[1] = "-rf";
	for (size_t i = 2; i < N; i++)
		argv[i] = "/home/u/some/file";
	ag_logrec_t r = full();
	r.op = AG_OP_EXEC;
	r.argv = argv;
	static const size_t sizes[] = {512, 1024, 4096, 3 * PATH_MAX + 2048};
	for (size_t i = 0; i < NELEM(sizes); i++) {
		json_t *o = parse(&r, sizes[i]);
		cr_expect_str_eq(str(o, "rule"), "outside-workspace", "bufsz %zu", sizes[i]);
		cr_expect_str_eq(str(o, "mode"), "enforce", "bufsz %zu", sizes[i]);
		json_t *a = json_object_get(o, "argv");
		cr_expect(json_is_array(a) && json_array_size(a) >= 1, "bufsz %zu", sizes[i]);
		json_decref(o);
	}
	free(argv);
}

/* ---- the human line ------------------------------------------------------ */

static void expect_human(const ag_logrec_t *r, const char *want)
{
	char buf[1024];
	size_t n = ag_log_format_human(buf, sizeof(buf), r);
	cr_expect_str_eq(buf, want);
	cr_expect_eq(n, strlen(want));
}

Test(log_human, format)
{
	ag_logrec_t r = full();
	r.path = "/home/u/notes.txt";
	expect_human(&r, "agentguard: denied delete /home/u/notes.txt (rule outside-workspace)\n");

	r.audit_mode = true;
	expect_human(&r,
		     "agentguard: would deny delete /home/u/notes.txt (rule outside-workspace)\n");

	r.audit_mode = false;
	r.action = AG_AUDIT;
	r.op = AG_OP_READ;
	r.rule = "watch";
	expect_human(&r, "agentguard: audited read /home/u/notes.txt (rule watch)\n");

	r = full();
	r.op = AG_OP_RENAME;
	r.path = "/a";
	r.path2 = "/b";
	expect_human(&r, "agentguard: denied rename /a -> /b (rule outside-workspace)\n");

	r = full();
	r.path = NULL;
	r.op = AG_OP_CONNECT;
	expect_human(&r, "agentguard: denied connect ? (rule outside-workspace)\n");
}

/* A human line that does not fit is cut, still ends its line, and never
 * claims more than the buffer holds. */
Test(log_human, cut)
{
	ag_logrec_t r = full();
	r.path = "/home/u/notes.txt";
	const char *whole =
	    "agentguard: denied delete /home/u/notes.txt (rule outside-workspace)\n";
	size_t need = strlen(whole) + 1;

	for (size_t sz = 2; sz <= need + 1; sz++) {
		char *buf = malloc(sz);
		cr_assert_not_null(buf);
		size_t n = ag_log_format_human(buf, sz, &r);
		cr_expect_lt(n, sz, "bufsz %zu: returned %zu", sz, n);
		if (n < sz) {
			cr_expect_eq(buf[n], '\0', "bufsz %zu", sz);
			cr_expect_eq(buf[n - 1], '\n', "bufsz %zu", sz);
			cr_expect(strncmp(buf, whole, n - 1) == 0, "bufsz %zu: %s", sz, buf);
		}
		free(buf);
	}
}

/* One byte holds only the NUL: the length said must be 0, or a caller
 * writing that many bytes reads past the buffer. */
Test(log_human, one_byte_buffer)
{
	ag_logrec_t r = full();
	char buf[1];
	size_t n = ag_log_format_human(buf, sizeof(buf), &r);
	cr_expect_eq(n, 0, "returned %zu for a 1-byte buffer", n);
	cr_expect_eq(buf[0], '\0');
}
