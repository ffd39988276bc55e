/* agentguard learn: from a run in audit mode, the policy it would have
 * needed. Each logged refusal becomes an allow, grouped by directory, and
 * is placed just before the rule that refused it: every rule above keeps
 * its say, so an allow learned for files in ~/old-project does not open ~/.ssh.
 * A refusal by the secrets rule is only ever allowed file by file, with a
 * description saying it opens a secret. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char learn_help[] =
	"usage: agentguard learn [--policy BASE] [--workspace DIR] [--all] LOG\n"
	"\n"
	"Reads LOG from a run in audit mode (agentguard run --audit) and prints a\n"
	"policy: BASE (default: the built-in default policy) plus an allow rule for\n"
	"what was refused, each placed just before the rule that refused it. Paths\n"
	"in one directory are grouped as DIR/**; ${WORKSPACE} and ${HOME} are written\n"
	"as variables. Refusals by a rule about secrets are allowed one file at a\n"
	"time, each with a description that says so. Save the output, read it, run\n"
	"agentguard check on it, and try it with agentguard replay.\n"
	"\n"
	"  --all   learn from enforce-mode lines too (by default only mode \"audit\")\n"
	"\n"
	"Exit status: 0 a policy was printed (even with nothing learned), 2 usage\n"
	"error, or an unreadable log or base policy.\n";

static const char *jstr(json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : "";
}

struct learner {
	ag_session_t s;
	bool all;
	json_t *broad; /* ids of the base's catch-all rules (every path, 0.0.0.0/0) */
};

/* A rule that covers everything left (outside-workspace, network-elsewhere,
 * the default) refuses what was merely not foreseen; any other rule was
 * written to protect something in particular (secrets, persistence, the
 * metadata service), and an allow past it is learned exactly, with a
 * warning, never for a whole directory. */
static bool protective(const struct learner *l, const char *rule)
{
	return strcmp(rule, "default") && strcmp(rule, "\tunguardable") &&
	       !json_object_get(l->broad, rule);
}

static void find_broad(struct learner *l, json_t *rules)
{
	static const char *const wide[] = {"/**", "**", "0.0.0.0/0", "::/0", NULL};
	size_t i, k;
	json_t *r, *v;
	l->broad = json_object();
	json_array_foreach(rules, i, r) {
		json_t *lists[] = {json_object_get(r, "paths"), json_object_get(r, "addrs")};
		for (int n = 0; n < 2; n++)
			json_array_foreach(lists[n], k, v)
				for (const char *const *w = wide; *w; w++)
					if (json_is_string(v) && !strcmp(json_string_value(v), *w))
						json_object_set_new(l->broad, jstr(r, "id"), json_true());
	}
}

/* ${WORKSPACE}/x for a path in the workspace, ${HOME}/x in the home, glob
 * characters escaped so the pattern means only this path. */
static void as_pattern(const struct learner *l, const char *path, char *out, size_t sz)
{
	char esc[2 * PATH_MAX];
	const char *vars[][2] = {{"${WORKSPACE}", l->s.workspace}, {"${HOME}", l->s.home}};
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(vars[i][1]);
		if (n > 1 && ag_path_within(path, vars[i][1])) {
			if (ag_glob_escape(esc, sizeof(esc), path + n) == (size_t)-1)
				break;
			snprintf(out, sz, "%s%s", vars[i][0], esc);
			return;
		}
	}
	if (ag_glob_escape(esc, sizeof(esc), path) == (size_t)-1)
		esc[0] = '\0';
	snprintf(out, sz, "%s", esc);
}

static void add_unique(json_t *arr, json_t *v)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x)
		if (json_equal(x, v)) {
			json_decref(v);
			return;
		}
	json_array_append_new(arr, v);
}

/* The directory a path's allow is written for: its parent, unless that is
 * the root or the home directory itself (too wide to open by accident). */
