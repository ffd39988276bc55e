/* agentguard check: validates policy files. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

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

int cmd_check(int argc, char **argv)
{
	ag_session_t s;
	ag_error_t err;
	int bad = 0;

	if (argc < 2)
		die_usage("check needs at least one policy file");
	unsetenv("AGENTGUARD_POLICY");
	if (ag_session_from_env(&s, &err) != 0)
		return policy_error(&err);
	for (int i = 1; i < argc; i++) {
		void *blob;
		size_t len;
		if (strcmp(argv[i], "--") == 0)
			continue;
		snprintf(s.policy, sizeof(s.policy), "%s", argv[i]);
		ag_vars_t v = {.workspace = s.workspace, .home = s.home, .tmpdir = s.tmpdir};
		if (ag_policy_compile_file(argv[i], &v, &blob, &len, &err) != 0) {
			policy_error(&err);
			bad = 1;
			continue;
		}
		const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
		printf("%s: ok, %zu rules, default %s\n", argv[i], rs ? ag_ruleset_nrules(rs) : 0,
		       rs ? ag_action_to_string(ag_ruleset_default(rs)) : "?");
		if (rs)
			warn_errnos(argv[i], rs);
		free(blob);
	}
	return bad ? EXIT_USAGE : 0;
}

