/* What the kernel floor takes from a policy, before any kernel is asked:
 * the places a process may write (ag_floor_grants) and whether the
 * connect rules come down to a TCP port list (ag_floor_tcp_ports). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ag_floor.h"
#include "agentguard.h"

static const ag_vars_t vars = {.workspace = "/h/ws", .home = "/h", .tmpdir = "/t",
			       .log = "/h/log.jsonl", .mode = "enforce"};

static void *blob;

static const ag_ruleset_t *compile(const char *rules, const char *def)
{
	char text[8192];
	ag_error_t err;
	size_t len;
	snprintf(text, sizeof(text), "{\"version\": 1, \"default\": \"%s\", \"rules\": [%s]}", def,
		 rules);
	free(blob);
	cr_assert_eq(ag_policy_compile(text, strlen(text), "p.json", &vars, &blob, &len, &err), 0,
		     "%s: %s", text, err.text);
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
	cr_assert(rs, "%s", err.text);
	return rs;
}

static const ag_ruleset_t *compile_default(void)
{
	ag_error_t err;
	size_t len;
	free(blob);
	cr_assert_eq(ag_policy_compile(ag_default_policy, ag_default_policy_len, "default", &vars,
				       &blob, &len, &err),
		     0, "%s", err.text);
	return ag_ruleset_view(blob, len, &err);
}

struct grants {
	char text[16384]; /* "prefix|rest|ops\n" lines */
};

static void collect(void *ctx, const char *prefix, const char *rest, uint32_t ops)
{
	struct grants *g = ctx;
	size_t n = strlen(g->text);
	snprintf(g->text + n, sizeof(g->text) - n, "%s|%s|%x\n", prefix, rest, ops);
}

static bool has(const struct grants *g, const char *prefix, const char *rest, uint32_t ops)
{
	char line[PATH_MAX + 64];
	snprintf(line, sizeof(line), "%s|%s|%x\n", prefix, rest, ops);
	return strstr(g->text, line) != NULL;
}

static bool names(const struct grants *g, const char *prefix)
{
	char line[PATH_MAX + 8];
	snprintf(line, sizeof(line), "%s|", prefix);
	for (const char *p = g->text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, line, strlen(line)) == 0)
			return true;
	return false;
}

static void fini(void)
{
	free(blob);
	blob = NULL;
}

TestSuite(floor_rules, .fini = fini);

#define W AG_OPBIT(AG_OP_WRITE)
#define C AG_OPBIT(AG_OP_CREATE)
#define D AG_OPBIT(AG_OP_DELETE)
#define RN AG_OPBIT(AG_OP_RENAME)
#define L AG_OPBIT(AG_OP_LINK)

Test(floor_rules, the_default_policy_grants_workspace_temp_and_tool_places_only)
{
	struct grants g = {""};
	ag_floor_grants(compile_default(), collect, &g);
	cr_expect(has(&g, "/h/ws", "/**", W | C | D | RN | L), "%s", g.text);
	cr_expect(has(&g, "/t", "/**", W | C | D | RN | L), "%s", g.text);
	cr_expect(has(&g, "/tmp", "/**", W | C | D | RN | L), "%s", g.text);
	cr_expect(has(&g, "/h/.cache", "/**", W | C | D | RN | L), "%s", g.text);
	cr_expect(has(&g, "/h/.claude", "/**", W | C | D | RN | L), "%s", g.text);
	cr_expect(has(&g, "/dev/null", "", W), "%s", g.text);
	cr_expect(has(&g, "/h", "/.aider*", W | C | D | RN | L), "%s", g.text);
	/* Denied places are never granted, and nothing is granted at the
	 * root: the default refuses outside writes, and creation alone is
	 * not granted from a default. */
	cr_expect(!names(&g, "/h/.ssh"), "%s", g.text);
	cr_expect(!names(&g, "/etc"), "%s", g.text);
	cr_expect(!names(&g, ""), "%s", g.text);
}

Test(floor_rules, deny_rules_and_read_only_rules_grant_nothing)
{
	struct grants g = {""};
	ag_floor_grants(compile("{\"id\": \"r\", \"ops\": [\"read\"], \"paths\": [\"/data/**\"], "
				"\"action\": \"allow\"},"
				"{\"id\": \"d\", \"ops\": [\"write\"], \"paths\": [\"/srv/**\"], "
				"\"action\": \"deny\"},"
				"{\"id\": \"x\", \"ops\": [\"exec\"], \"paths\": [\"/opt/**\"], "
				"\"action\": \"allow\"}",
				"deny"),
			collect, &g);
	cr_expect_str_eq(g.text, "");
}

