/*
 * customer_keys.h — customer ids of type text, varchar or uuid, numbered through the table
 * customer_score.customer_keys (install/scores.sql), as refresh numbers them: the live-score
 * trigger stores such a customer under the same bigint.
 */
#ifndef CS_CUSTOMER_KEYS_H
#define CS_CUSTOMER_KEYS_H

#include "postgres.h"

/* the numbers of a statement's keys, sorted by key */
typedef struct CsKeyMap
{
	int			n;
	char	  **keys;
	int64	   *ids;
} CsKeyMap;

/* whether a customer_id column of this (base) type is numbered through customer_keys */
extern bool cs_customer_key_type(Oid type);

/* the key of such an id, as customer_id::text gives it */
extern char *cs_customer_key_text(Datum value, Oid type);

/* numbers the n keys (repeats allowed; sorted in place) through customer_keys, inside SPI */
extern void cs_key_map_build(CsKeyMap *map, char **keys, int n);

/* the number of a key of the map */
extern int64 cs_key_map_lookup(const CsKeyMap *map, const char *key);

#endif							/* CS_CUSTOMER_KEYS_H */
