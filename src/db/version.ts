/**
 * The schema version this obs writes, on its own so that reading a file (which only compares
 * versions) does not load the migrations; migrations.ts checks that its last one is this.
 */
export const SCHEMA_VERSION = 7;
