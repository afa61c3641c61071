-- pipelines/examples/data/shop.db, made with: sqlite3 data/shop.db < data/shop.sql
CREATE TABLE orders (
  order_id INTEGER PRIMARY KEY,
  customer TEXT NOT NULL,
  country TEXT NOT NULL,
  amount REAL,
  paid BOOLEAN NOT NULL,
  items JSON
);
INSERT INTO orders VALUES
  (1001, 'Alice Martin', 'FR', 1299.99, 1, '[{"sku":"LAP-13","qty":1}]'),
  (1002, 'Baker, Bob', 'US', 19.5, 1, '[{"sku":"MOU-01","qty":1}]'),
  (1003, 'Chloé Dubois', 'FR', 349, 0, '[{"sku":"MON-27","qty":1}]'),
  (1004, 'Dan "The Man" Evans', 'GB', 89.9, 1, NULL),
  (1005, 'Émile Zola', 'FR', NULL, 0, '[]'),
  (1006, 'Fatima Idrissi', 'FR', 45.25, 1, '[{"sku":"CAB-02","qty":3},{"sku":"HUB-04","qty":1}]');
