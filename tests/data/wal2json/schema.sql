-- The tables the fixtures record (capture.sh).
CREATE TABLE orders (
  id bigint NOT NULL,
  status text,
  qty integer,
  paid boolean,
  amount numeric(12,2),
  day date,
  created timestamptz,
  big bigint
) PARTITION BY LIST (status);
CREATE TABLE orders_new PARTITION OF orders FOR VALUES IN ('new');
CREATE TABLE orders_shipped PARTITION OF orders FOR VALUES IN ('shipped');
CREATE TABLE orders_default PARTITION OF orders DEFAULT;
ALTER TABLE orders_new REPLICA IDENTITY FULL;
ALTER TABLE orders_shipped REPLICA IDENTITY FULL;
ALTER TABLE orders_default REPLICA IDENTITY FULL;

CREATE TABLE events (
  id integer,
  day date,
  note varchar(400),
  ok boolean,
  score double precision
) PARTITION BY RANGE (day);
CREATE TABLE events_2026_01 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01');
CREATE TABLE events_default PARTITION OF events DEFAULT;
