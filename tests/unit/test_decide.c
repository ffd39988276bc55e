/* ag_decide: first match wins, operation masks, the default, two-path
 * requests, the prefix index's edge cases, and the shipped default policy
 * against the promises PRODUCT.md makes for it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agentguard.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NONE	 AG_OP__COUNT /* no second path */

struct policy {
	void *blob;
	const ag_ruleset_t *rs;
};

static const ag_vars_t vars = {.workspace = "/w", .home = "/h", .tmpdir = "/t"};

static struct policy compile(const char *text, const ag_vars_t *v)
{
	struct policy p;
	size_t len;
	ag_error_t err;

	int rc = ag_policy_compile(text, strlen(text), "test.json", v, &p.blob, &len, &err);
	cr_assert_eq(rc, 0, "%d:%d: %s", err.line, err.column, err.text);
	p.rs = ag_ruleset_view(p.blob, len, &err);
	cr_assert_not_null(p.rs, "%s", err.text);
	return p;
}

struct dcase {
	ag_op_t op;
	const char *path;
	ag_op_t op2; /* NONE for one path */
	const char *path2;
	ag_action_t want;
	const char *rule; /* id, or "default" */
	int which;	  /* 0: not checked */
	int err;	  /* 0: not checked */
};

static void run(const char *what, const ag_ruleset_t *rs, const struct dcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ag_request_t req = {.op = c[i].op, .path = c[i].path};
		if (c[i].op2 != NONE) {
			req.op2 = c[i].op2;
			req.path2 = c[i].path2;
		}
		ag_verdict_t v = ag_decide(rs, &req);
		const char *id = ag_ruleset_rule_id(rs, v.rule);
		char two[PATH_MAX + 32] = "";
		if (req.path2)
			snprintf(two, sizeof(two), " -> %s %s", ag_op_to_string(req.op2),
				 req.path2);
		cr_expect(v.action == c[i].want && strcmp(id, c[i].rule) == 0,
			  "%s[%zu]: %s %s%s: got %s by %s, want %s by %s", what, i,
			  ag_op_to_string(c[i].op), c[i].path, two, ag_action_to_string(v.action),
			  id, ag_action_to_string(c[i].want), c[i].rule);
		if (c[i].which)
			cr_expect_eq(v.which, c[i].which, "%s[%zu]: %s %s%s: which %d, want %d",
				     what, i, ag_op_to_string(c[i].op), c[i].path, two, v.which,
				     c[i].which);
		if (c[i].err)
			cr_expect_eq(v.err, c[i].err, "%s[%zu]: errno %d, want %d", what, i, v.err,
				     c[i].err);
		if (v.rule >= 0)
			cr_expect_lt((size_t)v.rule, ag_ruleset_nrules(rs));
		else
			cr_expect_eq(v.rule, -1);
	}
}

#define RUN(rs, cases) run(#cases, rs, cases, NELEM(cases))
#define R(op, path, want, rule)                                                                    \
	{                                                                                          \
		AG_OP_##op, path, NONE, NULL, AG_##want, rule, 0, 0                                \
	}
#define R2(op, path, op2, path2, want, rule, which)                                                \
	{                                                                                          \
		AG_OP_##op, path, AG_OP_##op2, path2, AG_##want, rule, which, 0                    \
	}

