/* agentguard check: validates policy files with the guard's own loader,
 * then looks for rules that are valid but cannot do what they say. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char check_help[] =
	"usage: agentguard check FILE...\n"
	"\n"
	"Validates each policy file with the loader the guard itself uses. An error\n"
	"names the file, line and column, the JSON path of the bad element\n"
	"(rules[3].ops[1]) and a hint. Valid files may still draw warnings: a rule\n"
	"that can never match because earlier rules cover it, or an errno that\n"
	"programs take as \"try another way\".\n"
	"\n"
	"Exit status: 0 every file is valid (warnings or not), 2 a file is invalid\n"
	"or the command line is wrong.\n";

/* A refused rename or open answered with EPERM, EXDEV or EBUSY reads to
 * many programs as "try another way": Claude Code then overwrites the
 * target in place with an open(O_TRUNC) the preload cannot see. */
static void warn_errnos(const char *file, const ag_ruleset_t *rs)
{
	const uint32_t risky = AG_OPBIT(AG_OP_RENAME) | AG_OPBIT(AG_OP_WRITE) |
			       AG_OPBIT(AG_OP_READ) | AG_OPBIT(AG_OP_CREATE);
	for (size_t i = 0; i < ag_ruleset_nrules(rs); i++) {
		uint32_t ops;
		ag_action_t action;
		int e;
		ag_ruleset_rule(rs, (int)i, &ops, &action, &e);
		if (action != AG_DENY || !(ops & risky) || (e != EPERM && e != EXDEV && e != EBUSY))
			continue;
		fprintf(stderr,
			"agentguard: warning: %s: rule %s refuses rename or open with %s: programs "
			"treat that as \"do it another way\" (a failed rename becomes an in-place "
			"overwrite); Hint: leave \"errno\" out (EACCES) for these operations\n",
			file, ag_ruleset_rule_id(rs, (int)i), ag_errno_to_string(e));
	}
}

/* The hint for an error: the loader's own when it gave one, else one for
 * the kind of element that was wrong. */
static const char *hint_for(const ag_error_t *err)
{
	const char *last = strrchr(err->where, '.');
	last = last ? last + 1 : err->where;
	char field[64];
	snprintf(field, sizeof(field), "%.*s", (int)strcspn(last, "["), last);

	bool syntax = strstr(err->text, " near ") || strstr(err->text, "end of file");
	if (!err->where[0] && syntax)
		return "the file must be valid JSON (no trailing commas, no comments); "
		       "`jq . FILE` shows where it breaks";
	if (!err->where[0])
		return "a policy is {\"version\": 1, \"rules\": [...]}; see agentguard-policy(5)";
	if (strstr(err->text, "only applies to"))
		return "give the rule the operation the field belongs to, or drop the field";
	if (!strcmp(field, "ops"))
		return "operations are read, write, create, delete, rename, link, chmod, exec, "
		       "connect";
	if (!strcmp(field, "action") || !strcmp(field, "default") || !strcmp(field, "unguardable"))
		return "an action is \"allow\", \"deny\", \"audit\" or (in a rule) \"ask\"";
	if (!strcmp(field, "paths"))
		return "a path pattern is absolute: /etc/**, ${HOME}/.ssh/id_*, ${WORKSPACE}/**";
	if (!strcmp(field, "id"))
		return "every rule needs its own \"id\": 1 to 64 letters, digits or . _ : -";
	if (!strcmp(field, "version"))
		return "start the policy with \"version\": 1";
	return "see agentguard-policy(5) for what each field takes";
}

static void report_error(const ag_error_t *err)
{
	char text[sizeof(err->text)];
	const char *hint = hint_for(err);

	snprintf(text, sizeof(text), "%s", err->text);
	char *h = strstr(text, "; Hint: ");
	if (h) {
		*h = '\0';
		hint = h + 8;
	}
	fprintf(stderr, "agentguard: %s", err->source);
	if (err->line > 0)
		fprintf(stderr, ":%d:%d", err->line, err->column);
	fprintf(stderr, ": %s%s%s\nHint: %s\n", err->where, err->where[0] ? ": " : "", text, hint);
}

static int check_one(const ag_session_t *s, const char *file)
{
	void *blob;
	size_t len;
	ag_error_t err;
	ag_vars_t v = {.workspace = s->workspace, .home = s->home, .tmpdir = s->tmpdir};

	if (ag_policy_compile_file(file, &v, &blob, &len, &err) != 0) {
		report_error(&err);
		return EXIT_USAGE;
	}
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
	if (!rs) {
		free(blob);
		return policy_error(&err);
	}
	printf("%s: ok, %zu rules, default %s\n", file, ag_ruleset_nrules(rs),
	       ag_action_to_string(ag_ruleset_default(rs)));
	warn_errnos(file, rs);
	warn_shadowed(file);
	free(blob);
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longopts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	ag_session_t s;
	ag_error_t err;
	int c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(check_help, stdout);
			return 0;
		}
		die_usage("check: bad option");
	}
	if (optind >= argc)
		die_usage("check needs at least one policy file");
	unsetenv("AGENTGUARD_POLICY");
	if (ag_session_from_env(&s, &err) != 0)
		return policy_error(&err);
	for (int i = optind; i < argc; i++)
		if (check_one(&s, argv[i]) != 0)
			bad = 1;
	return bad ? EXIT_USAGE : 0;
}
