-- The shop's own tables: catalogue, carts, orders. Owned by the shop zone
-- (shared-auth owns users/sessions/grants; these reference users only).
-- Money is integer minor units (euro cents); times are Unix seconds.
CREATE TABLE products (
    id          BIGINT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents > 0),
    position    BIGINT NOT NULL
);

-- One row per product in a user's cart.
CREATE TABLE cart_items (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id BIGINT NOT NULL REFERENCES products (id),
    quantity   BIGINT NOT NULL CHECK (quantity BETWEEN 1 AND 99),
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- An order is created once per checkout key: a retried or double-clicked
-- checkout finds the order it already made.
CREATE TABLE orders (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    checkout_key TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    item_count   BIGINT NOT NULL,
    total_cents  BIGINT NOT NULL,
    UNIQUE (user_id, checkout_key)
);
CREATE INDEX orders_user_created ON orders (user_id, created_at);

-- What was bought, at the price of the day (names and prices are copied).
CREATE TABLE order_items (
    order_id         TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       BIGINT NOT NULL,
    slug             TEXT NOT NULL,
    name             TEXT NOT NULL,
    unit_price_cents BIGINT NOT NULL,
    quantity         BIGINT NOT NULL,
    PRIMARY KEY (order_id, product_id)
);

INSERT INTO products (id, slug, name, description, price_cents, position) VALUES
    (1, 'enamel-mug', 'Enamel mug', 'A 350 ml camping mug that survives every drop.', 1450, 1),
    (2, 'linen-notebook', 'Linen notebook', 'A5, 192 dotted pages, lays flat.', 1900, 2),
    (3, 'brass-pen', 'Brass pen', 'Machined brass body that ages to a warm patina.', 4800, 3),
    (4, 'wool-socks', 'Merino socks', 'Two pairs of soft, warm, odour-resistant socks.', 2200, 4),
    (5, 'canvas-tote', 'Canvas tote', 'Heavy cotton canvas with an inside pocket.', 2500, 5),
    (6, 'desk-lamp', 'Desk lamp', 'Dimmable warm-white LED on a steel arm.', 8900, 6),
    (7, 'pour-over', 'Pour-over kit', 'Ceramic dripper, 40 filters and a glass carafe.', 3900, 7),
    (8, 'oak-coasters', 'Oak coasters', 'Set of four oiled oak coasters.', 1600, 8),
    (9, 'field-bottle', 'Field bottle', 'Insulated steel, 750 ml, cold for a day.', 3200, 9),
    (10, 'wall-clock', 'Wall clock', 'Silent sweep movement, 30 cm birch face.', 5400, 10),
    (11, 'rain-shell', 'Rain shell', 'Packable waterproof jacket with taped seams.', 12900, 11),
    (12, 'plant-pot', 'Stoneware pot', 'Glazed 15 cm pot with a drainage saucer.', 2700, 12);
