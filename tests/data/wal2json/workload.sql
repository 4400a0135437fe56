-- The workload the fixtures record (capture.sh): what committed, per value, is
-- what tests/src/wal2json_test.cc expects.
\set ON_ERROR_STOP on
-- 1. plain inserts, one per transaction
INSERT INTO orders VALUES (1, 'new', 1, true, 10.50, '2026-01-05', '2026-01-05 10:00:00+00', 9007199254740993);
INSERT INTO orders VALUES (2, 'returned', 2, false, 0.01, '2026-01-06', '2026-01-06 11:30:00.123456+00', -9223372036854775808);
INSERT INTO orders VALUES (3, 'returned', 3, NULL, NULL, NULL, NULL, NULL);
-- 2. multi-row insert in one transaction
INSERT INTO orders VALUES (4, 'lost', 1, true, 99999999.99, '2026-02-01', '2026-02-01 00:00:00+00', 0),
                          (5, 'lost', 2, false, -5.00, '1999-12-31', '1999-12-31 23:59:59.999999+00', 1),
                          (6, 'shipped', 3, true, 7, '2026-02-02', '2026-02-02 12:00:00+00', 2);
-- 3. COPY
COPY orders (id, status, qty, paid, amount, day, created) FROM STDIN;
7	on_hold	1	t	1.00	2026-03-01	2026-03-01 08:00:00+00
8	on_hold	2	f	2.00	2026-03-02	2026-03-02 08:00:00+00
9	refunded	3	t	3.00	2026-03-03	2026-03-03 08:00:00+00
\.
-- 4. a rolled-back transaction
BEGIN;
INSERT INTO orders VALUES (100, 'rolledback', 1, true, 1, '2026-01-01', now(), 1);
INSERT INTO events VALUES (100, '2030-01-01', 'rolledback', true, 1);
ROLLBACK;
-- 5. a rolled-back savepoint inside a committed transaction
BEGIN;
INSERT INTO orders VALUES (10, 'kept', 1, true, 1, '2026-01-01', now(), 1);
SAVEPOINT s1;
INSERT INTO orders VALUES (101, 'savepoint_rolledback', 1, true, 1, '2026-01-01', now(), 1);
ROLLBACK TO SAVEPOINT s1;
INSERT INTO orders VALUES (11, 'kept', 2, false, 2, '2026-01-02', now(), 2);
COMMIT;
-- 6. a NULL key (goes to DEFAULT)
INSERT INTO orders VALUES (12, NULL, 1, true, 1, '2026-01-01', '2026-01-01 00:00:00+00', 1);
-- 7. hostile values
INSERT INTO orders (id, status) VALUES (20, 'it''s');
INSERT INTO orders (id, status) VALUES (21, E'back\\slash');
INSERT INTO orders (id, status) VALUES (22, E'new\nline');
INSERT INTO orders (id, status) VALUES (23, E'tab\there');
INSERT INTO orders (id, status) VALUES (24, 'Zürich ☃ 日本 🎉');
INSERT INTO orders (id, status) VALUES (25, repeat('x', 300));
INSERT INTO orders (id, status) VALUES (26, '''); DROP TABLE x; --');
INSERT INTO orders (id, status) VALUES (27, 'say "hi"');
INSERT INTO orders (id, status) VALUES (28, E'ctl\x01\x1f');
INSERT INTO orders (id, status) VALUES (29, '');
INSERT INTO orders (id, status) VALUES (30, E'cr\r/slash</script>');
-- 8. UPDATE that moves a row into DEFAULT, and one inside DEFAULT
UPDATE orders SET status = 'moved' WHERE id = 1;
UPDATE orders SET qty = 42 WHERE id = 2;
DELETE FROM orders WHERE id = 3;
-- 9. the RANGE table, numerics that are not JSON numbers
INSERT INTO events VALUES (1, '2026-01-15', 'in range', true, 1.5);
INSERT INTO events VALUES (2, '2030-06-01', 'future', false, 'NaN');
INSERT INTO events VALUES (3, '2030-06-01', 'future', NULL, 'Infinity');
INSERT INTO events VALUES (4, '1970-01-01', 'past', true, '-Infinity');
INSERT INTO events VALUES (5, NULL, 'null day', true, 1e300);
INSERT INTO orders (id, status, amount) VALUES (31, 'nan', 'NaN');
-- 10. logical messages (transactional and not)
SELECT pg_logical_emit_message(true, 'partwatch', 'hello');
SELECT pg_logical_emit_message(false, 'partwatch', 'nontx');
-- 11. TRUNCATE of the DEFAULT partitions
TRUNCATE orders_default;
TRUNCATE events_default, orders_shipped;
-- 12. after the truncate
INSERT INTO orders VALUES (40, 'returned', 1, true, 1, '2026-04-01', '2026-04-01 00:00:00+00', 1);
-- 13. a column added: the same DEFAULT partition with a longer column list
ALTER TABLE orders ADD COLUMN extra text;
INSERT INTO orders VALUES (50, 'returned', 1, true, 1, '2026-05-01', '2026-05-01 00:00:00+00', 1, 'after alter');
