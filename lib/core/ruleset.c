/* Viewing a compiled ruleset and deciding against it. ag_decide is pure:
 * the hooks call it with resolved paths and do everything stateful. */
#include <errno.h>
#include <string.h>

#include "agentguard.h"
#include "blob.h"
#include "str.h"

uint64_t ag__hash_bytes(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* Word-wise so that checking a large mapped ruleset stays cheap. */
static uint64_t sum(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Over the whole blob, the header included with its checksum field as 0. */
uint64_t ag__checksum(const void *blob, size_t n)
{
	struct ag_blob_hdr h;
	memcpy(&h, blob, sizeof(h));
	h.checksum = 0;
	uint64_t c = sum(0x9e3779b97f4a7c15ull ^ n, &h, sizeof(h));
	return sum(c, (const char *)blob + sizeof(h), n - sizeof(h));
}

#define R(rs, off, type) ((const type *)((const char *)(rs) + (off)))

static const char *str_at(const ag_ruleset_t *rs, uint32_t off)
{
	return R(rs, rs->h.strings_off + off, char);
}

static int fail(ag_error_t *err, const char *text)
{
	if (err) {
		memset(err, 0, sizeof(*err));
		strcpy(err->source, "<compiled ruleset>");
		strncpy(err->text, text, sizeof(err->text) - 1);
	}
	return -1;
}

static bool span_ok(uint32_t off, uint64_t n, uint32_t total)
{
	return (uint64_t)off + n <= total;
}

static bool str_ok(const ag_ruleset_t *rs, uint32_t off, uint64_t len)
{
	const struct ag_blob_hdr *h = &rs->h;
	if ((uint64_t)off + len >= h->strings_len)
		return false;
	return str_at(rs, off)[len] == '\0';
}

static bool cstr_ok(const ag_ruleset_t *rs, uint32_t off)
{
	if (off >= rs->h.strings_len)
		return false;
	return memchr(str_at(rs, off), '\0', rs->h.strings_len - off) != NULL;
}

/* A NUL-separated list ending in an empty string, inside the strings. */
static bool list_ok(const ag_ruleset_t *rs, uint32_t off)
{
	for (uint32_t o = off; o != AG_NO_ARGV; o += (uint32_t)strlen(str_at(rs, o)) + 1) {
		if (!cstr_ok(rs, o))
			return false;
		if (!*str_at(rs, o))
			break;
	}
	return true;
}

/* Two buckets' prefixes in byte order, the shorter first on a tie. */
static int prefix_cmp(const ag_ruleset_t *rs, const struct ag_bbucket *x,
		      const struct ag_bbucket *y)
{
	uint32_t n = x->prefix_len < y->prefix_len ? x->prefix_len : y->prefix_len;
	int c = memcmp(str_at(rs, x->prefix_off), str_at(rs, y->prefix_off), n);
	if (c)
		return c;
	return x->prefix_len < y->prefix_len ? -1 : x->prefix_len > y->prefix_len;
}

static int check_tables(const ag_ruleset_t *rs, ag_error_t *err)
{
	const struct ag_blob_hdr *h = &rs->h;
	const struct ag_brule *rules = R(rs, h->rules_off, struct ag_brule);
	const struct ag_bpat *pats = R(rs, h->pats_off, struct ag_bpat);
	const struct ag_bbucket *b = R(rs, h->buckets_off, struct ag_bbucket);

	for (uint32_t i = 0; i < h->nrules; i++) {
		if (rules[i].action > AG_ASK || rules[i].unguardable > AG_DENY + 1 ||
		    !cstr_ok(rs, rules[i].id_off))
			return fail(err, "bad rule entry");
		if (!list_ok(rs, rules[i].argv_off))
			return fail(err, "bad argv entry");
	}
	for (uint32_t i = 0; i < h->npats; i++)
		if (pats[i].rule >= h->nrules || !str_ok(rs, pats[i].rest_off, pats[i].rest_len) ||
		    pats[i].tail > pats[i].rest_len)
			return fail(err, "bad pattern entry");
	for (uint32_t i = 0; i < h->nbuckets; i++) {
		if (b[i].count == 0)
			continue;
		if ((uint64_t)b[i].first + b[i].count > h->npats ||
		    !str_ok(rs, b[i].prefix_off, b[i].prefix_len))
			return fail(err, "bad bucket entry");
	}
	/* The sorted run: every occupied slot once, in prefix order. */
	const uint32_t *order = R(rs, h->order_off, uint32_t);
	uint32_t used = 0;
	for (uint32_t i = 0; i < h->nbuckets; i++)
		used += b[i].count != 0;
	if (used != h->nbuckets_used)
		return fail(err, "bad bucket order");
	for (uint32_t i = 0; i < h->nbuckets_used; i++) {
		if (order[i] >= h->nbuckets || b[order[i]].count == 0)
			return fail(err, "bad bucket order");
		if (i && prefix_cmp(rs, &b[order[i - 1]], &b[order[i]]) >= 0)
			return fail(err, "bad bucket order");
	}
	const struct ag_bnet *nets = R(rs, h->net_off, struct ag_bnet);
	for (uint32_t i = 0; i < h->nnet; i++) {
		if (nets[i].rule >= h->nrules || (i && nets[i].rule <= nets[i - 1].rule) ||
		    (uint64_t)nets[i].first_cidr + nets[i].ncidr > h->ncidrs ||
		    (uint64_t)nets[i].first_port + nets[i].nport > h->nports ||
		    !list_ok(rs, nets[i].hosts_off))
			return fail(err, "bad connect rule entry");
	}
	if (!cstr_ok(rs, h->workspace_off) || !cstr_ok(rs, h->home_off) ||
	    !cstr_ok(rs, h->tmpdir_off) || !cstr_ok(rs, h->source_off) ||
	    !cstr_ok(rs, h->log_off) || !cstr_ok(rs, h->mode_off))
		return fail(err, "bad variable entry");
	return 0;
}

static const ag_ruleset_t *view(const void *blob, size_t len, bool sum, ag_error_t *err)
{
	const ag_ruleset_t *rs = blob;
	const struct ag_blob_hdr *h = blob;

	if (len < sizeof(*h) || ((uintptr_t)blob & 7) != 0)
		return fail(err, "ruleset too short or misaligned"), NULL;
	if (memcmp(h->magic, AG_BLOB_MAGIC, 8) != 0 || h->version != AG_BLOB_VERSION)
		return fail(err, "not a compiled ruleset of this version"), NULL;
	if (h->total_len != len || (len & 7) != 0)
		return fail(err, "ruleset length mismatch"), NULL;
	if (sum && ag__checksum(blob, len) != h->checksum)
		return fail(err, "ruleset checksum mismatch"), NULL;
	if (h->nbuckets == 0 || (h->nbuckets & (h->nbuckets - 1)) != 0 ||
	    h->default_action > AG_DENY || (h->unguardable & ~AG_UNGUARDABLE_IMPLICIT) > AG_DENY || h->strings_len == 0 ||
	    !span_ok(h->rules_off, (uint64_t)h->nrules * sizeof(struct ag_brule), len) ||
	    !span_ok(h->pats_off, (uint64_t)h->npats * sizeof(struct ag_bpat), len) ||
	    !span_ok(h->buckets_off, (uint64_t)h->nbuckets * sizeof(struct ag_bbucket), len) ||
	    !span_ok(h->strings_off, h->strings_len, len) || (h->rules_off & 7) ||
	    h->filter_words == 0 || (h->filter_words & (h->filter_words - 1)) != 0 ||
	    (h->filter_off & 7) ||
	    !span_ok(h->filter_off, (uint64_t)h->filter_words * sizeof(uint64_t), len) ||
	    !span_ok(h->net_off, (uint64_t)h->nnet * sizeof(struct ag_bnet), len) ||
	    !span_ok(h->cidrs_off, (uint64_t)h->ncidrs * sizeof(struct ag_bcidr), len) ||
	    !span_ok(h->ports_off, (uint64_t)h->nports * 4, len) || (h->net_off & 7) ||
	    !span_ok(h->order_off, (uint64_t)h->nbuckets_used * sizeof(uint32_t), len) ||
	    (h->order_off & 3) || h->nbuckets_used > h->nbuckets ||
	    (h->cidrs_off & 3) || (h->ports_off & 1) ||
	    (h->pats_off & 7) || (h->buckets_off & 7))
		return fail(err, "ruleset tables out of bounds"), NULL;
	if (check_tables(rs, err) != 0)
		return NULL;
	return rs;
}

const ag_ruleset_t *ag_ruleset_view(const void *blob, size_t len, ag_error_t *err)
{
	return view(blob, len, true, err);
}

const ag_ruleset_t *ag_ruleset_view_stored(const void *blob, size_t len, ag_error_t *err)
{
	return view(blob, len, false, err);
}

size_t ag_ruleset_nrules(const ag_ruleset_t *rs)
{
	return rs->h.nrules;
}

const char *ag_ruleset_rule_id(const ag_ruleset_t *rs, int rule)
{
	if (rule < 0 || (uint32_t)rule >= rs->h.nrules)
		return "default";
	return str_at(rs, R(rs, rs->h.rules_off, struct ag_brule)[rule].id_off);
}

void ag_ruleset_rule(const ag_ruleset_t *rs, int rule, uint32_t *ops, ag_action_t *action,
		     int *err)
{
	const struct ag_brule *r = &R(rs, rs->h.rules_off, struct ag_brule)[rule];
	*ops = r->ops;
	*action = (ag_action_t)r->action;
	*err = r->err;
}

ag_action_t ag_ruleset_default(const ag_ruleset_t *rs)
{
	return (ag_action_t)rs->h.default_action;
}

uint32_t ag_ruleset_guarded_ops(const ag_ruleset_t *rs)
{
	return rs->h.guarded_ops;
}

AG_HOT_TEXT ag_action_t ag_ruleset_unguardable(const ag_ruleset_t *rs, int rule)
{
	if (rule >= 0 && (uint32_t)rule < rs->h.nrules) {
		const struct ag_brule *r = &R(rs, rs->h.rules_off, struct ag_brule)[rule];
		if (r->unguardable)
			return (ag_action_t)(r->unguardable - 1);
	}
	return (ag_action_t)(rs->h.unguardable & ~AG_UNGUARDABLE_IMPLICIT);
}

AG_HOT_TEXT bool ag_ruleset_unguardable_said(const ag_ruleset_t *rs, int rule)
{
	if (rule >= 0 && (uint32_t)rule < rs->h.nrules &&
	    R(rs, rs->h.rules_off, struct ag_brule)[rule].unguardable)
		return true;
	return !(rs->h.unguardable & AG_UNGUARDABLE_IMPLICIT);
}

unsigned ag_ruleset_ask_timeout(const ag_ruleset_t *rs)
{
	return rs->h.ask_timeout ? rs->h.ask_timeout : AG_ASK_TIMEOUT_DEFAULT;
}

uint64_t ag_ruleset_hash(const ag_ruleset_t *rs)
{
	return rs->h.policy_hash;
}

const char *ag_ruleset_var(const ag_ruleset_t *rs, const char *name)
{
	if (strcmp(name, "WORKSPACE") == 0)
		return str_at(rs, rs->h.workspace_off);
	if (strcmp(name, "HOME") == 0)
		return str_at(rs, rs->h.home_off);
	if (strcmp(name, "TMPDIR") == 0)
		return str_at(rs, rs->h.tmpdir_off);
	if (strcmp(name, "SOURCE") == 0)
		return str_at(rs, rs->h.source_off);
	if (strcmp(name, "LOG") == 0)
		return str_at(rs, rs->h.log_off);
	if (strcmp(name, "MODE") == 0)
		return str_at(rs, rs->h.mode_off);
	return NULL;
}

/* Shell-style word match for arguments: '*' and '?' match any characters,
 * '/' included; '\' escapes. Iterative, no allocation. */
AG_HOT_TEXT static bool word_match(const char *p, const char *s)
{
	const char *star = NULL, *retry = NULL;

	while (*s) {
		if (*p == '*') {
			star = ++p;
			retry = s;
			continue;
		}
		const char *q = p;
		if (*q == '\\' && q[1])
			q++;
		if (*p && (*p == '?' || *q == *s)) {
			p = q + 1;
			s++;
			continue;
		}
		if (!star)
			return false;
		p = star;
		s = ++retry;
	}
	while (*p == '*')
		p++;
	return !*p;
}

/* Every pattern matches some argument after the program name. */
AG_HOT_TEXT static bool argv_matches(const ag_ruleset_t *rs, uint32_t off, const char *const *argv)
{
	if (off == AG_NO_ARGV)
		return true;
	if (!argv || !argv[0])
		return false;
	for (const char *p = str_at(rs, off); *p; p += ag_strlen(p) + 1) {
		bool found = false;
		for (size_t i = 1; argv[i] && !found; i++)
			found = word_match(p, argv[i]);
		if (!found)
			return false;
	}
	return true;
}

/* Best (lowest) rule index among the patterns filed under this prefix;
 * rest holds slashes '/'. */
AG_HOT_TEXT static uint32_t scan_bucket(const ag_ruleset_t *rs, const struct ag_bbucket *b, uint32_t ops,
			    const char *rest, size_t restlen, uint32_t slashes, uint32_t best,
			    const char *const *argv)
{
	const struct ag_bpat *pats = R(rs, rs->h.pats_off, struct ag_bpat);
	const struct ag_brule *rules = R(rs, rs->h.rules_off, struct ag_brule);

	for (uint32_t i = b->first; i < b->first + b->count; i++) {
		const struct ag_bpat *p = &pats[i];
		if (p->rule >= best)
			break;
		if (!(rules[p->rule].ops & ops) ||
		    (p->slashes != slashes && p->slashes < AG_SLASHES_ALL) ||
		    !argv_matches(rs, rules[p->rule].argv_off, argv))
			continue;
		if (p->slashes == AG_SLASHES_ALL) {
			/* a slash and two stars: the prefix itself and all beneath it */
			if (restlen == 0 || rest[0] == '/')
				return p->rule;
			continue;
		}
		const char *glob = str_at(rs, p->rest_off);
		if (p->tail && (restlen < p->tail || !ag_memeq(rest + restlen - p->tail,
							       glob + p->rest_len - p->tail, p->tail)))
			continue;
		if (ag_glob_match(glob, p->rest_len, rest, restlen))
			return p->rule;
	}
	return best;
}

/* Eight bytes at a time: the prefixes compared are whole directory paths. */
AG_HOT_TEXT static bool same_bytes(const char *a, const char *b, size_t n)
{
	for (; n >= 8; n -= 8, a += 8, b += 8) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return false;
	}
	return ag_memeq(a, b, n);
}

AG_HOT_TEXT static const struct ag_bbucket *find_bucket(const ag_ruleset_t *rs, uint64_t hash,
					    const char *prefix, size_t len)
{
	const struct ag_bbucket *tab = R(rs, rs->h.buckets_off, struct ag_bbucket);
	const uint64_t *filter = R(rs, rs->h.filter_off, uint64_t);
	uint32_t mask = rs->h.nbuckets - 1;
	uint64_t bit = ag__filter_bit(hash, rs->h.filter_words);

	if (!(filter[bit / 64] & (1ull << (bit % 64))))
		return NULL;
	for (uint32_t i = (uint32_t)hash & mask, n = 0; n <= mask; i = (i + 1) & mask, n++) {
		const struct ag_bbucket *b = &tab[i];
		if (b->count == 0)
			return NULL;
		if (b->hash == hash && b->prefix_len == len &&
		    same_bytes(str_at(rs, b->prefix_off), prefix, len))
			return b;
	}
	return NULL;
}

/* A prefix of the path some patterns are filed under: where its rest
 * starts, and how many '/' come before that. */
struct hit {
	const struct ag_bbucket *b;
	size_t at;
	uint32_t before;
};
#define HITS 16

/* The first rule (by index) covering op whose pattern matches path.
 *
 * One pass over the path hashes it and looks up each prefix boundary: "",
 * then before every '/' after the first byte, then the whole path. The
 * buckets found are scanned after it, when the number of '/' in each rest
 * is known (patterns without '**' that span another number are passed
 * over); the few past HITS are scanned at once, without that filter. */
AG_HOT_TEXT static uint32_t first_match(const ag_ruleset_t *rs, uint32_t ops, const char *path,
			    const char *const *argv)
{
	struct hit hits[HITS];
	size_t nhits = 0, i = 0;
	uint32_t slashes = 0, best = AG_NO_RULE;
	uint64_t h = AG_HASH_SEED;

	for (;;) {
		const struct ag_bbucket *b = find_bucket(rs, h, path, i);
		if (b && nhits < HITS)
			hits[nhits++] = (struct hit){b, i, slashes};
		else if (b)
			best = scan_bucket(rs, b, ops, path + i, ag_strlen(path + i), AG_SLASHES_ANY,
					   best, argv);
		unsigned char c = (unsigned char)path[i];
		if (c == '\0')
			break;
		/* up to the next boundary: this '/' (or, at the start, any
		 * byte) and the component after it */
		do {
			h = (h ^ c) * 0x100000001b3ull;
			slashes += c == '/';
			c = (unsigned char)path[++i];
		} while (c != '/' && c != '\0');
	}
	for (size_t k = 0; k < nhits; k++)
		best = scan_bucket(rs, hits[k].b, ops, path + hits[k].at, i - hits[k].at,
				   slashes - hits[k].before, best, argv);
	return best;
}

AG_HOT_TEXT static ag_verdict_t verdict_of(const ag_ruleset_t *rs, uint32_t r, int which)
{
	ag_verdict_t v = {.action = (ag_action_t)rs->h.default_action, .rule = -1,
			  .err = EACCES, .which = which};
	if (r != AG_NO_RULE) {
		const struct ag_brule *rule = &R(rs, rs->h.rules_off, struct ag_brule)[r];
		v.action = (ag_action_t)rule->action;
		v.rule = (int)r;
		v.err = rule->err ? rule->err : EACCES;
	}
	return v;
}

AG_HOT_TEXT static ag_verdict_t judge_argv(const ag_ruleset_t *rs, uint32_t ops, const char *path, int which,
			       const char *const *argv)
{
	return verdict_of(rs, first_match(rs, ops, path, argv), which);
}

AG_HOT_TEXT static ag_verdict_t judge(const ag_ruleset_t *rs, uint32_t ops, const char *path, int which)
{
	return judge_argv(rs, ops, path, which, NULL);
}

static ag_verdict_t stricter(ag_verdict_t a, ag_verdict_t b)
{
	return ag_action_stricter(b.action, a.action) ? b : a;
}

/* A bucket's prefix against dir followed by a '/' (dir's first n bytes):
 * below 0, 0 when the prefix begins with them (lies beneath dir), above 0. */
static int under_cmp(const ag_ruleset_t *rs, const struct ag_bbucket *b, const char *dir, size_t n)
{
	const char *p = str_at(rs, b->prefix_off);
	int c = memcmp(p, dir, b->prefix_len < n ? b->prefix_len : n);
	if (c)
		return c;
	if (b->prefix_len <= n)
		return -1;
	return (unsigned char)p[n] < '/' ? -1 : (unsigned char)p[n] > '/';
}

/* The strictest verdict on moving any rule prefix that lies beneath dir:
 * the run of the sorted prefixes that begin with dir and a '/', found by
 * bisection, so a rename costs the same with ten rules or ten thousand. */
static ag_verdict_t beneath(const ag_ruleset_t *rs, uint32_t ops, const char *dir, int which,
			    bool (*exists)(const char *))
{
	const struct ag_bbucket *tab = R(rs, rs->h.buckets_off, struct ag_bbucket);
	const uint32_t *order = R(rs, rs->h.order_off, uint32_t);
	size_t n = strlen(dir);
	ag_verdict_t v = {.action = AG_ALLOW, .rule = -1, .which = which};

	if (n == 1 && dir[0] == '/')
		n = 0;
	uint32_t lo = 0, hi = rs->h.nbuckets_used;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (under_cmp(rs, &tab[order[mid]], dir, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint32_t i = lo; i < rs->h.nbuckets_used && v.action != AG_DENY; i++) {
		const struct ag_bbucket *bk = &tab[order[i]];
		if (under_cmp(rs, bk, dir, n) != 0)
			break;
		const char *p = str_at(rs, bk->prefix_off);
		ag_verdict_t b = judge(rs, ops, p, which);
		if (b.action != AG_ALLOW && (!exists || exists(p)))
			v = stricter(v, b);
	}
	return v;
}

static bool net_rule_matches(const ag_ruleset_t *rs, const struct ag_bnet *n,
			     const ag_netaddr_t *a, const char *host)
{
	const struct ag_bcidr *cidrs = R(rs, rs->h.cidrs_off, struct ag_bcidr);
	const uint16_t *ports = R(rs, rs->h.ports_off, uint16_t);
	bool dest = n->ncidr == 0 && n->hosts_off == AG_NO_ARGV;

	for (uint32_t i = n->first_cidr; i < n->first_cidr + n->ncidr && !dest; i++) {
		ag_cidr_t c = {.family = cidrs[i].family, .prefix = cidrs[i].prefix};
		memcpy(c.addr, cidrs[i].addr, 16);
		dest = ag_cidr_match(&c, a);
	}
	if (!dest && host && n->hosts_off != AG_NO_ARGV)
		for (const char *p = str_at(rs, n->hosts_off); *p && !dest; p += strlen(p) + 1)
			dest = ag_host_match(p, host);
	if (!dest)
		return false;
	if (n->nport == 0)
		return true;
	for (uint32_t i = n->first_port; i < n->first_port + n->nport; i++)
		if (a->port >= ports[2 * i] && a->port <= ports[2 * i + 1])
			return true;
	return false;
}

/* A connect to an IP address: the first connect rule with addresses, ports
 * or hosts that matches; the default otherwise. */
static ag_verdict_t decide_net(const ag_ruleset_t *rs, const ag_request_t *req)
{
	const struct ag_bnet *nets = R(rs, rs->h.net_off, struct ag_bnet);
	const struct ag_brule *rules = R(rs, rs->h.rules_off, struct ag_brule);
	ag_verdict_t v = {.action = (ag_action_t)rs->h.default_action, .rule = -1,
			  .err = EACCES, .which = 1};

	for (uint32_t i = 0; i < rs->h.nnet; i++) {
		const struct ag_brule *r = &rules[nets[i].rule];
		if (!(r->ops & AG_OPBIT(AG_OP_CONNECT)) ||
		    !net_rule_matches(rs, &nets[i], req->net, req->host))
			continue;
		v.action = (ag_action_t)r->action;
		v.rule = (int)nets[i].rule;
		v.err = r->err ? r->err : EACCES;
		break;
	}
	return v;
}

AG_HOT_TEXT ag_verdict_t ag_decide(const ag_ruleset_t *rs, const ag_request_t *req)
{
	if (req->op == AG_OP_CONNECT && req->net)
		return decide_net(rs, req);
	ag_verdict_t v = judge_argv(rs, AG_OPBIT(req->op), req->path, 1, req->argv);

	/* A hard link to a file lets the linker write it through the new
	 * name: making one counts as writing the source. */
	if (req->op == AG_OP_LINK)
		v = stricter(v, judge(rs, AG_OPBIT(AG_OP_WRITE), req->path, 1));
	if (req->op == AG_OP_RENAME && (req->flags & AG_REQ_DIR1))
		v = stricter(v, beneath(rs, AG_OPBIT(AG_OP_RENAME), req->path, 1, req->exists));
	if (req->op == AG_OP_DELETE && (req->flags & AG_REQ_TREE1))
		v = stricter(v, beneath(rs, AG_OPBIT(AG_OP_DELETE), req->path, 1, req->exists));
	if (req->path2) {
		v = stricter(v, judge(rs, AG_OPBIT(req->op2), req->path2, 2));
		if (req->op2 == AG_OP_RENAME && (req->flags & AG_REQ_DIR2))
			v = stricter(v, beneath(rs, AG_OPBIT(AG_OP_RENAME), req->path2, 2,
						req->exists));
	}
	return v;
}

/* The memo for the directory path[0..k): first_match's walk over its
 * prefix boundaries, k included (the '/' before a name), sorting each
 * pattern filed there by what it makes of a name: a slash and two stars
 * take every name; a glob spanning as many components as the rest has (or
 * any number) may take some and not others; any other glob takes none. An
 * operation depends on the name when such a may-take pattern comes before
 * (by rule) the first take-all one. */
static void memo_fill(const ag_ruleset_t *rs, ag_memo_t *m, const char *path, size_t k)
{
	const struct ag_bpat *pats = R(rs, rs->h.pats_off, struct ag_bpat);
	const struct ag_brule *rules = R(rs, rs->h.rules_off, struct ag_brule);
	uint32_t maybe[AG_OP__COUNT], total = 0;
	uint64_t h = AG_HASH_SEED;

	for (size_t i = 0; i < k; i++)
		total += path[i] == '/';
	for (int op = 0; op < AG_OP__COUNT; op++)
		m->rule[op] = maybe[op] = AG_NO_RULE;
	for (size_t i = 0, before = 0;;) {
		const struct ag_bbucket *b = find_bucket(rs, h, path, i);
		for (uint32_t j = 0; b && j < b->count; j++) {
			const struct ag_bpat *p = &pats[b->first + j];
			const struct ag_brule *r = &rules[p->rule];
			if (r->argv_off != AG_NO_ARGV)
				continue; /* only an exec with its command line */
			bool all = p->slashes == AG_SLASHES_ALL;
			if (!all && p->slashes != AG_SLASHES_ANY &&
			    p->slashes != total - before + 1)
				continue;
			for (int op = 0; op < AG_OP__COUNT; op++) {
				uint32_t *slot = all ? &m->rule[op] : &maybe[op];
				if ((r->ops & AG_OPBIT(op)) && p->rule < *slot)
					*slot = p->rule;
			}
		}
		if (i == k)
			break;
		do {
			h = (h ^ (unsigned char)path[i]) * 0x100000001b3ull;
			before += path[i] == '/';
			i++;
		} while (i < k && path[i] != '/');
	}
	m->depends = 0;
	for (int op = 0; op < AG_OP__COUNT; op++)
		if (maybe[op] < m->rule[op])
			m->depends |= AG_OPBIT(op);
	m->hash = h;
	m->len = (uint32_t)k;
	memcpy(m->dir, path, k);
	m->rs = rs;
	m->sum = rs->h.checksum;
}

AG_HOT_TEXT ag_verdict_t ag_decide_memo(const ag_ruleset_t *rs, const ag_request_t *req,
					ag_memo_t *m)
{
	const char *path = req->path;
	/* Only a plain one-path request on an absolute path is remembered. */
	if (!m || !path || path[0] != '/' || req->argv || req->path2 || req->op >= AG_OP__COUNT ||
	    req->op == AG_OP_CONNECT || req->op == AG_OP_LINK ||
	    (req->op == AG_OP_RENAME && (req->flags & AG_REQ_DIR1)) ||
	    (req->op == AG_OP_DELETE && (req->flags & AG_REQ_TREE1)))
		return ag_decide(rs, req);
	size_t len = ag_strlen(path), k = len;
	while (k > 0 && path[k - 1] != '/')
		k--;
	k--; /* the last '/' */
	if (k == 0 || k + 1 == len || k >= AG_MEMO_DIR)
		return ag_decide(rs, req);
	if (m->rs != rs || m->sum != rs->h.checksum || m->len != k || !same_bytes(m->dir, path, k))
		memo_fill(rs, m, path, k);
	if (m->depends & AG_OPBIT(req->op))
		return ag_decide(rs, req);
	/* The name's own prefix: a literal pattern for this very path. */
	uint64_t h = m->hash;
	for (size_t i = k; i < len; i++)
		h = (h ^ (unsigned char)path[i]) * 0x100000001b3ull;
	if (find_bucket(rs, h, path, len))
		return ag_decide(rs, req);
	return verdict_of(rs, m->rule[req->op], 1);
}
