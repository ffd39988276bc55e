/* agentguard explain: the decision the guard would make, doing nothing.
 * Every question goes through the very calls the preload makes: the same
 * resolution, the same ag_decide, the same program inspection and the same
 * reading of a recursive delete's command line. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

static const char explain_help[] =
	"usage: agentguard explain [--policy FILE] [--workspace DIR] [--json] [-q] OP PATH [PATH2]\n"
	"       agentguard explain [OPTIONS] exec -- CMD [ARG...]\n"
	"       agentguard explain [OPTIONS] connect HOST:PORT | [IPV6]:PORT | unix:/PATH\n"
	"\n"
	"Prints what the guard would decide, and the rule that decides it, without\n"
	"doing anything. OP is read, write, create, delete, rename, link, chmod, exec\n"
	"or connect. exec finds CMD on PATH, judges its exec rules (argv included),\n"
	"whether the preload can follow it, and the trees its command line would\n"
	"delete. connect resolves a host name and judges every address.\n"
	"\n"
	"  --json      one JSON object: policy, workspace, decision and each check\n"
	"  -q, --quiet print nothing; the exit status says it\n"
	"\n"
	"Exit status: 0 answered (with -q: allowed or audited), 1 with -q: refused\n"
	"or asked, 2 usage or policy error.\n";

struct ex {
	const ag_ruleset_t *rs;
	ag_session_t s;
	bool json, quiet;
	json_t *checks;
	ag_action_t worst;
};

/* One judged operation: printed at once, kept for --json. */
static void check(struct ex *x, ag_action_t a, int rule, const char *op, const char *subject,
		  const char *note)
{
	const char *id = rule == -3 ? "unguardable" : ag_ruleset_rule_id(x->rs, rule);
	if (ag_action_stricter(a, x->worst))
		x->worst = a;
	json_array_append_new(x->checks, json_pack("{s:s, s:s, s:s, s:s, s:s?}", "op", op,
						   "subject", subject, "action",
						   ag_action_to_string(a), "rule", id, "note", note));
	if (!x->json && !x->quiet)
		printf("%s %s %s (rule %s)%s%s\n", ag_action_to_string(a), op, subject, id,
		       note ? ": " : "", note ? note : "");
}

static int resolve_flags(ag_op_t op)
{
	return op == AG_OP_DELETE || op == AG_OP_RENAME || op == AG_OP_LINK ? 0
									     : AG_RESOLVE_FOLLOW;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static long tree_count;
static int count_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)p, (void)st, (void)flag;
	tree_count += f->level > 0;
	return tree_count > 10000000 ? 1 : 0;
}

static long count_tree(const char *path)
{
	tree_count = 0;
	return nftw(path, count_one, 32, FTW_PHYS) < 0 ? -1 : tree_count;
}

/* rm -r on a directory is judged as a whole tree, as the preload judges it. */
static void tree_check(struct ex *x, const char *path, const ag_pathinfo_t *info)
{
	char subject[PATH_MAX + 64], note[96];
	ag_request_t req = {.op = AG_OP_DELETE, .path = path,
			    .flags = info->is_dir ? AG_REQ_DIR1 | AG_REQ_TREE1 : 0,
			    .exists = exists};
	ag_verdict_t v = ag_decide(x->rs, &req);
	snprintf(subject, sizeof(subject), "%s%s", path, info->is_dir ? "/** (whole tree)" : "");
	snprintf(note, sizeof(note), "%ld entries beneath", info->is_dir ? count_tree(path) : 0);
	check(x, v.action, v.rule, "delete", subject, info->is_dir ? note : NULL);
}

static int explain_path(struct ex *x, ag_op_t op, const char *p1in, const char *p2in)
{
	char p1[PATH_MAX], p2[PATH_MAX], subject[2 * PATH_MAX + 8];
	ag_pathinfo_t i1, i2;

	if (ag_resolve(AT_FDCWD, p1in, resolve_flags(op), p1, sizeof(p1), &i1) != 0 ||
	    (p2in && ag_resolve(AT_FDCWD, p2in, 0, p2, sizeof(p2), &i2) != 0)) {
		fprintf(stderr, "agentguard: cannot resolve %s: %s\n", p2in ? p2in : p1in,
			strerror(errno));
		return EXIT_USAGE;
	}
	ag_request_t req = {.op = op, .path = p1, .exists = exists,
			    .flags = op == AG_OP_RENAME && i1.is_dir ? AG_REQ_DIR1 : 0};
	if (p2in) {
		req.path2 = p2;
		req.op2 = op == AG_OP_LINK || !i2.exists ? AG_OP_CREATE : AG_OP_RENAME;
	}
	ag_verdict_t v = ag_decide(x->rs, &req);
	snprintf(subject, sizeof(subject), "%s%s%s", p1, p2in ? " -> " : "", p2in ? p2 : "");
	check(x, v.action, v.rule, ag_op_to_string(op), subject, NULL);
	if (op == AG_OP_DELETE && i1.exists && i1.is_dir)
		tree_check(x, p1, &i1);
	return 0;
}