Test(floor_rules, audit_and_ask_rules_grant_like_allow)
{
	struct grants g = {""};
	ag_floor_grants(compile("{\"id\": \"a\", \"ops\": [\"delete\"], \"paths\": [\"/var/a/**\"], "
				"\"action\": \"audit\"},"
				"{\"id\": \"k\", \"ops\": [\"rename\"], \"paths\": [\"/var/k/**\"], "
				"\"action\": \"ask\"}",
				"deny"),
			collect, &g);
	cr_expect(has(&g, "/var/a", "/**", D), "%s", g.text);
	cr_expect(has(&g, "/var/k", "/**", RN), "%s", g.text);
}

Test(floor_rules, only_the_floor_ops_of_a_rule_are_granted)
{
	struct grants g = {""};
	ag_floor_grants(compile("{\"id\": \"m\", \"ops\": [\"read\", \"write\", \"chmod\", "
				"\"exec\"], \"paths\": [\"/m/**\"], \"action\": \"allow\"}",
				"deny"),
			collect, &g);
	cr_expect(has(&g, "/m", "/**", W), "%s", g.text);
}

Test(floor_rules, an_allow_default_grants_the_root_less_creation_and_what_a_catch_all_denies)
{
	struct grants g = {""};
	ag_floor_grants(compile("", "allow"), collect, &g);
	cr_expect(has(&g, "", "/**", W | D | RN | L), "%s", g.text);

	struct grants g2 = {""};
	ag_floor_grants(compile("{\"id\": \"out\", \"ops\": [\"delete\", \"rename\"], \"paths\": "
				"[\"/**\"], \"action\": \"deny\"}",
				"allow"),
			collect, &g2);
	cr_expect(has(&g2, "", "/**", W | L), "%s", g2.text);

	struct grants g3 = {""};
	ag_floor_grants(compile("{\"id\": \"out\", \"ops\": [\"write\", \"delete\", \"rename\", "
				"\"link\"], \"paths\": [\"/**\"], \"action\": \"deny\"}",
				"audit"),
			collect, &g3);
	cr_expect(!names(&g3, ""), "%s", g3.text);
}

/* ---- TCP ports ------------------------------------------------------------ */
static int ports(const ag_ruleset_t *rs, uint16_t *out, int max, char *why)
{
	return ag_floor_tcp_ports(rs, out, max, why, 160);
}

#define DENY_ALL                                                                                   \
	"{\"id\": \"no-net\", \"ops\": [\"connect\"], \"addrs\": [\"0.0.0.0/0\", \"::/0\"], "      \
	"\"action\": \"deny\"}"

Test(floor_rules, allowed_ports_then_a_deny_of_every_address_are_a_port_list)
{
	uint16_t p[16];
	char why[160] = "";
	const ag_ruleset_t *rs = compile(
	    "{\"id\": \"web\", \"ops\": [\"connect\"], \"ports\": [443, 80], \"hosts\": "
	    "[\"example.com\"], \"action\": \"allow\"},"
	    "{\"id\": \"dev\", \"ops\": [\"connect\"], \"ports\": [\"8000-8002\", 443], \"addrs\": "
	    "[\"10.0.0.0/8\"], \"action\": \"allow\"}," DENY_ALL,
	    "allow");
	int n = ports(rs, p, 16, why);
	cr_assert_eq(n, 5, "%d: %s", n, why);
	uint16_t want[] = {80, 443, 8000, 8001, 8002};
	for (int i = 0; i < 5; i++)
		cr_expect_eq(p[i], want[i], "port %d: %u", i, p[i]);
}

Test(floor_rules, narrower_denies_before_the_catch_all_change_nothing)
{
	uint16_t p[4];
	char why[160] = "";
	const ag_ruleset_t *rs = compile(
	    "{\"id\": \"meta\", \"ops\": [\"connect\"], \"addrs\": [\"169.254.169.254\"], "
	    "\"action\": \"deny\"},"
	    "{\"id\": \"web\", \"ops\": [\"connect\"], \"ports\": [443], \"action\": \"allow\"}," DENY_ALL,
	    "allow");
	cr_expect_eq(ports(rs, p, 4, why), 1, "%s", why);
	cr_expect_eq(p[0], 443);
}

