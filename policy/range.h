// RANGE-partition buckets: maps one partition-key value of a table
// partitioned BY RANGE on a single column to the *bucket* (the interval of
// key values) whose partition partwatch would create for it, clipped so it
// never overlaps an existing partition; plus the names of such partitions.
//
// An umbrella header; the pieces, each with its contracts:
//  - policy/range_key.h:          key types, intervals, time-zone domains,
//                                 and how values map to int64 points;
//  - policy/range_bounds.h:       parsing and formatting point literals,
//                                 parsing pg_get_expr(relpartbound) texts;
//  - policy/bucketer.h:           Bucketer (alignment, clipping, gaps);
//  - policy/interval_inference.h: guessing the interval from partitions;
//  - policy/range_naming.h:       pg_partman names and name templates.
// (policy/calendar.h, the civil-time arithmetic beneath them, is not
// included here.)
//
// Pure: no I/O, no clock, no libpq, no time-zone database.  Everything here
// works on PostgreSQL *output* text from a session where partwatch has set
// DateStyle = 'ISO, YMD' and TimeZone = <zone>, and on the texts of
// pg_get_expr(relpartbound, oid) from such a session.
//
// Thread-safety: all functions are pure; a Bucketer is immutable after
// Make(), so its const methods may be called from any number of threads.
#pragma once

#include "policy/bucketer.h"
#include "policy/interval_inference.h"
#include "policy/range_bounds.h"
#include "policy/range_key.h"
#include "policy/range_naming.h"
