/*
 * id_map.h — a hash table from bigint ids (action ids, customer ids) to
 * dense int32 indexes, built on PostgreSQL's lib/simplehash.h.
 *
 * The graph kernels turn every user-supplied id into an index into compact
 * arrays once, then work on the arrays only.  Keys are mixed with the
 * splitmix64 finaliser: ids are often sequential, which a weak hash would
 * cluster.
 *
 *   IdMap *map = idmap_create(cxt, expected);
 *   IdMapEntry *e = idmap_insert(map, id, &found);   (set e->index when !found)
 *   IdMapEntry *e = idmap_lookup(map, id);           (NULL when absent)
 */
#ifndef CUSTOMER_SCORE_ID_MAP_H
#define CUSTOMER_SCORE_ID_MAP_H

#include "postgres.h"

typedef struct IdMapEntry
{
	int64		key;
	int32		index;
	char		status;			/* used by simplehash */
} IdMapEntry;

static inline uint32
cs_hash_int64(uint64 x)
{
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return (uint32) x;
}

#define SH_PREFIX idmap
#define SH_ELEMENT_TYPE IdMapEntry
#define SH_KEY_TYPE int64
#define SH_KEY key
#define SH_HASH_KEY(tb, key) cs_hash_int64((uint64) (key))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

typedef struct idmap_hash IdMap;

/* a table sized for n keys (simplehash grows it further if needed) */
static inline IdMap *
idmap_new(MemoryContext cxt, int64 n)
{
	return idmap_create(cxt, (uint32) Min(Max(n, 16), (int64) PG_INT32_MAX), NULL);
}

#endif
