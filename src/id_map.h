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
 *
 * IdIndex (below) adds a direct-table fast path for dense ids.
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

/*
 * IdIndex: the same mapping with a fast path.  Ids in CRM data are mostly
 * serials, so when the n ids to be indexed span at most 4n + 1024 values, a
 * direct table (one int32 per possible id, -1 for none) replaces the hash:
 * no hashing, and one memory access per lookup.
 */
typedef struct IdIndex
{
	int64		min;
	uint64		span;			/* direct table: ids min .. min + span - 1 */
	int32	   *slot;			/* direct table, or NULL when hashed */
	IdMap	   *map;
} IdIndex;

static inline void
idindex_init(IdIndex *ix, MemoryContext cxt, const int64 *ids, int64 n)
{
	int64		min = PG_INT64_MAX;
	int64		max = PG_INT64_MIN;

	for (int64 i = 0; i < n; i++)
	{
		min = Min(min, ids[i]);
		max = Max(max, ids[i]);
	}
	memset(ix, 0, sizeof(*ix));
	if (n > 0 && (uint64) max - (uint64) min < (uint64) n * 4 + 1024)
	{
		ix->min = min;
		ix->span = (uint64) max - (uint64) min + 1;
		ix->slot = MemoryContextAllocHuge(cxt, sizeof(int32) * ix->span);
		memset(ix->slot, 0xFF, sizeof(int32) * ix->span);	/* all -1 */
	}
	else
		ix->map = idmap_new(cxt, n);
}

/* the index of id, or -1 */
static inline int32
idindex_get(const IdIndex *ix, int64 id)
{
	if (ix->slot)
	{
		uint64		offset = (uint64) id - (uint64) ix->min;

		return offset < ix->span ? ix->slot[offset] : -1;
	}
	else
	{
		IdMapEntry *entry = idmap_lookup(ix->map, id);

		return entry ? entry->index : -1;
	}
}

/*
 * Where the index of id is stored, creating the entry (*found = false, the
 * value then undefined) if needed.  Set it before the next idindex_put: the
 * hash may move its entries when it grows.  id must be one of the ids the
 * index was initialised with.
 */
static inline int32 *
idindex_put(IdIndex *ix, int64 id, bool *found)
{
	if (ix->slot)
	{
		int32	   *p = &ix->slot[(uint64) id - (uint64) ix->min];

		*found = *p >= 0;
		return p;
	}
	return &idmap_insert(ix->map, id, found)->index;
}

static inline void
idindex_free(IdIndex *ix)
{
	if (ix->slot)
		pfree(ix->slot);
	else
		idmap_destroy(ix->map);
	ix->slot = NULL;
	ix->map = NULL;
}

#endif