Test(decide, first_match_wins)
{
	struct policy p = compile(
	    "{\"version\": 1, \"default\": \"deny\", \"rules\": ["
	    "{\"id\": \"keep-x\", \"ops\": [\"write\"], \"paths\": [\"/d/x\"], \"action\": "
	    "\"allow\"},"
	    "{\"id\": \"lock-d\", \"ops\": [\"write\", \"delete\"], \"paths\": [\"/d/**\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"audit-all\", \"ops\": [\"read\", \"write\", \"delete\", \"create\"], "
	    "\"paths\": [\"/**\"], \"action\": \"audit\"},"
	    "{\"id\": \"never\", \"ops\": [\"write\"], \"paths\": [\"/d/y\"], \"action\": "
	    "\"allow\"}"
	    "]}",
	    &vars);
	static const struct dcase cases[] = {
	    R(WRITE, "/d/x", ALLOW, "keep-x"),
	    R(DELETE, "/d/x", DENY, "lock-d"),	 /* keep-x covers write only */
	    R(WRITE, "/d/y", DENY, "lock-d"),	 /* the later allow never decides */
	    R(WRITE, "/d", DENY, "lock-d"),	 /* a trailing ** covers /d itself */
	    R(READ, "/d/x", AUDIT, "audit-all"), /* lock-d covers no read */
	    R(WRITE, "/e", AUDIT, "audit-all"),
	    R(CREATE, "/", AUDIT, "audit-all"),
	    R(CHMOD, "/d/x", DENY, "default"), /* no rule covers chmod */
	    R(EXEC, "/e", DENY, "default"),
	    R(CONNECT, "/run/s.sock", DENY, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Each op is matched only by rules that list it. */
/* Patterns that end in a literal run are passed over for a path that does
 * not end in it, before any glob is matched: the shortcut must never skip
 * a match, nor let a near miss through. */
Test(decide, patterns_ending_in_a_literal)
{
	struct policy p = compile(
	    "{\"version\": 1, \"default\": \"allow\", \"rules\": ["
	    "{\"id\": \"env\", \"ops\": [\"read\"], \"paths\": [\"**/.env\"], \"action\": \"deny\"},"
	    "{\"id\": \"pem\", \"ops\": [\"read\"], \"paths\": [\"**/*.pem\"], \"action\": \"deny\"},"
	    "{\"id\": \"key\", \"ops\": [\"read\"], \"paths\": [\"/w/**/id_[rd]sa\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"star\", \"ops\": [\"read\"], \"paths\": [\"/w/lit\\\\*x\"], \"action\": \"deny\"},"
	    "{\"id\": \"one\", \"ops\": [\"read\"], \"paths\": [\"/w/q?z\"], \"action\": \"deny\"},"
	    "{\"id\": \"tree\", \"ops\": [\"read\"], \"paths\": [\"/t/**\"], \"action\": \"deny\"}"
	    "]}",
	    &vars);
	static const struct dcase cases[] = {
	    {AG_OP_READ, "/w/.env", NONE, NULL, AG_DENY, "env", 0, 0},
	    {AG_OP_READ, "/w/a/b/.env", NONE, NULL, AG_DENY, "env", 0, 0},
	    {AG_OP_READ, "/.env", NONE, NULL, AG_DENY, "env", 0, 0},
	    {AG_OP_READ, "/w/a/.env.bak", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/a/x.env", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/a/env", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/h/k.pem", NONE, NULL, AG_DENY, "pem", 0, 0},
	    {AG_OP_READ, "/h/a/.pem", NONE, NULL, AG_DENY, "pem", 0, 0},
	    {AG_OP_READ, "/h/pem", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/h/x.pemx", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/a/id_rsa", NONE, NULL, AG_DENY, "key", 0, 0},
	    {AG_OP_READ, "/w/id_dsa", NONE, NULL, AG_DENY, "key", 0, 0},
	    {AG_OP_READ, "/w/id_esa", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/a/sa", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/lit*x", NONE, NULL, AG_DENY, "star", 0, 0},
	    {AG_OP_READ, "/w/litAx", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/qaz", NONE, NULL, AG_DENY, "one", 0, 0},
	    {AG_OP_READ, "/w/qz", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/w/qaaz", NONE, NULL, AG_ALLOW, "default", 0, 0},
	    {AG_OP_READ, "/t", NONE, NULL, AG_DENY, "tree", 0, 0},
	    {AG_OP_READ, "/t/x/y", NONE, NULL, AG_DENY, "tree", 0, 0},
	};
	RUN(p.rs, cases);
	free(p.blob);
}

Test(decide, op_masks)
{
	static const char *const names[] = {"read", "write", "create", "delete", "rename",
					    "link", "chmod", "exec",   "connect"};
	char text[4096];
	size_t o = (size_t)snprintf(text, sizeof(text),
				    "{\"version\": 1, \"default\": \"allow\", \"rules\": [");
	for (int i = 0; i < AG_OP__COUNT; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
				      "%s{\"id\": \"only-%s\", \"ops\": [\"%s\"], \"paths\": "
				      "[\"/o/**\"], \"action\": \"%s\"}",
				      i ? "," : "", names[i], names[i], i % 2 ? "deny" : "audit");
	snprintf(text + o, sizeof(text) - o, "]}");
	struct policy p = compile(text, &vars);

	for (int i = 0; i < AG_OP__COUNT; i++) {
		char id[32];
		snprintf(id, sizeof(id), "only-%s", names[i]);
		ag_request_t req = {.op = (ag_op_t)i, .path = "/o/f"};
		ag_verdict_t v = ag_decide(p.rs, &req);
		cr_expect_str_eq(ag_ruleset_rule_id(p.rs, v.rule), id);
		cr_expect_eq(v.action, i % 2 ? AG_DENY : AG_AUDIT, "%s", names[i]);
		req.path = "/p/f";
		v = ag_decide(p.rs, &req);
		cr_expect(v.rule == -1 && v.action == AG_ALLOW, "%s outside", names[i]);
	}
	cr_expect_eq(ag_ruleset_guarded_ops(p.rs), AG_OPS_ALL);
	free(p.blob);
}

Test(decide, defaults_and_errno)
{
	static const struct {
		const char *def;
		ag_action_t want;
	} defs[] = {{"allow", AG_ALLOW}, {"deny", AG_DENY}, {"audit", AG_AUDIT}};
	for (size_t i = 0; i < NELEM(defs); i++) {
		char text[512];
		snprintf(text, sizeof(text),
			 "{\"version\": 1, \"default\": \"%s\", \"rules\": ["
			 "{\"id\": \"eperm\", \"ops\": [\"delete\"], \"paths\": [\"/p/**\"], "
			 "\"action\": \"deny\", \"errno\": \"EPERM\"},"
			 "{\"id\": \"plain\", \"ops\": [\"delete\"], \"paths\": [\"/q/**\"], "
			 "\"action\": \"deny\"},"
			 "{\"id\": \"enoent\", \"ops\": [\"read\"], \"paths\": [\"/p/**\"], "
			 "\"action\": \"deny\", \"errno\": \"ENOENT\"}]}",
			 defs[i].def);
		struct policy p = compile(text, &vars);
		const struct dcase cases[] = {
		    {AG_OP_DELETE, "/p/a", NONE, NULL, AG_DENY, "eperm", 1, EPERM},
		    {AG_OP_READ, "/p/a", NONE, NULL, AG_DENY, "enoent", 1, ENOENT},
		    {AG_OP_DELETE, "/q/a", NONE, NULL, AG_DENY, "plain", 1, EACCES},
		    {AG_OP_DELETE, "/r/a", NONE, NULL, defs[i].want, "default", 1, EACCES},
		    {AG_OP_WRITE, "/p/a", NONE, NULL, defs[i].want, "default", 1, EACCES},
		};
		run(defs[i].def, p.rs, cases, NELEM(cases));
		cr_expect_eq(ag_ruleset_default(p.rs), defs[i].want);
		free(p.blob);
	}
}

/* Making a hard link lets the new name write the file: the source is
 * judged as written as well as linked; the new name as created. */
Test(decide, link_counts_as_write)
{
	struct policy p = compile(
	    "{\"version\": 1, \"default\": \"allow\", \"rules\": ["
	    "{\"id\": \"ro\", \"ops\": [\"write\"], \"paths\": [\"/src/ro/**\"], \"action\": "
	    "\"deny\"},"
	    "{\"id\": \"watched\", \"ops\": [\"write\"], \"paths\": [\"/src/watched/**\"], "
	    "\"action\": \"audit\"},"
	    "{\"id\": \"no-link\", \"ops\": [\"link\"], \"paths\": [\"/src/nolink/**\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"no-create\", \"ops\": [\"create\"], \"paths\": [\"/dst/closed/**\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"link-ok\", \"ops\": [\"link\", \"write\"], \"paths\": [\"/src/**\"], "
	    "\"action\": \"allow\"}]}",
	    &vars);
	static const struct dcase cases[] = {
	    R2(LINK, "/src/ro/f", CREATE, "/dst/f", DENY, "ro", 1),
	    R2(LINK, "/src/watched/f", CREATE, "/dst/f", AUDIT, "watched", 1),
	    R2(LINK, "/src/nolink/f", CREATE, "/dst/f", DENY, "no-link", 1),
	    R2(LINK, "/src/rw/f", CREATE, "/dst/f", ALLOW, "link-ok", 1),
	    R2(LINK, "/src/rw/f", CREATE, "/dst/closed/f", DENY, "no-create", 2),
	    R2(LINK, "/src/ro/f", CREATE, "/dst/closed/f", DENY, "ro", 1),
	    /* Only link is judged as write too; rename of a read-only file is
	     * a rename, judged by rename rules. */
	    R2(RENAME, "/src/ro/f", CREATE, "/dst/f", ALLOW, "default", 1),
	    /* A plain one-path link request still counts as write. */
	    R(LINK, "/src/ro/g", DENY, "ro"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Two paths: each is judged on its own op; the stricter verdict wins and
 * `which` says which path it came from. On a tie the first path decides. */
Test(decide, rename_stricter_wins)
{
	struct policy p = compile(
	    "{\"version\": 1, \"default\": \"allow\", \"rules\": ["
	    "{\"id\": \"deny-from\", \"ops\": [\"rename\"], \"paths\": [\"/locked/**\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"audit-to\", \"ops\": [\"create\"], \"paths\": [\"/watched/**\"], "
	    "\"action\": \"audit\"},"
	    "{\"id\": \"audit-from\", \"ops\": [\"rename\"], \"paths\": [\"/noisy/**\"], "
	    "\"action\": \"audit\"},"
	    "{\"id\": \"no-replace\", \"ops\": [\"rename\"], \"paths\": [\"/keep/**\"], "
	    "\"action\": \"deny\", \"errno\": \"EPERM\"},"
	    "{\"id\": \"no-create\", \"ops\": [\"create\"], \"paths\": [\"/sealed/**\"], "
	    "\"action\": \"deny\", \"errno\": \"EROFS\"},"
	    "{\"id\": \"free\", \"ops\": [\"rename\", \"create\"], \"paths\": [\"/free/**\"], "
	    "\"action\": \"allow\"}]}",
	    &vars);
	static const struct dcase cases[] = {
	    R2(RENAME, "/free/a", CREATE, "/free/b", ALLOW, "free", 1),
	    R2(RENAME, "/free/a", CREATE, "/watched/b", AUDIT, "audit-to", 2),
	    R2(RENAME, "/locked/a", CREATE, "/watched/b", DENY, "deny-from", 1),
	    R2(RENAME, "/free/a", CREATE, "/sealed/b", DENY, "no-create", 2),
	    R2(RENAME, "/locked/a", CREATE, "/sealed/b", DENY, "deny-from", 1),
	    R2(RENAME, "/noisy/a", CREATE, "/watched/b", AUDIT, "audit-from", 1),
	    R2(RENAME, "/noisy/a", CREATE, "/free/b", AUDIT, "audit-from", 1),
	    R2(RENAME, "/other/a", CREATE, "/other/b", ALLOW, "default", 1),
	    /* The destination is judged by its own op: replacing /keep/x is a
	     * rename of it, creating it is not. */
	    R2(RENAME, "/free/a", RENAME, "/keep/x", DENY, "no-replace", 2),
	    R2(RENAME, "/free/a", CREATE, "/keep/x", ALLOW, "free", 1),
	    R2(RENAME, "/keep/x", CREATE, "/free/b", DENY, "no-replace", 1),
	};
	RUN(p.rs, cases);

	/* The refusal carries the errno of the rule that decided. */
	ag_request_t req = {
	    .op = AG_OP_RENAME, .path = "/free/a", .op2 = AG_OP_CREATE, .path2 = "/sealed/b"};
	cr_expect_eq(ag_decide(p.rs, &req).err, EROFS);
	req = (ag_request_t){
	    .op = AG_OP_RENAME, .path = "/free/a", .op2 = AG_OP_RENAME, .path2 = "/keep/x"};
	cr_expect_eq(ag_decide(p.rs, &req).err, EPERM);
	free(p.blob);
}

/* ---- what lies beneath a directory ---------------------------------------
 * Renaming a directory (AG_REQ_DIR1) or deleting a tree (AG_REQ_TREE1)
 * moves every rule prefix beneath it. The prefixes are found as a run of
 * the sorted prefix list, so neighbours in byte order that are not beneath
 * ("/r/a-x" and "/r/a0" around "/r/a/...") are where it can go wrong. */

static const char *const parts[] = {"a", "a-", "a.", "a0", "ab", "b"};
#define NPARTS NELEM(parts)

/* The index-th path of /r/P1[/P2[/P3]], all depths in turn. */
static void nth_path(size_t index, char *out, size_t outsz)
{
	size_t depth = 1, count = NPARTS;
	while (index >= count) {
		index -= count;
		depth++;
		count *= NPARTS;
	}
	int n = snprintf(out, outsz, "/r");
	for (size_t d = 0; d < depth; d++) {
		size_t k = index % NPARTS;
		index /= NPARTS;
		n += snprintf(out + n, outsz - (size_t)n, "/%s", parts[k]);
	}
}
#define NPATHS (NPARTS + NPARTS * NPARTS + NPARTS * NPARTS * NPARTS)

static bool begins_under(const char *p, const char *dir)
{
	size_t n = strcmp(dir, "/") == 0 ? 0 : strlen(dir);
	return strncmp(p, dir, n) == 0 && p[n] == '/';
}

static const char *only_exists;
static bool exists_only(const char *path)
{
	return strcmp(path, only_exists) == 0;
}

Test(beneath, every_prefix_under_a_directory_and_none_beside_it)
{
	char text[64 * 1024], path[64], dir[64];
	int n = snprintf(text, sizeof(text), "{\"version\": 1, \"default\": \"allow\", \"rules\": [");
	bool protected[NPATHS] = {false};
	int rules = 0;
	for (size_t i = 0; i < NPATHS; i += 5) {
		nth_path(i, path, sizeof(path));
		protected[i] = true;
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "%s{\"id\": \"p%zu\", \"ops\": [\"rename\", \"delete\"], "
			      "\"paths\": [\"%s/**\"], \"action\": \"deny\"}",
			      rules++ ? ", " : "", i, path);
	}
	snprintf(text + n, sizeof(text) - (size_t)n, "]}");
	struct policy p = compile(text, &vars);

	int checked = 0;
	for (size_t d = 0; d < NPATHS + 2; d++) {
		if (d < NPATHS)
			nth_path(d, dir, sizeof(dir));
		else
			snprintf(dir, sizeof(dir), "%s", d == NPATHS ? "/r" : "/");
		/* The oracle: the directory is a protected prefix or beneath
		 * one (the rule matches it), or one lies beneath it. */
		bool want_deny = false;
		for (size_t i = 0; i < NPATHS && !want_deny; i++) {
			if (!protected[i])
				continue;
			nth_path(i, path, sizeof(path));
			want_deny = strcmp(path, dir) == 0 || begins_under(dir, path) ||
				    begins_under(path, dir);
		}
		ag_request_t ren = {.op = AG_OP_RENAME, .path = dir, .flags = AG_REQ_DIR1};
		ag_request_t del = {.op = AG_OP_DELETE, .path = dir, .flags = AG_REQ_TREE1};
		ag_verdict_t vr = ag_decide(p.rs, &ren), vd = ag_decide(p.rs, &del);
		cr_expect_eq(vr.action, want_deny ? AG_DENY : AG_ALLOW, "rename of %s: %s", dir,
			     ag_action_to_string(vr.action));
		cr_expect_eq(vd.action, want_deny ? AG_DENY : AG_ALLOW, "delete of tree %s: %s",
			     dir, ag_action_to_string(vd.action));
		checked++;
	}
	cr_expect_eq(checked, NPATHS + 2);

	/* Without the flags only the path itself is judged. */
	ag_request_t plain = {.op = AG_OP_RENAME, .path = "/r"};
	cr_expect_eq(ag_decide(p.rs, &plain).action, AG_ALLOW);

	/* Only the prefixes that exist count, when the caller says which do:
	 * /r/a- is no rule's, and of the protected /r/a-/a0 (index 25) and
	 * the others beneath it only that one exists. */
	nth_path(25, path, sizeof(path));
	cr_assert_str_eq(path, "/r/a-/a0");
	only_exists = path;
	ag_request_t some = {.op = AG_OP_RENAME, .path = "/r/a-", .flags = AG_REQ_DIR1,
			     .exists = exists_only};
	ag_verdict_t v = ag_decide(p.rs, &some);
	cr_expect_eq(v.action, AG_DENY);
	cr_expect_str_eq(ag_ruleset_rule_id(p.rs, v.rule), "p25");
	only_exists = "/nowhere";
	cr_expect_eq(ag_decide(p.rs, &some).action, AG_ALLOW);
	free(p.blob);
}

/* The decision is pure: it leaves errno alone and answers the same twice. */
Test(decide, pure)
{
	struct policy p = compile("{\"version\": 1, \"rules\": [{\"id\": \"d\", \"ops\": "
				  "[\"write\"], \"paths\": [\"/x/**\"], \"action\": \"deny\"}]}",
				  &vars);
	ag_request_t req = {.op = AG_OP_WRITE, .path = "/x/y"};
	errno = 1234;
	ag_verdict_t a = ag_decide(p.rs, &req), b = ag_decide(p.rs, &req);
	cr_expect_eq(errno, 1234);
	cr_expect(memcmp(&a, &b, sizeof(a)) == 0);
	free(p.blob);
}

/* ---- the prefix index ------------------------------------------------------
 * Patterns are filed under their literal leading components; these cases
 * probe the splits a prefix index can get wrong. */

Test(prefix, root_and_everything)
{
	struct policy p = compile(
	    "{\"version\": 1, \"rules\": ["
	    "{\"id\": \"root\", \"ops\": [\"delete\"], \"paths\": [\"/\"], \"action\": \"deny\"},"
	    "{\"id\": \"all\", \"ops\": [\"chmod\"], \"paths\": [\"/**\"], \"action\": \"audit\"},"
	    "{\"id\": \"top\", \"ops\": [\"write\"], \"paths\": [\"/*\"], \"action\": \"deny\"}]}",
	    &vars);
	static const struct dcase cases[] = {
	    R(DELETE, "/", DENY, "root"),	  R(DELETE, "/a", ALLOW, "default"),
	    R(DELETE, "/a/b", ALLOW, "default"),  R(CHMOD, "/", AUDIT, "all"),
	    R(CHMOD, "/a", AUDIT, "all"),	  R(CHMOD, "/a/b/c/d/e/f", AUDIT, "all"),
	    R(CHMOD, "/.hidden/x", AUDIT, "all"), R(WRITE, "/a", DENY, "top"),
	    R(WRITE, "/a/b", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

Test(prefix, literal_file)
{
	struct policy p =
	    compile("{\"version\": 1, \"rules\": [{\"id\": \"passwd\", \"ops\": "
		    "[\"write\"], \"paths\": [\"/etc/passwd\"], \"action\": \"deny\"}]}",
		    &vars);
	static const struct dcase cases[] = {
	    R(WRITE, "/etc/passwd", DENY, "passwd"),
	    R(WRITE, "/etc/passwd2", ALLOW, "default"),
	    R(WRITE, "/etc/passw", ALLOW, "default"),
	    R(WRITE, "/etc/passwd/x", ALLOW, "default"),
	    R(WRITE, "/etc", ALLOW, "default"),
	    R(WRITE, "/etc/passwd-", ALLOW, "default"),
	    R(WRITE, "/x/etc/passwd", ALLOW, "default"),
	    R(WRITE, "/", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Rules whose prefixes nest: the lowest index wins whatever the length of
 * its prefix, including within one prefix. */
Test(prefix, shared_prefixes)
{
	struct policy p = compile(
	    "{\"version\": 1, \"default\": \"deny\", \"rules\": ["
	    "{\"id\": \"deep\", \"ops\": [\"write\"], \"paths\": [\"/a/b/c/**\"], \"action\": "
	    "\"audit\"},"
	    "{\"id\": \"top\", \"ops\": [\"write\"], \"paths\": [\"/a/**\"], \"action\": \"deny\"},"
	    "{\"id\": \"mid\", \"ops\": [\"write\", \"read\"], \"paths\": [\"/a/b/**\"], "
	    "\"action\": \"allow\"},"
	    "{\"id\": \"star-c\", \"ops\": [\"read\"], \"paths\": [\"/a/b/*.c\"], \"action\": "
	    "\"deny\"},"
	    "{\"id\": \"star-h\", \"ops\": [\"read\", \"create\"], \"paths\": [\"/a/b/*.h\"], "
	    "\"action\": \"audit\"},"
	    "{\"id\": \"b-any\", \"ops\": [\"create\"], \"paths\": [\"/a/b/*\"], \"action\": "
	    "\"deny\"},"
	    "{\"id\": \"ab\", \"ops\": [\"write\"], \"paths\": [\"/a/bc/**\"], \"action\": "
	    "\"allow\"}"
	    "]}",
	    &vars);
	static const struct dcase cases[] = {
	    R(WRITE, "/a/b/c/d", AUDIT, "deep"),   R(WRITE, "/a/b/c", AUDIT, "deep"),
	    R(WRITE, "/a/b/x", DENY, "top"), /* mid is longer but later */
	    R(WRITE, "/a/bc/x", DENY, "top"),	   R(WRITE, "/a", DENY, "top"),
	    R(READ, "/a/b/x.c", ALLOW, "mid"), /* mid before star-c */
	    R(READ, "/a/b/x.h", ALLOW, "mid"),	   R(CREATE, "/a/b/x.h", AUDIT, "star-h"),
	    R(CREATE, "/a/b/x.c", DENY, "b-any"),  R(CREATE, "/a/b/sub/x.c", DENY, "default"),
	    R(READ, "/a/bc/x.c", DENY, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

Test(prefix, wildcard_in_first_component)
{
	struct policy p =
	    compile("{\"version\": 1, \"rules\": ["
		    "{\"id\": \"any-secret\", \"ops\": [\"read\"], \"paths\": [\"/*/secret\"], "
		    "\"action\": \"deny\"},"
		    "{\"id\": \"homes\", \"ops\": [\"delete\"], \"paths\": [\"/h*/**\"], "
		    "\"action\": \"deny\"},"
		    "{\"id\": \"class\", \"ops\": [\"chmod\"], \"paths\": [\"/[ab]/x\"], "
		    "\"action\": \"deny\"},"
		    "{\"id\": \"qmark\", \"ops\": [\"write\"], \"paths\": [\"/?\"], \"action\": "
		    "\"deny\"}]}",
		    &vars);
	static const struct dcase cases[] = {
	    R(READ, "/x/secret", DENY, "any-secret"), R(READ, "/secret", ALLOW, "default"),
	    R(READ, "/x/y/secret", ALLOW, "default"), R(READ, "/x/secrets", ALLOW, "default"),
	    R(DELETE, "/home", DENY, "homes"),	      R(DELETE, "/home/u/f", DENY, "homes"),
	    R(DELETE, "/h", DENY, "homes"),	      R(DELETE, "/xhome/f", ALLOW, "default"),
	    R(CHMOD, "/a/x", DENY, "class"),	      R(CHMOD, "/b/x", DENY, "class"),
	    R(CHMOD, "/c/x", ALLOW, "default"),	      R(WRITE, "/q", DENY, "qmark"),
	    R(WRITE, "/qq", ALLOW, "default"),	      R(WRITE, "/q/r", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

Test(prefix, double_star_in_the_middle)
{
	struct policy p = compile(
	    "{\"version\": 1, \"rules\": ["
	    "{\"id\": \"z\", \"ops\": [\"write\"], \"paths\": [\"/a/**/z\"], \"action\": \"deny\"},"
	    "{\"id\": \"git\", \"ops\": [\"delete\"], \"paths\": [\"/r/**/.git/**\"], "
	    "\"action\": \"deny\"}]}",
	    &vars);
	static const struct dcase cases[] = {
	    R(WRITE, "/a/z", DENY, "z"),
	    R(WRITE, "/a/b/z", DENY, "z"),
	    R(WRITE, "/a/b/c/d/z", DENY, "z"),
	    R(WRITE, "/a/b/zz", ALLOW, "default"),
	    R(WRITE, "/az", ALLOW, "default"),
	    R(WRITE, "/a/z/y", ALLOW, "default"),
	    R(WRITE, "/b/a/z", ALLOW, "default"),
	    R(DELETE, "/r/.git", DENY, "git"),
	    R(DELETE, "/r/p/q/.git/objects/ab", DENY, "git"),
	    R(DELETE, "/r/p/q/.github/x", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Against a model: the first rule covering the operation with a pattern
 * that ag_glob_match matches against the whole path. Random policies and
 * paths from a small alphabet, so that prefixes are shared, globs span
 * one, several or any number of components, and most paths come near some
 * pattern; this is what the index's shortcuts (buckets by prefix, the
 * count of '/' a glob spans, the literal tail, a slash and two stars taken
 * whole) must never change. The paths come in runs in one directory, and
 * each is also decided through a memo (ag_decide_memo), which must agree. */
static unsigned long model_seed = 88172645463325252ul;

static unsigned model_rand(unsigned n)
{
	model_seed ^= model_seed << 13;
	model_seed ^= model_seed >> 7;
	model_seed ^= model_seed << 17;
	return (unsigned)(model_seed % n);
}

Test(prefix, index_agrees_with_matching_each_pattern)
{
	static const char *const pcomps[] = {"a", "b", "ab", "*", "a*", "*b", "?", "[ab]", "**",
					     "**", "x.c", "*.c", "a?b"};
	static const char *const scomps[] = {"a", "b", "ab", "ba", "aab", "x.c", "y.c", "c", "abb"};
	static const char *const opnames[] = {"read", "write", "delete"};
	static const ag_op_t opvals[] = {AG_OP_READ, AG_OP_WRITE, AG_OP_DELETE};
	enum { POLICIES = 60, RULES = 8, PATHS = 400 };
	char pats[RULES][3][128], text[8192], dir[256] = "/zq", path[300];
	unsigned ops[RULES];
	static ag_memo_t memo; /* large: not on the stack */

	for (int round = 0; round < POLICIES; round++) {
		size_t o = (size_t)snprintf(text, sizeof(text),
					    "{\"version\": 1, \"default\": \"allow\", \"rules\": [");
		for (int r = 0; r < RULES; r++) {
			ops[r] = 1 + model_rand(7); /* a non-empty subset of opvals */
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "%s{\"id\": \"r%d\", \"ops\": [", r ? "," : "", r);
			for (int b = 0, first = 1; b < 3; b++)
				if (ops[r] & (1u << b)) {
					o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"%s\"",
							      first ? "" : ", ", opnames[b]);
					first = 0;
				}
			o += (size_t)snprintf(text + o, sizeof(text) - o, "], \"paths\": [");
			for (int k = 0; k < 3; k++) {
				unsigned depth = model_rand(5);
				/* some anchored at "/zq", some anywhere */
				size_t n = (size_t)snprintf(pats[r][k], sizeof(pats[r][k]), "%s",
							    model_rand(4) ? "/zq" : "/**");
				for (unsigned d = 0; d < depth; d++)
					n += (size_t)snprintf(
					    pats[r][k] + n, sizeof(pats[r][k]) - n, "/%s",
					    pcomps[model_rand(NELEM(pcomps))]);
				if (n == 3 && model_rand(2))
					snprintf(pats[r][k] + n, sizeof(pats[r][k]) - n, "/**");
				o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"%s\"",
						      k ? ", " : "", pats[r][k]);
			}
			o += (size_t)snprintf(text + o, sizeof(text) - o,
					      "], \"action\": \"%s\"}", r % 2 ? "audit" : "deny");
		}
		snprintf(text + o, sizeof(text) - o, "]}");
		struct policy p = compile(text, &vars);
		for (int i = 0; i < PATHS; i++) {
			if (model_rand(4) == 0) { /* a new directory */
				size_t n = (size_t)snprintf(dir, sizeof(dir), "/zq");
				for (unsigned d = model_rand(6); d > 0; d--)
					n += (size_t)snprintf(dir + n, sizeof(dir) - n, "/%s",
							      scomps[model_rand(NELEM(scomps))]);
			}
			snprintf(path, sizeof(path), "%s/%s", dir, scomps[model_rand(NELEM(scomps))]);
			unsigned b = model_rand(3);
			int want = -1;
			for (int r = 0; r < RULES && want < 0; r++)
				for (int k = 0; k < 3 && want < 0 && (ops[r] & (1u << b)); k++)
					if (ag_glob_match(pats[r][k], strlen(pats[r][k]), path,
							  strlen(path)))
						want = r;
			ag_request_t req = {.op = opvals[b], .path = path};
			ag_verdict_t v = ag_decide(p.rs, &req), m = ag_decide_memo(p.rs, &req, &memo);
			cr_assert_eq(v.rule, want, "policy %d, %s %s: rule %d, the model says %d\n%s",
				     round, opnames[b], path, v.rule, want, text);
			cr_assert(m.rule == v.rule && m.action == v.action && m.err == v.err &&
				      m.which == v.which,
				  "policy %d, %s %s: the memo says rule %d, ag_decide %d\n%s", round,
				  opnames[b], path, m.rule, v.rule, text);
		}
		free(p.blob);
	}
}

/* A rule on a directory never covers a sibling whose name starts the same. */
Test(prefix, whole_components)
{
	struct policy p = compile(
	    "{\"version\": 1, \"default\": \"deny\", \"rules\": ["
	    "{\"id\": \"ws\", \"ops\": [\"write\", \"delete\"], \"paths\": [\"/home/u/ws/**\"], "
	    "\"action\": \"allow\"},"
	    "{\"id\": \"ws-lit\", \"ops\": [\"chmod\"], \"paths\": [\"/home/u/ws\"], "
	    "\"action\": \"allow\"},"
	    "{\"id\": \"vars\", \"ops\": [\"read\"], \"paths\": [\"${WORKSPACE}/**\"], "
	    "\"action\": \"allow\"}]}",
	    &vars);
	static const struct dcase cases[] = {
	    R(WRITE, "/home/u/ws", ALLOW, "ws"),
	    R(WRITE, "/home/u/ws/x", ALLOW, "ws"),
	    R(DELETE, "/home/u/ws/a/b/c", ALLOW, "ws"),
	    R(WRITE, "/home/u/ws-old", DENY, "default"),
	    R(WRITE, "/home/u/ws-old/x", DENY, "default"),
	    R(DELETE, "/home/u/wsx", DENY, "default"),
	    R(WRITE, "/home/u/w", DENY, "default"),
	    R(WRITE, "/home/u", DENY, "default"),
	    R(CHMOD, "/home/u/ws", ALLOW, "ws-lit"),
	    R(CHMOD, "/home/u/ws/x", DENY, "default"),
	    R(CHMOD, "/home/u/ws2", DENY, "default"),
	    R(READ, "/w", ALLOW, "vars"),
	    R(READ, "/w/f", ALLOW, "vars"),
	    R(READ, "/w2/f", DENY, "default"),
	    R(READ, "/wf", DENY, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* The kernel reports resolved paths; a literal prefix written through a
 * symlink is also filed under where the symlink leads. */
Test(prefix, symlinked_prefix)
{
	char tmpl[] = "/tmp/agt-decide-XXXXXX", dir[PATH_MAX], real[PATH_MAX + 8],
	     link[PATH_MAX + 8], text[3 * PATH_MAX], path[PATH_MAX + 32];

	cr_assert_not_null(mkdtemp(tmpl));
	cr_assert_not_null(realpath(tmpl, dir));
	snprintf(real, sizeof(real), "%s/real", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	cr_assert_eq(mkdir(real, 0700), 0);
	cr_assert_eq(symlink("real", link), 0);
	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"rules\": [{\"id\": \"via-link\", \"ops\": [\"write\"], "
		 "\"paths\": [\"%s/secret\", \"%s/sub/*.key\"], \"action\": \"deny\"}]}",
		 link, link);
	struct policy p = compile(text, &vars);

	static const char *const denied[] = {"link/secret", "real/secret", "link/sub/a.key",
					     "real/sub/a.key"};
	for (size_t i = 0; i < NELEM(denied); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, denied[i]);
		ag_request_t req = {.op = AG_OP_WRITE, .path = path};
		ag_verdict_t v = ag_decide(p.rs, &req);
		cr_expect(v.action == AG_DENY && v.rule == 0, "%s: %s", path,
			  ag_action_to_string(v.action));
	}
	snprintf(path, sizeof(path), "%s/real/other", dir);
	ag_request_t req = {.op = AG_OP_WRITE, .path = path};
	cr_expect_eq(ag_decide(p.rs, &req).action, AG_ALLOW);

	/* Through a link whose target does not exist yet, and deeper than
	 * any part that exists: the target's name, beneath its directory. */
	char far[PATH_MAX + 8], text2[3 * PATH_MAX];
	snprintf(far, sizeof(far), "%s/far", dir);
	cr_assert_eq(symlink("gone/away", far), 0);
	snprintf(text2, sizeof(text2),
		 "{\"version\": 1, \"rules\": [{\"id\": \"far\", \"ops\": [\"write\"], "
		 "\"paths\": [\"%s/x/y/*.key\"], \"action\": \"deny\"}]}",
		 far);
	struct policy q = compile(text2, &vars);
	snprintf(path, sizeof(path), "%s/far/x/y/a.key", dir);
	req.path = path;
	cr_expect_eq(ag_decide(q.rs, &req).action, AG_DENY, "%s", path);
	snprintf(path, sizeof(path), "%s/gone/away/x/y/a.key", dir);
	cr_expect_eq(ag_decide(q.rs, &req).action, AG_ALLOW,
		     "%s: a dangling link is no alias", path);

	/* The stored ruleset is reused by its hash, so a link made since
	 * the last compile must change it. */
	snprintf(text2, sizeof(text2),
		 "{\"version\": 1, \"rules\": [{\"id\": \"later\", \"ops\": [\"write\"], "
		 "\"paths\": [\"%s/later/secret\"], \"action\": \"deny\"}]}",
		 dir);
	struct policy before = compile(text2, &vars);
	snprintf(path, sizeof(path), "%s/later", dir);
	cr_assert_eq(symlink("real", path), 0);
	struct policy after = compile(text2, &vars);
	cr_expect_neq(ag_ruleset_hash(before.rs), ag_ruleset_hash(after.rs));
	snprintf(path, sizeof(path), "%s/real/secret", dir);
	cr_expect_eq(ag_decide(before.rs, &req).action, AG_ALLOW);
	cr_expect_eq(ag_decide(after.rs, &req).action, AG_DENY);
	struct policy again = compile(text2, &vars);
	cr_expect_eq(ag_ruleset_hash(after.rs), ag_ruleset_hash(again.rs));
	snprintf(path, sizeof(path), "%s/later", dir);
	unlink(path);
	unlink(far);
	free(q.blob);
	free(before.blob);
	free(after.blob);
	free(again.blob);
	free(p.blob);
	unlink(link);
	rmdir(real);
	rmdir(dir);
}

/* /proc/self and the links into it (/dev/fd) name each process's own
 * entries: a policy naming them compiles to the same ruleset in any
 * process, and /proc/self is not filed under the compiling process's pid. */
Test(prefix, proc_self_is_not_the_compilers)
{
	static const char text[] =
	    "{\"version\": 1, \"rules\": [{\"id\": \"own\", \"ops\": [\"read\"], "
	    "\"paths\": [\"/proc/self/environ\", \"/proc/thread-self/environ\", "
	    "\"/dev/fd/**\"], \"action\": \"deny\"}]}";
	struct policy p = compile(text, &vars);
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct policy c = compile(text, &vars);
		uint64_t h = ag_ruleset_hash(c.rs);
		_exit(write(fds[1], &h, sizeof(h)) == sizeof(h) ? 0 : 1);
	}
	uint64_t h = 0;
	int st;
	cr_assert_eq(read(fds[0], &h, sizeof(h)), (ssize_t)sizeof(h));
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	close(fds[0]);
	close(fds[1]);
	cr_expect_eq(h, ag_ruleset_hash(p.rs), "another process compiled another ruleset");

	char mine[64];
	snprintf(mine, sizeof(mine), "/proc/%d/environ", (int)getpid());
	ag_request_t req = {.op = AG_OP_READ, .path = mine};
	cr_expect_eq(ag_decide(p.rs, &req).action, AG_ALLOW,
		     "%s: filed under the compiling process's pid", mine);
	req.path = "/proc/self/environ";
	cr_expect_eq(ag_decide(p.rs, &req).action, AG_DENY);
	req.path = "/dev/fd/3";
	cr_expect_eq(ag_decide(p.rs, &req).action, AG_DENY);
	free(p.blob);
}

/* Not timed: whether 10,000 rules of distinct prefixes still all decide.
 * The first, middle and last rule, neighbours that differ in one digit, and
 * paths beside them that no rule covers. */
Test(prefix, ten_thousand_distinct_prefixes)
{
	enum { N = 10000 };
	size_t cap = (size_t)N * 128, o = 0;
	char *text = malloc(cap);

	cr_assert_not_null(text);
	o += (size_t)snprintf(text + o, cap - o,
			      "{\"version\": 1, \"default\": \"allow\", \"rules\": [");
	for (int i = 0; i < N; i++)
		o += (size_t)snprintf(text + o, cap - o,
				      "%s{\"id\": \"r%d\", \"ops\": [\"write\"], \"paths\": "
				      "[\"/p%05d/sub/**\"], \"action\": \"%s\"}",
				      i ? "," : "", i, i, i % 2 ? "audit" : "deny");
	snprintf(text + o, cap - o, "]}");
	struct policy p = compile(text, &vars);
	cr_expect_eq(ag_ruleset_nrules(p.rs), N);

	static const int picks[] = {0, 1, N / 2 - 1, N / 2, N / 2 + 1, N - 2, N - 1};
	for (size_t i = 0; i < NELEM(picks); i++) {
		char path[64], id[16];
		int r = picks[i];
		snprintf(path, sizeof(path), "/p%05d/sub/deeper/file", r);
		snprintf(id, sizeof(id), "r%d", r);
		ag_request_t req = {.op = AG_OP_WRITE, .path = path};
		ag_verdict_t v = ag_decide(p.rs, &req);
		cr_expect_str_eq(ag_ruleset_rule_id(p.rs, v.rule), id, "%s", path);
		cr_expect_eq(v.action, r % 2 ? AG_AUDIT : AG_DENY, "%s", path);
		snprintf(path, sizeof(path), "/p%05d/other", r);
		cr_expect_eq(ag_decide(p.rs, &req).rule, -1, "%s", path);
		snprintf(path, sizeof(path), "/p%05d/subx/f", r);
		cr_expect_eq(ag_decide(p.rs, &req).rule, -1, "%s", path);
		req.op = AG_OP_READ;
		snprintf(path, sizeof(path), "/p%05d/sub/f", r);
		cr_expect_eq(ag_decide(p.rs, &req).rule, -1, "%s read", path);
	}
	ag_request_t req = {.op = AG_OP_WRITE, .path = "/p10000/sub/f"};
	cr_expect_eq(ag_decide(p.rs, &req).rule, -1);
	free(p.blob);
	free(text);
}

/* ---- the shipped default policy -------------------------------------------- */

#define HOME "/home/agt-fake"
#define WS   HOME "/src/proj"
#define TMP  "/tmp/agt-fake-tmpdir"

static struct policy shipped(void)
{
	static const ag_vars_t v = {.workspace = WS, .home = HOME, .tmpdir = TMP};
	const char *src = getenv("AGT_SRC");
	char file[PATH_MAX];
	struct policy p;
	size_t len;
	ag_error_t err;

	cr_assert_not_null(src, "AGT_SRC is not set (the source directory)");
	snprintf(file, sizeof(file), "%s/rules/default.json", src);
	int rc = ag_policy_compile_file(file, &v, &p.blob, &len, &err);
	cr_assert_eq(rc, 0, "%s:%d:%d: %s", err.source, err.line, err.column, err.text);
	p.rs = ag_ruleset_view(p.blob, len, &err);
	cr_assert_not_null(p.rs, "%s", err.text);
	return p;
}

/* The embedded default is the shipped file. */
Test(shipped, embedded_is_the_file)
{
	const char *src = getenv("AGT_SRC");
	char file[PATH_MAX];
	cr_assert_not_null(src);
	snprintf(file, sizeof(file), "%s/rules/default.json", src);
	FILE *f = fopen(file, "r");
	cr_assert_not_null(f);
	char *buf = malloc(ag_default_policy_len + 2);
	cr_assert_not_null(buf);
	size_t n = fread(buf, 1, ag_default_policy_len + 1, f);
	fclose(f);
	cr_expect_eq(n, ag_default_policy_len);
	cr_expect(memcmp(buf, ag_default_policy,
			 n < ag_default_policy_len ? n : ag_default_policy_len) == 0);
	free(buf);
}

/* Point 3: secrets are not read (nor changed). */
Test(shipped, secrets)
{
	struct policy p = shipped();
	static const struct dcase cases[] = {
	    R(READ, HOME "/.ssh/id_ed25519", DENY, "secrets"),
	    R(READ, HOME "/.ssh/id_rsa", DENY, "secrets"),
	    R(READ, HOME "/.ssh/deploy_rsa", DENY, "secrets"),
	    R(READ, HOME "/.ssh/server.pem", DENY, "secrets"),
	    R(READ, HOME "/.aws/credentials", DENY, "secrets"),
	    R(READ, HOME "/.aws/sso/cache/x.json", DENY, "secrets"),
	    R(READ, HOME "/.gnupg/private-keys-v1.d/k.key", DENY, "secrets"),
	    R(READ, HOME "/.netrc", DENY, "secrets"),
	    R(READ, HOME "/.docker/config.json", DENY, "secrets"),
	    R(READ, HOME "/.kube/config", DENY, "secrets"),
	    R(READ, HOME "/.config/gcloud/credentials.db", DENY, "secrets"),
	    R(READ, HOME "/.azure/accessTokens.json", DENY, "secrets"),
	    R(READ, HOME "/.git-credentials", DENY, "secrets"),
	    R(WRITE, HOME "/.aws/credentials", DENY, "secrets"),
	    R(DELETE, HOME "/.ssh/id_ed25519", DENY, "secrets"),
	    R(CHMOD, HOME "/.ssh/id_ed25519", DENY, "secrets"),
	    R(RENAME, HOME "/.gnupg/pubring.kbx", DENY, "secrets"),
	    /* A key is a key whatever its name. */
	    R(READ, HOME "/.ssh/github", DENY, "secrets"),
	    R(READ, HOME "/.ssh/keys/work", DENY, "secrets"),
	    R(READ, HOME "/.config/git/credentials", DENY, "secrets"),
	    R(READ, HOME "/.config/containers/auth.json", DENY, "secrets"),
	    R(READ, HOME "/.cargo/credentials.toml", DENY, "secrets"),
	    R(WRITE, HOME "/.cargo/credentials.toml", DENY, "secrets"),
	    R(READ, HOME "/.gem/credentials", DENY, "secrets"),
	    R(READ, HOME "/.pgpass", DENY, "secrets"),
	    /* What ssh and git read to connect stays readable; its config
	     * stays unwritable (persistence). */
	    R(READ, HOME "/.ssh/known_hosts", ALLOW, "ssh-public-keys"),
	    R(READ, HOME "/.ssh/config", ALLOW, "ssh-public-keys"),
	    R(READ, HOME "/.ssh/config.d/work", ALLOW, "ssh-public-keys"),
	    R(READ, HOME "/.ssh/id_ed25519.pub", ALLOW, "ssh-public-keys"),
	    R(WRITE, HOME "/.ssh/config", DENY, "persistence"),
	    R(CREATE, HOME "/.ssh/config.d/evil", DENY, "persistence"),
	    R(READ, HOME "/.ssh/allowed_signers", ALLOW, "ssh-public-keys"),
	    R(CREATE, HOME "/.ssh/id_new", ALLOW, "default"),
	    R(WRITE, HOME "/.cargo/config.toml", ALLOW, "tool-state"),
	    /* What is not a secret stays readable. */
	    R(READ, HOME "/.docker/daemon.json", ALLOW, "default"),
	    R(READ, HOME "/.kube/cache/x", ALLOW, "default"),
	    R(READ, HOME "/.bashrc", ALLOW, "default"),
	    R(READ, "/etc/passwd", ALLOW, "default"),
	    R(READ, WS "/.env", ALLOW, "workspace"),
	    /* Another user's home is not $HOME. */
	    R(READ, "/home/other/.ssh/id_rsa", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Point 4: no persistence planted. */
Test(shipped, persistence)
{
	struct policy p = shipped();
	static const struct dcase cases[] = {
	    R(WRITE, HOME "/.bashrc", DENY, "persistence"),
	    R(CREATE, HOME "/.bashrc", DENY, "persistence"),
	    R(CREATE, HOME "/.profile", DENY, "persistence"),
	    R(WRITE, HOME "/.zshrc", DENY, "persistence"),
	    R(CREATE, HOME "/.ssh/authorized_keys", DENY, "persistence"),
	    R(WRITE, HOME "/.ssh/authorized_keys", DENY, "persistence"),
	    R(CREATE, HOME "/.config/autostart/x.desktop", DENY, "persistence"),
	    R(CREATE, HOME "/.config/systemd/user/evil.service", DENY, "persistence"),
	    R(CREATE, "/etc/cron.d/job", DENY, "persistence"),
	    R(CREATE, "/var/spool/cron/crontabs/u", DENY, "persistence"),
	    R(WRITE, "/etc/ld.so.preload", DENY, "persistence"),
	    R(CREATE, "/etc/ld.so.preload", DENY, "persistence"),
	    R(CREATE, "/etc/profile.d/x.sh", DENY, "persistence"),
	    R(CREATE, "/etc/systemd/system/x.service", DENY, "persistence"),
	    R(LINK, HOME "/.bashrc", DENY, "persistence"),
	    R2(RENAME, WS "/payload", CREATE, HOME "/.bashrc", DENY, "persistence", 2),
	    R2(LINK, WS "/payload", CREATE, HOME "/.bash_profile", DENY, "persistence", 2),
	    R(READ, HOME "/.bashrc", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Point 2: outside, nothing that exists is deleted, renamed away,
 * overwritten or re-moded; creating new files stays allowed. */
Test(shipped, outside_the_workspace)
{
	struct policy p = shipped();
	static const struct dcase cases[] = {
	    R(DELETE, HOME "/notes.txt", DENY, "outside-workspace"),
	    R(DELETE, HOME, DENY, "outside-workspace"),
	    R(WRITE, HOME "/notes.txt", DENY, "outside-workspace"),
	    R(CHMOD, HOME "/notes.txt", DENY, "outside-workspace"),
	    R(RENAME, HOME "/notes.txt", DENY, "outside-workspace"),
	    R(LINK, HOME "/notes.txt", DENY, "outside-workspace"),
	    R(WRITE, "/usr/bin/ls", DENY, "outside-workspace"),
	    R(DELETE, "/etc/hosts", DENY, "outside-workspace"),
	    R(WRITE, "/dev/sda", DENY, "outside-workspace"),
	    R(DELETE, "/", DENY, "outside-workspace"),
	    R(DELETE, HOME "/src/proj-old/x", DENY, "outside-workspace"),
	    R(DELETE, HOME "/src", DENY, "outside-workspace"),
	    R2(RENAME, HOME "/notes.txt", CREATE, WS "/notes.txt", DENY, "outside-workspace", 1),
	    R2(RENAME, WS "/a", RENAME, HOME "/notes.txt", DENY, "outside-workspace", 2),
	    R(CREATE, HOME "/new-file", ALLOW, "default"),
	    R(CREATE, "/opt/tool/bin/x", ALLOW, "default"),
	    R2(RENAME, WS "/a", CREATE, HOME "/a", ALLOW, "workspace", 1),
	    R(READ, "/usr/include/stdio.h", ALLOW, "default"),
	    R(EXEC, "/usr/bin/make", ALLOW, "default"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* Point 1: inside the workspace and the temp directories everything works,
 * and ordinary tool state outside stays writable. */
Test(shipped, workspace_temp_and_tools)
{
	struct policy p = shipped();
	static const struct dcase cases[] = {
	    R(WRITE, WS, ALLOW, "workspace"),
	    R(DELETE, WS "/build", ALLOW, "workspace"),
	    R(DELETE, WS "/build/obj/a.o", ALLOW, "workspace"),
	    R(CHMOD, WS "/run.sh", ALLOW, "workspace"),
	    R(CREATE, WS "/.git/index.lock", ALLOW, "workspace"),
	    R(LINK, WS "/.git/objects/ab/cd", ALLOW, "workspace"),
	    R(READ, WS "/src/main.c", ALLOW, "workspace"),
	    R2(RENAME, WS "/a", RENAME, WS "/b", ALLOW, "workspace", 1),
	    /* Even files that look like persistence or secrets inside it. */
	    R(WRITE, WS "/.bashrc", ALLOW, "workspace"),
	    R(DELETE, "/tmp/x", ALLOW, "workspace"),
	    R(WRITE, "/tmp/a/b/c", ALLOW, "workspace"),
	    R(DELETE, "/var/tmp/x", ALLOW, "workspace"),
	    R(DELETE, TMP "/x", ALLOW, "workspace"),
	    R(CHMOD, "/dev/shm/x", ALLOW, "workspace"),
	    R(DELETE, HOME "/.cache/pip/wheel", ALLOW, "tool-state"),
	    R(WRITE, HOME "/.cache/x", ALLOW, "tool-state"),
	    R(WRITE, HOME "/.cargo/registry/index", ALLOW, "tool-state"),
	    R(RENAME, HOME "/.npm/_cacache/tmp/x", ALLOW, "tool-state"),
	    R(WRITE, HOME "/.bash_history", ALLOW, "tool-state"),
	    R(WRITE, HOME "/.config/git/config", ALLOW, "tool-state"),
	    R(WRITE, "/dev/null", ALLOW, "devices"),
	    R(WRITE, "/dev/tty", ALLOW, "devices"),
	    R(WRITE, "/dev/pts/3", ALLOW, "devices"),
	    R(WRITE, "/proc/self/fd/1", ALLOW, "devices"),
	    R(WRITE, "/proc/1234/attr/current", ALLOW, "devices"),
	    R(DELETE, "/dev/null", DENY, "outside-workspace"),
	};
	RUN(p.rs, cases);
	free(p.blob);
}

/* ---- exec rules with argv patterns ----------------------------------------- */

Test(exec, argv_patterns_each_match_some_argument)
{
	struct policy p = compile(
	    "{\"version\": 1, \"rules\": ["
	    "{\"id\": \"force-push\", \"ops\": [\"exec\"], \"paths\": [\"**/git\"],"
	    " \"argv\": [\"push\", \"--force*\"], \"action\": \"deny\"},"
	    "{\"id\": \"fetch-url\", \"ops\": [\"exec\"], \"paths\": [\"**/curl\"],"
	    " \"argv\": [\"http*://*/x?z\"], \"action\": \"audit\"},"
	    "{\"id\": \"literal-star\", \"ops\": [\"exec\"], \"paths\": [\"/bin/echo\"],"
	    " \"argv\": [\"\\\\*\"], \"action\": \"deny\"},"
	    "{\"id\": \"sudo\", \"ops\": [\"exec\"], \"paths\": [\"**/sudo\"], \"action\": \"deny\"}"
	    "]}",
	    &vars);
	static const struct {
		const char *prog;
		const char *argv[6];
		ag_action_t want;
		const char *rule;
	} cases[] = {
	    {"/usr/bin/git", {"git", "push", "--force", NULL}, AG_DENY, "force-push"},
	    {"/usr/bin/git", {"git", "--force-with-lease", "push", "origin", NULL}, AG_DENY,
	     "force-push"},
	    {"/usr/bin/git", {"git", "push", "origin", NULL}, AG_ALLOW, "default"},
	    {"/usr/bin/git", {"git", "status", "--force", NULL}, AG_ALLOW, "default"},
	    /* argv[0] is the program's name, never an argument */
	    {"/usr/bin/git", {"push", "--force", NULL}, AG_ALLOW, "default"},
	    {"/usr/bin/curl", {"curl", "-s", "https://h/a/b/x1z", NULL}, AG_AUDIT, "fetch-url"},
	    {"/usr/bin/curl", {"curl", "https://h/a/b/x1zz", NULL}, AG_ALLOW, "default"},
	    {"/bin/echo", {"echo", "*", NULL}, AG_DENY, "literal-star"},
	    {"/bin/echo", {"echo", "a", NULL}, AG_ALLOW, "default"},
	    {"/usr/bin/sudo", {"sudo", "true", NULL}, AG_DENY, "sudo"},
	};
	for (size_t i = 0; i < NELEM(cases); i++) {
		ag_request_t req = {.op = AG_OP_EXEC, .path = cases[i].prog, .argv = cases[i].argv};
		ag_verdict_t v = ag_decide(p.rs, &req);
		cr_expect_eq(v.action, cases[i].want, "case %zu: action %s", i,
			     ag_action_to_string(v.action));
		cr_expect_str_eq(ag_ruleset_rule_id(p.rs, v.rule), cases[i].rule, "case %zu", i);
	}
	/* A request with no command line never meets a rule that needs one. */
	ag_request_t bare = {.op = AG_OP_EXEC, .path = "/usr/bin/git"};
	cr_expect_eq(ag_decide(p.rs, &bare).action, AG_ALLOW);
	free(p.blob);
}

Test(exec, unguardable_setting_per_rule_and_policy)
{
	struct policy p = compile(
	    "{\"version\": 1, \"unguardable\": \"audit\", \"rules\": ["
	    "{\"id\": \"tool\", \"ops\": [\"exec\"], \"paths\": [\"/opt/tool\"],"
	    " \"action\": \"allow\", \"unguardable\": \"allow\"},"
	    "{\"id\": \"other\", \"ops\": [\"exec\"], \"paths\": [\"/opt/other\"],"
	    " \"action\": \"allow\"}]}",
	    &vars);
	cr_expect_eq(ag_ruleset_unguardable(p.rs, 0), AG_ALLOW);
	cr_expect_eq(ag_ruleset_unguardable(p.rs, 1), AG_AUDIT);
	cr_expect_eq(ag_ruleset_unguardable(p.rs, -1), AG_AUDIT);
	free(p.blob);
	p = compile("{\"version\": 1, \"rules\": []}", &vars);
	cr_expect_eq(ag_ruleset_unguardable(p.rs, -1), AG_DENY, "deny unless a policy says");
	free(p.blob);
}

/* Agents keep their state; the files that steer them stay out of reach,
 * in the home directory and in the workspace alike. */
Test(shipped, agent_state_and_agent_settings)
{
	struct policy p = shipped();
	static const struct dcase cases[] = {
	    R(WRITE, HOME "/.claude/settings.json", DENY, "agent-settings"),
	    R(RENAME, HOME "/.claude/settings.local.json", DENY, "agent-settings"),
	    R(CREATE, HOME "/.claude/commands/deploy.md", DENY, "agent-settings"),
	    R(CREATE, HOME "/.claude/agents/helper.md", DENY, "agent-settings"),
	    R(WRITE, WS "/.claude/settings.json", DENY, "agent-settings"),
	    R(CREATE, WS "/.claude/commands/x.md", DENY, "agent-settings"),
	    R(WRITE, HOME "/.codex/config.toml", DENY, "agent-settings"),
	    R(WRITE, HOME "/.gemini/settings.json", DENY, "agent-settings"),
	    R(WRITE, HOME "/.claude/projects/p/session.jsonl", ALLOW, "agent-state"),
	    R(CREATE, HOME "/.claude/shell-snapshots/s.sh", ALLOW, "agent-state"),
	    R(DELETE, HOME "/.claude/todos/t.json", ALLOW, "agent-state"),
	    R(WRITE, HOME "/.claude.json", ALLOW, "agent-state"),
	    R2(RENAME, HOME "/.claude.json.tmp.1", RENAME, HOME "/.claude.json", ALLOW,
	       "agent-state", 1),
	    R(WRITE, HOME "/.codex/sessions/2026/x.jsonl", ALLOW, "agent-state"),
	    R(WRITE, HOME "/.gemini/tmp/x", ALLOW, "agent-state"),
	    R(WRITE, HOME "/.aider.chat.history.md", ALLOW, "agent-state"),
	    /* Reading settings is ordinary. */
	    R(READ, HOME "/.claude/settings.json", ALLOW, "default"),
	    R(WRITE, WS "/.claude/notes.md", ALLOW, "workspace"),
	};
	run("agent files", p.rs, cases, NELEM(cases));
	free(p.blob);
}
