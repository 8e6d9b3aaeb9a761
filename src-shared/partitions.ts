/**
 * The cache's partitions besides the companies' own, in one place: the words the cache, the
 * sync, the audit, the Data view and the renderer use for them.
 */

/** Every tenant at once: a super admin's sync (one unfiltered listing, partitioned in the cache), an audit or a proof of every partition. */
export const ALL = '*';
/** rows whose company is not known yet (an owner not synced, a CRM that lists no users) */
export const UNASSIGNED = 'unassigned';
/** leak evidence about a row whose owner or parent lies outside every company the identity can see */
export const OUTSIDE = 'outside';
