# sqlite.sh — the SQLite engine (sqlite3 CLI): a million-row load into an on-disk
# database with a 256 MiB page cache, two indexes, then aggregate, join, sort and
# window queries.

program_sqlite() {
    local dir=$WORK/sqlite
    mkdir -p "$dir"
    cat >"$dir/job.sql" <<'SQL'
PRAGMA cache_size = -262144;
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
CREATE TABLE orders(id INTEGER PRIMARY KEY, customer INTEGER, amount INTEGER, note TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO orders SELECT i, (i * 7919) % 50000, (i * 104729) % 100000,
                          printf('note-%d-%s', i, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26))
FROM n;
CREATE TABLE customers(id INTEGER PRIMARY KEY, name TEXT);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49999)
INSERT INTO customers SELECT i, printf('customer-%05d', i) FROM n;
CREATE INDEX orders_customer ON orders(customer);
CREATE INDEX orders_note ON orders(note);
SELECT count(*), sum(amount), min(note), max(note) FROM orders;
SELECT c.name, count(*), sum(o.amount) FROM orders o JOIN customers c ON c.id = o.customer
 GROUP BY c.id ORDER BY sum(o.amount) DESC, c.id LIMIT 5;
SELECT note FROM orders WHERE note LIKE 'note-99999%' ORDER BY note;
SELECT customer, amount, rank() OVER (PARTITION BY customer ORDER BY amount DESC, id) AS r
  FROM orders WHERE customer < 3 ORDER BY customer, r LIMIT 9;
SELECT group_concat(id) FROM (SELECT id FROM orders ORDER BY amount DESC, id LIMIT 20);
DELETE FROM orders WHERE id % 3 = 0;
VACUUM;
SELECT count(*), total(amount) FROM orders;
PRAGMA integrity_check;
SQL
    rm -f "$dir"/db.*
    run_both sqlite sh -c 'exec sqlite3 "$0/db.$PROGRAM_ALLOCATOR" ".read $0/job.sql"' "$dir"
    compare_and_verdict sqlite "1,000,000-row load, indexes, joins, window query, VACUUM, integrity_check"
}
