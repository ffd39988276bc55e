/* The compiled ruleset: one flat block, offsets instead of pointers, so the
 * launcher can write it once and every guarded process maps it read-only.
 *
 * Lookup is by literal prefix. Each pattern is split at its first component
 * that holds a wildcard: "/home/u/.ssh/id_*" has prefix "/home/u/.ssh" and
 * rest "/id_*". Patterns are grouped by prefix in a hash table. A path is
 * looked up once per component boundary ("", "/home", "/home/u", ...), so a
 * decision costs the depth of the path, not the number of rules. */
#ifndef AG_BLOB_H
#define AG_BLOB_H

#include <stdint.h>

#define AG_BLOB_MAGIC "AGRULES\0"
#define AG_BLOB_VERSION 10u
#define AG_NO_RULE UINT32_MAX

struct ag_blob_hdr {
	char magic[8];
	uint32_t version;
	uint32_t total_len; /* whole blob, header included, multiple of 8 */
	uint64_t checksum;  /* of everything after the header */
	uint32_t nrules, npats, nbuckets, default_action;
	uint32_t guarded_ops;
	uint32_t rules_off, pats_off, buckets_off, strings_off, strings_len;
	uint32_t workspace_off, home_off, tmpdir_off, source_off, log_off, mode_off;
	uint64_t policy_hash; /* of the source text and the variables */
	/* A bitmap of prefix hashes, small enough to stay in cache: most
	 * component boundaries of a path are no rule's prefix, and the filter
	 * answers those without touching the table. */
	uint32_t filter_off, filter_words; /* 64-bit words, a power of two */
	uint32_t unguardable; /* the policy's action for programs the preload cannot follow */
#define AG_UNGUARDABLE_IMPLICIT 0x100u /* or'ed in: the policy did not say; the floor may decide */
	uint32_t nnet;        /* connect rules with addresses, ports or hosts, by rule order */
	uint32_t net_off, cidrs_off, ncidrs, ports_off, nports;
	uint32_t floor_flags; /* the policy's "floor" settings */
#define AG_FLOOR_HIDE_SECRETS 1u
#define AG_FLOOR_TRUNCATE 2u
	uint32_t ask_timeout; /* seconds to wait for an answer; 0: the default */
	/* The occupied buckets' indices, by prefix in byte order: the prefixes
	 * beneath a directory are one run of it (a rename of the directory
	 * moves them all). nbuckets_used entries. */
	uint32_t order_off, nbuckets_used;
	uint32_t pad3;
};

struct ag_bnet {
	uint32_t rule;
	uint32_t first_cidr, ncidr; /* into the cidr table */
	uint32_t first_port, nport; /* into the port table: {lo, hi} pairs */
	uint32_t hosts_off;         /* like argv_off; AG_NO_ARGV when none */
};

struct ag_bcidr {
	uint8_t family, prefix, pad[2];
	uint8_t addr[16];
};

struct ag_brule {
	uint32_t ops;
	uint16_t action;
	uint16_t err;
	uint32_t id_off;
	uint16_t unguardable; /* 0: the policy's; else 1 + action */
	uint16_t pad;
	/* "argv" patterns: NUL-separated, ending in an empty string; AG_NO_ARGV
	 * when the rule has none. */
	uint32_t argv_off;
	uint32_t pad2;
};
#define AG_NO_ARGV UINT32_MAX

struct ag_bpat {
	uint32_t rule;
	uint32_t rest_off; /* escaped glob for what follows the prefix */
	uint32_t rest_len;
	uint32_t tail; /* the literal run the glob ends with, its last bytes; 0: none */
	/* How many '/' a rest it matches holds: a glob without '**' spans a
	 * fixed number of components. Or one of: */
	uint32_t slashes;
	uint32_t pad;
};
#define AG_SLASHES_ANY UINT32_MAX       /* a '**' somewhere: any number */
#define AG_SLASHES_ALL (UINT32_MAX - 1) /* the rest is a slash and two stars: all of it */

/* Patterns of one prefix are contiguous in pats[], sorted by rule index. */
struct ag_bbucket {
	uint64_t hash;
	uint32_t prefix_off, prefix_len;
	uint32_t first, count; /* count == 0: empty slot */
};

struct ag_ruleset {
	struct ag_blob_hdr h;
};

uint64_t ag__hash_bytes(uint64_t h, const char *p, size_t n);
static inline uint64_t ag__filter_bit(uint64_t hash, uint32_t words)
{
	return (hash >> 29) & ((uint64_t)words * 64 - 1);
}
#define AG_HASH_SEED 0xcbf29ce484222325ull
/* Of a whole blob (at least a header long), its checksum field read as 0. */
uint64_t ag__checksum(const void *blob, size_t n);

#endif
