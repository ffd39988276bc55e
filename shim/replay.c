/* agentguard replay: a recorded run judged again by a candidate policy.
 * The log holds what the recording policy refused, audited or asked about,
 * so replay answers two questions exactly for those operations: what would
 * the candidate refuse, and what would it let through that was refused?
 * Operations the recording policy allowed silently were never logged; a
 * run in audit mode under a stricter policy records more of them. */
#define _GNU_SOURCE
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char replay_help[] =
	"usage: agentguard replay --policy CANDIDATE [--workspace DIR] [--json] LOG\n"
	"\n"
	"Judges every operation recorded in LOG again with CANDIDATE and reports\n"
	"what it would refuse (or ask about), and what it would newly allow that\n"
	"the recorded run refused or would have refused. The log holds only what the\n"
	"recording policy did not simply allow, so record with --audit under the\n"
	"strictest policy you consider. Identical operations are judged once.\n"
	"\n"
	"  --json   one JSON object: counts and the refused, asked and newly allowed\n"
	"\n"
	"Exit status: 0 the candidate refuses nothing recorded, 1 it refuses or asks\n"
	"about something, 2 usage error, a bad policy or an unreadable log.\n";

struct replay {
	const ag_ruleset_t *rs;
	json_t *seen, *refused, *asked, *allowed;
	bool json;
};

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

/* The stricter of the two ways a rename or link destination is judged:
 * the log does not say whether it existed. */
static ag_verdict_t judge_paths(const ag_ruleset_t *rs, ag_request_t *req)
{
	if (!req->path2)
		return ag_decide(rs, req);
	req->op2 = AG_OP_CREATE;
	ag_verdict_t a = ag_decide(rs, req);
	if (req->op == AG_OP_LINK)
		return a;
	req->op2 = AG_OP_RENAME;
	ag_verdict_t b = ag_decide(rs, req);
	return ag_action_stricter(b.action, a.action) ? b : a;
}

static ag_verdict_t judge_net(const ag_ruleset_t *rs, json_t *o, bool *ok)
{
	ag_cidr_t c;
	ag_verdict_t none = {.action = AG_ALLOW, .rule = -1};
	if (ag_cidr_parse(jstr(o, "addr"), &c) != 0) {
		*ok = false;
		return none;
	}
	ag_netaddr_t a = {.family = c.family,
			  .port = (int)json_integer_value(json_object_get(o, "port"))};
	memcpy(a.addr, c.addr, 16);
	ag_request_t req = {.op = AG_OP_CONNECT, .net = &a,
			    .host = *jstr(o, "host") ? jstr(o, "host") : NULL};
	return ag_decide(rs, &req);
}

/* The candidate's verdict on one recorded operation. */
static ag_verdict_t judge(const ag_ruleset_t *rs, json_t *o, bool *ok)
{
	int op = ag_op_from_string(jstr(o, "op"));
	json_t *jargv = json_object_get(o, "argv");
	size_t n = json_array_size(jargv);
	const char *argv[n + 1];

	*ok = op >= 0;
	if (op == AG_OP_CONNECT && json_is_string(json_object_get(o, "addr")))
		return judge_net(rs, o, ok);
	for (size_t i = 0; i < n; i++)
		argv[i] = json_string_value(json_array_get(jargv, i));
	argv[n] = NULL;
	ag_request_t req = {.op = op < 0 ? AG_OP_READ : (ag_op_t)op, .path = jstr(o, "path"),
			    .path2 = *jstr(o, "path2") ? jstr(o, "path2") : NULL,
			    .argv = n ? argv : NULL, .exists = exists};
	if (op == AG_OP_DELETE && strstr(jstr(o, "note"), "recursive delete"))
		req.flags = AG_REQ_DIR1 | AG_REQ_TREE1;
	ag_verdict_t v = judge_paths(rs, &req);
	/* A program the preload cannot follow: the candidate's say on that. */
	if (op == AG_OP_EXEC && !ag_action_stricter(v.action, AG_AUDIT) &&
	    !strcmp(jstr(o, "rule"), "unguardable")) {
		ag_action_t u = ag_ruleset_unguardable(rs, v.rule);
		if (ag_action_stricter(u, v.action))
			v.action = u;
	}
	*ok = *ok && req.path[0];
	return v;
}