Test(floor_rules, a_deny_default_closes_the_list_too)
{
	uint16_t p[4];
	char why[160] = "";
	const ag_ruleset_t *rs = compile(
	    "{\"id\": \"web\", \"ops\": [\"connect\"], \"ports\": [22], \"action\": \"allow\"}", "deny");
	cr_expect_eq(ports(rs, p, 4, why), 1, "%s", why);
	cr_expect_eq(p[0], 22);
}

Test(floor_rules, no_list_when_an_allow_names_no_port_or_nothing_closes_it)
{
	uint16_t p[4];
	char why[160] = "";
	cr_expect_eq(ports(compile("{\"id\": \"lo\", \"ops\": [\"connect\"], \"addrs\": "
				   "[\"127.0.0.0/8\"], \"action\": \"allow\"}," DENY_ALL,
				   "allow"),
			   p, 4, why),
		     -1);
	cr_expect(strstr(why, "rule lo allows every port"), "%s", why);
	cr_expect_eq(ports(compile("{\"id\": \"web\", \"ops\": [\"connect\"], \"ports\": [443], "
				   "\"action\": \"allow\"}",
				   "allow"),
			   p, 4, why),
		     -1);
	cr_expect(strstr(why, "does not list") || strstr(why, "do not list"), "%s", why);
	/* A deny of IPv4 alone leaves IPv6 to the default. */
	cr_expect_eq(ports(compile("{\"id\": \"v4\", \"ops\": [\"connect\"], \"addrs\": "
				   "[\"0.0.0.0/0\"], \"action\": \"deny\"}",
				   "allow"),
			   p, 4, why),
		     -1);
}

Test(floor_rules, too_many_ports_is_no_list)
{
	uint16_t p[8];
	char why[160] = "";
	cr_expect_eq(ports(compile("{\"id\": \"hi\", \"ops\": [\"connect\"], \"ports\": "
				   "[\"1024-65535\"], \"action\": \"allow\"}," DENY_ALL,
				   "allow"),
			   p, 8, why),
		     -1);
	cr_expect(strstr(why, "more than 8 ports"), "%s", why);
}

Test(floor_rules, the_shipped_strict_profile_leaves_tcp_to_the_preload)
{
	char path[PATH_MAX], why[160] = "";
	const char *src = getenv("AGT_SRC");
	void *b;
	size_t len;
	ag_error_t err;
	uint16_t p[8];
	if (!src)
		cr_skip_test("AGT_SRC is not set");
	snprintf(path, sizeof(path), "%s/rules/strict.json", src);
	cr_assert_eq(ag_policy_compile_file(path, &vars, &b, &len, &err), 0, "%s", err.text);
	const ag_ruleset_t *rs = ag_ruleset_view(b, len, &err);
	cr_expect_eq(ports(rs, p, 8, why), -1);
	cr_expect(strstr(why, "allows every port"), "%s", why);
	free(b);
}

Test(floor_rules, covers_answers_as_the_grants_do)
{
	const ag_ruleset_t *rs = compile_default();
	static const struct {
		ag_op_t op;
		const char *path;
		bool covered;
	} cases[] = {
		{AG_OP_DELETE, "/h/ws/build/x.o", true},
		{AG_OP_CREATE, "/h/ws", true},
		{AG_OP_CREATE, "/tmp/a/b", true},
		{AG_OP_CREATE, "/h/.cache/pip/x", true},
		{AG_OP_CREATE, "/h/.cachex/y", false},
		{AG_OP_CREATE, "/h/notes.txt", false},
		{AG_OP_WRITE, "/h/.bashrc", false},
		{AG_OP_WRITE, "/dev/null", true},
		{AG_OP_CREATE, "/dev/sdz", false},
		{AG_OP_WRITE, "/h/.aider.chat.history.md", true},
		{AG_OP_WRITE, "/h/.zsh_history", true},
		{AG_OP_WRITE, "/proc/1234/oom_score_adj", true},
		{AG_OP_RENAME, "/etc/passwd", false},
		{AG_OP_READ, "/etc/passwd", true}, /* reads are never the floor's */
		{AG_OP_CHMOD, "/etc/passwd", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(ag_floor_covers(rs, cases[i].op, cases[i].path), cases[i].covered,
			     "%s %s", ag_op_to_string(cases[i].op), cases[i].path);
}