static void group_dir(const struct learner *l, const char *path, char *dir, size_t sz)
{
	snprintf(dir, sz, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (!dir[0] || !strcmp(dir, l->s.home) || !strchr(dir + 1, '/'))
		snprintf(dir, sz, "%s", path);
}

/* One refused target: grouped under its refusing rule and directory. */
static void note_path(struct learner *l, json_t *groups, const char *rule, const char *op,
		      const char *path, bool tree)
{
	char dir[PATH_MAX], key[PATH_MAX + 200];
	bool secret = protective(l, rule);

	if (secret || !strcmp(op, "exec"))
		snprintf(dir, sizeof(dir), "%s", path); /* never grouped */
	else
		group_dir(l, path, dir, sizeof(dir));
	snprintf(key, sizeof(key), "%s\t%s", rule, dir);
	json_t *g = json_object_get(groups, key);
	if (!g) {
		g = json_pack("{s:s, s:s, s:b, s:b, s:[], s:[]}", "rule", rule, "dir", dir, "secret",
			      secret, "tree", false, "paths", "ops");
		json_object_set_new(groups, key, g);
	}
	if (tree) /* a whole tree: its single-path allow covers what is beneath */
		json_object_set_new(g, "tree", json_true());
	add_unique(json_object_get(g, "paths"), json_string(path));
	add_unique(json_object_get(g, "ops"), json_string(op));
}

static void note_net(const struct learner *l, json_t *groups, json_t *o)
{
	const char *host = jstr(o, "host"), *addr = jstr(o, "addr");
	char key[400];
	snprintf(key, sizeof(key), "%s\tnet\t%s", jstr(o, "rule"), *host ? host : addr);
	json_t *g = json_object_get(groups, key);
	if (!g) {
		g = json_pack("{s:s, s:s, s:b, s:[]}", "rule", jstr(o, "rule"), *host ? "host" : "addr",
			      *host ? host : addr, "secret", protective(l, jstr(o, "rule")), "ports");
		json_object_set_new(groups, key, g);
	}
	json_t *port = json_object_get(o, "port");
	if (json_is_integer(port))
		add_unique(json_object_get(g, "ports"), json_integer(json_integer_value(port)));
}

static void learn_line(struct learner *l, json_t *groups, json_t *o)
{
	const char *rule = jstr(o, "rule"), *op = jstr(o, "op"), *action = jstr(o, "action");
	const char *path = jstr(o, "path"), *path2 = jstr(o, "path2");

	if ((!l->all && strcmp(jstr(o, "mode"), "audit")) ||
	    (strcmp(action, "deny") && strcmp(action, "ask")) || !strcmp(rule, "agentguard-self") ||
	    !strcmp(rule, "policy-unavailable"))
		return;
	if (!strcmp(op, "connect") && json_is_string(json_object_get(o, "addr"))) {
		note_net(l, groups, o);
		return;
	}
	if (path[0] != '/')
		return;
	if (!strcmp(rule, "unguardable")) {
		note_path(l, groups, "\tunguardable", "exec", path, false);
		return;
	}
	bool tree = !strcmp(op, "delete") && strstr(jstr(o, "note"), "recursive delete");
	note_path(l, groups, rule, strcmp(op, "exec") ? op : "exec", path, tree);
	if (path2[0] == '/') {
		note_path(l, groups, rule, "create", path2, false);
		note_path(l, groups, rule, "rename", path2, false);
	}
}

static json_t *path_patterns(const struct learner *l, json_t *g)
{
	char pat[2 * PATH_MAX + 8];
	json_t *paths = json_object_get(g, "paths"), *out = json_array(), *v;
	size_t i;
	bool exact = json_is_true(json_object_get(g, "secret")) || json_array_size(paths) == 1 ||
		     !strcmp(jstr(g, "dir"), json_string_value(json_array_get(paths, 0)));

	if (!exact) {
		as_pattern(l, jstr(g, "dir"), pat, sizeof(pat) - 3);
		strcat(pat, "/**");
		json_array_append_new(out, json_string(pat));
		return out;
	}
	json_array_foreach(paths, i, v) {
		as_pattern(l, json_string_value(v), pat, sizeof(pat) - 3);
		if (json_is_true(json_object_get(g, "tree")))
			strcat(pat, "/**");
		json_array_append_new(out, json_string(pat));
	}
	return out;
}

static json_t *make_rule(const struct learner *l, json_t *g, int n)
{
	char id[32], desc[600];
	const char *rule = jstr(g, "rule");
	bool unguardable = !strcmp(rule, "\tunguardable");
	json_t *r = json_object();

	snprintf(id, sizeof(id), "learned-%d", n);
	json_object_set_new(r, "id", json_string(id));
	if (json_is_true(json_object_get(g, "secret")))
		snprintf(desc, sizeof(desc),
			 "WARNING: this opens what rule %s protects (a secret, a persistence place, a "
			 "privileged service). Keep it only if the program really must have it; "
			 "never widen it.", rule);
	else
		snprintf(desc, sizeof(desc), "Learned from an audit run: refused by %s%s.",
			 unguardable ? "the guard: a program the preload cannot follow" : "rule ",
			 unguardable ? "" : rule);
	json_object_set_new(r, "description", json_string(desc));
	if (json_object_get(g, "ports")) {
		json_object_set_new(r, "ops", json_pack("[s]", "connect"));
		bool host = json_object_get(g, "host") != NULL;
		json_object_set_new(r, host ? "hosts" : "addrs",
				    json_pack("[s]", jstr(g, host ? "host" : "addr")));
		if (json_array_size(json_object_get(g, "ports")))
			json_object_set(r, "ports", json_object_get(g, "ports"));
	} else {
		json_object_set(r, "ops", json_object_get(g, "ops"));
		json_object_set_new(r, "paths", path_patterns(l, g));
	}
	json_object_set_new(r, "action", json_string("allow"));
	if (unguardable)
		json_object_set_new(r, "unguardable", json_string("allow"));
	return r;
}

/* Just before the rule that refused it; a program the preload cannot
 * follow first of all; what the default refused at the end. */
static void place(json_t *rules, json_t *rule, const char *before)
{
	size_t i;
	json_t *v;
	if (!strcmp(before, "\tunguardable")) {
		json_array_insert_new(rules, 0, rule);
		return;
	}
	json_array_foreach(rules, i, v)
		if (!strcmp(jstr(v, "id"), before)) {
			json_array_insert_new(rules, i, rule);
			return;
		}
	json_array_append_new(rules, rule);
}

/* The base policy as a JSON tree, checked by the loader first. */
json_t *load_policy_json(const ag_session_t *s, const char *file)
{
	json_error_t jerr;
	ag_error_t err;
	void *blob;
	size_t len;
	ag_vars_t v = {.workspace = s->workspace, .home = s->home, .tmpdir = s->tmpdir};

	int rc = file ? ag_policy_compile_file(file, &v, &blob, &len, &err)
		      : ag_policy_compile(ag_default_policy, ag_default_policy_len,
					  AG_EMBEDDED_SOURCE, &v, &blob, &len, &err);
	if (rc != 0) {
		policy_error(&err);
		return NULL;
	}
	free(blob);
	return file ? json_load_file(file, JSON_REJECT_DUPLICATES, &jerr)
		    : json_loadb(ag_default_policy, ag_default_policy_len, 0, &jerr);
}

/* Each log line as a parsed object, in order; NULL if the file cannot be read. */
json_t *read_log(const char *file, long *bad)
{
	FILE *f = fopen(file, "re");
	char *line = NULL;
	size_t cap = 0;
	json_t *all = json_array();
	json_error_t jerr;

	if (!f) {
		fprintf(stderr, "agentguard: cannot read the log %s: %s\n", file, strerror(errno));
		json_decref(all);
		return NULL;
	}
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, &jerr);
		if (json_is_object(o))
			json_array_append_new(all, o);
		else
			(*bad)++, json_decref(o);
	}
	free(line);
	fclose(f);
	return all;
}