/* Did the recording policy refuse it (or would it have, in audit mode)? */
static bool recorded_refusal(json_t *o)
{
	const char *a = jstr(o, "action"), *ans = jstr(o, "answer");
	return !strcmp(a, "deny") || (!strcmp(a, "ask") && strcmp(ans, "yes") && strcmp(ans, "always"));
}

static void one(struct replay *r, json_t *o)
{
	char target[2 * PATH_MAX + 300], key[sizeof(target) + 64];
	bool ok;

	log_target(o, target, sizeof(target) - 16);
	if (strstr(jstr(o, "note"), "recursive delete"))
		strcat(target, " (whole tree)");
	snprintf(key, sizeof(key), "%s %s %s", jstr(o, "op"), target, jstr(o, "note"));
	if (json_object_get(r->seen, key))
		return;
	json_object_set_new(r->seen, key, json_true());
	ag_verdict_t v = judge(r->rs, o, &ok);
	if (!ok)
		return;
	json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "op", jstr(o, "op"), "target",
			      target, "action", ag_action_to_string(v.action), "rule",
			      ag_ruleset_rule_id(r->rs, v.rule), "recorded", jstr(o, "action"),
			      "recorded_rule", jstr(o, "rule"));
	if (v.action == AG_DENY)
		json_array_append(r->refused, e);
	else if (v.action == AG_ASK)
		json_array_append(r->asked, e);
	else if (recorded_refusal(o))
		json_array_append(r->allowed, e);
	json_decref(e);
}

static void print_list(const char *title, json_t *list)
{
	size_t i;
	json_t *e;
	if (json_array_size(list))
		printf("%s:\n", title);
	json_array_foreach(list, i, e)
		printf("  %-7s %s (rule %s; recorded %s by %s)\n", jstr(e, "op"), jstr(e, "target"),
		       jstr(e, "rule"), jstr(e, "recorded"), jstr(e, "recorded_rule"));
}

static void report(struct replay *r, const char *policy, size_t lines)
{
	size_t nr = json_array_size(r->refused), na = json_array_size(r->asked),
	       nn = json_array_size(r->allowed);
	if (r->json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:O, s:O, s:O}", "policy", policy, "lines",
				      (json_int_t)lines, "operations",
				      (json_int_t)json_object_size(r->seen), "refused", r->refused,
				      "asked", r->asked, "newly_allowed", r->allowed);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return;
	}
	print_list("would refuse", r->refused);
	print_list("would ask about", r->asked);
	print_list("would newly allow", r->allowed);
	printf("%s: of %zu recorded operations (%zu log lines), refuses %zu, asks about %zu, "
	       "newly allows %zu\n",
	       policy, json_object_size(r->seen), lines, nr, na, nn);
}

int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'p'}, {"workspace", required_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct replay r = {0};
	struct opts o = {0};
	ag_session_t s;
	void *blob;
	size_t len;
	long bad = 0;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o.policy = optarg; break;
		case 'w': o.workspace = optarg; break;
		case 'j': r.json = true; break;
		case 'h': fputs(replay_help, stdout); return 0;
		default: die_usage("replay: bad option; see agentguard replay --help");
		}
	}
	if (!o.policy || argc - optind != 1)
		die_usage("replay needs --policy CANDIDATE and one log file");
	apply_opts(&o);
	if (load_session(&s, &blob, &len, false) != 0)
		return EXIT_USAGE;
	ag_error_t err;
	json_t *lines = (r.rs = ag_ruleset_view(blob, len, &err)) ? read_log(argv[optind], &bad) : NULL;
	if (!lines) {
		free(blob);
		return r.rs ? EXIT_USAGE : policy_error(&err);
	}
	r.seen = json_object(), r.refused = json_array(), r.asked = json_array();
	r.allowed = json_array();
	size_t i;
	json_t *line;
	json_array_foreach(lines, i, line)
		one(&r, line);
	report(&r, s.policy, json_array_size(lines));
	int rc = json_array_size(r.refused) || json_array_size(r.asked) ? 1 : 0;
	json_decref(r.seen), json_decref(r.refused), json_decref(r.asked), json_decref(r.allowed);
	json_decref(lines);
	free(blob);
	return rc;
}
