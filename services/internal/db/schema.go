package db

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// schemaLockID serialises concurrent migrations (two API processes starting
// together) with a transaction-scoped advisory lock.
const schemaLockID = 0x77686174 // "what"

// The orders table keeps the idempotency key twice: idem_key is UNIQUE and is
// filled only when the idempotency protection is on, so duplicates are
// rejected; client_key is filled always and not unique, so an audit can
// count rows per client key whether the protection was on or off.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS items (id bigint PRIMARY KEY, payload text NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS orders (
		id bigserial PRIMARY KEY,
		idem_key text,
		client_key text,
		item_id bigint NOT NULL,
		qty int NOT NULL,
		created_at timestamptz NOT NULL DEFAULT now())`,
	`CREATE UNIQUE INDEX IF NOT EXISTS orders_idem_key ON orders (idem_key)`,
	`CREATE INDEX IF NOT EXISTS orders_client_key ON orders (client_key)`,
	// The slow-query scenario's report table: filled by the experiment,
	// its customer index dropped as the fault and rebuilt CONCURRENTLY.
	`CREATE TABLE IF NOT EXISTS customer_orders (
		id bigserial PRIMARY KEY,
		customer bigint NOT NULL,
		amount int NOT NULL,
		note text NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS customer_orders_customer ON customer_orders (customer)`,
	// The traffic-spike scenario's flash sale: a checkout decrements one
	// row of stock, so checkouts of one item queue on its row lock.
	`CREATE TABLE IF NOT EXISTS stock (item int PRIMARY KEY, left_count bigint NOT NULL)`,
	// Queued checkouts applied by the workers, once per Idempotency-Key.
	`CREATE TABLE IF NOT EXISTS checkout_log (key text PRIMARY KEY, item_id int NOT NULL, priority text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
	`INSERT INTO stock (item, left_count) SELECT g, 1000000000 FROM generate_series(1, 10) AS g ON CONFLICT (item) DO NOTHING`,
	// An ordinary login role, as a real application has: it cannot take
	// the connection slots reserved for superusers, which Patroni needs to
	// keep managing the database when the application exhausts the rest.
	`DO $$ BEGIN
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '` + AppRole + `') THEN
			CREATE ROLE ` + AppRole + ` LOGIN;
		END IF;
	END $$`,
	`GRANT SELECT, UPDATE ON stock TO ` + AppRole,
	`GRANT SELECT, INSERT ON checkout_log TO ` + AppRole,
}

// AppRole is the non-superuser role of AsApp pools.
const AppRole = "whatif_app"

// seedItems fills an empty items table with ids 1..$1 and ~100-byte payloads.
const seedItems = `
INSERT INTO items (id, payload)
SELECT g, 'item-' || g || '-' || repeat(md5(g::text), 3)
FROM generate_series(1, $1::bigint) AS g
WHERE NOT EXISTS (SELECT 1 FROM items)
ON CONFLICT (id) DO NOTHING`

// Migrate creates the schema if needed and seeds items when the table is
// empty. It returns how many items it inserted (0 when already seeded).
func Migrate(ctx context.Context, p *Pool, items int) (int64, error) {
	if items < 1 {
		return 0, fmt.Errorf("items must be at least 1, got %d", items)
	}
	var seeded int64
	err := p.Do(ctx, Limits{}, func(ctx context.Context, c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(schemaLockID)); err != nil {
				return fmt.Errorf("schema lock: %w", err)
			}
			for _, stmt := range schema {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("schema: %w", err)
				}
			}
			tag, err := tx.Exec(ctx, seedItems, items)
			if err != nil {
				return fmt.Errorf("seed items: %w", err)
			}
			seeded = tag.RowsAffected()
			return nil
		})
	})
	return seeded, err
}