int cmd_learn(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"policy", required_argument, NULL, 'p'}, {"workspace", required_argument, NULL, 'w'},
		{"all", no_argument, NULL, 'a'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	struct learner l = {0};
	const char *base = NULL;
	struct opts o = {0};
	long bad = 0;
	int c, n = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:w:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': base = optarg; break;
		case 'w': o.workspace = optarg; break;
		case 'a': l.all = true; break;
		case 'h': fputs(learn_help, stdout); return 0;
		default: die_usage("learn: bad option; see agentguard learn --help");
		}
	}
	if (argc - optind != 1)
		die_usage("learn needs one log file: agentguard learn LOG");
	apply_opts(&o);
	ag_error_t err;
	if (ag_session_from_env(&l.s, &err) != 0)
		return policy_error(&err);
	json_t *policy = load_policy_json(&l.s, base), *lines = read_log(argv[optind], &bad);
	if (!policy || !lines) {
		json_decref(policy);
		json_decref(lines);
		return EXIT_USAGE;
	}
	json_t *groups = json_object(), *line, *g, *rules = json_object_get(policy, "rules");
	size_t i;
	find_broad(&l, rules);
	const char *key;
	json_array_foreach(lines, i, line)
		learn_line(&l, groups, line);
	json_object_foreach(groups, key, g)
		place(rules, make_rule(&l, g, ++n), jstr(g, "rule"));
	json_dumpf(policy, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	fprintf(stderr, "agentguard: %d rule%s learned from %zu log line%s%s\n", n, n == 1 ? "" : "s",
		json_array_size(lines), json_array_size(lines) == 1 ? "" : "s",
		n ? "; read them, then: agentguard check FILE" : "");
	json_decref(groups);
	json_decref(l.broad);
	json_decref(lines);
	json_decref(policy);
	return 0;
}
