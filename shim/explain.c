/* agentguard explain: the decision for one operation, doing nothing. */
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

/* Which way the last component is taken, as the hooks take it. */
static int resolve_flags(ag_op_t op)
{
	switch (op) {
	case AG_OP_DELETE:
	case AG_OP_RENAME:
	case AG_OP_LINK: return 0;
	default: return AG_RESOLVE_FOLLOW;
	}
}

int cmd_explain(int argc, char **argv)
{
	struct opts o = {0};
	ag_session_t s;
	void *blob;
	size_t len;
	ag_error_t err;
	char p1[PATH_MAX], p2[PATH_MAX];
	ag_pathinfo_t i1, i2;

	int i = parse_opts(argc, argv, &o, false);
	if (argc - i < 2 || argc - i > 3)
		die_usage("explain needs OP PATH [PATH2]");
	int op = ag_op_from_string(argv[i]);
	if (op < 0)
		die_usage("unknown operation \"%s\"", argv[i]);
	apply_opts(&o);
	int rc = load_session(&s, &blob, &len);
	if (rc != 0)
		return rc;
	const ag_ruleset_t *rs = ag_ruleset_view(blob, len, &err);
	if (!rs)
		return free(blob), policy_error(&err);
	if (ag_resolve(AT_FDCWD, argv[i + 1], resolve_flags(op), p1, sizeof(p1), &i1) != 0) {
		fprintf(stderr, "agentguard: cannot resolve %s: %s\n", argv[i + 1], strerror(errno));
		return free(blob), 1;
	}
	ag_request_t req = {.op = op, .path = p1};
	if (argc - i == 3) {
		if (ag_resolve(AT_FDCWD, argv[i + 2], 0, p2, sizeof(p2), &i2) != 0) {
			fprintf(stderr, "agentguard: cannot resolve %s: %s\n", argv[i + 2],
				strerror(errno));
			return free(blob), 1;
		}
		req.path2 = p2;
		req.op2 = op == AG_OP_LINK ? AG_OP_CREATE : i2.exists ? AG_OP_RENAME : AG_OP_CREATE;
	}
	ag_verdict_t v = ag_decide(rs, &req);
	printf("%s %s %s%s%s (rule %s; workspace %s; policy %s)\n", ag_action_to_string(v.action),
	       ag_op_to_string(op), p1, req.path2 ? " -> " : "", req.path2 ? p2 : "",
	       ag_ruleset_rule_id(rs, v.rule), s.workspace,
	       s.policy[0] ? s.policy : AG_EMBEDDED_SOURCE);
	free(blob);
	return 0;
}