/* What the exec hook's inspection would say about the program. */
static const char *unguardable_why(const char *prog)
{
	ag_proginfo_t info = {0};
	struct stat st;
	const char *why = NULL;
	int fd = open(prog, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && ag_inspect_fd(fd, &info) == 0) {
		if (info.is_go)
			why = "a Go program: it makes its own system calls, which the preload cannot see";
		else if (info.is_static)
			why = "statically linked: the preload cannot follow it";
		else if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) ||
			 ((st.st_mode & S_ISGID) && st.st_gid != getegid()))
			why = "setuid or setgid: the loader drops the preload for it";
	}
	close(fd);
	return why;
}

static void targets_check(struct ex *x, char **argv)
{
	const char *t[64];
	int n = ag_recursive_targets((const char *const *)argv, t, 64);

	if (n < 0) {
		check(x, AG_ALLOW, -1, "delete", "(targets)",
		      "a recursive delete the command line does not spell out: each file is "
		      "judged as it is deleted");
		return;
	}
	for (int i = 0; i < n; i++) {
		char path[PATH_MAX];
		ag_pathinfo_t info;
		size_t len = strlen(t[i]);
		int follow = len > 1 && t[i][len - 1] == '/' ? AG_RESOLVE_FOLLOW : 0;
		if (ag_resolve(AT_FDCWD, t[i], follow, path, sizeof(path), &info) == 0 && info.exists)
			tree_check(x, path, &info);
	}
}

static int explain_exec(struct ex *x, char **argv)
{
	char found[PATH_MAX], prog[PATH_MAX];

	if (!argv[0])
		die_usage("explain exec needs a command: explain exec -- CMD [ARG...]");
	if (strchr(argv[0], '/'))
		snprintf(found, sizeof(found), "%s", argv[0]);
	else if (find_real(argv[0], found, sizeof(found)) != 0) {
		fprintf(stderr, "agentguard: %s: not found on PATH\n", argv[0]);
		return EXIT_USAGE;
	}
	if (!realpath(found, prog)) {
		fprintf(stderr, "agentguard: cannot resolve %s: %s\n", found, strerror(errno));
		return EXIT_USAGE;
	}
	ag_request_t req = {.op = AG_OP_EXEC, .path = prog, .argv = (const char *const *)argv};
	ag_verdict_t v = ag_decide(x->rs, &req);
	check(x, v.action, v.rule, "exec", prog, NULL);
	const char *why = unguardable_why(prog);
	if (why) {
		ag_action_t a = ag_ruleset_unguardable(x->rs, v.rule);
		check(x, a, a == ag_ruleset_unguardable(x->rs, -1) ? -3 : v.rule, "exec", prog, why);
	}
	targets_check(x, argv);
	return 0;
}

static void judge_addr(struct ex *x, const struct sockaddr *sa, socklen_t len, const char *host)
{
	ag_netaddr_t a;
	char path[PATH_MAX], text[96], subject[PATH_MAX + 128];
	int fam = ag_sockaddr_parse(sa, len, &a, path, sizeof(path));

	if (fam != AF_INET && fam != AF_INET6)
		return;
	ag_netaddr_format(&a, text, sizeof(text));
	ag_request_t req = {.op = AG_OP_CONNECT, .net = &a, .host = host};
	ag_verdict_t v = ag_decide(x->rs, &req);
	snprintf(subject, sizeof(subject), "%s port %d%s%s%s", text, a.port, host ? " (" : "",
		 host ? host : "", host ? ")" : "");
	check(x, v.action, v.rule, "connect", subject, NULL);
}

