/* The kernel floor, as the policy defines it: where a process may write
 * (the grants), whether a path is among them, and whether the connect
 * rules come down to a TCP port list. Pure: the kernel is asked in
 * landlock.c. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "ag_floor.h"
#include "blob.h"
#include "floor_int.h"

#define R(rs, off, type) ((const type *)((const char *)(rs) + (off)))

/* Every path pattern of the table: its prefix (unescaped), its rest and
 * its rule's operations and action. */
void ag__floor_each_pattern(const ag_ruleset_t *rs, ag__pattern_fn fn, void *ctx)
{
	const struct ag_bbucket *b = R(rs, rs->h.buckets_off, struct ag_bbucket);
	const struct ag_bpat *pats = R(rs, rs->h.pats_off, struct ag_bpat);
	const struct ag_brule *rules = R(rs, rs->h.rules_off, struct ag_brule);
	const char *strs = R(rs, rs->h.strings_off, char);
	char prefix[PATH_MAX];

	for (uint32_t i = 0; i < rs->h.nbuckets; i++) {
		if (b[i].count == 0 || b[i].prefix_len >= sizeof(prefix))
			continue;
		memcpy(prefix, strs + b[i].prefix_off, b[i].prefix_len);
		prefix[b[i].prefix_len] = '\0';
		for (uint32_t k = b[i].first; k < b[i].first + b[i].count; k++) {
			const struct ag_brule *r = &rules[pats[k].rule];
			fn(ctx, prefix, strs + pats[k].rest_off, r->ops, (ag_action_t)r->action);
		}
	}
}

struct grants {
	ag_floor_grant_fn fn;
	void *ctx;
	uint32_t by_default;
};

static void grant_pattern(void *ctx, const char *prefix, const char *rest, uint32_t ops,
			  ag_action_t action)
{
	struct grants *g = ctx;
	if (action == AG_DENY && !*prefix && strcmp(rest, "/**") == 0)
		g->by_default &= ~ops;
	if (action != AG_DENY && (ops & AG_FLOOR_OPS))
		g->fn(g->ctx, prefix, rest, ops & AG_FLOOR_OPS);
}

void ag_floor_grants(const ag_ruleset_t *rs, ag_floor_grant_fn fn, void *ctx)
{
	/* What the default allows, less what a deny of every path takes from
	 * it. Creation is not among it: creating needs the right to write the
	 * new file, which beneath "/" would let every existing file be
	 * overwritten; new files outside need a rule naming where. */
	struct grants g = {
	    .fn = fn,
	    .ctx = ctx,
	    .by_default =
		rs->h.default_action == AG_DENY ? 0 : AG_FLOOR_OPS & ~AG_OPBIT(AG_OP_CREATE),
	};
	ag__floor_each_pattern(rs, grant_pattern, &g);
	if (g.by_default)
		fn(ctx, "", "/**", g.by_default);
}

struct covers {
	const char *path;
	uint32_t op;
	bool hit;
};

/* The first component of path below prefix, matched against the first
 * component of rest ("/.aider*" against "/.aider.chat.history.md"). */
static bool first_component_matches(const char *path, size_t plen, const char *rest)
{
	const char *comp = path + plen;
	size_t clen = strcspn(comp + 1, "/") + 1;
	size_t rlen = strcspn(rest + 1, "/") + 1;
	return *comp == '/' && ag_glob_match(rest, rlen, comp, clen);
}

static void on_cover(void *ctx, const char *prefix, const char *rest, uint32_t ops)
{
	struct covers *c = ctx;
	const char *dir = *prefix ? prefix : "/";
	size_t plen = strlen(prefix);

	if (c->hit || !(ops & c->op) || !ag_path_within(c->path, dir))
		return;
	if (!*rest || strcmp(rest, "/**") == 0 || ag_path_within(dir, "/proc"))
		c->hit = true;
	else
		c->hit = first_component_matches(c->path, plen, rest);
}

bool ag_floor_covers(const ag_ruleset_t *rs, ag_op_t op, const char *path)
{
	struct covers c = {.path = path, .op = AG_OPBIT(op)};
	if (!(c.op & AG_FLOOR_OPS))
		return true;
	ag_floor_grants(rs, on_cover, &c);
	return c.hit;
}

/* ---- TCP ports --------------------------------------------------------- */
static bool denies_everything(const ag_ruleset_t *rs, const struct ag_bnet *n)
{
	const struct ag_bcidr *cidrs = R(rs, rs->h.cidrs_off, struct ag_bcidr);
	bool v4 = false, v6 = false;

	if (n->nport != 0 || n->hosts_off != AG_NO_ARGV)
		return false;
	if (n->ncidr == 0)
		return true;
	for (uint32_t i = n->first_cidr; i < n->first_cidr + n->ncidr; i++) {
		v4 |= cidrs[i].family == 4 && cidrs[i].prefix == 0;
		v6 |= cidrs[i].family == 6 && cidrs[i].prefix == 0;
	}
	return v4 && v6;
}

static int add_ports(uint16_t *ports, int n, int max, unsigned lo, unsigned hi)
{
	for (unsigned p = lo; p <= hi; p++) {
		int i = 0;
		while (i < n && ports[i] < p)
			i++;
		if (i < n && ports[i] == p)
			continue;
		if (n == max)
			return -1;
		memmove(ports + i + 1, ports + i, (size_t)(n - i) * sizeof(*ports));
		ports[i] = (uint16_t)p;
		n++;
	}
	return n;
}

int ag_floor_tcp_ports(const ag_ruleset_t *rs, uint16_t *ports, int max, char *why, size_t whysz)
{
	const struct ag_bnet *nets = R(rs, rs->h.net_off, struct ag_bnet);
	const struct ag_brule *rules = R(rs, rs->h.rules_off, struct ag_brule);
	const uint16_t *pr = R(rs, rs->h.ports_off, uint16_t);
	int n = 0;

	for (uint32_t i = 0; i < rs->h.nnet; i++) {
		const struct ag_brule *r = &rules[nets[i].rule];
		const char *id = R(rs, rs->h.strings_off + r->id_off, char);
		if (r->action == AG_DENY) {
			if (denies_everything(rs, &nets[i]))
				return n;
			continue;
		}
		if (nets[i].nport == 0) {
			snprintf(why, whysz, "rule %s allows every port", id);
			return -1;
		}
		for (uint32_t k = nets[i].first_port; k < nets[i].first_port + nets[i].nport; k++)
			if ((n = add_ports(ports, n, max, pr[2 * k], pr[2 * k + 1])) < 0) {
				snprintf(why, whysz, "rule %s allows more than %d ports", id, max);
				return -1;
			}
	}
	if (rs->h.default_action == AG_DENY && (rs->h.guarded_ops & AG_OPBIT(AG_OP_CONNECT)))
		return n;
	snprintf(why, whysz, "the policy allows connections its rules do not list");
	return -1;
}

bool ag_floor_hides_secrets(const ag_ruleset_t *rs)
{
	return rs->h.floor_flags & AG_FLOOR_HIDE_SECRETS;
}

unsigned ag_floor_flags(const ag_ruleset_t *rs)
{
	return rs->h.floor_flags;
}