static int explain_unix(struct ex *x, const char *p)
{
	char path[PATH_MAX];
	if (p[0] == '@') {
		snprintf(path, sizeof(path), "%s", p);
	} else if (ag_resolve(AT_FDCWD, p, AG_RESOLVE_FOLLOW, path, sizeof(path), NULL) != 0) {
		fprintf(stderr, "agentguard: cannot resolve %s: %s\n", p, strerror(errno));
		return EXIT_USAGE;
	}
	ag_request_t req = {.op = AG_OP_CONNECT, .path = path};
	ag_verdict_t v = ag_decide(x->rs, &req);
	check(x, v.action, v.rule, "connect", path, NULL);
	return 0;
}

static int explain_connect(struct ex *x, const char *target)
{
	char host[512];
	const char *port;

	if (!strncmp(target, "unix:", 5))
		return explain_unix(x, target + 5);
	if (target[0] == '[') {
		const char *end = strchr(target, ']');
		if (!end || end[1] != ':')
			die_usage("explain connect: write an IPv6 address as [ADDR]:PORT");
		snprintf(host, sizeof(host), "%.*s", (int)(end - target - 1), target + 1);
		port = end + 2;
	} else {
		const char *colon = strrchr(target, ':');
		if (!colon)
			die_usage("explain connect needs HOST:PORT, [IPV6]:PORT or unix:/PATH");
		snprintf(host, sizeof(host), "%.*s", (int)(colon - target), target);
		port = colon + 1;
	}
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "agentguard: cannot resolve %s port %s: %s\n", host, port,
			gai_strerror(rc));
		return EXIT_USAGE;
	}
	struct in6_addr a6;
	struct in_addr a4;
	bool numeric = inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
		judge_addr(x, ai->ai_addr, ai->ai_addrlen, numeric ? NULL : host);
	freeaddrinfo(res);
	return 0;
}

static void print_json(struct ex *x)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:O}", "policy",
			      x->s.policy[0] ? x->s.policy : AG_EMBEDDED_SOURCE, "workspace",
			      x->s.workspace, "decision", ag_action_to_string(x->worst), "checks",
			      x->checks);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
}

static int parse(int argc, char **argv, struct opts *o, struct ex *x)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'p'}, {"workspace", required_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},	   {"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},	   {NULL, 0, NULL, 0},
	};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+p:w:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': o->policy = optarg; break;
		case 'w': o->workspace = optarg; break;
		case 'j': x->json = true; break;
		case 'q': x->quiet = true; break;
		case 'h': fputs(explain_help, stdout); exit(0);
		default: die_usage("explain: bad option; see agentguard explain --help");
		}
	}
	return optind;
}

static int dispatch(struct ex *x, int op, char **rest, int n)
{
	if (op == AG_OP_EXEC) {
		if (n && !strcmp(rest[0], "--"))
			rest++, n--;
		return explain_exec(x, rest);
	}
	if (n < 1 || n > (op == AG_OP_CONNECT ? 1 : 2))
		die_usage(op == AG_OP_CONNECT ? "explain connect needs HOST:PORT"
					      : "explain needs OP PATH [PATH2]");
	if (op == AG_OP_CONNECT)
		return explain_connect(x, rest[0]);
	return explain_path(x, op, rest[0], n == 2 ? rest[1] : NULL);
}

int cmd_explain(int argc, char **argv)
{
	struct opts o = {0};
	struct ex x = {.worst = AG_ALLOW};
	void *blob;
	size_t len;
	ag_error_t err;

	int i = parse(argc, argv, &o, &x);
	if (argc - i < 2)
		die_usage("explain needs OP PATH [PATH2], exec -- CMD, or connect HOST:PORT");
	int op = ag_op_from_string(argv[i]);
	if (op < 0)
		die_usage("unknown operation \"%s\"; known: read, write, create, delete, rename, "
			  "link, chmod, exec, connect", argv[i]);
	apply_opts(&o);
	int rc = load_session(&x.s, &blob, &len, false);
	if (rc != 0)
		return rc;
	if (!(x.rs = ag_ruleset_view(blob, len, &err)))
		return free(blob), policy_error(&err);
	x.checks = json_array();
	rc = dispatch(&x, op, argv + i + 1, argc - i - 1);
	if (rc == 0 && x.json && !x.quiet)
		print_json(&x);
	else if (rc == 0 && !x.quiet)
		printf("workspace %s; policy %s\n", x.s.workspace,
		       x.s.policy[0] ? x.s.policy : AG_EMBEDDED_SOURCE);
	json_decref(x.checks);
	free(blob);
	if (rc == 0 && x.quiet)
		return ag_action_stricter(x.worst, AG_AUDIT) ? 1 : 0;
	return rc;
}
